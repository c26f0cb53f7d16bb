//! Checkout end to end at the HTTP level: the real async-stripe client against localstripe with
//! our harness (scripts/stripe_harness.py), the app served on a real port so the harness's
//! signed webhooks reach it. Also: the double-click guard, Stripe being down, refunds,
//! reconciliation, and that nobody reads another visitor's order.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use artwall::order_status::OrderStatus;
use artwall::server::infra::db::BeginCancelSafe;
use artwall::server::shop::{fulfilment, order_jobs, orders::OrderId};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use uuid::Uuid;

const SECRET: &str = "whsec_harness_checkout";

/// localstripe + harness on a loopback port it chooses, sending webhooks to `webhook_url`.
struct LocalStripe {
    child: Child,
    base: String,
}

impl LocalStripe {
    fn start(webhook_url: &str) -> Self {
        Self::start_with_delay(webhook_url, 0.0)
    }

    /// A harness that takes `seconds` to create each Checkout Session.
    fn start_with_delay(webhook_url: &str, seconds: f64) -> Self {
        let venv = std::env::var("ARTWALL_VENV").expect("ARTWALL_VENV (run `make test`)");
        let mut child = Command::new(format!("{venv}/bin/python"))
            .args([common::repo().join("scripts/stripe_harness.py").to_str().unwrap(), "--port", "0"])
            .env("ARTWALL_HARNESS_WEBHOOK_URL", webhook_url)
            .env("ARTWALL_HARNESS_WEBHOOK_SECRET", SECRET)
            .env("ARTWALL_HARNESS_CREATE_DELAY_SECONDS", seconds.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the Stripe harness starts");
        // Its first line is the port it bound; the rest is drained so the pipe never fills.
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut first_line).unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        // Printed once the socket listens: requests from here on wait in its backlog.
        let port: u16 = first_line.trim().parse().expect("the Stripe harness prints its port");
        Self { child, base: format!("http://127.0.0.1:{port}/") }
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app's loopback listener, bound (and held) before the harness learns its webhook URL, so
/// nothing else can take the port in between.
async fn app_listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook_url = format!("http://{}/api/webhooks/stripe", listener.local_addr().unwrap());
    (listener, webhook_url)
}

/// The app on `listener` (webhooks come in over HTTP) with Stripe pointed at `stripe_base`.
async fn serve(db: PgPool, stripe_base: &str, listener: tokio::net::TcpListener) -> common::TestApp {
    let base = stripe_base.to_owned();
    let app = common::TestApp::with_config(db.clone(), move |c| {
        c.stripe_secret_key = Some("sk_test_artwall".into());
        c.stripe_api_base = Some(base.parse().unwrap());
        c.stripe_webhook_secrets = vec![SECRET.into()];
    })
    .await;
    tokio::spawn(std::future::IntoFuture::into_future(axum::serve(listener, app.router())));
    app.import_demo(1).await;
    app
}

async fn painting(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT id FROM paintings").fetch_one(db).await.unwrap()
}

/// A shopper buys `painting` and its webhook never comes: the order's window has passed.
async fn bought_and_overdue(app: &common::TestApp, db: &PgPool, painting: i64) -> String {
    let (status, _, _) = app.send(buy(Uuid::new_v4(), painting, "none")).await;
    assert_eq!(status, StatusCode::OK);
    let order: String = sqlx::query_scalar("SELECT id FROM orders").fetch_one(db).await.unwrap();
    sqlx::query("UPDATE orders SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(&order)
        .execute(db)
        .await
        .unwrap();
    order
}

fn buy(visitor: Uuid, painting: i64, frame: &str) -> Request<Body> {
    Request::post("/api/checkout")
        .header(header::COOKIE, common::visitor_cookie(visitor))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!("paintingId={painting}&size=50x60&material=canvas&frame={frame}")))
        .unwrap()
}

fn as_visitor(uri: &str, visitor: Uuid) -> Request<Body> {
    Request::get(uri).header(header::COOKIE, common::visitor_cookie(visitor)).body(Body::empty()).unwrap()
}

async fn status_of(db: &PgPool, order: &str) -> OrderStatus {
    let status: String =
        sqlx::query_scalar("SELECT status FROM orders WHERE id = $1").bind(order).fetch_one(db).await.unwrap();
    status.parse().unwrap()
}

/// Webhooks arrive in the background, as from Stripe.
async fn wait_for(db: &PgPool, order: &str, want: impl Fn(OrderStatus, i64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, refunded): (String, i32) =
            sqlx::query_as("SELECT status, refunded_cents FROM orders WHERE id = $1")
                .bind(order)
                .fetch_one(db)
                .await
                .unwrap();
        if want(status.parse().unwrap(), i64::from(refunded)) {
            return;
        }
        assert!(Instant::now() < deadline, "order {order} stuck at {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test]
async fn buy_pay_refund_with_the_real_client_and_signed_webhooks(db: PgPool) {
    let (listener, webhook_url) = app_listener().await;
    let stripe = LocalStripe::start(&webhook_url);
    let app = serve(db.clone(), &stripe.base, listener).await;
    let painting = painting(&db).await;
    let (shopper, stranger) = (Uuid::new_v4(), Uuid::new_v4());

    // Unknown options are a clear 400, never a default, in the shopper's language.
    let (status, _, body) = app.send(buy(shopper, painting, "plastic")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let refusal: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(refusal["message"], "未知的画框“plastic”；可选：none、black、white、wood、gold", "{refusal}");
    let mut in_english = buy(shopper, painting, "plastic");
    in_english.headers_mut().insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    let refusal: serde_json::Value = serde_json::from_slice(&app.send(in_english).await.2).unwrap();
    assert_eq!(
        refusal["message"], "unknown frame “plastic”; choose one of: none, black, white, wood, gold",
        "{refusal}"
    );

    // Buy twice (a double click): one order, one session, the same URL.
    let (first, second) =
        tokio::join!(app.send(buy(shopper, painting, "black")), app.send(buy(shopper, painting, "black")));
    assert_eq!(first.0, StatusCode::OK, "{}", String::from_utf8_lossy(&first.2));
    let url: String = serde_json::from_slice(&first.2).unwrap();
    let again: String = serde_json::from_slice(&second.2).unwrap();
    assert_eq!(url, again);
    assert!(url.starts_with(&format!("{}pay/cs_test_", stripe.base)), "{url}");
    let (order, amount, session): (String, i32, String) =
        sqlx::query_as("SELECT id, amount_cents, stripe_session_id FROM orders").fetch_one(&db).await.unwrap();
    assert_eq!(amount, 32_370 + 5_000, "priced on the server: 24900 x 1.3 + black frame");
    assert!(url.ends_with(&session));
    // Stripe knows the order, never the visitor id (a bearer credential here).
    let at_stripe = reqwest::Client::new()
        .get(format!("{}v1/checkout/sessions/{session}", stripe.base))
        .bearer_auth("sk_test_artwall")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(at_stripe.contains(&order), "{at_stripe}");
    assert!(
        !at_stripe.contains(&shopper.to_string()) && !at_stripe.contains(&shopper.simple().to_string()),
        "{at_stripe}"
    );

    // The pay page says no card is charged; its Pay button completes the session and sends the
    // shopper back to the order page.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("no card is charged") && page.contains("CNY 373.70"), "{page}");
    let paid = http.post(&url).send().await.unwrap();
    assert_eq!(paid.status(), reqwest::StatusCode::SEE_OTHER);
    let back = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.ends_with(&format!("/order/{order}?success=true")), "{back}");
    wait_for(&db, &order, |s, _| s == OrderStatus::Paid).await;

    // Only the owner reads it; anyone else gets 404, not 403.
    let (status, _, body) = app.send(as_visitor(&format!("/api/order?id={order}"), shopper)).await;
    assert_eq!(status, StatusCode::OK);
    let view: artwall::types::OrderView = serde_json::from_slice(&body).unwrap();
    assert_eq!(view.status, OrderStatus::Paid);
    assert_eq!(view.shipping.unwrap().name, "Test Shopper");
    let (status, _, _) = app.send(as_visitor(&format!("/api/order?id={order}"), stranger)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, body) = app.send(as_visitor("/api/orders", stranger)).await;
    assert_eq!(serde_json::from_slice::<Vec<artwall::types::OrderView>>(&body).unwrap(), vec![]);
    let change = Request::post("/api/order/address")
        .header(header::COOKIE, common::visitor_cookie(stranger))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("orderId={order}&name=Mallory&phone=123456789&address=Elsewhere")))
        .unwrap();
    let (status, _, _) = app.send(change).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a stranger cannot redirect the parcel");

    // Refunds go through Stripe and come back by webhook: partial, then the rest.
    let (admin, _) = common::admin_session(&db).await;
    let order_id = OrderId::parse(&order).unwrap();
    assert_eq!(fulfilment::refund(&app.state, &admin, &order_id, Some(10_000)).await.unwrap(), 10_000);
    wait_for(&db, &order, |_, refunded| refunded == 10_000).await;
    assert_eq!(status_of(&db, &order).await, OrderStatus::Paid);
    assert_eq!(fulfilment::refund(&app.state, &admin, &order_id, None).await.unwrap(), 27_370);
    wait_for(&db, &order, |s, _| s == OrderStatus::Refunded).await;
    assert!(fulfilment::refund(&app.state, &admin, &order_id, None).await.is_err(), "nothing left to refund");
    let admin_notes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM order_events WHERE order_id = $1 AND actor = 'admin' AND actor_id = $2",
    )
    .bind(&order)
    .bind(admin.id.to_string())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(admin_notes, 2, "each admin refund is on the timeline with the admin's id");
    let audited: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT action, after FROM audit_log WHERE admin_id = $1 AND subject = $2 ORDER BY id")
            .bind(admin.id)
            .bind(format!("order:{order}"))
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        audited,
        [
            ("order.refund".to_owned(), serde_json::json!({ "requested_cents": 10_000 })),
            ("order.refund".to_owned(), serde_json::json!({ "requested_cents": 27_370 }))
        ]
    );
}

#[sqlx::test]
async fn an_unpaid_session_is_reconciled_and_expired_at_stripe(db: PgPool) {
    let (listener, webhook_url) = app_listener().await;
    let stripe = LocalStripe::start(&webhook_url);
    let app = serve(db.clone(), &stripe.base, listener).await;
    let painting = painting(&db).await;
    let order = bought_and_overdue(&app, &db, painting).await;
    let report = order_jobs::run_once(&db, &app.state.payments).await.unwrap();
    assert_eq!(report.reconciled, 1);
    assert_eq!(status_of(&db, &order).await, OrderStatus::Expired);
    // Stripe's own expired event (sent when we expired the session) changes nothing more.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let moves: i64 =
        sqlx::query_scalar("SELECT count(*) FROM order_events WHERE order_id = $1 AND to_status = 'expired'")
            .bind(&order)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(moves, 1);
}

#[sqlx::test]
async fn stripe_down_means_a_clear_message_and_no_dangling_order(db: PgPool) {
    // Bound but not listening: connections to it are refused, and nothing else can take the port.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let stripe_base = format!("http://{}/", closed.local_addr().unwrap());
    let app = serve(db.clone(), &stripe_base, app_listener().await.0).await;
    let painting = painting(&db).await;
    let (status, _, body) = app.send(buy(Uuid::new_v4(), painting, "gold")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        String::from_utf8_lossy(&body).contains(r#""error":"paymentUnavailable""#),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(
        artwall::error::AppError::PaymentUnavailable.to_string(),
        "payment is unavailable right now; please try again in a moment"
    );
    let (status, reason): (String, String) =
        sqlx::query_as("SELECT status, failure_reason FROM orders").fetch_one(&db).await.unwrap();
    assert_eq!(status, "failed");
    assert!(reason.contains("could not start a checkout"));
}

#[sqlx::test]
async fn admin_order_endpoints_need_an_admin_session(db: PgPool) {
    let app = common::TestApp::new(db).await;
    // No cookie, a shopper's visitor cookie, and an admin cookie with a token no session has.
    let visitor = common::visitor_cookie(Uuid::new_v4());
    let forged = format!("artwall_admin={}", "a".repeat(64));
    for cookie in ["", visitor.as_str(), forged.as_str()] {
        for (method, uri, body) in [
            ("GET", "/api/admin/orders", ""),
            ("GET", "/api/admin/order?id=order_x", ""),
            ("POST", "/api/admin/order/advance", "orderId=order_x&to=shipped&tracking=SF1"),
            ("POST", "/api/admin/order/refund", "orderId=order_x"),
        ] {
            let request = Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, cookie)
                .body(Body::from(body))
                .unwrap();
            let (status, _, _) = app.send(request).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri} with cookie {cookie:?}");
        }
    }
    let (status, headers, _) = app.send(Request::get("/admin/orders").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/admin/login"));
}

#[sqlx::test]
async fn a_second_click_while_the_first_is_still_at_stripe_waits_for_the_same_checkout(db: PgPool) {
    let (listener, webhook_url) = app_listener().await;
    let stripe = LocalStripe::start_with_delay(&webhook_url, 1.5);
    let app = serve(db.clone(), &stripe.base, listener).await;
    let painting = painting(&db).await;
    let shopper = Uuid::new_v4();
    let second_click = async {
        // A second later: the first request has placed the order and is waiting for Stripe.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        app.send(buy(shopper, painting, "none")).await
    };
    let (first, second) = tokio::join!(app.send(buy(shopper, painting, "none")), second_click);
    assert_eq!(first.0, StatusCode::OK, "{}", String::from_utf8_lossy(&first.2));
    assert_eq!(second.0, StatusCode::OK, "{}", String::from_utf8_lossy(&second.2));
    assert_eq!(first.2, second.2, "the same Checkout page");
    let orders: Vec<(String,)> = sqlx::query_as("SELECT status FROM orders").fetch_all(&db).await.unwrap();
    assert_eq!(orders, vec![("pending".to_owned(),)], "one order, still payable");
}

#[sqlx::test]
async fn an_order_stripe_cannot_answer_for_goes_to_the_back_of_the_reconciliation_queue(db: PgPool) {
    let (listener, webhook_url) = app_listener().await;
    let stripe = LocalStripe::start(&webhook_url);
    let app = serve(db.clone(), &stripe.base, listener).await;
    let painting = painting(&db).await;
    let order = bought_and_overdue(&app, &db, painting).await;
    // More overdue orders than one round takes, older than it, whose sessions Stripe does not know.
    sqlx::query(
        "INSERT INTO orders (id, visitor_id, painting_id, size, material, frame, amount_cents, expires_at, stripe_session_id)
         SELECT 'order_stuck' || n, gen_random_uuid(), $1, '50x60', 'paper', 'none', 24900,
                now() - interval '1 hour' - make_interval(mins => n), 'cs_unknown_' || n
         FROM generate_series(1, 60) AS n",
    )
    .bind(painting)
    .execute(&db)
    .await
    .unwrap();
    for _ in 0..2 {
        order_jobs::run_once(&db, &app.state.payments).await.unwrap();
    }
    assert_eq!(status_of(&db, &order).await, OrderStatus::Expired, "reached in the second round");
    let stuck: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'pending'").fetch_one(&db).await.unwrap();
    assert_eq!(stuck, 60, "the stuck ones stay pending, to be tried again");
}

#[sqlx::test]
async fn a_visitor_may_have_five_checkouts_open_and_no_more(db: PgPool) {
    use artwall::pricing::{Frame, PrintOptions, PrintSize};
    use artwall::server::http::visitor::VisitorId;
    use artwall::server::shop::orders;
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(1).await;
    let painting = painting(&db).await;
    let (visitor, other) = (VisitorId(Uuid::new_v4()), VisitorId(Uuid::new_v4()));
    // Six different prints: five frames on one size, then another size.
    let mut prints: Vec<PrintOptions> =
        Frame::ALL.iter().map(|&frame| PrintOptions { frame, ..Default::default() }).collect();
    prints.push(PrintOptions { size: PrintSize::S40x50, ..Default::default() });
    let open = |visitor, print| orders::open_for_checkout(&db, visitor, painting, print, 30);
    for &print in &prints[..5] {
        open(visitor, print).await.unwrap();
    }
    // The same print again is the order already open, not a sixth.
    open(visitor, prints[0]).await.unwrap();
    let refused = open(visitor, prints[5]).await.map(|_| ()).map_err(artwall::error::AppError::from);
    assert!(
        matches!(&refused, Err(artwall::error::AppError::Invalid(m)) if m.contains("5 checkouts open")),
        "{refused:?}"
    );
    open(other, prints[5]).await.expect("another visitor is not affected");
    // Once one expires, there is room again.
    sqlx::query("UPDATE orders SET expires_at = now() - interval '1 minute' WHERE frame = 'none'")
        .execute(&db)
        .await
        .unwrap();
    open(visitor, prints[5]).await.unwrap();
}

#[sqlx::test]
async fn each_step_of_an_order_is_stamped_with_its_time(db: PgPool) {
    use artwall::server::http::visitor::VisitorId;
    use artwall::server::shop::orders::{self, Actor};
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(1).await;
    let painting = painting(&db).await;
    let order =
        orders::open_for_checkout(&db, VisitorId(Uuid::new_v4()), painting, Default::default(), 30).await.unwrap();
    let stamped = |column: &'static str| {
        let (db, id) = (db.clone(), order.id.clone());
        async move {
            sqlx::query_scalar::<_, bool>(&format!("SELECT {column} IS NOT NULL FROM orders WHERE id = $1"))
                .bind(id)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    for (to, column) in [
        (OrderStatus::Paid, Some("paid_at")),
        (OrderStatus::Processing, None),
        (OrderStatus::Shipped, Some("shipped_at")),
        (OrderStatus::Delivered, Some("delivered_at")),
        (OrderStatus::Completed, Some("completed_at")),
    ] {
        if let Some(column) = column {
            assert!(!stamped(column).await, "{column} before {to:?}");
        }
        let mut tx = db.begin_cancel_safe().await.unwrap();
        let moved = orders::transition(&mut tx, &order.id, to, Actor::System, None).await.unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(moved, orders::Moved::Yes { .. }), "{to:?}: {moved:?}");
        if let Some(column) = column {
            assert!(stamped(column).await, "{column} after {to:?}");
        }
    }
}
