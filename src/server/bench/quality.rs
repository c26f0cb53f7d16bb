//! `artwall-bench quality`: does the feed learn? Simulated visitors, each with a hidden taste
//! (the neighbourhood of one or two catalogue paintings), start from the two home styles nearest
//! that taste, then scroll the real feed: they save what is close, view long what is fairly
//! close and hide what is far, and the real taste worker learns from those events.
//!
//! Prints precision@12 of the next page after 0, 10, 20 and 40 interactions for our feed, for an
//! oracle that ranks the still-unseen paintings by the hidden taste, and for a random feed (its
//! expected precision over the unseen paintings). "Relevant" is the hidden taste's top 10% of the
//! catalogue. A fourth column, "ceiling", is our feed itself given the hidden taste (a twin
//! visitor with the same history): what perfect learning would score, with the exploration slots
//! and everything else about a page unchanged. Prints figures; asserts nothing.

use std::collections::{HashMap, HashSet};

use pgvector::Vector;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use crate::error::AppError;
use crate::events::{EventKind, Source};
use crate::server::discovery::activity::{self, CheckedEvent};
use crate::server::error::ServerResult;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::clip::{cosine, l2_normalised};
use crate::server::{discovery::feed, discovery::onboarding, discovery::taste_worker, state::AppState};
use crate::styles::HOME_STYLES;

pub const CHECKPOINTS: [usize; 4] = [0, 10, 20, 40];
const PAGE: usize = 12;
/// Shares of the catalogue, by closeness to the hidden taste.
const RELEVANT_SHARE: f64 = 0.10;
const SAVE_SHARE: f64 = 0.05;
const VIEW_SHARE: f64 = 0.25;
const HIDE_FROM_SHARE: f64 = 0.75;
const LONG_VIEW_MS: i64 = 6_000;

/// Summed precisions at one checkpoint.
#[derive(Default, Clone, Copy)]
struct Precision {
    feed: f64,
    oracle: f64,
    random: f64,
    ceiling: f64,
    visitors: usize,
}

pub async fn run(state: &AppState, visitors: usize, seed: u64) -> ServerResult<()> {
    let rows: Vec<(i64, Vector)> =
        sqlx::query_as("SELECT id, embedding FROM paintings WHERE published ORDER BY id").fetch_all(&state.db).await?;
    if rows.len() < 100 {
        return Err(AppError::invalid(format!(
            "artwall-bench quality needs a catalogue of at least 100 paintings, found {}",
            rows.len()
        ))
        .into());
    }
    let catalogue: Vec<(i64, Vec<f32>)> = rows.into_iter().map(|(id, v)| (id, v.to_vec())).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut totals = [Precision::default(); CHECKPOINTS.len()];
    for _ in 0..visitors {
        let anchor_count = if rng.random_bool(0.5) { 1 } else { 2 };
        let anchors: Vec<&(i64, Vec<f32>)> = catalogue.choose_multiple(&mut rng, anchor_count).collect();
        let hidden = l2_normalised(&mean(anchors.iter().map(|(_, v)| v.as_slice())));
        for (total, measured) in totals.iter_mut().zip(simulate(state, &catalogue, &hidden).await?) {
            if let Some(p) = measured {
                total.feed += p.feed;
                total.oracle += p.oracle;
                total.random += p.random;
                total.ceiling += p.ceiling;
                total.visitors += 1;
            }
        }
    }
    println!(
        "{} simulated visitors, {} paintings, pages of {PAGE}; relevant = top {:.0}% for the hidden taste",
        visitors,
        catalogue.len(),
        RELEVANT_SHARE * 100.0
    );
    println!(
        "interactions  feed p@12  oracle p@12  random p@12  ceiling p@12  feed/oracle  feed/random  ceiling/oracle"
    );
    for (checkpoint, total) in CHECKPOINTS.iter().zip(totals) {
        let n = total.visitors.max(1) as f64;
        let (feed, oracle, random, ceiling) = (total.feed / n, total.oracle / n, total.random / n, total.ceiling / n);
        let oracle_or_tiny = oracle.max(f64::EPSILON);
        println!(
            "{checkpoint:>12}  {feed:>9.3}  {oracle:>11.3}  {random:>11.3}  {ceiling:>12.3}  {:>11.2}  {:>10.2}x  {:>14.2}",
            feed / oracle_or_tiny,
            feed / random.max(f64::EPSILON),
            ceiling / oracle_or_tiny
        );
    }
    Ok(())
}

fn mean<'a>(vectors: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut sum = vec![0.0; 512];
    let mut n = 0.0;
    for v in vectors {
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        n += 1.0;
    }
    sum.iter().map(|s| s / n).collect()
}

/// One visitor's run; the precision measured at each checkpoint it reached.
async fn simulate(
    state: &AppState,
    catalogue: &[(i64, Vec<f32>)],
    hidden: &[f32],
) -> ServerResult<Vec<Option<Precision>>> {
    let visitor = VisitorId(Uuid::new_v4());
    // Rank of every painting by closeness to the hidden taste (0 = closest).
    let mut by_closeness: Vec<(i64, f32)> = catalogue.iter().map(|(id, v)| (*id, cosine(hidden, v))).collect();
    by_closeness.sort_by(|a, b| b.1.total_cmp(&a.1));
    let rank: HashMap<i64, usize> = by_closeness.iter().enumerate().map(|(rank, (id, _))| (*id, rank)).collect();
    let cut = |share: f64| (catalogue.len() as f64 * share).round() as usize;
    let relevant = |id: &i64| rank[id] < cut(RELEVANT_SHARE);

    // Onboarding: the two home styles nearest the hidden taste.
    let mut styles: Vec<(&str, f32)> = HOME_STYLES
        .iter()
        .map(|s| (s.code, cosine(hidden, state.styles.embedding(s.code).expect("checked at start-up"))))
        .collect();
    styles.sort_by(|a, b| b.1.total_cmp(&a.1));
    let codes: Vec<String> = styles.iter().take(2).map(|(code, _)| code.to_string()).collect();
    onboarding::choose(&state.db, &state.styles, visitor, &codes).await?;

    let mut measured = vec![None; CHECKPOINTS.len()];
    let mut next_checkpoint = 0;
    let mut interactions = 0;
    let mut seen: HashSet<i64> = HashSet::new();
    let mut cursor = None;
    while next_checkpoint < CHECKPOINTS.len() {
        let at_checkpoint = interactions >= CHECKPOINTS[next_checkpoint];
        let ceiling = match at_checkpoint {
            true => feed_with_hidden_taste(state, visitor, hidden, cursor.as_deref()).await?,
            false => Vec::new(),
        };
        let page = feed::next_page(
            &state.db,
            &state.landmarks,
            state.feed_settings(),
            visitor,
            cursor.as_deref(),
            Some(PAGE as i64),
        )
        .await?;
        if page.items.is_empty() {
            break;
        }
        cursor = page.next_cursor.clone();
        if at_checkpoint {
            let unseen: Vec<i64> = by_closeness.iter().map(|(id, _)| *id).filter(|id| !seen.contains(id)).collect();
            measured[next_checkpoint] = Some(Precision {
                feed: page.items.iter().filter(|item| relevant(&item.card.id)).count() as f64 / PAGE as f64,
                oracle: unseen.iter().take(PAGE).filter(|id| relevant(id)).count() as f64 / PAGE as f64,
                random: unseen.iter().filter(|id| relevant(id)).count() as f64 / unseen.len().max(1) as f64,
                ceiling: ceiling.iter().filter(|id| relevant(id)).count() as f64 / PAGE as f64,
                visitors: 1,
            });
            next_checkpoint += 1;
        }
        // The visitor reacts to the page, stopping at the next checkpoint so it is measured exactly.
        let mut events = Vec::new();
        for item in &page.items {
            let id = item.card.id;
            seen.insert(id);
            events.push(CheckedEvent::server(EventKind::Impression, Some(id), Source::Feed, json!({})));
            let reaction = match rank[&id] {
                r if r < cut(SAVE_SHARE) => Some((EventKind::Save, json!({}))),
                r if r < cut(VIEW_SHARE) => Some((EventKind::View, json!({ "dwellTimeMs": LONG_VIEW_MS }))),
                r if r >= cut(HIDE_FROM_SHARE) => Some((EventKind::Hide, json!({}))),
                _ => None,
            };
            if let Some((kind, metadata)) = reaction {
                events.push(CheckedEvent::server(kind, Some(id), Source::Feed, metadata));
                interactions += 1;
                if next_checkpoint < CHECKPOINTS.len() && interactions == CHECKPOINTS[next_checkpoint] {
                    break;
                }
            }
        }
        activity::record(&state.db, visitor, &events.iter().collect::<Vec<_>>()).await?;
        taste_worker::process_visitor(&state.db, visitor.0).await?;
    }
    Ok(measured)
}

/// The page our feed would give a twin of `visitor` (same shown and hidden paintings) whose taste
/// is exactly the hidden one. The twin is removed afterwards.
async fn feed_with_hidden_taste(
    state: &AppState,
    visitor: VisitorId,
    hidden: &[f32],
    cursor: Option<&str>,
) -> ServerResult<Vec<i64>> {
    let twin = VisitorId(Uuid::new_v4());
    let mut tx = state.db.begin().await?;
    sqlx::query("INSERT INTO user_preferences (visitor_id, taste) VALUES ($1, $2)")
        .bind(twin.0)
        .bind(Vector::from(hidden.to_vec()))
        .execute(&mut *tx)
        .await?;
    for table in ["shown_paintings", "hidden_paintings"] {
        sqlx::query(&format!(
            "INSERT INTO {table} (visitor_id, painting_id) SELECT $1, painting_id FROM {table} WHERE visitor_id = $2"
        ))
        .bind(twin.0)
        .bind(visitor.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let page =
        feed::next_page(&state.db, &state.landmarks, state.feed_settings(), twin, cursor, Some(PAGE as i64)).await?;
    let mut tx = state.db.begin().await?;
    for table in ["shown_paintings", "hidden_paintings", "feed_candidates", "user_preferences"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE visitor_id = $1")).bind(twin.0).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(page.items.iter().map(|item| item.card.id).collect())
}
