//! Adding one painting from the admin form, with errors beside their fields; publishing.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

const BOUNDARY: &str = "XpaintingX";

/// A multipart body: text fields, and optionally an `image` file.
fn form(fields: &[(&str, &str)], image: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some(bytes) = image {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// From an admin whose browser asks for English.
async fn add(
    app: &common::TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
    image: Option<&[u8]>,
) -> (StatusCode, Value) {
    let request = Request::post("/api/admin/paintings/add")
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT_LANGUAGE, "en-GB")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(form(fields, image)))
        .unwrap();
    let (status, _, body) = app.send_text(request).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

fn field_error(answer: &Value) -> (&str, &str) {
    assert_eq!(answer["error"], "invalidField", "{answer}");
    (answer["field"].as_str().unwrap_or_default(), answer["message"].as_str().unwrap_or_default())
}

#[sqlx::test]
async fn one_painting_is_added_with_its_neighbours_and_bad_fields_are_named(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(8).await;
    let (_, cookie) = common::admin_session(&db).await;
    let image = std::fs::read(common::repo().join("tests/fixtures/franz-kafka.jpg")).unwrap();
    let count =
        || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM paintings").fetch_one(&db).await.unwrap() };

    let (status, answer) = add(&app, "", &[("title", "x"), ("artist", "y")], Some(&image)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");

    let (status, answer) = add(&app, &cookie, &[("title", " "), ("artist", "Unknown")], Some(&image)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_error(&answer), ("title", "title is required"));
    let (_, answer) =
        add(&app, &cookie, &[("title", "Room"), ("artist", "Unknown"), ("year", "circa 1900")], Some(&image)).await;
    assert_eq!(field_error(&answer), ("year", "the year \"circa 1900\" is not a whole number"));
    let (_, answer) = add(&app, &cookie, &[("title", "Room"), ("artist", "Unknown")], None).await;
    assert_eq!(field_error(&answer), ("image", "choose an image file or give an image URL"));
    let (_, answer) = add(&app, &cookie, &[("title", "Room"), ("artist", "Unknown")], Some(b"GIF89a not really")).await;
    assert_eq!(field_error(&answer).0, "image");
    // Server-side fetches refuse addresses inside our own network.
    let (_, answer) =
        add(&app, &cookie, &[("title", "Room"), ("artist", "Unknown"), ("imageUrl", "http://127.0.0.1:9/x.jpg")], None)
            .await;
    assert_eq!(field_error(&answer), ("imageUrl", "refused: 127.0.0.1 is a loopback, private or link-local address"));
    assert_eq!(count().await, 8, "nothing was added by a refused form");

    let fields = [
        ("title", "A room in Prague"),
        ("artist", "Unknown photographer"),
        ("year", "1910"),
        ("tags", "room, interior"),
    ];
    let (status, answer) = add(&app, &cookie, &fields, Some(&image)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["painting"]["card"]["id"].as_i64().unwrap();
    assert_eq!(answer["painting"]["card"]["title"], "A room in Prague");
    assert_eq!(answer["painting"]["tags"], serde_json::json!(["room", "interior"]));
    let neighbours = answer["neighbours"].as_array().unwrap();
    assert_eq!(neighbours.len(), 6);
    assert!(neighbours.iter().all(|n| n["card"]["id"].as_i64() != Some(id)), "not its own neighbour");
    let similarities: Vec<f64> = neighbours.iter().map(|n| n["similarity"].as_f64().unwrap()).collect();
    assert!(similarities.windows(2).all(|w| w[0] >= w[1]), "nearest first: {similarities:?}");
    assert_eq!(count().await, 9);

    // The same upload again is recognised, not added twice.
    let (status, answer) = add(&app, &cookie, &fields, Some(&image)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        field_error(&answer),
        ("sourceUrl", format!("this painting is already in the catalogue (#{id})").as_str())
    );
    assert_eq!(count().await, 9);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'painting.add' AND subject = $1")
            .bind(format!("painting:{id}"))
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test]
async fn unpublishing_is_for_admins_and_audited(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(2).await;
    let id: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    let publish = |cookie: &str, published: bool| {
        Request::post("/api/admin/painting/publish")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("id={id}&published={published}")))
            .unwrap()
    };
    assert_eq!(
        app.send(publish("artwall_visitor=00000000-0000-4000-8000-000000000000", false)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.send(Request::get("/api/admin/paintings").body(Body::empty()).unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A shopper's order of it, placed before it is unpublished.
    let shopper = uuid::Uuid::new_v4();
    common::paid_order(&db, "order_kept", shopper, id).await;

    let (admin, cookie) = common::admin_session(&db).await;
    assert_eq!(app.send(publish(&cookie, false)).await.0, StatusCode::OK);
    let order = Request::get("/api/order?id=order_kept")
        .header(header::COOKIE, common::visitor_cookie(shopper))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = app.send_text(order).await;
    assert_eq!(status, StatusCode::OK, "existing orders still show it: {body}");
    assert_eq!(serde_json::from_str::<artwall::types::OrderView>(&body).unwrap().painting.id, id);
    // Gone from the shop at once: its page and "more like this" from its neighbour.
    assert_eq!(
        app.send(Request::get(format!("/painting/{id}")).body(Body::empty()).unwrap()).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, body) = app
        .send_text(
            Request::get(format!("/api/admin/paintings?query={}", ""))
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let list: artwall::types::AdminPaintings = serde_json::from_str(&body).unwrap();
    assert_eq!(list.total, 2, "the admin still sees it");
    assert!(list.items.iter().any(|p| p.id == id && !p.published));
    let audit: (Option<i64>, Value, Value) =
        sqlx::query_as("SELECT admin_id, before, after FROM audit_log WHERE action = 'painting.unpublish'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        audit,
        (Some(admin.id), serde_json::json!({ "published": true }), serde_json::json!({ "published": false }))
    );
}

#[sqlx::test]
async fn editing_replacing_the_image_and_re_embedding_keep_the_painting(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(3).await;
    let (_, cookie) = common::admin_session(&db).await;
    let id: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    let snapshot = || async {
        sqlx::query_as::<_, (String, String, String, Option<i32>)>(
            "SELECT source_key, image_url, embedding::text, year FROM paintings WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let (key, image_before, embedding_before, _) = snapshot().await;

    let edit = |year: &str| {
        Request::post("/api/admin/painting/edit")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "id={id}&title=Renamed&titleEn=&artist=Someone&artistEn=&year={year}&style=&tags=a%2C+b&source=&sourceUrl=&license=CC0"
            )))
            .unwrap()
    };
    let (status, _, body) = app.send_text(edit("soon")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_error(&serde_json::from_str(&body).unwrap()).0, "year");
    assert_eq!(app.send(edit("1899")).await.0, StatusCode::OK);
    let (key_after, _, _, year) = snapshot().await;
    assert_eq!((key_after, year), (key.clone(), Some(1899)), "edited, same identity");
    let (before, after): (Value, Value) =
        sqlx::query_as("SELECT before, after FROM audit_log WHERE action = 'painting.edit'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_ne!(before["title"], "Renamed");
    assert_eq!((after["title"].as_str(), after["tags"].clone()), (Some("Renamed"), serde_json::json!(["a", "b"])));

    // A new image: new renditions and a new embedding, same painting.
    let image = std::fs::read(common::repo().join("tests/fixtures/franz-kafka.jpg")).unwrap();
    let request = Request::post("/api/admin/painting/image")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(form(&[("id", &id.to_string())], Some(&image))))
        .unwrap();
    let (status, _, body) = app.send_text(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, image_after, embedding_after, _) = snapshot().await;
    assert_ne!(image_after, image_before);
    assert_ne!(embedding_after, embedding_before, "re-embedded from the new image");

    // Re-embed everything: one job, every painting, nothing lost; a second one is refused.
    let start =
        || Request::post("/api/admin/jobs/reembed").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let (status, _, body) = app.send_text(start()).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let (status, _, body) = app.send_text(start()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let runner = app.state.job_runner();
    assert!(runner.run_next().await.unwrap());
    let job =
        artwall::server::catalogue::import_jobs::recent(&db, 1, &jiff::tz::TimeZone::UTC).await.unwrap().remove(0);
    assert_eq!(
        (job.kind.as_str(), job.status.as_str(), job.total, job.processed, job.failed),
        ("reembed", "completed", 3, 3, 0)
    );
    let models: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT embedding_model FROM paintings").fetch_all(&db).await.unwrap();
    assert_eq!(models, [app.state.clip.info().id.clone()]);
    let (_, image_final, _, _) = snapshot().await;
    assert_eq!(image_final, image_after, "re-embedding changes no image");
}
