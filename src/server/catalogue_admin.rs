//! The admin's view of the catalogue: a searchable, paginated list with each painting's
//! saves, views and orders, and publishing. An unpublished painting leaves the feed, search and
//! "more like this" at once (they all read `published`); orders keep showing it.

use serde_json::json;
use sqlx::PgPool;

use crate::error::AppError;
use crate::server::audit;
use crate::server::auth::Admin;
use crate::server::error::ServerResult;
use crate::types::{AdminPainting, AdminPaintings};

pub const PAGE_SIZE: i64 = 50;

/// Paintings whose title, artist or style contains `query` (all when empty), newest first.
pub async fn list(db: &PgPool, query: &str, page: i64) -> ServerResult<AdminPaintings> {
    let query = query.trim();
    if query.chars().count() > 200 {
        return Err(AppError::invalid("search for at most 200 characters").into());
    }
    // LIKE's own wildcards in the query are matched literally.
    let pattern = format!("%{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    const MATCHES: &str = "($1 = '%%' OR p.title ILIKE $1 OR p.title_en ILIKE $1 OR p.artist ILIKE $1 OR p.artist_en ILIKE $1 OR p.style ILIKE $1)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM paintings p WHERE {MATCHES}")).bind(&pattern).fetch_one(db).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let rows: Vec<(i64, String, String, Option<String>, String, bool, i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT p.id, coalesce(p.title_en, p.title), coalesce(p.artist_en, p.artist), p.style, p.image_url, p.published,
                (SELECT count(*) FROM saved_paintings s WHERE s.painting_id = p.id),
                (SELECT count(*) FROM activities a WHERE a.painting_id = p.id AND a.event_type = 'view'),
                (SELECT count(*) FROM orders o WHERE o.painting_id = p.id)
         FROM paintings p WHERE {MATCHES}
         ORDER BY p.created_at DESC, p.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(PAGE_SIZE)
    .bind((page - 1) * PAGE_SIZE)
    .fetch_all(db)
    .await?;
    let items = rows
        .into_iter()
        .map(|(id, title, artist, style, image_url, published, saves, views, orders)| AdminPainting { id, title, artist, style, image_url, published, saves, views, orders })
        .collect();
    Ok(AdminPaintings { items, total, page, pages })
}

/// Publishes or unpublishes a painting, with the change in the audit log.
pub async fn set_published(db: &PgPool, admin: &Admin, id: i64, published: bool) -> ServerResult<()> {
    let mut tx = db.begin().await?;
    let before: bool = sqlx::query_scalar("SELECT published FROM paintings WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
    if before != published {
        sqlx::query("UPDATE paintings SET published = $2, updated_at = now() WHERE id = $1").bind(id).bind(published).execute(&mut *tx).await?;
        let action = if published { "painting.publish" } else { "painting.unpublish" };
        audit::record(&mut *tx, admin, action, &format!("painting:{id}"), Some(json!({ "published": before })), Some(json!({ "published": published }))).await?;
    }
    tx.commit().await?;
    Ok(())
}
