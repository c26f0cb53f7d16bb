//! Room photos: a visitor uploads a photo of their room; we keep a re-encoded copy (so no EXIF,
//! GPS or camera data survives) under `user-rooms/{visitor}/`, blend its embedding into their
//! taste, and show paintings on it ("see it on your wall").

use bytes::Bytes;
use fast_image_resize::Resizer;
use pgvector::Vector;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::server::discovery::activity::{self, ServerEvent};
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::visitor::VisitorId;
use crate::server::infra::clip::preprocess;
use crate::server::infra::images::{decode_rgb, jpeg_rendition, ImageLimits, ImageRejected};
use crate::server::infra::storage::MediaKey;
use crate::server::{discovery::taste, state::AppState};
use crate::types::RoomPhoto;

/// Long side of the stored copy: plenty for a preview, a fraction of a phone photo's bytes.
const STORED_LONG_SIDE: u32 = 2048;
/// Room for the multipart framing and the `next` field around the photo itself.
pub const MULTIPART_OVERHEAD_BYTES: usize = 64 * 1024;

pub fn limits(state: &AppState) -> ImageLimits {
    ImageLimits { max_bytes: state.config.room_max_bytes, max_pixels: state.config.room_max_pixels }
}

/// Checks, re-encodes, stores and embeds a room photo, then blends it into the visitor's taste.
pub async fn upload(state: &AppState, visitor: VisitorId, bytes: Bytes) -> ServerResult<RoomPhoto> {
    let limits = limits(state);
    let (stored, pixels) = tokio::task::spawn_blocking(move || -> Result<_, ImageRejected> {
        let image = decode_rgb(&bytes, limits)?;
        let mut pixels = vec![0.0; preprocess::TENSOR_LEN];
        preprocess::preprocess_into(&image, &mut Resizer::new(), &mut pixels);
        Ok((jpeg_rendition(&image, STORED_LONG_SIDE, 85), pixels))
    })
    .await??;
    let embedding = state
        .clip
        .embed_images(pixels)
        .await?
        .pop()
        .ok_or_else(|| ServerError::Model("no embedding returned".into()))?;

    let digest = hex::encode(&Sha256::digest(&stored.jpeg)[..8]);
    let key = MediaKey::parse(format!("user-rooms/{}/{digest}.jpg", visitor.0))?;
    state.storage.put(&key, stored.jpeg, "image/jpeg").await?;
    let (width, height) = (stored.width as i32, stored.height as i32);
    save(&state.db, visitor, &key, width, height, &embedding).await?;
    tracing::info!(visitor = %visitor.0, key = key.as_str(), "room photo stored and blended into the taste");
    Ok(RoomPhoto { url: state.storage.public_url(&key), width, height })
}

/// Records the photo, blends it into the taste and logs the activity, in one transaction.
async fn save(
    db: &PgPool,
    visitor: VisitorId,
    key: &MediaKey,
    width: i32,
    height: i32,
    embedding: &[f32],
) -> ServerResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO user_preferences (visitor_id) VALUES ($1) ON CONFLICT (visitor_id) DO NOTHING")
        .bind(visitor.0)
        .execute(&mut *tx)
        .await?;
    // Locked like the taste worker locks it, so neither overwrites the other's update.
    let (current,): (Option<Vector>,) =
        sqlx::query_as("SELECT taste FROM user_preferences WHERE visitor_id = $1 FOR UPDATE")
            .bind(visitor.0)
            .fetch_one(&mut *tx)
            .await?;
    let blended = taste::blend_room(current.map(|v| v.to_vec()), embedding);
    sqlx::query("UPDATE user_preferences SET taste = $2, updated_at = now() WHERE visitor_id = $1")
        .bind(visitor.0)
        .bind(Vector::from(blended))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO room_photos (visitor_id, media_key, width, height, embedding) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(visitor.0)
    .bind(key.as_str())
    .bind(width)
    .bind(height)
    .bind(Vector::from(embedding.to_vec()))
    .execute(&mut *tx)
    .await?;
    // Processed already: the blend above is its whole effect on the taste.
    activity::record_server_event(&mut tx, visitor, ServerEvent::RoomPhoto).await?;
    tx.commit().await?;
    Ok(())
}

/// The visitor's newest room photo, if they have uploaded one.
pub async fn latest(state: &AppState, visitor: VisitorId) -> ServerResult<Option<RoomPhoto>> {
    let row: Option<(String, i32, i32)> = sqlx::query_as(
        "SELECT media_key, width, height FROM room_photos WHERE visitor_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(visitor.0)
    .fetch_optional(&state.db)
    .await?;
    row.map(|(key, width, height)| {
        Ok(RoomPhoto { url: state.storage.public_url(&MediaKey::parse(key)?), width, height })
    })
    .transpose()
}
