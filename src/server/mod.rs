//! Everything that runs only on the server, grouped by what it is for. Nothing under here is
//! compiled into the WASM client.
//!
//! - `http`: who is asking (visitor cookie, admin sessions), rate limits, security headers.
//! - `discovery`: the feed, the taste it learns from activity, onboarding, search, room photos.
//! - `catalogue`: the paintings: storing and embedding them, the admin's editor, import jobs.
//! - `shop`: orders and their states, checkout, Stripe and its webhook, fulfilment.
//! - `admin`: the dashboard and the audit log.
//! - `infra`: CLIP, image decoding, media storage, fetching URLs safely.
//! - `state` and `startup`: what every request shares, and the router.
//! - `bench` (only with the `bench` feature): what `make bench` runs, outside the shop's binary.

pub mod admin;
#[cfg(feature = "bench")]
pub mod bench;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod error;
pub mod http;
pub mod infra;
pub mod shop;
pub mod startup;
pub mod state;
