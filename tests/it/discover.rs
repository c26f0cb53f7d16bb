//! Saved paintings, "more like this" and text search, through the HTTP surface.

use crate::common;

use artwall::server::http::visitor::VisitorId;
use artwall::server::{bench::synthetic, discovery::paintings};
use artwall::types::{SavedList, ScoredCard, SearchResults};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use uuid::Uuid;

const VISITOR: &str = "5b7e2c1a-3d4f-4e6a-9b8c-1d2e3f4a5b6c";

fn visitor() -> VisitorId {
    VisitorId(Uuid::parse_str(VISITOR).unwrap())
}

async fn send(app: &common::TestApp, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = app.send_text(request).await;
    (status, body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).header(header::COOKIE, common::visitor_cookie(VISITOR)).body(Body::empty()).unwrap()
}

fn set_saved(id: i64, saved: bool, source: &str) -> Request<Body> {
    Request::post("/api/saved/set")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, common::visitor_cookie(VISITOR))
        .body(Body::from(format!("paintingId={id}&saved={saved}&source={source}")))
        .unwrap()
}

#[sqlx::test]
async fn saving_lists_newest_first_and_unsaving_removes(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let ids = synthetic::insert(&db, &synthetic::clustered(5, 2, 0.5, 1), "d").await.unwrap();
    let (_, body) = send(&app, get("/api/saved")).await;
    assert!(serde_json::from_str::<SavedList>(&body).unwrap().items.is_empty());
    let (status, page) = send(&app, get("/saved")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("还没有收藏"), "an empty state");

    for id in [ids[2], ids[0], ids[4]] {
        let (status, body) = send(&app, set_saved(id, true, "feed")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(send(&app, set_saved(ids[0], false, "saved")).await.0, StatusCode::OK);
    let (_, body) = send(&app, get("/api/saved")).await;
    let listed: Vec<i64> = serde_json::from_str::<SavedList>(&body).unwrap().items.iter().map(|c| c.id).collect();
    assert_eq!(listed, vec![ids[4], ids[2]], "newest first, unsaved gone");
    let (_, page) = send(&app, get("/saved")).await;
    assert!(page.replace("<!>", "").contains("2 幅画作"), "its count, in the page's language (Chinese)");

    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM activities WHERE event_type IN ('save', 'unsave')")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(events, 4, "each one is an activity for the taste worker");
    assert_eq!(send(&app, set_saved(987_654, true, "feed")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, set_saved(ids[1], true, "email")).await.0, StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn an_unpublished_painting_cannot_be_saved(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let ids = synthetic::insert(&db, &synthetic::clustered(2, 1, 0.5, 1), "u").await.unwrap();
    sqlx::query("UPDATE paintings SET published = false WHERE id = $1").bind(ids[1]).execute(&db).await.unwrap();
    assert_eq!(send(&app, set_saved(ids[1], true, "feed")).await.0, StatusCode::NOT_FOUND, "like an unknown one");
    assert_eq!(send(&app, set_saved(ids[0], true, "feed")).await.0, StatusCode::OK);
    let saved: i64 = sqlx::query_scalar("SELECT count(*) FROM saved_paintings").fetch_one(&db).await.unwrap();
    assert_eq!(saved, 1);
}

#[sqlx::test]
async fn more_like_this_is_nearest_first_without_itself_or_hidden(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let catalogue = synthetic::clustered(60, 6, 0.5, 2);
    let ids = synthetic::insert(&db, &catalogue, "d").await.unwrap();
    let same_cluster: Vec<i64> =
        ids.iter().zip(&catalogue.paintings).filter(|(_, (c, _))| *c == 0).map(|(id, _)| *id).collect();
    sqlx::query("INSERT INTO hidden_paintings (visitor_id, painting_id) VALUES ($1, $2)")
        .bind(visitor().0)
        .bind(same_cluster[1])
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE paintings SET published = false WHERE id = $1")
        .bind(same_cluster[2])
        .execute(&db)
        .await
        .unwrap();

    let (status, body) = send(&app, get(&format!("/api/painting/similar?id={}", same_cluster[0]))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let similar: Vec<ScoredCard> = serde_json::from_str(&body).unwrap();
    let ids_out: Vec<i64> = similar.iter().map(|s| s.card.id).collect();
    assert_eq!(similar.len(), 8);
    assert!(
        !ids_out.contains(&same_cluster[0])
            && !ids_out.contains(&same_cluster[1])
            && !ids_out.contains(&same_cluster[2])
    );
    assert!(similar.windows(2).all(|w| w[0].similarity >= w[1].similarity));
    assert!(similar.iter().take(5).all(|s| same_cluster.contains(&s.card.id)), "its own cluster comes first");
    assert_eq!(send(&app, get("/api/painting/similar?id=987654")).await.0, StatusCode::NOT_FOUND);

    let page = paintings::detail(&db, &db, same_cluster[0], visitor()).await.unwrap();
    assert!(!page.saved);
}

#[sqlx::test]
async fn search_finds_colours_honestly_and_checks_its_input(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    app.import_demo(40).await;

    let (status, body) = send(&app, get("/api/search?q=%20%20")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("请输入要搜索的内容"), "{body}");
    let (status, body) = send(&app, get(&format!("/api/search?q={}", "x".repeat(201)))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("搜索内容最多 200 个字符"), "{body}");

    let (status, body) = send(&app, get("/api/search?q=dark%20night")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let found: SearchResults = serde_json::from_str(&body).unwrap();
    assert!(found.colour_only_model);
    assert!(!found.items.is_empty());
    assert!(found.items.iter().all(|i| i.similarity >= 0.15), "above the floor");
    assert!(found.items.windows(2).all(|w| w[0].similarity >= w[1].similarity));

    // The stand-in cannot read subjects: an honest "no close matches", not random paintings.
    let (_, body) = send(&app, get("/api/search?q=a%20cat")).await;
    let found: SearchResults = serde_json::from_str(&body).unwrap();
    assert!(found.items.is_empty());
    let (status, page) = send(&app, get("/search?q=a%20cat")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.replace("<!>", "").contains("没有与“a cat”相近的画作") && page.contains("只理解表示颜色和光线的英文词")
    );

    let logged: Vec<String> =
        sqlx::query_scalar("SELECT metadata->>'query' FROM activities WHERE event_type = 'search' ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(logged, ["dark night", "a cat", "a cat"]);
}
