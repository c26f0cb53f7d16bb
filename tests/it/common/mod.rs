//! Helpers shared by the integration tests. Tests need the environment that `make test` sets:
//! DATABASE_URL (a Postgres server with pgvector), ARTWALL_MODEL_DIR and ORT_DYLIB_PATH.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use artwall::server::config::{Cli, Config};
use artwall::server::infra::clip::Clip;
use artwall::server::{startup::router, state::AppState};
use clap::Parser;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo catalogue shipped beside the repository.
pub fn shared_paintings() -> PathBuf {
    let dir = repo().join("../shared/paintings");
    assert!(dir.join("metadata.csv").exists(), "tests need ../shared/paintings beside the repository");
    dir
}

/// The key the test server signs visitor cookies with.
pub const COOKIE_KEY: &str = "test-only-visitor-cookie-key-0123456789abcdef";

/// Configuration as the binary would parse it, with local media in `media_dir`.
pub fn config(media_dir: &Path) -> Config {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://unused".into());
    let media_dir = media_dir.to_str().unwrap();
    Cli::try_parse_from(["artwall", "--database-url", &url, "--media-dir", media_dir, "--cookie-keys", COOKIE_KEY])
        .expect("test configuration parses")
        .config
}

/// A `Cookie` header naming `visitor`, signed as the test server signs it.
pub fn visitor_cookie(visitor: impl std::fmt::Display) -> String {
    use artwall::server::http::visitor::{VisitorId, VisitorKeys, VISITOR_COOKIE};
    let visitor = uuid::Uuid::parse_str(&visitor.to_string()).expect("a visitor id is a UUID");
    let keys = VisitorKeys::from_config(&config(Path::new("/nonexistent"))).expect("the test key is long enough");
    format!("{VISITOR_COOKIE}={}", keys.sign(VisitorId(visitor)))
}

/// One model per test binary: loading it is the slow part.
pub fn clip() -> Arc<Clip> {
    static CLIP: OnceLock<Arc<Clip>> = OnceLock::new();
    CLIP.get_or_init(|| {
        let config = config(Path::new("/nonexistent"));
        Arc::new(
            Clip::load(&config.model_dir, config.ort_dylib_path.as_deref(), 1).expect("model loads (run `make test`)"),
        )
    })
    .clone()
}

/// The URL of the test's own database (for a process the test starts).
pub fn database_url(db: &PgPool) -> String {
    on_server(&std::env::var("DATABASE_URL").expect("DATABASE_URL"), db)
}

/// The streaming replica of the test cluster that `make test` starts (`scripts/pg.sh replica`).
pub fn replica_server_url() -> String {
    std::env::var("ARTWALL_TEST_REPLICA_URL")
        .expect("ARTWALL_TEST_REPLICA_URL: a replica of the test cluster, as scripts/test.sh starts it")
}

/// The URL of the test's own database on that replica.
pub fn replica_url(db: &PgPool) -> String {
    on_server(&replica_server_url(), db)
}

fn on_server(server_url: &str, db: &PgPool) -> String {
    let mut url = url::Url::parse(server_url).unwrap();
    url.set_path(db.connect_options().get_database().expect("a named test database"));
    url.to_string()
}

pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder().output_name("artwall").site_root("target/site").build()
}

/// App state over a test database, with media in a fresh temporary folder.
pub struct TestApp {
    pub state: AppState,
    pub media: tempfile::TempDir,
}

impl TestApp {
    pub async fn new(db: PgPool) -> Self {
        Self::with_config(db, |_| {}).await
    }

    /// Like `new`, after `adjust` has changed the configuration.
    pub async fn with_config(db: PgPool, adjust: impl FnOnce(&mut Config)) -> Self {
        let media = tempfile::tempdir().unwrap();
        let mut config = config(media.path());
        adjust(&mut config);
        let state = AppState::with_pool(config, leptos_options(), db).await.expect("state");
        // Reuse the shared model instead of loading another copy.
        let state = AppState { clip: clip(), ..state };
        Self { state, media }
    }

    pub fn router(&self) -> axum::Router {
        router(self.state.clone())
    }

    /// Sends one request through the real router; returns status, headers and body.
    pub async fn send(
        &self,
        request: axum::http::Request<axum::body::Body>,
    ) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let response = self.router().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
    }

    /// Imports the first `n` demo paintings.
    pub async fn import_demo(&self, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let rows = artwall::server::catalogue::import::read_rows(&demo_csv(dir.path(), n)).unwrap();
        artwall::server::catalogue::import::import_rows(
            &self.state.catalogue(),
            rows,
            dir.path(),
            &indicatif::ProgressBar::hidden(),
        )
        .await
        .unwrap();
    }

    /// `send`, with the body as text.
    pub async fn send_text(
        &self,
        request: axum::http::Request<axum::body::Body>,
    ) -> (axum::http::StatusCode, axum::http::HeaderMap, String) {
        let (status, headers, body) = self.send(request).await;
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }
}

/// Writes a metadata CSV of the first `n` demo paintings, with image paths made absolute.
pub fn demo_csv(dir: &Path, n: usize) -> PathBuf {
    let shared = shared_paintings();
    let text = std::fs::read_to_string(shared.join("metadata.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let path = dir.join("demo.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&headers).unwrap();
    for record in reader.records().take(n) {
        let record = record.unwrap();
        let fields: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(i, v)| if i == 0 { shared.join(v).display().to_string() } else { v.to_owned() })
            .collect();
        writer.write_record(&fields).unwrap();
    }
    writer.flush().unwrap();
    path
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A paid order `id` of `painting` (50x60 paper, unframed, ¥249) by `visitor`.
pub async fn paid_order(db: &PgPool, id: &str, visitor: uuid::Uuid, painting: i64) {
    sqlx::query("INSERT INTO orders (id, visitor_id, painting_id, size, material, frame, amount_cents, status, expires_at, paid_at) VALUES ($1, $2, $3, '50x60', 'paper', 'none', 24900, 'paid', now(), now())")
        .bind(id)
        .bind(visitor)
        .bind(painting)
        .execute(db)
        .await
        .unwrap();
}

/// Waits until something listens on the loopback `port`, or panics naming `what`.
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "{what} did not open its port");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// An admin with a live session: the admin and the `Cookie` header value that carries it.
pub async fn admin_session(db: &PgPool) -> (artwall::server::http::auth::Admin, String) {
    use artwall::server::http::auth;
    let email = auth::AdminEmail::parse("ops@example.com").unwrap();
    let id = auth::upsert_admin(db, &email, &auth::hash_password("a long enough password").unwrap()).await.unwrap();
    let token = auth::login(db, "ops@example.com", "a long enough password", 1).await.unwrap();
    (auth::Admin { id, email: email.as_str().to_owned() }, format!("{}={token}", auth::ADMIN_COOKIE))
}
