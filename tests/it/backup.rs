//! `make backup` / `make restore` (scripts/backup.sh): a backup restored into a new database and
//! media folder serves the same shop, with its orders and tastes.

use crate::common;

use std::process::Command;

use artwall::server::state::AppState;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use uuid::Uuid;

fn script(action: &str, dir: &std::path::Path, database_url: &str, media: &std::path::Path) -> std::process::Output {
    Command::new("bash")
        .arg(common::repo().join("scripts/backup.sh"))
        .args([action, dir.to_str().unwrap()])
        .env("DATABASE_URL", database_url)
        .env("ARTWALL_MEDIA_DIR", media)
        .env_remove("ARTWALL_GCS_BUCKET")
        .env_remove("ARTWALL_RESTORE_REPLACE")
        .output()
        .unwrap()
}

async fn taste(db: &PgPool, visitor: Uuid) -> Vec<f32> {
    let taste: pgvector::Vector = sqlx::query_scalar("SELECT taste FROM user_preferences WHERE visitor_id = $1")
        .bind(visitor)
        .fetch_one(db)
        .await
        .unwrap();
    taste.to_vec()
}

#[sqlx::test]
async fn a_backup_restored_into_a_new_database_serves_the_same_shop(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(2).await;
    let (id, hd): (i64, String) =
        sqlx::query_as("SELECT id, image_hd_url FROM paintings ORDER BY id LIMIT 1").fetch_one(&db).await.unwrap();
    let visitor = Uuid::new_v4();
    let cookie = common::visitor_cookie(visitor);
    let onboarding = Request::post("/api/onboarding/choose")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, &cookie)
        .body(Body::from("codes[0]=nordic"))
        .unwrap();
    assert!(app.send(onboarding).await.0.is_success());
    common::paid_order(&db, "order_kept", visitor, id).await;

    let backup = tempfile::tempdir().unwrap();
    let made = script("backup", backup.path(), &common::database_url(&db), app.media.path());
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let manifest = std::fs::read_to_string(backup.path().join("manifest.txt")).unwrap();
    assert!(manifest.contains("paintings: 2") && manifest.contains("orders: 1"), "{manifest}");

    // A new database and an empty media folder, as on a new machine.
    let name = format!("restored_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&db).await.unwrap();
    let mut url = url::Url::parse(&common::database_url(&db)).unwrap();
    url.set_path(&name);
    let media = tempfile::tempdir().unwrap();
    let restored = script("restore", backup.path(), url.as_str(), media.path());
    assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
    // A second restore would overwrite what is there now: refused without saying so explicitly.
    let again = script("restore", backup.path(), url.as_str(), media.path());
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("restore into an empty one"));

    let pool = PgPool::connect(url.as_str()).await.unwrap();
    let state =
        AppState::with_pool(common::config(media.path()), common::leptos_options(), pool.clone()).await.unwrap();
    let shop = common::TestApp { state: AppState { clip: common::clip(), ..state }, media };
    let get = |uri: &str| Request::get(uri).header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let (status, _, page) = shop.send_text(get(&format!("/painting/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&hd), "the page shows the stored image");
    assert_eq!(shop.send(get(&hd)).await.0, StatusCode::OK, "the image came back with the media");
    let (status, _, order) = shop.send_text(get("/api/order?id=order_kept")).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert!(order.contains(r#""status":"paid""#), "{order}");
    assert_eq!(taste(&pool, visitor).await, taste(&db, visitor).await, "the visitor's taste is intact");
    pool.close().await;
    // FORCE: the closed pool's backends may still be on their way out.
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).execute(&db).await.unwrap();
}
