//! The admin's view of the catalogue: adding one painting from a form, a searchable, paginated
//! list with each painting's saves, views and orders, and publishing. An unpublished painting leaves the feed, search and
//! "more like this" at once (they all read `published`); orders keep showing it.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::AppError;
use crate::server::admin::audit;
use crate::server::catalogue::{AddFailure, AddOutcome, Catalogue, NewPainting, PaintingMeta, RawMeta, META_COLUMNS};
use crate::server::error::ServerResult;
use crate::server::http::auth::Admin;
use crate::server::http::locale::message;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::infra::fetch::Fetcher;
use crate::types::{AdminPainting, AdminPaintings, PaintingEdit};

pub const PAGE_SIZE: i64 = 50;
const MAX_QUERY_CHARS: usize = 200;

/// Paintings whose title, artist or style contains `query` (all when empty), newest first.
pub async fn list(db: &PgPool, query: &str, page: i64) -> ServerResult<AdminPaintings> {
    let query = query.trim();
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::invalid(message!(catalogue.search_too_long, max = MAX_QUERY_CHARS)).into());
    }
    // LIKE's own wildcards in the query are matched literally.
    let pattern = format!("%{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    const MATCHES: &str = "($1 = '%%' OR p.title ILIKE $1 OR p.title_en ILIKE $1 OR p.artist ILIKE $1 OR p.artist_en ILIKE $1 OR p.style ILIKE $1)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM paintings p WHERE {MATCHES}"))
        .bind(&pattern)
        .fetch_one(db)
        .await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let items: Vec<AdminPainting> = sqlx::query_as(&format!(
        "SELECT p.id, coalesce(p.title_en, p.title) AS title, coalesce(p.artist_en, p.artist) AS artist, p.style,
                p.image_url, p.published,
                (SELECT count(*) FROM saved_paintings s WHERE s.painting_id = p.id) AS saves,
                (SELECT count(*) FROM activities a WHERE a.painting_id = p.id AND a.event_type = 'view') AS views,
                (SELECT count(*) FROM orders o WHERE o.painting_id = p.id) AS orders
         FROM paintings p WHERE {MATCHES}
         ORDER BY p.created_at DESC, p.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(PAGE_SIZE)
    .bind((page - 1) * PAGE_SIZE)
    .fetch_all(db)
    .await?;
    Ok(AdminPaintings { items, total, page, pages })
}

/// Publishes or unpublishes a painting, with the change in the audit log.
pub async fn set_published(db: &PgPool, admin: &Admin, id: i64, published: bool) -> ServerResult<()> {
    let mut tx = db.begin_cancel_safe().await?;
    let before: bool = sqlx::query_scalar("SELECT published FROM paintings WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
    if before != published {
        sqlx::query("UPDATE paintings SET published = $2, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(published)
            .execute(&mut *tx)
            .await?;
        let action = if published { "painting.publish" } else { "painting.unpublish" };
        audit::record(
            &mut *tx,
            admin,
            action,
            &format!("painting:{id}"),
            Some(json!({ "published": before })),
            Some(json!({ "published": published })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Where a single painting's image comes from.
pub enum ImageSource {
    Upload(Bytes),
    Url(String),
}

/// The admin form's fields as sent: text fields and the uploaded file, read with the image
/// size limit enforced while streaming.
pub struct PaintingForm {
    pub fields: HashMap<String, String>,
    pub upload: Bytes,
}

const MAX_TEXT_FIELD_BYTES: usize = 16 * 1024;

pub async fn read_painting_form(
    mut multipart: multer::Multipart<'static>,
    max_image_bytes: u64,
) -> ServerResult<PaintingForm> {
    let malformed = |_| AppError::invalid(message!(catalogue.form_unreadable));
    let mut fields = HashMap::new();
    let mut upload = BytesMut::new();
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_image = name == "image";
        let limit =
            if is_image { usize::try_from(max_image_bytes).unwrap_or(usize::MAX) } else { MAX_TEXT_FIELD_BYTES };
        let mut value = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if value.len() + chunk.len() > limit {
                return Err(if is_image {
                    AppError::InvalidField {
                        field: "image".into(),
                        message: message!(catalogue.image_too_large, max = max_image_bytes / 1024 / 1024),
                    }
                } else {
                    AppError::InvalidField { field: name, message: message!(catalogue.field_too_long) }
                }
                .into());
            }
            value.extend_from_slice(&chunk);
        }
        if is_image {
            upload = value;
        } else {
            fields.insert(name, String::from_utf8_lossy(&value).into_owned());
        }
    }
    Ok(PaintingForm { fields, upload: upload.freeze() })
}

impl PaintingForm {
    /// The metadata fields and where the image is: an uploaded file wins over a URL.
    pub fn into_parts(mut self) -> ServerResult<(RawMeta, ImageSource)> {
        let raw = raw_meta(&mut self.fields);
        let image = self.image()?;
        Ok((raw, image))
    }

    /// A text field, if given.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// Where the image is: an uploaded file wins over a URL.
    pub fn image(mut self) -> ServerResult<ImageSource> {
        let image_url = self.fields.remove("imageUrl").filter(|v| !v.trim().is_empty());
        match (self.upload.is_empty(), image_url) {
            (false, _) => Ok(ImageSource::Upload(self.upload)),
            (true, Some(url)) => Ok(ImageSource::Url(url.trim().to_owned())),
            (true, None) => {
                Err(AppError::InvalidField { field: "image".into(), message: message!(catalogue.no_image) }.into())
            }
        }
    }
}

/// The metadata fields of a painting form (the admin's add and edit forms share the names).
pub fn raw_meta(fields: &mut HashMap<String, String>) -> RawMeta {
    let mut take = |name: &str| fields.remove(name).filter(|v| !v.trim().is_empty());
    RawMeta {
        id: None,
        title: take("title"),
        title_en: take("titleEn"),
        artist: take("artist"),
        artist_en: take("artistEn"),
        year: take("year").map(serde_json::Value::String),
        style: take("style"),
        source: take("source"),
        source_url: take("sourceUrl"),
        license: take("license"),
        tags: take("tags").map(|t| t.split(',').map(str::to_owned).collect()).unwrap_or_default(),
    }
}

/// Adds one painting from the admin form: metadata checked first (nothing is downloaded for a
/// form with a bad field), then the image fetched (SSRF-safe) or taken from the upload, stored,
/// embedded and inserted. Without an id or source URL, the image itself (its URL, or a digest
/// of the upload) identifies the painting, so the same one is never added twice.
pub async fn add_one(
    catalogue: &Catalogue,
    fetcher: &Fetcher,
    admin: &Admin,
    mut raw: RawMeta,
    image: ImageSource,
) -> ServerResult<i64> {
    if raw.source_url.is_none() {
        raw.id = Some(match &image {
            ImageSource::Url(url) => url.clone(),
            ImageSource::Upload(bytes) => format!("upload:{}", hex::encode(&Sha256::digest(bytes)[..16])),
        });
    }
    let meta = PaintingMeta::parse(raw).map_err(AppError::from)?;
    if let Some(&id) = catalogue.existing(std::slice::from_ref(&meta.source_key)).await?.get(&meta.source_key) {
        return Err(AppError::InvalidField {
            field: "sourceUrl".into(),
            message: message!(catalogue.already_present, id),
        }
        .into());
    }
    let (image_field, bytes) = match image {
        ImageSource::Upload(bytes) => ("image", bytes),
        ImageSource::Url(url) => (
            "imageUrl",
            fetcher
                .image(&url)
                .await
                .map_err(|e| AppError::InvalidField { field: "imageUrl".into(), message: e.message() })?,
        ),
    };
    let title = meta.title.clone();
    let outcome =
        catalogue.add_batch(vec![NewPainting { meta, image: bytes }]).await?.pop().expect("one outcome per painting");
    match outcome {
        AddOutcome::Added { id } => {
            audit::record(
                &catalogue.db,
                admin,
                "painting.add",
                &format!("painting:{id}"),
                None,
                Some(json!({ "title": title })),
            )
            .await?;
            Ok(id)
        }
        AddOutcome::AlreadyPresent { id } => {
            Err(AppError::InvalidField { field: "sourceUrl".into(), message: message!(catalogue.already_present, id) }
                .into())
        }
        // Ours, not the form's (and already logged).
        AddOutcome::Failed(AddFailure::ProcessingCrashed | AddFailure::NotStored) => Err(AppError::Internal.into()),
        AddOutcome::Failed(failure) => {
            Err(AppError::InvalidField { field: image_field.into(), message: failure.message() }.into())
        }
    }
}

/// A painting's stored metadata, as the edit form starts from it.
#[derive(sqlx::FromRow)]
struct EditRow {
    title: String,
    title_en: Option<String>,
    artist: String,
    artist_en: Option<String>,
    year: Option<i32>,
    style: Option<String>,
    tags: Vec<String>,
    source: Option<String>,
    source_url: Option<String>,
    license: Option<String>,
    image_url: String,
    published: bool,
    embedding_model: String,
}

/// One painting's metadata for the edit form.
pub async fn for_edit(db: &PgPool, id: i64) -> ServerResult<PaintingEdit> {
    let row: Option<EditRow> = sqlx::query_as(
        "SELECT title, title_en, artist, artist_en, year, style, tags, source, source_url, license, image_url,
                published, embedding_model
         FROM paintings WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let EditRow {
        title,
        title_en,
        artist,
        artist_en,
        year,
        style,
        tags,
        source,
        source_url,
        license,
        image_url,
        published,
        embedding_model,
    } = row.ok_or(AppError::NotFound)?;
    Ok(PaintingEdit {
        id,
        title,
        title_en: title_en.unwrap_or_default(),
        artist,
        artist_en: artist_en.unwrap_or_default(),
        year: year.map(|y| y.to_string()).unwrap_or_default(),
        style: style.unwrap_or_default(),
        tags: tags.join(", "),
        source: source.unwrap_or_default(),
        source_url: source_url.unwrap_or_default(),
        license: license.unwrap_or_default(),
        image_url,
        published,
        embedding_model,
    })
}

/// Saves edited metadata, checked like any other; the painting keeps its identity (source key),
/// and the audit log keeps the fields before and after.
pub async fn update_meta(db: &PgPool, admin: &Admin, id: i64, mut raw: RawMeta) -> ServerResult<()> {
    let mut tx = db.begin_cancel_safe().await?;
    let before: serde_json::Value = sqlx::query_scalar(
        "SELECT jsonb_build_object('sourceKey', source_key, 'title', title, 'titleEn', title_en, 'artist', artist, 'artistEn', artist_en,
             'year', year, 'style', style, 'tags', tags, 'source', source, 'sourceUrl', source_url, 'license', license)
         FROM paintings WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    raw.id = before["sourceKey"].as_str().map(str::to_owned);
    let meta = PaintingMeta::parse(raw).map_err(AppError::from)?;
    let update = format!(
        "UPDATE paintings SET ({META_COLUMNS}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11), updated_at = now() WHERE id = $1"
    );
    meta.bind(sqlx::query(&update).bind(id)).execute(&mut *tx).await?;
    let after = json!({ "sourceKey": meta.source_key, "title": meta.title, "titleEn": meta.title_en, "artist": meta.artist, "artistEn": meta.artist_en,
        "year": meta.year, "style": meta.style, "tags": meta.tags, "source": meta.source, "sourceUrl": meta.source_url, "license": meta.license });
    if before != after {
        audit::record(&mut *tx, admin, "painting.edit", &format!("painting:{id}"), Some(before), Some(after)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A new image for painting `id` (upload or URL): new renditions and a new embedding.
pub async fn replace_image(
    catalogue: &Catalogue,
    fetcher: &Fetcher,
    admin: &Admin,
    id: i64,
    image: ImageSource,
) -> ServerResult<()> {
    let before: String = sqlx::query_scalar("SELECT image_url FROM paintings WHERE id = $1")
        .bind(id)
        .fetch_optional(&catalogue.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let bytes = match image {
        ImageSource::Upload(bytes) => bytes,
        ImageSource::Url(url) => fetcher
            .image(&url)
            .await
            .map_err(|e| AppError::InvalidField { field: "imageUrl".into(), message: e.message() })?,
    };
    let after = catalogue.replace_image(id, bytes).await?;
    audit::record(
        &catalogue.db,
        admin,
        "painting.replace_image",
        &format!("painting:{id}"),
        Some(json!({ "image": before })),
        Some(json!({ "image": after })),
    )
    .await
}
