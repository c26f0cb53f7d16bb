//! Reading the catalogue: feed pages and painting details.

use sqlx::PgPool;

use crate::error::AppError;
use crate::server::error::ServerResult;
use crate::types::{PaintingCard, PaintingDetail};

pub(crate) const CARD_COLUMNS: &str = "p.id, p.title, p.title_en, p.artist, p.artist_en, p.year, p.style, p.image_url, p.thumb_width, p.thumb_height";

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
