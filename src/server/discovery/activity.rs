//! Activity ingestion: the browser's batched events, checked, stored append-only and answered
//! at once. The taste worker (`taste_worker.rs`) learns from them afterwards. The visitor is the one in
//! the cookie; a body that names a visitor is refused. This module is the one writer of the
//! `activities` table and of the worker's wake-up: the events the server observes itself
//! (purchases, onboarding, room photos) come through `record_server_event`.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::AppError;
use crate::events::{EventKind, Source};
use crate::server::error::ServerResult;
use crate::server::http::locale::message;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::infra::metrics;
use crate::styles;

pub const MAX_EVENTS: usize = 100;
/// Request body limit for a batch (100 events of a few hundred bytes each, with room to spare).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const NOTIFY_CHANNEL: &str = "artwall_activity";

/// `POST /api/activity`'s body. Each event is parsed on its own, so that one bad event is
/// rejected alone.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomingBatch {
    #[schema(value_type = Vec<IncomingEvent>, min_items = 1, max_items = 100)]
    events: Vec<Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IncomingEvent {
    /// Client-generated id: a re-sent event is stored once.
    id: Uuid,
    #[serde(rename = "type")]
    #[schema(value_type = crate::server::http::openapi::forms::BrowserEventType)]
    event_type: String,
    painting_id: Option<i64>,
    position: Option<i32>,
    #[schema(value_type = Option<crate::server::http::openapi::forms::BrowserSource>)]
    source: Option<String>,
    /// `dwellTimeMs` for a view, `scrollDepth` for a session end.
    #[serde(default)]
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
}

/// A checked event, ready to store.
#[derive(Debug, Clone)]
pub struct CheckedEvent {
    id: Uuid,
    kind: EventKind,
    painting_id: Option<i64>,
    position: Option<i32>,
    source: Option<Source>,
    metadata: Value,
}

impl CheckedEvent {
    /// An event the server itself records (a save button, a search): trusted, not parsed.
    pub fn server(kind: EventKind, painting_id: Option<i64>, source: Source, metadata: Value) -> Self {
        Self { id: Uuid::new_v4(), kind, painting_id, position: None, source: Some(source), metadata }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventResult {
    pub index: usize,
    pub status: EventStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Logged,
    /// Already stored by an earlier delivery of the same event.
    Duplicate,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestResponse {
    pub success: bool,
    pub logged: usize,
    pub results: Vec<EventResult>,
}

/// Why one event of a batch was refused (the batch's other events are still stored). `Display`
/// is English, for logs; the answer carries `message()`, in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum EventRefusal {
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error("unknown event type “{0}”")]
    UnknownType(String),
    #[error("{0} needs a paintingId")]
    NeedsPainting(String),
    #[error("{0} takes no paintingId")]
    TakesNoPainting(String),
    #[error("position must be between 0 and {MAX_POSITION}")]
    Position,
    #[error("unknown source “{0}”")]
    UnknownSource(String),
    #[error("metadata key “{0}” is not accepted")]
    MetadataKey(String),
    #[error("metadata {0} has an invalid value")]
    MetadataValue(String),
    #[error("a view needs metadata.dwellTimeMs")]
    ViewWithoutDwell,
    #[error("painting {0} does not exist")]
    NoSuchPainting(i64),
    #[error("the same event id twice in one batch")]
    RepeatedId,
}

impl EventRefusal {
    fn message(&self) -> String {
        match self {
            Self::Malformed(reason) => message!(activity.malformed_event, reason),
            Self::UnknownType(kind) => message!(activity.unknown_type, kind),
            Self::NeedsPainting(kind) => message!(activity.needs_painting, kind),
            Self::TakesNoPainting(kind) => message!(activity.takes_no_painting, kind),
            Self::Position => message!(activity.position, max = MAX_POSITION),
            Self::UnknownSource(source) => message!(activity.unknown_source, source),
            Self::MetadataKey(key) => message!(activity.metadata_key, key),
            Self::MetadataValue(key) => message!(activity.metadata_value, key),
            Self::ViewWithoutDwell => message!(activity.view_without_dwell),
            Self::NoSuchPainting(id) => message!(activity.no_such_painting, id),
            Self::RepeatedId => message!(activity.repeated_id),
        }
    }
}

const MAX_POSITION: i32 = 1_000_000;

fn check_event(raw: Value) -> Result<CheckedEvent, EventRefusal> {
    let event: IncomingEvent = serde_json::from_value(raw).map_err(|e| EventRefusal::Malformed(e.to_string()))?;
    let kind = EventKind::parse(&event.event_type)
        .filter(|kind| kind.sent_by_browser())
        .ok_or_else(|| EventRefusal::UnknownType(event.event_type.clone()))?;
    if kind.about_painting() && event.painting_id.is_none() {
        return Err(EventRefusal::NeedsPainting(event.event_type));
    }
    if !kind.about_painting() && event.painting_id.is_some() {
        return Err(EventRefusal::TakesNoPainting(event.event_type));
    }
    if event.position.is_some_and(|p| !(0..=MAX_POSITION).contains(&p)) {
        return Err(EventRefusal::Position);
    }
    let source = match &event.source {
        None => None,
        Some(code) => Some(
            Source::parse(code)
                .filter(|source| source.sent_by_browser())
                .ok_or_else(|| EventRefusal::UnknownSource(code.clone()))?,
        ),
    };
    for (key, value) in &event.metadata {
        let valid = match key.as_str() {
            "dwellTimeMs" => value.as_i64().is_some_and(|ms| (0..=86_400_000).contains(&ms)),
            "scrollDepth" => value.as_f64().is_some_and(|depth| (0.0..=1.0).contains(&depth)),
            "styleCode" => value.as_str().and_then(styles::by_code).is_some(),
            "query" => value.as_str().is_some_and(|q| q.chars().count() <= 200),
            _ => return Err(EventRefusal::MetadataKey(key.clone())),
        };
        if !valid {
            return Err(EventRefusal::MetadataValue(key.clone()));
        }
    }
    if kind == EventKind::View && !event.metadata.contains_key("dwellTimeMs") {
        return Err(EventRefusal::ViewWithoutDwell);
    }
    Ok(CheckedEvent {
        id: event.id,
        kind,
        painting_id: event.painting_id,
        position: event.position,
        source,
        metadata: Value::Object(event.metadata),
    })
}

/// Parses, checks and stores a batch. Whole-batch problems (malformed JSON, too many events) are
/// errors; a bad event is rejected in its own result and the others are stored.
pub async fn ingest(db: &PgPool, visitor: VisitorId, body: &[u8]) -> ServerResult<IngestResponse> {
    let batch: IncomingBatch =
        serde_json::from_slice(body).map_err(|e| AppError::invalid(message!(activity.malformed, reason = e)))?;
    if batch.events.is_empty() || batch.events.len() > MAX_EVENTS {
        return Err(AppError::invalid(message!(activity.batch_size, max = MAX_EVENTS)).into());
    }
    let mut checked: Vec<Result<CheckedEvent, EventRefusal>> = batch.events.into_iter().map(check_event).collect();

    // Painting ids must exist: unknown ones are rejected, not silently dropped.
    let wanted: Vec<i64> = checked.iter().flatten().filter_map(|e| e.painting_id).collect();
    let known: HashSet<i64> = sqlx::query_scalar("SELECT id FROM paintings WHERE id = ANY($1) AND published")
        .bind(&wanted)
        .fetch_all(db)
        .await?
        .into_iter()
        .collect();
    let mut ids_in_batch = HashSet::new();
    for result in checked.iter_mut() {
        if let Ok(event) = result {
            if let Some(id) = event.painting_id.filter(|id| !known.contains(id)) {
                *result = Err(EventRefusal::NoSuchPainting(id));
            } else if !ids_in_batch.insert(event.id) {
                *result = Err(EventRefusal::RepeatedId);
            }
        }
    }

    let valid: Vec<&CheckedEvent> = checked.iter().flatten().collect();
    let inserted = record(db, visitor, &valid).await?;
    let results: Vec<EventResult> = checked
        .into_iter()
        .enumerate()
        .map(|(index, result)| match result {
            Ok(event) if inserted.contains(&event.id) => {
                EventResult { index, status: EventStatus::Logged, error: None }
            }
            Ok(_) => EventResult { index, status: EventStatus::Duplicate, error: None },
            Err(refusal) => EventResult { index, status: EventStatus::Rejected, error: Some(refusal.message()) },
        })
        .collect();
    metrics::events_accepted(inserted.len());
    Ok(IngestResponse { success: true, logged: inserted.len(), results })
}

/// Stores events append-only (a re-sent client id is stored once), applies their saves and
/// hides, and wakes the taste worker, in one transaction. Returns the ids actually stored.
pub async fn record(db: &PgPool, visitor: VisitorId, valid: &[&CheckedEvent]) -> ServerResult<HashSet<Uuid>> {
    let mut tx = db.begin_cancel_safe().await?;
    let inserted: HashSet<Uuid> = sqlx::query_scalar(
        "INSERT INTO activities (visitor_id, client_event_id, event_type, painting_id, position, source, metadata)
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::int[], $6::text[], $7::jsonb[])
         ON CONFLICT (visitor_id, client_event_id) WHERE client_event_id IS NOT NULL DO NOTHING
         RETURNING client_event_id",
    )
    .bind(visitor.0)
    .bind(valid.iter().map(|e| e.id).collect::<Vec<_>>())
    .bind(valid.iter().map(|e| e.kind.code()).collect::<Vec<_>>())
    .bind(valid.iter().map(|e| e.painting_id).collect::<Vec<_>>())
    .bind(valid.iter().map(|e| e.position).collect::<Vec<_>>())
    .bind(valid.iter().map(|e| e.source.map(Source::code)).collect::<Vec<_>>())
    .bind(valid.iter().map(|e| e.metadata.clone()).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();

    let new_events: Vec<&CheckedEvent> = valid.iter().copied().filter(|e| inserted.contains(&e.id)).collect();
    apply_saves_and_hides(&mut tx, visitor, &new_events).await?;
    if !new_events.is_empty() {
        sqlx::query("SELECT pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// An event the server itself observes, not one from the browser's batches.
pub enum ServerEvent<'a> {
    /// A paid order (weight +1.0 for the taste worker, the strongest signal there is).
    Purchase { painting_id: i64 },
    /// The home styles picked at onboarding, which set the starting taste themselves.
    StyleSelect { style_codes: &'a [String] },
    /// A room photo, already blended into the taste when it was uploaded.
    RoomPhoto,
}

/// Stores a server-observed event in the caller's transaction, and wakes the taste worker for a
/// purchase.
pub async fn record_server_event(
    conn: &mut sqlx::PgConnection,
    visitor: VisitorId,
    event: ServerEvent<'_>,
) -> ServerResult<()> {
    let (kind, source, painting_id, metadata) = match event {
        ServerEvent::Purchase { painting_id } => (EventKind::Purchase, Source::Checkout, Some(painting_id), None),
        ServerEvent::StyleSelect { style_codes } => {
            (EventKind::StyleSelect, Source::Onboarding, None, Some(serde_json::json!({ "styleCodes": style_codes })))
        }
        ServerEvent::RoomPhoto => (EventKind::RoomPhoto, Source::Room, None, None),
    };
    // A room photo's whole effect on the taste (the blend) happened at upload: nothing to learn.
    let processed = kind == EventKind::RoomPhoto;
    sqlx::query(
        "INSERT INTO activities (visitor_id, event_type, painting_id, source, metadata, processed, processed_at)
         VALUES ($1, $2, $3, $4, coalesce($5, '{}'::jsonb), $6, CASE WHEN $6 THEN now() END)",
    )
    .bind(visitor.0)
    .bind(kind.code())
    .bind(painting_id)
    .bind(source.code())
    .bind(metadata)
    .bind(processed)
    .execute(&mut *conn)
    .await?;
    // Of these only a purchase moves the taste; the worker marks the others on its next wake.
    if kind == EventKind::Purchase {
        sqlx::query("SELECT pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Saved and hidden state changes at once, so the page is right before the worker runs.
async fn apply_saves_and_hides(
    tx: &mut sqlx::PgConnection,
    visitor: VisitorId,
    events: &[&CheckedEvent],
) -> ServerResult<()> {
    // The last save or unsave of each painting in the batch decides.
    let mut saved: HashMap<i64, bool> = HashMap::new();
    let mut hidden = Vec::new();
    for event in events {
        match (event.kind, event.painting_id) {
            (EventKind::Save, Some(id)) => _ = saved.insert(id, true),
            (EventKind::Unsave, Some(id)) => _ = saved.insert(id, false),
            (EventKind::Hide, Some(id)) => hidden.push(id),
            _ => {}
        }
    }
    let (to_save, to_unsave): (Vec<_>, Vec<_>) = saved.into_iter().partition(|(_, save)| *save);
    let to_save: Vec<i64> = to_save.into_iter().map(|(id, _)| id).collect();
    let to_unsave: Vec<i64> = to_unsave.into_iter().map(|(id, _)| id).collect();
    sqlx::query(
        "INSERT INTO saved_paintings (visitor_id, painting_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(visitor.0)
    .bind(&to_save)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM saved_paintings WHERE visitor_id = $1 AND painting_id = ANY($2)")
        .bind(visitor.0)
        .bind(&to_unsave)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO hidden_paintings (visitor_id, painting_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(visitor.0)
    .bind(&hidden)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Retention: deletes processed events older than `days` (the taste has learned from them; the
/// dashboard reads only the last 7 days). Events still waiting for the worker are never deleted.
pub async fn delete_processed_older_than(db: &PgPool, days: i32) -> ServerResult<u64> {
    let deleted =
        sqlx::query("DELETE FROM activities WHERE processed AND created_at < now() - make_interval(days => $1)")
            .bind(days)
            .execute(db)
            .await?;
    Ok(deleted.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(extra: Value) -> Value {
        let mut base =
            json!({"id": Uuid::new_v4(), "type": "impression", "paintingId": 1, "position": 0, "source": "feed"});
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        base
    }

    #[test]
    fn events_are_checked_field_by_field() {
        assert!(check_event(event(json!({}))).is_ok());
        assert!(check_event(event(json!({"type": "view", "metadata": {"dwellTimeMs": 1200}}))).is_ok());
        let reject = |extra: Value, expected: &str| {
            let error = check_event(event(extra)).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        };
        reject(json!({"type": "purchase"}), "unknown event type");
        reject(json!({"type": "teleport"}), "unknown event type");
        reject(json!({"type": "view"}), "dwellTimeMs");
        reject(json!({"metadata": {"cookie": "x"}}), "not accepted");
        reject(json!({"metadata": {"dwellTimeMs": -5}}), "invalid value");
        reject(json!({"metadata": {"styleCode": "baroque"}}), "invalid value");
        reject(json!({"metadata": {"query": "x".repeat(201)}}), "invalid value");
        reject(json!({"source": "email"}), "unknown source");
        reject(json!({"position": -1}), "position");
        reject(json!({"visitorId": Uuid::new_v4()}), "unknown field");
        reject(json!({"type": "session_start"}), "takes no paintingId");
        reject(json!({"paintingId": null}), "needs a paintingId");
    }

    #[test]
    fn a_refusal_says_the_same_in_logs_as_to_an_english_reader() {
        let refusals = [
            EventRefusal::Malformed("expected a string".into()),
            EventRefusal::UnknownType("teleport".into()),
            EventRefusal::NeedsPainting("click".into()),
            EventRefusal::TakesNoPainting("session_start".into()),
            EventRefusal::Position,
            EventRefusal::UnknownSource("email".into()),
            EventRefusal::MetadataKey("cookie".into()),
            EventRefusal::MetadataValue("dwellTimeMs".into()),
            EventRefusal::ViewWithoutDwell,
            EventRefusal::NoSuchPainting(7),
            EventRefusal::RepeatedId,
        ];
        // Outside a request `message` is English.
        for refusal in refusals {
            assert_eq!(refusal.to_string(), refusal.message());
        }
    }
}
