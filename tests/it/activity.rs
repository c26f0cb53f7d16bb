//! Activity ingestion over HTTP and the taste worker, against real Postgres.

use crate::common;

use std::collections::HashMap;

use artwall::events::EventKind;
use artwall::server::infra::clip::cosine;
use artwall::server::{bench::synthetic, discovery::taste, discovery::taste_model, discovery::taste_worker};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

const VISITOR: &str = "3f2a6c1e-8d4b-4c1a-9e2f-7b6d5a4c3b2a";

async fn post(app: &common::TestApp, body: impl Into<Body>) -> (StatusCode, Value) {
    let request = Request::post("/api/activity")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, common::visitor_cookie(VISITOR))
        .body(body.into())
        .unwrap();
    let response = app.router().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn event(kind: &str, painting: Option<i64>) -> Value {
    let mut e = json!({"id": Uuid::new_v4(), "type": kind, "position": 3, "source": "feed"});
    if let Some(id) = painting {
        e["paintingId"] = json!(id);
    }
    e
}

async fn paintings(db: &PgPool, n: usize) -> (synthetic::Clustered, Vec<i64>) {
    let catalogue = synthetic::clustered(n, 4, 0.6, 9);
    let ids = synthetic::insert(db, &catalogue, "a").await.unwrap();
    (catalogue, ids)
}

/// An activity row as stored: visitor, event type, position, source, metadata, processed.
type StoredActivity = (Uuid, String, Option<i32>, Option<String>, Value, bool);
#[sqlx::test]
async fn a_valid_batch_is_stored_and_answered_at_once(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (_, ids) = paintings(&db, 4).await;
    let mut view = event("view", Some(ids[1]));
    view["metadata"] = json!({"dwellTimeMs": 4200, "scrollDepth": 0.4});
    let batch = json!({"events": [event("session_start", None), event("impression", Some(ids[0])), view,
                                   event("teleport", Some(ids[0])), event("click", Some(999_999))]});
    let (status, body) = post(&app, batch.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["logged"], 3);
    let statuses: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["logged", "logged", "logged", "rejected", "rejected"]);
    assert_eq!(
        body["results"][4]["error"], "画作 999999 不存在",
        "unknown paintings are named, in the reader's language"
    );

    let rows: Vec<StoredActivity> = sqlx::query_as(
        "SELECT visitor_id, event_type, position, source, metadata, processed FROM activities ORDER BY id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.0.to_string() == VISITOR && !r.5), "the cookie's visitor, unprocessed");
    assert_eq!(rows[2].1, "view");
    assert_eq!(rows[2].2, Some(3));
    assert_eq!(rows[2].4["dwellTimeMs"], 4200);

    // Re-sending the same batch (the browser could not tell it arrived) stores nothing twice.
    let (status, body) = post(&app, batch.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["logged"], 0);
    assert_eq!(body["results"][1]["status"], "duplicate");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM activities").fetch_one(&db).await.unwrap();
    assert_eq!(count, 3);
}

#[sqlx::test]
async fn bad_batches_get_clear_errors(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (status, body) = post(&app, "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("无法读取的浏览记录"), "{body}");
    let (status, _) = post(&app, json!({"events": []}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let too_many: Vec<Value> = (0..101).map(|_| event("session_end", None)).collect();
    let (status, body) = post(&app, json!({"events": too_many}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("每批须有 1 到 100 条记录"), "{body}");
    // A body over the route's limit is refused by axum itself, in the API's error shape too.
    let (status, body) = post(&app, format!("{{\"events\": \"{}\"}}", "x".repeat(70 * 1024))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "tooLarge", "{body}");
    assert_eq!(body["message"], "请求内容过大", "in the reader's language: {body}");
    let (status, _) =
        post(&app, json!({"visitorId": Uuid::new_v4(), "events": [event("session_start", None)]}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the visitor comes from the cookie, never the body");
    let (status, _) = post(&app, vec![b' '; 70 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM activities").fetch_one(&db).await.unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test]
async fn saves_and_hides_take_effect_before_the_worker_runs(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (_, ids) = paintings(&db, 4).await;
    let batch = json!({"events": [event("save", Some(ids[0])), event("save", Some(ids[1])), event("unsave", Some(ids[1])), event("hide", Some(ids[2]))]});
    assert_eq!(post(&app, batch.to_string()).await.0, StatusCode::OK);
    let saved: Vec<i64> = sqlx::query_scalar("SELECT painting_id FROM saved_paintings").fetch_all(&db).await.unwrap();
    let hidden: Vec<i64> = sqlx::query_scalar("SELECT painting_id FROM hidden_paintings").fetch_all(&db).await.unwrap();
    assert_eq!((saved, hidden), (vec![ids[0]], vec![ids[2]]));
}

/// Events for several visitors, as (visitor, type, painting index, dwell).
fn scripted_events(visitors: &[Uuid], n: usize) -> Vec<(Uuid, &'static str, usize, Option<i64>)> {
    let kinds = ["impression", "view", "click", "save", "share", "hide", "unsave", "view"];
    (0..n)
        .map(|i| {
            (
                visitors[i % visitors.len()],
                kinds[(i * 7 + i / 3) % kinds.len()],
                (i * 13) % 40,
                Some(((i * 911) % 9000) as i64),
            )
        })
        .collect()
}

async fn store(db: &PgPool, events: &[(Uuid, &str, usize, Option<i64>)], ids: &[i64]) {
    for (visitor, kind, painting, dwell) in events {
        sqlx::query("INSERT INTO activities (visitor_id, event_type, painting_id, metadata) VALUES ($1, $2, $3, $4)")
            .bind(visitor)
            .bind(kind)
            .bind(ids[*painting])
            .bind(json!({"dwellTimeMs": dwell}))
            .execute(db)
            .await
            .unwrap();
    }
}

/// The taste each visitor should end with, applying the rule in order.
fn expected_tastes(
    events: &[(Uuid, &str, usize, Option<i64>)],
    embeddings: &[Vec<f32>],
) -> HashMap<Uuid, (Option<Vec<f32>>, i32)> {
    let mut out: HashMap<Uuid, (Option<Vec<f32>>, i32)> = HashMap::new();
    for (visitor, kind, painting, dwell) in events {
        let entry = out.entry(*visitor).or_default();
        let weight = taste::weight(EventKind::parse(kind).expect("a known event kind"), *dwell);
        if weight != 0.0 {
            entry.0 = taste::apply(entry.0.take(), &embeddings[*painting], weight);
            entry.1 += 1;
        }
    }
    out
}

/// These tests check the seed rule's arithmetic exactly; `learning` covers the ordinal learner.
fn seed_rule() -> taste_worker::TasteLearner {
    taste_worker::TasteLearner::new(artwall::server::config::TasteLearnerKind::Seed)
}

async fn assert_tastes(db: &PgPool, expected: &HashMap<Uuid, (Option<Vec<f32>>, i32)>) {
    for (visitor, (taste, count)) in expected {
        let (stored, stored_count): (Option<pgvector::Vector>, i32) =
            sqlx::query_as("SELECT taste, interaction_count FROM user_preferences WHERE visitor_id = $1")
                .bind(visitor)
                .fetch_one(db)
                .await
                .unwrap();
        assert_eq!(stored_count, *count, "interaction count of {visitor}");
        match (stored, taste) {
            (Some(stored), Some(taste)) => {
                assert!(cosine(&stored.to_vec(), taste) > 0.99999, "taste of {visitor} matches the in-order rule")
            }
            (None, None) => {}
            (stored, taste) => {
                panic!("taste of {visitor}: stored {:?}, expected {:?}", stored.is_some(), taste.is_some())
            }
        }
    }
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activities WHERE NOT processed").fetch_one(db).await.unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test]
async fn the_worker_applies_each_visitors_events_in_order(db: PgPool) {
    let (catalogue, ids) = paintings(&db, 40).await;
    let embeddings: Vec<Vec<f32>> = catalogue.paintings.iter().map(|(_, e)| e.clone()).collect();
    let visitors: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let events = scripted_events(&visitors, 60);
    store(&db, &events, &ids).await;
    assert_eq!(taste_worker::process_available(&db, &seed_rule()).await.unwrap(), 60);
    assert_tastes(&db, &expected_tastes(&events, &embeddings)).await;
    assert_eq!(taste_worker::process_available(&db, &seed_rule()).await.unwrap(), 0, "nothing is applied twice");
}

#[sqlx::test]
async fn a_long_backlog_is_learned_in_bounded_batches_in_order(db: PgPool) {
    let (catalogue, ids) = paintings(&db, 40).await;
    let embeddings: Vec<Vec<f32>> = catalogue.paintings.iter().map(|(_, e)| e.clone()).collect();
    let visitor = Uuid::new_v4();
    let backlog = 2 * taste_worker::EVENTS_PER_VISITOR_BATCH as usize + 7;
    let events = scripted_events(&[visitor], backlog);
    store(&db, &events, &ids).await;
    let mut rounds = Vec::new();
    loop {
        let applied = taste_worker::process_available(&db, &seed_rule()).await.unwrap();
        if applied == 0 {
            break;
        }
        rounds.push(applied);
        assert!(rounds.len() <= 3, "more rounds than the backlog needs: {rounds:?}");
    }
    assert_eq!(rounds, [500, 500, 7]);
    assert_tastes(&db, &expected_tastes(&events, &embeddings)).await;
}

#[sqlx::test]
async fn a_failed_round_applies_nothing_and_loses_nothing(db: PgPool) {
    let (_, ids) = paintings(&db, 40).await;
    let visitor = Uuid::new_v4();
    // A count about to overflow makes the update fail after the taste is computed.
    sqlx::query("INSERT INTO user_preferences (visitor_id, interaction_count) VALUES ($1, 2147483647)")
        .bind(visitor)
        .execute(&db)
        .await
        .unwrap();
    store(&db, &[(visitor, "save", 1, None), (visitor, "click", 2, None)], &ids).await;
    assert!(taste_worker::process_visitor(&db, &seed_rule(), visitor).await.is_err());
    let (taste, unprocessed): (Option<pgvector::Vector>, i64) = sqlx::query_as(
        "SELECT (SELECT taste FROM user_preferences WHERE visitor_id = $1), (SELECT count(*) FROM activities WHERE NOT processed)",
    )
    .bind(visitor)
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(taste.is_none(), "the taste did not change");
    assert_eq!(unprocessed, 2, "the events wait for the next round");
}

#[sqlx::test]
async fn two_workers_share_one_queue_safely(db: PgPool) {
    let (catalogue, ids) = paintings(&db, 40).await;
    let embeddings: Vec<Vec<f32>> = catalogue.paintings.iter().map(|(_, e)| e.clone()).collect();
    let visitors: Vec<Uuid> = (0..12).map(|_| Uuid::new_v4()).collect();
    let events = scripted_events(&visitors, 600);
    store(&db, &events, &ids).await;
    // A round with nothing to do means the other worker holds what is left; a queue that stays
    // stuck fails after 30 s instead of spinning.
    let work = |db: PgPool| async move {
        let (mut total, deadline) = (0, std::time::Instant::now() + std::time::Duration::from_secs(30));
        loop {
            let n = taste_worker::process_available(&db, &seed_rule()).await.unwrap();
            if n == 0 {
                let left: i64 = sqlx::query_scalar("SELECT count(*) FROM activities WHERE NOT processed")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                if left == 0 {
                    return total;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{left} events still unprocessed after 30 s ({total} applied by this worker)"
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            total += n;
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(work(db.clone())), tokio::spawn(work(db.clone())));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a + b, 600, "every event processed exactly once ({a} + {b})");
    assert_tastes(&db, &expected_tastes(&events, &embeddings)).await;
}

#[sqlx::test]
async fn events_about_an_unpublished_painting_are_refused_like_unknown_ones(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (_, ids) = paintings(&db, 2).await;
    sqlx::query("UPDATE paintings SET published = false WHERE id = $1").bind(ids[1]).execute(&db).await.unwrap();
    let batch =
        json!({"events": [event("click", Some(ids[0])), event("click", Some(ids[1])), event("hide", Some(ids[1]))]});
    let (status, body) = post(&app, batch.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let statuses: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["logged", "rejected", "rejected"]);
    assert!(body["results"][1]["error"].as_str().unwrap().contains("不存在"), "{body}");
    let hidden: i64 = sqlx::query_scalar("SELECT count(*) FROM hidden_paintings").fetch_one(&db).await.unwrap();
    assert_eq!(hidden, 0, "a refused hide changes nothing");
}

/// The visitor's liked paintings, as indices into `ids`, newest first.
async fn liked(db: &PgPool, visitor: Uuid, ids: &[i64]) -> Vec<usize> {
    let liked: Vec<i64> = sqlx::query_scalar("SELECT unnest(liked) FROM user_preferences WHERE visitor_id = $1")
        .bind(visitor)
        .fetch_all(db)
        .await
        .unwrap();
    liked.iter().map(|id| ids.iter().position(|i| i == id).unwrap()).collect()
}

/// Each counted painting's index in `ids` and its (shown, liked, hidden) counts.
async fn reaction_counts(db: &PgPool, ids: &[i64]) -> HashMap<usize, (i32, i32, i32)> {
    let rows: Vec<(i64, i32, i32, i32)> =
        sqlx::query_as("SELECT painting_id, shown, liked, hidden FROM painting_reactions").fetch_all(db).await.unwrap();
    rows.into_iter()
        .map(|(id, shown, liked, hidden)| (ids.iter().position(|i| *i == id).unwrap(), (shown, liked, hidden)))
        .collect()
}

#[sqlx::test]
async fn the_ordinal_learner_keeps_what_was_liked_lately_and_counts_everyones_reactions(db: PgPool) {
    let (_, ids) = paintings(&db, 40).await;
    let (visitor, other) = (Uuid::new_v4(), Uuid::new_v4());
    let ordinal = taste_worker::TasteLearner::new(artwall::server::config::TasteLearnerKind::Ordinal);
    let mut events: Vec<(Uuid, &str, usize, Option<i64>)> = (0..8).map(|p| (visitor, "impression", p, None)).collect();
    events.extend([
        (visitor, "save", 1, None),
        (visitor, "view", 2, Some(6_000)),
        (visitor, "share", 2, None),
        (visitor, "click", 3, None),
        (visitor, "save", 4, None),
        (visitor, "unsave", 4, None),
        (visitor, "hide", 5, None),
        (visitor, "view", 0, Some(500)),
        (visitor, "save", 6, None),
        (visitor, "purchase", 7, None),
        (visitor, "save", 3, None),
        (other, "impression", 1, None),
        (other, "save", 1, None),
    ]);
    store(&db, &events, &ids).await;
    taste_worker::process_available(&db, &ordinal).await.unwrap();
    // Paintings viewed or better (a long view, a click, a save, a share, a purchase), the most
    // recently raised first (saving the clicked 3 raised it again), each with its weight; not
    // the unsaved 4 nor the glanced-at 0.
    assert_eq!(liked(&db, visitor, &ids).await, [3, 7, 6, 2, 1]);
    const { assert!(taste_model::LIKED_CENTRES >= 5) };
    let weights: Vec<f32> =
        sqlx::query_scalar("SELECT unnest(liked_weights) FROM user_preferences WHERE visitor_id = $1")
            .bind(visitor)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(weights.len(), 5);
    assert!(weights.iter().all(|w| w.is_finite()), "{weights:?}");

    store(&db, &[(visitor, "hide", 6, None)], &ids).await;
    taste_worker::process_available(&db, &ordinal).await.unwrap();
    assert_eq!(liked(&db, visitor, &ids).await, [3, 7, 2, 1], "a hide takes a like back");

    let counts = reaction_counts(&db, &ids).await;
    let counted = |p: usize| counts.get(&p).copied();
    assert_eq!(counted(1), Some((2, 2, 0)), "both visitors' impressions and saves");
    assert_eq!(counted(3), Some((1, 1, 0)), "a click and a save: one visitor's batch likes a painting once");
    assert_eq!(counted(4), Some((1, 0, 0)), "an unsave takes its save back");
    // An unsave of a like counted before takes it back; one of nothing counted takes nothing.
    store(&db, &[(other, "unsave", 4, None), (other, "unsave", 1, None)], &ids).await;
    taste_worker::process_available(&db, &ordinal).await.unwrap();
    let counts = reaction_counts(&db, &ids).await;
    let counted = |p: usize| counts.get(&p).copied();
    assert_eq!((counted(4), counted(1)), (Some((1, 0, 0)), Some((2, 1, 0))));
    assert_eq!(counted(6), Some((1, 1, 1)));
    assert_eq!(counted(0), Some((1, 0, 0)), "a glance is no like");
    assert_eq!(counted(8), None, "never shown");

    // Under the seed rule (the baseline, which learns no likes) everyone's reactions count too.
    store(&db, &[(other, "hide", 1, None)], &ids).await;
    taste_worker::process_available(&db, &seed_rule()).await.unwrap();
    assert_eq!(reaction_counts(&db, &ids).await[&1].2, 1);
}
