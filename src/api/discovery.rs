//! The visitor's side of discovery: the feed, onboarding, painting pages, room photos, saved
//! paintings, search.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::visitor_context;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::error::respond;
use crate::types::{FeedPage, Onboarding, PaintingDetail, RoomState, SavedList, ScoredCard, SearchResults};

/// The next page of the visitor's feed (also reachable as GET /api/feed?cursor=..&limit=..).
/// Every painting returned is recorded as shown and never returned again.
#[server(endpoint = "feed", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_feed_page(cursor: Option<String>, limit: Option<i64>) -> Result<FeedPage, AppError> {
    use crate::server::discovery::feed;
    let (state, visitor) = visitor_context()?;
    respond(
        feed::next_page(&state.db, &state.landmarks, state.feed_settings(), visitor, cursor.as_deref(), limit).await,
    )
}

/// "Start over" once everything has been seen: forgets what was shown (not what was hidden).
#[server(endpoint = "feed/reset", output = crate::api::codec::JsonText)]
pub async fn reset_feed() -> Result<(), AppError> {
    use crate::server::discovery::feed;
    let (state, visitor) = visitor_context()?;
    respond(feed::reset(&state.db, visitor).await).map(|_| ())
}

#[server(endpoint = "onboarding", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_onboarding() -> Result<Onboarding, AppError> {
    use crate::server::discovery::onboarding;
    let (state, visitor) = visitor_context()?;
    let cards = respond(onboarding::style_cards(&state.db, &state.styles).await)?;
    let chosen = respond(onboarding::current_choice(&state.db, visitor).await)?;
    Ok(Onboarding { cards, chosen })
}

/// Seeds the visitor's taste from their home styles, then sends them to the feed.
#[server(endpoint = "onboarding/choose", output = crate::api::codec::JsonText)]
pub async fn choose_styles(codes: Option<Vec<String>>) -> Result<(), AppError> {
    use crate::server::discovery::onboarding;
    let (state, visitor) = visitor_context()?;
    // A form with nothing ticked sends no `codes` at all.
    let codes = codes.unwrap_or_default();
    respond(onboarding::choose(&state.db, &state.styles, visitor, &codes).await)?;
    leptos_axum::redirect("/feed");
    Ok(())
}

#[server(endpoint = "painting", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_painting(id: i64) -> Result<PaintingDetail, AppError> {
    use crate::server::discovery::paintings;
    let (state, visitor) = visitor_context()?;
    respond(paintings::detail(state.reads(), &state.db, id, visitor).await)
}

/// The paintings nearest to painting `id`, without itself and the visitor's hidden ones.
#[server(endpoint = "painting/similar", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_more_like_this(id: i64) -> Result<Vec<ScoredCard>, AppError> {
    use crate::server::discovery::paintings;
    let (state, visitor) = visitor_context()?;
    respond(paintings::more_like_this(state.reads(), &state.db, id, visitor, 8).await)
}

/// The visitor's newest room photo (uploaded through `POST /api/room-photo`), if any.
#[server(endpoint = "room", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_room() -> Result<RoomState, AppError> {
    use crate::server::discovery::rooms;
    let (state, visitor) = visitor_context()?;
    let photo = respond(rooms::latest(&state, visitor).await)?;
    Ok(RoomState { photo, max_megabytes: state.config.room_max_bytes.div_ceil(1024 * 1024) })
}

#[server(endpoint = "saved", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_saved() -> Result<SavedList, AppError> {
    use crate::server::discovery::paintings;
    let (state, visitor) = visitor_context()?;
    respond(paintings::saved(&state.db, visitor).await)
}

/// Save or unsave a painting (recorded as a save/unsave activity, like the feed's buttons).
/// Returns the new state.
#[server(endpoint = "saved/set", output = crate::api::codec::JsonText)]
pub async fn set_saved(
    #[server(rename = "paintingId")] painting_id: i64,
    saved: bool,
    source: String,
) -> Result<bool, AppError> {
    use crate::server::discovery::paintings;
    let (state, visitor) = visitor_context()?;
    respond(paintings::set_saved(&state.db, visitor, painting_id, saved, &source).await)?;
    Ok(saved)
}

/// Text-to-art search (GET /api/search?q=...).
#[server(endpoint = "search", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn search_paintings(q: String) -> Result<SearchResults, AppError> {
    use crate::server::discovery::search;
    let (state, visitor) = visitor_context()?;
    let floor = state.config.search_min_similarity.unwrap_or_else(|| search::default_floor(state.clip.info().kind));
    respond(search::search(state.reads(), &state.db, &state.clip, visitor, &q, floor).await)
}

/// The raw routes of discovery: the browser's activity batches, room-photo uploads (multipart
/// forms that also work without JavaScript) and the photo itself, for its owner.
#[cfg(feature = "ssr")]
pub use routes::{activity_batch, room_photo, room_photo_file};
#[cfg(feature = "ssr")]
pub(crate) mod routes {
    use axum::extract::{Multipart, Path, State};
    use axum::http::{header, HeaderMap};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::{Extension, Json};
    use bytes::Bytes;

    use crate::error::AppError;
    use crate::server::discovery::activity::{ingest, IngestResponse};
    use crate::server::discovery::rooms::{self, upload};
    use crate::server::error::{multipart_error, wants_json, ServerError};
    use crate::server::http::locale::message;
    use crate::server::http::security::is_local_path;
    use crate::server::http::visitor::VisitorId;
    use crate::server::infra::images::ImageRejected;
    use crate::server::infra::storage::PRIVATE_CACHE_CONTROL;
    use crate::server::state::AppState;

    /// `POST /api/activity`. The router caps the body at `MAX_BODY_BYTES` (413 beyond).
    #[utoipa::path(post, path = "/api/activity", tag = "discovery",
        description = "A batch of the browser's activity events (1 to 100), stored at once and learned from in the \
            background. Each event is answered on its own: logged, duplicate (its id was stored before) or rejected.",
        request_body = crate::server::discovery::activity::IncomingBatch,
        responses((status = 200, body = IngestResponse)))]
    pub async fn activity_batch(
        State(state): State<AppState>,
        Extension(visitor): Extension<VisitorId>,
        body: Bytes,
    ) -> Result<Json<IngestResponse>, ServerError> {
        Ok(Json(ingest(&state.db, visitor, &body).await?))
    }

    /// `GET /api/room-photo/{token}`: the JPEG, to the visitor who uploaded it; 404 to anyone else.
    #[utoipa::path(get, path = "/api/room-photo/{token}", tag = "discovery",
        description = "The visitor's room photo, to the visitor who uploaded it (404 to anyone else).",
        params(("token" = String, Path, description = "The photo's token, from `/api/room`")),
        responses((status = 200, content_type = "image/jpeg", body = crate::server::http::openapi::forms::Jpeg),
                  (status = 404, body = crate::error::WireError)))]
    pub async fn room_photo_file(
        State(state): State<AppState>,
        Extension(visitor): Extension<VisitorId>,
        Path(token): Path<String>,
    ) -> Result<Response, ServerError> {
        let jpeg = rooms::photo(&state, visitor, &token).await?.ok_or(AppError::NotFound)?;
        Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, PRIVATE_CACHE_CONTROL)], jpeg)
            .into_response())
    }

    /// `POST /api/room-photo`, multipart with a `photo` file and an optional `next` page.
    ///
    /// A browser form (no JSON in `Accept`) is sent back to `next` (a local path), with
    /// `?room_error=<code>` when the photo was refused, so it works without JavaScript. API clients
    /// asking for JSON get the photo or a JSON error with its status (400, 413).
    #[utoipa::path(post, path = "/api/room-photo", tag = "discovery",
        description = "Uploads a photo of the visitor's room (JPEG, PNG or WebP): it is blended into their taste and \
            used by \"see it on your wall\". Send `Accept: application/json` for a JSON answer.",
        request_body(content = crate::server::http::openapi::forms::PhotoUpload, content_type = "multipart/form-data"),
        responses((status = 200, body = crate::types::RoomPhoto)))]
    pub async fn room_photo(
        State(state): State<AppState>,
        Extension(visitor): Extension<VisitorId>,
        headers: HeaderMap,
        multipart: Multipart,
    ) -> Response {
        let wants_json = wants_json(&headers);
        let (photo, next) = read_form(multipart).await;
        let result = match photo {
            Ok(bytes) => upload(&state, visitor, bytes).await,
            Err(error) => Err(error),
        };
        if wants_json {
            return match result {
                Ok(room) => Json(room).into_response(),
                Err(error) => AppError::from(error).into_response(),
            };
        }
        let back = next.filter(|path| is_local_path(path)).unwrap_or_else(|| "/feed".to_owned());
        let (path, fragment) = back.split_once('#').map_or((back.as_str(), None), |(p, f)| (p, Some(f)));
        let location = match result {
            Ok(_) => back.clone(),
            Err(error) => {
                let code = error_code(&error);
                // Logs what failed on our side; the page only gets the code.
                let _ = AppError::from(error);
                let separator = if path.contains('?') { '&' } else { '?' };
                let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
                format!("{path}{separator}room_error={code}{fragment}")
            }
        };
        Redirect::to(&location).into_response()
    }

    /// The `photo` bytes and the `next` path from the form.
    async fn read_form(mut multipart: Multipart) -> (Result<Bytes, ServerError>, Option<String>) {
        let mut photo = Err(ServerError::Image(ImageRejected::Missing));
        let mut next = None;
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) => match field.name() {
                    Some("photo") => {
                        photo = field.bytes().await.map_err(too_large_or_not_a_form);
                        if photo.is_err() {
                            break;
                        }
                    }
                    Some("next") => next = field.text().await.ok(),
                    _ => {}
                },
                Ok(None) => break,
                Err(error) => {
                    photo = Err(too_large_or_not_a_form(error));
                    break;
                }
            }
        }
        (photo, next)
    }

    fn too_large_or_not_a_form(error: axum::extract::multipart::MultipartError) -> ServerError {
        multipart_error(error, &message!(upload.photo_too_large)).into()
    }

    /// Short, fixed codes for the redirect (never free text an attacker could put in a link).
    fn error_code(error: &ServerError) -> &'static str {
        match error {
            ServerError::Image(ImageRejected::TooLarge { .. }) | ServerError::App(AppError::TooLarge(_)) => "too_large",
            ServerError::Image(ImageRejected::TooManyPixels { .. }) => "too_many_pixels",
            ServerError::Image(ImageRejected::ExtremeAspect { .. }) => "bad_shape",
            ServerError::Image(ImageRejected::Missing | ImageRejected::Empty) => "missing",
            ServerError::Image(_) | ServerError::App(AppError::Invalid(_)) => "not_an_image",
            _ => "unavailable",
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn refusals_map_to_fixed_codes() {
            let invalid = ServerError::Image;
            assert_eq!(error_code(&invalid(ImageRejected::TooLarge { size: 2, limit: 1 })), "too_large");
            assert_eq!(error_code(&AppError::TooLarge("over the form's limit".into()).into()), "too_large");
            assert_eq!(
                error_code(&invalid(ImageRejected::TooManyPixels { width: 9, height: 9, limit: 1 })),
                "too_many_pixels"
            );
            assert_eq!(error_code(&invalid(ImageRejected::ExtremeAspect { width: 900, height: 1 })), "bad_shape");
            assert_eq!(error_code(&invalid(ImageRejected::NotAnImage)), "not_an_image");
            assert_eq!(error_code(&invalid(ImageRejected::Missing)), "missing");
            assert_eq!(error_code(&invalid(ImageRejected::Empty)), "missing");
            assert_eq!(error_code(&AppError::Internal.into()), "unavailable");
        }
    }
}
