//! Admin sign-in and the console's overview.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::admin_context;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::{error::respond, state::AppState};
use crate::types::AdminOverview;

#[server(endpoint = "admin/login", output = crate::api::codec::JsonText)]
pub async fn admin_login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::http::{auth, limits, sign_in};
    use axum::http::header;
    let state = expect_context::<AppState>();
    let mut parts = expect_context::<axum::http::request::Parts>();
    let ip = limits::client_ip(&mut parts).await;
    // Both limits below hold across every instance of the shop: so many attempts a minute from
    // one network, and each failure in a row from it, or for this account, slows the next answer.
    if let Some(wait) = respond(sign_in::admit(&state.db, ip, state.config.rate_login_per_minute).await)? {
        expect_context::<leptos_axum::ResponseOptions>().insert_header(header::RETRY_AFTER, limits::retry_after(wait));
        return Err(limits::refused("login", ip));
    }
    tokio::time::sleep(respond(sign_in::delay(&state.db, ip, &email).await)?).await;
    let token = match respond(auth::login(&state.db, &email, &password, state.config.admin_session_hours).await) {
        Ok(token) => {
            respond(sign_in::succeeded(&state.db, ip, &email).await)?;
            token
        }
        Err(error) => {
            if matches!(error, AppError::Invalid(_)) {
                respond(sign_in::failed(&state.db, ip, &email).await)?;
            }
            return Err(error);
        }
    };
    let cookie = auth::session_cookie(token, state.config.cookies_secure(), state.config.admin_session_hours);
    auth::set_response_cookie(&cookie);
    // Only local admin paths: never an open redirect, never a header that cannot be written.
    let target = next
        .filter(|n| n.starts_with("/admin") && crate::server::http::security::is_local_path(n))
        .unwrap_or_else(|| "/admin".into());
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(endpoint = "admin/logout", output = crate::api::codec::JsonText)]
pub async fn admin_logout() -> Result<(), AppError> {
    use crate::server::http::auth;
    let state = expect_context::<AppState>();
    let parts = expect_context::<axum::http::request::Parts>();
    respond(auth::logout(&state.db, &parts.headers).await)?;
    auth::set_response_cookie(&auth::cleared_session_cookie(state.config.cookies_secure()));
    leptos_axum::redirect("/admin/login");
    Ok(())
}

#[server(endpoint = "admin/overview", input = leptos::server_fn::codec::GetUrl, output = crate::api::codec::JsonText)]
pub async fn load_admin_overview() -> Result<AdminOverview, AppError> {
    use crate::server::{admin::dashboard, discovery::paintings};
    let (state, admin) = admin_context().await?;
    let model = state.clip.info();
    let zone = crate::server::http::locale::current_zone();
    let (catalogue_size, figures) =
        respond(tokio::try_join!(paintings::catalogue_size(state.reads()), dashboard::figures(state.reads(), &zone)))?;
    Ok(AdminOverview {
        admin_email: admin.email,
        model_id: model.id.clone(),
        model_label: model.label.clone(),
        model_is_clip: model.kind_name() == "clip",
        catalogue_size,
        storage_backend: state.storage.describe(),
        figures,
    })
}
