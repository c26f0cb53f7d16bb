//! The `artwall-bench` binary, which `make bench` runs: it is built only with the `bench` feature,
//! so none of this is in the shop's binary. Each command prints figures and asserts nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use url::Url;

use crate::server::bench::quality::Learner;
use crate::server::cli::{exit_code, init_tracing, leptos_options};
use crate::server::config::Config;
use crate::server::error::{ServerError, ServerResult};
use crate::server::infra::clip;
use crate::server::state::{connect, image_limits, load_clip, AppState};

#[derive(Debug, Parser)]
#[command(name = "artwall-bench", about = "ArtWall's benchmarks: they print figures and assert nothing")]
struct BenchCli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Measure feed latency on a large synthetic catalogue (only in a database named *bench*).
    Feed {
        #[arg(long, default_value_t = 100_000)]
        paintings: usize,
        #[arg(long, default_value_t = 100)]
        requests: usize,
    },
    /// Measure the admin dashboard's figures with 100k paintings and 1M activity events (only in
    /// a database named *bench*).
    Dashboard {
        #[arg(long, default_value_t = 100_000)]
        paintings: usize,
        #[arg(long, default_value_t = 1_000_000)]
        activities: i64,
        #[arg(long, default_value_t = 30)]
        requests: usize,
    },
    /// Simulate visitors with hidden tastes through each learner's feed and print how close
    /// its pages come to an oracle's as it learns (needs an imported catalogue).
    Quality {
        #[arg(long, default_value_t = 200)]
        visitors: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Replace the catalogue with this many paintings like the imported ones (only in a
        /// database named *bench*).
        #[arg(long, default_value_t = 0)]
        demo_like: usize,
        /// The feeds to compare (comma-separated).
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = Learner::ALL)]
        learners: Vec<Learner>,
    },
    /// Send activity batches to a running server at a given concurrency; print events accepted
    /// per second, events lost, then the taste worker's processing rate.
    Ingest {
        /// The running server (start it with ARTWALL_TASTE_WORKERS=0).
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        server: Url,
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Workers processing the queue afterwards.
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
    /// Measure embeddings per second of the Rust pipeline (decode, preprocess, infer).
    Embed {
        /// Folder of images.
        images: PathBuf,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long, default_value_t = 64)]
        count: usize,
        /// Visual ONNX file to use instead of the configured model's.
        #[arg(long)]
        visual: Option<PathBuf>,
    },
}

pub async fn main() -> ExitCode {
    init_tracing();
    let cli = BenchCli::parse();
    let config = cli.config;
    exit_code(match cli.command {
        BenchCommand::Feed { paintings, requests } => bench_feed(config, paintings, requests).await,
        BenchCommand::Dashboard { paintings, activities, requests } => {
            bench_dashboard(&config, paintings, activities, requests).await
        }
        BenchCommand::Quality { visitors, seed, demo_like, learners } => {
            bench_quality(config, visitors, seed, demo_like, &learners).await
        }
        BenchCommand::Ingest { server, events, concurrency, workers } => {
            bench_ingest(&config, &server, events, concurrency, workers).await
        }
        BenchCommand::Embed { images, batch, count, visual } => {
            bench_embed(&config, &images, batch, count, visual).await
        }
    })
}

async fn bench_feed(config: Config, paintings: usize, requests: usize) -> ServerResult<()> {
    let db = connect(&config).await?;
    sqlx::migrate!().run(&db).await?;
    crate::server::bench::feed::run(config, leptos_options()?, db, paintings, requests).await
}

async fn bench_dashboard(config: &Config, paintings: usize, activities: i64, requests: usize) -> ServerResult<()> {
    let db = connect(config).await?;
    sqlx::migrate!().run(&db).await?;
    crate::server::bench::dashboard::run(&db, paintings, activities, requests).await
}

async fn bench_quality(
    config: Config,
    visitors: usize,
    seed: u64,
    demo_like: usize,
    learners: &[Learner],
) -> ServerResult<()> {
    let state = AppState::start(config, leptos_options()?).await?;
    crate::server::bench::quality::run(&state, visitors, seed, demo_like, learners).await
}

async fn bench_ingest(
    config: &Config,
    server: &Url,
    events: usize,
    concurrency: usize,
    workers: usize,
) -> ServerResult<()> {
    let db = connect(config).await?;
    // Signed as the server signs them: it is started with the same ARTWALL_COOKIE_KEYS.
    let keys = crate::server::http::visitor::VisitorKeys::from_config(config)?;
    let learner = std::sync::Arc::new(crate::server::discovery::taste_worker::TasteLearner::new(config.taste_learner));
    crate::server::bench::ingest::run(&db, &keys, &learner, server, events, concurrency, workers).await
}

/// Prints one line of JSON: images embedded per second through decode, preprocess and infer.
async fn bench_embed(
    config: &Config,
    dir: &Path,
    batch: usize,
    count: usize,
    visual: Option<PathBuf>,
) -> ServerResult<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files.truncate(count);
    let bytes: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let clip = match visual {
        None => load_clip(config).await?,
        Some(visual) => {
            // A throwaway model folder pointing at the given visual graph (the text side is unused).
            let tmp = tempdir_with_manifest(&visual, config)?;
            let bench_config = Config { model_dir: tmp, ..config.clone() };
            load_clip(&bench_config).await?
        }
    };
    let limits = image_limits(config);
    // Returns (seconds decoding and preprocessing, seconds in inference).
    let embed_all = |clip: std::sync::Arc<clip::Clip>| {
        let bytes = bytes.clone();
        async move {
            let (mut prepare, mut infer) = (0.0, 0.0);
            for chunk in bytes.chunks(batch) {
                let started = Instant::now();
                let pixels = decode_and_preprocess(chunk.to_vec(), limits).await?;
                prepare += started.elapsed().as_secs_f64();
                let started = Instant::now();
                clip.embed_images(pixels).await?;
                infer += started.elapsed().as_secs_f64();
            }
            Ok::<_, ServerError>((prepare, infer))
        }
    };
    embed_all(clip.clone()).await?; // warm-up
    let started = Instant::now();
    let (prepare, infer) = embed_all(clip.clone()).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({ "pipeline": "rust", "images": bytes.len(), "batch": batch, "seconds": seconds,
                            "prepare_seconds": prepare, "infer_seconds": infer,
                            "images_per_second": bytes.len() as f64 / seconds, "model": clip.info().id })
    );
    Ok(())
}

/// Decodes and preprocesses images in parallel on the blocking pool.
async fn decode_and_preprocess(
    images: Vec<Vec<u8>>,
    limits: crate::server::infra::images::ImageLimits,
) -> ServerResult<Vec<f32>> {
    let tasks: Vec<_> = images
        .into_iter()
        .map(|bytes| {
            tokio::task::spawn_blocking(move || {
                crate::server::infra::images::decode_rgb(&bytes, limits)
                    .map(|image| clip::preprocess::preprocess(&image))
            })
        })
        .collect();
    let mut pixels = Vec::new();
    for task in tasks {
        pixels.extend(task.await??);
    }
    Ok(pixels)
}

fn tempdir_with_manifest(visual: &Path, config: &Config) -> ServerResult<PathBuf> {
    let dir = std::env::temp_dir().join(format!("artwall-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let visual = std::fs::canonicalize(visual)?;
    let textual = std::fs::canonicalize(config.model_dir.join("textual.onnx"))?;
    let manifest = serde_json::json!({ "id": "bench", "kind": "clip", "label": "benchmark graph",
                                       "visual": visual, "textual": textual });
    std::fs::write(dir.join("model.json"), manifest.to_string())?;
    Ok(dir)
}
