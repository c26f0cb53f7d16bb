//! Everyone's reactions to each painting (`painting_reactions`, owned here), counted by the taste
//! worker as it learns them, and the popularity the feed leans on before a visitor has said much.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use crate::events::EventKind;
use crate::server::discovery::taste_model::{Reaction, HIDDEN, VIEWED};
use crate::server::error::ServerResult;

/// A painting's popularity in SQL, from -1 (everyone who reacted hid it) to 1 (everyone liked
/// it), with `painting_reactions r` joined. The counts are shrunk toward nothing as if each
/// painting had been shown 20 more times without a reaction, so two likes out of two showings
/// do not make a favourite.
pub(crate) const POPULARITY_SQL: &str =
    "greatest(-1, least(1, coalesce((r.liked - r.hidden)::real / (r.shown + 20), 0)))::real";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    shown: i32,
    liked: i32,
    hidden: i32,
}

impl Counts {
    /// What one event adds: an impression is a showing; a save, share, purchase, click or long
    /// view a like (an unsave takes one back); a hide a hide.
    fn of(kind: EventKind, dwell_ms: Option<i64>) -> Self {
        let level = Reaction::after(None, kind, dwell_ms).map(|reaction| reaction.level);
        Self {
            shown: i32::from(kind == EventKind::Impression),
            liked: match kind {
                EventKind::Unsave => -1,
                _ => i32::from(level.is_some_and(|level| level >= VIEWED)),
            },
            hidden: i32::from(level == Some(HIDDEN)),
        }
    }
}

/// Adds one visitor's batch of events (painting, kind, dwell) to the counts, in the worker's
/// transaction, so each event counts once. A batch counts at most one showing, one like (or
/// one taken back) and one hide per painting, so a visitor repeating an event cannot stuff the
/// counts, and no count goes below zero. Paintings deleted since are skipped.
pub async fn record(
    tx: &mut PgConnection,
    events: impl Iterator<Item = (i64, EventKind, Option<i64>)>,
) -> ServerResult<()> {
    // Ordered by painting, so concurrent workers lock rows in one order and cannot deadlock.
    let mut totals: BTreeMap<i64, Counts> = BTreeMap::new();
    for (painting, kind, dwell) in events {
        let add = Counts::of(kind, dwell);
        if add != Counts::default() {
            let total = totals.entry(painting).or_default();
            total.shown = (total.shown + add.shown).min(1);
            total.liked = (total.liked + add.liked).clamp(-1, 1);
            total.hidden = (total.hidden + add.hidden).min(1);
        }
    }
    if totals.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = totals.keys().copied().collect();
    let column = |pick: fn(&Counts) -> i32| totals.values().map(pick).collect::<Vec<i32>>();
    // Rows first (an unsave cannot propose a negative count), then locked in painting order.
    sqlx::query(
        "INSERT INTO painting_reactions (painting_id)
         SELECT t.id FROM unnest($1::bigint[]) AS t(id) WHERE EXISTS (SELECT 1 FROM paintings p WHERE p.id = t.id)
         ORDER BY t.id ON CONFLICT DO NOTHING",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT FROM painting_reactions WHERE painting_id = ANY($1) ORDER BY painting_id FOR UPDATE")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE painting_reactions r
         SET shown = r.shown + t.shown, liked = greatest(0, r.liked + t.liked), hidden = r.hidden + t.hidden
         FROM unnest($1::bigint[], $2::int[], $3::int[], $4::int[]) AS t(id, shown, liked, hidden)
         WHERE r.painting_id = t.id",
    )
    .bind(&ids)
    .bind(column(|c| c.shown))
    .bind(column(|c| c.liked))
    .bind(column(|c| c.hidden))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_counts_as_what_it_says() {
        let counts = |kind, dwell| {
            let c = Counts::of(kind, dwell);
            (c.shown, c.liked, c.hidden)
        };
        assert_eq!(counts(EventKind::Impression, None), (1, 0, 0));
        assert_eq!(counts(EventKind::Save, None), (0, 1, 0));
        assert_eq!(counts(EventKind::Purchase, None), (0, 1, 0));
        assert_eq!(counts(EventKind::Click, None), (0, 1, 0));
        assert_eq!(counts(EventKind::View, Some(6_000)), (0, 1, 0));
        assert_eq!(counts(EventKind::View, Some(500)), (0, 0, 0));
        assert_eq!(counts(EventKind::Unsave, None), (0, -1, 0));
        assert_eq!(counts(EventKind::Hide, None), (0, 0, 1));
        assert_eq!(counts(EventKind::SessionStart, None), (0, 0, 0));
    }
}
