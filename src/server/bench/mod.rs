//! The benchmarks `make bench` runs (the `artwall-bench` binary), and the synthetic catalogues
//! and visitors they and the integration tests use. Compiled only with the `bench` feature.

pub mod cli;
pub mod dashboard;
pub mod feed;
pub mod ingest;
pub mod quality;
pub mod synthetic;
