//! The taste worker: learns from stored activity events, in the background, inside the server.
//!
//! Two learners (`ARTWALL_TASTE_LEARNER`): `ordinal` (the default) refits the visitor's model
//! from their recent history whenever new events arrive (`taste_model`); `seed` applies each
//! event's move to the taste in turn (`taste`).
//!
//! Each visitor's new events are learned in one transaction that also updates the taste,
//! the interaction count and the events' `processed` flags: a crash loses nothing and applies
//! nothing twice. Several workers (or server replicas) share the queue safely: a transaction
//! advisory lock gives each visitor to one worker at a time, and `FOR UPDATE SKIP LOCKED` keeps
//! workers off each other's rows. New events wake the worker through LISTEN/NOTIFY; a short
//! poll covers a missed notification.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pgvector::Vector;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::events::EventKind;
use crate::server::config::TasteLearnerKind;
use crate::server::discovery::activity::NOTIFY_CHANNEL;
use crate::server::discovery::taste_model::{self, Basis, Reaction};
use crate::server::discovery::{feed, popularity, taste};
use crate::server::error::ServerResult;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::infra::metrics;

const VISITORS_PER_ROUND: i64 = 32;
/// Events one transaction applies for one visitor: a long backlog is learned in several, in
/// order, so neither memory nor a transaction grows with it.
pub const EVENTS_PER_VISITOR_BATCH: i64 = 500;
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The ordinal learner refits from at most this many of a visitor's latest events.
pub const HISTORY_EVENTS: i64 = 400;
/// How many of the liked paintings (those weighing most) the feed shows more of: each costs the
/// worker one index search per batch.
pub const LIKED_KEPT: usize = 4;

/// Which learner the worker runs, with what it keeps between rounds.
pub struct TasteLearner {
    kind: TasteLearnerKind,
    bases: taste_model::BasisCache,
}

impl TasteLearner {
    pub fn new(kind: TasteLearnerKind) -> Self {
        Self { kind, bases: taste_model::BasisCache::default() }
    }

    /// The catalogue's basis, as this process keeps it.
    pub fn bases(&self) -> &taste_model::BasisCache {
        &self.bases
    }
}

/// Runs until `shutdown`, finishing the round in progress. Errors are logged and retried after a pause.
pub async fn run(db: PgPool, learner: Arc<TasteLearner>, name: String, shutdown: CancellationToken) {
    let mut listener = match PgListener::connect_with(&db).await {
        Ok(mut listener) => match listener.listen(NOTIFY_CHANNEL).await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "LISTEN failed; polling instead");
                None
            }
        },
        Err(error) => {
            tracing::warn!(%error, "no listener connection; polling instead");
            None
        }
    };
    tracing::info!(worker = %name, "taste worker started");
    // A round runs to its end; a shutdown is noticed between rounds.
    while !shutdown.is_cancelled() {
        match process_available(&db, &learner).await {
            Ok(processed) => {
                if let Err(error) = heartbeat(&db, &name, processed).await {
                    tracing::warn!(%error, "worker heartbeat failed");
                }
                if processed > 0 {
                    tracing::debug!(processed, "taste events applied");
                    continue;
                }
            }
            Err(error) => {
                tracing::error!(%error, "taste worker round failed; retrying");
                shutdown.run_until_cancelled(tokio::time::sleep(Duration::from_secs(2))).await;
            }
        }
        match listener.as_mut() {
            Some(listener) => _ = shutdown.run_until_cancelled(tokio::time::timeout(IDLE_POLL, listener.recv())).await,
            None => _ = shutdown.run_until_cancelled(tokio::time::sleep(IDLE_POLL)).await,
        }
    }
    tracing::info!(worker = %name, "taste worker stopped");
}

async fn heartbeat(db: &PgPool, name: &str, processed: usize) -> ServerResult<()> {
    sqlx::query(
        "INSERT INTO worker_heartbeats (worker, last_run, processed) VALUES ($1, now(), $2)
         ON CONFLICT (worker) DO UPDATE SET last_run = now(), processed = worker_heartbeats.processed + $2",
    )
    .bind(name)
    .bind(processed as i64)
    .execute(db)
    .await?;
    Ok(())
}

/// One round: every visitor with waiting events that no other worker holds. Returns the number
/// of events processed.
pub async fn process_available(db: &PgPool, learner: &TasteLearner) -> ServerResult<usize> {
    let visitors: Vec<Uuid> = sqlx::query_scalar(
        "SELECT visitor_id FROM activities WHERE NOT processed GROUP BY visitor_id ORDER BY min(id) LIMIT $1",
    )
    .bind(VISITORS_PER_ROUND)
    .fetch_all(db)
    .await?;
    let mut processed = 0;
    for visitor in visitors {
        processed += process_visitor(db, learner, visitor).await?;
    }
    Ok(processed)
}

/// Learns from one visitor's oldest waiting events (at most `EVENTS_PER_VISITOR_BATCH`),
/// atomically. Returns 0 if another worker holds this visitor.
pub async fn process_visitor(db: &PgPool, learner: &TasteLearner, visitor: Uuid) -> ServerResult<usize> {
    // Outside the transaction: computing a basis the first time takes a while.
    let basis = match learner.kind {
        TasteLearnerKind::Ordinal => Some(learner.bases.get(db).await?),
        TasteLearnerKind::Seed => None,
    };
    let mut tx = db.begin_cancel_safe().await?;
    let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 11))")
        .bind(visitor.to_string())
        .fetch_one(&mut *tx)
        .await?;
    if !mine {
        return Ok(0);
    }
    let events: Vec<WaitingEvent> = sqlx::query_as(
        "SELECT id, event_type, painting_id, (metadata->>'dwellTimeMs')::bigint AS dwell_ms,
                extract(epoch FROM clock_timestamp() - created_at)::float8 AS waited_seconds
         FROM activities WHERE visitor_id = $1 AND NOT processed ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(visitor)
    .bind(EVENTS_PER_VISITOR_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if events.is_empty() {
        return Ok(0);
    }
    let current: Option<(Option<Vector>, Option<Vector>, Option<OffsetDateTime>)> =
        sqlx::query_as("SELECT taste, prior, prior_at FROM user_preferences WHERE visitor_id = $1 FOR UPDATE")
            .bind(visitor)
            .fetch_optional(&mut *tx)
            .await?;
    let (taste, prior, prior_at) = current.unwrap_or_default();
    // The table's CHECK holds the vocabulary; a code this build does not know counts for nothing.
    let kinds: Vec<Option<EventKind>> = events.iter().map(|e| EventKind::parse(&e.event_type)).collect();
    let weights: Vec<f32> =
        kinds.iter().zip(&events).map(|(kind, e)| kind.map_or(0.0, |kind| taste::weight(kind, e.dwell_ms))).collect();
    let applied = weights.iter().zip(&events).filter(|(w, e)| **w != 0.0 && e.painting_id.is_some()).count() as i32;
    // A full history window starts the next one from what it taught (see `refit`).
    let mut consolidate = false;
    // The liked paintings the model weighs, most recent first, with their weights, and the
    // scale of its taste (the seed rule has none of these: it is the baseline).
    let (mut liked, mut likeness, mut strength) = (Vec::new(), Vec::new(), None);
    let taste = match basis {
        None => {
            let embeddings = embeddings_of(&mut tx, events.iter().filter_map(|e| e.painting_id)).await?;
            let mut taste = taste.map(|t| t.to_vec());
            for (event, weight) in events.iter().zip(weights) {
                let Some(painting) = event.painting_id.and_then(|id| embeddings.get(&id)) else { continue };
                if weight != 0.0 {
                    taste = taste::apply(taste, painting, weight);
                }
            }
            taste
        }
        Some(basis) => {
            let prior = prior.map(|p| p.to_vec());
            let refitted;
            (refitted, consolidate) = refit(&mut tx, &basis, visitor, prior.as_deref(), prior_at).await?;
            match refitted {
                Some((model, weighed)) => {
                    (liked, likeness, strength) = (weighed, model.likeness, model.strength);
                    Some(model.taste)
                }
                None => taste.map(|t| t.to_vec()),
            }
        }
    };
    sqlx::query(
        "INSERT INTO user_preferences (visitor_id, taste, taste_strength, interaction_count, liked, liked_weights)
         VALUES ($1, $2, $3, $4, $6, $7)
         ON CONFLICT (visitor_id) DO UPDATE
         SET taste = EXCLUDED.taste, taste_strength = EXCLUDED.taste_strength,
             interaction_count = user_preferences.interaction_count + $4, updated_at = now(),
             prior = CASE WHEN $5 THEN EXCLUDED.taste ELSE user_preferences.prior END,
             prior_at = CASE WHEN $5 THEN now() ELSE user_preferences.prior_at END,
             liked = EXCLUDED.liked, liked_weights = EXCLUDED.liked_weights",
    )
    .bind(visitor)
    .bind(taste.map(Vector::from))
    .bind(strength.map(|s| s as f32))
    .bind(applied)
    .bind(consolidate)
    .bind(&liked)
    .bind(likeness.iter().map(|w| *w as f32).collect::<Vec<f32>>())
    .execute(&mut *tx)
    .await?;
    if learner.kind == TasteLearnerKind::Ordinal {
        feed::find_liked_near(&mut tx, visitor).await?;
    }
    // Last, so the rows of much-shown paintings stay locked only briefly.
    popularity::record(
        &mut tx,
        kinds.iter().zip(&events).filter_map(|(kind, e)| Some((e.painting_id?, (*kind)?, e.dwell_ms))),
    )
    .await?;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    sqlx::query("UPDATE activities SET processed = true, processed_at = now() WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // The oldest comes first (events are in id order).
    metrics::events_learned(events.len(), Duration::from_secs_f64(events[0].waited_seconds.max(0.0)));
    Ok(events.len())
}

#[derive(sqlx::FromRow)]
struct WaitingEvent {
    id: i64,
    event_type: String,
    painting_id: Option<i64>,
    dwell_ms: Option<i64>,
    waited_seconds: f64,
}

async fn embeddings_of(
    tx: &mut PgConnection,
    painting_ids: impl Iterator<Item = i64>,
) -> ServerResult<HashMap<i64, Vec<f32>>> {
    let ids: Vec<i64> = painting_ids.collect();
    let rows: Vec<(i64, Vector)> =
        sqlx::query_as("SELECT id, embedding FROM paintings WHERE id = ANY($1)").bind(&ids).fetch_all(&mut *tx).await?;
    Ok(rows.into_iter().map(|(id, v)| (id, v.to_vec())).collect())
}

/// The ordinal learner's model of the visitor, refitted to the reactions in their latest
/// `HISTORY_EVENTS` events since their starting taste was set, with the liked paintings it
/// weighs (the most recent `LIKED_CENTRES` viewed or better, newest first; a hide or an unsave
/// takes one back), or None when there is nothing to go on; and whether that window is full. A full
/// window becomes the next prior, so what older events taught is kept while each refit reads
/// a bounded history.
async fn refit(
    tx: &mut PgConnection,
    basis: &Basis,
    visitor: Uuid,
    prior: Option<&[f32]>,
    prior_at: Option<OffsetDateTime>,
) -> ServerResult<(Option<(taste_model::Model, Vec<i64>)>, bool)> {
    let history: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT event_type, painting_id, dwell FROM (
             SELECT id, event_type, painting_id, (metadata->>'dwellTimeMs')::bigint AS dwell FROM activities
             WHERE visitor_id = $1 AND painting_id IS NOT NULL AND created_at >= coalesce($2, '-infinity')
             ORDER BY id DESC LIMIT $3
         ) latest ORDER BY id",
    )
    .bind(visitor)
    .bind(prior_at)
    .bind(HISTORY_EVENTS)
    .fetch_all(&mut *tx)
    .await?;
    let mut reactions: HashMap<i64, Reaction> = HashMap::new();
    // When each painting's reaction last rose (its place in the history).
    let mut raised_at: HashMap<i64, usize> = HashMap::new();
    for (at, (event_type, painting_id, dwell)) in history.iter().enumerate() {
        let Some(kind) = EventKind::parse(event_type) else { continue };
        let before = reactions.get(painting_id).copied();
        let Some(reaction) = Reaction::after(before, kind, *dwell) else { continue };
        if before.is_none_or(|before| reaction.level > before.level) {
            raised_at.insert(*painting_id, at);
        }
        reactions.insert(*painting_id, reaction);
    }
    let embeddings = embeddings_of(&mut *tx, reactions.keys().copied()).await?;
    // A painting deleted since counts for nothing.
    let mut liked: Vec<(usize, i64)> = reactions
        .iter()
        .filter(|(id, reaction)| reaction.level >= taste_model::VIEWED && embeddings.contains_key(id))
        .map(|(id, _)| (raised_at[id], *id))
        .collect();
    liked.sort_unstable_by(|a, b| b.cmp(a));
    liked.truncate(taste_model::LIKED_CENTRES);
    let liked: Vec<i64> = liked.into_iter().map(|(_, id)| id).collect();
    let observations: Vec<(&[f32], Reaction)> =
        reactions.iter().filter_map(|(id, reaction)| Some((embeddings.get(id)?.as_slice(), *reaction))).collect();
    let centres: Vec<&[f32]> = liked.iter().map(|id| embeddings[id].as_slice()).collect();
    let model = taste_model::fit(basis, prior, &observations, &centres);
    Ok((model.map(|model| (model, liked)), history.len() as i64 >= HISTORY_EVENTS))
}

/// Before retention deletes learned events older than `days`, each visitor whose refit window
/// still reaches back that far starts a new one from their current taste, which already holds
/// everything those events taught (the worker has processed them). Returns how many.
pub async fn consolidate_before_retention(db: &PgPool, days: i32) -> ServerResult<u64> {
    let consolidated = sqlx::query(
        "UPDATE user_preferences u SET prior = u.taste, prior_at = now()
         WHERE u.taste IS NOT NULL AND EXISTS (
             SELECT 1 FROM activities a
             WHERE a.visitor_id = u.visitor_id AND a.processed AND a.painting_id IS NOT NULL
               AND a.created_at >= coalesce(u.prior_at, '-infinity')
               AND a.created_at < now() - make_interval(days => $1))",
    )
    .bind(days)
    .execute(db)
    .await?;
    Ok(consolidated.rows_affected())
}
