//! Several instances of the shop on one database behave as one shop.

use std::time::{Duration, Instant};

use artwall::server::catalogue::editor;
use artwall::server::discovery::catalogue_changes::{self, CatalogueCaches};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::common;

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

    // Edits that do not change what is published or where it lies keep them.
    fill(&second_caches, &db, "after hiding").await;
    sqlx::query("UPDATE paintings SET title = title || ' '").execute(&db).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(kept(&second_caches).await, (true, true), "a title edit dropped them");
    shutdown.cancel();
}
