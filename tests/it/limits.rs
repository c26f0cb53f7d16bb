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
async fn sign_in_is_limited_per_address_in_total_across_instances(db: PgPool) {
    // Two instances of the shop on one database: the limit is the two's together.
    let first = common::TestApp::with_config(db.clone(), |c| c.rate_login_per_minute = 3).await;
    let second = common::TestApp::with_config(db, |c| c.rate_login_per_minute = 3).await;
    for (attempt, app) in [&first, &second, &first].into_iter().enumerate() {
        let (status, _, _) = app.send(login("203.0.113.7")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {attempt} is judged on its password");
    }
    for app in [&second, &first] {
        let (status, headers, _) = app.send(login("203.0.113.7")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=60).contains(&retry_after(&headers)), "{headers:?}");
    }
    assert_eq!(second.send(login("198.51.100.9")).await.0, StatusCode::BAD_REQUEST, "another address is not affected");
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

#[sqlx::test]
async fn failed_sign_ins_slow_every_instance_down_until_one_succeeds(db: PgPool) {
    use artwall::server::http::sign_in;
    // Two instances of the shop on one database.
    let first = common::TestApp::with_config(db.clone(), |c| c.rate_login_per_minute = 1000).await;
    let second = common::TestApp::with_config(db.clone(), |c| c.rate_login_per_minute = 1000).await;
    common::admin_session(&db).await;
    let sign_in_as = |password: &str| {
        let form = format!("email=ops%40example.com&password={password}");
        from(
            "203.0.113.7",
            Request::post("/api/admin/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(Body::from(form))
                .unwrap(),
        )
    };
    for _ in 0..3 {
        assert_eq!(first.send(sign_in_as("wrong")).await.0, StatusCode::BAD_REQUEST);
    }
    let ip = "203.0.113.7".parse().unwrap();
    assert_eq!(sign_in::delay(&db, ip, "OPS@example.com ").await.unwrap().as_millis(), 500);
    // The other instance makes the next answer wait as long, even for the right password.
    let started = std::time::Instant::now();
    assert_eq!(second.send(sign_in_as("a+long+enough+password")).await.0, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(sign_in::delay(&db, ip, "ops@example.com").await.unwrap().as_millis(), 0, "a success clears it");

    // The delay doubles with each failure in a row, from the network or for the account.
    let delays = async {
        let mut delays = Vec::new();
        for _ in 0..9 {
            delays.push(sign_in::delay(&db, ip, "ada@example.com").await.unwrap().as_millis());
            sign_in::failed(&db, ip, "ada@example.com").await.unwrap();
        }
        delays
    };
    assert_eq!(delays.await, [0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000]);
    let elsewhere = "198.51.100.9".parse().unwrap();
    assert_eq!(sign_in::delay(&db, elsewhere, "bob@example.com").await.unwrap().as_millis(), 0);
    assert_eq!(sign_in::delay(&db, elsewhere, "ada@example.com").await.unwrap().as_millis(), 8000, "the account's");

    // Failures from one IPv6 /64, whatever the address and email, share one delay.
    for n in 1..=4u16 {
        let address = std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, n);
        sign_in::failed(&db, address.into(), &format!("guess{n}@example.com")).await.unwrap();
    }
    let wait = |ip: &str, email: &'static str| {
        let (db, ip) = (db.clone(), ip.parse().unwrap());
        async move { sign_in::delay(&db, ip, email).await.unwrap().as_millis() }
    };
    assert_eq!(wait("2001:db8:1:2::99", "eve@example.com").await, 1000);
    assert_eq!(wait("2001:db8:1:3::1", "eve@example.com").await, 0, "another /64");
    // Failures for one account, from any addresses, slow that account down anywhere.
    for n in 1..=4u8 {
        sign_in::failed(&db, std::net::Ipv4Addr::new(198, 51, n, 1).into(), "eve@example.com").await.unwrap();
    }
    assert_eq!(wait("203.0.113.50", " EVE@example.com").await, 1000, "the same account");
    sign_in::succeeded(&db, "203.0.113.50".parse().unwrap(), "eve@example.com").await.unwrap();
    assert_eq!(wait("203.0.113.50", "eve@example.com").await, 0);
}

/// Behind the shop's own load balancer every request comes from the balancer's address; with
/// `ARTWALL_CLIENT_IP_SOURCE=RightmostXForwardedFor` each client counts as the address the
/// balancer appended, whatever the client claimed before it.
#[sqlx::test]
async fn behind_a_load_balancer_each_client_counts_as_the_address_it_appended(db: PgPool) {
    let app = common::TestApp::with_config(db, |c| {
        c.rate_activity_per_minute = 1;
        c.client_ip_source = "RightmostXForwardedFor".parse().unwrap();
    })
    .await;
    let through_balancer = |forwarded_for: &str| {
        let mut request = activity("10.0.0.2", Uuid::new_v4());
        request.headers_mut().insert("x-forwarded-for", forwarded_for.parse().unwrap());
        request
    };
    // One address gets five visitors' worth (5 a minute), then is refused.
    for n in 0..5 {
        assert_eq!(app.send(through_balancer("203.0.113.7")).await.0, StatusCode::OK, "request {n}");
    }
    let spoofed = app.send(through_balancer("198.51.100.9, 203.0.113.7")).await;
    assert_eq!(spoofed.0, StatusCode::TOO_MANY_REQUESTS, "a made-up address before the balancer's entry");
    // Another client behind the same balancer has its own budget.
    assert_eq!(app.send(through_balancer("198.51.100.9")).await.0, StatusCode::OK);
}
