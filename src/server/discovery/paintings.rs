//! Reading the catalogue: painting details, saved lists, nearest neighbours.

use pgvector::Vector;
use serde_json::json;
use sqlx::PgPool;

use crate::error::AppError;
use crate::events::{EventKind, Source};
use crate::server::discovery::activity::{self, CheckedEvent};
use crate::server::discovery::style_names::style_in;
use crate::server::error::ServerResult;
use crate::server::http::locale::{message, reader_locale};
use crate::server::http::visitor::VisitorId;
use crate::server::infra::db::BeginCancelSafe;
use crate::types::{PaintingCard, PaintingDetail, SavedList, ScoredCard};

pub(crate) const CARD_COLUMNS: &str =
    "p.id, p.title, p.title_en, p.artist, p.artist_en, p.year, p.style, p.image_url, p.thumb_width, p.thumb_height, p.image_srcset, p.image_srcset_webp";

#[derive(sqlx::FromRow)]
pub(crate) struct CardRow {
    pub(crate) id: i64,
    title: String,
    title_en: Option<String>,
    artist: String,
    artist_en: Option<String>,
    year: Option<i32>,
    style: Option<String>,
    image_url: String,
    thumb_width: i32,
    thumb_height: i32,
    image_srcset: Option<String>,
    image_srcset_webp: Option<String>,
}

impl From<CardRow> for PaintingCard {
    fn from(r: CardRow) -> Self {
        Self {
            id: r.id,
            title: r.title,
            title_en: r.title_en,
            artist: r.artist,
            artist_en: r.artist_en,
            year: r.year,
            style: r.style,
            image_url: r.image_url,
            width: r.thumb_width,
            height: r.thumb_height,
            srcset: r.image_srcset,
            srcset_webp: r.image_srcset_webp,
        }
    }
}

pub async fn detail(reads: &PgPool, db: &PgPool, id: i64, visitor: VisitorId) -> ServerResult<PaintingDetail> {
    #[derive(sqlx::FromRow)]
    struct DetailRow {
        #[sqlx(flatten)]
        card: CardRow,
        image_hd_url: String,
        hd_width: i32,
        hd_height: i32,
        source: Option<String>,
        source_url: Option<String>,
        license: Option<String>,
        tags: Vec<String>,
    }
    let sql = format!(
        "SELECT {CARD_COLUMNS}, p.image_hd_url, p.hd_width, p.hd_height, p.source, p.source_url, p.license, p.tags
         FROM paintings p WHERE p.id = $1 AND p.published"
    );
    let painting = sqlx::query_as::<_, DetailRow>(&sql).bind(id).fetch_optional(reads);
    // The visitor may have saved it a moment ago: asked of the primary.
    let saved = sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM saved_paintings WHERE visitor_id = $1 AND painting_id = $2)",
    )
    .bind(visitor.0)
    .bind(id)
    .fetch_one(db);
    let (row, saved) = tokio::try_join!(painting, saved)?;
    // Published a moment ago (the feed, read from the primary, may already show it): the
    // replica may not have it yet.
    let row = match row {
        Some(row) => row,
        None if !std::ptr::eq(reads, db) => {
            sqlx::query_as::<_, DetailRow>(&sql).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)?
        }
        None => return Err(AppError::NotFound.into()),
    };
    let mut card = PaintingCard::from(row.card);
    card.style = card.style.map(|style| style_in(&style, reader_locale()));
    Ok(PaintingDetail {
        card,
        image_hd_url: row.image_hd_url,
        hd_width: row.hd_width,
        hd_height: row.hd_height,
        source: row.source,
        source_url: row.source_url,
        license: row.license,
        tags: row.tags,
        saved,
    })
}

#[derive(sqlx::FromRow)]
struct ScoredRow {
    #[sqlx(flatten)]
    card: CardRow,
    similarity: f32,
}

/// Candidates searched beyond `limit`, in place of paintings the visitor hid after the replica's
/// copy was made (dropped once checked on the primary).
const SPARE_FOR_FRESH_HIDES: i64 = 4;

/// Published paintings nearest to `target`, without the visitor's hidden ones and `except`,
/// at or above `floor`: searched on `reads`, with the hides checked again on the primary (`db`),
/// which has those made a moment ago.
pub async fn nearest(
    reads: &PgPool,
    db: &PgPool,
    target: &Vector,
    visitor: VisitorId,
    except: Option<i64>,
    floor: f32,
    limit: i64,
) -> ServerResult<Vec<ScoredCard>> {
    let mut tx = reads.begin_cancel_safe().await?;
    sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
    let mut rows: Vec<ScoredRow> = sqlx::query_as(&format!(
        "WITH candidates AS MATERIALIZED (
             SELECT p.id, p.embedding <=> $1 AS distance FROM paintings p
             WHERE p.published AND p.id IS DISTINCT FROM $3
               AND NOT EXISTS (SELECT 1 FROM hidden_paintings h WHERE h.visitor_id = $2 AND h.painting_id = p.id)
             ORDER BY p.embedding <=> $1 LIMIT $4
         )
         SELECT {CARD_COLUMNS}, (1 - c.distance)::real AS similarity
         FROM candidates c JOIN paintings p ON p.id = c.id
         WHERE 1 - c.distance >= $5 ORDER BY c.distance"
    ))
    .bind(target)
    .bind(visitor.0)
    .bind(except)
    .bind(limit + SPARE_FOR_FRESH_HIDES)
    .bind(floor)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if !std::ptr::eq(reads, db) {
        let ids: Vec<i64> = rows.iter().map(|r| r.card.id).collect();
        let hidden: Vec<i64> = sqlx::query_scalar(
            "SELECT painting_id FROM hidden_paintings WHERE visitor_id = $1 AND painting_id = ANY($2)",
        )
        .bind(visitor.0)
        .bind(&ids)
        .fetch_all(db)
        .await?;
        rows.retain(|r| !hidden.contains(&r.card.id));
    }
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(rows.into_iter().map(|r| ScoredCard { card: r.card.into(), similarity: r.similarity }).collect())
}

/// "More like this": the paintings nearest to painting `id` (read as `nearest` does).
pub async fn more_like_this(
    reads: &PgPool,
    db: &PgPool,
    id: i64,
    visitor: VisitorId,
    limit: i64,
) -> ServerResult<Vec<ScoredCard>> {
    let embedding = |pool| {
        sqlx::query_scalar::<_, Vector>("SELECT embedding FROM paintings WHERE id = $1 AND published")
            .bind(id)
            .fetch_optional(pool)
    };
    // As `detail`: a painting published a moment ago may not be on the replica yet.
    let embedding = match embedding(reads).await? {
        Some(embedding) => embedding,
        None if !std::ptr::eq(reads, db) => embedding(db).await?.ok_or(AppError::NotFound)?,
        None => return Err(AppError::NotFound.into()),
    };
    nearest(reads, db, &embedding, visitor, Some(id), -1.0, limit).await
}

pub async fn saved(db: &PgPool, visitor: VisitorId) -> ServerResult<SavedList> {
    let rows: Vec<CardRow> = sqlx::query_as(&format!(
        "SELECT {CARD_COLUMNS} FROM saved_paintings s JOIN paintings p ON p.id = s.painting_id
         WHERE s.visitor_id = $1 AND p.published ORDER BY s.saved_at DESC, p.id"
    ))
    .bind(visitor.0)
    .fetch_all(db)
    .await?;
    Ok(SavedList { items: rows.into_iter().map(PaintingCard::from).collect() })
}

/// Saves or unsaves a painting for the visitor, through the same path as the browser's events.
pub async fn set_saved(db: &PgPool, visitor: VisitorId, id: i64, saved: bool, source: &str) -> ServerResult<()> {
    let source = Source::parse(source)
        .filter(|source| source.sent_by_browser())
        .ok_or_else(|| AppError::invalid(message!(catalogue.unknown_source, source)))?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM paintings WHERE id = $1 AND published)")
        .bind(id)
        .fetch_one(db)
        .await?;
    if !exists {
        return Err(AppError::NotFound.into());
    }
    let kind = if saved { EventKind::Save } else { EventKind::Unsave };
    let event = CheckedEvent::server(kind, Some(id), source, json!({}));
    activity::record(db, visitor, &[&event]).await?;
    Ok(())
}

pub async fn catalogue_size(db: &PgPool) -> ServerResult<i64> {
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM paintings WHERE published").fetch_one(db).await?;
    Ok(count)
}
