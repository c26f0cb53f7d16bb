//! The admin's catalogue: paintings, their edits and images, import and re-embed jobs.
// A form's server function takes one argument per field; the attribute cannot sit on the function
// itself, because `#[server]` generates the client's twin without it.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::admin_context;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::error::respond;
#[cfg(feature = "ssr")]
use crate::server::http::locale::message;
use crate::types::{AddedPainting, AdminPaintings, JobView, PaintingEdit};

/// One batch job with its live figures and failed items.
#[server(endpoint = "admin/job", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_job(id: String) -> Result<JobView, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, _) = admin_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    respond(import_jobs::view(&state.db, id, &crate::server::http::locale::current_zone()).await)
}

#[server(endpoint = "admin/jobs", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_jobs() -> Result<Vec<JobView>, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, _) = admin_context().await?;
    respond(import_jobs::recent(&state.db, 20, &crate::server::http::locale::current_zone()).await)
}

/// Puts a finished job's failed items back in the queue; answers how many.
#[server(endpoint = "admin/job/retry", output = crate::api::codec::JsonText)]
pub async fn retry_job(id: String) -> Result<i64, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, admin) = admin_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    respond(import_jobs::retry_failed(&state.db, &admin, id).await)
}

#[server(endpoint = "admin/job/resume", output = crate::api::codec::JsonText)]
pub async fn resume_job(id: String) -> Result<(), AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, admin) = admin_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    respond(import_jobs::resume(&state.db, &admin, id).await)
}

/// The catalogue as the admin sees it: search by title, artist or style, 50 per page.
#[server(endpoint = "admin/paintings", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_admin_paintings(query: Option<String>, page: Option<i64>) -> Result<AdminPaintings, AppError> {
    use crate::server::catalogue::editor;
    let (state, _) = admin_context().await?;
    respond(editor::list(&state.db, query.as_deref().unwrap_or_default(), page.unwrap_or(1)).await)
}

/// Takes a painting out of (or back into) the feed, search and "more like this".
#[server(endpoint = "admin/painting/publish", output = crate::api::codec::JsonText)]
pub async fn set_painting_published(id: i64, published: bool) -> Result<(), AppError> {
    use crate::server::catalogue::editor;
    let (state, admin) = admin_context().await?;
    respond(editor::set_published(&state.db, &admin, id, published).await)
}

/// Adds one painting from the admin form (multipart: the metadata fields, and `image` or
/// `image_url`); answers it with its six nearest neighbours.
#[server(endpoint = "admin/paintings/add", input = leptos::server_fn::codec::MultipartFormData, output = crate::api::codec::JsonText)]
pub async fn add_painting(data: leptos::server_fn::codec::MultipartData) -> Result<AddedPainting, AppError> {
    use crate::server::{catalogue::editor, discovery::paintings, http::visitor::VisitorId};
    let (state, admin) = admin_context().await?;
    let multipart = data.into_inner().ok_or_else(|| AppError::invalid(message!(catalogue.form_unreadable)))?;
    let form = respond(editor::read_painting_form(multipart, state.config.max_image_bytes).await)?;
    let (raw, image) = respond(form.into_parts())?;
    let id = respond(editor::add_one(&state.catalogue(), &state.fetcher, &admin, raw, image).await)?;
    // An admin has no hidden paintings: the nil visitor hides nothing. Read from the primary:
    // the painting was written a moment ago.
    let nobody = VisitorId(uuid::Uuid::nil());
    let painting = respond(paintings::detail(&state.db, &state.db, id, nobody).await)?;
    let neighbours = respond(paintings::more_like_this(&state.db, &state.db, id, nobody, 6).await)?;
    Ok(AddedPainting { painting, neighbours })
}

#[server(endpoint = "admin/painting", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_admin_painting(id: i64) -> Result<PaintingEdit, AppError> {
    use crate::server::catalogue::editor;
    let (state, _) = admin_context().await?;
    respond(editor::for_edit(&state.db, id).await)
}

/// Saves a painting's edited metadata (the fields of the add form, without the image).
#[server(endpoint = "admin/painting/edit", output = crate::api::codec::JsonText)]
pub async fn update_painting(
    id: i64,
    title: String,
    #[server(rename = "titleEn")] title_en: String,
    artist: String,
    #[server(rename = "artistEn")] artist_en: String,
    year: String,
    style: String,
    tags: String,
    source: String,
    #[server(rename = "sourceUrl")] source_url: String,
    license: String,
) -> Result<(), AppError> {
    use crate::server::catalogue::editor;
    let (state, admin) = admin_context().await?;
    let mut fields: std::collections::HashMap<String, String> = [
        ("title", title),
        ("title_en", title_en),
        ("artist", artist),
        ("artist_en", artist_en),
        ("year", year),
        ("style", style),
        ("tags", tags),
        ("source", source),
        ("source_url", source_url),
        ("license", license),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    respond(editor::update_meta(&state.db, &admin, id, editor::raw_meta(&mut fields)).await)
}

/// A new image for a painting (multipart: `id`, and `image` or `image_url`); re-embeds it.
#[server(endpoint = "admin/painting/image", input = leptos::server_fn::codec::MultipartFormData, output = crate::api::codec::JsonText)]
pub async fn replace_painting_image(data: leptos::server_fn::codec::MultipartData) -> Result<PaintingEdit, AppError> {
    use crate::server::catalogue::editor;
    let (state, admin) = admin_context().await?;
    let multipart = data.into_inner().ok_or_else(|| AppError::invalid(message!(catalogue.form_unreadable)))?;
    let form = respond(editor::read_painting_form(multipart, state.config.max_image_bytes).await)?;
    let id: i64 = form.field("id").and_then(|id| id.parse().ok()).ok_or(AppError::NotFound)?;
    let image = respond(form.image())?;
    respond(editor::replace_image(&state.catalogue(), &state.fetcher, &admin, id, image).await)?;
    respond(editor::for_edit(&state.db, id).await)
}

/// Queues a job that embeds the whole catalogue again with the loaded model.
#[server(endpoint = "admin/jobs/reembed", output = crate::api::codec::JsonText)]
pub async fn start_reembed() -> Result<String, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, admin) = admin_context().await?;
    let id = respond(import_jobs::create_reembed(&state.db, &admin).await)?;
    leptos_axum::redirect(&format!("/admin/jobs/{id}"));
    Ok(id.to_string())
}

/// The raw route of the catalogue: import uploads (a multipart form that also works without
/// JavaScript).
#[cfg(feature = "ssr")]
pub use routes::import_upload;
#[cfg(feature = "ssr")]
pub(crate) mod routes {
    use axum::extract::{Multipart, State};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::Json;

    use crate::error::AppError;
    use crate::server::catalogue::import_jobs::{create_import, ImportRefused, MAX_UPLOAD_BYTES};
    use crate::server::error::{multipart_error, wants_json, ServerError, ServerResult};
    use crate::server::http::auth::require_admin;
    use crate::server::http::locale::message;
    use crate::server::state::AppState;

    /// `POST /api/admin/jobs/import`, multipart: `paintings` (pasted JSON or CSV) or `file` (a
    /// `.json` or `.csv` upload). A browser form is sent on to the job's page (or back to the form
    /// with a fixed error code); a client asking for JSON gets `{"jobId": ...}` or the error.
    #[utoipa::path(post, path = "/api/admin/jobs/import", tag = "admin",
        description = "Queues an import job from pasted or uploaded CSV or JSON. Send `Accept: application/json` for \
            `{jobId}`; a browser form is redirected to the job's page.",
        request_body(content = crate::server::http::openapi::forms::ImportUpload, content_type = "multipart/form-data"),
        responses((status = 200, body = crate::types::JobQueued)))]
    pub async fn import_upload(State(state): State<AppState>, headers: HeaderMap, multipart: Multipart) -> Response {
        let wants_json = wants_json(&headers);
        let result = async {
            let admin = require_admin(&state.db, &headers, state.config.admin_idle_minutes).await?;
            let text = read_import_form(multipart).await?;
            create_import(&state.db, &admin, &text).await
        }
        .await;
        match (result, wants_json) {
            (Ok(id), true) => Json(crate::types::JobQueued { job_id: id.to_string() }).into_response(),
            (Ok(id), false) => Redirect::to(&format!("/admin/jobs/{id}")).into_response(),
            (Err(error), true) => AppError::from(error).into_response(),
            (Err(error), false) => {
                let code = import_error_code(&error);
                // Logs what failed on our side; the form only gets the code.
                if let AppError::Unauthorized = AppError::from(error) {
                    return Redirect::to("/admin/login?next=%2Fadmin%2Fimport").into_response();
                }
                Redirect::to(&format!("/admin/import?error={code}")).into_response()
            }
        }
    }

    /// The uploaded file when there is one, else the pasted text.
    async fn read_import_form(mut multipart: Multipart) -> ServerResult<String> {
        let mut pasted = String::new();
        let mut uploaded = String::new();
        let too_large = message!(import.too_large, max = MAX_UPLOAD_BYTES / 1024 / 1024);
        while let Some(field) = multipart.next_field().await.map_err(|e| multipart_error(e, &too_large))? {
            let name = field.name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| multipart_error(e, &too_large))?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| ImportRefused::NotText)?;
            match name.as_str() {
                "paintings" => pasted = text,
                "file" => uploaded = text,
                _ => {}
            }
        }
        Ok(if uploaded.trim().is_empty() { pasted } else { uploaded })
    }

    /// Fixed codes for the form's redirect, never free text in a link.
    fn import_error_code(error: &ServerError) -> &'static str {
        match error {
            ServerError::App(AppError::TooLarge(_)) => "too_large",
            ServerError::Import(refused) => refused.code(),
            ServerError::App(AppError::Invalid(_)) => "unreadable",
            _ => "failed",
        }
    }
}
