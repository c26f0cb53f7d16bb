//! Admin batch jobs: imports and re-embedding. A job is a `batch_jobs` row plus one
//! `batch_job_items` row per painting. Runners (one per server process) claim a job with
//! `FOR UPDATE SKIP LOCKED` and work through its pending items in chunks. An import downloads
//! with bounded concurrency through the SSRF-safe `Fetcher`, then decodes, embeds and stores
//! through the catalogue in one batch; a re-embed reads each stored image and replaces the
//! painting's vector in place, so the feed keeps working throughout.
//!
//! A runner keeps a heartbeat. A running job whose heartbeat is older than `STALE_AFTER` lost
//! its server (a restart, a crash) and is picked up again by the next runner: its finished
//! items stay finished, its pending ones are done. A job whose chunk fails for a reason that is
//! not the item's own (the database, the model) is marked interrupted, for an admin to resume.

use std::time::Duration;

use futures::StreamExt;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::AppError;
use crate::server::admin::audit;
use crate::server::catalogue::import::{parse_rows, ImportFormat};
use crate::server::catalogue::{AddFailure, AddOutcome, Catalogue, NewPainting, PaintingMeta, RawMeta};
use crate::server::error::ServerResult;
use crate::server::http::auth::Admin;
use crate::server::http::locale::message;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::infra::fetch::{FetchError, Fetcher};
use crate::types::{JobFailure, JobView, LocalTime};

/// Items downloaded, then embedded together.
const CHUNK: i64 = 8;
const HEARTBEAT: Duration = Duration::from_secs(5);
const STALE_AFTER_SECONDS: i64 = 30;
/// The most rows one import job takes.
pub const MAX_ITEMS: usize = 5_000;

/// One import row as stored on its item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportItem {
    label: String,
    meta: RawMeta,
    image_url: Option<String>,
}

/// Why a list was refused before any job was made.
#[derive(Debug, thiserror::Error)]
pub enum ImportRefused {
    #[error("nothing to import")]
    Empty,
    #[error("the list has no paintings")]
    NoPaintings,
    #[error("{count} paintings is more than {MAX_ITEMS} per job")]
    TooMany { count: usize },
    /// The parser's reason.
    #[error("unreadable list: {0}")]
    Unreadable(String),
    #[error("the file is not UTF-8 text")]
    NotText,
}

impl ImportRefused {
    /// The import form's fixed code for it (never free text in a link).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty | Self::NoPaintings => "empty",
            Self::TooMany { .. } => "too_many",
            Self::Unreadable(_) | Self::NotText => "unreadable",
        }
    }

    /// For the admin, in their language.
    pub fn message(&self) -> String {
        match self {
            Self::Empty => message!(import.empty),
            Self::NoPaintings => message!(import.no_paintings),
            Self::TooMany { count } => message!(import.too_many, max = MAX_ITEMS, count),
            Self::Unreadable(reason) => message!(import.unreadable, reason),
            Self::NotText => message!(import.not_text),
        }
    }
}

/// Parses the text (JSON in the seed's shape, or CSV) and queues an import job for it.
pub async fn create_import(db: &PgPool, admin: &Admin, text: &str) -> ServerResult<Uuid> {
    if text.trim().is_empty() {
        return Err(ImportRefused::Empty.into());
    }
    let rows = parse_rows(text, ImportFormat::sniff(text)).map_err(ImportRefused::Unreadable)?;
    if rows.is_empty() {
        return Err(ImportRefused::NoPaintings.into());
    }
    if rows.len() > MAX_ITEMS {
        return Err(ImportRefused::TooMany { count: rows.len() }.into());
    }
    let id = Uuid::new_v4();
    let items: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|row| {
            serde_json::to_value(ImportItem { label: row.label, meta: row.meta, image_url: row.image_url })
                .expect("plain data")
        })
        .collect();
    let mut tx = db.begin_cancel_safe().await?;
    sqlx::query("INSERT INTO batch_jobs (id, kind, status, total, created_by) VALUES ($1, 'import', 'queued', $2, $3)")
        .bind(id)
        .bind(items.len() as i32)
        .bind(admin.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO batch_job_items (job_id, position, payload)
         SELECT $1, (n - 1)::int, item FROM unnest($2::jsonb[]) WITH ORDINALITY AS t(item, n)",
    )
    .bind(id)
    .bind(&items)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        admin,
        "job.create",
        &format!("job:{id}"),
        None,
        Some(serde_json::json!({ "kind": "import", "total": items.len() })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(job = %id, total = items.len(), "import job queued");
    Ok(id)
}

/// Queues a job that embeds every painting again with the loaded model (after a model change).
/// The feed keeps working meanwhile: each painting's vector is replaced in place.
pub async fn create_reembed(db: &PgPool, admin: &Admin) -> ServerResult<Uuid> {
    let mut tx = db.begin_cancel_safe().await?;
    // One at a time: a second would only redo the first's work.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('artwall.reembed'))").execute(&mut *tx).await?;
    let active: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM batch_jobs WHERE kind = 'reembed' AND status IN ('queued', 'running', 'interrupted') LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(active) = active {
        return Err(AppError::invalid(message!(import.reembed_running, id = active)).into());
    }
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO batch_jobs (id, kind, status, created_by) VALUES ($1, 'reembed', 'queued', $2)")
        .bind(id)
        .bind(admin.id)
        .execute(&mut *tx)
        .await?;
    let total = sqlx::query(
        "INSERT INTO batch_job_items (job_id, position, payload)
         SELECT $1, (row_number() OVER (ORDER BY id) - 1)::int, jsonb_build_object('paintingId', id) FROM paintings",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE batch_jobs SET total = $2 WHERE id = $1").bind(id).bind(total as i32).execute(&mut *tx).await?;
    audit::record(
        &mut *tx,
        admin,
        "job.create",
        &format!("job:{id}"),
        None,
        Some(serde_json::json!({ "kind": "reembed", "total": total })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Failed items go back to pending and the job to the queue.
pub async fn retry_failed(db: &PgPool, admin: &Admin, id: Uuid) -> ServerResult<i64> {
    let mut tx = db.begin_cancel_safe().await?;
    if matches!(lock_status(&mut tx, id).await?.as_str(), "queued" | "running") {
        return Err(AppError::invalid(message!(import.still_running)).into());
    }
    let retried = sqlx::query(
        "UPDATE batch_job_items SET status = 'pending', updated_at = now() WHERE job_id = $1 AND status = 'failed'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    if retried == 0 {
        return Err(AppError::invalid(message!(import.nothing_failed)).into());
    }
    requeue(&mut tx, id).await?;
    audit::record(
        &mut *tx,
        admin,
        "job.retry",
        &format!("job:{id}"),
        None,
        Some(serde_json::json!({ "retried": retried })),
    )
    .await?;
    tx.commit().await?;
    Ok(retried)
}

/// An interrupted job goes back to the queue; its finished items stay finished.
pub async fn resume(db: &PgPool, admin: &Admin, id: Uuid) -> ServerResult<()> {
    let mut tx = db.begin_cancel_safe().await?;
    let status = lock_status(&mut tx, id).await?;
    if status != "interrupted" {
        let status = crate::labels::job_status(&status, crate::server::http::locale::reader_locale());
        return Err(AppError::invalid(message!(import.not_interrupted, status)).into());
    }
    requeue(&mut tx, id).await?;
    audit::record(&mut *tx, admin, "job.resume", &format!("job:{id}"), None, None).await?;
    tx.commit().await?;
    Ok(())
}

/// The job's status, with its row locked until the transaction ends.
async fn lock_status(tx: &mut sqlx::PgConnection, id: Uuid) -> ServerResult<String> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM batch_jobs WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(tx)
        .await?;
    Ok(status.ok_or(AppError::NotFound)?)
}

async fn requeue(tx: &mut sqlx::PgConnection, id: Uuid) -> ServerResult<()> {
    sqlx::query("UPDATE batch_jobs SET status = 'queued', finished_at = NULL, updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    refresh_counts(tx, id).await
}

/// The job's counters, from its items (the one source of truth).
async fn refresh_counts(db: &mut sqlx::PgConnection, id: Uuid) -> ServerResult<()> {
    sqlx::query(
        "UPDATE batch_jobs j SET processed = c.processed, failed = c.failed, heartbeat_at = now(), updated_at = now()
         FROM (SELECT count(*) FILTER (WHERE status <> 'pending') AS processed, count(*) FILTER (WHERE status = 'failed') AS failed
               FROM batch_job_items WHERE job_id = $1) c
         WHERE j.id = $1",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    kind: String,
    status: String,
    total: i32,
    processed: i32,
    failed: i32,
    resumes: i32,
    created_at: time::OffsetDateTime,
    /// Seconds since the job (last) started running.
    running_seconds: Option<f64>,
    /// Items finished since then.
    processed_since_start: Option<i64>,
}

const JOB_COLUMNS: &str = "j.id, j.kind, j.status, j.total, j.processed, j.failed, j.resumes,
    j.created_at,
    extract(epoch FROM (coalesce(j.finished_at, now()) - j.started_at))::float8 AS running_seconds,
    (SELECT count(*) FROM batch_job_items i WHERE i.job_id = j.id AND i.status <> 'pending' AND i.updated_at >= j.started_at) AS processed_since_start";

impl JobRow {
    /// Times are shown in `zone`.
    fn into_view(self, failures: Vec<JobFailure>, zone: &TimeZone) -> JobView {
        // A queued job is not working: its time in the queue is no part of a rate.
        let rate_per_minute = match (self.status.as_str(), self.running_seconds, self.processed_since_start) {
            ("queued", ..) => None,
            (_, Some(seconds), Some(done)) if seconds > 0.5 && done > 0 => Some(done as f64 * 60.0 / seconds),
            _ => None,
        };
        let remaining = i64::from(self.total - self.processed);
        let eta_seconds = match (self.status.as_str(), rate_per_minute) {
            ("running", Some(rate)) => Some((remaining as f64 * 60.0 / rate).ceil() as i64),
            _ => None,
        };
        JobView {
            id: self.id.to_string(),
            kind: self.kind,
            status: self.status,
            total: self.total.into(),
            processed: self.processed.into(),
            failed: self.failed.into(),
            rate_per_minute,
            eta_seconds,
            resumes: self.resumes.into(),
            created_at: LocalTime::new(self.created_at, zone),
            failures,
        }
    }
}

/// A failed item as stored: why, typed (`failure`), and in English (`outcome`: all an item failed
/// before reasons were typed has, and the fallback for a kind this version does not know).
#[derive(sqlx::FromRow)]
struct FailedItem {
    position: i32,
    label: Option<String>,
    painting_id: Option<i64>,
    failure: Option<serde_json::Value>,
    outcome: Option<String>,
}

impl FailedItem {
    /// In the reader's language.
    fn into_failure(self) -> JobFailure {
        let label = match (self.label, self.painting_id) {
            (Some(label), _) => label,
            (None, Some(id)) => message!(import.painting_label, id),
            (None, None) => format!("#{}", self.position + 1),
        };
        let typed = self.failure.map(serde_json::from_value::<AddFailure>);
        let reason = match typed {
            Some(Ok(failure)) => failure.message(),
            Some(Err(error)) => {
                tracing::warn!(%error, "a failure of a kind this version does not know");
                self.outcome.unwrap_or_default()
            }
            None => self.outcome.unwrap_or_default(),
        };
        JobFailure { position: self.position, label, reason }
    }
}

/// One job with every failed item and its reason.
pub async fn view(db: &PgPool, id: Uuid, zone: &TimeZone) -> ServerResult<JobView> {
    let row: JobRow = sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM batch_jobs j WHERE j.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let failures = sqlx::query_as::<_, FailedItem>(
        "SELECT position, payload->>'label' AS label, (payload->>'paintingId')::bigint AS painting_id, failure, outcome
         FROM batch_job_items WHERE job_id = $1 AND status = 'failed' ORDER BY position",
    )
    .bind(id)
    .fetch_all(db)
    .await?
    .into_iter()
    .map(FailedItem::into_failure)
    .collect();
    Ok(row.into_view(failures, zone))
}

/// The latest jobs, newest first, without their failures.
pub async fn recent(db: &PgPool, limit: i64, zone: &TimeZone) -> ServerResult<Vec<JobView>> {
    let rows: Vec<JobRow> =
        sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM batch_jobs j ORDER BY j.created_at DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|row| row.into_view(Vec::new(), zone)).collect())
}

/// Every job status (those the table allows) with how many jobs have it, and the items of the
/// jobs still to run (queued or running).
pub struct Progress {
    pub by_status: Vec<(&'static str, i64)>,
    pub done: i64,
    pub failed: i64,
    pub remaining: i64,
}

const STATUSES: [&str; 6] = ["queued", "running", "completed", "failed", "interrupted", "cancelled"];

pub async fn progress(db: &PgPool) -> ServerResult<Progress> {
    let (counts, done, failed, remaining): (Vec<i64>, i64, i64, i64) = sqlx::query_as(
        "SELECT ARRAY(SELECT count(j.id) FROM unnest($1::text[]) WITH ORDINALITY AS s(status, n)
                      LEFT JOIN batch_jobs j ON j.status = s.status GROUP BY s.n ORDER BY s.n),
                coalesce(sum(processed - failed), 0)::int8, coalesce(sum(failed), 0)::int8,
                coalesce(sum(total - processed), 0)::int8
         FROM batch_jobs WHERE status IN ('queued', 'running')",
    )
    .bind(STATUSES)
    .fetch_one(db)
    .await?;
    Ok(Progress { by_status: STATUSES.into_iter().zip(counts).collect(), done, failed, remaining })
}

/// Why a job's work stopped without an error.
enum Stopped {
    Done,
    ForShutdown,
}

/// Claims and runs jobs, one at a time, until `shutdown`: then it finishes the chunk in hand
/// and puts its job back in the queue, where the next start resumes it.
pub struct Runner {
    pub name: String,
    pub catalogue: Catalogue,
    pub fetcher: Fetcher,
    pub fetch_concurrency: usize,
    pub shutdown: CancellationToken,
}

impl Runner {
    pub async fn run(self, idle: Duration) {
        while !self.shutdown.is_cancelled() {
            match self.run_next().await {
                Ok(true) => {}
                Ok(false) => _ = self.shutdown.run_until_cancelled(tokio::time::sleep(idle)).await,
                Err(error) => {
                    tracing::error!(%error, runner = %self.name, "job runner failed");
                    self.shutdown.run_until_cancelled(tokio::time::sleep(idle)).await;
                }
            }
        }
    }

    /// Claims the oldest queued job (or a running one whose server went away) and runs it to
    /// the end. False when there was nothing to do.
    pub async fn run_next(&self) -> ServerResult<bool> {
        let db = &self.catalogue.db;
        let claimed: Option<(Uuid, String, bool)> = sqlx::query_as(
            "UPDATE batch_jobs j SET status = 'running', runner = $1, heartbeat_at = now(), updated_at = now(),
                 started_at = now(), resumes = j.resumes + (c.was = 'running')::int
             FROM (SELECT id, status AS was FROM batch_jobs
                   WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $2))
                   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) c
             WHERE j.id = c.id
             RETURNING j.id, j.kind, c.was = 'running'",
        )
        .bind(&self.name)
        .bind(STALE_AFTER_SECONDS as f64)
        .fetch_optional(db)
        .await?;
        let Some((id, kind, resumed)) = claimed else { return Ok(false) };
        tracing::info!(job = %id, %kind, resumed, runner = %self.name, "job started");

        let heartbeat = tokio::spawn(beat(db.clone(), id));
        let result = self.work_through(id, &kind).await;
        heartbeat.abort();
        let status = match &result {
            Ok(Stopped::Done) => "completed",
            Ok(Stopped::ForShutdown) => "queued",
            Err(error) => {
                tracing::error!(job = %id, %error, "job interrupted");
                "interrupted"
            }
        };
        // A job a shutdown cut off goes back in the queue, to be resumed: counted as such.
        sqlx::query(
            "UPDATE batch_jobs SET status = $2, updated_at = now(),
                 finished_at = CASE WHEN $2 = 'queued' THEN NULL ELSE now() END,
                 resumes = resumes + ($2 = 'queued')::int
             WHERE id = $1 AND runner = $3",
        )
        .bind(id)
        .bind(status)
        .bind(&self.name)
        .execute(db)
        .await?;
        tracing::info!(job = %id, status, "job finished");
        Ok(true)
    }

    async fn work_through(&self, id: Uuid, kind: &str) -> ServerResult<Stopped> {
        let db = &self.catalogue.db;
        loop {
            if self.shutdown.is_cancelled() {
                return Ok(Stopped::ForShutdown);
            }
            let items: Vec<(i32, sqlx::types::Json<serde_json::Value>)> =
                sqlx::query_as("SELECT position, payload FROM batch_job_items WHERE job_id = $1 AND status = 'pending' ORDER BY position LIMIT $2")
                    .bind(id)
                    .bind(CHUNK)
                    .fetch_all(db)
                    .await?;
            if items.is_empty() {
                return Ok(Stopped::Done);
            }
            let outcomes = match kind {
                "reembed" => {
                    self.reembed_chunk(items.into_iter().map(|(position, item)| (position, item.0)).collect()).await?
                }
                _ => {
                    let items = items
                        .into_iter()
                        .map(|(position, item)| (position, serde_json::from_value::<ImportItem>(item.0)))
                        .collect();
                    self.import_chunk(items).await?
                }
            };
            let mut tx = db.begin_cancel_safe().await?;
            for (position, outcome) in outcomes {
                let (status, note, failure, painting) = match outcome {
                    AddOutcome::Added { id } => ("done", Some("added".to_owned()), None, Some(id)),
                    AddOutcome::AlreadyPresent { id } => (
                        "done",
                        Some(if kind == "reembed" { "re-embedded" } else { "already in the catalogue" }.to_owned()),
                        None,
                        Some(id),
                    ),
                    // The English reason too: what an older version (mid-deploy) shows, and the
                    // fallback for a kind this version does not know.
                    AddOutcome::Failed(failure) => {
                        ("failed", Some(failure.to_string().chars().take(1000).collect()), Some(Json(failure)), None)
                    }
                };
                sqlx::query(
                    "UPDATE batch_job_items SET status = $3, outcome = $4, failure = $5, painting_id = $6, attempts = attempts + 1, updated_at = now()
                     WHERE job_id = $1 AND position = $2",
                )
                .bind(id)
                .bind(position)
                .bind(status)
                .bind(note)
                .bind(failure)
                .bind(painting)
                .execute(&mut *tx)
                .await?;
            }
            refresh_counts(&mut tx, id).await?;
            tx.commit().await?;
        }
    }

    /// Re-embeds the chunk's paintings from their stored images (the painting is "already
    /// present": it keeps its id, orders and saves).
    async fn reembed_chunk(&self, items: Vec<(i32, serde_json::Value)>) -> ServerResult<Vec<(i32, AddOutcome)>> {
        let ids: Vec<(i32, i64)> =
            items.iter().map(|(position, item)| (*position, item["paintingId"].as_i64().unwrap_or(-1))).collect();
        let results = self.catalogue.reembed(&ids.iter().map(|(_, id)| *id).collect::<Vec<_>>()).await?;
        Ok(ids
            .into_iter()
            .zip(results)
            .map(|((position, id), result)| {
                (position, result.map_or_else(AddOutcome::Failed, |()| AddOutcome::AlreadyPresent { id }))
            })
            .collect())
    }

    /// Parses, skips what is already in the catalogue, downloads the rest, then adds them.
    async fn import_chunk(
        &self,
        items: Vec<(i32, Result<ImportItem, serde_json::Error>)>,
    ) -> ServerResult<Vec<(i32, AddOutcome)>> {
        let mut outcomes = Vec::new();
        let mut to_fetch = Vec::new();
        for (position, item) in items {
            let item = match item {
                Ok(item) => item,
                Err(_) => {
                    outcomes.push((position, AddOutcome::Failed(AddFailure::UnreadableItem)));
                    continue;
                }
            };
            match PaintingMeta::parse(item.meta) {
                Err(error) => outcomes.push((position, AddOutcome::Failed(AddFailure::Meta { error }))),
                Ok(meta) => match item.image_url {
                    None => outcomes.push((position, AddOutcome::Failed(AddFailure::NoImageUrl))),
                    Some(url) => to_fetch.push((position, meta, url)),
                },
            }
        }
        // Idempotent: a painting already in the catalogue is not even downloaded again.
        let keys: Vec<String> = to_fetch.iter().map(|(_, meta, _)| meta.source_key.clone()).collect();
        let existing = self.catalogue.existing(&keys).await?;
        to_fetch.retain(|(position, meta, _)| match existing.get(&meta.source_key) {
            Some(&id) => {
                outcomes.push((*position, AddOutcome::AlreadyPresent { id }));
                false
            }
            None => true,
        });
        let fetched: Vec<(i32, PaintingMeta, Result<bytes::Bytes, FetchError>)> = futures::stream::iter(to_fetch)
            .map(|(position, meta, url)| async move {
                let image = self.fetcher.image(&url).await;
                (position, meta, image)
            })
            .buffer_unordered(self.fetch_concurrency.max(1))
            .collect()
            .await;
        let mut positions = Vec::new();
        let mut batch = Vec::new();
        for (position, meta, image) in fetched {
            match image {
                Ok(image) => {
                    positions.push(position);
                    batch.push(NewPainting { meta, image });
                }
                Err(error) => outcomes.push((position, AddOutcome::Failed(AddFailure::Fetch { error }))),
            }
        }
        if !batch.is_empty() {
            outcomes.extend(positions.into_iter().zip(self.catalogue.add_batch(batch).await?));
        }
        Ok(outcomes)
    }
}

/// Keeps the job's heartbeat fresh while its runner works, so nobody else resumes it.
async fn beat(db: PgPool, id: Uuid) {
    let mut every = tokio::time::interval(HEARTBEAT);
    loop {
        every.tick().await;
        if let Err(error) =
            sqlx::query("UPDATE batch_jobs SET heartbeat_at = now() WHERE id = $1").bind(id).execute(&db).await
        {
            tracing::warn!(job = %id, %error, "job heartbeat failed");
        }
    }
}

/// Largest import upload (JSON or CSV text).
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
