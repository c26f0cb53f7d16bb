//! The taste rule, in one place: how much each signal counts, and how a signal moves the taste.
//!
//! `new = normalise(taste + 0.1 * weight * (painting - taste))`: positive signals pull the taste
//! toward the painting, negative ones push it away.

use crate::events::EventKind;
use crate::server::infra::clip::l2_normalised;

pub const LEARNING_RATE: f32 = 0.1;

/// The weight of one event; zero means it does not move the taste.
pub fn weight(kind: EventKind, dwell_ms: Option<i64>) -> f32 {
    match kind {
        EventKind::Purchase => 1.0,
        EventKind::Save => 0.5,
        EventKind::Share => 0.4,
        EventKind::Click => 0.2,
        EventKind::View => match dwell_ms.unwrap_or(0) {
            d if d > 5_000 => 0.3,
            d if d >= 3_000 => 0.2,
            d if d >= 1_000 => 0.1,
            _ => 0.0,
        },
        EventKind::Hide => -0.5,
        EventKind::Unsave => -0.3,
        EventKind::Impression
        | EventKind::SessionStart
        | EventKind::SessionEnd
        | EventKind::Search
        | EventKind::StyleSelect
        | EventKind::RoomPhoto => 0.0,
    }
}

/// Applies one weighted signal. A visitor with no taste yet is seeded by their first positive
/// signal; a negative one cannot move a taste that does not exist.
pub fn apply(taste: Option<Vec<f32>>, painting: &[f32], weight: f32) -> Option<Vec<f32>> {
    match taste {
        None if weight > 0.0 => Some(l2_normalised(painting)),
        None => None,
        Some(taste) => {
            let moved: Vec<f32> =
                taste.iter().zip(painting).map(|(t, p)| t + LEARNING_RATE * weight * (p - t)).collect();
            Some(l2_normalised(&moved))
        }
    }
}

/// How much of a room photo goes into the taste: `new = normalise(0.7 * taste + 0.3 * room)`.
/// A visitor with no taste yet starts from the room itself.
pub const ROOM_BLEND_WEIGHT: f32 = 0.3;

pub fn blend_room(taste: Option<Vec<f32>>, room: &[f32]) -> Vec<f32> {
    match taste {
        None => l2_normalised(room),
        Some(taste) => {
            let mixed: Vec<f32> =
                taste.iter().zip(room).map(|(t, r)| (1.0 - ROOM_BLEND_WEIGHT) * t + ROOM_BLEND_WEIGHT * r).collect();
            l2_normalised(&mixed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::infra::clip::cosine;

    #[test]
    fn weights_follow_the_rule() {
        assert_eq!(weight(EventKind::Purchase, None), 1.0);
        assert_eq!(weight(EventKind::Save, None), 0.5);
        assert_eq!(weight(EventKind::Share, None), 0.4);
        assert_eq!(weight(EventKind::Click, None), 0.2);
        assert_eq!(weight(EventKind::View, Some(5_001)), 0.3);
        assert_eq!(weight(EventKind::View, Some(4_000)), 0.2);
        assert_eq!(weight(EventKind::View, Some(1_500)), 0.1);
        // The edges, as the rule reads: over 5 s, 3 to 5 s, 1 to 3 s.
        assert_eq!(weight(EventKind::View, Some(5_000)), 0.2);
        assert_eq!(weight(EventKind::View, Some(3_000)), 0.2);
        assert_eq!(weight(EventKind::View, Some(2_999)), 0.1);
        assert_eq!(weight(EventKind::View, Some(1_000)), 0.1);
        assert_eq!(weight(EventKind::View, Some(999)), 0.0);
        assert_eq!(weight(EventKind::Impression, None), 0.0);
        assert_eq!(weight(EventKind::Hide, None), -0.5);
        assert_eq!(weight(EventKind::Unsave, None), -0.3);
    }

    #[test]
    fn signals_move_the_taste_toward_or_away() {
        let taste = vec![1.0, 0.0, 0.0];
        let painting = vec![0.0, 1.0, 0.0];
        let toward = apply(Some(taste.clone()), &painting, 0.5).unwrap();
        let away = apply(Some(taste.clone()), &painting, -0.5).unwrap();
        assert!(cosine(&toward, &painting) > 0.0 && cosine(&away, &painting) < 0.0);
        assert!((toward.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-6, "normalised");
        // Exactly the formula: normalise([1,0,0] + 0.05 * ([0,1,0] - [1,0,0])).
        let expected = l2_normalised(&[0.95, 0.05, 0.0]);
        assert!(toward.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn a_first_positive_signal_seeds_the_taste() {
        assert_eq!(apply(None, &[3.0, 4.0], 0.5), Some(vec![0.6, 0.8]));
        assert_eq!(apply(None, &[3.0, 4.0], -0.5), None);
        assert_eq!(apply(None, &[3.0, 4.0], 0.0), None, "a signal of no weight seeds nothing");
    }

    #[test]
    fn a_room_photo_blends_in_at_its_weight() {
        let blended = blend_room(Some(vec![1.0, 0.0]), &[0.0, 1.0]);
        let expected = l2_normalised(&[0.7, 0.3]);
        assert!(blended.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-6));
        assert_eq!(blend_room(None, &[0.0, 2.0]), vec![0.0, 1.0]);
    }
}
