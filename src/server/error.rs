//! Server-side failures. Anything that is not the caller's fault is logged here, with its cause,
//! and leaves the process only as `AppError::Internal` or `AppError::Unavailable`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::AppError;
use crate::server::catalogue::import_jobs::ImportRefused;
use crate::server::http::locale::message;
use crate::server::infra::images::ImageRejected;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// An expected, user-facing outcome (not found, invalid input...).
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Image(#[from] ImageRejected),
    #[error(transparent)]
    Import(#[from] ImportRefused),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("model: {0}")]
    Model(String),
    #[error("onnx runtime: {0}")]
    Ort(#[from] ort::Error),
    #[error("storage: {0}")]
    Storage(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// Stripe refused or could not be reached.
    #[error("payments: {0}")]
    Payment(String),
    /// Stripe refused a request because of its idempotency key: one with the same key is still
    /// running, or was made with other parameters. The shopper may simply try again.
    #[error("payments, idempotency: {0}")]
    PaymentInProgress(String),
    #[error("password hashing: {0}")]
    PasswordHash(String),
    /// The server cannot start as configured.
    #[error("configuration: {0}")]
    Config(String),
}

pub type ServerResult<T> = Result<T, ServerError>;

impl From<ServerError> for AppError {
    fn from(error: ServerError) -> Self {
        match error {
            ServerError::App(app) => app,
            ServerError::Image(rejected @ ImageRejected::TooLarge { .. }) => AppError::TooLarge(rejected.message()),
            ServerError::Image(rejected) => AppError::Invalid(rejected.message()),
            ServerError::Import(refused) => AppError::Invalid(refused.message()),
            ServerError::Payment(ref cause) | ServerError::PaymentInProgress(ref cause) => {
                tracing::error!(%cause, "payment provider failed");
                AppError::PaymentUnavailable
            }
            ServerError::Db(sqlx::Error::PoolTimedOut) => {
                tracing::error!(%error, "database pool exhausted");
                AppError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "internal error");
                AppError::Internal
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        AppError::from(self).into_response()
    }
}

/// Whether the client asked for JSON (an API client) rather than a page (a browser form).
pub fn wants_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A multipart upload that failed to read: over the route's body limit (413, `too_large` says
/// what the limit is for), or not a valid form (400).
pub fn multipart_error(error: axum::extract::multipart::MultipartError, too_large: &str) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(too_large.to_owned())
    } else {
        AppError::invalid(message!(upload.not_a_form))
    }
}

/// Middleware: a request to a multipart server function without a multipart boundary is a 400.
/// Leptos's multipart decoder panics on one (`couldn't parse boundary`), which drops the
/// connection instead of answering.
pub async fn multipart_needs_a_boundary(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use leptos::server_fn::ServerFn;
    let multipart_fns = [crate::api::AddPainting::PATH, crate::api::ReplacePaintingImage::PATH];
    // Other methods are the router's to refuse (405).
    if request.method() == axum::http::Method::POST && multipart_fns.contains(&request.uri().path()) {
        let boundary = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|content_type| multer::parse_boundary(content_type).ok());
        if boundary.is_none() {
            return AppError::invalid(message!(upload.not_a_form)).into_response();
        }
    }
    next.run(request).await
}

/// Middleware: an API refusal axum writes itself (a body over the route's limit, a body that is
/// not the declared type) is plain text; it goes out in the API's one error shape instead.
pub async fn api_refusals_are_json(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let is_text = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !is_api || !is_text || !response.status().is_client_error() {
        return response;
    }
    let status = response.status();
    let message = match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    // In the reader's language; axum's own words stay only as the detail of an unreadable body.
    let error = match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::UNAUTHORIZED => AppError::Unauthorized,
        StatusCode::FORBIDDEN => AppError::Forbidden,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge(message!(request.too_large)),
        StatusCode::TOO_MANY_REQUESTS => AppError::RateLimited,
        StatusCode::METHOD_NOT_ALLOWED => AppError::invalid(message!(request.method)),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::invalid(message!(request.media_type)),
        _ if message.is_empty() => AppError::invalid(message!(request.unreadable_plain)),
        _ => AppError::invalid(message!(request.unreadable, reason = message)),
    };
    // The status stays what axum chose (405, 415...), with the shape's body.
    let mut answer = error.into_response();
    *answer.status_mut() = status;
    answer
}

/// Middleware: a server function's error answers with its own status. Leptos answers every
/// server-function error with 500, and `respond` corrects that only once the function runs;
/// arguments that do not decode (`/api/painting?id=abc`) never reach it. The error body is the
/// `AppError` itself, so its status is read from there.
pub async fn server_fn_error_status(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are a few hundred bytes; anything else is left a 500.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return AppError::Internal.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// For server functions: turns a server result into the public error and makes the HTTP status
/// match it (server functions otherwise answer every error with 500).
pub fn respond<T>(result: ServerResult<T>) -> Result<T, AppError> {
    result.map_err(|error| {
        let public = AppError::from(error);
        if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            options.set_status(StatusCode::from_u16(public.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        }
        public
    })
}
