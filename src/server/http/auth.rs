//! Admin accounts: argon2id password hashes, server-side sessions, and the one guard that every
//! admin route and server function calls.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::AppError;
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::locale::message;
use crate::server::infra::db::BeginCancelSafe;

pub const ADMIN_COOKIE: &str = "artwall_admin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    pub email: String,
}

/// An email address, trimmed and lower-cased, with one `@` between non-empty parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEmail(String);

impl AdminEmail {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.') && !domain.contains('@'));
        if valid {
            Ok(Self(email))
        } else {
            Err(AppError::invalid(message!(sign_in.bad_email)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn hash_password(password: &str) -> ServerResult<String> {
    if password.chars().count() < 10 {
        return Err(AppError::invalid(message!(sign_in.short_password)).into());
    }
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|hash| hash.to_string())
        .map_err(|e| ServerError::PasswordHash(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Creates the admin, or replaces their password hash. A new password signs them out of every
/// session (the same hash again, as the bootstrap admin sets at each start, does not).
pub async fn upsert_admin(db: &PgPool, email: &AdminEmail, password_hash: &str) -> ServerResult<i64> {
    PasswordHash::new(password_hash)
        .map_err(|e| ServerError::PasswordHash(format!("not an argon2 PHC string: {e}")))?;
    let (id,): (i64,) = sqlx::query_as(
        "WITH changed AS (
             SELECT id FROM admin_users WHERE email = $1 AND password_hash <> $2
         ), revoked AS (
             UPDATE admin_sessions SET revoked_at = now() WHERE admin_id IN (SELECT id FROM changed) AND revoked_at IS NULL
         )
         INSERT INTO admin_users (email, password_hash) VALUES ($1, $2)
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash RETURNING id",
    )
    .bind(email.as_str())
    .bind(password_hash)
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// A password for the first admin: 20 letters and digits (about 119 bits), in groups of five so
/// that it can be read off a terminal.
pub fn generate_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    let raw = Alphanumeric.sample_string(&mut rand::rng(), 20);
    raw.as_bytes().chunks(5).map(|group| std::str::from_utf8(group).expect("ASCII")).collect::<Vec<_>>().join("-")
}

/// Creates `email` as the shop's first admin, unless there is an admin already (then `None`).
pub async fn create_first_admin(db: &PgPool, email: &AdminEmail, password_hash: &str) -> ServerResult<Option<i64>> {
    let mut tx = db.begin_cancel_safe().await?;
    // Two first runs at once must not both create an admin.
    sqlx::query("LOCK TABLE admin_users IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
    let id: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO admin_users (email, password_hash) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM admin_users) RETURNING id",
    )
    .bind(email.as_str())
    .bind(password_hash)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id.map(|(id,)| id))
}

/// Checks credentials and opens a session; returns the raw token for the cookie.
pub async fn login(db: &PgPool, email: &str, password: &str, session_hours: i64) -> ServerResult<String> {
    let wrong = || ServerError::App(AppError::invalid(message!(sign_in.wrong)));
    let email = AdminEmail::parse(email).map_err(|_| wrong())?;
    let row: Option<(i64, String)> = sqlx::query_as("SELECT id, password_hash FROM admin_users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(db)
        .await?;
    // Verify against a dummy hash when the user is unknown, so timing does not reveal accounts.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not-a-real-password").expect("hashing a constant"));
    let (admin_id, phc) = row.clone().unwrap_or((0, dummy.clone()));
    let password = password.to_owned();
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await?;
    if row.is_none() || !verified {
        return Err(wrong());
    }
    let mut token = [0u8; 32];
    rand::rng().fill_bytes(&mut token);
    let token = hex::encode(token);
    sqlx::query("INSERT INTO admin_sessions (token_hash, admin_id, expires_at) VALUES ($1, $2, now() + make_interval(hours => $3))")
        .bind(token_hash(&token))
        .bind(admin_id)
        .bind(session_hours as i32)
        .execute(db)
        .await?;
    tracing::info!(admin_id, "admin signed in");
    Ok(token)
}

pub async fn logout(db: &PgPool, headers: &HeaderMap) -> ServerResult<()> {
    if let Some(token) = CookieJar::from_headers(headers).get(ADMIN_COOKIE) {
        sqlx::query("UPDATE admin_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash(token.value()))
            .execute(db)
            .await?;
    }
    Ok(())
}

/// The admin guard: the signed-in admin, or `Unauthorized`. A session unused for `idle_minutes`
/// has ended; each use starts that wait again.
pub async fn require_admin(db: &PgPool, headers: &HeaderMap, idle_minutes: i64) -> ServerResult<Admin> {
    let jar = CookieJar::from_headers(headers);
    let token = jar.get(ADMIN_COOKIE).ok_or(AppError::Unauthorized)?;
    let admin: Option<(i64, String)> = sqlx::query_as(
        "UPDATE admin_sessions s SET last_seen_at = now()
         FROM admin_users u
         WHERE u.id = s.admin_id AND s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
           AND s.last_seen_at > now() - make_interval(mins => $2)
         RETURNING u.id, u.email",
    )
    .bind(token_hash(token.value()))
    .bind(i32::try_from(idle_minutes).unwrap_or(i32::MAX))
    .fetch_optional(db)
    .await?;
    let (id, email) = admin.ok_or(AppError::Unauthorized)?;
    Ok(Admin { id, email })
}

/// Retention: deletes sessions that ended (expired or revoked) more than a day ago.
pub async fn delete_ended_sessions(db: &PgPool) -> ServerResult<u64> {
    let deleted =
        sqlx::query("DELETE FROM admin_sessions WHERE least(expires_at, revoked_at) < now() - interval '1 day'")
            .execute(db)
            .await?;
    Ok(deleted.rows_affected())
}

/// Strict same-site: admin actions are never triggered from another site.
pub fn session_cookie(token: String, secure: bool, hours: i64) -> Cookie<'static> {
    Cookie::build((ADMIN_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::hours(hours))
        .build()
}

pub fn cleared_session_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build((ADMIN_COOKIE, ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::ZERO)
        .build()
}

/// Adds a Set-Cookie header to the response of the current server function.
pub fn set_response_cookie(cookie: &Cookie<'_>) {
    let options = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    if let (Some(options), Ok(value)) = (options, axum::http::HeaderValue::from_str(&cookie.to_string())) {
        options.append_header(axum::http::header::SET_COOKIE, value);
    }
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(AdminEmail::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in ["", "ada", "@example.com", "ada@", "ada@localhost", "a@b@c.d"] {
            assert!(AdminEmail::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generated_passwords_are_long_random_and_accepted() {
        let (a, b) = (generate_password(), generate_password());
        assert_ne!(a, b);
        assert_eq!(a.len(), 23, "{a}");
        assert!(a.split('-').all(|group| group.len() == 5 && group.chars().all(|c| c.is_ascii_alphanumeric())), "{a}");
        assert!(hash_password(&a).is_ok());
    }

    #[test]
    fn passwords_hash_and_verify() {
        assert!(hash_password("short").is_err());
        // Exactly at the minimum, counted in characters, not bytes.
        assert!(hash_password("ninechars").is_err());
        assert!(hash_password("tenchars!!").is_ok());
        assert!(hash_password("ééééééééé").is_err(), "nine characters in eighteen bytes");
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
    }
}
