//! The benchmarks `make bench` runs, and the synthetic catalogues and visitors they use.

pub mod dashboard;
pub mod feed;
pub mod ingest;
pub mod quality;
pub mod synthetic;
