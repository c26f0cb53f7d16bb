//! Adding paintings: metadata parsed into a checked record, image decoded under limits, feed
//! thumbnail and HD rendition written to storage, embedding computed in-process, row inserted.
//! Nothing is half-written: a painting's row is inserted only after its images are stored, and
//! a failure of one painting never affects the others in its batch.

pub mod editor;
pub mod import;
pub mod import_jobs;

use std::sync::Arc;

use bytes::Bytes;
use fast_image_resize::Resizer;
use futures::StreamExt;
use pgvector::Vector;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::AppError;
use crate::server::error::ServerResult;
use crate::server::http::locale::message;
use crate::server::infra::clip::{preprocess, Clip};
use crate::server::infra::db::BeginCancelSafe;
use crate::server::infra::fetch::FetchError;
use crate::server::infra::images::{
    decode_rgb, fit_within, web_rendition, with_decode_slot, ImageLimits, ImageRejected, WebRendition,
};
use crate::server::infra::storage::{MediaKey, Storage, Visibility, PUBLIC_PREFIX};

/// The widths a painting is stored at besides its HD size, smallest first: a page names them
/// all in `srcset` and the browser fetches the one that fills the width it shows the image at.
/// The card's image (`image_url`) is the `THUMB_WIDTH` one. 768 is for phones: a card one
/// screen wide on a 412 px phone at 1.75 dppx needs 721 pixels, which would otherwise be
/// served from the next size up (960, or a typical 843 px source's HD size at HD quality).
const RENDITION_WIDTHS: [u32; 5] = [320, THUMB_WIDTH, 768, 960, 1280];
pub const THUMB_WIDTH: u32 = 640;
/// The painting page's image (`image_hd_url`), the largest: every size fits this long side.
pub const HD_LONG_SIDE: u32 = 2048;

/// Checked painting metadata. Construct it with `PaintingMeta::parse`.
#[derive(Debug, Clone, PartialEq)]
pub struct PaintingMeta {
    /// Stable identity of the source record; the idempotency key of every import.
    pub source_key: String,
    pub title: String,
    pub title_en: Option<String>,
    pub artist: String,
    pub artist_en: Option<String>,
    pub year: Option<i32>,
    pub style: Option<String>,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub license: Option<String>,
    pub tags: Vec<String>,
}

/// Metadata as it arrives (CSV row, JSON object, admin form), before any checks.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMeta {
    pub id: Option<String>,
    pub title: Option<String>,
    pub title_en: Option<String>,
    pub artist: Option<String>,
    pub artist_en: Option<String>,
    pub year: Option<serde_json::Value>,
    pub style: Option<String>,
    pub source: Option<String>,
    pub source_url: Option<String>,
    #[serde(alias = "licence")]
    pub license: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What is wrong with painting metadata: the field (as the admin form names it) and why. Its
/// `Display` is English (the CLI's report, a job's stored reasons); the admin's form gets it in
/// their language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{}", self.english())]
pub struct MetaError {
    pub field: String,
    pub problem: MetaProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaProblem {
    Required,
    TooLong {
        max: usize,
    },
    NotAUrl(String),
    NotHttp(String),
    /// The year as given (`"circa 1900"`, `1900.5`).
    YearNotANumber(String),
    YearOutOfRange(i64),
    NoSourceKey,
    TooManyTags,
}

impl MetaError {
    fn new(field: &str, problem: MetaProblem) -> Self {
        Self { field: field.to_owned(), problem }
    }

    fn english(&self) -> String {
        let label = match self.field.as_str() {
            "sourceUrl" => "source URL",
            "titleEn" => "English title",
            "artistEn" => "English artist name",
            "license" => "licence",
            field => field,
        };
        match &self.problem {
            MetaProblem::Required => format!("{label} is required"),
            MetaProblem::TooLong { max } => format!("{label} is longer than {max} characters"),
            MetaProblem::NotAUrl(url) => format!("source URL {url:?} is not a URL"),
            MetaProblem::NotHttp(url) => format!("source URL {url:?} must be http or https"),
            MetaProblem::YearNotANumber(year) => format!("year {year} is not a number"),
            MetaProblem::YearOutOfRange(year) => format!("year {year} is out of range"),
            MetaProblem::NoSourceKey => "an id or a source URL is required, so that re-imports are recognised".into(),
            MetaProblem::TooManyTags => "at most 30 tags of at most 50 characters".into(),
        }
    }

    /// In the language of whoever the current request is for.
    fn message(&self) -> String {
        let field = match self.field.as_str() {
            "title" => message!(meta.title),
            "artist" => message!(meta.artist),
            "sourceUrl" => message!(meta.source_url),
            "titleEn" => message!(meta.title_en),
            "artistEn" => message!(meta.artist_en),
            "style" => message!(meta.style),
            "source" => message!(meta.source),
            "license" => message!(meta.license),
            "year" => message!(meta.year),
            "tags" => message!(meta.tags),
            _ => message!(meta.id),
        };
        match &self.problem {
            MetaProblem::Required => message!(meta.required, field),
            MetaProblem::TooLong { max } => message!(meta.too_long, field, max),
            MetaProblem::NotAUrl(_) => message!(meta.not_a_url),
            MetaProblem::NotHttp(_) => message!(meta.not_http),
            MetaProblem::YearNotANumber(year) => message!(meta.year_not_a_number, year),
            MetaProblem::YearOutOfRange(year) => message!(meta.year_out_of_range, year),
            MetaProblem::NoSourceKey => message!(meta.no_source_key),
            MetaProblem::TooManyTags => message!(meta.too_many_tags),
        }
    }
}

impl From<MetaError> for crate::error::AppError {
    fn from(error: MetaError) -> Self {
        let message = error.message();
        Self::InvalidField { field: error.field, message }
    }
}

impl PaintingMeta {
    /// Checks every field, naming the first one that is wrong.
    pub fn parse(raw: RawMeta) -> Result<Self, MetaError> {
        /// Trimmed, empty as none.
        fn text(
            value: Option<String>,
            field: &'static str,
            max: usize,
            required: bool,
        ) -> Result<Option<String>, MetaError> {
            let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            match value {
                None if required => Err(MetaError::new(field, MetaProblem::Required)),
                Some(v) if v.chars().count() > max => Err(MetaError::new(field, MetaProblem::TooLong { max })),
                other => Ok(other),
            }
        }
        let title = text(raw.title, "title", 500, true)?.expect("required");
        let artist = text(raw.artist, "artist", 300, true)?.expect("required");
        let source_url = text(raw.source_url, "sourceUrl", 2000, false)?;
        if let Some(url) = &source_url {
            let parsed =
                url::Url::parse(url).map_err(|_| MetaError::new("sourceUrl", MetaProblem::NotAUrl(url.clone())))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(MetaError::new("sourceUrl", MetaProblem::NotHttp(url.clone())));
            }
        }
        let not_a_number = |year: String| MetaError::new("year", MetaProblem::YearNotANumber(year));
        let year = match raw.year {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => Some(n.as_i64().ok_or_else(|| not_a_number(n.to_string()))?),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
            Some(serde_json::Value::String(s)) => {
                Some(s.trim().parse::<i64>().map_err(|_| not_a_number(format!("{s:?}")))?)
            }
            Some(other) => return Err(not_a_number(other.to_string())),
        };
        let year = match year {
            Some(y) if !(-3000..=2100).contains(&y) => {
                return Err(MetaError::new("year", MetaProblem::YearOutOfRange(y)))
            }
            other => other.map(|y| y as i32),
        };
        let source_key = text(raw.id, "id", 300, false)?
            .or_else(|| source_url.clone())
            .ok_or_else(|| MetaError::new("sourceUrl", MetaProblem::NoSourceKey))?;
        let tags = raw.tags.into_iter().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()).collect::<Vec<_>>();
        if tags.len() > 30 || tags.iter().any(|t| t.chars().count() > 50) {
            return Err(MetaError::new("tags", MetaProblem::TooManyTags));
        }
        Ok(Self {
            source_key,
            title,
            title_en: text(raw.title_en, "titleEn", 500, false)?,
            artist,
            artist_en: text(raw.artist_en, "artistEn", 300, false)?,
            year,
            style: text(raw.style, "style", 100, false)?,
            source: text(raw.source, "source", 200, false)?,
            source_url,
            license: text(raw.license, "license", 300, false)?,
            tags,
        })
    }
}

/// A painting to add: checked metadata and the image's bytes (not yet trusted).
#[derive(Debug, Clone)]
pub struct NewPainting {
    pub meta: PaintingMeta,
    pub image: Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AddOutcome {
    Added {
        id: i64,
    },
    /// A painting with the same source key is already in the catalogue.
    AlreadyPresent {
        id: i64,
    },
    Failed(AddFailure),
}

/// Why a painting was not added (or not re-embedded). Kept typed, in a job's items too, so that
/// each admin reads it in their language; its `Display` is English, for the CLI and the logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AddFailure {
    #[error("{error}")]
    Meta { error: MetaError },
    #[error("{rejected}")]
    Image { rejected: ImageRejected },
    #[error("{error}")]
    Fetch { error: FetchError },
    #[error("no imageUrl given")]
    NoImageUrl,
    /// A job's stored item that no longer reads as an import item.
    #[error("the stored item is unreadable")]
    UnreadableItem,
    #[error("the image could not be processed (logged)")]
    ProcessingCrashed,
    #[error("the painting could not be stored (logged)")]
    NotStored,
    #[error("the painting no longer exists")]
    PaintingGone,
    #[error("its image is not in our storage")]
    NotInOurStorage,
    #[error("its stored image could not be read (logged)")]
    StoredImageUnreadable,
    #[error("its sizes could not be stored (logged)")]
    SizesNotStored,
}

impl AddFailure {
    /// In the language of whoever the current request is for.
    pub fn message(&self) -> String {
        match self {
            Self::Meta { error } => error.message(),
            Self::Image { rejected } => rejected.message(),
            Self::Fetch { error } => error.message(),
            Self::NoImageUrl => message!(catalogue.no_image_url),
            Self::UnreadableItem => message!(catalogue.unreadable_item),
            Self::ProcessingCrashed => message!(catalogue.processing_crashed),
            Self::NotStored => message!(catalogue.not_stored),
            Self::PaintingGone => message!(catalogue.painting_gone),
            Self::NotInOurStorage => message!(catalogue.not_in_our_storage),
            Self::StoredImageUnreadable => message!(catalogue.stored_image_unreadable),
            Self::SizesNotStored => message!(catalogue.sizes_not_stored),
        }
    }
}

/// Everything a painting passes through on its way in.
#[derive(Clone)]
pub struct Catalogue {
    pub db: PgPool,
    pub clip: Arc<Clip>,
    pub storage: Arc<Storage>,
    pub limits: ImageLimits,
}

/// Decoded and resized, ready to embed and store.
struct Prepared {
    renditions: Renditions,
    pixels: Vec<f32>,
    digest: String,
}

/// A painting's sizes, smallest first; a small source has fewer (nothing is upscaled).
struct Renditions {
    sizes: Vec<WebRendition>,
    /// Which of `sizes` is the card's thumbnail; the last is the HD one.
    thumb: usize,
}

impl Renditions {
    fn of(image: &image::RgbImage) -> Self {
        let (width, height) = image.dimensions();
        let plan = Self::plan(width, height);
        let thumb =
            plan.iter().rposition(|(max_width, _)| *max_width <= THUMB_WIDTH).expect("the smallest size fits a card");
        let sizes = plan
            .into_iter()
            .map(|(max_width, fitted)| {
                // The HD size is looked at closely, on the painting page and on a wall.
                let (jpeg_quality, webp_quality) = if max_width == u32::MAX { (88, 80) } else { (82, 75) };
                web_rendition(image, fitted, jpeg_quality, webp_quality)
            })
            .collect();
        Self { sizes, thumb }
    }

    /// The sizes `of` makes of a `width` x `height` image, each with the width it was capped at.
    fn plan(width: u32, height: u32) -> Vec<(u32, (u32, u32))> {
        let mut plan: Vec<(u32, (u32, u32))> = Vec::with_capacity(RENDITION_WIDTHS.len() + 1);
        for max_width in RENDITION_WIDTHS.into_iter().chain([u32::MAX]) {
            let fitted = fit_within(width, height, max_width, HD_LONG_SIDE);
            // Pages tell sizes apart by width (`srcset`'s "640w"), so one size per width.
            if plan.last().map(|(_, size)| size.0) != Some(fitted.0) {
                plan.push((max_width, fitted));
            }
        }
        plan
    }

    /// Whether a stored `srcset` lacks a width this version makes of a `width` x `height` image
    /// (it has none, or it was made before that width was one of ours).
    fn missing_from(srcset: Option<&str>, width: u32, height: u32) -> bool {
        let stored: Vec<&str> = srcset
            .into_iter()
            .flat_map(|srcset| srcset.split(','))
            .filter_map(|c| c.trim().rsplit_once(' '))
            .map(|(_, w)| w)
            .collect();
        Self::plan(width, height).iter().any(|(_, (planned, _))| !stored.contains(&format!("{planned}w").as_str()))
    }

    fn thumb(&self) -> &WebRendition {
        &self.sizes[self.thumb]
    }

    fn hd(&self) -> &WebRendition {
        self.sizes.last().expect("at least one size")
    }

    /// WebP is offered only where it is smaller than JPEG for this painting, all sizes together.
    fn webp_is_smaller(&self) -> bool {
        let total = |bytes: fn(&WebRendition) -> usize| self.sizes.iter().map(bytes).sum::<usize>();
        total(|r| r.webp.len()) < total(|r| r.jpeg.len())
    }
}

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// The columns `PaintingMeta::bind` fills, in its order.
pub(crate) const META_COLUMNS: &str =
    "title, title_en, artist, artist_en, year, style, tags, source, source_url, license";

impl PaintingMeta {
    /// Binds the next ten parameters of `query` to `META_COLUMNS`.
    pub(crate) fn bind<'q>(&'q self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(&self.title)
            .bind(&self.title_en)
            .bind(&self.artist)
            .bind(&self.artist_en)
            .bind(self.year)
            .bind(&self.style)
            .bind(&self.tags)
            .bind(&self.source)
            .bind(&self.source_url)
            .bind(&self.license)
    }
}

/// Where a painting's stored renditions are, as its row records them.
struct StoredImages {
    thumb_url: String,
    thumb_size: (i32, i32),
    hd_url: String,
    hd_size: (i32, i32),
    /// `srcset` values: "url 320w, url 640w, …".
    srcset: String,
    srcset_webp: Option<String>,
}

/// The columns `StoredImages::bind` fills, in its order.
const IMAGE_COLUMNS: &str = "image_url, image_hd_url, thumb_width, thumb_height, hd_width, hd_height, aspect_ratio,
     image_srcset, image_srcset_webp";

impl StoredImages {
    /// Binds the next nine parameters of `query` to `IMAGE_COLUMNS`.
    fn bind<'q>(&'q self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(&self.thumb_url)
            .bind(&self.hd_url)
            .bind(self.thumb_size.0)
            .bind(self.thumb_size.1)
            .bind(self.hd_size.0)
            .bind(self.hd_size.1)
            .bind(self.aspect_ratio())
            .bind(&self.srcset)
            .bind(self.srcset_webp.as_deref())
    }

    /// Points painting `id` at these images.
    async fn record(&self, tx: &mut sqlx::PgConnection, id: i64) -> ServerResult<()> {
        let update = format!(
            "UPDATE paintings SET ({IMAGE_COLUMNS}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10), updated_at = now() WHERE id = $1"
        );
        self.bind(sqlx::query(&update).bind(id)).execute(tx).await?;
        Ok(())
    }

    fn aspect_ratio(&self) -> f32 {
        self.hd_size.0 as f32 / self.hd_size.1 as f32
    }
}

impl Catalogue {
    /// Which of these source keys are already in the catalogue, with their painting ids.
    pub async fn existing(&self, keys: &[String]) -> ServerResult<std::collections::HashMap<String, i64>> {
        Ok(sqlx::query_as::<_, (String, i64)>("SELECT source_key, id FROM paintings WHERE source_key = ANY($1)")
            .bind(keys)
            .fetch_all(&self.db)
            .await?
            .into_iter()
            .collect())
    }

    /// Adds a batch of paintings; one outcome per input, in order. Images are decoded in
    /// parallel on the blocking pool, then embedded in one inference call.
    pub async fn add_batch(&self, batch: Vec<NewPainting>) -> ServerResult<Vec<AddOutcome>> {
        let keys: Vec<String> = batch.iter().map(|p| p.meta.source_key.clone()).collect();
        let existing = self.existing(&keys).await?;

        let mut outcomes: Vec<Option<AddOutcome>> = batch
            .iter()
            .map(|p| existing.get(&p.meta.source_key).map(|&id| AddOutcome::AlreadyPresent { id }))
            .collect();
        let limits = self.limits;
        let todo: Vec<(usize, Bytes)> = batch
            .iter()
            .enumerate()
            .filter(|(i, _)| outcomes[*i].is_none())
            .map(|(i, p)| (i, p.image.clone()))
            .collect();
        let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
        let prepared: Vec<(usize, Result<Prepared, AddFailure>)> = futures::stream::iter(todo)
            .map(|(i, bytes)| async move {
                let result = match with_decode_slot(move || prepare(&bytes, limits)).await {
                    Ok(prepared) => prepared.map_err(|rejected| AddFailure::Image { rejected }),
                    Err(crashed) => {
                        tracing::error!(error = %crashed, "image processing crashed");
                        Err(AddFailure::ProcessingCrashed)
                    }
                };
                (i, result)
            })
            .buffer_unordered(parallelism)
            .collect()
            .await;

        let mut ready = Vec::new();
        for (i, result) in prepared {
            match result {
                Ok(p) => ready.push((i, p)),
                Err(failure) => outcomes[i] = Some(AddOutcome::Failed(failure)),
            }
        }
        ready.sort_by_key(|(i, _)| *i);
        let pixels: Vec<f32> = ready.iter().flat_map(|(_, p)| p.pixels.iter().copied()).collect();
        let embeddings = self.clip.embed_images(pixels).await?;

        for ((i, prepared), embedding) in ready.into_iter().zip(embeddings) {
            let outcome = match self.store(&batch[i].meta, prepared, embedding).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::error!(%error, key = %batch[i].meta.source_key, "storing painting failed");
                    AddOutcome::Failed(AddFailure::NotStored)
                }
            };
            outcomes[i] = Some(outcome);
        }
        Ok(outcomes.into_iter().map(|o| o.expect("every painting has an outcome")).collect())
    }

    /// Writes every size as JPEG (and as WebP where that is smaller); returns their public URLs.
    /// `stored_hd`: the URL of a JPEG already stored at the largest size (a re-embed's source),
    /// which is kept as it is rather than written again one JPEG generation worse.
    async fn store_renditions(
        &self,
        source_key: &str,
        digest: &str,
        renditions: &Renditions,
        stored_hd: Option<&str>,
    ) -> ServerResult<StoredImages> {
        let folder = format!("{PUBLIC_PREFIX}{}", slug(source_key));
        let with_webp = renditions.webp_is_smaller();
        let mut jpeg_urls = Vec::with_capacity(renditions.sizes.len());
        let mut srcset_webp = Vec::new();
        for (index, size) in renditions.sizes.iter().enumerate() {
            let stem = format!("{folder}/{digest}-{}w", size.width);
            match stored_hd.filter(|_| index + 1 == renditions.sizes.len()) {
                Some(url) => jpeg_urls.push(url.to_owned()),
                None => {
                    let key = MediaKey::parse(format!("{stem}.jpg"))?;
                    self.storage.put(&key, size.jpeg.clone(), "image/jpeg", Visibility::Public).await?;
                    jpeg_urls.push(self.storage.public_url(&key));
                }
            }
            if with_webp {
                let key = MediaKey::parse(format!("{stem}.webp"))?;
                self.storage.put(&key, size.webp.clone(), "image/webp", Visibility::Public).await?;
                srcset_webp.push(format!("{} {}w", self.storage.public_url(&key), size.width));
            }
        }
        let srcset = jpeg_urls.iter().zip(&renditions.sizes).map(|(url, size)| format!("{url} {}w", size.width));
        Ok(StoredImages {
            srcset: srcset.collect::<Vec<_>>().join(", "),
            srcset_webp: with_webp.then(|| srcset_webp.join(", ")),
            thumb_url: jpeg_urls[renditions.thumb].clone(),
            thumb_size: size_of(renditions.thumb()),
            hd_url: jpeg_urls.last().expect("at least one size").clone(),
            hd_size: size_of(renditions.hd()),
        })
    }

    async fn store(&self, meta: &PaintingMeta, prepared: Prepared, embedding: Vec<f32>) -> ServerResult<AddOutcome> {
        let images = self.store_renditions(&meta.source_key, &prepared.digest, &prepared.renditions, None).await?;
        let insert = format!(
            "INSERT INTO paintings (source_key, {META_COLUMNS}, embedding, embedding_model, {IMAGE_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
             ON CONFLICT (source_key) DO NOTHING
             RETURNING id"
        );
        let query = meta
            .bind(sqlx::query(&insert).bind(&meta.source_key))
            .bind(Vector::from(embedding))
            .bind(&self.clip.info().id);
        let inserted: Option<i64> =
            images.bind(query).fetch_optional(&self.db).await?.map(|row| sqlx::Row::get(&row, "id"));
        match inserted {
            Some(id) => Ok(AddOutcome::Added { id }),
            // A concurrent import of the same record won the race.
            None => {
                let (id,): (i64,) = sqlx::query_as("SELECT id FROM paintings WHERE source_key = $1")
                    .bind(&meta.source_key)
                    .fetch_one(&self.db)
                    .await?;
                Ok(AddOutcome::AlreadyPresent { id })
            }
        }
    }

    /// Replaces a painting's image: new renditions, a new embedding, same painting (id, orders,
    /// saves). The old files stay where they are, so pages already open keep working. Answers
    /// the new thumbnail's URL.
    pub async fn replace_image(&self, id: i64, image: Bytes) -> ServerResult<String> {
        let source_key: String = sqlx::query_scalar("SELECT source_key FROM paintings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let limits = self.limits;
        let prepared = with_decode_slot(move || prepare(&image, limits))
            .await?
            .map_err(|rejected| AppError::InvalidField { field: "image".into(), message: rejected.message() })?;
        let embedding = self.clip.embed_images(prepared.pixels.clone()).await?.pop().expect("one embedding per image");
        let images = self.store_renditions(&source_key, &prepared.digest, &prepared.renditions, None).await?;
        let mut tx = self.db.begin_cancel_safe().await?;
        images.record(&mut tx, id).await?;
        self.record_embedding(&mut tx, id, embedding).await?;
        tx.commit().await?;
        Ok(images.thumb_url)
    }

    async fn record_embedding(&self, tx: &mut sqlx::PgConnection, id: i64, embedding: Vec<f32>) -> ServerResult<()> {
        sqlx::query("UPDATE paintings SET embedding = $2, embedding_model = $3, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(Vector::from(embedding))
            .bind(&self.clip.info().id)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// Embeds these paintings again from their stored HD images with the loaded model; one
    /// result per id, in order. The feed keeps reading the old vectors until each update lands.
    /// A painting whose stored sizes lack one this version makes (imported before it, or before
    /// any) gets them all made again from its HD image.
    pub async fn reembed(&self, ids: &[i64]) -> ServerResult<Vec<Result<(), AddFailure>>> {
        let rows: std::collections::HashMap<i64, (String, String, Option<String>)> =
            sqlx::query_as::<_, (i64, String, String, Option<String>)>(
                "SELECT id, image_hd_url, source_key, image_srcset FROM paintings WHERE id = ANY($1)",
            )
            .bind(ids)
            .fetch_all(&self.db)
            .await?
            .into_iter()
            .map(|(id, url, source_key, srcset)| (id, (url, source_key, srcset)))
            .collect();
        let mut results: Vec<Result<(), AddFailure>> = Vec::with_capacity(ids.len());
        let mut ready = Vec::new();
        let mut pixels = Vec::new();
        for &id in ids {
            let loaded = match rows.get(&id).map(|(url, _, srcset)| (self.storage.key_for_url(url), srcset.clone())) {
                None => Err(AddFailure::PaintingGone),
                Some((None, _)) => Err(AddFailure::NotInOurStorage),
                Some((Some(key), srcset)) => match self.storage.get(&key).await {
                    Err(error) => {
                        tracing::error!(%error, painting = id, "reading image for re-embedding failed");
                        Err(AddFailure::StoredImageUnreadable)
                    }
                    Ok(bytes) => {
                        let limits = self.limits;
                        with_decode_slot(move || {
                            let image =
                                decode_rgb(&bytes, limits).map_err(|rejected| AddFailure::Image { rejected })?;
                            let (width, height) = image.dimensions();
                            let sizes = Renditions::missing_from(srcset.as_deref(), width, height)
                                .then(|| (Renditions::of(&image), digest(&bytes)));
                            Ok((tensor(&image), sizes))
                        })
                        .await?
                    }
                },
            };
            match loaded {
                Ok((tensor, sizes)) => {
                    pixels.extend(tensor);
                    ready.push((results.len(), id, sizes));
                    results.push(Ok(()));
                }
                Err(reason) => results.push(Err(reason)),
            }
        }
        let embeddings = self.clip.embed_images(pixels).await?;
        for ((index, id, sizes), embedding) in ready.into_iter().zip(embeddings) {
            let (hd_url, source_key, _) = &rows[&id];
            let images = match sizes {
                None => None,
                Some((renditions, digest)) => {
                    match self.store_renditions(source_key, &digest, &renditions, Some(hd_url)).await {
                        Ok(images) => Some(images),
                        Err(error) => {
                            tracing::error!(%error, painting = id, "storing sizes while re-embedding failed");
                            results[index] = Err(AddFailure::SizesNotStored);
                            continue;
                        }
                    }
                }
            };
            let mut tx = self.db.begin_cancel_safe().await?;
            if let Some(images) = images {
                images.record(&mut tx, id).await?;
            }
            self.record_embedding(&mut tx, id, embedding).await?;
            tx.commit().await?;
            results[index] = Ok(());
        }
        Ok(results)
    }
}

/// The model's input tensor for `image`.
fn tensor(image: &image::RgbImage) -> Vec<f32> {
    let mut pixels = vec![0.0; preprocess::TENSOR_LEN];
    preprocess::preprocess_into(image, &mut Resizer::new(), &mut pixels);
    pixels
}

/// Names a source image's files: the same bytes always get the same names.
fn digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

fn size_of(rendition: &WebRendition) -> (i32, i32) {
    (rendition.width as i32, rendition.height as i32)
}

fn prepare(bytes: &[u8], limits: ImageLimits) -> Result<Prepared, ImageRejected> {
    let image = decode_rgb(bytes, limits)?;
    Ok(Prepared { renditions: Renditions::of(&image), pixels: tensor(&image), digest: digest(bytes) })
}

/// A storage-safe folder name for a source key ("aic:866" -> "aic-866").
fn slug(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    let short: String = trimmed.chars().take(80).collect();
    // Different keys can share a slug; a hash of the key keeps their folders apart.
    format!("{}-{}", if short.is_empty() { "item" } else { &short }, &hex::encode(Sha256::digest(key.as_bytes()))[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_the_same_after_a_job_stores_it() {
        let failures = [
            AddFailure::Meta { error: MetaError::new("year", MetaProblem::YearOutOfRange(5000)) },
            AddFailure::Image { rejected: ImageRejected::TooLarge { size: 10, limit: 5 } },
            AddFailure::Fetch { error: FetchError::Status(404) },
            AddFailure::NotStored,
        ];
        for failure in failures {
            let stored = serde_json::to_value(&failure).unwrap();
            let read = serde_json::from_value::<AddFailure>(stored).unwrap();
            assert_eq!((read.to_string(), read.message()), (failure.to_string(), failure.message()));
        }
        // Outside a request the reader is an operator: English, as the CLI prints it.
        assert_eq!(AddFailure::Fetch { error: FetchError::Status(404) }.message(), "the server answered HTTP 404");
    }

    #[test]
    fn a_stored_failure_keeps_its_shape() {
        // Jobs store these: a rename here would leave stored reasons unreadable (shown in English).
        let stored = |failure: AddFailure| serde_json::to_value(failure).unwrap();
        let year = MetaError::new("year", MetaProblem::YearOutOfRange(5000));
        assert_eq!(
            stored(AddFailure::Meta { error: year }),
            serde_json::json!({ "kind": "meta", "error": { "field": "year", "problem": { "year_out_of_range": 5000 } } })
        );
        assert_eq!(
            stored(AddFailure::Fetch { error: FetchError::Status(404) }),
            serde_json::json!({ "kind": "fetch", "error": { "status": 404 } })
        );
        assert_eq!(
            stored(AddFailure::Image { rejected: ImageRejected::NotAnImage }),
            serde_json::json!({ "kind": "image", "rejected": "not_an_image" })
        );
        assert_eq!(stored(AddFailure::NotStored), serde_json::json!({ "kind": "not_stored" }));
    }

    #[test]
    fn a_failure_says_the_same_in_logs_as_to_an_english_reader() {
        let own = [
            AddFailure::NoImageUrl,
            AddFailure::UnreadableItem,
            AddFailure::ProcessingCrashed,
            AddFailure::NotStored,
            AddFailure::PaintingGone,
            AddFailure::NotInOurStorage,
            AddFailure::StoredImageUnreadable,
            AddFailure::SizesNotStored,
        ];
        // Outside a request `message` is English.
        for failure in own {
            assert_eq!(failure.to_string(), failure.message());
        }
    }

    fn raw(title: &str, artist: &str) -> RawMeta {
        RawMeta {
            id: Some("aic:1".into()),
            title: Some(title.into()),
            artist: Some(artist.into()),
            ..Default::default()
        }
    }

    #[test]
    fn metadata_requires_title_artist_and_a_stable_key() {
        assert_eq!(PaintingMeta::parse(raw("", "x")).unwrap_err(), MetaError::new("title", MetaProblem::Required));
        assert_eq!(PaintingMeta::parse(raw("x", "  ")).unwrap_err().to_string(), "artist is required");
        let mut no_key = raw("x", "y");
        no_key.id = None;
        assert_eq!(PaintingMeta::parse(no_key).unwrap_err().field, "sourceUrl");
        assert_eq!(PaintingMeta::parse(raw(" Water Lilies ", "Monet")).unwrap().title, "Water Lilies");
    }

    #[test]
    fn metadata_checks_year_and_urls() {
        let mut r = raw("x", "y");
        r.year = Some(serde_json::json!("c. 1890"));
        assert_eq!(PaintingMeta::parse(r.clone()).unwrap_err().field, "year");
        r.year = Some(serde_json::json!(1890));
        assert_eq!(PaintingMeta::parse(r.clone()).unwrap().year, Some(1890));
        r.source_url = Some("javascript:alert(1)".into());
        assert!(PaintingMeta::parse(r).unwrap_err().to_string().contains("http"));
    }

    #[test]
    fn slugs_are_storage_safe_and_distinct() {
        let a = slug("aic:866");
        assert!(a.starts_with("aic-866-"));
        assert!(MediaKey::parse(format!("paintings/{a}/x.jpg")).is_ok());
        assert_ne!(slug("a:b"), slug("a/b"));
    }
}
