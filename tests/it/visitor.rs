//! The visitor cookie is signed by the server: a made-up or foreign value is a new visitor, a
//! cookie signed with an older key is re-signed, and a visitor from before signing keeps their
//! data through one exchange of their unsigned cookie.

use crate::common;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use sqlx::PgPool;
use uuid::Uuid;

/// An app whose visitor's paid order (with an address) is `order_secret`.
async fn app_with_order(
    db: &PgPool,
    owner: Uuid,
    adjust: impl FnOnce(&mut artwall::server::config::Config),
) -> common::TestApp {
    let app = common::TestApp::with_config(db.clone(), adjust).await;
    app.import_demo(1).await;
    sqlx::query(
        "INSERT INTO orders (id, visitor_id, painting_id, size, material, frame, amount_cents, status, expires_at, paid_at, shipping_name)
         SELECT 'order_secret', $1, min(id), '50x60', 'paper', 'none', 24900, 'paid', now(), now(), 'Ada Shopper' FROM paintings",
    )
    .bind(owner)
    .execute(db)
    .await
    .unwrap();
    app
}

/// Asks for the order with `cookie`: whether it was shown, and the cookie the answer set.
async fn open_order(app: &common::TestApp, cookie: &str) -> (bool, Option<String>) {
    let request =
        Request::get("/api/order?id=order_secret").header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    let (status, headers, body) = app.send_text(request).await;
    let shown = status == StatusCode::OK;
    assert_eq!(shown, body.contains("Ada Shopper"), "{status}: {body}");
    (shown, set_visitor_cookie(&headers))
}

/// The cookie with the last digit of its id changed.
fn tampered(cookie: &str) -> String {
    let (kept, last) = cookie.split_at(cookie.len() - 1);
    format!("{kept}{}", if last == "0" { '1' } else { '0' })
}

fn set_visitor_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next().map(str::to_owned))
        .find(|cookie| cookie.starts_with("artwall_visitor="))
}

#[sqlx::test]
async fn a_signed_cookie_opens_its_visitors_orders_and_is_not_set_again(db: PgPool) {
    let owner = Uuid::new_v4();
    let app = app_with_order(&db, owner, |_| {}).await;
    assert_eq!(open_order(&app, &common::visitor_cookie(owner)).await, (true, None));
}

#[sqlx::test]
async fn a_made_up_or_foreign_visitor_cookie_is_replaced_by_a_new_visitor(db: PgPool) {
    let owner = Uuid::new_v4();
    let app = app_with_order(&db, owner, |_| {}).await;
    let foreign_keys = {
        let mut config = common::config(std::path::Path::new("/nonexistent"));
        config.cookie_keys = vec!["another-shop's-key-0123456789abcdefghijklmnop".into()];
        artwall::server::http::visitor::VisitorKeys::from_config(&config).unwrap()
    };
    let signed = common::visitor_cookie(owner);
    let owners_signature = &signed["artwall_visitor=".len()..signed.len() - 36];
    for (what, cookie) in [
        ("the bare id", format!("artwall_visitor={owner}")),
        (
            "the id signed with another key",
            format!("artwall_visitor={}", foreign_keys.sign(artwall::server::http::visitor::VisitorId(owner))),
        ),
        ("the owner's signature on another id", format!("artwall_visitor={owners_signature}{}", Uuid::new_v4())),
        ("a tampered id", tampered(&signed)),
    ] {
        let (shown, new_cookie) = open_order(&app, &cookie).await;
        assert!(!shown, "{what} opened the order");
        let new_cookie = new_cookie.unwrap_or_else(|| panic!("{what}: no new visitor cookie"));
        assert!(!new_cookie.contains(&owner.to_string()), "{what}: the new visitor is the owner again");
        assert_eq!(
            open_order(&app, &new_cookie).await,
            (false, None),
            "{what}: the new cookie is a visitor of its own"
        );
    }
}

#[sqlx::test]
async fn a_cookie_signed_with_the_previous_key_still_works_and_is_re_signed_with_the_current_one(db: PgPool) {
    let owner = Uuid::new_v4();
    let old_cookie = common::visitor_cookie(owner);
    let app = app_with_order(&db, owner, |config| {
        config.cookie_keys = vec!["the-new-key-after-a-roll-0123456789abcdefgh".into(), common::COOKIE_KEY.into()];
    })
    .await;
    let (shown, re_signed) = open_order(&app, &old_cookie).await;
    assert!(shown, "the old key still verifies");
    let re_signed = re_signed.expect("re-signed with the new key");
    assert_ne!(re_signed, old_cookie);
    assert_eq!(open_order(&app, &re_signed).await, (true, None));
}

#[sqlx::test]
async fn a_visitor_from_before_signing_keeps_their_orders_by_exchanging_their_unsigned_cookie(db: PgPool) {
    let owner = Uuid::new_v4();
    let app = app_with_order(&db, owner, |_| {}).await;
    // As the migration lists every visitor who existed when it ran.
    sqlx::query("INSERT INTO legacy_visitors (visitor_id) VALUES ($1)").bind(owner).execute(&db).await.unwrap();
    let unsigned = format!("artwall_visitor={owner}");
    // Two tabs at once (or a response that never arrived): each gets the visitor, signed.
    let (first, second) = tokio::join!(open_order(&app, &unsigned), open_order(&app, &unsigned));
    for (shown, signed) in [first, second] {
        assert!(shown, "the returning visitor sees their order");
        assert_eq!(open_order(&app, &signed.expect("exchanged for a signed cookie")).await, (true, None));
    }
    // Once the grace period after the first exchange is over, a copy of the unsigned id (in an
    // old log or URL) opens nothing.
    sqlx::query("UPDATE legacy_visitors SET claimed_at = now() - interval '11 minutes'").execute(&db).await.unwrap();
    assert!(!open_order(&app, &unsigned).await.0);
}

#[sqlx::test]
async fn an_unsigned_id_nobody_came_back_for_stops_working_after_90_days(db: PgPool) {
    let owner = Uuid::new_v4();
    let app = app_with_order(&db, owner, |_| {}).await;
    sqlx::query("INSERT INTO legacy_visitors (visitor_id, listed_at) VALUES ($1, now() - interval '91 days')")
        .bind(owner)
        .execute(&db)
        .await
        .unwrap();
    assert!(!open_order(&app, &format!("artwall_visitor={owner}")).await.0);
}

#[sqlx::test]
async fn a_write_without_an_issued_cookie_stores_nothing_and_gets_a_cookie_to_retry_with(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let activity = |cookie: Option<&str>| {
        let mut request = Request::post("/api/activity").header(header::CONTENT_TYPE, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let body =
            serde_json::json!({ "events": [{ "id": Uuid::new_v4(), "type": "session_start", "source": "feed" }] });
        request.body(Body::from(body.to_string())).unwrap()
    };
    let stored =
        || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM activities").fetch_one(&db).await.unwrap() };
    for cookie in [None, Some(format!("artwall_visitor={}", Uuid::new_v4()))] {
        let before = stored().await;
        let (status, headers, body) = app.send_text(activity(cookie.as_deref())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{cookie:?}: {body}");
        assert!(body.contains("请刷新页面后重试"), "{body}");
        assert_eq!(stored().await, before, "{cookie:?} stored nothing");
        let issued = set_visitor_cookie(&headers).expect("a cookie to retry with");
        let (status, _, body) = app.send_text(activity(Some(&issued))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(stored().await, 2);
    // Reading needs no cookie: a first visit is a GET.
    let (status, headers, _) = app.send(Request::get("/api/feed").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(set_visitor_cookie(&headers).is_some());
}
