//! Room photos: a visitor uploads a photo of their room; we keep a re-encoded copy (so no EXIF,
//! GPS or camera data survives), blend its embedding into their taste, and show paintings on it
//! ("see it on your wall"). A photo is stored under a random key that says nothing about whose
//! room it is, and only its owner is served it (`GET /api/room-photo/{token}`, privately cached).
//!
//! Photos stored before that lived under `user-rooms/{visitor id}/`; `rekey_legacy` moves them.

use bytes::Bytes;
use fast_image_resize::Resizer;
use pgvector::Vector;
use rand::RngCore;
use sqlx::PgPool;

use crate::server::discovery::activity::{self, ServerEvent};
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::visitor::VisitorId;
use crate::server::infra::clip::preprocess;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::infra::images::{decode_rgb, jpeg_rendition, with_decode_slot, ImageLimits, ImageRejected};
use crate::server::infra::storage::{MediaKey, Storage, Visibility};
use crate::server::{discovery::taste, state::AppState};
use crate::types::RoomPhoto;

/// Where room photos live: `rooms/{token}.jpg`, the token 32 random hex digits.
const KEY_PREFIX: &str = "rooms/";
/// The layout before random keys, which named the visitor.
const LEGACY_KEY_PATTERN: &str = "user-rooms/%/%";
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
    let (stored, pixels) = with_decode_slot(move || -> Result<_, ImageRejected> {
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

    let key = new_key();
    state.storage.put(&key, stored.jpeg, "image/jpeg", Visibility::Private).await?;
    let (width, height) = (stored.width as i32, stored.height as i32);
    save(&state.db, visitor, &key, width, height, &embedding).await?;
    tracing::info!("room photo stored and blended into the taste");
    Ok(RoomPhoto { url: url(&key), width, height })
}

fn new_key() -> MediaKey {
    let mut token = [0u8; 16];
    rand::rng().fill_bytes(&mut token);
    MediaKey::parse(format!("{KEY_PREFIX}{}.jpg", hex::encode(token))).expect("hex digits make a valid key")
}

/// The owner's URL of a photo: its token, behind the route that checks the owner.
fn url(key: &MediaKey) -> String {
    let token = key.as_str().trim_start_matches(KEY_PREFIX).trim_end_matches(".jpg");
    format!("/api/room-photo/{token}")
}

/// The JPEG of the photo `token` names, if it is one of `visitor`'s (None for anyone else's, so a
/// stranger cannot even tell that it exists).
pub async fn photo(state: &AppState, visitor: VisitorId, token: &str) -> ServerResult<Option<Vec<u8>>> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Ok(None);
    }
    let key = format!("{KEY_PREFIX}{token}.jpg");
    let owned: Option<(String,)> =
        sqlx::query_as("SELECT media_key FROM room_photos WHERE visitor_id = $1 AND media_key = $2")
            .bind(visitor.0)
            .bind(&key)
            .fetch_optional(&state.db)
            .await?;
    match owned {
        Some((key,)) => Ok(Some(state.storage.get(&MediaKey::parse(key)?).await?)),
        None => Ok(None),
    }
}

/// Moves photos stored under the old, visitor-naming keys to random ones, one row at a time
/// (`SKIP LOCKED`: several instances may run it at once), and deletes the old object. Returns how
/// many it moved.
pub async fn rekey_legacy(state: &AppState) -> ServerResult<u64> {
    let mut moved = 0;
    let mut after = 0i64;
    loop {
        let mut tx = state.db.begin_cancel_safe().await?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, media_key FROM room_photos WHERE media_key LIKE $1 AND id > $2
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .bind(LEGACY_KEY_PATTERN)
        .bind(after)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, old)) = row else { return Ok(moved) };
        after = id;
        let old = MediaKey::parse(old)?;
        let bytes = match state.storage.get(&old).await {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(photo = id, %error, "a room photo under an old key could not be read; left as it is");
                continue;
            }
        };
        let new = new_key();
        state.storage.put(&new, Bytes::from(bytes), "image/jpeg", Visibility::Private).await?;
        sqlx::query("UPDATE room_photos SET media_key = $2 WHERE id = $1")
            .bind(id)
            .bind(new.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The old key names the visitor: the log names the photo, never the key or the error
        // (which quotes it). The copy is safe already; the next start tries the delete again
        // only if the row still had the old key, so an operator removes any leftover by hand.
        if state.storage.delete(&old).await.is_err() {
            tracing::warn!(photo = id, "a room photo moved, but its object under the old key could not be deleted");
        }
        moved += 1;
    }
}

/// Deletes photos their owners have replaced with a newer one (only the newest is ever shown;
/// each one's effect on the taste was blended in when it arrived): the object, then its row, one
/// at a time under the row's lock. Returns how many it deleted.
pub async fn delete_replaced(db: &PgPool, storage: &Storage) -> ServerResult<u64> {
    let (mut deleted, mut after) = (0, 0i64);
    loop {
        let mut tx = db.begin_cancel_safe().await?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, media_key FROM room_photos old
             WHERE id > $1 AND media_key LIKE $2
               AND EXISTS (SELECT 1 FROM room_photos newer WHERE newer.visitor_id = old.visitor_id AND newer.id > old.id)
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .bind(after)
        // Only random keys: one under an old, visitor-naming key waits for `rekey_legacy`, so
        // an error quoting a key never names a visitor.
        .bind(format!("{KEY_PREFIX}%"))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, key)) = row else { return Ok(deleted) };
        after = id;
        // Gone from storage before its row goes: a failure leaves the row for the next run, and
        // this one goes on past it.
        if let Err(error) = storage.delete(&MediaKey::parse(key)?).await {
            tracing::warn!(photo = id, %error, "a replaced room photo could not be deleted; retrying next run");
            continue;
        }
        sqlx::query("DELETE FROM room_photos WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        deleted += 1;
    }
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
    let mut tx = db.begin_cancel_safe().await?;
    sqlx::query("INSERT INTO user_preferences (visitor_id) VALUES ($1) ON CONFLICT (visitor_id) DO NOTHING")
        .bind(visitor.0)
        .execute(&mut *tx)
        .await?;
    // Locked like the taste worker locks it, so neither overwrites the other's update.
    let (current, prior): (Option<Vector>, Option<Vector>) =
        sqlx::query_as("SELECT taste, prior FROM user_preferences WHERE visitor_id = $1 FOR UPDATE")
            .bind(visitor.0)
            .fetch_one(&mut *tx)
            .await?;
    // The room goes into the taste now and into the prior the ordinal learner refits around, so
    // the next refit keeps it.
    let blended = taste::blend_room(current.map(|v| v.to_vec()), embedding);
    let prior = taste::blend_room(prior.map(|v| v.to_vec()), embedding);
    sqlx::query("UPDATE user_preferences SET taste = $2, prior = $3, updated_at = now() WHERE visitor_id = $1")
        .bind(visitor.0)
        .bind(Vector::from(blended))
        .bind(Vector::from(prior))
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
        // A photo still under an old key shows once `rekey_legacy` has moved it (at start-up).
        "SELECT media_key, width, height FROM room_photos WHERE visitor_id = $1 AND media_key LIKE $2
         ORDER BY id DESC LIMIT 1",
    )
    .bind(visitor.0)
    .bind(format!("{KEY_PREFIX}%"))
    .fetch_optional(&state.db)
    .await?;
    row.map(|(key, width, height)| Ok(RoomPhoto { url: url(&MediaKey::parse(key)?), width, height })).transpose()
}
