//! Room photos through `POST /api/room-photo`: limits, EXIF stripping, random storage keys served
//! to their owner alone, the move of photos stored under the old visitor-naming keys, the taste
//! blend, and the no-JavaScript form flow.

use crate::common;

use std::io::Cursor;

use artwall::server::discovery::taste::blend_room;
use artwall::server::infra::clip::cosine;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use image::{DynamicImage, ImageFormat, RgbImage};
use pgvector::Vector;
use sqlx::PgPool;
use uuid::Uuid;

const BOUNDARY: &str = "artwall-test-boundary";

fn multipart(photo: &[u8], next: Option<&str>) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(next) = next {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"next\"\r\n\r\n{next}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"room.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// From a browser that asks for English.
fn upload(visitor: Uuid, body: Vec<u8>, json: bool) -> Request<Body> {
    let mut request = Request::post("/api/room-photo")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .header(header::COOKIE, common::visitor_cookie(visitor))
        .header(header::ACCEPT_LANGUAGE, "en");
    if json {
        request = request.header(header::ACCEPT, "application/json");
    }
    request.body(Body::from(body)).unwrap()
}

/// GETs a room photo's URL as `visitor` (or with no cookie): its status and, on 200, its bytes,
/// after checking it may only sit in the browser's own cache.
async fn photo_as(app: &common::TestApp, url: &str, visitor: Option<Uuid>) -> (StatusCode, Option<Vec<u8>>) {
    let mut request = Request::get(url);
    if let Some(visitor) = visitor {
        request = request.header(header::COOKIE, common::visitor_cookie(visitor));
    }
    let (status, headers, body) = app.send(request.body(Body::empty()).unwrap()).await;
    if status != StatusCode::OK {
        return (status, None);
    }
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=31536000, immutable");
    (status, Some(body))
}

#[sqlx::test]
async fn a_room_photo_has_a_random_key_and_only_its_owner_is_served_it(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (owner, stranger) = (Uuid::new_v4(), Uuid::new_v4());
    let (status, _, body) = app.send(upload(owner, multipart(&phone_photo(), None), true)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let room: artwall::types::RoomPhoto = serde_json::from_slice(&body).unwrap();
    let (key,): (String,) = sqlx::query_as("SELECT media_key FROM room_photos").fetch_one(&db).await.unwrap();
    let owner_text = owner.to_string();
    let owner_hex = owner.simple().to_string();
    for (what, text) in [("URL", &room.url), ("storage key", &key)] {
        assert!(!text.contains(&owner_text) && !text.contains(&owner_hex), "the {what} names the visitor: {text}");
    }
    assert!(room.url.starts_with("/api/room-photo/") && key.starts_with("rooms/"), "{} {key}", room.url);

    assert_eq!(photo_as(&app, &room.url, Some(owner)).await.0, StatusCode::OK);
    assert_eq!(photo_as(&app, &room.url, Some(stranger)).await.0, StatusCode::NOT_FOUND, "another visitor");
    assert_eq!(photo_as(&app, &room.url, None).await.0, StatusCode::NOT_FOUND, "no cookie");
    // The media folder serves paintings only: not the file itself, nor one in the old layout.
    let old_layout = format!("user-rooms/{owner}/x.jpg");
    std::fs::create_dir_all(app.media.path().join(&old_layout).parent().unwrap()).unwrap();
    std::fs::write(app.media.path().join(&old_layout), phone_photo()).unwrap();
    for path in [format!("/media/{key}"), format!("/media/{old_layout}")] {
        let (status, _, _) = app.send(Request::get(&path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let token = room.url.trim_start_matches("/api/room-photo/");
    for token in [token.to_uppercase(), format!("{token}0"), "z".repeat(32), "0".repeat(32)] {
        let url = format!("/api/room-photo/{token}");
        assert_eq!(photo_as(&app, &url, Some(owner)).await.0, StatusCode::NOT_FOUND, "{url}");
    }
}

#[sqlx::test]
async fn photos_stored_under_the_old_visitor_keys_move_to_random_ones_and_still_show(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let visitor = Uuid::new_v4();
    let old_key = format!("user-rooms/{visitor}/0123456789abcdef.jpg");
    let old_file = app.media.path().join(&old_key);
    std::fs::create_dir_all(old_file.parent().unwrap()).unwrap();
    std::fs::write(&old_file, phone_photo()).unwrap();
    sqlx::query(
        "INSERT INTO room_photos (visitor_id, media_key, width, height, embedding) VALUES ($1, $2, 64, 32, $3)",
    )
    .bind(visitor)
    .bind(&old_key)
    .bind(Vector::from(vec![0.1; 512]))
    .execute(&db)
    .await
    .unwrap();

    let moved = artwall::server::discovery::rooms::rekey_legacy(&app.state).await.unwrap();
    assert_eq!(moved, 1);
    assert_eq!(artwall::server::discovery::rooms::rekey_legacy(&app.state).await.unwrap(), 0, "nothing left to move");
    let (key,): (String,) = sqlx::query_as("SELECT media_key FROM room_photos").fetch_one(&db).await.unwrap();
    assert!(key.starts_with("rooms/") && !key.contains(&visitor.to_string()), "{key}");
    assert!(!old_file.exists(), "the file under the old key is gone");
    let room =
        artwall::server::discovery::rooms::latest(&app.state, artwall::server::http::visitor::VisitorId(visitor))
            .await
            .unwrap()
            .expect("the photo still shows");
    assert_eq!(photo_as(&app, &room.url, Some(visitor)).await, (StatusCode::OK, Some(phone_photo())));
}

#[sqlx::test]
async fn a_replaced_photo_is_deleted_by_retention_and_the_newest_stays(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (visitor, other) = (Uuid::new_v4(), Uuid::new_v4());
    let mut urls = Vec::new();
    for who in [visitor, visitor, other] {
        let (status, _, body) = app.send(upload(who, multipart(&phone_photo(), None), true)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        urls.push(serde_json::from_slice::<artwall::types::RoomPhoto>(&body).unwrap().url);
    }
    let files = || std::fs::read_dir(app.media.path().join("rooms")).unwrap().count();
    assert_eq!(files(), 3);

    let deleted = artwall::server::admin::retention::run_once(&db, &app.state.storage, 90, 30).await.unwrap();
    assert_eq!(deleted.replaced_room_photos, 1);
    assert_eq!(files(), 2, "the replaced photo's file is gone");
    assert_eq!(photo_as(&app, &urls[0], Some(visitor)).await.0, StatusCode::NOT_FOUND, "the replaced photo");
    assert_eq!(photo_as(&app, &urls[1], Some(visitor)).await.0, StatusCode::OK, "the newest stays");
    assert_eq!(photo_as(&app, &urls[2], Some(other)).await.0, StatusCode::OK, "another visitor's only photo");
    let again = artwall::server::admin::retention::run_once(&db, &app.state.storage, 90, 30).await.unwrap();
    assert_eq!(again.replaced_room_photos, 0);
}

/// A 64x32 JPEG, half warm and half cool, carrying EXIF that says "rotate 90° clockwise" and a
/// camera make we must not keep.
fn phone_photo() -> Vec<u8> {
    let image =
        RgbImage::from_fn(64, 32, |x, _| if x < 32 { image::Rgb([200, 120, 60]) } else { image::Rgb([60, 90, 180]) });
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg).unwrap();
    // Big-endian TIFF with two IFD entries: Orientation = 6, Make = "SpyCam".
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0x01, 0x0f, 0, 2, 0, 0, 0, 7, 0, 0, 0, 38]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(b"SpyCam\0");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
    with_exif.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(&app1);
    with_exif.extend_from_slice(&jpeg[2..]);
    with_exif
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, image::Rgb([90, 140, 90])))
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

async fn taste(db: &PgPool, visitor: Uuid) -> Option<Vec<f32>> {
    let row: Option<(Option<Vector>,)> = sqlx::query_as("SELECT taste FROM user_preferences WHERE visitor_id = $1")
        .bind(visitor)
        .fetch_optional(db)
        .await
        .unwrap();
    row.and_then(|(t,)| t).map(|t| t.to_vec())
}

#[sqlx::test]
async fn a_room_photo_is_stored_without_exif_upright_and_blended_into_the_taste(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let visitor = Uuid::new_v4();
    let before: Vec<f32> = {
        let mut v = vec![0.0; 512];
        v[0] = 1.0;
        v
    };
    sqlx::query("INSERT INTO user_preferences (visitor_id, taste) VALUES ($1, $2)")
        .bind(visitor)
        .bind(Vector::from(before.clone()))
        .execute(&db)
        .await
        .unwrap();

    let photo = phone_photo();
    assert!(photo.windows(6).any(|w| w == b"SpyCam"), "the fixture carries camera data");
    let (status, _, body) = app.send(upload(visitor, multipart(&photo, None), true)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let room: artwall::types::RoomPhoto = serde_json::from_slice(&body).unwrap();
    // EXIF orientation 6 was applied to the pixels: 64x32 becomes 32x64.
    assert_eq!((room.width, room.height), (32, 64));
    let (key,): (String,) = sqlx::query_as("SELECT media_key FROM room_photos WHERE visitor_id = $1")
        .bind(visitor)
        .fetch_one(&db)
        .await
        .unwrap();
    let stored = std::fs::read(app.media.path().join(&key)).unwrap();
    assert_eq!(photo_as(&app, &room.url, Some(visitor)).await, (StatusCode::OK, Some(stored.clone())));
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "EXIF is gone");
    assert!(!stored.windows(6).any(|w| w == b"SpyCam"), "camera data is gone");
    let upright = image::load_from_memory(&stored).unwrap().into_rgb8();
    assert_eq!(upright.dimensions(), (32, 64));
    // Rotated clockwise: the warm left half is now on top.
    assert!(upright.get_pixel(16, 8)[0] > 150 && upright.get_pixel(16, 56)[2] > 150);

    let (embedding,): (Vector,) = sqlx::query_as("SELECT embedding FROM room_photos WHERE visitor_id = $1")
        .bind(visitor)
        .fetch_one(&db)
        .await
        .unwrap();
    let after = taste(&db, visitor).await.unwrap();
    let expected = blend_room(Some(before.clone()), embedding.as_slice());
    assert!(after.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-5), "taste = normalise(0.7 taste + 0.3 room)");
    assert!(
        cosine(&after, embedding.as_slice()) > cosine(&before, embedding.as_slice()),
        "the taste moved toward the room"
    );
    let logged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activities WHERE visitor_id = $1 AND event_type = 'room_photo'")
            .bind(visitor)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(logged, 1);

    // The newest photo is the one the painting pages show.
    let (status, _, body) = app
        .send(
            Request::get("/api/room")
                .header(header::COOKIE, common::visitor_cookie(visitor))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let state: artwall::types::RoomState = serde_json::from_slice(&body).unwrap();
    assert_eq!(state.photo, Some(room));
    assert_eq!(state.max_megabytes, 15);
}

#[sqlx::test]
async fn a_first_room_photo_seeds_a_missing_taste(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let visitor = Uuid::new_v4();
    let (status, _, _) = app.send(upload(visitor, multipart(&png(40, 30), None), true)).await;
    assert_eq!(status, StatusCode::OK);
    let (embedding,): (Vector,) = sqlx::query_as("SELECT embedding FROM room_photos WHERE visitor_id = $1")
        .bind(visitor)
        .fetch_one(&db)
        .await
        .unwrap();
    let seeded = taste(&db, visitor).await.expect("seeded");
    assert!(cosine(&seeded, embedding.as_slice()) > 0.9999);
}

#[sqlx::test]
async fn uploads_over_the_limits_or_not_images_are_refused_and_change_nothing(db: PgPool) {
    let app = common::TestApp::with_config(db.clone(), |config| {
        config.room_max_bytes = 20_000;
        config.room_max_pixels = 250_000;
    })
    .await;
    let visitor = Uuid::new_v4();
    let noisy = {
        // Random-looking pixels do not compress: well over 20 KB as PNG, under the pixel limit.
        let image = RgbImage::from_fn(200, 200, |x, y| {
            image::Rgb([(x * 31 + y * 17) as u8, (x * x + y) as u8, ((y * y) ^ x) as u8])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    };
    assert!(noisy.len() > 20_000);
    let cases: [(&str, Vec<u8>, StatusCode, &str); 4] = [
        ("over the byte limit", noisy, StatusCode::PAYLOAD_TOO_LARGE, "limit is 20000 bytes"),
        ("over the body limit", vec![0xAB; 200_000], StatusCode::PAYLOAD_TOO_LARGE, "too large"),
        ("over the pixel limit", png(600, 600), StatusCode::BAD_REQUEST, "limit is 250000 pixels"),
        (
            "not an image",
            b"%PDF-1.7 definitely not a photo".to_vec(),
            StatusCode::BAD_REQUEST,
            "not a JPEG, PNG or WebP",
        ),
    ];
    for (name, bytes, status, message) in cases {
        let (got, _, body) = app.send(upload(visitor, multipart(&bytes, None), true)).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(got, status, "{name}: {body}");
        assert!(body.contains(message), "{name}: {body}");
    }
    let (status, _, body) = app.send(upload(visitor, format!("--{BOUNDARY}--\r\n").into_bytes(), true)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("choose a photo"), "no photo at all");

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM room_photos").fetch_one(&db).await.unwrap();
    assert_eq!(stored, 0);
    assert_eq!(taste(&db, visitor).await, None, "no taste was created by a refused upload");
    assert!(!app.media.path().join("rooms").exists(), "nothing written to storage");
}

#[sqlx::test]
async fn a_photo_of_an_extreme_shape_is_a_clear_400(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let visitor = Uuid::new_v4();
    let (status, _, body) = app.send(upload(visitor, multipart(&png(4_000, 1), None), true)).await;
    let (form, headers, _) = app.send(upload(visitor, multipart(&png(4_000, 1), Some("/feed")), false)).await;
    assert!(form.is_redirection());
    assert_eq!(headers[header::LOCATION], "/feed?room_error=bad_shape", "the form says what was wrong");
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("at most 100 times its short side"), "{body}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM room_photos").fetch_one(&db).await.unwrap();
    assert_eq!(stored, 0);
}

#[sqlx::test]
async fn the_browser_form_returns_to_the_page_with_a_fixed_error_code(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let visitor = Uuid::new_v4();
    let (status, headers, _) =
        app.send(upload(visitor, multipart(b"not an image", Some("/painting/7#wall")), false)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/painting/7?room_error=not_an_image#wall");

    let (status, headers, _) =
        app.send(upload(visitor, multipart(&png(40, 30), Some("https://evil.example/")), false)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/feed", "never redirected off-site");

    let (status, headers, _) =
        app.send(upload(visitor, multipart(&png(40, 30), Some("/painting/7#wall")), false)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/painting/7#wall");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM room_photos WHERE visitor_id = $1")
        .bind(visitor)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}
