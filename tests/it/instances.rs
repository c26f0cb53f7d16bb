//! Several instances of the shop on one database behave as one shop.

use std::time::{Duration, Instant};

use artwall::server::catalogue::editor;
use artwall::server::discovery::catalogue_changes::{self, CatalogueCaches};
use artwall::types::{PaintingDetail, ScoredCard};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::common;

const VISITOR: &str = "5b7e2c1a-3d4f-4e6a-9b8c-1d2e3f4a5b6c";

fn caches(app: &common::TestApp) -> CatalogueCaches {
    CatalogueCaches { landmarks: app.state.landmarks.clone(), learner: app.state.taste_learner.clone() }
}

async fn kept(caches: &CatalogueCaches) -> (bool, bool) {
    (caches.landmarks.is_kept().await, caches.learner.bases().is_kept().await)
}

/// Computes both, as the instance's next feed page and taste refit would.
async fn fill(caches: &CatalogueCaches, db: &PgPool, when: &str) {
    caches.landmarks.get(db).await.unwrap();
    caches.learner.bases().get(db).await.unwrap();
    assert_eq!(kept(caches).await, (true, true), "{when}");
}

/// Waits (at most 10 s) until `caches` have dropped what they kept. Each painting of an import
/// commits on its own, so first the last notices are let in (the listener settles for 50 ms).
async fn until_dropped(caches: &CatalogueCaches, after: &str) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    while kept(caches).await != (false, false) {
        assert!(started.elapsed() < Duration::from_secs(10), "{after}: still kept {:?}", kept(caches).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An import or an admin hiding a painting on one instance makes every instance compute its
/// landmarks and taste basis again, so the new catalogue is explored everywhere at once.
#[sqlx::test]
async fn a_change_to_the_catalogue_on_one_instance_refreshes_the_caches_of_the_others(db: PgPool) {
    let (first, second) = (common::TestApp::new(db.clone()).await, common::TestApp::new(db.clone()).await);
    first.import_demo(12).await;
    let shutdown = CancellationToken::new();
    let listener = catalogue_changes::listen(&db).await.unwrap();
    let second_caches = caches(&second);
    tokio::spawn(catalogue_changes::run(listener, second_caches.clone(), Duration::from_millis(50), shutdown.clone()));

    fill(&second_caches, &db, "at first").await;
    first.import_demo(24).await;
    until_dropped(&second_caches, "an import on the other instance").await;

    fill(&second_caches, &db, "after the import").await;
    let (admin, _) = common::admin_session(&db).await;
    let painting: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    editor::set_published(&first.state.db, &admin, painting, false).await.unwrap();
    until_dropped(&second_caches, "hiding a painting on the other instance").await;

    // Edits that do not change what is published or where it lies keep them, and so do
    // statements that change nothing.
    fill(&second_caches, &db, "after hiding").await;
    sqlx::query("UPDATE paintings SET title = title || ' '").execute(&db).await.unwrap();
    sqlx::query("UPDATE paintings SET published = published, embedding = embedding").execute(&db).await.unwrap();
    first.import_demo(24).await; // all already there
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(kept(&second_caches).await, (true, true), "an edit that changed nothing they hold dropped them");
    shutdown.cancel();
}

/// GETs `path` as the test's visitor; it must answer 200 with a `T`.
async fn get_as_visitor<T: serde::de::DeserializeOwned>(app: &common::TestApp, path: &str) -> T {
    let request = Request::get(path).header(header::COOKIE, common::visitor_cookie(VISITOR)).body(Body::empty());
    let (status, _, body) = app.send(request.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    serde_json::from_slice(&body).unwrap()
}

/// Waits (at most 10 s) until the replica has replayed everything the primary has written.
async fn until_replayed(db: &PgPool, replica: &PgPool) {
    let written: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text").fetch_one(db).await.unwrap();
    let started = Instant::now();
    loop {
        let replayed: bool = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
            .bind(&written)
            .fetch_one(replica)
            .await
            .unwrap();
        if replayed {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the replica did not catch up in 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With a read replica, painting pages and "more like this" read the catalogue there, and what
/// the visitor has just done (a save, a hide) from the primary. Proven by pausing the replica's
/// replay: the page shows the replica's stale title, yet the save and the hide made since count.
#[sqlx::test]
async fn lag_tolerant_reads_come_from_the_replica_and_a_visitors_own_state_from_the_primary(db: PgPool) {
    // Replay is paused and resumed through the replica's own `postgres` database (only this test
    // pauses it; a run that failed midway may have left it paused).
    let replica_server = PgPool::connect(&common::replica_server_url()).await.unwrap();
    sqlx::query("SELECT pg_wal_replay_resume()").execute(&replica_server).await.unwrap();
    until_replayed(&db, &replica_server).await;
    let replica_url = common::replica_url(&db);
    let app = common::TestApp::with_config(db.clone(), |c| c.database_read_url = Some(replica_url.clone())).await;
    app.import_demo(12).await;
    let painting: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    let similar_path = format!("/api/painting/similar?id={painting}");
    let similar = || async {
        let similar: Vec<ScoredCard> = get_as_visitor(&app, &similar_path).await;
        similar.into_iter().map(|s| s.card.id).collect::<Vec<_>>()
    };
    until_replayed(&db, &replica_server).await;
    let nearest = similar().await[0];

    sqlx::query("SELECT pg_wal_replay_pause()").execute(&replica_server).await.unwrap();
    sqlx::query("UPDATE paintings SET title = 'Renamed' WHERE id = $1").bind(painting).execute(&db).await.unwrap();
    let save = format!("paintingId={painting}&saved=true&source=detail");
    let hide = serde_json::json!({"events": [
        {"id": uuid::Uuid::new_v4(), "type": "hide", "paintingId": nearest, "source": "feed"}
    ]})
    .to_string();
    for (path, content_type, body) in
        [("/api/saved/set", "application/x-www-form-urlencoded", save), ("/api/activity", "application/json", hide)]
    {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, common::visitor_cookie(VISITOR))
            .body(Body::from(body))
            .unwrap();
        let (status, _, answer) = app.send(request).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        if path == "/api/activity" {
            assert_eq!(serde_json::from_slice::<serde_json::Value>(&answer).unwrap()["logged"], 1);
        }
    }

    let page_path = format!("/api/paintings/{painting}");
    let page = || get_as_visitor::<PaintingDetail>(&app, &page_path);
    let stale = page().await;
    assert_ne!(stale.card.title, "Renamed", "the painting was read from the primary, not the paused replica");
    assert!(stale.saved, "the visitor's save was read from the lagging replica");
    let similar_now = similar().await;
    assert!(!similar_now.contains(&nearest), "a painting hidden a moment ago came back");
    assert_eq!(similar_now.len(), 8, "another painting takes the fresh hide's place");

    sqlx::query("SELECT pg_wal_replay_resume()").execute(&replica_server).await.unwrap();
    until_replayed(&db, &replica_server).await;
    // Once, under a full parallel run, the page still showed the old title right after the
    // replay caught up (cause not pinned down); the promise is that it catches up, within the
    // same 10 s the replay gets.
    let started = Instant::now();
    while page().await.card.title != "Renamed" {
        assert!(started.elapsed() < Duration::from_secs(10), "the page never showed the replica's new title");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A replica that never answered neither stops the instance from starting nor receives its
/// reads: they go to the primary.
#[sqlx::test]
async fn a_replica_that_does_not_answer_sends_its_reads_to_the_primary(db: PgPool) {
    let nowhere = format!("postgres://postgres@127.0.0.1:{}/artwall", common::free_port());
    let app = common::TestApp::with_config(db.clone(), |c| c.database_read_url = Some(nowhere)).await;
    app.import_demo(2).await;
    let painting: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    // Past the first probes too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    get_as_visitor::<PaintingDetail>(&app, &format!("/api/paintings/{painting}")).await;
    get_as_visitor::<Vec<ScoredCard>>(&app, &format!("/api/painting/similar?id={painting}")).await;
}
