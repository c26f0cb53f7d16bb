//! `artwall bench-feed`: feed latency on a large synthetic catalogue (clustered vectors), for a
//! visitor who has seen 0, 1k and 10k paintings. Prints figures; asserts nothing. Runs only in a
//! database whose name contains "bench": it replaces the catalogue there.

use std::time::{Duration, Instant};

use pgvector::Vector;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::AppError;
use crate::server::error::ServerResult;
use crate::server::feed::{self, FeedSettings, Landmarks};
use crate::server::synthetic;
use crate::server::visitor::VisitorId;

const CLUSTERS: usize = 200;

/// Refuses to run outside a database whose name says it is for benchmarks: they replace data.
pub async fn require_bench_database(db: &PgPool, command: &str) -> ServerResult<()> {
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(db).await?;
    if !database.contains("bench") {
        return Err(AppError::Invalid(format!("{command} replaces data; run it on a database named *bench*, not {database}")).into());
    }
    Ok(())
}

/// Makes sure the catalogue is exactly `paintings` synthetic clustered paintings.
pub async fn ensure_synthetic_catalogue(db: &PgPool, paintings: usize) -> ServerResult<synthetic::Clustered> {
    let catalogue = synthetic::clustered(paintings, CLUSTERS, 0.8, 100);
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM paintings WHERE source_key LIKE 'bench:%'").fetch_one(db).await?;
    if present != paintings as i64 {
        let started = Instant::now();
        sqlx::query("TRUNCATE paintings CASCADE").execute(db).await?;
        // Bulk load without the index, then build it once: far faster than row-by-row inserts.
        sqlx::query("DROP INDEX IF EXISTS paintings_embedding_hnsw").execute(db).await?;
        synthetic::insert(db, &catalogue, "bench").await?;
        let mut conn = db.acquire().await?;
        sqlx::query("SET maintenance_work_mem = '2GB'").execute(&mut *conn).await?;
        sqlx::query("CREATE INDEX paintings_embedding_hnsw ON paintings USING hnsw (embedding vector_cosine_ops)").execute(&mut *conn).await?;
        println!("loaded {paintings} synthetic paintings in {CLUSTERS} clusters and built the HNSW index in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(catalogue)
}

pub async fn run(db: &PgPool, paintings: usize, requests: usize) -> ServerResult<()> {
    require_bench_database(db, "bench-feed").await?;
    let catalogue = ensure_synthetic_catalogue(db, paintings).await?;
    let settings = FeedSettings::default();
    let landmarks = Landmarks::default();
    println!("seen    feed p50   feed p95   raw p50    raw p95    short pages   recall@24");
    for (round, seen) in [0usize, 1_000, 10_000].into_iter().enumerate() {
        let visitor = VisitorId(Uuid::new_v4());
        let taste = Vector::from(catalogue.centres[round].clone());
        sqlx::query("INSERT INTO user_preferences (visitor_id, taste) VALUES ($1, $2)").bind(visitor.0).bind(&taste).execute(db).await?;
        // The seen paintings are exactly the top of this visitor's ranking (exact scan).
        let mut tx = db.begin().await?;
        sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO shown_paintings (visitor_id, painting_id) SELECT $1, id FROM paintings ORDER BY embedding <=> $2 LIMIT $3")
            .bind(visitor.0)
            .bind(&taste)
            .bind(seen as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let (raw, recall) = raw_and_recall(db, visitor, &taste, requests).await?;
        let mut timings = Vec::with_capacity(requests);
        let mut short = 0;
        let mut cursor = Some(seen.to_string());
        for _ in 0..requests {
            let started = Instant::now();
            let page = feed::next_page(db, &landmarks, settings, visitor, cursor.as_deref(), Some(10)).await?;
            timings.push(started.elapsed());
            if page.items.len() < 10 && page.has_more {
                short += 1;
            }
            cursor = page.next_cursor;
        }
        println!(
            "{seen:<7} {:<10} {:<10} {:<10} {:<10} {short:<13} {recall:.3}",
            ms(percentile(&mut timings, 0.5)),
            ms(percentile(&mut timings, 0.95)),
            ms(percentile(&mut raw.clone(), 0.5)),
            ms(percentile(&mut raw.clone(), 0.95)),
        );
    }
    Ok(())
}

/// Times the nearest-unseen statement alone (same SQL, same settings, sqlx only), and measures
/// recall@24 of the index scan against an exact scan.
async fn raw_and_recall(db: &PgPool, visitor: VisitorId, taste: &Vector, requests: usize) -> ServerResult<(Vec<Duration>, f64)> {
    let sql = feed::nearest_unseen_sql();
    let settings = FeedSettings::default();
    // One run of the statement: its duration and the ids it returned.
    let run = |limit: i64, exact: bool| {
        let sql = sql.clone();
        async move {
            let mut tx = db.begin().await?;
            feed::set_scan_settings(&mut tx, settings.max_scan_tuples).await?;
            if exact {
                sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
            }
            let started = Instant::now();
            let rows = sqlx::query(&sql).bind(visitor.0).bind(taste).bind(limit).fetch_all(&mut *tx).await?;
            let elapsed = started.elapsed();
            tx.commit().await?;
            Ok::<_, crate::server::error::ServerError>((elapsed, rows.iter().map(|r| r.get::<i64, _>("id")).collect::<Vec<i64>>()))
        }
    };
    let mut timings = Vec::with_capacity(requests);
    for _ in 0..requests {
        timings.push(run(9, false).await?.0);
    }
    let exact: std::collections::HashSet<i64> = run(24, true).await?.1.into_iter().collect();
    let approx = run(24, false).await?.1;
    let recall = approx.iter().filter(|id| exact.contains(id)).count() as f64 / exact.len().max(1) as f64;
    Ok((timings, recall))
}

pub fn percentile(timings: &mut [Duration], q: f64) -> Duration {
    timings.sort();
    timings[((timings.len() as f64 - 1.0) * q).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
