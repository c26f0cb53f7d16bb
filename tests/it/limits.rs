//! Rate limits: 429 with Retry-After, per visitor and per IP address.

use crate::common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use uuid::Uuid;

fn from(ip: &str, mut request: Request<Body>) -> Request<Body> {
    request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip.parse().unwrap(), 40000)));
    request
}

fn login(ip: &str) -> Request<Body> {
    from(
        ip,
        Request::post("/api/admin/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("email=nobody%40example.com&password=not+the+password"))
            .unwrap(),
    )
}

fn activity(ip: &str, visitor: Uuid) -> Request<Body> {
    from(
        ip,
        Request::post("/api/activity")
            .header(header::COOKIE, common::visitor_cookie(visitor))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"events":[{"eventType":"session_start","source":"feed"}]}"#))
            .unwrap(),
    )
}

fn retry_after(headers: &axum::http::HeaderMap) -> u64 {
    headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap()
}

#[sqlx::test]
async fn sign_in_is_limited_per_address(db: PgPool) {
    let app = common::TestApp::with_config(db, |c| c.rate_login_per_minute = 3).await;
    for attempt in 1..=3 {
        let (status, _, _) = app.send(login("203.0.113.7")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {attempt} is judged on its password");
    }
    let (status, headers, _) = app.send(login("203.0.113.7")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=60).contains(&retry_after(&headers)), "{headers:?}");
    assert_eq!(app.send(login("198.51.100.9")).await.0, StatusCode::BAD_REQUEST, "another address is not affected");
}

#[sqlx::test]
async fn activity_is_limited_per_visitor_and_per_address(db: PgPool) {
    let app = common::TestApp::with_config(db, |c| c.rate_activity_per_minute = 2).await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    for _ in 0..2 {
        assert_eq!(app.send(activity("203.0.113.7", first)).await.0, StatusCode::OK);
    }
    let (status, headers, _) = app.send(activity("203.0.113.7", first)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&headers) >= 1);
    // Another visitor at the same address still gets through, until the address's own limit
    // (five visitors' worth: 10 a minute). The address is checked first, so all 3 requests so far
    // count against it: fresh visitor ids cannot buy an address more requests.
    let others: Vec<StatusCode> =
        futures::future::join_all((0..9).map(|_| app.send(activity("203.0.113.7", Uuid::new_v4()))))
            .await
            .into_iter()
            .map(|r| r.0)
            .collect();
    assert_eq!(others.iter().filter(|s| **s == StatusCode::OK).count(), 7, "{others:?}");
    assert_eq!(others.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 2, "{others:?}");
    assert_eq!(app.send(activity("198.51.100.9", second)).await.0, StatusCode::OK);
}

#[sqlx::test]
async fn ipv6_addresses_in_one_64_share_a_limit(db: PgPool) {
    let app = common::TestApp::with_config(db, |c| c.rate_activity_per_minute = 1).await;
    // One host can use any address of its /64: five visitors' worth (5), then refused.
    let statuses: Vec<StatusCode> =
        futures::future::join_all((1..=6).map(|n| app.send(activity(&format!("2001:db8:1:2::{n:x}"), Uuid::new_v4()))))
            .await
            .into_iter()
            .map(|r| r.0)
            .collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 5, "{statuses:?}");
    assert_eq!(app.send(activity("2001:db8:1:3::1", Uuid::new_v4())).await.0, StatusCode::OK, "the next /64 is apart");
}

#[sqlx::test]
async fn buying_is_limited_per_visitor(db: PgPool) {
    let app = common::TestApp::with_config(db, |c| c.rate_checkout_per_minute = 1).await;
    let visitor = Uuid::new_v4();
    let buy = || {
        from(
            "203.0.113.7",
            Request::post("/api/checkout")
                .header(header::COOKIE, common::visitor_cookie(visitor))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("paintingId=1&size=50x60&material=paper&frame=none"))
                .unwrap(),
        )
    };
    assert_ne!(app.send(buy()).await.0, StatusCode::TOO_MANY_REQUESTS);
    let (status, headers, _) = app.send(buy()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&headers) >= 1);
}
