//! Visitor identity: an opaque random id in an HttpOnly, SameSite=Lax cookie set by the server.
//! It is the only source of a visitor's id; request bodies and other headers are never trusted
//! for it.

use axum::extract::Request;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use uuid::Uuid;

use crate::error::AppError;

pub const VISITOR_COOKIE: &str = "artwall_visitor";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitorId(pub Uuid);

/// Whether the cookie must carry `Secure`; set from the public URL at start-up.
#[derive(Debug, Clone, Copy)]
pub struct SecureCookies(pub bool);

/// Paths that serve the same bytes to everyone and may sit in shared caches: they get no visitor
/// (a cookie minted on a cached response would be handed to every later visitor).
const SHARED_PATHS: &[&str] = &["/pkg/", "/media/", "/healthz", "/readyz", "/favicon.svg"];

/// Middleware: reads the visitor cookie, or mints a new id and sets the cookie on the response.
pub async fn visitor_cookie(secure: SecureCookies, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if SHARED_PATHS.iter().any(|shared| path.starts_with(shared)) {
        return next.run(request).await;
    }
    let existing = CookieJar::from_headers(request.headers())
        .get(VISITOR_COOKIE)
        .and_then(|cookie| Uuid::parse_str(cookie.value()).ok())
        // Only ids we could have minted: v4 UUIDs.
        .filter(|id| id.get_version_num() == 4);
    let (visitor, is_new) = match existing {
        Some(id) => (VisitorId(id), false),
        None => (VisitorId(Uuid::new_v4()), true),
    };
    request.extensions_mut().insert(visitor);
    let mut response = next.run(request).await;
    if is_new {
        let cookie = Cookie::build((VISITOR_COOKIE, visitor.0.to_string()))
            .path("/")
            .http_only(true)
            .secure(secure.0)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(400))
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// The current visitor inside a server function or page render.
pub fn current_visitor() -> Result<VisitorId, AppError> {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<VisitorId>().copied())
        .ok_or_else(|| {
            tracing::error!("visitor middleware missing from the router");
            AppError::Internal
        })
}
