//! The original design's resource paths (`/api/paintings/{id}`, `/api/orders/{id}`, ...): thin
//! routes over the same code and checks as the server functions and raw routes they mirror, for
//! clients written against that design. JSON bodies where the twin takes a form.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;

use crate::error::AppError;
use crate::server::catalogue::import_jobs;
use crate::server::discovery::{onboarding, paintings};
use crate::server::error::ServerError;
use crate::server::http::auth::require_admin;
use crate::server::http::locale::request_zone;
use crate::server::http::visitor::VisitorId;
use crate::server::shop::{checkout, orders};
use crate::server::state::AppState;
use crate::types::{JobView, OrderView, PaintingDetail, ShippingAddress};

/// `POST /api/onboarding/style`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StyleChoice {
    /// Home style codes (`/api/onboarding` lists them); at least one.
    codes: Vec<String>,
}

/// Seeds the visitor's taste from the chosen home styles, as `POST /api/onboarding/choose` does.
#[utoipa::path(post, path = "/api/onboarding/style", tag = "discovery", request_body = StyleChoice,
    responses((status = 204, description = "The taste is seeded")))]
pub async fn choose_style(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    Json(choice): Json<StyleChoice>,
) -> Result<StatusCode, ServerError> {
    onboarding::choose(&state.db, &state.styles, visitor, &choice.codes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One painting with its print options, as `GET /api/painting?id=` answers it.
#[utoipa::path(get, path = "/api/paintings/{id}", tag = "discovery", params(("id" = i64, Path)),
    responses((status = 200, body = PaintingDetail), (status = 404, body = crate::error::WireError)))]
pub async fn painting(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    Path(id): Path<i64>,
) -> Result<Json<PaintingDetail>, ServerError> {
    Ok(Json(paintings::detail(state.reads(), &state.db, id, visitor).await?))
}

/// Uploads a room photo, as `POST /api/room-photo` does.
#[utoipa::path(post, path = "/api/upload", tag = "discovery",
    request_body(content = crate::server::http::openapi::forms::PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = crate::types::RoomPhoto)))]
pub async fn upload(
    state: State<AppState>,
    visitor: Extension<VisitorId>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    super::room_photo(state, visitor, headers, multipart).await
}

/// Queues an import job, as `POST /api/admin/jobs/import` does.
#[utoipa::path(post, path = "/api/admin/paintings/batch", tag = "admin",
    request_body(content = crate::server::http::openapi::forms::ImportUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = crate::types::JobQueued)))]
pub async fn import_batch(state: State<AppState>, headers: HeaderMap, multipart: Multipart) -> Response {
    super::import_upload(state, headers, multipart).await
}

/// One import (or re-embed) job with its live figures and failures, as `GET /api/admin/job?id=`.
#[utoipa::path(get, path = "/api/admin/paintings/batch/{jobId}", tag = "admin", params(("jobId" = String, Path)),
    responses((status = 200, body = JobView), (status = 404, body = crate::error::WireError)))]
pub async fn import_batch_job(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(job_id): Path<String>,
) -> Result<Json<JobView>, ServerError> {
    require_admin(&state.db, &headers, state.config.admin_idle_minutes).await?;
    let id = uuid::Uuid::parse_str(&job_id).map_err(|_| AppError::NotFound)?;
    Ok(Json(import_jobs::view(&state.db, id, &request_zone(&headers)).await?))
}

/// One of the visitor's orders with its timeline (anyone else's is "not found").
#[utoipa::path(get, path = "/api/orders/{id}", tag = "shop", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = crate::error::WireError)))]
pub async fn order(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ServerError> {
    Ok(Json(orders::view(&state.db, &orders::OrderId::parse(&id)?, Some(visitor), &request_zone(&headers)).await?))
}

/// Changes where one of the visitor's orders ships, while it is not yet shipped.
#[utoipa::path(post, path = "/api/orders/{id}/shipping", tag = "shop", params(("id" = String, Path)),
    request_body = ShippingAddress,
    responses((status = 204, description = "The address is changed"), (status = 404, body = crate::error::WireError)))]
pub async fn order_shipping(
    State(state): State<AppState>,
    Extension(visitor): Extension<VisitorId>,
    Path(id): Path<String>,
    Json(address): Json<ShippingAddress>,
) -> Result<StatusCode, ServerError> {
    let address = checkout::parse_address(&address.name, &address.phone, &address.address)?;
    checkout::update_address(&state.db, visitor, &orders::OrderId::parse(&id)?, address).await?;
    Ok(StatusCode::NO_CONTENT)
}
