//! Visitor identity: a random id in an HttpOnly, SameSite=Lax cookie that the server signs (HMAC
//! with `ARTWALL_COOKIE_KEYS`). It is the only source of a visitor's id; request bodies and other
//! headers are never trusted for it, and a cookie the server did not sign is replaced by a new
//! visitor. The id is a bearer credential: it never goes into a URL, a storage key, a log line or
//! a third party's metadata.
//!
//! This module owns `legacy_visitors`: the visitors from before cookies were signed, whose
//! unsigned cookie is exchanged for a signed one (for a few minutes after the first exchange, and
//! within 90 days of the migration).

use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use cookie::Key;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::AppError;
use crate::server::config::Config;
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::locale::message;
use crate::server::state::AppState;

pub const VISITOR_COOKIE: &str = "artwall_visitor";

/// A key shorter than this is refused at start-up (HMAC-SHA256 wants 256 bits of secret).
pub const MIN_COOKIE_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisitorId(pub Uuid);

/// The keys visitor cookies are signed with: the first signs, every one verifies, so a key can be
/// rolled by putting the new one first and dropping the old one once its cookies have been
/// re-signed (each visitor's next request re-signs theirs).
pub struct VisitorKeys {
    keys: Vec<Key>,
}

impl VisitorKeys {
    pub fn from_config(config: &Config) -> ServerResult<Self> {
        let secrets: Vec<&str> =
            config.cookie_keys.iter().map(|key| key.trim()).filter(|key| !key.is_empty()).collect();
        if secrets.is_empty() || secrets.iter().any(|key| key.len() < MIN_COOKIE_KEY_BYTES) {
            return Err(ServerError::Config(format!(
                "ARTWALL_COOKIE_KEYS must hold one or more comma-separated keys of at least {MIN_COOKIE_KEY_BYTES} \
                 bytes (e.g. `openssl rand -base64 48`); the first signs visitor cookies"
            )));
        }
        Ok(Self { keys: secrets.iter().map(|secret| Key::derive_from(secret.as_bytes())).collect() })
    }

    /// The cookie value that names `visitor`, signed with the current key.
    pub fn sign(&self, visitor: VisitorId) -> String {
        let mut jar = cookie::CookieJar::new();
        jar.signed_mut(&self.keys[0]).add(Cookie::new(VISITOR_COOKIE, visitor.0.to_string()));
        jar.get(VISITOR_COOKIE).expect("just added").value().to_owned()
    }

    /// The visitor a cookie value names, if one of our keys signed it, and whether that key is
    /// the current one.
    fn verify(&self, value: &str) -> Option<(VisitorId, bool)> {
        let jar = cookie::CookieJar::new();
        self.keys.iter().enumerate().find_map(|(index, key)| {
            let verified = jar.signed(key).verify(Cookie::new(VISITOR_COOKIE, value.to_owned()))?;
            let id = minted_id(verified.value())?;
            Some((VisitorId(id), index == 0))
        })
    }
}

/// Only ids we could have minted: v4 UUIDs.
fn minted_id(value: &str) -> Option<Uuid> {
    Uuid::parse_str(value).ok().filter(|id| id.get_version_num() == 4)
}

/// Paths that serve the same bytes to everyone and may sit in shared caches: they get no visitor
/// (a cookie minted on a cached response would be handed to every later visitor).
const SHARED_PATHS: &[&str] = &["/pkg/", "/media/", "/healthz", "/readyz", "/favicon.svg"];

/// Middleware: reads the visitor cookie, or mints a new id and sets the cookie on the response.
/// A write from a browser without an issued cookie is refused (400, with a cookie to retry with):
/// otherwise each such request would mint, and store data for, a visitor nobody holds.
pub async fn visitor_cookie(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if SHARED_PATHS.iter().any(|shared| path.starts_with(shared)) {
        return next.run(request).await;
    }
    let needs_issued = needs_issued_visitor(request.method(), path);
    let presented = CookieJar::from_headers(request.headers()).get(VISITOR_COOKIE).map(|c| c.value().to_owned());
    let identified = match presented {
        Some(value) => match identify(&state, &value).await {
            Ok(identified) => identified,
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let (visitor, set_cookie) = identified.unwrap_or_else(|| (VisitorId(Uuid::new_v4()), true));
    let mut response = if identified.is_none() && needs_issued {
        AppError::invalid(message!(visitor.needs_cookie)).into_response()
    } else {
        request.extensions_mut().insert(visitor);
        next.run(request).await
    };
    if set_cookie {
        let cookie = Cookie::build((VISITOR_COOKIE, state.visitor_keys.sign(visitor)))
            .path("/")
            .http_only(true)
            .secure(state.config.cookies_secure())
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(400))
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// Whether a request stores something for its visitor, so needs one the server issued: every
/// write except Stripe's webhook (signed by Stripe) and the admin API (its own session).
fn needs_issued_visitor(method: &Method, path: &str) -> bool {
    let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    write && !path.starts_with("/api/webhooks/") && !path.starts_with("/api/admin/")
}

/// The visitor a presented cookie names, and whether to re-issue it (signed with an older key),
/// or None when nobody signed it: a new visitor, unless it is the unsigned cookie of a visitor
/// from before signing, still open for exchange (then re-issued signed).
async fn identify(state: &AppState, value: &str) -> ServerResult<Option<(VisitorId, bool)>> {
    if let Some((visitor, current_key)) = state.visitor_keys.verify(value) {
        return Ok(Some((visitor, !current_key)));
    }
    if let Some(id) = minted_id(value) {
        if claim_legacy(&state.db, id).await? {
            tracing::info!("an unsigned visitor cookie from before signing was exchanged for a signed one");
            return Ok(Some((VisitorId(id), true)));
        }
    }
    Ok(None)
}

/// How long after its first exchange an unsigned id is still exchanged: long enough for a second
/// tab or a response that never arrived, short enough that a leaked copy is soon useless.
const LEGACY_EXCHANGE_GRACE_MINUTES: i32 = 10;
/// Ids from before signing that nobody has come back for stop working this long after the
/// migration listed them.
const LEGACY_EXCHANGE_DAYS: i32 = 90;

/// Whether `id` is a visitor from before signing whose unsigned cookie may still be exchanged.
/// The first exchange starts the grace period; after it, or after the deadline, never again.
async fn claim_legacy(db: &PgPool, id: Uuid) -> ServerResult<bool> {
    let claimed = sqlx::query(
        "UPDATE legacy_visitors SET claimed_at = coalesce(claimed_at, now())
         WHERE visitor_id = $1
           AND listed_at > now() - make_interval(days => $2)
           AND (claimed_at IS NULL OR claimed_at > now() - make_interval(mins => $3))",
    )
    .bind(id)
    .bind(LEGACY_EXCHANGE_DAYS)
    .bind(LEGACY_EXCHANGE_GRACE_MINUTES)
    .execute(db)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Retention: drops the visitors from before signing whose exchange has closed for good.
pub async fn forget_closed_legacy_visitors(db: &PgPool) -> ServerResult<u64> {
    let deleted = sqlx::query(
        "DELETE FROM legacy_visitors WHERE listed_at < now() - make_interval(days => $1)
            OR claimed_at < now() - make_interval(mins => $2)",
    )
    .bind(LEGACY_EXCHANGE_DAYS)
    .bind(LEGACY_EXCHANGE_GRACE_MINUTES)
    .execute(db)
    .await?;
    Ok(deleted.rows_affected())
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn keys(value: &str) -> ServerResult<VisitorKeys> {
        let cli = crate::server::config::Cli::try_parse_from([
            "artwall",
            "--database-url",
            "postgres://unused",
            "--cookie-keys",
            value,
        ]);
        VisitorKeys::from_config(&cli.unwrap().config)
    }

    #[test]
    fn cookie_keys_must_each_be_32_bytes_and_blank_entries_are_dropped() {
        let (exact, short) = ("k".repeat(MIN_COOKIE_KEY_BYTES), "k".repeat(MIN_COOKIE_KEY_BYTES - 1));
        assert!(keys(&exact).is_ok(), "exactly 32 bytes");
        assert!(keys(&short).is_err(), "31 bytes");
        assert!(keys(&format!("{exact},{short}")).is_err(), "every key, not only the first");
        assert!(keys(&format!("{short},{exact}")).is_err());
        assert_eq!(keys(&format!("{exact}, ,")).unwrap().keys.len(), 1, "blank entries are dropped");
        assert!(keys(" , ").is_err(), "no key at all");
    }
}
