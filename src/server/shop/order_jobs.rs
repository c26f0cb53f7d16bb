//! Order housekeeping, run in the background by the server:
//! - pending orders past their expiry: ask Stripe what really happened to the session
//!   (reconciliation: webhooks can be lost) and apply it; a session still open is expired at
//!   Stripe first, so it can no longer be paid;
//! - delivered orders are completed 7 days after delivery.
//!
//! Stripe's answers go through the webhook's own handler under a synthetic event id, so a
//! reconciled state is applied once and through the same state machine.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::order_status::OrderStatus;
use crate::server::error::ServerResult;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::shop::order_notes::OrderNote;
use crate::server::shop::orders::{self, Actor};
use crate::server::shop::payments::webhook::{self, EventData, StripeEvent};
use crate::server::shop::payments::Payments;

pub const AUTO_COMPLETE_AFTER_DAYS: i32 = 7;
const BATCH: i64 = 50;

/// Runs a round every `every` until `shutdown`; a round in progress runs to its end.
pub async fn run(db: PgPool, payments: std::sync::Arc<Payments>, every: Duration, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(error) = run_once(&db, &payments).await {
            tracing::error!(%error, "order jobs failed; retrying next round");
        }
        shutdown.run_until_cancelled(tokio::time::sleep(every)).await;
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    /// Overdue orders whose session was checked at Stripe and its state applied.
    pub reconciled: usize,
    pub expired: usize,
    pub completed: usize,
}

pub async fn run_once(db: &PgPool, payments: &Payments) -> ServerResult<JobReport> {
    let mut report = JobReport::default();
    let overdue: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, stripe_session_id FROM orders WHERE status = 'pending' AND expires_at < now()
         ORDER BY reconcile_attempted_at NULLS FIRST, expires_at LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    for (order_id, session_id) in overdue {
        match session_id {
            Some(session_id) => match reconcile(db, payments, &session_id).await {
                Ok(()) => report.reconciled += 1,
                // Stripe unreachable: try again later rather than guess, after the orders
                // not tried yet.
                Err(error) => {
                    tracing::warn!(%error, order = %order_id, "could not reconcile with Stripe");
                    orders::reconcile_attempted(db, &order_id).await?;
                }
            },
            None => {
                let mut tx = db.begin_cancel_safe().await?;
                orders::transition(
                    &mut tx,
                    &order_id,
                    OrderStatus::Expired,
                    Actor::System,
                    Some(&OrderNote::NotPaidInTime),
                )
                .await?;
                tx.commit().await?;
                report.expired += 1;
            }
        }
    }
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = 'delivered' AND delivered_at < now() - make_interval(days => $1) LIMIT $2",
    )
    .bind(AUTO_COMPLETE_AFTER_DAYS)
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    for order_id in due {
        let mut tx = db.begin_cancel_safe().await?;
        let note = OrderNote::AutoCompleted { days: AUTO_COMPLETE_AFTER_DAYS };
        orders::transition(&mut tx, &order_id, OrderStatus::Completed, Actor::System, Some(&note)).await?;
        tx.commit().await?;
        report.completed += 1;
    }
    Ok(report)
}

/// Applies the session's real state (Stripe's own webhook for it may land first; then this
/// changes nothing).
async fn reconcile(db: &PgPool, payments: &Payments, session_id: &str) -> ServerResult<()> {
    let mut session = payments.retrieve_session(session_id).await?;
    let status = session.status.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default();
    if status == "open" {
        session = payments.expire_session(session_id).await?;
    }
    let paid = session.payment_status.as_str() == "paid";
    let event_type = if paid { "checkout.session.completed" } else { "checkout.session.expired" };
    let object = serde_json::to_value(&session).unwrap_or_else(|_| json!({ "id": session_id }));
    let event = StripeEvent {
        id: format!("reconcile_{session_id}_{event_type}"),
        event_type: event_type.into(),
        data: EventData { object },
    };
    let outcome = webhook::handle(db, &event).await?;
    tracing::info!(session = %session_id, ?outcome, "reconciled with Stripe");
    Ok(())
}
