//! What an admin does to an order: the next fulfilment step (with tracking when shipping) and
//! refunds through Stripe. Each action lands on the timeline with the admin's id, and in the
//! audit log with the state before and after.

use serde_json::json;
use sqlx::Row;

use crate::error::AppError;
use crate::labels::status_label;
use crate::order_status::OrderStatus;
use crate::pricing::format_cny;
use crate::server::admin::audit;
use crate::server::error::ServerResult;
use crate::server::http::auth::Admin;
use crate::server::http::locale::{message, reader_locale};
use crate::server::infra::db::BeginCancelSafe;
use crate::server::shop::order_notes::OrderNote;
use crate::server::shop::orders::{self, Actor, Moved, OrderId};
use crate::server::state::AppState;

pub async fn advance(
    state: &AppState,
    admin: &Admin,
    order_id: &OrderId,
    to: &str,
    tracking: Option<&str>,
) -> ServerResult<()> {
    let order_id = order_id.as_str();
    let to: OrderStatus = to.parse().map_err(AppError::from)?;
    let tracking = tracking.map(str::trim).filter(|t| !t.is_empty());
    if to == OrderStatus::Shipped {
        match tracking {
            None => return Err(AppError::invalid(message!(fulfilment.tracking_required)).into()),
            Some(t) if t.chars().count() > 100 => {
                return Err(AppError::invalid(message!(fulfilment.tracking_too_long)).into())
            }
            Some(_) => {}
        }
    }
    let admin_id = admin.id.to_string();
    let mut tx = state.db.begin_cancel_safe().await?;
    // Locked: the move checked here is the move made below.
    let current = orders::lock(&mut tx, order_id).await?.ok_or(AppError::NotFound)?;
    if !current.admin_moves().contains(&to) {
        let locale = reader_locale();
        let (from, to) = (status_label(current, locale), status_label(to, locale));
        return Err(AppError::invalid(message!(fulfilment.cannot_move, from, to)).into());
    }
    let note = match (to, tracking) {
        (OrderStatus::Shipped, Some(tracking)) => {
            orders::set_tracking_number(&mut tx, order_id, tracking).await?;
            OrderNote::Shipped { tracking: tracking.to_owned() }
        }
        _ => OrderNote::MovedByAdmin { to },
    };
    let moved = orders::transition(&mut tx, order_id, to, Actor::Admin(&admin_id), Some(&note)).await?;
    debug_assert!(matches!(moved, Moved::Yes { .. }), "admin_moves only lists moves the machine allows");
    audit::record(
        &mut *tx,
        admin,
        "order.advance",
        &format!("order:{order_id}"),
        Some(json!({ "status": current.code() })),
        Some(json!({ "status": to.code(), "tracking": tracking })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Asks Stripe for a refund (the whole remainder when `amount` is none). The order becomes
/// refunded when Stripe's `charge.refunded` webhook arrives, like any other refund.
pub async fn refund(state: &AppState, admin: &Admin, order_id: &OrderId, amount: Option<i64>) -> ServerResult<i64> {
    let order_id = order_id.as_str();
    let row =
        sqlx::query("SELECT status, amount_cents, refunded_cents, stripe_payment_intent FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
    let status: OrderStatus = row.get::<String, _>("status").parse().expect("CHECK constraint");
    let remaining = i64::from(row.get::<i32, _>("amount_cents")) - i64::from(row.get::<i32, _>("refunded_cents"));
    if !status.is_paid() || status == OrderStatus::Refunded || remaining <= 0 {
        let status = status_label(status, reader_locale());
        return Err(AppError::invalid(message!(fulfilment.cannot_refund, status)).into());
    }
    let amount = amount.unwrap_or(remaining);
    if !(1..=remaining).contains(&amount) {
        return Err(AppError::invalid(message!(fulfilment.refund_range, max = format_cny(remaining))).into());
    }
    let intent: String = row
        .get::<Option<String>, _>("stripe_payment_intent")
        .ok_or_else(|| AppError::invalid(message!(fulfilment.no_payment)))?;
    // Same order, same amount already refunded, same request: Stripe answers it once.
    let key = format!("refund_{order_id}_{}_{amount}", remaining);
    state.payments.refund(&intent, amount, &key).await?;
    let admin_id = admin.id.to_string();
    let mut tx = state.db.begin_cancel_safe().await?;
    orders::note(&mut tx, order_id, Actor::Admin(&admin_id), &OrderNote::RefundRequested { amount }, false).await?;
    audit::record(
        &mut *tx,
        admin,
        "order.refund",
        &format!("order:{order_id}"),
        Some(json!({ "status": status.code(), "refundable_cents": remaining })),
        Some(json!({ "requested_cents": amount })),
    )
    .await?;
    tx.commit().await?;
    Ok(amount)
}
