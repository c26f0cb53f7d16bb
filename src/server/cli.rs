//! The `artwall` binary: serve (default), migrate, import, admin, styles.

use std::future::IntoFuture;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use clap::Parser;
use leptos::prelude::LeptosOptions;

use crate::server::config::{AdminCommand, Cli, Command, Config, StylesCommand};
use crate::server::discovery::catalogue_changes;
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::auth::{self, AdminEmail};
use crate::server::infra::logs::{self, LogFormat};
use crate::server::{catalogue::import, startup::router, state::connect, state::load_clip, state::AppState};
use tracing_subscriber::util::SubscriberInitExt;

pub async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => migrate(&cli.config).await,
        Command::Import { file, limit } => return import_file(cli.config, &file, limit).await,
        Command::Admin { command: AdminCommand::Create { email } } => create_admin(&cli.config, &email).await,
        Command::Admin { command: AdminCommand::FirstRun { email } } => create_first_admin(&cli.config, &email).await,
        Command::Styles { command: StylesCommand::Generate { out } } => generate_styles(&cli.config, &out).await,
    };
    exit_code(result)
}

/// Logs go to standard error (see `infra::logs`); an unknown format is said, then text is used.
pub(crate) fn init_tracing() {
    let format = LogFormat::from_env();
    // `init` also passes the `log` crate's records (reqwest, rustls) on to tracing.
    logs::subscriber(*format.as_ref().unwrap_or(&LogFormat::Text), std::io::stderr).init();
    if let Err(problem) = format {
        tracing::warn!("{problem}");
    }
}

/// A command's exit code; its error is logged, with the command's context.
pub(crate) fn exit_code(result: ServerResult<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "artwall failed");
            ExitCode::FAILURE
        }
    }
}

/// Leptos options from Leptos.toml; cargo-leptos's LEPTOS_* variables override it.
pub(crate) fn leptos_options() -> ServerResult<LeptosOptions> {
    let path = std::env::var("ARTWALL_LEPTOS_TOML").unwrap_or_else(|_| "Leptos.toml".into());
    let conf = leptos::config::get_configuration(Some(&path))
        .map_err(|e| ServerError::Config(format!("Leptos options from {path}: {e}")))?;
    Ok(conf.leptos_options)
}

/// With hashed asset names, Leptos reads their names from the hash file beside the binary on
/// every page: refuse to start without it rather than serve pages that panic or link nothing.
fn check_hash_file(options: &LeptosOptions) -> ServerResult<()> {
    if !options.hash_files {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let hash_file = exe.parent().unwrap_or(Path::new(".")).join(&*options.hash_file);
    if hash_file.is_file() {
        Ok(())
    } else {
        Err(ServerError::Config(format!(
            "{} is missing: cargo-leptos writes it beside the binary (hash-files is on); copy it with the binary",
            hash_file.display()
        )))
    }
}

async fn serve(config: Config) -> ServerResult<()> {
    let started = Instant::now();
    let options = leptos_options()?;
    check_hash_file(&options)?;
    let addr = options.site_addr;
    let state = AppState::start(config, options).await?;
    bootstrap_admin(&state).await?;
    if !state.payments.is_configured() {
        tracing::warn!("ARTWALL_STRIPE_SECRET_KEY is not set: checkout will answer 'payment is unavailable'");
    }
    // SIGTERM or Ctrl-C cancels this: the server stops accepting and the workers stop after
    // their current round.
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let mut workers = tokio::task::JoinSet::new();
    // Listening before any worker or request can fill the caches, so no change is missed.
    let caches =
        catalogue_changes::CatalogueCaches { landmarks: state.landmarks.clone(), learner: state.taste_learner.clone() };
    let catalogue_listener = catalogue_changes::listen(&state.db).await?;
    workers.spawn(catalogue_changes::run(catalogue_listener, caches, catalogue_changes::SETTLE, shutdown.clone()));
    for n in 0..state.config.taste_workers {
        let name = format!("taste-{}-{n}", std::process::id());
        workers.spawn(crate::server::discovery::taste_worker::run(
            state.db.clone(),
            state.taste_learner.clone(),
            name,
            shutdown.clone(),
        ));
    }
    let every = Duration::from_secs(state.config.order_jobs_seconds.max(1));
    workers.spawn(crate::server::shop::order_jobs::run(
        state.db.clone(),
        state.payments.clone(),
        every,
        shutdown.clone(),
    ));
    workers.spawn(
        crate::server::catalogue::import_jobs::Runner { shutdown: shutdown.clone(), ..state.job_runner() }
            .run(Duration::from_secs(1)),
    );
    workers.spawn(crate::server::admin::retention::run(
        state.db.clone(),
        state.storage.clone(),
        state.config.retain_activity_days,
        state.config.retain_stripe_event_days,
        shutdown.clone(),
    ));
    let rooms_state = state.clone();
    tokio::spawn(async move {
        match crate::server::discovery::rooms::rekey_legacy(&rooms_state).await {
            Ok(0) => {}
            Ok(moved) => tracing::info!(moved, "room photos moved from visitor-named keys to random ones"),
            Err(error) => {
                tracing::error!(%error, "moving room photos to random keys stopped; it resumes at the next start")
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, ready_after_ms = started.elapsed().as_millis() as u64, "serving ArtWall");
    let limits = state.limits.clone();
    let pruning = shutdown.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        while pruning.run_until_cancelled(every.tick()).await.is_some() {
            limits.prune();
        }
    });
    let grace = Duration::from_secs(state.config.shutdown_grace_seconds);
    // Connect info gives the rate limits each client's address.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned()).into_future();
    tokio::pin!(server);
    // The signal first: when it has come, the workers are stopped and waited for even if the
    // server (with nothing in flight) is done in the same instant.
    let ended_by_itself = tokio::select! {
        biased;
        () = shutdown.cancelled() => None,
        result = &mut server => Some(result),
    };
    shutdown.cancel();
    let deadline = tokio::time::Instant::now() + grace;
    tracing::info!(
        grace_seconds = grace.as_secs(),
        "shutting down: finishing requests in flight and the workers' rounds"
    );
    let served = match ended_by_itself {
        Some(result) => result,
        None => tokio::time::timeout_at(deadline, &mut server).await.unwrap_or_else(|_| {
            tracing::warn!("requests still running after the grace period were cut off");
            Ok(())
        }),
    };
    loop {
        match tokio::time::timeout_at(deadline, workers.join_next()).await {
            Ok(None) => break,
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(error))) => tracing::error!(%error, "a worker had failed"),
            Err(_) => {
                tracing::warn!("work still running after the grace period was cut off; its transaction rolls back");
                break;
            }
        }
    }
    tracing::info!("stopped");
    Ok(served?)
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async { tokio::signal::ctrl_c().await.ok() };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => signal.recv().await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
    shutdown.cancel();
}

/// ARTWALL_ADMIN_EMAIL + ARTWALL_ADMIN_PASSWORD_HASH create (or update) an admin at start-up.
async fn bootstrap_admin(state: &AppState) -> ServerResult<()> {
    if let (Some(email), Some(hash)) = (&state.config.admin_email, &state.config.admin_password_hash) {
        let email = AdminEmail::parse(email)?;
        auth::upsert_admin(&state.db, &email, hash).await?;
        tracing::info!(email = email.as_str(), "bootstrap admin ready");
    }
    Ok(())
}

async fn generate_styles(config: &Config, out: &Path) -> ServerResult<()> {
    let clip = load_clip(config).await?;
    let styles = crate::server::discovery::onboarding::StyleEmbeddings::generate(&clip)?;
    std::fs::write(out, styles.to_json())?;
    println!("style embeddings for model {} written to {}", styles.model_id, out.display());
    Ok(())
}

async fn migrate(config: &Config) -> ServerResult<()> {
    let db = connect(config).await?;
    sqlx::migrate!().run(&db).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn create_admin(config: &Config, email: &str) -> ServerResult<()> {
    let email = AdminEmail::parse(email)?;
    let password = match std::env::var("ARTWALL_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprintln!("password for {} (one line on standard input):", email.as_str());
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let hash = auth::hash_password(&password)?;
    let db = connect(config).await?;
    sqlx::migrate!().run(&db).await?;
    let id = auth::upsert_admin(&db, &email, &hash).await?;
    println!("admin {} ready (id {id})", email.as_str());
    Ok(())
}

async fn create_first_admin(config: &Config, email: &str) -> ServerResult<()> {
    if let (Some(bootstrap), Some(_)) = (&config.admin_email, &config.admin_password_hash) {
        println!("Admin console: sign in as {bootstrap} (ARTWALL_ADMIN_EMAIL, created by `serve`); no first admin is generated.");
        return Ok(());
    }
    let email = AdminEmail::parse(email)?;
    let password = auth::generate_password();
    let hash = auth::hash_password(&password)?;
    let db = connect(config).await?;
    sqlx::migrate!().run(&db).await?;
    let login = config
        .public_url
        .join("admin/login")
        .map_err(|e| ServerError::App(crate::error::AppError::invalid(format!("ARTWALL_PUBLIC_URL: {e}"))))?;
    match auth::create_first_admin(&db, &email, &hash).await? {
        Some(_) => println!(
            "First admin created. Sign in at {login}\n  email:    {}\n  password: {password}\n\
             The password is shown this once; only its hash is stored. `make admin EMAIL=...` adds an admin or resets a password.",
            email.as_str()
        ),
        None => println!("Admin console: {login} (`make admin EMAIL=...` adds an admin or resets a password)"),
    }
    Ok(())
}

async fn import_file(config: Config, file: &Path, limit: Option<usize>) -> ExitCode {
    let run = async {
        let mut rows = import::read_rows(file).map_err(|e| ServerError::App(crate::error::AppError::Invalid(e)))?;
        if let Some(limit) = limit {
            rows.truncate(limit);
        }
        let state = AppState::start(config, leptos_options()?).await?;
        let base_dir = file.parent().unwrap_or(Path::new("."));
        let bar = import::progress_bar(rows.len());
        let report = import::import_rows(&state.catalogue(), rows, base_dir, &bar).await?;
        bar.finish();
        Ok::<_, ServerError>(report)
    };
    match run.await {
        Ok(report) => {
            println!(
                "added {}, already present {}, failed {}",
                report.added,
                report.already_present,
                report.failed.len()
            );
            for (row, reason) in &report.failed {
                println!("  failed: {row}: {reason}");
            }
            if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            tracing::error!(%error, "import failed");
            ExitCode::FAILURE
        }
    }
}
