//! Orders in the database, and the one owner of the `orders` and `order_events` tables: every
//! write to them is a function here, taking the caller's connection so that callers keep their
//! transactions. Every status change goes through `transition`, which locks the row, asks the
//! state machine (`crate::order_status`) and writes the timeline row.

use jiff::tz::TimeZone;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::error::AppError;
use crate::i18n::Locale;
use crate::order_status::OrderStatus;
use crate::pricing::{PrintOptions, CURRENCY};
use crate::server::discovery::paintings::{CardRow, CARD_COLUMNS};
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::locale::{message, reader_locale};
use crate::server::http::visitor::VisitorId;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::shop::order_notes::OrderNote;
use crate::types::{LocalTime, OrderView, PaintingCard, ShippingAddress, TimelineEntry};

/// Who moved an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    Shopper,
    Stripe,
    Admin(&'a str),
    System,
}

impl Actor<'_> {
    fn kind(self) -> &'static str {
        match self {
            Self::Shopper => "shopper",
            Self::Stripe => "stripe",
            Self::Admin(_) => "admin",
            Self::System => "system",
        }
    }
}

/// What `transition` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    Yes {
        from: OrderStatus,
    },
    /// The machine does not allow it from the current status; nothing changed.
    Refused {
        current: OrderStatus,
    },
}

/// A new order id: `order_` and 32 random hex digits.
pub fn new_order_id() -> String {
    format!("order_{}", Uuid::new_v4().simple())
}

/// An order id as a shopper or an admin hands it back. Anything not shaped like one names no
/// order, so it is "not found" before it reaches the database (which refuses a NUL with an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let suffix = text.strip_prefix("order_").ok_or(AppError::NotFound)?;
        if suffix.is_empty() || suffix.len() > 64 || !suffix.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AppError::NotFound);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The order's current status, locked until the transaction ends.
pub async fn lock(tx: &mut PgConnection, order_id: &str) -> ServerResult<Option<OrderStatus>> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1 FOR UPDATE")
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(status.map(|s| s.parse().expect("the CHECK constraint keeps statuses known")))
}

/// Moves the order to `to` if the machine allows it, stamping the matching timestamp and
/// writing the timeline row.
pub async fn transition(
    tx: &mut PgConnection,
    order_id: &str,
    to: OrderStatus,
    actor: Actor<'_>,
    note: Option<&OrderNote>,
) -> ServerResult<Moved> {
    let current = lock(tx, order_id).await?.ok_or(AppError::NotFound)?;
    if !current.can_move_to(to) {
        return Ok(Moved::Refused { current });
    }
    let stamp = match to {
        OrderStatus::Paid => ", paid_at = coalesce(paid_at, now())",
        OrderStatus::Shipped => ", shipped_at = now()",
        OrderStatus::Delivered => ", delivered_at = now()",
        OrderStatus::Completed => ", completed_at = now()",
        _ => "",
    };
    sqlx::query(&format!("UPDATE orders SET status = $2, updated_at = now(){stamp} WHERE id = $1"))
        .bind(order_id)
        .bind(to.code())
        .execute(&mut *tx)
        .await?;
    timeline(tx, order_id, Some(current), to, actor, note).await?;
    Ok(Moved::Yes { from: current })
}

/// A timeline row; with `from == to` it records a fact (a partial refund, a flag) without a move.
pub async fn timeline(
    tx: &mut PgConnection,
    order_id: &str,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: Actor<'_>,
    note: Option<&OrderNote>,
) -> ServerResult<()> {
    let actor_id = match actor {
        Actor::Admin(id) => Some(id),
        _ => None,
    };
    // The English text too: what an older version (mid-deploy) shows, and the fallback for a kind
    // this version does not know.
    sqlx::query("INSERT INTO order_events (order_id, from_status, to_status, actor, actor_id, note, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(order_id)
        .bind(from.map(OrderStatus::code))
        .bind(to.code())
        .bind(actor.kind())
        .bind(actor_id)
        .bind(note.map(OrderNote::in_english))
        .bind(note.map(Json))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records a fact on the timeline at the current status, and optionally flags the order.
pub async fn note(
    tx: &mut PgConnection,
    order_id: &str,
    actor: Actor<'_>,
    note: &OrderNote,
    flag: bool,
) -> ServerResult<()> {
    let current = lock(tx, order_id).await?.ok_or(AppError::NotFound)?;
    if flag {
        flag_for_attention(tx, order_id).await?;
    }
    timeline(tx, order_id, Some(current), current, actor, Some(note)).await
}

/// Puts the order on the admin's needs-attention list.
pub async fn flag_for_attention(tx: &mut PgConnection, order_id: &str) -> ServerResult<()> {
    sqlx::query("UPDATE orders SET needs_attention = true, updated_at = now() WHERE id = $1")
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Where to ship, as the shopper typed it (the caller checks that the status still allows it).
pub async fn set_shipping_address(
    tx: &mut PgConnection,
    order_id: &str,
    address: &ShippingAddress,
) -> ServerResult<()> {
    sqlx::query(
        "UPDATE orders SET shipping_name = $2, shipping_phone = $3,
         shipping_address = jsonb_build_object('text', $4::text), updated_at = now() WHERE id = $1",
    )
    .bind(order_id)
    .bind(&address.name)
    .bind(&address.phone)
    .bind(&address.address)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Where to ship, as Stripe collected it, unless an address is stored already: checkout puts it
/// on both the session and its PaymentIntent, and either webhook may arrive first.
pub async fn record_stripe_shipping(
    tx: &mut PgConnection,
    order_id: &str,
    name: Option<&str>,
    phone: Option<&str>,
    address: serde_json::Value,
) -> ServerResult<()> {
    sqlx::query(
        "UPDATE orders SET shipping_name = coalesce(shipping_name, left($2, 200)), shipping_phone = coalesce(shipping_phone, left($3, 40)),
         shipping_address = coalesce(shipping_address, $4) WHERE id = $1",
    )
    .bind(order_id)
    .bind(name)
    .bind(phone)
    .bind(address)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The PaymentIntent that paid the order; the first one reported stays.
pub async fn record_payment_intent(tx: &mut PgConnection, order_id: &str, intent: &str) -> ServerResult<()> {
    sqlx::query("UPDATE orders SET stripe_payment_intent = coalesce(stripe_payment_intent, $2) WHERE id = $1")
        .bind(order_id)
        .bind(intent)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The total refunded so far, as Stripe reports it.
pub async fn record_refund(tx: &mut PgConnection, order_id: &str, refunded_cents: i32) -> ServerResult<()> {
    sqlx::query("UPDATE orders SET refunded_cents = $2, updated_at = now() WHERE id = $1")
        .bind(order_id)
        .bind(refunded_cents)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The carrier's tracking number, given when an admin ships the order.
pub async fn set_tracking_number(tx: &mut PgConnection, order_id: &str, tracking: &str) -> ServerResult<()> {
    sqlx::query("UPDATE orders SET tracking_number = $2 WHERE id = $1")
        .bind(order_id)
        .bind(tracking)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// An open order for the shopper's Buy click.
/// Checkouts one visitor may have open at once (each is a Stripe Checkout Session).
pub const MAX_OPEN_ORDERS: i64 = 5;

pub struct OpenOrder {
    pub id: String,
    pub amount_cents: i64,
    pub session_url: Option<String>,
    /// When it was placed, in Unix seconds: what its Checkout Session's expiry counts from, so a
    /// retry asks Stripe for exactly the same session.
    pub placed_at: i64,
}

/// Returns the visitor's open order for exactly this print (a double click, a second tab), or
/// creates one, unless they have `MAX_OPEN_ORDERS` open already. The advisory lock (one per
/// visitor) makes simultaneous clicks agree on one order and keeps the count honest.
pub async fn open_for_checkout(
    db: &PgPool,
    visitor: VisitorId,
    painting_id: i64,
    options: PrintOptions,
    ttl_minutes: i64,
) -> ServerResult<OpenOrder> {
    let mut tx = db.begin_cancel_safe().await?;
    let guard = format!("checkout:{}", visitor.0);
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(&guard).execute(&mut *tx).await?;
    let published: Option<bool> = sqlx::query_scalar("SELECT published FROM paintings WHERE id = $1")
        .bind(painting_id)
        .fetch_optional(&mut *tx)
        .await?;
    if published != Some(true) {
        return Err(AppError::NotFound.into());
    }
    let existing = sqlx::query(
        "SELECT id, amount_cents, stripe_session_url, extract(epoch FROM created_at)::bigint AS placed_at FROM orders
         WHERE visitor_id = $1 AND painting_id = $2 AND size = $3 AND material = $4 AND frame = $5
           AND status = 'pending' AND NOT needs_attention AND expires_at > now() + interval '2 minutes'
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(visitor.0)
    .bind(painting_id)
    .bind(options.size.code())
    .bind(options.material.code())
    .bind(options.frame.code())
    .fetch_optional(&mut *tx)
    .await?;
    let order = match existing {
        Some(row) => OpenOrder {
            id: row.get("id"),
            amount_cents: i64::from(row.get::<i32, _>("amount_cents")),
            session_url: row.get("stripe_session_url"),
            placed_at: row.get("placed_at"),
        },
        None => {
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM orders WHERE visitor_id = $1 AND status = 'pending' AND expires_at > now()",
            )
            .bind(visitor.0)
            .fetch_one(&mut *tx)
            .await?;
            if open >= MAX_OPEN_ORDERS {
                return Err(AppError::invalid(message!(checkout.too_many_open, max = MAX_OPEN_ORDERS)).into());
            }
            let id = new_order_id();
            let amount_cents = options.amount_cents();
            let placed_at: i64 = sqlx::query_scalar(
                "INSERT INTO orders (id, visitor_id, painting_id, size, material, frame, amount_cents, currency, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(mins => $9::int))
                 RETURNING extract(epoch FROM created_at)::bigint",
            )
            .bind(&id)
            .bind(visitor.0)
            .bind(painting_id)
            .bind(options.size.code())
            .bind(options.material.code())
            .bind(options.frame.code())
            .bind(i32::try_from(amount_cents).expect("prices fit in INT"))
            .bind(CURRENCY)
            .bind(ttl_minutes as i32)
            .fetch_one(&mut *tx)
            .await?;
            timeline(&mut tx, &id, None, OrderStatus::Pending, Actor::Shopper, Some(&OrderNote::Placed)).await?;
            OpenOrder { id, amount_cents, session_url: None, placed_at }
        }
    };
    tx.commit().await?;
    Ok(order)
}

/// The right to create an order's Checkout Session: a lock on its row, held until `attach` or
/// `fail` ends it (or the claim is dropped, which changes nothing). A second click on Buy waits
/// here while the first talks to Stripe, then finds the session the first one made.
pub struct SessionClaim {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    order_id: String,
    /// The session a claim before this one attached.
    pub session_url: Option<String>,
}

/// Claims a pending order; one that stopped being payable meanwhile (the click before failed
/// it) is refused, and the shopper's next try places a new one.
pub async fn claim_session(db: &PgPool, order_id: &str) -> ServerResult<SessionClaim> {
    let mut tx = db.begin_cancel_safe().await?;
    let (status, session_url): (String, Option<String>) =
        sqlx::query_as("SELECT status, stripe_session_url FROM orders WHERE id = $1 FOR UPDATE")
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await?;
    if status != OrderStatus::Pending.code() {
        return Err(ServerError::Payment(format!("order {order_id} became {status} while a checkout waited for it")));
    }
    Ok(SessionClaim { tx, order_id: order_id.to_owned(), session_url })
}

impl SessionClaim {
    pub async fn attach(mut self, session_id: &str, url: &str) -> ServerResult<()> {
        sqlx::query(
            "UPDATE orders SET stripe_session_id = $2, stripe_session_url = $3, updated_at = now() WHERE id = $1",
        )
        .bind(&self.order_id)
        .bind(session_id)
        .bind(url)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Stripe refused or was unreachable: the order cannot be paid any more.
    pub async fn fail(mut self) -> ServerResult<()> {
        let reason = OrderNote::CheckoutNotStarted;
        sqlx::query("UPDATE orders SET failure_reason = $2 WHERE id = $1")
            .bind(&self.order_id)
            .bind(reason.in_english())
            .execute(&mut *self.tx)
            .await?;
        transition(&mut self.tx, &self.order_id, OrderStatus::Failed, Actor::System, Some(&reason)).await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// Checkouts started (a Checkout Session made for the order) and moves into paid, failed and
/// expired, over the shop's life: every move is in the timeline.
pub async fn checkout_counts(db: &PgPool) -> ServerResult<[(&'static str, i64); 4]> {
    let (started, paid, failed, expired): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders WHERE stripe_session_id IS NOT NULL),
                count(*) FILTER (WHERE to_status = 'paid'), count(*) FILTER (WHERE to_status = 'failed'),
                count(*) FILTER (WHERE to_status = 'expired')
         FROM order_events WHERE to_status IN ('paid', 'failed', 'expired') AND from_status IS DISTINCT FROM to_status",
    )
    .fetch_one(db)
    .await?;
    Ok([("started", started), ("paid", paid), ("failed", failed), ("expired", expired)])
}

/// Order jobs tried to reconcile the order with Stripe and could not: it goes to the back of
/// the queue.
pub async fn reconcile_attempted(db: &PgPool, order_id: &str) -> ServerResult<()> {
    sqlx::query("UPDATE orders SET reconcile_attempted_at = now() WHERE id = $1").bind(order_id).execute(db).await?;
    Ok(())
}

/// The order's own columns (its id as `order_id`) and its painting's card columns.
fn order_columns() -> String {
    format!(
        "o.id AS order_id, o.size, o.material, o.frame, o.amount_cents, o.currency, o.status, o.refunded_cents,
         o.tracking_number, o.shipping_name, o.shipping_phone, o.shipping_address->>'text' AS shipping_text, o.needs_attention,
         o.created_at AS created, {CARD_COLUMNS}"
    )
}

/// Times are shown in `zone`.
fn order_from_row(row: &PgRow, zone: &TimeZone) -> OrderView {
    let options = PrintOptions::parse(row.get("size"), row.get("material"), row.get("frame"))
        .expect("CHECK constraints keep options known");
    let shipping = row.get::<Option<String>, _>("shipping_name").map(|name| ShippingAddress {
        name,
        phone: row.get::<Option<String>, _>("shipping_phone").unwrap_or_default(),
        address: row.get::<Option<String>, _>("shipping_text").unwrap_or_default(),
    });
    OrderView {
        id: row.get("order_id"),
        painting: PaintingCard::from(CardRow::from_row(row).expect("the card columns are selected")),
        options,
        amount_cents: i64::from(row.get::<i32, _>("amount_cents")),
        currency: row.get("currency"),
        status: row.get::<String, _>("status").parse().expect("CHECK constraint"),
        refunded_cents: i64::from(row.get::<i32, _>("refunded_cents")),
        tracking_number: row.get("tracking_number"),
        shipping,
        needs_attention: row.get("needs_attention"),
        created_at: LocalTime::new(row.get("created"), zone),
        timeline: Vec::new(),
    }
}

/// The timeline as the shopper (`for_shopper`) or the shop's staff read it.
async fn load_timeline(
    db: &PgPool,
    order_id: &str,
    zone: &TimeZone,
    for_shopper: bool,
) -> ServerResult<Vec<TimelineEntry>> {
    let rows = sqlx::query(
        "SELECT from_status, to_status, actor, actor_id, note, detail, created_at
         FROM order_events WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(db)
    .await?;
    let locale = reader_locale();
    Ok(rows
        .iter()
        .map(|row| TimelineEntry {
            from: row.get::<Option<String>, _>("from_status").and_then(|s| s.parse().ok()),
            to: row.get::<String, _>("to_status").parse().expect("written by transition"),
            actor: row.get("actor"),
            actor_id: row.get("actor_id"),
            note: written_note(row, locale, for_shopper),
            at: LocalTime::new(row.get("created_at"), zone),
        })
        .collect())
}

/// A timeline row's note in the reader's language. Rows from before notes were typed keep their
/// English text, shown to the staff only (it may be meant for them). A kind this version does not
/// know (written by a newer instance mid-deploy) falls back to that English text too.
fn written_note(row: &PgRow, locale: Locale, for_shopper: bool) -> Option<String> {
    match row.try_get::<Option<Json<OrderNote>>, _>("detail") {
        Ok(Some(Json(note))) if for_shopper => note.for_shopper(locale),
        Ok(Some(Json(note))) => Some(note.text(locale)),
        Ok(None) | Err(_) if for_shopper => None,
        Ok(None) => row.get("note"),
        Err(error) => {
            tracing::warn!(%error, "a timeline note of a kind this version does not know");
            row.get("note")
        }
    }
}

/// One order with its timeline. `owner` limits it to that visitor: anyone else's order is
/// "not found", so ids are never confirmed. Times are shown in `zone`.
pub async fn view(
    db: &PgPool,
    order_id: &OrderId,
    owner: Option<VisitorId>,
    zone: &TimeZone,
) -> ServerResult<OrderView> {
    let order_id = order_id.as_str();
    let row = sqlx::query(&format!(
        "SELECT {} FROM orders o JOIN paintings p ON p.id = o.painting_id WHERE o.id = $1 AND ($2::uuid IS NULL OR o.visitor_id = $2)",
        order_columns()
    ))
    .bind(order_id)
    .bind(owner.map(|v| v.0))
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut order = order_from_row(&row, zone);
    order.timeline = load_timeline(db, order_id, zone, owner.is_some()).await?;
    Ok(order)
}

/// The visitor's orders, newest first (without timelines).
pub async fn for_visitor(db: &PgPool, visitor: VisitorId, zone: &TimeZone) -> ServerResult<Vec<OrderView>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM orders o JOIN paintings p ON p.id = o.painting_id WHERE o.visitor_id = $1 ORDER BY o.created_at DESC LIMIT 200",
        order_columns()
    ))
    .bind(visitor.0)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(|row| order_from_row(row, zone)).collect())
}

/// All orders for the admin, newest first, optionally one status only, with counts per status.
pub async fn for_admin(
    db: &PgPool,
    status: Option<OrderStatus>,
    limit: i64,
    zone: &TimeZone,
) -> ServerResult<(Vec<OrderView>, Vec<(OrderStatus, i64)>)> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM orders o JOIN paintings p ON p.id = o.painting_id
         WHERE ($1::text IS NULL OR o.status = $1) ORDER BY o.created_at DESC LIMIT $2",
        order_columns()
    ))
    .bind(status.map(OrderStatus::code))
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok((rows.iter().map(|row| order_from_row(row, zone)).collect(), status_counts(db).await?))
}

/// How many orders are in each status, every status listed.
pub async fn status_counts(db: &PgPool) -> ServerResult<Vec<(OrderStatus, i64)>> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM orders GROUP BY status").fetch_all(db).await?;
    Ok(OrderStatus::ALL
        .into_iter()
        .map(|s| (s, counts.iter().find(|(code, _)| code == s.code()).map_or(0, |(_, n)| *n)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_id_is_order_and_1_to_64_letters_or_digits() {
        let made = new_order_id();
        assert_eq!(OrderId::parse(&made).unwrap().as_str(), made);
        let longest = format!("order_{}", "a1".repeat(32));
        assert_eq!(OrderId::parse(&longest).unwrap().as_str(), longest);
        let too_long = format!("{longest}b");
        for text in
            ["", "order_", "order", "payment_abc", "Order_abc", "order_a-b", "order_abc\0", "order_é", &too_long]
        {
            assert!(matches!(OrderId::parse(text), Err(AppError::NotFound)), "{text:?} is not an order id");
        }
    }
}
