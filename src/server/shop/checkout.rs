//! Buying a print: an order priced on the server, then a Stripe Checkout Session for it. If
//! Stripe fails, the order is marked failed with the reason, so nothing is left pending that
//! could later be paid twice.

use sqlx::PgPool;

use crate::error::AppError;
use crate::order_status::OrderStatus;
use crate::pricing::PrintOptions;
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::locale::{message, reader_locale};
use crate::server::http::visitor::VisitorId;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::shop::order_notes::OrderNote;
use crate::server::shop::orders::{self, Actor, OrderId};
use crate::server::shop::payments::CheckoutRequest;
use crate::server::state::AppState;
use crate::types::ShippingAddress;

/// Returns the URL of the Checkout page for this print: the open one for a repeated click,
/// a new one otherwise.
pub async fn start(
    state: &AppState,
    visitor: VisitorId,
    painting_id: i64,
    options: PrintOptions,
) -> ServerResult<String> {
    let order =
        orders::open_for_checkout(&state.db, visitor, painting_id, options, state.config.checkout_ttl_minutes).await?;
    if let Some(url) = order.session_url {
        return Ok(url);
    }
    // One request at a time talks to Stripe for this order; a second click waits here.
    let claim = orders::claim_session(&state.db, &order.id).await?;
    if let Some(url) = claim.session_url.clone() {
        return Ok(url);
    }
    let (title, image): (String, String) =
        sqlx::query_as("SELECT coalesce(title_en, title), image_hd_url FROM paintings WHERE id = $1")
            .bind(painting_id)
            .fetch_one(&state.db)
            .await?;
    let absolute =
        |path: &str| state.config.public_url.join(path).map(|u| u.to_string()).unwrap_or_else(|_| path.to_owned());
    // Stripe wants at least 30 minutes; a minute more than our own window keeps it valid. Counted
    // from when the order was placed, so every attempt for it sends Stripe the same request.
    let expires_at = order.placed_at + state.config.checkout_ttl_minutes.max(30) * 60 + 60;
    let request = CheckoutRequest {
        order_id: &order.id,
        painting_id,
        title: &title,
        image_url: absolute(&image),
        options,
        amount_cents: order.amount_cents,
        success_url: absolute(&format!("/order/{}?success=true", order.id)),
        cancel_url: absolute(&format!("/painting/{painting_id}")),
        expires_at,
    };
    match state.payments.create_checkout(request).await {
        Ok(session) => {
            let url = session.url.clone().ok_or_else(|| ServerError::Payment("session without a URL".into()))?;
            claim.attach(session.id.as_str(), &url).await?;
            Ok(url)
        }
        // Stripe is still busy with this order's key, or remembers it with other parameters: the
        // order may yet be payable, so it stays pending (the claim is released unchanged).
        Err(error @ ServerError::PaymentInProgress(_)) => Err(error),
        Err(error) => {
            claim.fail().await?;
            Err(error)
        }
    }
}

/// A shipping address, checked: every field present and within its length, and no control
/// characters but line breaks in the address (the database stores no NUL).
pub fn parse_address(name: &str, phone: &str, address: &str) -> Result<ShippingAddress, AppError> {
    let field = |label: &str, value: &str, max: usize, line_breaks: bool| -> Result<String, AppError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(AppError::invalid(message!(address.required, field = label)));
        }
        if value.chars().count() > max {
            return Err(AppError::invalid(message!(address.too_long, field = label, max)));
        }
        if value.chars().any(|c| c.is_control() && !(line_breaks && "\r\n".contains(c))) {
            return Err(AppError::invalid(message!(address.control_characters, field = label)));
        }
        Ok(value.to_owned())
    };
    let phone = field(&message!(address.phone), phone, 40, false)?;
    if !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        || phone.chars().filter(char::is_ascii_digit).count() < 6
    {
        return Err(AppError::invalid(message!(address.not_a_phone)));
    }
    Ok(ShippingAddress {
        name: field(&message!(address.name), name, 200, false)?,
        phone,
        address: field(&message!(address.address), address, 500, true)?,
    })
}

/// The shopper changes where their print goes, before it ships.
pub async fn update_address(
    db: &PgPool,
    visitor: VisitorId,
    order_id: &OrderId,
    address: ShippingAddress,
) -> ServerResult<()> {
    let order_id = order_id.as_str();
    let mut tx = db.begin_cancel_safe().await?;
    let owned: Option<String> =
        sqlx::query_scalar("SELECT status FROM orders WHERE id = $1 AND visitor_id = $2 FOR UPDATE")
            .bind(order_id)
            .bind(visitor.0)
            .fetch_optional(&mut *tx)
            .await?;
    let status: OrderStatus = owned.ok_or(AppError::NotFound)?.parse().expect("CHECK constraint");
    if !status.address_editable() {
        let status = crate::labels::status_label(status, reader_locale());
        return Err(AppError::invalid(message!(address.locked, status)).into());
    }
    orders::set_shipping_address(&mut tx, order_id, &address).await?;
    orders::timeline(&mut tx, order_id, Some(status), status, Actor::Shopper, Some(&OrderNote::AddressChanged)).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_field_by_field() {
        assert!(parse_address(" Li Wei ", "+86 138-0000-0000", "1 Huaihai Road, Shanghai").is_ok());
        // Outside a request (an operator reads it): English.
        assert_eq!(parse_address("", "123456", "x").unwrap_err(), AppError::invalid("name is required"));
        assert!(parse_address("x", "call me", "x").unwrap_err().to_string().contains("phone"));
        assert!(parse_address("x", "123456", &"a".repeat(501))
            .unwrap_err()
            .to_string()
            .contains("address must be at most 500 characters"));
        assert!(parse_address("Li\0Wei", "123456", "x")
            .unwrap_err()
            .to_string()
            .contains("name cannot contain control characters"));
        assert!(parse_address("x", "123456", "1 Road\u{0}").is_err(), "no NUL in the address");
        assert!(parse_address("x", "123456", "1 Huaihai Road\r\nShanghai").is_ok(), "an address may span lines");
    }
}
