//! Server functions: public endpoints, kept thin. Each one authenticates and authorises inside
//! itself, then calls into `server::`.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{AdminOverview, FeedPage, Onboarding, PaintingDetail, RoomState, SavedList, ScoredCard, SearchResults};

#[cfg(feature = "ssr")]
use crate::server::{error::respond, AppState};

/// The next page of the visitor's feed (also reachable as GET /api/feed?cursor=..&limit=..).
/// Every painting returned is recorded as shown and never returned again.
#[server(endpoint = "feed", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_feed_page(cursor: Option<String>, limit: Option<i64>) -> Result<FeedPage, AppError> {
    use crate::server::{feed, visitor::current_visitor};
    let state = expect_context::<AppState>();
    let visitor = current_visitor()?;
    respond(feed::next_page(&state.db, &state.landmarks, state.feed_settings(), visitor, cursor.as_deref(), limit).await)
}

/// "Start over" once everything has been seen: forgets what was shown (not what was hidden).
#[server(endpoint = "feed/reset")]
pub async fn reset_feed() -> Result<(), AppError> {
    use crate::server::{feed, visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(feed::reset(&state.db, current_visitor()?).await).map(|_| ())
}

#[server(endpoint = "onboarding", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_onboarding() -> Result<Onboarding, AppError> {
    use crate::server::{onboarding, visitor::current_visitor};
    let state = expect_context::<AppState>();
    let cards = respond(onboarding::style_cards(&state.db, &state.styles).await)?;
    let chosen = respond(onboarding::current_choice(&state.db, current_visitor()?).await)?;
    Ok(Onboarding { cards, chosen })
}

/// Seeds the visitor's taste from their home styles, then sends them to the feed.
#[server(endpoint = "onboarding/choose")]
pub async fn choose_styles(codes: Option<Vec<String>>) -> Result<(), AppError> {
    use crate::server::{onboarding, visitor::current_visitor};
    let state = expect_context::<AppState>();
    // A form with nothing ticked sends no `codes` at all.
    let codes = codes.unwrap_or_default();
    respond(onboarding::choose(&state.db, &state.styles, current_visitor()?, &codes).await)?;
    leptos_axum::redirect("/feed");
    Ok(())
}

#[server(endpoint = "painting", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_painting(id: i64) -> Result<PaintingDetail, AppError> {
    use crate::server::{paintings, visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::detail(&state.db, id, current_visitor()?).await)
}

/// The paintings nearest to painting `id`, without itself and the visitor's hidden ones.
#[server(endpoint = "painting/similar", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_more_like_this(id: i64) -> Result<Vec<ScoredCard>, AppError> {
    use crate::server::{paintings, visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::more_like_this(&state.db, id, current_visitor()?, 8).await)
}

/// The visitor's newest room photo (uploaded through `POST /api/room-photo`), if any.
#[server(endpoint = "room", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_room() -> Result<RoomState, AppError> {
    use crate::server::{rooms, visitor::current_visitor};
    let state = expect_context::<AppState>();
    let photo = respond(rooms::latest(&state, current_visitor()?).await)?;
    Ok(RoomState { photo, max_megabytes: state.config.room_max_bytes.div_ceil(1024 * 1024) })
}

#[server(endpoint = "saved", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_saved() -> Result<SavedList, AppError> {
    use crate::server::{paintings, visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::saved(&state.db, current_visitor()?).await)
}

/// Save or unsave a painting (recorded as a save/unsave activity, like the feed's buttons).
/// Returns the new state.
#[server(endpoint = "saved/set")]
pub async fn set_saved(painting_id: i64, saved: bool, source: String) -> Result<bool, AppError> {
    use crate::server::{paintings, visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::set_saved(&state.db, current_visitor()?, painting_id, saved, &source).await)?;
    Ok(saved)
}

/// Text-to-art search (GET /api/search?q=...).
#[server(endpoint = "search", input = leptos::server_fn::codec::GetUrl)]
pub async fn search_paintings(q: String) -> Result<SearchResults, AppError> {
    use crate::server::{search, visitor::current_visitor};
    let state = expect_context::<AppState>();
    let floor = state.config.search_min_similarity.unwrap_or_else(|| search::default_floor(state.clip.info().kind));
    respond(search::search(&state.db, &state.clip, current_visitor()?, &q, floor).await)
}

#[server(endpoint = "admin/login")]
pub async fn admin_login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::auth;
    let state = expect_context::<AppState>();
    let token = respond(auth::login(&state.db, &email, &password, state.config.admin_session_hours).await)?;
    let cookie = auth::session_cookie(token, state.config.cookies_secure(), state.config.admin_session_hours);
    auth::set_response_cookie(&cookie);
    // Only local paths: never an open redirect.
    let target = next.filter(|n| n.starts_with("/admin") && !n.starts_with("//")).unwrap_or_else(|| "/admin".into());
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(endpoint = "admin/logout")]
pub async fn admin_logout() -> Result<(), AppError> {
    use crate::server::auth;
    let state = expect_context::<AppState>();
    let parts = expect_context::<axum::http::request::Parts>();
    respond(auth::logout(&state.db, &parts.headers).await)?;
    auth::set_response_cookie(&auth::cleared_session_cookie(state.config.cookies_secure()));
    leptos_axum::redirect("/admin/login");
    Ok(())
}

#[server(endpoint = "admin/overview", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_admin_overview() -> Result<AdminOverview, AppError> {
    use crate::server::{auth, paintings};
    let state = expect_context::<AppState>();
    let parts = expect_context::<axum::http::request::Parts>();
    let admin = respond(auth::require_admin(&state.db, &parts.headers).await)?;
    let model = state.clip.info();
    Ok(AdminOverview {
        admin_email: admin.email,
        model_id: model.id.clone(),
        model_label: model.label.clone(),
        model_is_clip: model.kind_name() == "clip",
        catalogue_size: respond(paintings::catalogue_size(&state.db).await)?,
        storage_backend: state.storage.describe(),
    })
}
