//! The HTTP surface, driven through the real router (`Router::oneshot`) over a test database.

mod common;

use artwall::server::auth::{self, AdminEmail};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;

async fn send(app: &common::TestApp, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    app.send_text(request).await
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

async fn with_paintings(db: PgPool, n: usize) -> common::TestApp {
    let app = common::TestApp::new(db).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = artwall::server::import::read_rows(&common::demo_csv(dir.path(), n)).unwrap();
    let report = artwall::server::import::import_rows(&app.state.catalogue(), rows, dir.path(), &indicatif::ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!(report.added, n);
    app
}

#[sqlx::test]
async fn feed_is_server_rendered_and_sets_a_private_visitor_cookie(db: PgPool) {
    let app = with_paintings(db, 14).await;
    let (status, headers, body) = send(&app, get("/feed")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.matches("class=\"card\"").count(), 12, "the first page is in the HTML");
    assert!(body.contains("loading=\"lazy\""));
    let cookie = headers.get(header::SET_COOKIE).expect("visitor cookie").to_str().unwrap();
    assert!(cookie.starts_with("artwall_visitor="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests");

    // A returning visitor keeps their id (no new cookie) and the next page continues the feed.
    let visitor = cookie.split(';').next().unwrap().to_owned();
    let request = Request::get("/api/feed?cursor=12").header(header::COOKIE, &visitor).body(Body::empty()).unwrap();
    let (status, headers, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get(header::SET_COOKIE).is_none());
    let page: artwall::types::FeedPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(!page.has_more);
}

#[sqlx::test]
async fn bad_feed_cursor_is_a_clear_400(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, _, body) = send(&app, get("/api/feed?cursor=banana")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid feed cursor"), "{body}");
}

#[sqlx::test]
async fn painting_page_shows_hd_image_and_unknown_ids_are_real_404s(db: PgPool) {
    let app = with_paintings(db.clone(), 1).await;
    let (id, hd): (i64, String) = sqlx::query_as("SELECT id, image_hd_url FROM paintings").fetch_one(&db).await.unwrap();
    let (status, _, body) = send(&app, get(&format!("/painting/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&hd), "HD image in the page");
    assert!(body.contains("Helena Tromper Du Bois"));

    for missing in ["/painting/999999", "/painting/not-a-number", "/no/such/page"] {
        let (status, _, body) = send(&app, get(missing)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert!(body.contains("We couldn"), "{missing}: friendly page");
    }
    let (status, headers, _) = send(&app, get(&hd)).await;
    assert_eq!(status, StatusCode::OK, "media served");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
}

#[sqlx::test]
async fn admin_pages_redirect_and_admin_functions_refuse_without_a_session(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, headers, _) = send(&app, get("/admin")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/admin/login?next=%2Fadmin");
    let (status, _, _) = send(&app, get("/admin/login")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _, body) = send(&app, get("/api/admin/overview")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!body.to_lowercase().contains("sql"), "no internals leak: {body}");

    let forged = Request::get("/api/admin/overview").header(header::COOKIE, "artwall_admin=deadbeef").body(Body::empty()).unwrap();
    assert_eq!(send(&app, forged).await.0, StatusCode::UNAUTHORIZED);

    // Every admin page and admin server function (orders and jobs have their own tests too).
    for page in ["/admin/import", "/admin/jobs/00000000-0000-0000-0000-000000000000", "/admin/paintings", "/admin/paintings/new", "/admin/paintings/1", "/admin/orders"] {
        let (status, headers, _) = send(&app, get(page)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/admin/login?next="), "{page}");
    }
    let multipart = "multipart/form-data; boundary=x";
    let empty_form = "--x\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n1\r\n--x--\r\n";
    for (method, uri, content_type, body) in [
        ("GET", "/api/admin/paintings", "", ""),
        ("GET", "/api/admin/painting?id=1", "", ""),
        ("POST", "/api/admin/painting/publish", "application/x-www-form-urlencoded", "id=1&published=false"),
        ("POST", "/api/admin/painting/edit", "application/x-www-form-urlencoded", "id=1&title=t&title_en=&artist=a&artist_en=&year=&style=&tags=&source=&source_url=&license="),
        ("POST", "/api/admin/painting/image", multipart, empty_form),
        ("POST", "/api/admin/paintings/add", multipart, empty_form),
        ("POST", "/api/admin/jobs/reembed", "", ""),
        ("GET", "/api/admin/jobs", "", ""),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::COOKIE, "artwall_visitor=00000000-0000-4000-8000-000000000000")
            .body(Body::from(body))
            .unwrap();
        let (status, _, answer) = send(&app, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {answer}");
    }
}

fn login_request(email: &str, password: &str) -> Request<Body> {
    Request::post("/api/admin/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!("email={email}&password={password}")))
        .unwrap()
}

#[sqlx::test]
async fn admin_login_session_and_logout(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let hash = auth::hash_password("a long enough password").unwrap();
    auth::upsert_admin(&db, &AdminEmail::parse("ada@example.com").unwrap(), &hash).await.unwrap();

    let (status, _, body) = send(&app, login_request("ada@example.com", "wrong password!")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("wrong email or password"), "{body}");
    let (status, _, _) = send(&app, login_request("nobody@example.com", "a long enough password")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown accounts look the same");

    let (status, headers, body) = send(&app, login_request("ADA@example.com", "a long enough password")).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let cookie = headers.get(header::SET_COOKIE).expect("session cookie").to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();

    let authed = |uri: &str| Request::get(uri).header(header::COOKIE, &session).body(Body::empty()).unwrap();
    let (status, _, body) = send(&app, authed("/api/admin/overview")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let overview: artwall::types::AdminOverview = serde_json::from_str(&body).unwrap();
    assert_eq!(overview.admin_email, "ada@example.com");
    assert!(!overview.model_is_clip, "tests run the stand-in");
    assert_eq!(send(&app, authed("/admin")).await.0, StatusCode::OK);

    let logout = Request::post("/api/admin/logout").header(header::COOKIE, &session).header(header::ACCEPT, "application/json").body(Body::empty()).unwrap();
    assert!(send(&app, logout).await.0.is_success());
    assert_eq!(send(&app, authed("/api/admin/overview")).await.0, StatusCode::UNAUTHORIZED, "logout revokes the session server-side");
}

#[sqlx::test]
async fn health_and_readiness(db: PgPool) {
    let app = common::TestApp::new(db).await;
    assert_eq!(send(&app, get("/healthz")).await.0, StatusCode::OK);
    let (status, _, body) = send(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["database"], true);
    assert_eq!(ready["model"]["kind"], "standin");
}
