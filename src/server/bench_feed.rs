//! `artwall bench-feed`: feed latency on a large synthetic catalogue (clustered vectors), for a
//! visitor who has seen 0, 1k and 10k paintings (exactly the top of their ranking, the worst
//! case), against the page's statement run raw. Also the deep scan that refreshes a visitor's
//! candidates, and recall@24 against an exact scan. Prints figures; asserts nothing. Runs only in a
//! database whose name contains "bench": it replaces the catalogue there.

use std::collections::HashSet;
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
/// Source keys of the synthetic catalogue; a new generator gets a new key, so it is rebuilt.
const CATALOGUE_KEY: &str = "bench-v2";

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
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM paintings WHERE source_key LIKE $1 || ':%'")
        .bind(CATALOGUE_KEY)
        .fetch_one(db)
        .await?;
    if present != paintings as i64 {
        let started = Instant::now();
        sqlx::query("TRUNCATE paintings CASCADE").execute(db).await?;
        // Bulk load without the index, then build it once: far faster than row-by-row inserts.
        sqlx::query("DROP INDEX IF EXISTS paintings_embedding_hnsw").execute(db).await?;
        synthetic::insert(db, &catalogue, CATALOGUE_KEY).await?;
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
    // The server keeps its landmarks for minutes; build them before timing, as a running server has.
    landmarks.get(db).await?;
    println!("{requests} pages of 10 per visitor; raw = the page's nearest-neighbour statement alone, on the same state");
    println!("seen    feed p50   feed p95   feed p99   raw p50    raw p95    deep scan  short pages  recall@24");
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

        let (deep_scan, recall) = deep_scan_and_recall(db, visitor, &taste).await?;
        let page_sql = feed::candidate_page_sql();
        let mut timings = Vec::with_capacity(requests);
        let mut raw = Vec::with_capacity(requests);
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
            // Side by side: the same statement the next page will run, on the state it will see.
            raw.push(run_raw(db, visitor, &taste, &page_sql, 9, false).await?.0);
        }
        println!(
            "{seen:<7} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {short:<12} {recall:.3}",
            ms(percentile(&mut timings, 0.5)),
            ms(percentile(&mut timings, 0.95)),
            ms(percentile(&mut timings, 0.99)),
            ms(percentile(&mut raw, 0.5)),
            ms(percentile(&mut raw, 0.95)),
            ms(deep_scan),
        );
    }
    Ok(())
}

/// One run of a feed statement alone (same SQL, same settings, sqlx only, read only): its
/// duration and the ids it returned; `exact` turns the index off.
async fn run_raw(db: &PgPool, visitor: VisitorId, taste: &Vector, sql: &str, limit: i64, exact: bool) -> ServerResult<(Duration, Vec<i64>)> {
    let mut tx = db.begin().await?;
    feed::set_scan_settings(&mut tx, FeedSettings::default().max_scan_tuples).await?;
    if exact {
        sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
    }
    let started = Instant::now();
    let rows = sqlx::query(sql).bind(visitor.0).bind(taste).bind(limit).fetch_all(&mut *tx).await?;
    let elapsed = started.elapsed();
    tx.commit().await?;
    Ok((elapsed, rows.iter().map(|r| r.get::<i64, _>("id")).collect()))
}

/// For the visitor as they start: how long the deep scan for candidates takes, and recall@24 of
/// the page pipeline (deep scan, then exact re-ranking) against an exact scan of the catalogue.
async fn deep_scan_and_recall(db: &PgPool, visitor: VisitorId, taste: &Vector) -> ServerResult<(Duration, f64)> {
    let scan = feed::nearest_unseen_sql();
    let (deep_scan, candidates) = run_raw(db, visitor, taste, &scan, feed::CANDIDATES, false).await?;
    let best: Vec<i64> = sqlx::query_scalar("SELECT id FROM paintings WHERE id = ANY($1) ORDER BY embedding <=> $2 LIMIT 24")
        .bind(&candidates)
        .bind(taste)
        .fetch_all(db)
        .await?;
    let exact: HashSet<i64> = run_raw(db, visitor, taste, &scan, 24, true).await?.1.into_iter().collect();
    let recall = best.iter().filter(|id| exact.contains(id)).count() as f64 / exact.len().max(1) as f64;
    Ok((deep_scan, recall))
}

pub fn percentile(timings: &mut [Duration], q: f64) -> Duration {
    timings.sort();
    timings[((timings.len() as f64 - 1.0) * q).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
