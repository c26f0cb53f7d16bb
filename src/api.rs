//! Server functions: public endpoints, kept thin. Each one authenticates and authorises inside
//! itself, then calls into `server::`.
// A form's server function takes one argument per field; the attribute cannot sit on the function
// itself, because `#[server]` generates the client's twin without it.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{
    AddedPainting, AdminOrders, AdminOverview, AdminPaintings, FeedPage, JobView, Onboarding, OrderView,
    PaintingDetail, PaintingEdit, RoomState, SavedList, ScoredCard, SearchResults, ShopInfo,
};

#[cfg(feature = "ssr")]
use crate::server::{error::respond, state::AppState};

/// Bad input with its message, answered as a 400.
#[cfg(feature = "ssr")]
fn invalid<T>(parsed: Result<T, String>) -> Result<T, AppError> {
    respond(parsed.map_err(|message| AppError::Invalid(message).into()))
}

/// The app state and the signed-in admin, or 401: every admin server function starts here.
#[cfg(feature = "ssr")]
async fn admin_context() -> Result<(AppState, crate::server::http::auth::Admin), AppError> {
    let state = expect_context::<AppState>();
    let parts = expect_context::<axum::http::request::Parts>();
    let admin = respond(crate::server::http::auth::require_admin(&state.db, &parts.headers).await)?;
    Ok((state, admin))
}

/// What every page shows about the shop (GET /api/shop): whether payments are test payments.
#[server(endpoint = "shop", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_shop_info() -> Result<ShopInfo, AppError> {
    let state = expect_context::<AppState>();
    Ok(ShopInfo { test_payments: state.payments.is_test_mode() })
}

/// The next page of the visitor's feed (also reachable as GET /api/feed?cursor=..&limit=..).
/// Every painting returned is recorded as shown and never returned again.
#[server(endpoint = "feed", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_feed_page(cursor: Option<String>, limit: Option<i64>) -> Result<FeedPage, AppError> {
    use crate::server::{discovery::feed, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    let visitor = current_visitor()?;
    respond(
        feed::next_page(&state.db, &state.landmarks, state.feed_settings(), visitor, cursor.as_deref(), limit).await,
    )
}

/// "Start over" once everything has been seen: forgets what was shown (not what was hidden).
#[server(endpoint = "feed/reset")]
pub async fn reset_feed() -> Result<(), AppError> {
    use crate::server::{discovery::feed, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(feed::reset(&state.db, current_visitor()?).await).map(|_| ())
}

#[server(endpoint = "onboarding", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_onboarding() -> Result<Onboarding, AppError> {
    use crate::server::{discovery::onboarding, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    let cards = respond(onboarding::style_cards(&state.db, &state.styles).await)?;
    let chosen = respond(onboarding::current_choice(&state.db, current_visitor()?).await)?;
    Ok(Onboarding { cards, chosen })
}

/// Seeds the visitor's taste from their home styles, then sends them to the feed.
#[server(endpoint = "onboarding/choose")]
pub async fn choose_styles(codes: Option<Vec<String>>) -> Result<(), AppError> {
    use crate::server::{discovery::onboarding, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    // A form with nothing ticked sends no `codes` at all.
    let codes = codes.unwrap_or_default();
    respond(onboarding::choose(&state.db, &state.styles, current_visitor()?, &codes).await)?;
    leptos_axum::redirect("/feed");
    Ok(())
}

#[server(endpoint = "painting", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_painting(id: i64) -> Result<PaintingDetail, AppError> {
    use crate::server::{discovery::paintings, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::detail(&state.db, id, current_visitor()?).await)
}

/// The paintings nearest to painting `id`, without itself and the visitor's hidden ones.
#[server(endpoint = "painting/similar", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_more_like_this(id: i64) -> Result<Vec<ScoredCard>, AppError> {
    use crate::server::{discovery::paintings, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::more_like_this(&state.db, id, current_visitor()?, 8).await)
}

/// The visitor's newest room photo (uploaded through `POST /api/room-photo`), if any.
#[server(endpoint = "room", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_room() -> Result<RoomState, AppError> {
    use crate::server::{discovery::rooms, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    let photo = respond(rooms::latest(&state, current_visitor()?).await)?;
    Ok(RoomState { photo, max_megabytes: state.config.room_max_bytes.div_ceil(1024 * 1024) })
}

#[server(endpoint = "saved", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_saved() -> Result<SavedList, AppError> {
    use crate::server::{discovery::paintings, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::saved(&state.db, current_visitor()?).await)
}

/// Save or unsave a painting (recorded as a save/unsave activity, like the feed's buttons).
/// Returns the new state.
#[server(endpoint = "saved/set")]
pub async fn set_saved(painting_id: i64, saved: bool, source: String) -> Result<bool, AppError> {
    use crate::server::{discovery::paintings, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    respond(paintings::set_saved(&state.db, current_visitor()?, painting_id, saved, &source).await)?;
    Ok(saved)
}

/// Text-to-art search (GET /api/search?q=...).
#[server(endpoint = "search", input = leptos::server_fn::codec::GetUrl)]
pub async fn search_paintings(q: String) -> Result<SearchResults, AppError> {
    use crate::server::{discovery::search, http::visitor::current_visitor};
    let state = expect_context::<AppState>();
    let floor = state.config.search_min_similarity.unwrap_or_else(|| search::default_floor(state.clip.info().kind));
    respond(search::search(&state.db, &state.clip, current_visitor()?, &q, floor).await)
}

#[server(endpoint = "admin/login")]
pub async fn admin_login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{http::auth, http::limits};
    let state = expect_context::<AppState>();
    let parts = expect_context::<axum::http::request::Parts>();
    // Each failure in a row from this address makes the next answer slower.
    let ip = limits::client_ip(&parts.extensions);
    tokio::time::sleep(state.limits.login_delay(ip)).await;
    let token = match respond(auth::login(&state.db, &email, &password, state.config.admin_session_hours).await) {
        Ok(token) => {
            state.limits.login_succeeded(ip);
            token
        }
        Err(error) => {
            if matches!(error, AppError::Invalid(_)) {
                state.limits.login_failed(ip);
            }
            return Err(error);
        }
    };
    let cookie = auth::session_cookie(token, state.config.cookies_secure(), state.config.admin_session_hours);
    auth::set_response_cookie(&cookie);
    // Only local paths: never an open redirect.
    let target = next.filter(|n| n.starts_with("/admin") && !n.starts_with("//")).unwrap_or_else(|| "/admin".into());
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(endpoint = "admin/logout")]
pub async fn admin_logout() -> Result<(), AppError> {
    use crate::server::http::auth;
    let state = expect_context::<AppState>();
    let parts = expect_context::<axum::http::request::Parts>();
    respond(auth::logout(&state.db, &parts.headers).await)?;
    auth::set_response_cookie(&auth::cleared_session_cookie(state.config.cookies_secure()));
    leptos_axum::redirect("/admin/login");
    Ok(())
}

#[server(endpoint = "admin/overview", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_admin_overview() -> Result<AdminOverview, AppError> {
    use crate::server::{admin::dashboard, discovery::paintings};
    let (state, admin) = admin_context().await?;
    let model = state.clip.info();
    let (catalogue_size, figures) =
        respond(tokio::try_join!(paintings::catalogue_size(&state.db), dashboard::figures(&state.db)))?;
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

/// Buy a print: the server prices it, opens (or reuses) the order and its Stripe Checkout
/// Session, and returns the Checkout URL (a plain form post is redirected there).
#[server(endpoint = "checkout")]
pub async fn start_checkout(
    painting_id: i64,
    size: String,
    material: String,
    frame: String,
) -> Result<String, AppError> {
    use crate::pricing::PrintOptions;
    use crate::server::{http::visitor::current_visitor, shop::checkout};
    let state = expect_context::<AppState>();
    let options = invalid(PrintOptions::parse(&size, &material, &frame))?;
    let url = respond(checkout::start(&state, current_visitor()?, painting_id, options).await)?;
    leptos_axum::redirect(&url);
    Ok(url)
}

#[server(endpoint = "orders", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_my_orders() -> Result<Vec<OrderView>, AppError> {
    use crate::server::{http::visitor::current_visitor, shop::orders};
    let state = expect_context::<AppState>();
    respond(orders::for_visitor(&state.db, current_visitor()?).await)
}

/// One of the visitor's orders; anyone else's is "not found".
#[server(endpoint = "order", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_order(id: String) -> Result<OrderView, AppError> {
    use crate::server::{http::visitor::current_visitor, shop::orders};
    let state = expect_context::<AppState>();
    respond(orders::view(&state.db, &id, Some(current_visitor()?)).await)
}

#[server(endpoint = "order/address")]
pub async fn update_shipping(order_id: String, name: String, phone: String, address: String) -> Result<(), AppError> {
    use crate::server::{http::visitor::current_visitor, shop::checkout};
    let state = expect_context::<AppState>();
    let address = respond(checkout::parse_address(&name, &phone, &address).map_err(Into::into))?;
    respond(checkout::update_address(&state.db, current_visitor()?, &order_id, address).await)
}

#[server(endpoint = "admin/orders", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_admin_orders(status: Option<String>) -> Result<AdminOrders, AppError> {
    use crate::server::shop::orders;
    let (state, _) = admin_context().await?;
    let status = invalid(status.filter(|s| !s.is_empty()).map(|s| s.parse()).transpose())?;
    let (orders, counts) = respond(orders::for_admin(&state.db, status, 200).await)?;
    Ok(AdminOrders { orders, counts })
}

#[server(endpoint = "admin/order", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_admin_order(id: String) -> Result<OrderView, AppError> {
    use crate::server::shop::orders;
    let (state, _) = admin_context().await?;
    respond(orders::view(&state.db, &id, None).await)
}

/// The next fulfilment step (only moves the state machine allows); shipping needs tracking.
#[server(endpoint = "admin/order/advance")]
pub async fn advance_order(order_id: String, to: String, tracking: Option<String>) -> Result<(), AppError> {
    use crate::server::shop::fulfilment;
    let (state, admin) = admin_context().await?;
    respond(fulfilment::advance(&state, &admin, &order_id, &to, tracking.as_deref()).await)
}

/// Refund through Stripe; `amount_cents` empty means the whole remainder.
#[server(endpoint = "admin/order/refund")]
pub async fn refund_order(order_id: String, amount_cents: Option<String>) -> Result<i64, AppError> {
    use crate::server::shop::fulfilment;
    let (state, admin) = admin_context().await?;
    let amount = invalid(
        amount_cents
            .filter(|a| !a.trim().is_empty())
            .map(|a| {
                a.trim().parse::<i64>().map_err(|_| "the refund amount must be a whole number of cents".to_owned())
            })
            .transpose(),
    )?;
    respond(fulfilment::refund(&state, &admin, &order_id, amount).await)
}

/// One batch job with its live figures and failed items.
#[server(endpoint = "admin/job", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_job(id: String) -> Result<JobView, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, _) = admin_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    respond(import_jobs::view(&state.db, id).await)
}

#[server(endpoint = "admin/jobs", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_jobs() -> Result<Vec<JobView>, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, _) = admin_context().await?;
    respond(import_jobs::recent(&state.db, 20).await)
}

/// Puts a finished job's failed items back in the queue; answers how many.
#[server(endpoint = "admin/job/retry")]
pub async fn retry_job(id: String) -> Result<i64, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, admin) = admin_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    respond(import_jobs::retry_failed(&state.db, &admin, id).await)
}

#[server(endpoint = "admin/job/resume")]
pub async fn resume_job(id: String) -> Result<(), AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, admin) = admin_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    respond(import_jobs::resume(&state.db, &admin, id).await)
}

/// The catalogue as the admin sees it: search by title, artist or style, 50 per page.
#[server(endpoint = "admin/paintings", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_admin_paintings(query: Option<String>, page: Option<i64>) -> Result<AdminPaintings, AppError> {
    use crate::server::catalogue::editor;
    let (state, _) = admin_context().await?;
    respond(editor::list(&state.db, query.as_deref().unwrap_or_default(), page.unwrap_or(1)).await)
}

/// Takes a painting out of (or back into) the feed, search and "more like this".
#[server(endpoint = "admin/painting/publish")]
pub async fn set_painting_published(id: i64, published: bool) -> Result<(), AppError> {
    use crate::server::catalogue::editor;
    let (state, admin) = admin_context().await?;
    respond(editor::set_published(&state.db, &admin, id, published).await)
}

/// Adds one painting from the admin form (multipart: the metadata fields, and `image` or
/// `image_url`); answers it with its six nearest neighbours.
#[server(endpoint = "admin/paintings/add", input = leptos::server_fn::codec::MultipartFormData)]
pub async fn add_painting(data: leptos::server_fn::codec::MultipartData) -> Result<AddedPainting, AppError> {
    use crate::server::{catalogue::editor, discovery::paintings, http::visitor::VisitorId};
    let (state, admin) = admin_context().await?;
    let multipart = data.into_inner().ok_or_else(|| AppError::invalid("the form could not be read"))?;
    let form = respond(editor::read_painting_form(multipart, state.config.max_image_bytes).await)?;
    let (raw, image) = respond(form.into_parts())?;
    let id = respond(editor::add_one(&state.catalogue(), &state.fetcher, &admin, raw, image).await)?;
    // An admin has no hidden paintings: the nil visitor hides nothing.
    let nobody = VisitorId(uuid::Uuid::nil());
    let painting = respond(paintings::detail(&state.db, id, nobody).await)?;
    let neighbours = respond(paintings::more_like_this(&state.db, id, nobody, 6).await)?;
    Ok(AddedPainting { painting, neighbours })
}

#[server(endpoint = "admin/painting", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_admin_painting(id: i64) -> Result<PaintingEdit, AppError> {
    use crate::server::catalogue::editor;
    let (state, _) = admin_context().await?;
    respond(editor::for_edit(&state.db, id).await)
}

/// Saves a painting's edited metadata (the fields of the add form, without the image).
#[server(endpoint = "admin/painting/edit")]
pub async fn update_painting(
    id: i64,
    title: String,
    title_en: String,
    artist: String,
    artist_en: String,
    year: String,
    style: String,
    tags: String,
    source: String,
    source_url: String,
    license: String,
) -> Result<(), AppError> {
    use crate::server::catalogue::editor;
    let (state, admin) = admin_context().await?;
    let mut fields: std::collections::HashMap<String, String> = [
        ("title", title),
        ("title_en", title_en),
        ("artist", artist),
        ("artist_en", artist_en),
        ("year", year),
        ("style", style),
        ("tags", tags),
        ("source", source),
        ("source_url", source_url),
        ("license", license),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    respond(editor::update_meta(&state.db, &admin, id, editor::raw_meta(&mut fields)).await)
}

/// A new image for a painting (multipart: `id`, and `image` or `image_url`); re-embeds it.
#[server(endpoint = "admin/painting/image", input = leptos::server_fn::codec::MultipartFormData)]
pub async fn replace_painting_image(data: leptos::server_fn::codec::MultipartData) -> Result<PaintingEdit, AppError> {
    use crate::server::catalogue::editor;
    let (state, admin) = admin_context().await?;
    let multipart = data.into_inner().ok_or_else(|| AppError::invalid("the form could not be read"))?;
    let form = respond(editor::read_painting_form(multipart, state.config.max_image_bytes).await)?;
    let id: i64 = form.field("id").and_then(|id| id.parse().ok()).ok_or(AppError::NotFound)?;
    let image = respond(form.image())?;
    respond(editor::replace_image(&state.catalogue(), &state.fetcher, &admin, id, image).await)?;
    respond(editor::for_edit(&state.db, id).await)
}

/// Queues a job that embeds the whole catalogue again with the loaded model.
#[server(endpoint = "admin/jobs/reembed")]
pub async fn start_reembed() -> Result<String, AppError> {
    use crate::server::catalogue::import_jobs;
    let (state, admin) = admin_context().await?;
    let id = respond(import_jobs::create_reembed(&state.db, &admin).await)?;
    leptos_axum::redirect(&format!("/admin/jobs/{id}"));
    Ok(id.to_string())
}
