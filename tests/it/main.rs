//! The integration tests, in one binary: the server is linked once instead of once per file.
//! Each module is one feature's tests; `common` is their shared harness (a database per test,
//! the app on a real port, fixtures). Run one module with
//! `cargo nextest run --features bench --no-default-features -E 'test(/^feed::/)'`.

mod common;

mod activity;
mod admin_catalogue;
mod backup;
mod catalogue;
mod checkout;
mod clip;
mod dashboard;
mod discover;
mod feed;
mod fuzz;
mod gcs;
mod http;
mod instances;
mod jobs;
mod learning;
mod limits;
mod metrics;
mod onboarding;
mod openapi;
mod resources;
mod retention;
mod rooms;
mod security;
mod shutdown;
mod transactions;
mod visitor;
mod webhook;
