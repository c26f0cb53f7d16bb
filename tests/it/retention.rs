//! Retention deletes what has aged out, through each table's owner, and nothing else: events the
//! worker has not learned from, recent ones, live sessions, and open exchanges stay.

use crate::common;

use artwall::server::admin::retention::{self, Deleted};
use artwall::server::infra::storage::Storage;
use sqlx::PgPool;
use uuid::Uuid;

async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[sqlx::test]
async fn aged_events_sessions_and_closed_exchanges_go_and_everything_else_stays(db: PgPool) {
    let visitor = Uuid::new_v4();
    // Activity: processed and old (goes), processed and recent, unprocessed and old (both stay).
    sqlx::query(
        "INSERT INTO activities (visitor_id, event_type, source, processed, created_at) VALUES
         ($1, 'session_start', 'feed', true, now() - interval '91 days'),
         ($1, 'session_start', 'feed', true, now() - interval '89 days'),
         ($1, 'session_start', 'feed', false, now() - interval '200 days')",
    )
    .bind(visitor)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO stripe_events (event_id, event_type, received_at) VALUES
         ('evt_old', 'x', now() - interval '31 days'), ('evt_recent', 'x', now() - interval '29 days')",
    )
    .execute(&db)
    .await
    .unwrap();
    let (admin, _live_session) = common::admin_session(&db).await;
    sqlx::query(
        "INSERT INTO admin_sessions (token_hash, admin_id, expires_at, revoked_at) VALUES
         ('\\x01', $1, now() - interval '2 days', NULL),
         ('\\x02', $1, now() + interval '2 hours', now() - interval '2 days'),
         ('\\x03', $1, now() - interval '2 hours', NULL)",
    )
    .bind(admin.id)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO legacy_visitors (visitor_id, listed_at, claimed_at) VALUES
         (gen_random_uuid(), now() - interval '91 days', NULL),
         (gen_random_uuid(), now(), now() - interval '11 minutes'),
         (gen_random_uuid(), now(), now() - interval '5 minutes'),
         (gen_random_uuid(), now(), NULL)",
    )
    .execute(&db)
    .await
    .unwrap();
    // Sign-in attempts: an ended minute (goes) and the current one (stays).
    sqlx::query(
        "INSERT INTO sign_in_attempts (network, window_started_at) VALUES
         ('203.0.113.7', now() - interval '61 seconds'), ('198.51.100.9', now())",
    )
    .execute(&db)
    .await
    .unwrap();

    let media = tempfile::tempdir().unwrap();
    let storage = Storage::local(media.path());
    let deleted = retention::run_once(&db, &storage, 90, 30).await.unwrap();
    assert_eq!(
        deleted,
        Deleted {
            activities: 1,
            stripe_events: 1,
            admin_sessions: 2,
            legacy_visitors: 2,
            replaced_room_photos: 0,
            sign_in_failures: 0,
            sign_in_attempts: 1
        }
    );
    assert_eq!(count(&db, "SELECT count(*) FROM activities").await, 2);
    assert_eq!(count(&db, "SELECT count(*) FROM activities WHERE NOT processed").await, 1, "unlearned events stay");
    assert_eq!(count(&db, "SELECT count(*) FROM stripe_events WHERE event_id = 'evt_recent'").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM admin_sessions").await, 2, "the live one and one ended 2 hours ago");
    assert_eq!(count(&db, "SELECT count(*) FROM legacy_visitors").await, 2, "open exchanges stay");
    assert_eq!(count(&db, "SELECT count(*) FROM sign_in_attempts").await, 1, "the current minute stays");
    assert_eq!(retention::run_once(&db, &storage, 90, 30).await.unwrap(), Deleted::default(), "nothing twice");

    // Ages below the floors are raised to them: the dashboard's week and Stripe's retries stay.
    sqlx::query("UPDATE activities SET processed = true, created_at = now() - interval '7 days'")
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE stripe_events SET received_at = now() - interval '3 days'").execute(&db).await.unwrap();
    assert_eq!(retention::run_once(&db, &storage, 1, 1).await.unwrap(), Deleted::default());
}

#[sqlx::test]
async fn before_learned_events_go_the_taste_they_taught_becomes_the_prior(db: PgPool) {
    use artwall::server::bench::synthetic;
    let ids = synthetic::insert(&db, &synthetic::clustered(2, 2, 0.5, 1), "retention").await.unwrap();
    let (old, recent) = (Uuid::new_v4(), Uuid::new_v4());
    let (prior, taste) = (pgvector::Vector::from(vec![0.1; 512]), pgvector::Vector::from(vec![0.2; 512]));
    for visitor in [old, recent] {
        sqlx::query(
            "INSERT INTO user_preferences (visitor_id, taste, prior, prior_at) VALUES ($1, $2, $3, now() - interval '100 days')",
        )
        .bind(visitor)
        .bind(&taste)
        .bind(&prior)
        .execute(&db)
        .await
        .unwrap();
    }
    // One visitor's refit window holds an event about to age out; the other's only a recent one.
    sqlx::query(
        "INSERT INTO activities (visitor_id, event_type, painting_id, source, processed, created_at) VALUES
         ($1, 'save', $3, 'feed', true, now() - interval '95 days'), ($2, 'save', $3, 'feed', true, now() - interval '5 days')",
    )
    .bind(old)
    .bind(recent)
    .bind(ids[0])
    .execute(&db)
    .await
    .unwrap();
    let media = tempfile::tempdir().unwrap();
    let deleted = retention::run_once(&db, &Storage::local(media.path()), 90, 30).await.unwrap();
    assert_eq!(deleted.activities, 1);
    let prior_of = |visitor: Uuid| {
        let db = db.clone();
        async move {
            let (prior,): (pgvector::Vector,) =
                sqlx::query_as("SELECT prior FROM user_preferences WHERE visitor_id = $1")
                    .bind(visitor)
                    .fetch_one(&db)
                    .await
                    .unwrap();
            prior
        }
    };
    assert_eq!(prior_of(old).await, taste, "what the deleted event taught is kept in the prior");
    assert_eq!(prior_of(recent).await, prior, "a window that keeps its events keeps its prior");
}
