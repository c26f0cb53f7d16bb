//! The state every request shares (database pool, model, storage, payments, limits) and how the
//! process builds it at start-up.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::server::catalogue::{import_jobs, Catalogue};
use crate::server::config::Config;
use crate::server::discovery::{feed, onboarding, taste_worker};
use crate::server::error::ServerResult;
use crate::server::http::{limits, visitor};
use crate::server::infra::clip::Clip;
use crate::server::infra::db::ReadReplica;
use crate::server::infra::images::ImageLimits;
use crate::server::infra::storage::Storage;
use crate::server::infra::{fetch, metrics};
use crate::server::shop::payments;

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub db: PgPool,
    /// The replica for read-only work that tolerates a little lag, when one is configured (see
    /// `reads`).
    pub replica: Option<Arc<ReadReplica>>,
    pub clip: Arc<Clip>,
    pub storage: Arc<Storage>,
    pub landmarks: Arc<feed::Landmarks>,
    pub taste_learner: Arc<taste_worker::TasteLearner>,
    pub styles: Arc<onboarding::StyleEmbeddings>,
    pub payments: Arc<payments::Payments>,
    pub limits: Arc<limits::RateLimits>,
    pub visitor_keys: Arc<visitor::VisitorKeys>,
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
        if config.metrics_token().is_some() {
            metrics::install();
        }
        let replica = match config.database_read_url.as_deref().filter(|url| !url.is_empty()) {
            Some(url) => Some(ReadReplica::start(
                pool_options(&config).connect_lazy(url)?,
                PgPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(1)).connect_lazy(url)?,
            )),
            None => None,
        };
        let clip = load_clip(&config).await?;
        // Refuses to start when the style embeddings come from another model's space.
        let styles = Arc::new(onboarding::StyleEmbeddings::load(&config.style_embeddings, &clip.info().id)?);
        let storage = Arc::new(Storage::from_config(&config).await?);
        tracing::info!(storage = %storage.describe(), "storage ready");
        let payments = Arc::new(payments::Payments::from_config(&config)?);
        let limits = Arc::new(limits::RateLimits::from_config(&config));
        let visitor_keys = Arc::new(visitor::VisitorKeys::from_config(&config)?);
        let fetch_timeout = Duration::from_secs(config.fetch_timeout_seconds.max(1));
        let fetcher = fetch::Fetcher::new(config.max_image_bytes, fetch_timeout, config.fetch_allow_private);
        let taste_learner = Arc::new(taste_worker::TasteLearner::new(config.taste_learner));
        Ok(Self {
            leptos_options,
            config: Arc::new(config),
            db,
            replica,
            clip,
            storage,
            landmarks: Arc::default(),
            taste_learner,
            styles,
            payments,
            limits,
            visitor_keys,
            fetcher,
        })
    }

    /// Where read-only work that tolerates a little lag goes (painting pages, search, "more like
    /// this", the dashboard): the replica while it answers, else the primary. Whatever a visitor
    /// has just changed (saves, hides, orders, the feed) is read from `db`.
    pub fn reads(&self) -> &PgPool {
        self.replica.as_ref().and_then(|replica| replica.pool()).unwrap_or(&self.db)
    }

    pub fn feed_settings(&self) -> feed::FeedSettings {
        feed::FeedSettings {
            exploration_rate: self.config.feed_exploration_rate.clamp(0.0, 1.0),
            max_scan_tuples: self.config.feed_max_scan_tuples.max(100),
            exact_scan_seen_share: self.config.feed_exact_scan_seen_share.max(0.0),
            liked_weight: self.config.feed_liked_weight.max(0.0),
            popularity_weight: self.config.feed_popularity_weight.max(0.0),
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
    pub fn job_runner(&self) -> import_jobs::Runner {
        import_jobs::Runner {
            name: format!("jobs-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            catalogue: self.catalogue(),
            fetcher: self.fetcher.clone(),
            fetch_concurrency: self.config.fetch_concurrency,
            shutdown: tokio_util::sync::CancellationToken::new(),
        }
    }
}

pub async fn connect(config: &Config) -> ServerResult<PgPool> {
    Ok(pool_options(config).connect(&config.database_url).await?)
}

fn pool_options(config: &Config) -> PgPoolOptions {
    PgPoolOptions::new().max_connections(config.db_max_connections).acquire_timeout(Duration::from_secs(5))
}

pub async fn load_clip(config: &Config) -> ServerResult<Arc<Clip>> {
    let (dir, lib, threads) = (config.model_dir.clone(), config.ort_dylib_path.clone(), config.model_threads);
    Ok(Arc::new(tokio::task::spawn_blocking(move || Clip::load(&dir, lib.as_deref(), threads)).await??))
}

pub fn image_limits(config: &Config) -> ImageLimits {
    ImageLimits { max_bytes: config.max_image_bytes, max_pixels: config.max_image_pixels }
}
