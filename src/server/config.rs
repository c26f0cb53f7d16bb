//! One typed configuration, read from flags or environment (see `.env.example`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

use crate::server::discovery::feed::FeedSettings;

#[derive(Debug, Parser)]
#[command(name = "artwall", version, about = "ArtWall: the art-print shop whose feed learns your taste")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TasteLearnerKind {
    Ordinal,
    Seed,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the shop (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Import paintings from a metadata CSV (the demo catalogue's columns) or a JSON file
    /// (`{"paintings":[...]}`). Re-running adds nothing twice.
    Import {
        file: PathBuf,
        /// Import at most this many rows (useful for quick test catalogues).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Home-style embeddings for onboarding.
    Styles {
        #[command(subcommand)]
        command: StylesCommand,
    },
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum StylesCommand {
    /// Embed the style prompts with the configured model and write the file (deterministic).
    Generate {
        #[arg(long, default_value = "assets/style_embeddings.json")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin, or reset their password. The password is read from
    /// ARTWALL_ADMIN_PASSWORD or, failing that, from the first line of standard input.
    Create { email: String },
    /// Create the shop's first admin with a generated password, printed once (only its hash is
    /// stored). Does nothing when an admin exists. `make run` calls it.
    FirstRun {
        #[arg(long, env = "ARTWALL_FIRST_ADMIN_EMAIL", default_value = "admin@artwall.test")]
        email: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// A streaming replica of it for read-only work that tolerates a little lag (painting pages,
    /// search, "more like this", the admin dashboard). Unset: the primary serves those too.
    #[arg(long, env = "ARTWALL_DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,
    #[arg(long, env = "ARTWALL_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Folder with model.json, visual.onnx and textual.onnx.
    #[arg(long, env = "ARTWALL_MODEL_DIR", default_value = ".data/models/standin")]
    pub model_dir: PathBuf,
    /// libonnxruntime.so to load (ort's load-dynamic feature).
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_dylib_path: Option<PathBuf>,
    /// Style embeddings made with the loaded model (`artwall styles generate`).
    #[arg(long, env = "ARTWALL_STYLE_EMBEDDINGS", default_value = "assets/style_embeddings.json")]
    pub style_embeddings: PathBuf,
    /// Threads each ONNX session may use inside one inference.
    #[arg(long, env = "ARTWALL_MODEL_THREADS", default_value_t = 2)]
    pub model_threads: usize,

    /// Local media folder, served under /media (used when no GCS bucket is set).
    #[arg(long, env = "ARTWALL_MEDIA_DIR", default_value = ".data/media")]
    pub media_dir: PathBuf,
    /// Store media in this Google Cloud Storage bucket instead of on local disk.
    #[arg(long, env = "ARTWALL_GCS_BUCKET")]
    pub gcs_bucket: Option<String>,
    /// GCS endpoint override (e.g. a fake-gcs-server); anonymous credentials are used with it.
    #[arg(long, env = "ARTWALL_GCS_ENDPOINT")]
    pub gcs_endpoint: Option<Url>,
    /// Public base URL of stored media when GCS is used (default: the endpoint or googleapis).
    #[arg(long, env = "ARTWALL_MEDIA_PUBLIC_URL")]
    pub media_public_url: Option<Url>,

    /// The shop's public URL: used for absolute links and to decide whether cookies are Secure.
    #[arg(long, env = "ARTWALL_PUBLIC_URL", default_value = "http://127.0.0.1:3000")]
    pub public_url: Url,
    /// Keys that sign visitor cookies, comma-separated, each at least 32 bytes; the first signs,
    /// all verify (put a new key first to roll one). Required to serve.
    #[arg(long, env = "ARTWALL_COOKIE_KEYS", value_delimiter = ',', hide_env_values = true)]
    pub cookie_keys: Vec<String>,

    #[arg(long, env = "ARTWALL_ADMIN_SESSION_HOURS", default_value_t = 12)]
    pub admin_session_hours: i64,
    /// An admin session unused this long ends (signed out), whatever its expiry.
    #[arg(long, env = "ARTWALL_ADMIN_IDLE_MINUTES", default_value_t = 30)]
    pub admin_idle_minutes: i64,
    /// Bootstrap admin: created at start-up with ARTWALL_ADMIN_PASSWORD_HASH if missing.
    #[arg(long, env = "ARTWALL_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// An argon2 PHC string (see `artwall admin create`).
    #[arg(long, env = "ARTWALL_ADMIN_PASSWORD_HASH", hide_env_values = true)]
    pub admin_password_hash: Option<String>,

    /// Share of each feed page drawn from outside the visitor's nearest neighbours.
    #[arg(long, env = "ARTWALL_FEED_EXPLORATION_RATE", default_value_t = 1.0 / 6.0)]
    pub feed_exploration_rate: f64,
    /// How many index tuples an iterative HNSW scan may visit before the exact fallback.
    #[arg(long, env = "ARTWALL_FEED_MAX_SCAN_TUPLES", default_value_t = 100_000)]
    pub feed_max_scan_tuples: i64,
    /// Once a visitor has seen this share of the catalogue, the feed looks for their nearest
    /// unseen paintings with an exact scan instead of an iterative index scan (cheaper from there).
    #[arg(long, env = "ARTWALL_FEED_EXACT_SCAN_SEEN_SHARE", default_value_t = 1.0 / 32.0)]
    pub feed_exact_scan_seen_share: f64,
    /// How much a painting's likeness to one the visitor liked lately counts, next to its
    /// likeness to their taste (1: as much; 0: not at all).
    #[arg(long, env = "ARTWALL_FEED_LIKED_WEIGHT", default_value_t = FeedSettings::DEFAULT.liked_weight)]
    pub feed_liked_weight: f64,
    /// How much everyone's reactions add to a painting's rank for a new visitor (fading as they
    /// say more).
    #[arg(long, env = "ARTWALL_FEED_POPULARITY_WEIGHT", default_value_t = FeedSettings::DEFAULT.popularity_weight)]
    pub feed_popularity_weight: f64,

    /// Search similarity floor (default: 0.22 for CLIP, 0.15 for the stand-in).
    #[arg(long, env = "ARTWALL_SEARCH_MIN_SIMILARITY")]
    pub search_min_similarity: Option<f32>,

    /// Taste workers in this process (they share the queue safely with other processes too).
    #[arg(long, env = "ARTWALL_TASTE_WORKERS", default_value_t = 1)]
    pub taste_workers: usize,
    /// On SIGTERM or Ctrl-C: how long requests in flight and the workers' current round may take
    /// to finish before the process exits anyway, in seconds. Below `docker stop`'s 10 s.
    #[arg(long, env = "ARTWALL_SHUTDOWN_GRACE_SECONDS", default_value_t = 8)]
    pub shutdown_grace_seconds: u64,
    /// How the taste worker learns: `ordinal` (a model of every impression and reaction) or
    /// `seed` (the first rule: move toward good signals, away from bad), to compare the two.
    #[arg(long, env = "ARTWALL_TASTE_LEARNER", value_enum, default_value_t = TasteLearnerKind::Ordinal)]
    pub taste_learner: TasteLearnerKind,

    /// The bearer token a Prometheus scraper sends for `/metrics`; without one, `/metrics` is
    /// not served.
    #[arg(long, env = "ARTWALL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Largest image file accepted, in bytes.
    #[arg(long, env = "ARTWALL_MAX_IMAGE_BYTES", default_value_t = 40 * 1024 * 1024)]
    pub max_image_bytes: u64,
    /// Largest image accepted, in pixels (width x height); checked before decoding.
    #[arg(long, env = "ARTWALL_MAX_IMAGE_PIXELS", default_value_t = 120_000_000)]
    pub max_image_pixels: u64,

    /// Stripe secret key. Without it, checkout answers "payment is unavailable".
    #[arg(long, env = "ARTWALL_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// Stripe API base URL; set it only for a local Stripe-compatible server in tests.
    #[arg(long, env = "ARTWALL_STRIPE_API_BASE")]
    pub stripe_api_base: Option<Url>,
    /// Webhook signing secrets, comma-separated (two while rolling a secret).
    #[arg(long, env = "ARTWALL_STRIPE_WEBHOOK_SECRETS", value_delimiter = ',', hide_env_values = true)]
    pub stripe_webhook_secrets: Vec<String>,
    /// Payment methods offered at checkout: card, alipay, wechat_pay.
    #[arg(long, env = "ARTWALL_PAYMENT_METHODS", value_delimiter = ',', default_value = "card")]
    pub payment_methods: Vec<String>,
    /// Minutes a pending order (and its Checkout Session) stays payable.
    #[arg(long, env = "ARTWALL_CHECKOUT_TTL_MINUTES", default_value_t = 30)]
    pub checkout_ttl_minutes: i64,
    /// Seconds between runs of the order jobs (expiry, reconciliation, auto-complete).
    #[arg(long, env = "ARTWALL_ORDER_JOBS_SECONDS", default_value_t = 60)]
    pub order_jobs_seconds: u64,

    /// Where a request's client address comes from, for the per-address limits: `ConnectInfo`
    /// (the TCP peer: no proxy in front), or the header the shop's own load balancer sets, e.g.
    /// `RightmostXForwardedFor`, `XRealIp`, `CfConnectingIp` (axum-client-ip's names). Only name a
    /// header that your load balancer overwrites: clients can send any header themselves.
    #[arg(long, env = "ARTWALL_CLIENT_IP_SOURCE", default_value = "ConnectInfo")]
    pub client_ip_source: axum_client_ip::ClientIpSource,
    /// Rate limits, in requests per minute for one visitor; one IP address gets five times as
    /// many (households and offices share an address). Sign-in is limited per network (an IPv4
    /// address or an IPv6 /64) only, in total across every instance.
    #[arg(long, env = "ARTWALL_RATE_LOGIN_PER_MINUTE", default_value_t = 10)]
    pub rate_login_per_minute: u32,
    #[arg(long, env = "ARTWALL_RATE_ACTIVITY_PER_MINUTE", default_value_t = 120)]
    pub rate_activity_per_minute: u32,
    #[arg(long, env = "ARTWALL_RATE_FEED_PER_MINUTE", default_value_t = 120)]
    pub rate_feed_per_minute: u32,
    #[arg(long, env = "ARTWALL_RATE_SEARCH_PER_MINUTE", default_value_t = 60)]
    pub rate_search_per_minute: u32,
    #[arg(long, env = "ARTWALL_RATE_UPLOAD_PER_MINUTE", default_value_t = 10)]
    pub rate_upload_per_minute: u32,
    /// Days processed activity events are kept (at least 8: the dashboard reads 7).
    #[arg(long, env = "ARTWALL_RETAIN_ACTIVITY_DAYS", default_value_t = 90)]
    pub retain_activity_days: i32,
    /// Days a Stripe event id is kept to recognise a duplicate (at least 4: Stripe retries for 3).
    #[arg(long, env = "ARTWALL_RETAIN_STRIPE_EVENT_DAYS", default_value_t = 30)]
    pub retain_stripe_event_days: i32,
    /// Buy clicks (each may open a Stripe Checkout Session).
    #[arg(long, env = "ARTWALL_RATE_CHECKOUT_PER_MINUTE", default_value_t = 10)]
    pub rate_checkout_per_minute: u32,

    /// Image downloads an import job runs at once.
    #[arg(long, env = "ARTWALL_FETCH_CONCURRENCY", default_value_t = 4)]
    pub fetch_concurrency: usize,
    /// Seconds one image download may take, from connecting to the last byte.
    #[arg(long, env = "ARTWALL_FETCH_TIMEOUT_SECONDS", default_value_t = 30)]
    pub fetch_timeout_seconds: u64,
    /// TESTS ONLY: lets import jobs fetch from loopback and private addresses (a local test
    /// server). Never set it in production: it opens the server to SSRF.
    #[arg(long, env = "ARTWALL_FETCH_ALLOW_PRIVATE", default_value_t = false)]
    pub fetch_allow_private: bool,

    /// Largest room photo accepted, in bytes.
    #[arg(long, env = "ARTWALL_ROOM_MAX_BYTES", default_value_t = 15 * 1024 * 1024)]
    pub room_max_bytes: u64,
    /// Largest room photo accepted, in pixels; checked before decoding.
    #[arg(long, env = "ARTWALL_ROOM_MAX_PIXELS", default_value_t = 40_000_000)]
    pub room_max_pixels: u64,
}

impl Config {
    /// The token `/metrics` asks for; none (or an empty one) means metrics are off.
    pub fn metrics_token(&self) -> Option<&str> {
        self.metrics_token.as_deref().filter(|token| !token.is_empty())
    }

    pub fn cookies_secure(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}
