#[tokio::main]
async fn main() -> std::process::ExitCode {
    artwall::server::cli::main().await
}
