//! Everything that runs only on the server. Nothing under here is compiled into the WASM client.

pub mod activity;
pub mod audit;
pub mod auth;
pub mod bench_dashboard;
pub mod bench_feed;
pub mod bench_ingest;
pub mod bench_quality;
pub mod catalogue;
pub mod catalogue_admin;
pub mod checkout;
pub mod cli;
pub mod clip;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod feed;
pub mod fetch;
pub mod fulfilment;
pub mod images;
pub mod import;
pub mod jobs;
pub mod limits;
pub mod onboarding;
pub mod order_jobs;
pub mod orders;
pub mod paintings;
pub mod payments;
pub mod rooms;
pub mod search;
pub mod security;
pub mod storage;
pub mod synthetic;
pub mod taste;
pub mod visitor;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::{shell, App};
use crate::server::catalogue::Catalogue;
use crate::server::clip::Clip;
use crate::server::config::Config;
use crate::server::error::ServerResult;
use crate::server::images::ImageLimits;
use crate::server::storage::{Storage, IMMUTABLE_CACHE_CONTROL};
use crate::server::visitor::SecureCookies;

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub db: PgPool,
    pub clip: Arc<Clip>,
    pub storage: Arc<Storage>,
    pub landmarks: Arc<feed::Landmarks>,
    pub styles: Arc<onboarding::StyleEmbeddings>,
    pub payments: Arc<payments::Payments>,
    pub limits: Arc<limits::RateLimits>,
    /// The client for image URLs admins give (SSRF-safe); one connection pool for the process.
    pub fetcher: fetch::Fetcher,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Connects and migrates the database, loads the model and opens storage.
    pub async fn start(config: Config, leptos_options: LeptosOptions) -> ServerResult<Self> {
        let db = connect(&config).await?;
        sqlx::migrate!().run(&db).await?;
        Self::with_pool(config, leptos_options, db).await
    }

    /// For tests, which bring their own (already migrated) database.
    pub async fn with_pool(config: Config, leptos_options: LeptosOptions, db: PgPool) -> ServerResult<Self> {
        let clip = load_clip(&config).await?;
        // Refuses to start when the style embeddings come from another model's space.
        let styles = Arc::new(onboarding::StyleEmbeddings::load(&config.style_embeddings, &clip.info().id)?);
        let storage = Arc::new(Storage::from_config(&config).await?);
        tracing::info!(storage = %storage.describe(), "storage ready");
        let payments = Arc::new(payments::Payments::from_config(&config)?);
        let limits = Arc::new(limits::RateLimits::from_config(&config));
        let fetch_timeout = Duration::from_secs(config.fetch_timeout_seconds.max(1));
        let fetcher = fetch::Fetcher::new(config.max_image_bytes, fetch_timeout, config.fetch_allow_private);
        Ok(Self {
            leptos_options,
            config: Arc::new(config),
            db,
            clip,
            storage,
            landmarks: Arc::default(),
            styles,
            payments,
            limits,
            fetcher,
        })
    }

    pub fn feed_settings(&self) -> feed::FeedSettings {
        feed::FeedSettings {
            exploration_rate: self.config.feed_exploration_rate.clamp(0.0, 1.0),
            max_scan_tuples: self.config.feed_max_scan_tuples.max(100),
            exact_scan_seen_share: self.config.feed_exact_scan_seen_share.max(0.0),
        }
    }

    pub fn catalogue(&self) -> Catalogue {
        Catalogue {
            db: self.db.clone(),
            clip: self.clip.clone(),
            storage: self.storage.clone(),
            limits: image_limits(&self.config),
        }
    }

    /// This process's runner of admin batch jobs.
    pub fn job_runner(&self) -> jobs::Runner {
        jobs::Runner {
            name: format!("jobs-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            catalogue: self.catalogue(),
            fetcher: self.fetcher.clone(),
            fetch_concurrency: self.config.fetch_concurrency,
        }
    }
}

pub async fn connect(config: &Config) -> ServerResult<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&config.database_url)
        .await?)
}

pub async fn load_clip(config: &Config) -> ServerResult<Arc<Clip>> {
    let (dir, lib, threads) = (config.model_dir.clone(), config.ort_dylib_path.clone(), config.model_threads);
    Ok(Arc::new(tokio::task::spawn_blocking(move || Clip::load(&dir, lib.as_deref(), threads)).await??))
}

pub fn image_limits(config: &Config) -> ImageLimits {
    ImageLimits { max_bytes: config.max_image_bytes, max_pixels: config.max_image_pixels }
}

fn room_body_limit(config: &Config) -> usize {
    usize::try_from(config.room_max_bytes).unwrap_or(usize::MAX).saturating_add(rooms::MULTIPART_OVERHEAD_BYTES)
}

/// The whole HTTP surface: pages, server functions, media, health.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/activity", post(activity::ingest_route).layer(DefaultBodyLimit::max(activity::MAX_BODY_BYTES)))
        .route(
            "/api/webhooks/stripe",
            post(payments::webhook::route).layer(DefaultBodyLimit::max(payments::webhook::MAX_BODY_BYTES)),
        )
        .route("/api/admin/jobs/import", post(jobs::import_route).layer(DefaultBodyLimit::max(jobs::MAX_UPLOAD_BYTES)))
        .route(
            "/api/room-photo",
            post(rooms::upload_route).layer(DefaultBodyLimit::max(room_body_limit(&state.config))),
        )
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell));
    router =
        router.nest_service(&format!("/{}", site_pkg_dir(&state.leptos_options)), site_assets(&state.leptos_options));
    if let Storage::Local { root } = state.storage.as_ref() {
        let media = Router::new().fallback_service(ServeDir::new(root)).layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(IMMUTABLE_CACHE_CONTROL),
        ));
        router = router.nest_service("/media", media);
    }
    let secure = SecureCookies(state.config.cookies_secure());
    let public_origin = state.config.public_url.origin().ascii_serialization();
    router
        .layer(middleware::from_fn(error::server_fn_error_status))
        .layer(middleware::from_fn_with_state(state.clone(), admin_pages_guard))
        .layer(middleware::from_fn_with_state(public_origin, security::refuse_cross_site))
        .layer(middleware::from_fn_with_state(state.limits.clone(), limits::rate_limit))
        .layer(middleware::from_fn_with_state(
            security::Hsts(state.config.cookies_secure()),
            security::security_headers,
        ))
        .layer(middleware::from_fn(move |request: Request, next: Next| visitor::visitor_cookie(secure, request, next)))
        // Brotli or gzip for whatever is not compressed yet (pages, JSON, debug builds' WASM);
        // images are left alone (the default predicate).
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
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

/// Admin pages redirect to the login page without a session. Admin server functions call the
/// same guard (`auth::require_admin`) themselves and answer 401.
async fn admin_pages_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_admin_page = (path == "/admin" || path.starts_with("/admin/")) && path != "/admin/login";
    if is_admin_page {
        match auth::require_admin(&state.db, request.headers()).await {
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

/// Ready when the database answers (the model is loaded before the server listens). Says no
/// more than that: which model runs is for the admin console, not for anyone who asks.
async fn readyz(State(state): State<AppState>) -> Response {
    let database = sqlx::query("SELECT 1").execute(&state.db).await.is_ok();
    let body = Json(serde_json::json!({ "ready": database, "database": database }));
    let status = if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, body).into_response()
}
