//! Reading the catalogue: feed pages and painting details.

use sqlx::PgPool;

use crate::error::AppError;
use crate::server::error::ServerResult;
use crate::server::visitor::VisitorId;
use crate::types::{FeedPage, PaintingCard, PaintingDetail};

pub const DEFAULT_PAGE: i64 = 12;
pub const MAX_PAGE: i64 = 50;

const CARD_COLUMNS: &str = "p.id, p.title, p.title_en, p.artist, p.artist_en, p.year, p.style, p.image_url, p.thumb_width, p.thumb_height";

#[derive(sqlx::FromRow)]
struct CardRow {
    id: i64,
    title: String,
    title_en: Option<String>,
    artist: String,
    artist_en: Option<String>,
    year: Option<i32>,
    style: Option<String>,
    image_url: String,
    thumb_width: i32,
    thumb_height: i32,
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
        }
    }
}

/// A feed cursor: the offset into this visitor's cold-start ordering.
fn parse_cursor(cursor: Option<&str>) -> ServerResult<i64> {
    match cursor {
        None | Some("") => Ok(0),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|offset| (0..10_000_000).contains(offset))
            .ok_or_else(|| AppError::invalid("invalid feed cursor").into()),
    }
}

/// Cold-start feed: a diverse spread, stable per visitor so pages never overlap. Paintings are
/// shuffled by a per-visitor hash and interleaved round-robin across styles, so each page
/// mixes periods instead of listing one school after another.
pub async fn cold_start_page(db: &PgPool, visitor: VisitorId, cursor: Option<&str>, limit: i64) -> ServerResult<FeedPage> {
    let offset = parse_cursor(cursor)?;
    let limit = limit.clamp(1, MAX_PAGE);
    let rows: Vec<CardRow> = sqlx::query_as(&format!(
        "WITH shuffled AS (
             SELECT p.id, md5($1 || p.id::text) AS shuffle,
                    row_number() OVER (PARTITION BY coalesce(p.style, '') ORDER BY md5($1 || p.id::text)) AS round
             FROM paintings p WHERE p.published
         )
         SELECT {CARD_COLUMNS} FROM shuffled s JOIN paintings p ON p.id = s.id
         ORDER BY s.round, s.shuffle
         OFFSET $2 LIMIT $3"
    ))
    .bind(visitor.0.to_string())
    .bind(offset)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<PaintingCard> = rows.into_iter().take(limit as usize).map(PaintingCard::from).collect();
    let next_cursor = has_more.then(|| (offset + items.len() as i64).to_string());
    Ok(FeedPage { items, next_cursor, has_more })
}

pub async fn detail(db: &PgPool, id: i64) -> ServerResult<PaintingDetail> {
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
    let row: Option<DetailRow> = sqlx::query_as(&format!(
        "SELECT {CARD_COLUMNS}, p.image_hd_url, p.hd_width, p.hd_height, p.source, p.source_url, p.license, p.tags
         FROM paintings p WHERE p.id = $1 AND p.published"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    let row = row.ok_or(AppError::NotFound)?;
    Ok(PaintingDetail {
        card: row.card.into(),
        image_hd_url: row.image_hd_url,
        hd_width: row.hd_width,
        hd_height: row.hd_height,
        source: row.source,
        source_url: row.source_url,
        license: row.license,
        tags: row.tags,
    })
}

pub async fn catalogue_size(db: &PgPool) -> ServerResult<i64> {
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM paintings WHERE published").fetch_one(db).await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_checked() {
        assert_eq!(parse_cursor(None).unwrap(), 0);
        assert_eq!(parse_cursor(Some("24")).unwrap(), 24);
        assert!(parse_cursor(Some("-1")).is_err());
        assert!(parse_cursor(Some("abc")).is_err());
    }
}
