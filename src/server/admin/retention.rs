//! Retention: what the shop stops keeping, hourly, through each table's owner. Processed activity
//! events after `ARTWALL_RETAIN_ACTIVITY_DAYS` (the taste has learned from them; the dashboard
//! reads 7 days), Stripe event ids after `ARTWALL_RETAIN_STRIPE_EVENT_DAYS` (Stripe retries for
//! 3), admin sessions a day after they ended, pre-signing visitor ids once their exchange has
//! closed, room photos their owners have replaced, failed sign-ins a day old and the attempt
//! counts of ended minutes. Orders, tastes, saves and the feed's memory of what it showed are kept.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::server::discovery::{activity, rooms, taste_worker};
use crate::server::error::ServerResult;
use crate::server::http::{auth, sign_in, visitor};
use crate::server::infra::storage::Storage;
use crate::server::shop::payments::webhook;

/// The shortest ages allowed: the dashboard's 7-day window, and Stripe's 3 days of retries.
pub const MIN_ACTIVITY_DAYS: i32 = 8;
pub const MIN_STRIPE_EVENT_DAYS: i32 = 4;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub activities: u64,
    pub stripe_events: u64,
    pub admin_sessions: u64,
    pub legacy_visitors: u64,
    pub replaced_room_photos: u64,
    pub sign_in_failures: u64,
    pub sign_in_attempts: u64,
}

/// Runs every hour until `shutdown`; a round in progress runs to its end.
pub async fn run(
    db: PgPool,
    storage: Arc<Storage>,
    activity_days: i32,
    stripe_event_days: i32,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    while shutdown.run_until_cancelled(every.tick()).await.is_some() {
        match run_once(&db, &storage, activity_days, stripe_event_days).await {
            Ok(deleted) => tracing::info!(?deleted, "retention"),
            Err(error) => tracing::error!(%error, "retention failed; retrying next hour"),
        }
    }
}

pub async fn run_once(
    db: &PgPool,
    storage: &Storage,
    activity_days: i32,
    stripe_event_days: i32,
) -> ServerResult<Deleted> {
    let activity_days = activity_days.max(MIN_ACTIVITY_DAYS);
    // What the events taught stays in the taste the ordinal learner refits around.
    taste_worker::consolidate_before_retention(db, activity_days).await?;
    Ok(Deleted {
        activities: activity::delete_processed_older_than(db, activity_days).await?,
        stripe_events: webhook::forget_events_older_than(db, stripe_event_days.max(MIN_STRIPE_EVENT_DAYS)).await?,
        admin_sessions: auth::delete_ended_sessions(db).await?,
        legacy_visitors: visitor::forget_closed_legacy_visitors(db).await?,
        replaced_room_photos: rooms::delete_replaced(db, storage).await?,
        sign_in_failures: sign_in::forget_old_failures(db).await?,
        sign_in_attempts: sign_in::forget_ended_minutes(db).await?,
    })
}
