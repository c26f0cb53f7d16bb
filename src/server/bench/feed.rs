//! `artwall-bench feed`: feed latency on a large synthetic catalogue (clustered vectors), for a
//! visitor who has seen 0, 1k and 10k paintings (exactly the top of their ranking, the worst
//! case): the feed server function as a browser calls it (GET /api/feed on the app served in this
//! process), the page function it calls, and the page's statement run raw. Also the deep scan that
//! refreshes a visitor's candidates, and recall@24 against an exact scan. Prints figures; asserts
//! nothing. Runs only in a database whose name contains "bench": it replaces the catalogue there.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use leptos::config::LeptosOptions;
use pgvector::Vector;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::AppError;
use crate::server::bench::ingest::http_error;
use crate::server::config::Config;
use crate::server::discovery::feed::{self, FeedSettings};
use crate::server::discovery::taste_model;
use crate::server::error::ServerResult;
use crate::server::http::visitor::{VisitorId, VISITOR_COOKIE};
use crate::server::infra::db::BeginCancelSafe;
use crate::server::{bench::synthetic, startup::router, state::AppState};
use crate::types::FeedPage;

const CLUSTERS: usize = 200;
/// Source keys of the synthetic catalogue; a new generator gets a new key, so it is rebuilt.
const CATALOGUE_KEY: &str = "bench-v2";

/// Refuses to run outside a database whose name says it is for benchmarks: they replace data.
pub async fn require_bench_database(db: &PgPool, command: &str) -> ServerResult<()> {
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(db).await?;
    if !database.contains("bench") {
        return Err(AppError::Invalid(format!(
            "{command} replaces data; run it on a database named *bench*, not {database}"
        ))
        .into());
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
        sqlx::query("CREATE INDEX paintings_embedding_hnsw ON paintings USING hnsw (embedding vector_cosine_ops)")
            .execute(&mut *conn)
            .await?;
        println!(
            "loaded {paintings} synthetic paintings in {CLUSTERS} clusters and built the HNSW index in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(catalogue)
}

/// Visitors per seen level whose deep scans and recall are measured (each with another cluster).
const RECALL_VISITORS: usize = 5;
/// ann-benchmarks' tolerance: a returned neighbour counts when it is no further from the query than
/// the true k-th neighbour plus this much, so that ties do not count as misses.
const RECALL_EPSILON: f64 = 1e-3;

pub async fn run(
    config: Config,
    leptos_options: LeptosOptions,
    db: PgPool,
    paintings: usize,
    requests: usize,
) -> ServerResult<()> {
    require_bench_database(&db, "artwall-bench feed").await?;
    let catalogue = ensure_synthetic_catalogue(&db, paintings).await?;
    // The load generator is one visitor at one address: lift the feed's rate limit for it.
    let state =
        AppState::with_pool(Config { rate_feed_per_minute: u32::MAX, ..config }, leptos_options, db.clone()).await?;
    let settings = state.feed_settings();
    // The server keeps its landmarks for minutes; build them before timing, as a running server has.
    state.landmarks.get(&db).await?;
    let server = serve_in_process(state.clone()).await?;
    // The planner's row estimate picks between index and exact deep scans, as it would after autovacuum.
    sqlx::query("ANALYZE paintings").execute(&db).await?;
    println!("{requests} pages of 10 per way, each for its own twin visitor; server fn = GET /api/feed over HTTP (cookie, JSON, middleware);");
    println!("page fn = the function it calls, in process; plain = the same without re-scoring (no liked paintings, no popularity);");
    println!("raw = the page's nearest-neighbour statement alone, on the same state; every visitor has liked {LIKED} paintings");
    println!("deep scan and recall@24: median and mean over {RECALL_VISITORS} visitors; recall±: ann-benchmarks' (ties within {RECALL_EPSILON} count)");
    println!("seen    fn p50     fn p95     fn p99     page p50   page p95   plain p50  plain p95  raw p50    raw p95    deep scan  short pages  recall@24  recall±");
    for (round, seen) in [0usize, 1_000, 10_000].into_iter().enumerate() {
        let mut visitors = Vec::with_capacity(RECALL_VISITORS);
        for centre in &catalogue.centres[round * RECALL_VISITORS..(round + 1) * RECALL_VISITORS] {
            visitors.push(visitor_who_has_seen(&db, Vector::from(centre.clone()), seen).await?);
        }
        let (mut deep_scans, mut recall, mut tolerant_recall) = (Vec::new(), 0.0, 0.0);
        for (visitor, taste) in &visitors {
            let measured = deep_scan_and_recall(&db, settings, *visitor, taste).await?;
            deep_scans.push(measured.deep_scan);
            recall += measured.recall / RECALL_VISITORS as f64;
            tolerant_recall += measured.tolerant_recall / RECALL_VISITORS as f64;
        }

        // Each way serves its own twin (same taste, same seen paintings, as many liked paintings,
        // each twin its own), so all three meet pages alike, deep scans included.
        let (visitor, taste) = &visitors[0];
        let (twin, _) = visitor_who_has_seen(&db, taste.clone(), seen).await?;
        let (plain_twin, _) = visitor_who_has_seen(&db, taste.clone(), seen).await?;
        let page_sql = feed::candidate_page_sql();
        let (mut over_http, mut in_process, mut plain, mut raw) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut short = 0;
        let ways = [
            (Way::Http, twin),
            (Way::InProcess(settings), *visitor),
            (Way::InProcess(FeedSettings { liked_weight: 0.0, popularity_weight: 0.0, ..settings }), plain_twin),
        ];
        let mut cursors = [Some(seen.to_string()), Some(seen.to_string()), Some(seen.to_string())];
        // The ways take turns page by page, so the machine's drift over the run falls on all alike.
        for _ in 0..requests {
            for ((way, visitor), (cursor, timings)) in
                ways.iter().zip(cursors.iter_mut().zip([&mut over_http, &mut in_process, &mut plain]))
            {
                let started = Instant::now();
                let page = match way {
                    Way::Http => server.feed_page(*visitor, cursor.as_deref()).await?,
                    Way::InProcess(settings) => {
                        feed::next_page(&db, &state.landmarks, *settings, *visitor, cursor.as_deref(), Some(10)).await?
                    }
                };
                timings.push(started.elapsed());
                if page.items.len() < 10 && page.has_more {
                    short += 1;
                }
                *cursor = page.next_cursor;
                // Side by side: the same statement the next page will run, on the state it will see.
                raw.push(run_raw(&db, *visitor, taste, &page_sql, 9, false).await?.0);
            }
        }
        println!(
            "{seen:<7} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {short:<12} {recall:<10.3} {tolerant_recall:.3}",
            ms(percentile(&mut over_http, 0.5)),
            ms(percentile(&mut over_http, 0.95)),
            ms(percentile(&mut over_http, 0.99)),
            ms(percentile(&mut in_process, 0.5)),
            ms(percentile(&mut in_process, 0.95)),
            ms(percentile(&mut plain, 0.5)),
            ms(percentile(&mut plain, 0.95)),
            ms(percentile(&mut raw, 0.5)),
            ms(percentile(&mut raw, 0.95)),
            ms(percentile(&mut deep_scans, 0.5)),
        );
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Way {
    Http,
    InProcess(FeedSettings),
}

/// Paintings each bench visitor has liked lately (the most the feed uses).
const LIKED: usize = taste_model::LIKED_CENTRES;

/// The app, served on a free local port for the rest of the run, and a client for its feed.
struct InProcessServer {
    client: reqwest::Client,
    feed: url::Url,
    keys: std::sync::Arc<crate::server::http::visitor::VisitorKeys>,
}

async fn serve_in_process(state: AppState) -> ServerResult<InProcessServer> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let feed = url::Url::parse(&format!("http://{}/api/feed", listener.local_addr()?))
        .map_err(|e| AppError::invalid(e.to_string()))?;
    // Connect info gives the rate limits each client's address, as in `serve`.
    let keys = state.visitor_keys.clone();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder().build().map_err(http_error)?;
    Ok(InProcessServer { client, feed, keys })
}

impl InProcessServer {
    async fn feed_page(&self, visitor: VisitorId, cursor: Option<&str>) -> ServerResult<FeedPage> {
        let mut query = vec![("limit", "10")];
        query.extend(cursor.map(|cursor| ("cursor", cursor)));
        let response = self
            .client
            .get(self.feed.clone())
            .query(&query)
            .header(reqwest::header::COOKIE, format!("{VISITOR_COOKIE}={}", self.keys.sign(visitor)))
            .send()
            .await
            .map_err(http_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(AppError::invalid(format!("the feed answered {status}: {body}")).into());
        }
        response.json().await.map_err(http_error)
    }
}

/// A new visitor with this taste who has seen exactly the top `seen` of its ranking (exact scan),
/// and liked `LIKED` paintings spread over the catalogue (the most the learner weighs; the
/// `LIKED_KEPT` that weigh most are each a search of their own).
async fn visitor_who_has_seen(db: &PgPool, taste: Vector, seen: usize) -> ServerResult<(VisitorId, Vector)> {
    let visitor = VisitorId(Uuid::new_v4());
    sqlx::query(
        "INSERT INTO user_preferences (visitor_id, taste, taste_strength, liked, liked_weights, interaction_count)
         VALUES ($1, $2, 5, ARRAY(SELECT id FROM paintings ORDER BY md5(id::text || $1::text) LIMIT $3),
                 ARRAY(SELECT (1 + n % 3)::real FROM generate_series(1, $3) AS n), 20)",
    )
    .bind(visitor.0)
    .bind(&taste)
    .bind(LIKED as i64)
    .execute(db)
    .await?;
    let mut tx = db.begin_cancel_safe().await?;
    sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
    sqlx::query("INSERT INTO shown_paintings (visitor_id, painting_id) SELECT $1, id FROM paintings ORDER BY embedding <=> $2 LIMIT $3")
        .bind(visitor.0)
        .bind(&taste)
        .bind(seen as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // As the taste worker would have, with index scans.
    let mut tx = db.begin_cancel_safe().await?;
    feed::find_liked_near(&mut tx, visitor.0).await?;
    tx.commit().await?;
    Ok((visitor, taste))
}

/// One run of a feed statement alone (same SQL, same settings, sqlx only, read only): its
/// duration and the ids it returned; `exact` turns the index off.
async fn run_raw(
    db: &PgPool,
    visitor: VisitorId,
    taste: &Vector,
    sql: &str,
    limit: i64,
    exact: bool,
) -> ServerResult<(Duration, Vec<i64>)> {
    let mut tx = db.begin_cancel_safe().await?;
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

struct DeepScan {
    deep_scan: Duration,
    recall: f64,
    tolerant_recall: f64,
}

/// For the visitor as they start: how long the feed's deep scan for candidates takes (rolled
/// back, so the visitor is left as it was), and recall@24 of the page pipeline (deep scan, then
/// exact re-ranking) against an exact scan of the catalogue, strictly by id and with
/// ann-benchmarks' tolerance for ties.
async fn deep_scan_and_recall(
    db: &PgPool,
    settings: FeedSettings,
    visitor: VisitorId,
    taste: &Vector,
) -> ServerResult<DeepScan> {
    let mut tx = db.begin_cancel_safe().await?;
    feed::set_scan_settings(&mut tx, settings.max_scan_tuples).await?;
    let started = Instant::now();
    let (candidates, _) = feed::find_candidates(&mut tx, settings, visitor, taste).await?;
    let deep_scan = started.elapsed();
    tx.rollback().await?;
    let found = nearest_24(db, taste, &candidates).await?;
    let exact_ids = run_raw(db, visitor, taste, &feed::nearest_unseen_sql(), 24, true).await?.1;
    let exact = nearest_24(db, taste, &exact_ids).await?;
    let exact_set: HashSet<i64> = exact.iter().map(|(id, _)| *id).collect();
    let threshold = exact.last().map_or(f64::INFINITY, |(_, distance)| distance + RECALL_EPSILON);
    let share = |hits: usize| hits as f64 / exact.len().max(1) as f64;
    Ok(DeepScan {
        deep_scan,
        recall: share(found.iter().filter(|(id, _)| exact_set.contains(id)).count()),
        tolerant_recall: share(found.iter().filter(|(_, distance)| *distance <= threshold).count()),
    })
}

/// The 24 of these paintings nearest the taste, with their cosine distances, nearest first.
async fn nearest_24(db: &PgPool, taste: &Vector, ids: &[i64]) -> ServerResult<Vec<(i64, f64)>> {
    Ok(sqlx::query_as("SELECT id, embedding <=> $2 FROM paintings WHERE id = ANY($1) ORDER BY 2 LIMIT 24")
        .bind(ids)
        .bind(taste)
        .fetch_all(db)
        .await?)
}

pub fn percentile(timings: &mut [Duration], q: f64) -> Duration {
    timings.sort();
    timings[((timings.len() as f64 - 1.0) * q).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
