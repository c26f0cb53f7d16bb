//! The Stripe webhook battery: signatures, duplicates (also concurrent), every pair of events in
//! both orders, unknown orders and amount mismatches. Each case asserts the final state and the
//! timeline, through the real router with our own Stripe-style signing.

use crate::common;

use artwall::order_status::OrderStatus;
use artwall::pricing::PrintOptions;
use artwall::server::http::visitor::VisitorId;
use artwall::server::shop::order_notes::OrderNote;
use artwall::server::shop::orders;
use artwall::server::shop::payments::webhook::sign;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

const SECRET: &str = "whsec_battery_of_tests";
/// The secret being rolled away from, still accepted.
const OLD_SECRET: &str = "whsec_old_secret_still_valid";

struct Shop {
    app: common::TestApp,
    db: PgPool,
    painting: i64,
}

impl Shop {
    async fn new(db: PgPool) -> Self {
        Self::with_secrets(db, &[OLD_SECRET, SECRET]).await
    }

    /// A shop whose webhook secrets are `secrets`, as `ARTWALL_STRIPE_WEBHOOK_SECRETS` lists them.
    async fn with_secrets(db: PgPool, secrets: &[&str]) -> Self {
        let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        let app = common::TestApp::with_config(db.clone(), |c| c.stripe_webhook_secrets = secrets).await;
        app.import_demo(1).await;
        let painting = sqlx::query_scalar("SELECT id FROM paintings").fetch_one(&db).await.unwrap();
        Self { app, db, painting }
    }

    /// A pending order with a Checkout Session, as checkout leaves it. Returns (order id, amount).
    async fn order(&self) -> (String, i64) {
        let visitor = VisitorId(Uuid::new_v4());
        let order =
            orders::open_for_checkout(&self.db, visitor, self.painting, PrintOptions::default(), 30).await.unwrap();
        let claim = orders::claim_session(&self.db, &order.id).await.unwrap();
        claim.attach(&format!("cs_{}", order.id), "https://pay.example/").await.unwrap();
        (order.id, order.amount_cents)
    }

    async fn deliver_raw(&self, body: Vec<u8>, signature: Option<String>) -> (StatusCode, String) {
        let mut request = Request::post("/api/webhooks/stripe").header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let (status, _, body) = self.app.send(request.body(Body::from(body)).unwrap()).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn deliver(&self, event: &Value) -> (StatusCode, String) {
        let body = serde_json::to_vec(event).unwrap();
        let signature = sign(&body, SECRET, now());
        self.deliver_raw(body, Some(signature)).await
    }

    async fn state(&self, order: &str) -> (OrderStatus, bool, i64) {
        let (status, flagged, refunded): (String, bool, i32) =
            sqlx::query_as("SELECT status, needs_attention, refunded_cents FROM orders WHERE id = $1")
                .bind(order)
                .fetch_one(&self.db)
                .await
                .unwrap();
        (status.parse().unwrap(), flagged, i64::from(refunded))
    }

    /// (from, to, note in English) rows, oldest first.
    async fn timeline(&self, order: &str) -> Vec<(Option<String>, String, Option<String>)> {
        let rows: Vec<(Option<String>, String, Option<Json<OrderNote>>)> =
            sqlx::query_as("SELECT from_status, to_status, detail FROM order_events WHERE order_id = $1 ORDER BY id")
                .bind(order)
                .fetch_all(&self.db)
                .await
                .unwrap();
        rows.into_iter().map(|(from, to, note)| (from, to, note.map(|Json(note)| note.in_english()))).collect()
    }

    async fn purchases(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM activities WHERE event_type = 'purchase'")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn event(kind: &str, object: Value) -> Value {
    json!({ "id": format!("evt_{}", Uuid::new_v4().simple()), "object": "event", "type": kind, "data": { "object": object } })
}

fn completed(order: &str, amount: i64) -> Value {
    event(
        "checkout.session.completed",
        json!({
            "id": format!("cs_{order}"), "object": "checkout.session", "amount_total": amount, "currency": "cny",
            "payment_status": "paid", "status": "complete", "payment_intent": format!("pi_{order}"), "metadata": { "orderId": order },
            "customer_details": { "name": "Li Wei", "phone": "+86 138 0000 0000" },
            "collected_information": { "shipping_details": { "name": "Li Wei", "address": { "line1": "1 Huaihai Road", "city": "Shanghai", "postal_code": "200000", "country": "CN" } } }
        }),
    )
}

fn expired(order: &str) -> Value {
    event(
        "checkout.session.expired",
        json!({ "id": format!("cs_{order}"), "object": "checkout.session", "status": "expired", "metadata": { "orderId": order } }),
    )
}

fn succeeded(order: &str, amount: i64) -> Value {
    event(
        "payment_intent.succeeded",
        json!({
            "id": format!("pi_{order}"), "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": "cny", "metadata": { "orderId": order },
            "shipping": { "name": "Li Wei", "phone": "+86 138 0000 0000", "address": { "line1": "1 Huaihai Road", "city": "Shanghai", "postal_code": "200000", "country": "CN" } }
        }),
    )
}

fn failed(order: &str) -> Value {
    event(
        "payment_intent.payment_failed",
        json!({ "id": format!("pi_{order}"), "object": "payment_intent", "last_payment_error": { "message": "Your card was declined." }, "metadata": { "orderId": order } }),
    )
}

fn refunded(order: &str, amount: i64, refunded: i64) -> Value {
    refunded_in(order, amount, refunded, "cny")
}

fn refunded_in(order: &str, amount: i64, refunded: i64, currency: &str) -> Value {
    event(
        "charge.refunded",
        json!({ "id": format!("ch_{order}"), "object": "charge", "amount": amount, "amount_refunded": refunded, "currency": currency, "refunded": refunded == amount, "payment_intent": format!("pi_{order}"), "metadata": { "orderId": order } }),
    )
}

/// A session completed with a delayed payment method: `payment_status` is not yet `paid`.
fn completed_unpaid(order: &str, amount: i64) -> Value {
    let mut event = completed(order, amount);
    event["data"]["object"]["payment_status"] = json!("unpaid");
    event
}

fn async_payment(order: &str, amount: i64, outcome: &str) -> Value {
    let mut event = completed(order, amount);
    event["type"] = json!(format!("checkout.session.async_payment_{outcome}"));
    event
}

/// Every row of the timeline is a move the machine allows, or a note at the same status.
fn assert_never_backwards(timeline: &[(Option<String>, String, Option<String>)]) {
    for (from, to, note) in timeline.iter().skip(1) {
        let from: OrderStatus = from.as_deref().unwrap().parse().unwrap();
        let to: OrderStatus = to.parse().unwrap();
        assert!(from == to || from.can_move_to(to), "{from:?} -> {to:?} ({note:?})");
    }
}

#[sqlx::test]
async fn bad_signatures_and_bodies_are_refused_and_change_nothing(db: PgPool) {
    let shop = Shop::new(db).await;
    let (order, amount) = shop.order().await;
    let body = serde_json::to_vec(&completed(&order, amount)).unwrap();
    let cases = [
        ("missing header", None),
        ("wrong secret", Some(sign(&body, "whsec_wrong", now()))),
        // Ten seconds past the tolerance each way: the server reads its clock a moment after the test.
        ("stale timestamp", Some(sign(&body, SECRET, now() - 310))),
        ("future timestamp", Some(sign(&body, SECRET, now() + 310))),
        ("tampered body", Some(sign(&serde_json::to_vec(&completed(&order, 1)).unwrap(), SECRET, now()))),
        ("malformed header", Some("v1=deadbeef".to_owned())),
    ];
    for (name, signature) in cases {
        let (status, answer) = shop.deliver_raw(body.clone(), signature).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {answer}");
    }
    let not_json = b"{not json".to_vec();
    let (status, answer) = shop.deliver_raw(not_json.clone(), Some(sign(&not_json, SECRET, now()))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer.contains("not a Stripe event"), "{answer}");

    assert_eq!(shop.state(&order).await, (OrderStatus::Pending, false, 0));
    assert_eq!(shop.timeline(&order).await.len(), 1, "only 'order placed'");
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_events").fetch_one(&shop.db).await.unwrap();
    assert_eq!(recorded, 0);

    // The old secret of a roll still verifies.
    let signature = sign(&body, OLD_SECRET, now());
    let (status, _) = shop.deliver_raw(body, Some(signature)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shop.state(&order).await.0, OrderStatus::Paid);
}

#[sqlx::test]
async fn a_completed_session_pays_the_order_once_even_when_delivered_twice_at_once(db: PgPool) {
    let shop = Shop::new(db).await;
    let (order, amount) = shop.order().await;
    let event = completed(&order, amount);
    let (first, second) = tokio::join!(shop.deliver(&event), shop.deliver(&event));
    assert_eq!((first.0, second.0), (StatusCode::OK, StatusCode::OK));
    assert!(first.1.contains("duplicate") ^ second.1.contains("duplicate"), "{first:?} {second:?}");
    let (status, _) = shop.deliver(&event).await;
    assert_eq!(status, StatusCode::OK);

    assert_eq!(shop.state(&order).await, (OrderStatus::Paid, false, 0));
    let timeline = shop.timeline(&order).await;
    assert_eq!(timeline.iter().filter(|(_, to, _)| to == "paid").count(), 1, "{timeline:?}");
    assert_eq!(shop.purchases().await, 1, "one purchase activity (weight +1.0)");
    let (name, phone, address, intent): (String, String, String, String) =
        sqlx::query_as("SELECT shipping_name, shipping_phone, shipping_address->>'text', stripe_payment_intent FROM orders WHERE id = $1")
            .bind(&order)
            .fetch_one(&shop.db)
            .await
            .unwrap();
    assert_eq!((name.as_str(), phone.as_str()), ("Li Wei", "+86 138 0000 0000"));
    assert_eq!(address, "1 Huaihai Road, Shanghai, 200000, CN");
    assert_eq!(intent, format!("pi_{order}"));
}

#[sqlx::test]
async fn every_pair_of_events_in_both_orders_ends_in_one_correct_state(db: PgPool) {
    let shop = Shop::new(db).await;
    // C completed, E expired, S payment succeeded, F payment failed, R refunded in full.
    let expected = [
        ("CE", OrderStatus::Paid, false),
        ("EC", OrderStatus::Paid, true),
        ("CS", OrderStatus::Paid, false),
        ("SC", OrderStatus::Paid, false),
        ("CF", OrderStatus::Paid, false),
        ("FC", OrderStatus::Paid, false),
        ("CR", OrderStatus::Refunded, false),
        ("RC", OrderStatus::Paid, true),
        ("ES", OrderStatus::Paid, true),
        ("SE", OrderStatus::Paid, false),
        ("EF", OrderStatus::Expired, false),
        ("FE", OrderStatus::Expired, false),
        ("ER", OrderStatus::Expired, true),
        ("RE", OrderStatus::Expired, true),
        ("SF", OrderStatus::Paid, false),
        ("FS", OrderStatus::Paid, false),
        ("SR", OrderStatus::Refunded, false),
        ("RS", OrderStatus::Paid, true),
        ("FR", OrderStatus::Pending, true),
        ("RF", OrderStatus::Pending, true),
    ];
    for (pair, status, flagged) in expected {
        let (order, amount) = shop.order().await;
        for letter in pair.chars() {
            let event = match letter {
                'C' => completed(&order, amount),
                'E' => expired(&order),
                'S' => succeeded(&order, amount),
                'F' => failed(&order),
                _ => refunded(&order, amount, amount),
            };
            let (code, answer) = shop.deliver(&event).await;
            assert_eq!(code, StatusCode::OK, "{pair}: {answer}");
        }
        let (got, got_flag, _) = shop.state(&order).await;
        assert_eq!((got, got_flag), (status, flagged), "{pair}");
        let timeline = shop.timeline(&order).await;
        assert_never_backwards(&timeline);
        let moves_to_paid =
            timeline.iter().filter(|(from, to, _)| to == "paid" && from.as_deref() != Some("paid")).count();
        assert!(moves_to_paid <= 1, "{pair}: paid at most once: {timeline:?}");
        // Whichever of the session and the intent lands first brings the address with it.
        let address: Option<String> = sqlx::query_scalar("SELECT shipping_address->>'text' FROM orders WHERE id = $1")
            .bind(&order)
            .fetch_one(&shop.db)
            .await
            .unwrap();
        let brought_address = pair.contains('C') || pair.contains('S');
        assert_eq!(address.as_deref(), brought_address.then_some("1 Huaihai Road, Shanghai, 200000, CN"), "{pair}");
        if pair.contains('F') {
            assert!(
                timeline.iter().any(|(_, _, note)| note.as_deref().is_some_and(|n| n.contains("card was declined"))),
                "{pair}: failure on the timeline"
            );
        }
    }
}

#[sqlx::test]
async fn unknown_orders_mismatched_amounts_and_refunds_are_handled_visibly(db: PgPool) {
    let shop = Shop::new(db).await;
    let (order, amount) = shop.order().await;

    // A session for an order we never made: acknowledged, nothing changes.
    let (status, answer) = shop.deliver(&completed("order_doesnotexist", amount)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("no matching order"), "{answer}");
    assert_eq!(shop.state(&order).await, (OrderStatus::Pending, false, 0));

    // Paid the wrong amount: flagged, never silently accepted.
    let (status, answer) = shop.deliver(&completed(&order, amount - 100)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("amount mismatch"), "{answer}");
    assert_eq!(shop.state(&order).await, (OrderStatus::Pending, true, 0));
    assert!(shop
        .timeline(&order)
        .await
        .iter()
        .any(|(_, _, note)| note.as_deref().is_some_and(|n| n.contains("amount mismatch"))));
    assert_eq!(shop.purchases().await, 0);

    // Unknown event types are acknowledged and ignored.
    let (status, answer) = shop.deliver(&event("customer.created", json!({ "id": "cus_1" }))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("ignored"));

    // Partial, then full, then a late repeat: refunded once, never un-refunded.
    let (order, amount) = shop.order().await;
    shop.deliver(&completed(&order, amount)).await;
    shop.deliver(&refunded(&order, amount, 5_000)).await;
    assert_eq!(shop.state(&order).await, (OrderStatus::Paid, false, 5_000));
    shop.deliver(&refunded(&order, amount, amount)).await;
    assert_eq!(shop.state(&order).await, (OrderStatus::Refunded, false, amount));
    shop.deliver(&refunded(&order, amount, 5_000)).await;
    shop.deliver(&completed(&order, amount)).await;
    assert_eq!(shop.state(&order).await, (OrderStatus::Refunded, false, amount));
    let timeline = shop.timeline(&order).await;
    assert_never_backwards(&timeline);
    assert!(timeline.iter().any(|(_, _, note)| note.as_deref().is_some_and(|n| n.contains("partial refund"))));
}

#[sqlx::test]
async fn an_empty_secret_entry_signs_nothing(db: PgPool) {
    // `ARTWALL_STRIPE_WEBHOOK_SECRETS="whsec_...,"`: the trailing comma is an empty entry.
    let shop = Shop::with_secrets(db, &[SECRET, ""]).await;
    let (order, amount) = shop.order().await;
    let body = serde_json::to_vec(&completed(&order, amount)).unwrap();
    let (status, answer) = shop.deliver_raw(body.clone(), Some(sign(&body, "", now()))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(shop.state(&order).await, (OrderStatus::Pending, false, 0));
    let (status, _) = shop.deliver_raw(body.clone(), Some(sign(&body, SECRET, now()))).await;
    assert_eq!(status, StatusCode::OK, "the real secret still works");
}

#[test]
fn payments_refuse_to_start_with_a_short_webhook_secret() {
    use artwall::server::shop::payments::{Payments, MIN_WEBHOOK_SECRET_CHARS};
    let config = |key: Option<&str>, secrets: &[&str]| {
        let mut config = common::config(std::path::Path::new("/nonexistent"));
        config.stripe_secret_key = key.map(str::to_owned);
        config.stripe_webhook_secrets = secrets.iter().map(|s| s.to_string()).collect();
        config
    };
    let long = "whsec_".to_owned() + &"x".repeat(MIN_WEBHOOK_SECRET_CHARS);
    let short = "whsec_short";
    assert!(
        Payments::from_config(&config(Some("sk_test_x"), &[&long, short])).is_err(),
        "a short secret with payments on"
    );
    let payments = Payments::from_config(&config(Some("sk_test_x"), &[&long, "", " "])).unwrap();
    assert_eq!(payments.webhook_secrets(), std::slice::from_ref(&long), "empty entries are dropped");
    assert!(Payments::from_config(&config(None, &[short])).is_err(), "the webhook route is live without a key too");
    assert!(Payments::from_config(&config(None, &[&long])).is_ok());
}

#[sqlx::test]
async fn hostile_signature_headers_are_400s(db: PgPool) {
    let shop = Shop::new(db).await;
    let (order, amount) = shop.order().await;
    let body = serde_json::to_vec(&completed(&order, amount)).unwrap();
    let v1 = sign(&body, SECRET, now()).split_once(",v1=").unwrap().1.to_owned();
    let big_body = vec![b' '; 250 * 1024];
    let many = format!("t={}{}", now(), format!(",v1={}", "ab".repeat(32)).repeat(5000));
    let cases = [
        ("the smallest i64 as timestamp", body.clone(), format!("t={},v1={v1}", i64::MIN)),
        ("the largest i64 as timestamp", body.clone(), format!("t={},v1={v1}", i64::MAX)),
        ("5,000 made-up v1 over 250 KB", big_body, many),
        ("an empty v1", body.clone(), format!("t={},v1=", now())),
    ];
    for (name, body, signature) in cases {
        let (status, answer) = shop.deliver_raw(body, Some(signature)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {answer}");
    }
    assert_eq!(shop.state(&order).await, (OrderStatus::Pending, false, 0));
}

#[sqlx::test]
async fn a_refund_larger_than_what_was_paid_or_in_another_currency_is_flagged_not_clamped(db: PgPool) {
    let shop = Shop::new(db).await;
    type Report = fn(&str, i64) -> Value;
    let reports: [(&str, Report); 3] = [
        ("more than was paid", |order, amount| refunded(order, amount, amount + 1)),
        ("another currency", |order, amount| refunded_in(order, amount, 5_000, "usd")),
        ("a negative amount", |order, amount| refunded(order, amount, -1)),
    ];
    for (what, report) in reports {
        let (order, amount) = shop.order().await;
        shop.deliver(&completed(&order, amount)).await;
        let (status, answer) = shop.deliver(&report(&order, amount)).await;
        assert_eq!(status, StatusCode::OK, "{what}: {answer}");
        assert_eq!(shop.state(&order).await, (OrderStatus::Paid, true, 0), "{what}: flagged, nothing recorded");
        assert!(
            shop.timeline(&order)
                .await
                .iter()
                .any(|(_, _, note)| note.as_deref().is_some_and(|n| n.contains("does not fit"))),
            "{what}"
        );
    }
}

#[sqlx::test]
async fn a_completed_but_unpaid_session_waits_for_its_delayed_payment(db: PgPool) {
    let shop = Shop::new(db).await;
    let (order, amount) = shop.order().await;
    let (status, answer) = shop.deliver(&completed_unpaid(&order, amount)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(shop.state(&order).await.0, OrderStatus::Pending, "not paid yet: {answer}");
    assert_eq!(shop.purchases().await, 0);
    shop.deliver(&async_payment(&order, amount, "succeeded")).await;
    assert_eq!(shop.state(&order).await, (OrderStatus::Paid, false, 0));
    assert_eq!(shop.purchases().await, 1);

    // A delayed payment that fails leaves the order unpaid, with a note in its timeline.
    let (order, amount) = shop.order().await;
    shop.deliver(&completed_unpaid(&order, amount)).await;
    shop.deliver(&async_payment(&order, amount, "failed")).await;
    assert_eq!(shop.state(&order).await.0, OrderStatus::Pending);
    assert!(shop
        .timeline(&order)
        .await
        .iter()
        .any(|(_, _, note)| note.as_deref().is_some_and(|n| n.contains("delayed payment failed"))));
}
