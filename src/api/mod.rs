//! Server functions: public endpoints, kept thin, one file per feature as under `server/`. Each
//! one authenticates and authorises inside itself (`visitor_context`, `admin_context`), then
//! calls into `server::`. Their URLs are their `endpoint`s under /api; the raw axum routes of a
//! feature (activity batches, room photos, import uploads, the Stripe webhook) live beside them.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::ShopInfo;

pub mod admin;
pub mod catalogue;
pub mod codec;
pub mod discovery;
#[cfg(feature = "ssr")]
pub mod resources;
pub mod shop;

pub use admin::*;
pub use catalogue::*;
pub use discovery::*;
pub use shop::*;

#[cfg(feature = "ssr")]
use crate::server::{error::respond, http::auth::Admin, http::visitor::VisitorId, state::AppState};

/// Bad input with its message, answered as a 400.
#[cfg(feature = "ssr")]
fn invalid<T>(parsed: Result<T, String>) -> Result<T, AppError> {
    respond(parsed.map_err(|message| AppError::Invalid(message).into()))
}

/// The app state and the visitor in the cookie: every visitor server function starts here.
#[cfg(feature = "ssr")]
fn visitor_context() -> Result<(AppState, VisitorId), AppError> {
    Ok((expect_context::<AppState>(), crate::server::http::visitor::current_visitor()?))
}

/// The app state and the signed-in admin, or 401: every admin server function starts here.
#[cfg(feature = "ssr")]
async fn admin_context() -> Result<(AppState, Admin), AppError> {
    let state = expect_context::<AppState>();
    let parts = expect_context::<axum::http::request::Parts>();
    let admin = respond(
        crate::server::http::auth::require_admin(&state.db, &parts.headers, state.config.admin_idle_minutes).await,
    )?;
    Ok((state, admin))
}

/// What every page shows about the shop (GET /api/shop): whether payments are test payments.
#[server(endpoint = "shop", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_shop_info() -> Result<ShopInfo, AppError> {
    let state = expect_context::<AppState>();
    Ok(ShopInfo { test_payments: state.payments.is_test_mode() })
}
