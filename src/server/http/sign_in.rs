//! What slows down guessing an admin's password, kept in Postgres so that it holds in total across
//! every instance of the shop:
//! - a limit on sign-in attempts per network and minute (`admit`);
//! - the growing delay after failures: each failure in a row from a network, or for an account,
//!   doubles the wait before the next answer (nothing for the first, then 0.25 s, 0.5 s, 1 s ... at
//!   most 8 s). A success clears both; a day without failures forgets them.
//!
//! Owns `sign_in_attempts` and `sign_in_failures`.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::server::error::ServerResult;
use crate::server::http::limits::network_of;

/// The rows a sign-in from `ip` for `email` counts against. Emails as sign-in matches them
/// (trimmed, lowercase), and only their digest: a mistyped password's email is nobody's business.
fn keys(ip: IpAddr, email: &str) -> [String; 2] {
    let account = hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()));
    [format!("network:{}", network_of(ip)), format!("account:{account}")]
}

/// Counts a sign-in attempt from `ip` against `per_minute` for its network, in fixed one-minute
/// windows. None when it may go on, else how long until the window ends.
pub async fn admit(db: &PgPool, ip: IpAddr, per_minute: u32) -> ServerResult<Option<Duration>> {
    let (attempts, seconds_left): (i32, f64) = sqlx::query_as(
        "INSERT INTO sign_in_attempts AS a (network) VALUES ($1)
         ON CONFLICT (network) DO UPDATE SET
             attempts = CASE WHEN a.window_started_at > now() - interval '1 minute' THEN a.attempts + 1 ELSE 1 END,
             window_started_at = CASE WHEN a.window_started_at > now() - interval '1 minute'
                                      THEN a.window_started_at ELSE now() END
         RETURNING attempts, extract(epoch FROM window_started_at + interval '1 minute' - now())::float8",
    )
    .bind(network_of(ip).to_string())
    .fetch_one(db)
    .await?;
    // At least one a minute, as the in-memory limit in front of this one allows.
    Ok((attempts as u32 > per_minute.max(1)).then(|| Duration::from_secs_f64(seconds_left.max(0.0))))
}

/// The wait for `failures` failures in a row.
pub fn delay_after(failures: i32) -> Duration {
    match failures {
        ..=1 => Duration::ZERO,
        n => Duration::from_millis(250u64 << (n - 2).min(5)),
    }
}

/// The wait before answering a sign-in from `ip` for `email`.
pub async fn delay(db: &PgPool, ip: IpAddr, email: &str) -> ServerResult<Duration> {
    let failures: Option<i32> = sqlx::query_scalar(
        "SELECT max(failures) FROM sign_in_failures WHERE key = ANY($1) AND last_failed_at > now() - interval '1 day'",
    )
    .bind(&keys(ip, email)[..])
    .fetch_one(db)
    .await?;
    Ok(delay_after(failures.unwrap_or(0)))
}

pub async fn failed(db: &PgPool, ip: IpAddr, email: &str) -> ServerResult<()> {
    sqlx::query(
        "INSERT INTO sign_in_failures (key, failures) SELECT unnest($1::text[]), 1
         ON CONFLICT (key) DO UPDATE SET last_failed_at = now(),
             failures = CASE WHEN sign_in_failures.last_failed_at > now() - interval '1 day'
                             THEN sign_in_failures.failures + 1 ELSE 1 END",
    )
    .bind(&keys(ip, email)[..])
    .execute(db)
    .await?;
    Ok(())
}

pub async fn succeeded(db: &PgPool, ip: IpAddr, email: &str) -> ServerResult<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE key = ANY($1)").bind(&keys(ip, email)[..]).execute(db).await?;
    Ok(())
}

/// Forgets failures a day old (retention).
pub async fn forget_old_failures(db: &PgPool) -> ServerResult<u64> {
    let result =
        sqlx::query("DELETE FROM sign_in_failures WHERE last_failed_at < now() - interval '1 day'").execute(db).await?;
    Ok(result.rows_affected())
}

/// Forgets the attempt counts of minutes that have ended (retention).
pub async fn forget_ended_minutes(db: &PgPool) -> ServerResult<u64> {
    let result = sqlx::query("DELETE FROM sign_in_attempts WHERE window_started_at < now() - interval '1 minute'")
        .execute(db)
        .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_the_second_failure_and_stops_at_eight_seconds() {
        let waits: Vec<u128> = (0..9).map(|n| delay_after(n).as_millis()).collect();
        assert_eq!(waits, [0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn a_network_and_an_account_are_keys_and_the_email_is_not_kept_in_clear() {
        let [network, account] = keys("2001:db8::1".parse().unwrap(), " Ada@Example.com ");
        assert_eq!(network, "network:2001:db8::");
        assert_eq!(account, keys("203.0.113.7".parse().unwrap(), "ada@example.com")[1]);
        assert!(!account.contains("ada"));
    }
}
