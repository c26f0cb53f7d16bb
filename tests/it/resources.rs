//! The original design's resource paths answer like the routes they mirror, with the same checks.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

struct Shop {
    app: common::TestApp,
    painting: i64,
}

impl Shop {
    async fn send(&self, cookie: &str, request: axum::http::request::Builder, body: Body) -> (StatusCode, Value) {
        let (status, _, body) = self.app.send_text(request.header(header::COOKIE, cookie).body(body).unwrap()).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    async fn get(&self, cookie: &str, uri: &str) -> (StatusCode, Value) {
        self.send(cookie, Request::get(uri), Body::empty()).await
    }

    async fn post_json(&self, cookie: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
        self.send(cookie, request, Body::from(body.to_string())).await
    }
}

#[sqlx::test]
async fn the_original_designs_paths_answer_like_their_twins(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(2).await;
    let painting = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    let shop = Shop { app, painting };
    let (owner, stranger) = (Uuid::new_v4(), Uuid::new_v4());
    let (me, them) = (common::visitor_cookie(owner), common::visitor_cookie(stranger));

    // Onboarding: the same choice, the same refusals.
    let (status, _) = shop.post_json(&me, "/api/onboarding/style", json!({"codes": ["nordic", "french"]})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(shop.get(&me, "/api/onboarding").await.1["chosen"], json!(["nordic", "french"]));
    let (status, body) = shop.post_json(&me, "/api/onboarding/style", json!({"codes": ["baroque"]})).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")), "{body}");
    let (status, body) = shop.post_json(&me, "/api/onboarding/style", json!({"codes": 5})).await;
    assert!(status.is_client_error() && body["error"].is_string(), "{status} {body}");

    // A painting.
    let by_path = shop.get(&me, &format!("/api/paintings/{}", shop.painting)).await;
    assert_eq!(by_path, shop.get(&me, &format!("/api/painting?id={}", shop.painting)).await);
    assert_eq!(by_path.0, StatusCode::OK);
    assert_eq!(shop.get(&me, "/api/paintings/999999").await.0, StatusCode::NOT_FOUND);
    let (status, body) = shop.get(&me, "/api/paintings/abc").await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].is_string(), "{status} {body}");

    // An order: its owner's alone, like its twin.
    common::paid_order(&db, "order_resources", owner, shop.painting).await;
    let mine = shop.get(&me, "/api/orders/order_resources").await;
    assert_eq!(mine.0, StatusCode::OK);
    assert_eq!(mine, shop.get(&me, "/api/order?id=order_resources").await);
    assert_eq!(shop.get(&them, "/api/orders/order_resources").await.0, StatusCode::NOT_FOUND);
    let address = json!({"name": "Li Wei", "phone": "+86 138 0000 0000", "address": "1 Huaihai Road\nShanghai"});
    let shipping = "/api/orders/order_resources/shipping";
    assert_eq!(shop.post_json(&them, shipping, address.clone()).await.0, StatusCode::NOT_FOUND);
    let (status, body) = shop.post_json(&me, shipping, json!({"name": "Li\u{7}", "phone": "1", "address": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(shop.post_json(&me, shipping, address).await.0, StatusCode::NO_CONTENT);
    let (_, order) = shop.get(&me, "/api/orders/order_resources").await;
    assert_eq!(order["shipping"]["address"], "1 Huaihai Road\nShanghai");

    // A room photo without a photo is refused as at /api/room-photo.
    let empty_form = |uri: &str| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
            .header(header::ACCEPT, "application/json")
    };
    let twin = shop.send(&me, empty_form("/api/room-photo"), Body::from("--x--\r\n")).await;
    assert_eq!(shop.send(&me, empty_form("/api/upload"), Body::from("--x--\r\n")).await, twin);
    assert!(twin.0.is_client_error(), "{twin:?}");

    // Admin paths need a session.
    let (admin, session) = common::admin_session(&db).await;
    let job = artwall::server::catalogue::import_jobs::create_reembed(&db, &admin).await.unwrap();
    let uri = format!("/api/admin/paintings/batch/{job}");
    assert_eq!(shop.get(&me, &uri).await.0, StatusCode::UNAUTHORIZED);
    let (status, view) = shop.get(&session, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view, shop.get(&session, &format!("/api/admin/job?id={job}")).await.1);
    assert_eq!(shop.get(&session, "/api/admin/paintings/batch/not-a-job").await.0, StatusCode::NOT_FOUND);
    let batch = empty_form("/api/admin/paintings/batch");
    assert_eq!(shop.send(&me, batch, Body::from("--x--\r\n")).await.0, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn the_upload_paths_share_their_twins_body_and_rate_limits(db: PgPool) {
    let app = common::TestApp::with_config(db, |c| {
        c.room_max_bytes = 1_000;
        c.rate_upload_per_minute = 1;
    })
    .await;
    let shop = Shop { app, painting: 0 };
    let me = common::visitor_cookie(Uuid::new_v4());
    let form = |uri: &str| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
            .header(header::ACCEPT, "application/json")
    };
    // One upload a minute, whichever path it takes.
    let twin = shop.send(&me, form("/api/room-photo"), Body::from("--x--\r\n")).await;
    assert_ne!(twin.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(shop.send(&me, form("/api/upload"), Body::from("--x--\r\n")).await.0, StatusCode::TOO_MANY_REQUESTS);
    let batch = form("/api/admin/paintings/batch");
    assert_eq!(shop.send(&me, batch, Body::from("--x--\r\n")).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Over the room photo's limit (1,000 bytes and the form's framing): 413, as at its twin.
    let other = common::visitor_cookie(Uuid::new_v4());
    let too_large = Body::from(vec![b'a'; 200 * 1024]);
    assert_eq!(shop.send(&other, form("/api/upload"), too_large).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}
