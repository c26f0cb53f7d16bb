//! `/metrics`: served only to a scraper holding the token, and each family the README lists
//! moves when the shop does what it counts. The recorder belongs to the process, so figures are
//! compared with a scrape taken before; exact counts also rely on nextest's process per test.

use crate::common;

use artwall::pricing::PrintOptions;
use artwall::server::discovery::taste_worker;
use artwall::server::http::visitor::VisitorId;
use artwall::server::shop::orders;
use artwall::server::shop::payments::webhook::sign;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const TOKEN: &str = "a-metrics-token-for-the-tests";
const SECRET: &str = "whsec_metrics_tests_secret";

fn scrape_request(authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/metrics");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.body(Body::empty()).unwrap()
}

async fn scrape(app: &common::TestApp) -> String {
    let (status, headers, body) = app.send_text(scrape_request(Some(&format!("Bearer {TOKEN}")))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    body
}

/// The sum of the series named `name` whose labels include each of `labels` (0 when none is).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter(|line| labels.iter().all(|(key, value)| line.contains(&format!("{key}=\"{value}\""))))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// How much each series moved between two scrapes.
fn moved(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(after, name, labels) - value(before, name, labels)
}

#[sqlx::test]
async fn metrics_are_served_only_with_the_token_and_not_at_all_without_one(db: PgPool) {
    let closed = common::TestApp::new(db.clone()).await;
    assert_eq!(closed.send(scrape_request(None)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(closed.send(scrape_request(Some("Bearer "))).await.0, StatusCode::NOT_FOUND);

    let app = common::TestApp::with_config(db, |c| c.metrics_token = Some(TOKEN.into())).await;
    for refused in [None, Some("Bearer "), Some("Bearer not-the-token"), Some(TOKEN), Some("Basic YTpi")] {
        let (status, headers, _) = app.send(scrape_request(refused)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused:?}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    }
    assert!(scrape(&app).await.contains("# TYPE artwall_http_requests_total counter"));
}

#[sqlx::test]
async fn each_family_counts_what_the_shop_does(db: PgPool) {
    let app = common::TestApp::with_config(db.clone(), |c| {
        c.metrics_token = Some(TOKEN.into());
        c.stripe_webhook_secrets = vec![SECRET.into()];
        c.rate_search_per_minute = 1;
    })
    .await;
    let before = scrape(&app).await;
    app.import_demo(3).await;
    let painting: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    let shopper = Uuid::new_v4();
    let cookie = common::visitor_cookie(shopper);
    let send = |request: axum::http::request::Builder, body: Body| {
        app.send_text(request.header(header::COOKIE, &cookie).body(body).unwrap())
    };
    let form = |uri: &str| Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");

    // A feed page without a taste, then one with.
    assert_eq!(send(Request::get("/api/feed"), Body::empty()).await.0, StatusCode::OK);
    let (status, _, body) = send(form("/api/onboarding/choose"), Body::from("codes[0]=nordic")).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    assert_eq!(send(Request::get("/api/feed"), Body::empty()).await.0, StatusCode::OK);
    // A search embeds its text; the second in a minute is refused.
    assert_eq!(send(Request::get("/api/search?q=blue"), Body::empty()).await.0, StatusCode::OK);
    assert_eq!(send(Request::get("/api/search?q=red"), Body::empty()).await.0, StatusCode::TOO_MANY_REQUESTS);
    // A painting page and an unknown path: routes, never raw paths.
    assert_eq!(send(Request::get(format!("/painting/{painting}")), Body::empty()).await.0, StatusCode::OK);
    assert_eq!(send(Request::get("/no/such/page"), Body::empty()).await.0, StatusCode::NOT_FOUND);
    // Made-up methods and the build's files under /pkg (a nested service) are labelled in kind.
    send(Request::builder().method("FROBNICATE").uri("/livez"), Body::empty()).await;
    send(Request::get("/pkg/no-such-file.js"), Body::empty()).await;
    // Two events accepted and waiting.
    let events = json!({"events": [
        {"id": Uuid::new_v4(), "type": "impression", "paintingId": painting, "position": 0, "source": "feed"},
        {"id": Uuid::new_v4(), "type": "save", "paintingId": painting, "position": 0, "source": "feed"},
    ]});
    let activity = Request::post("/api/activity").header(header::CONTENT_TYPE, "application/json");
    assert_eq!(send(activity, Body::from(events.to_string())).await.0, StatusCode::OK);
    let waiting = scrape(&app).await;
    // A checkout started and paid by its webhook, and a delivery with a bad signature.
    let order =
        orders::open_for_checkout(&db, VisitorId(shopper), painting, PrintOptions::default(), 30).await.unwrap();
    orders::claim_session(&db, &order.id).await.unwrap().attach("cs_metrics", "https://pay.example/").await.unwrap();
    let paid =
        json!({"id": "evt_metrics_1", "object": "event", "type": "checkout.session.completed", "data": {"object": {
        "id": "cs_metrics", "object": "checkout.session", "amount_total": order.amount_cents, "currency": "cny",
        "payment_status": "paid", "status": "complete", "metadata": {"orderId": order.id}}}})
        .to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for signature in [sign(paid.as_bytes(), SECRET, now), sign(paid.as_bytes(), "whsec_someone_else", now)] {
        let webhook = Request::post("/api/webhooks/stripe").header("stripe-signature", signature);
        send(webhook, Body::from(paid.clone())).await;
    }
    // The worker learns the two events; a re-embed job waits in the queue.
    let learner = taste_worker::TasteLearner::new(app.state.config.taste_learner);
    let learned = taste_worker::process_available(&db, &learner).await.unwrap() as f64;
    let (admin, _) = common::admin_session(&db).await;
    artwall::server::catalogue::import_jobs::create_reembed(&db, &admin).await.unwrap();
    let after = scrape(&app).await;

    let requests = "artwall_http_requests_total";
    assert_eq!(moved(&before, &after, requests, &[("route", "/api/feed"), ("status", "200")]), 2.0, "{after}");
    assert_eq!(moved(&before, &after, requests, &[("route", "/api/search"), ("status", "429")]), 1.0);
    assert_eq!(moved(&before, &after, requests, &[("route", "/painting/{id}"), ("method", "GET")]), 1.0);
    assert_eq!(moved(&before, &after, requests, &[("route", "unmatched"), ("status", "404")]), 1.0);
    assert!(!after.contains(&format!("/painting/{painting}")), "a raw path became a label");
    assert!(!after.contains("FROBNICATE") && !after.contains("no-such-file"), "a raw method or path became a label");
    assert_eq!(moved(&before, &after, requests, &[("method", "other")]), 1.0);
    assert_eq!(moved(&before, &after, requests, &[("route", "/pkg/*")]), 1.0);
    let durations = "artwall_http_request_duration_seconds_count";
    assert_eq!(moved(&before, &after, durations, &[("route", "/api/feed")]), 2.0);

    let pages = "artwall_feed_pages_total";
    assert_eq!(moved(&before, &after, pages, &[("candidates", "no_taste")]), 1.0, "{after}");
    let personalised: f64 =
        ["cache", "index_scan", "exact_scan"].iter().map(|c| moved(&before, &after, pages, &[("candidates", c)])).sum();
    assert_eq!(personalised, 1.0, "{after}");

    let inference = "artwall_model_inference_seconds_count";
    assert_eq!(moved(&before, &after, inference, &[("modality", "image")]), 3.0, "one per imported painting");
    assert!(moved(&before, &after, inference, &[("modality", "text")]) >= 1.0, "the search's query");
    assert_eq!(moved(&before, &after, "artwall_rate_limited_total", &[("bucket", "search")]), 1.0);

    assert_eq!(moved(&before, &after, "artwall_activity_events_accepted_total", &[]), 2.0);
    // Onboarding's event and the two above wait; the purchase the webhook recorded joins them.
    let backlog = value(&waiting, "artwall_activity_backlog_events", &[]);
    assert!(backlog >= 3.0 && learned == backlog + 1.0, "{backlog} waiting, {learned} learned");
    assert!(waiting.contains("\nartwall_activity_backlog_oldest_seconds "), "{waiting}");
    assert_eq!(value(&after, "artwall_shop_figures_read", &[]), 1.0);
    assert_eq!(value(&after, "artwall_activity_backlog_events", &[]), 0.0, "learned since");
    assert_eq!(moved(&before, &after, "artwall_taste_worker_events_learned_total", &[]), learned);
    assert_eq!(moved(&before, &after, "artwall_taste_worker_lag_seconds_count", &[]), 1.0, "one batch");

    let webhooks = "artwall_stripe_webhooks_total";
    let completed = [("kind", "checkout.session.completed"), ("outcome", "applied")];
    assert_eq!(moved(&before, &after, webhooks, &completed), 1.0, "{after}");
    assert_eq!(moved(&before, &after, webhooks, &[("outcome", "bad_signature")]), 1.0);
    assert_eq!(value(&after, "artwall_checkouts_total", &[("outcome", "started")]), 1.0);
    assert_eq!(value(&after, "artwall_checkouts_total", &[("outcome", "paid")]), 1.0);
    assert_eq!(value(&after, "artwall_checkouts_total", &[("outcome", "failed")]), 0.0);

    assert_eq!(value(&after, "artwall_import_jobs", &[("status", "queued")]), 1.0);
    assert_eq!(value(&after, "artwall_import_jobs", &[("status", "running")]), 0.0);
    assert_eq!(value(&after, "artwall_import_job_items", &[("state", "remaining")]), 3.0);
}
