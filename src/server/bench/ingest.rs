//! `artwall-bench ingest`: how many activity events a running server accepts per second over
//! HTTP at a given concurrency, whether every accepted event is in the table afterwards, and how
//! fast the taste worker then processes them. Prints figures; asserts nothing.
//!
//! Run it against a server started with `ARTWALL_TASTE_WORKERS=0`, so the two phases are measured
//! apart (`make bench` does).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use sqlx::PgPool;
use url::Url;
use uuid::Uuid;

use crate::error::AppError;
use crate::server::discovery::activity::MAX_EVENTS;
use crate::server::discovery::taste_worker::{self, TasteLearner};
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::visitor::{VisitorId, VisitorKeys, VISITOR_COOKIE};

pub async fn run(
    db: &PgPool,
    keys: &VisitorKeys,
    learner: &Arc<TasteLearner>,
    server: &Url,
    events: usize,
    concurrency: usize,
    workers: usize,
) -> ServerResult<()> {
    let paintings: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM paintings WHERE published ORDER BY id LIMIT 200").fetch_all(db).await?;
    if paintings.is_empty() {
        return Err(AppError::invalid("artwall-bench ingest needs a catalogue; import one first").into());
    }
    let endpoint = server.join("/api/activity").map_err(|e| AppError::invalid(format!("server URL: {e}")))?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().map_err(http_error)?;
    let batches = events.div_ceil(MAX_EVENTS);
    let next_batch = Arc::new(AtomicUsize::new(0));
    let visitors: Vec<Uuid> = (0..concurrency).map(|_| Uuid::new_v4()).collect();
    let cookies = visitors.iter().map(|&visitor| format!("{VISITOR_COOKIE}={}", keys.sign(VisitorId(visitor))));

    let started = Instant::now();
    let mut senders = Vec::new();
    for cookie in cookies {
        let (client, endpoint, next_batch, paintings) =
            (client.clone(), endpoint.clone(), next_batch.clone(), paintings.clone());
        senders.push(tokio::spawn(async move {
            let mut logged = 0usize;
            while next_batch.fetch_add(1, Ordering::Relaxed) < batches {
                let body = json!({ "events": (0..MAX_EVENTS).map(|i| event(i, &paintings)).collect::<Vec<_>>() });
                let response = client
                    .post(endpoint.clone())
                    .header("cookie", &cookie)
                    .json(&body)
                    .send()
                    .await
                    .map_err(http_error)?;
                let status = response.status();
                let answer: Value = response.json().await.map_err(http_error)?;
                if !status.is_success() {
                    return Err(ServerError::from(AppError::invalid(format!("server answered {status}: {answer}"))));
                }
                logged += answer["logged"].as_u64().unwrap_or(0) as usize;
            }
            Ok(logged)
        }));
    }
    let mut accepted = 0;
    for sender in senders {
        accepted += sender.await??;
    }
    let accept_seconds = started.elapsed().as_secs_f64();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM activities WHERE visitor_id = ANY($1)")
        .bind(&visitors)
        .fetch_one(db)
        .await?;
    println!(
        "accepted {accepted} events in {accept_seconds:.2} s at concurrency {concurrency}: {:.0} events/s",
        accepted as f64 / accept_seconds
    );
    println!("stored {stored} of {accepted} accepted: {} lost", accepted as i64 - stored);

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let (db, learner) = (db.clone(), learner.clone());
        tasks.push(tokio::spawn(async move {
            while taste_worker::process_available(&db, &learner).await? > 0 {}
            ServerResult::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let work_seconds = started.elapsed().as_secs_f64();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM activities WHERE visitor_id = ANY($1) AND NOT processed")
        .bind(&visitors)
        .fetch_one(db)
        .await?;
    println!(
        "{} worker(s) processed {stored} events in {work_seconds:.2} s: {:.0} events/s ({left} left unprocessed)",
        workers.max(1),
        stored as f64 / work_seconds
    );
    Ok(())
}

/// A realistic mix: mostly impressions, some views with dwell, a few clicks.
fn event(i: usize, paintings: &[i64]) -> Value {
    let painting = paintings[i % paintings.len()];
    let (event_type, metadata) = match i % 10 {
        0..=5 => ("impression", json!({})),
        6..=8 => ("view", json!({ "dwellTimeMs": 1_200 + 400 * i })),
        _ => ("click", json!({})),
    };
    json!({ "id": Uuid::new_v4(), "type": event_type, "paintingId": painting, "position": i, "source": "feed", "metadata": metadata })
}

pub fn http_error(error: reqwest::Error) -> ServerError {
    ServerError::from(AppError::invalid(format!("HTTP: {error}")))
}
