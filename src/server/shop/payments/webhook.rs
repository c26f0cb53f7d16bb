//! `POST /api/webhooks/stripe`: Stripe's news about payments, verified and applied exactly once.
//!
//! - The raw body's `Stripe-Signature` is checked against every `v1` value (a secret roll sends
//!   several) and every configured secret, within a 300 s tolerance. Anything else is a 400 and
//!   changes nothing.
//! - The event id goes into `stripe_events` in the same transaction as its effect: a duplicate,
//!   even one arriving at the same moment, finds the row and does nothing.
//! - Every status change goes through the order state machine, which never moves backwards.
//!
//! Only database work happens here, so Stripe gets its answer in milliseconds.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::{PgConnection, PgPool, Row};
use subtle::ConstantTimeEq;

use crate::order_status::OrderStatus;
use crate::pricing::format_cny;
use crate::server::discovery::activity::{self, ServerEvent};
use crate::server::error::ServerResult;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::shop::order_notes::OrderNote;
use crate::server::shop::orders::{self, Actor, Moved};

pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
/// Stripe's events are far smaller; this leaves room and refuses anything silly.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches a configured secret")]
    Mismatch,
}

/// At most this many `v1` values are checked: Stripe sends one per active secret (two while a
/// secret rolls). A header with thousands costs what one costs.
const MAX_V1_SIGNATURES: usize = 8;

/// Checks `header` (`t=...,v1=...,v1=...`) over `payload` against every secret: one HMAC per
/// secret, compared in constant time with each (32-byte) `v1` value.
pub fn verify_signature(
    header: Option<&str>,
    payload: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures: Vec<[u8; 32]> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", _)) if signatures.len() == MAX_V1_SIGNATURES => {}
            Some(("v1", hex_sig)) => {
                let mut signature = [0u8; 32];
                hex::decode_to_slice(hex_sig, &mut signature).map_err(|_| SignatureError::Malformed)?;
                signatures.push(signature);
            }
            Some(_) => {} // v0 and future schemes are ignored, as Stripe advises
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // abs_diff: any i64 the header holds, however far off, is merely stale.
    if now.abs_diff(timestamp) > SIGNATURE_TOLERANCE_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        let expected = mac.finalize().into_bytes();
        if signatures.iter().any(|signature| bool::from(expected.as_slice().ct_eq(signature))) {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// Signs a payload the way Stripe does (for our tests and the local Stripe harness).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Deserialize)]
pub struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// What an event did, for the response and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied(String),
    Duplicate,
    NoChange(String),
    Flagged(String),
    UnknownOrder,
    Ignored,
}

impl Outcome {
    /// The outcome's name in the metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Applied(_) => "applied",
            Self::Duplicate => "duplicate",
            Self::NoChange(_) => "no_change",
            Self::Flagged(_) => "flagged",
            Self::UnknownOrder => "unknown_order",
            Self::Ignored => "ignored",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Applied(what) => format!("applied: {what}"),
            Self::Duplicate => "duplicate: already processed".into(),
            Self::NoChange(why) => format!("no change: {why}"),
            Self::Flagged(why) => format!("flagged for the admin: {why}"),
            Self::UnknownOrder => "no matching order".into(),
            Self::Ignored => "event type ignored".into(),
        }
    }
}

/// Applies one verified event exactly once.
pub async fn handle(db: &PgPool, event: &StripeEvent) -> ServerResult<Outcome> {
    let mut tx = db.begin_cancel_safe().await?;
    let fresh = sqlx::query(
        "INSERT INTO stripe_events (event_id, event_type) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&event.event_type)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        return Ok(Outcome::Duplicate);
    }
    let object = &event.data.object;
    let outcome = match event.event_type.as_str() {
        "checkout.session.completed" => session_completed(&mut tx, object, "checkout.session.completed").await?,
        "checkout.session.async_payment_succeeded" => {
            session_completed(&mut tx, object, "checkout.session.async_payment_succeeded").await?
        }
        "checkout.session.async_payment_failed" => session_payment_failed(&mut tx, object).await?,
        "checkout.session.expired" => session_expired(&mut tx, object).await?,
        "payment_intent.succeeded" => payment_succeeded(&mut tx, object).await?,
        "payment_intent.payment_failed" => payment_failed(&mut tx, object).await?,
        "charge.refunded" => charge_refunded(&mut tx, object).await?,
        _ => Outcome::Ignored,
    };
    tx.commit().await?;
    Ok(outcome)
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key)).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An expandable reference: an id string or an object with an id.
fn reference(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(id) => Some(id.clone()),
        object => object.get("id").and_then(Value::as_str).map(str::to_owned),
    }
}

/// The order an object belongs to: its `orderId` metadata, else the stored session or intent.
async fn find_order(
    tx: &mut PgConnection,
    object: &Value,
    column: &str,
    id: Option<&str>,
) -> ServerResult<Option<String>> {
    if let Some(order_id) = text(object, &["metadata", "orderId"]) {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM orders WHERE id = $1").bind(order_id).fetch_optional(&mut *tx).await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let Some(id) = id else { return Ok(None) };
    Ok(sqlx::query_scalar(&format!("SELECT id FROM orders WHERE {column} = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?)
}

struct Payment<'a> {
    amount: Option<i64>,
    currency: Option<&'a str>,
    payment_intent: Option<String>,
    via: &'a str,
}

/// Marks an order paid if the amount matches, through the state machine. A payment after expiry
/// or failure is still money taken: paid, and flagged. A mismatched amount is never accepted.
async fn mark_paid(tx: &mut PgConnection, order_id: &str, payment: Payment<'_>) -> ServerResult<Outcome> {
    let row = sqlx::query(
        "SELECT status, amount_cents, currency, visitor_id, painting_id FROM orders WHERE id = $1 FOR UPDATE",
    )
    .bind(order_id)
    .fetch_one(&mut *tx)
    .await?;
    let status: OrderStatus = row.get::<String, _>("status").parse().expect("CHECK constraint");
    let (expected, currency) = (i64::from(row.get::<i32, _>("amount_cents")), row.get::<String, _>("currency"));
    if payment.amount != Some(expected) || payment.currency.map(str::to_lowercase).as_deref() != Some(currency.as_str())
    {
        let why = OrderNote::AmountMismatch {
            via: payment.via.to_owned(),
            reported: payment.amount,
            currency: payment.currency.map(str::to_owned),
            expected,
        };
        orders::note(tx, order_id, Actor::Stripe, &why, true).await?;
        return Ok(Outcome::Flagged(why.in_english()));
    }
    if let Some(intent) = &payment.payment_intent {
        orders::record_payment_intent(tx, order_id, intent).await?;
    }
    let late = matches!(status, OrderStatus::Expired | OrderStatus::Failed);
    let via = payment.via.to_owned();
    let note = if late { OrderNote::PaidLate { via, was: status } } else { OrderNote::Paid { via } };
    match orders::transition(tx, order_id, OrderStatus::Paid, Actor::Stripe, Some(&note)).await? {
        Moved::Yes { .. } => {
            if late {
                orders::flag_for_attention(tx, order_id).await?;
            }
            // The strongest taste signal there is (weight +1.0), learned by the taste worker.
            let purchase = ServerEvent::Purchase { painting_id: row.get::<i64, _>("painting_id") };
            activity::record_server_event(tx, VisitorId(row.get::<uuid::Uuid, _>("visitor_id")), purchase).await?;
            Ok(if late {
                Outcome::Flagged(note.in_english())
            } else {
                Outcome::Applied(format!("{} -> paid", status.code()))
            })
        }
        Moved::Refused { current } => Ok(Outcome::NoChange(format!("already {}", current.code()))),
    }
}

/// Stores where to ship unless an earlier event already did. Checkout puts the collected address
/// on both the session and its PaymentIntent, and either webhook may arrive first.
async fn record_shipping(
    tx: &mut PgConnection,
    order_id: &str,
    shipping: Option<&Value>,
    customer: Option<&Value>,
) -> ServerResult<()> {
    let Some(shipping) = shipping.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let address = shipping.get("address").cloned().unwrap_or(Value::Null);
    let line = ["line1", "line2", "city", "state", "postal_code", "country"]
        .iter()
        .filter_map(|key| text(&address, &[key]))
        .collect::<Vec<_>>()
        .join(", ");
    let from_customer = |key| customer.and_then(|c| text(c, &[key]));
    let name = text(shipping, &["name"]).or_else(|| from_customer("name"));
    let phone = text(shipping, &["phone"]).or_else(|| from_customer("phone"));
    orders::record_stripe_shipping(tx, order_id, name, phone, json!({ "text": line, "stripe": address })).await
}

/// A completed session is paid only when Stripe says so: with a delayed payment method it
/// completes `unpaid`, and `checkout.session.async_payment_succeeded` follows once the money is in.
async fn session_completed(tx: &mut PgConnection, session: &Value, via: &'static str) -> ServerResult<Outcome> {
    let Some(order_id) = find_order(tx, session, "stripe_session_id", text(session, &["id"])).await? else {
        return Ok(Outcome::UnknownOrder);
    };
    // Where to ship: newer API versions nest it under collected_information.
    let shipping =
        session.pointer("/collected_information/shipping_details").or_else(|| session.get("shipping_details"));
    record_shipping(tx, &order_id, shipping, session.get("customer_details")).await?;
    let payment_status = text(session, &["payment_status"]).unwrap_or("missing");
    if payment_status != "paid" {
        let note = OrderNote::AwaitingPayment { via: via.to_owned(), payment_status: payment_status.to_owned() };
        orders::note(tx, &order_id, Actor::Stripe, &note, false).await?;
        return Ok(Outcome::NoChange(note.in_english()));
    }
    let payment = Payment {
        amount: session.get("amount_total").and_then(Value::as_i64),
        currency: text(session, &["currency"]),
        payment_intent: reference(session, "payment_intent"),
        via,
    };
    mark_paid(tx, &order_id, payment).await
}

/// A delayed payment that did not go through: the shopper was told at Stripe; we note it.
async fn session_payment_failed(tx: &mut PgConnection, session: &Value) -> ServerResult<Outcome> {
    let Some(order_id) = find_order(tx, session, "stripe_session_id", text(session, &["id"])).await? else {
        return Ok(Outcome::UnknownOrder);
    };
    let note = OrderNote::DelayedPaymentFailed;
    orders::note(tx, &order_id, Actor::Stripe, &note, false).await?;
    Ok(Outcome::NoChange(note.in_english()))
}

async fn session_expired(tx: &mut PgConnection, session: &Value) -> ServerResult<Outcome> {
    let Some(order_id) = find_order(tx, session, "stripe_session_id", text(session, &["id"])).await? else {
        return Ok(Outcome::UnknownOrder);
    };
    Ok(
        match orders::transition(tx, &order_id, OrderStatus::Expired, Actor::Stripe, Some(&OrderNote::SessionExpired))
            .await?
        {
            Moved::Yes { .. } => Outcome::Applied("pending -> expired".into()),
            Moved::Refused { current } => Outcome::NoChange(format!("already {}", current.code())),
        },
    )
}

async fn payment_succeeded(tx: &mut PgConnection, intent: &Value) -> ServerResult<Outcome> {
    let Some(order_id) = find_order(tx, intent, "stripe_payment_intent", text(intent, &["id"])).await? else {
        return Ok(Outcome::UnknownOrder);
    };
    let payment = Payment {
        amount: intent.get("amount_received").or_else(|| intent.get("amount")).and_then(Value::as_i64),
        currency: text(intent, &["currency"]),
        payment_intent: text(intent, &["id"]).map(str::to_owned),
        via: "payment_intent.succeeded",
    };
    record_shipping(tx, &order_id, intent.get("shipping"), None).await?;
    mark_paid(tx, &order_id, payment).await
}

async fn payment_failed(tx: &mut PgConnection, intent: &Value) -> ServerResult<Outcome> {
    let Some(order_id) = find_order(tx, intent, "stripe_payment_intent", text(intent, &["id"])).await? else {
        return Ok(Outcome::UnknownOrder);
    };
    let reason = text(intent, &["last_payment_error", "message"]).map(|reason| reason.chars().take(300).collect());
    let note = OrderNote::AttemptFailed { reason };
    orders::note(tx, &order_id, Actor::Stripe, &note, false).await?;
    Ok(Outcome::NoChange(note.in_english()))
}

async fn charge_refunded(tx: &mut PgConnection, charge: &Value) -> ServerResult<Outcome> {
    let intent = reference(charge, "payment_intent");
    let Some(order_id) = find_order(tx, charge, "stripe_payment_intent", intent.as_deref()).await? else {
        return Ok(Outcome::UnknownOrder);
    };
    let row = sqlx::query("SELECT status, amount_cents, currency, refunded_cents FROM orders WHERE id = $1 FOR UPDATE")
        .bind(&order_id)
        .fetch_one(&mut *tx)
        .await?;
    let status: OrderStatus = row.get::<String, _>("status").parse().expect("CHECK constraint");
    let amount = i64::from(row.get::<i32, _>("amount_cents"));
    let already = i64::from(row.get::<i32, _>("refunded_cents"));
    let reported = charge.get("amount_refunded").and_then(Value::as_i64);
    let currency = text(charge, &["currency"]).map(str::to_lowercase);
    // More than was paid, in another currency, or no amount at all: a person looks at it; nothing
    // is recorded from figures we cannot trust.
    let refunded = match reported {
        Some(refunded) if (0..=amount).contains(&refunded) && currency.as_deref() == Some(row.get("currency")) => {
            refunded
        }
        _ => {
            let why = OrderNote::RefundDoesNotFit { reported, currency, amount };
            orders::note(tx, &order_id, Actor::Stripe, &why, true).await?;
            return Ok(Outcome::Flagged(why.in_english()));
        }
    };
    if !status.is_paid() {
        let why = OrderNote::RefundWhileUnpaid { refunded, status };
        orders::note(tx, &order_id, Actor::Stripe, &why, true).await?;
        return Ok(Outcome::Flagged(why.in_english()));
    }
    if refunded <= already {
        return Ok(Outcome::NoChange(format!("{} already recorded as refunded", format_cny(already))));
    }
    orders::record_refund(tx, &order_id, refunded as i32).await?;
    if refunded < amount {
        let note = OrderNote::PartialRefund { refunded, amount };
        orders::note(tx, &order_id, Actor::Stripe, &note, false).await?;
        return Ok(Outcome::Applied(note.in_english()));
    }
    Ok(
        match orders::transition(
            tx,
            &order_id,
            OrderStatus::Refunded,
            Actor::Stripe,
            Some(&OrderNote::RefundedInFull { amount }),
        )
        .await?
        {
            Moved::Yes { from } => Outcome::Applied(format!("{} -> refunded", from.code())),
            Moved::Refused { current } => Outcome::NoChange(format!("already {}", current.code())),
        },
    )
}

/// Retention: forgets the ids of events received more than `days` ago. Stripe retries an event
/// for up to three days, so an older duplicate cannot arrive.
pub async fn forget_events_older_than(db: &PgPool, days: i32) -> ServerResult<u64> {
    let deleted = sqlx::query("DELETE FROM stripe_events WHERE received_at < now() - make_interval(days => $1)")
        .bind(days)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000;

    #[test]
    fn any_v1_signature_from_any_configured_secret_is_accepted() {
        let payload = br#"{"id":"evt_1"}"#;
        let old = sign(payload, "whsec_old", NOW);
        let new = sign(payload, "whsec_new", NOW);
        let v1 = |header: &str| header.split_once(",v1=").unwrap().1.to_owned();
        // During a secret roll Stripe sends both; the one we know may come first or last.
        let rolled = format!("t={NOW},v1={},v1={}", v1(&old), v1(&new));
        assert_eq!(verify_signature(Some(&rolled), payload, &["whsec_old".into()], NOW), Ok(()));
        assert_eq!(verify_signature(Some(&rolled), payload, &["whsec_new".into()], NOW), Ok(()));
        assert_eq!(verify_signature(Some(&new), payload, &["whsec_old".into(), "whsec_new".into()], NOW + 299), Ok(()));
        // The tolerance is inclusive, as in Stripe's libraries: exactly 300 s either way is fresh.
        for now in [NOW + SIGNATURE_TOLERANCE_SECONDS, NOW - SIGNATURE_TOLERANCE_SECONDS] {
            assert_eq!(verify_signature(Some(&new), payload, &["whsec_new".into()], now), Ok(()), "{now}");
        }
        // Stripe's header as it comes, with a v0 (test-mode) signature after the v1 ones.
        let as_sent = format!("{rolled},v0={}", "6f".repeat(32));
        assert_eq!(verify_signature(Some(&as_sent), payload, &["whsec_new".into()], NOW), Ok(()));
    }

    #[test]
    fn forged_stale_tampered_and_malformed_signatures_are_refused() {
        let payload = br#"{"id":"evt_1"}"#;
        let secrets = ["whsec_test".to_owned()];
        let good = sign(payload, "whsec_test", NOW);
        assert_eq!(verify_signature(None, payload, &secrets, NOW), Err(SignatureError::Missing));
        assert_eq!(
            verify_signature(Some(&sign(payload, "whsec_wrong", NOW)), payload, &secrets, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_signature(Some(&good), br#"{"id":"evt_2"}"#, &secrets, NOW), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(Some(&good), payload, &secrets, NOW + 301), Err(SignatureError::Stale));
        assert_eq!(verify_signature(Some(&good), payload, &secrets, NOW - 301), Err(SignatureError::Stale));
        for bad in ["", "t=abc,v1=00", "v1=00", &format!("t={NOW}"), &format!("t={NOW},v1=zz"), "garbage"] {
            assert_eq!(verify_signature(Some(bad), payload, &secrets, NOW), Err(SignatureError::Malformed), "{bad:?}");
        }
        assert_eq!(
            verify_signature(Some(&good), payload, &[], NOW),
            Err(SignatureError::Mismatch),
            "no secret configured"
        );
        // Signatures are 32 bytes: a shorter or longer v1 is malformed, not a cheap guess.
        for bad in [format!("t={NOW},v1="), format!("t={NOW},v1=00"), format!("{good}00")] {
            assert_eq!(verify_signature(Some(&bad), payload, &secrets, NOW), Err(SignatureError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn timestamps_at_the_ends_of_i64_are_stale_not_a_panic() {
        let payload = br#"{"id":"evt_1"}"#;
        let v1 = sign(payload, "whsec_test", NOW).split_once(",v1=").unwrap().1.to_owned();
        for t in [i64::MIN, i64::MAX, -1] {
            let header = format!("t={t},v1={v1}");
            assert_eq!(
                verify_signature(Some(&header), payload, &["whsec_test".into()], NOW),
                Err(SignatureError::Stale),
                "{t}"
            );
        }
    }

    #[test]
    fn only_the_first_few_v1_values_are_checked() {
        let payload = br#"{"id":"evt_1"}"#;
        let secrets = ["whsec_test".to_owned()];
        let good = sign(payload, "whsec_test", NOW);
        let v1 = good.split_once(",v1=").unwrap().1;
        let junk = format!(",v1={}", "ab".repeat(32)).repeat(5000);
        // Stripe's own signature comes first: accepted, however much follows.
        assert_eq!(verify_signature(Some(&format!("{good}{junk}")), payload, &secrets, NOW), Ok(()));
        // Behind thousands of made-up ones it is never reached: no HMAC per entry.
        assert_eq!(
            verify_signature(Some(&format!("t={NOW}{junk},v1={v1}")), payload, &secrets, NOW),
            Err(SignatureError::Mismatch)
        );
    }
}
