//! ArtWall: one crate, two builds. `ssr` is the axum server (everything under `server/`),
//! `hydrate` is the WASM client; pages, components and shared types compile into both.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod events;
pub mod order_status;
pub mod pages;
pub mod pricing;
pub mod styles;
pub mod tracking;
pub mod types;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // End-to-end tests wait for this before they click.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
