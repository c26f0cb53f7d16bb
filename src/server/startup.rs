//! The whole HTTP surface in one place: the router with its pages, server functions, raw routes,
//! static files and middleware. `app.rs` is a leaf for it: nothing the pages import leads back here.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::api::resources;
use crate::app::{shell, App};
use crate::server::catalogue::import_jobs;
use crate::server::config::Config;
use crate::server::discovery::{activity, rooms};
use crate::server::error;
use crate::server::http::visitor;
use crate::server::http::{auth, limits, locale, openapi, request_id, security};
use crate::server::infra::metrics;
use crate::server::infra::storage::{Storage, IMMUTABLE_CACHE_CONTROL, PUBLIC_PREFIX};
use crate::server::shop::payments;
use crate::server::state::AppState;

fn room_body_limit(config: &Config) -> usize {
    usize::try_from(config.room_max_bytes).unwrap_or(usize::MAX).saturating_add(rooms::MULTIPART_OVERHEAD_BYTES)
}

/// The whole HTTP surface: pages, server functions, media, health.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let mut router = Router::new()
        .route("/healthz", get(alive))
        .route("/livez", get(alive))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/api/activity", post(api::activity_batch).layer(DefaultBodyLimit::max(activity::MAX_BODY_BYTES)))
        .route(
            "/api/webhooks/stripe",
            post(api::stripe_webhook).layer(DefaultBodyLimit::max(payments::webhook::MAX_BODY_BYTES)),
        )
        .route(
            "/api/admin/jobs/import",
            post(api::import_upload).layer(DefaultBodyLimit::max(import_jobs::MAX_UPLOAD_BYTES)),
        )
        .route("/api/room-photo", post(api::room_photo).layer(DefaultBodyLimit::max(room_body_limit(&state.config))))
        .route("/api/room-photo/{token}", get(api::room_photo_file))
        .route("/api/locale", post(locale::choose_locale))
        // The original design's resource paths, over the same code.
        .route("/api/onboarding/style", post(resources::choose_style))
        .route("/api/paintings/{id}", get(resources::painting))
        .route("/api/upload", post(resources::upload).layer(DefaultBodyLimit::max(room_body_limit(&state.config))))
        .route(
            "/api/admin/paintings/batch",
            post(resources::import_batch).layer(DefaultBodyLimit::max(import_jobs::MAX_UPLOAD_BYTES)),
        )
        .route("/api/admin/paintings/batch/{jobId}", get(resources::import_batch_job))
        .route("/api/orders/{id}", get(resources::order))
        .route("/api/orders/{id}/shipping", post(resources::order_shipping))
        .merge(openapi::routes())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback_service(site_root_files(&state));
    router =
        router.nest_service(&format!("/{}", site_pkg_dir(&state.leptos_options)), site_assets(&state.leptos_options));
    // Only the public folder: room photos sit beside it and go to their owner alone.
    if let Storage::Local { root } = state.storage.as_ref() {
        let public = PUBLIC_PREFIX.trim_end_matches('/');
        let media =
            Router::new().fallback_service(ServeDir::new(root.join(public))).layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static(IMMUTABLE_CACHE_CONTROL),
            ));
        router = router.nest_service(&format!("/media/{public}"), media);
    }
    let public_origin = state.config.public_url.origin().ascii_serialization();
    router
        .layer(middleware::from_fn(error::multipart_needs_a_boundary))
        .layer(middleware::from_fn(error::server_fn_error_status))
        .layer(middleware::from_fn(error::api_refusals_are_json))
        .layer(middleware::from_fn_with_state(state.clone(), admin_pages_guard))
        .layer(middleware::from_fn_with_state(public_origin, security::refuse_cross_site))
        .layer(middleware::from_fn_with_state(state.limits.clone(), limits::rate_limit))
        .layer(middleware::from_fn_with_state(
            security::Hsts(state.config.cookies_secure()),
            security::security_headers,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), visitor::visitor_cookie))
        // Outside every layer that can refuse a request, so refusals speak the visitor's language.
        .layer(middleware::from_fn(locale::remember_reader_locale))
        // Brotli or gzip for whatever is not compressed yet (pages, JSON, debug builds' WASM);
        // images are left alone (the default predicate).
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(metrics::track_requests))
        .layer(PropagateRequestIdLayer::new(request_id::REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(SetRequestIdLayer::new(request_id::REQUEST_ID, MakeRequestUuid))
        .layer(middleware::from_fn(request_id::drop_invalid))
        // Where each request's client address comes from (limits::client_ip).
        .layer(state.config.client_ip_source.clone().into_extension())
        .with_state(state)
}

fn site_pkg_dir(options: &LeptosOptions) -> &str {
    options.site_pkg_dir.trim_matches('/')
}

/// The WASM, JS and CSS that cargo-leptos built: the precompressed `.br`/`.gz` files of a release
/// build when the browser accepts them (the compression layer compresses the rest on the fly).
/// Hashed names never change content, so they are cached for a year; unhashed ones revalidate.
fn site_assets(options: &LeptosOptions) -> Router {
    let dir = std::path::Path::new(&*options.site_root).join(site_pkg_dir(options));
    let cache_control = HeaderValue::from_static(if options.hash_files { IMMUTABLE_CACHE_CONTROL } else { "no-cache" });
    Router::new().fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip()).layer(
        middleware::map_response(move |mut response: Response| {
            let cache_control = cache_control.clone();
            async move {
                if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
                    let headers = response.headers_mut();
                    headers.insert(header::CACHE_CONTROL, cache_control);
                    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                }
                response
            }
        }),
    )
}

/// The files at the site's root (the favicon), and the shop's 404 page for any other path.
/// leptos_axum's `file_and_error_handler` serves the files itself, under a reactive owner that
/// inherits whatever owner the worker thread has current: it could take the headers of a page
/// rendering beside it (its CSP), and that page then went out with scripts blocked.
fn site_root_files(state: &AppState) -> Router {
    let not_found = leptos_axum::file_and_error_handler::<AppState, _>(shell).with_state(state.clone());
    // Any method: an unknown path is the 404 page, not an empty "method not allowed".
    let files = ServeDir::new(&*state.leptos_options.site_root).call_fallback_on_method_not_allowed(true);
    Router::new().fallback_service(files.fallback(not_found))
}

/// Admin pages redirect to the login page without a session. Admin server functions call the
/// same guard (`auth::require_admin`) themselves and answer 401.
async fn admin_pages_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_admin_page = (path == "/admin" || path.starts_with("/admin/")) && path != "/admin/login";
    if is_admin_page {
        match auth::require_admin(&state.db, request.headers(), state.config.admin_idle_minutes).await {
            Ok(_) => {}
            Err(error::ServerError::App(crate::error::AppError::Unauthorized)) => {
                let next_path = url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
                return Redirect::to(&format!("/admin/login?next={next_path}")).into_response();
            }
            Err(other) => return other.into_response(),
        }
    }
    next.run(request).await
}

/// The process answers (`/livez`; `/healthz` is the older name).
async fn alive() -> &'static str {
    "ok"
}

/// Ready when the database answers (the model is loaded before the server listens). Says no
/// more than that: which model runs is for the admin console, not for anyone who asks.
async fn readyz(State(state): State<AppState>) -> Response {
    let database = sqlx::query("SELECT 1").execute(&state.db).await.is_ok();
    let body = Json(serde_json::json!({ "ready": database, "database": database }));
    let status = if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, body).into_response()
}
