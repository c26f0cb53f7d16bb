//! Buying a print and following the order; the admin's side of fulfilment.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{admin_context, invalid, visitor_context};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::error::respond;
use crate::types::{AdminOrders, OrderView};

/// Buy a print: the server prices it, opens (or reuses) the order and its Stripe Checkout
/// Session, and returns the Checkout URL (a plain form post is redirected there).
#[server(endpoint = "checkout", output = crate::api::codec::JsonText)]
pub async fn start_checkout(
    #[server(rename = "paintingId")] painting_id: i64,
    size: String,
    material: String,
    frame: String,
) -> Result<String, AppError> {
    use crate::pricing::PrintOptions;
    use crate::server::shop::checkout;
    let (state, visitor) = visitor_context()?;
    let options =
        respond(PrintOptions::parse(&size, &material, &frame).map_err(|unknown| AppError::from(unknown).into()))?;
    let url = respond(checkout::start(&state, visitor, painting_id, options).await)?;
    leptos_axum::redirect(&url);
    Ok(url)
}

/// An order id from the wire; one that cannot be an order's is "not found" (a 404).
#[cfg(feature = "ssr")]
fn parse_order_id(text: &str) -> Result<crate::server::shop::orders::OrderId, AppError> {
    respond(crate::server::shop::orders::OrderId::parse(text).map_err(Into::into))
}

#[server(endpoint = "orders", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_my_orders() -> Result<Vec<OrderView>, AppError> {
    use crate::server::shop::orders;
    let (state, visitor) = visitor_context()?;
    respond(orders::for_visitor(&state.db, visitor, &crate::server::http::locale::current_zone()).await)
}

/// One of the visitor's orders; anyone else's is "not found".
#[server(endpoint = "order", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_order(id: String) -> Result<OrderView, AppError> {
    use crate::server::shop::orders;
    let (state, visitor) = visitor_context()?;
    let id = parse_order_id(&id)?;
    respond(orders::view(&state.db, &id, Some(visitor), &crate::server::http::locale::current_zone()).await)
}

#[server(endpoint = "order/address", output = crate::api::codec::JsonText)]
pub async fn update_shipping(
    #[server(rename = "orderId")] order_id: String,
    name: String,
    phone: String,
    address: String,
) -> Result<(), AppError> {
    use crate::server::shop::checkout;
    let (state, visitor) = visitor_context()?;
    let address = respond(checkout::parse_address(&name, &phone, &address).map_err(Into::into))?;
    respond(checkout::update_address(&state.db, visitor, &parse_order_id(&order_id)?, address).await)
}

#[server(endpoint = "admin/orders", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_admin_orders(status: Option<String>) -> Result<AdminOrders, AppError> {
    use crate::server::shop::orders;
    let (state, _) = admin_context().await?;
    let status = status.filter(|s| !s.is_empty()).map(|s| s.parse());
    let status = respond(status.transpose().map_err(|unknown| AppError::from(unknown).into()))?;
    let (orders, counts) =
        respond(orders::for_admin(&state.db, status, 200, &crate::server::http::locale::current_zone()).await)?;
    Ok(AdminOrders { orders, counts })
}

#[server(endpoint = "admin/order", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_admin_order(id: String) -> Result<OrderView, AppError> {
    use crate::server::shop::orders;
    let (state, _) = admin_context().await?;
    let id = parse_order_id(&id)?;
    respond(orders::view(&state.db, &id, None, &crate::server::http::locale::current_zone()).await)
}

/// The next fulfilment step (only moves the state machine allows); shipping needs tracking.
#[server(endpoint = "admin/order/advance", output = crate::api::codec::JsonText)]
pub async fn advance_order(
    #[server(rename = "orderId")] order_id: String,
    to: String,
    tracking: Option<String>,
) -> Result<(), AppError> {
    use crate::server::shop::fulfilment;
    let (state, admin) = admin_context().await?;
    respond(fulfilment::advance(&state, &admin, &parse_order_id(&order_id)?, &to, tracking.as_deref()).await)
}

/// Refund through Stripe; `amount_cents` empty means the whole remainder.
#[server(endpoint = "admin/order/refund", output = crate::api::codec::JsonText)]
pub async fn refund_order(
    #[server(rename = "orderId")] order_id: String,
    #[server(rename = "amountCents")] amount_cents: Option<String>,
) -> Result<i64, AppError> {
    use crate::server::shop::fulfilment;
    let (state, admin) = admin_context().await?;
    let amount = invalid(
        amount_cents
            .filter(|a| !a.trim().is_empty())
            .map(|a| {
                a.trim().parse::<i64>().map_err(|_| crate::server::http::locale::message!(fulfilment.refund_not_whole))
            })
            .transpose(),
    )?;
    respond(fulfilment::refund(&state, &admin, &parse_order_id(&order_id)?, amount).await)
}

/// The raw route of the shop: Stripe's signed webhook.
#[cfg(feature = "ssr")]
pub use routes::stripe_webhook;
#[cfg(feature = "ssr")]
pub(crate) mod routes {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use axum::Json;

    use crate::error::AppError;
    use crate::server::infra::metrics;
    use crate::server::shop::payments::webhook::{handle, verify_signature, Outcome, StripeEvent};
    use crate::server::state::AppState;

    /// What a webhook delivery did, for Stripe's dashboard.
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct WebhookReceipt {
        received: bool,
        /// What the event changed, in words ("applied: pending -> paid", "duplicate: ...").
        outcome: String,
    }

    /// `POST /api/webhooks/stripe`: verified against every configured secret, then applied.
    #[utoipa::path(post, path = "/api/webhooks/stripe", tag = "webhooks",
        description = "Stripe's event deliveries, signed (`Stripe-Signature`) with a configured webhook secret. Each \
            event is applied once; a repeated delivery answers `duplicate`.",
        params(("Stripe-Signature" = String, Header)),
        request_body(content = serde_json::Value, description = "A Stripe event"),
        responses((status = 200, body = WebhookReceipt)))]
    pub async fn stripe_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
        let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Err(error) = verify_signature(signature, &body, state.payments.webhook_secrets(), now) {
            tracing::warn!(%error, "stripe webhook refused");
            metrics::webhook("", "bad_signature");
            return AppError::invalid(error.to_string()).into_response();
        }
        let event: StripeEvent = match serde_json::from_slice(&body) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "stripe webhook body is not an event");
                metrics::webhook("", "not_an_event");
                return AppError::invalid("the body is not a Stripe event").into_response();
            }
        };
        match handle(&state.db, &event).await {
            Ok(outcome) => {
                tracing::info!(event = %event.id, kind = %event.event_type, outcome = %outcome.describe(), "stripe webhook");
                // Types the shop ignores are counted together.
                let kind = if outcome == Outcome::Ignored { "other" } else { event.event_type.as_str() };
                metrics::webhook(kind, outcome.code());
                Json(WebhookReceipt { received: true, outcome: outcome.describe() }).into_response()
            }
            // Stripe retries on 5xx, and nothing was committed.
            Err(error) => {
                metrics::webhook(&event.event_type, "error");
                error.into_response()
            }
        }
    }
}
