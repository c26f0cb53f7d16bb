//! The process's metrics, through the `metrics` facade, rendered in Prometheus's text format at
//! `/metrics` for a scraper holding `ARTWALL_METRICS_TOKEN`. Every metric is named here once,
//! with the function that records it (the README lists them).
//!
//! Counters and histograms are this process's own (sum them across instances). The figures read
//! from the database at each scrape (backlog, import jobs, checkouts) are the whole shop's and
//! the same on every instance.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::server::admin::dashboard;
use crate::server::catalogue::import_jobs;
use crate::server::error::ServerResult;
use crate::server::shop::orders;
use crate::server::state::AppState;

const HTTP_REQUESTS: &str = "artwall_http_requests_total";
const HTTP_DURATION: &str = "artwall_http_request_duration_seconds";
const EVENTS_ACCEPTED: &str = "artwall_activity_events_accepted_total";
const BACKLOG: &str = "artwall_activity_backlog_events";
const BACKLOG_OLDEST: &str = "artwall_activity_backlog_oldest_seconds";
const EVENTS_LEARNED: &str = "artwall_taste_worker_events_learned_total";
const WORKER_LAG: &str = "artwall_taste_worker_lag_seconds";
const FEED_PAGES: &str = "artwall_feed_pages_total";
const WEBHOOKS: &str = "artwall_stripe_webhooks_total";
const CHECKOUTS: &str = "artwall_checkouts_total";
const IMPORT_JOBS: &str = "artwall_import_jobs";
const IMPORT_ITEMS: &str = "artwall_import_job_items";
const INFERENCE: &str = "artwall_model_inference_seconds";
const RATE_LIMITED: &str = "artwall_rate_limited_total";
const SHOP_FIGURES_READ: &str = "artwall_shop_figures_read";

/// Histogram buckets, in seconds: from a cached page (a millisecond) to a slow import (10 s).
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often histograms drain their samples into buckets, scraped or not (until then each
/// sample is held in memory).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the process's recorder (the facade has one per process) the first time it is called.
/// The server calls it before it records anything when metrics are scraped (a token is set);
/// without a recorder every recording is a no-op.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        describe();
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            })
            .expect("a thread for the metrics' upkeep");
        handle
    })
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "Requests answered, by method, matched route and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer a request, by method and matched route.");
    describe_counter!(EVENTS_ACCEPTED, "Activity events stored by POST /api/activity (duplicates not counted).");
    describe_gauge!(BACKLOG, "Activity events the taste worker has not learned yet (whole shop).");
    describe_gauge!(BACKLOG_OLDEST, Unit::Seconds, "Age of the oldest activity event not learned yet (whole shop).");
    describe_counter!(EVENTS_LEARNED, "Activity events the taste workers of this process learned.");
    describe_histogram!(WORKER_LAG, Unit::Seconds, "Age of the oldest event of each batch when it was learned.");
    describe_counter!(FEED_PAGES, "Feed pages, by where their nearest paintings came from.");
    describe_counter!(WEBHOOKS, "Stripe webhook deliveries, by event kind and outcome.");
    describe_counter!(
        CHECKOUTS,
        "Checkouts started (a Stripe session made) and orders paid, failed or expired (whole shop)."
    );
    describe_gauge!(IMPORT_JOBS, "Admin jobs (imports, re-embeds) by status (whole shop).");
    describe_gauge!(IMPORT_ITEMS, "Items of queued and running jobs: done, failed, remaining (whole shop).");
    describe_histogram!(INFERENCE, Unit::Seconds, "Model inference time per image or text, by modality.");
    describe_counter!(RATE_LIMITED, "Requests refused with 429, by rate-limit bucket.");
    describe_gauge!(
        SHOP_FIGURES_READ,
        "1 when this scrape read the shop's figures from the database, 0 when they are stale."
    );
}

/// Counts and times every request (to its response's headers: a streamed page's body may take
/// longer) under its matched route, never the raw path: that could hold an id and would make a
/// new series per id. Methods outside HTTP's usual ones are `other`, for the same reason.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = match *request.method() {
        Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::OPTIONS => {
            request.method().as_str().to_owned()
        }
        _ => "other".to_owned(),
    };
    let matched = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let path = request.uri().path();
    // Nested file services have no matched route of their own.
    let nested = ["/pkg/", "/media/"].into_iter().find(|prefix| path.starts_with(prefix));
    let response = next.run(request).await;
    let route = match (matched, nested) {
        (Some(route), _) => route,
        (None, Some(prefix)) => format!("{prefix}*"),
        (None, None) if response.status() == StatusCode::NOT_FOUND => "unmatched".to_owned(),
        // The site root's own files (the favicon).
        (None, None) => "/*".to_owned(),
    };
    let status = response.status().as_u16().to_string();
    counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(started.elapsed());
    response
}

/// `GET /metrics`: 404 unless a token is configured, 401 without it.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.config.metrics_token() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
    }
    // Without the database the process's own figures still go out, and say the rest are stale.
    let read = match read_shop_figures(&state).await {
        Ok(()) => 1.0,
        Err(error) => {
            tracing::warn!(%error, "metrics: the shop's figures could not be read");
            0.0
        }
    };
    gauge!(SHOP_FIGURES_READ).set(read);
    let handle = install();
    handle.run_upkeep();
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], handle.render()).into_response()
}

/// The whole shop's figures, read from the database as gauges (and counters that only grow).
async fn read_shop_figures(state: &AppState) -> ServerResult<()> {
    let db = &state.db;
    let ((backlog, oldest), jobs, checkouts) =
        tokio::try_join!(dashboard::backlog(db), import_jobs::progress(db), orders::checkout_counts(db))?;
    gauge!(BACKLOG).set(backlog as f64);
    gauge!(BACKLOG_OLDEST).set(oldest.unwrap_or(0) as f64);
    for (status, count) in jobs.by_status {
        gauge!(IMPORT_JOBS, "status" => status).set(count as f64);
    }
    for (items, count) in [("done", jobs.done), ("failed", jobs.failed), ("remaining", jobs.remaining)] {
        gauge!(IMPORT_ITEMS, "state" => items).set(count as f64);
    }
    for (outcome, count) in checkouts {
        counter!(CHECKOUTS, "outcome" => outcome).absolute(count.max(0) as u64);
    }
    Ok(())
}

pub fn events_accepted(count: usize) {
    counter!(EVENTS_ACCEPTED).increment(count as u64);
}

/// A batch the taste worker learned: its size and how long its oldest event had waited.
pub fn events_learned(count: usize, oldest_waited: Duration) {
    counter!(EVENTS_LEARNED).increment(count as u64);
    histogram!(WORKER_LAG).record(oldest_waited);
}

/// Where a feed page's nearest paintings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// The visitor's stored candidates, still near enough to the taste.
    Cache,
    /// A deep scan through the HNSW index (pgvector's iterative scan).
    IndexScan,
    /// A deep scan of the whole catalogue.
    ExactScan,
    /// No taste yet: the page is all exploration.
    NoTaste,
    /// A taste, but every slot of this (small) page went to exploration.
    ExplorationOnly,
}

pub fn feed_page(candidates: Candidates) {
    let label = match candidates {
        Candidates::Cache => "cache",
        Candidates::IndexScan => "index_scan",
        Candidates::ExactScan => "exact_scan",
        Candidates::NoTaste => "no_taste",
        Candidates::ExplorationOnly => "exploration_only",
    };
    counter!(FEED_PAGES, "candidates" => label).increment(1);
}

/// A webhook delivery: its event type (signed by Stripe, so from Stripe's own short list; empty
/// when the delivery was refused before it could be read) and what it did.
pub fn webhook(kind: &str, outcome: &'static str) {
    let kind = if kind.is_empty() { "unread" } else { kind };
    counter!(WEBHOOKS, "kind" => kind.to_owned(), "outcome" => outcome).increment(1);
}

/// `count` images (or texts) went through the model in `took`.
pub fn inference(modality: &'static str, count: usize, took: Duration) {
    let each = took / u32::try_from(count.max(1)).unwrap_or(u32::MAX);
    let histogram = histogram!(INFERENCE, "modality" => modality);
    (0..count).for_each(|_| histogram.record(each));
}

pub fn rate_limited(bucket: &'static str) {
    counter!(RATE_LIMITED, "bucket" => bucket).increment(1);
}
