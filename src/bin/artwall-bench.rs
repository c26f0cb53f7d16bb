#[tokio::main]
async fn main() -> std::process::ExitCode {
    artwall::server::bench::cli::main().await
}
