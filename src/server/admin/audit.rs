//! The audit log: every admin action, who did it, when, and the state before and after.

use serde_json::Value;

use crate::server::error::ServerResult;
use crate::server::http::auth::Admin;

/// Records one admin action, in the caller's transaction where there is one, so that the log
/// and the change land together or not at all.
pub async fn record<'e, E>(
    db: E,
    admin: &Admin,
    action: &str,
    subject: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> ServerResult<()>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query("INSERT INTO audit_log (admin_id, action, subject, before, after) VALUES ($1, $2, $3, $4, $5)")
        .bind(admin.id)
        .bind(action)
        .bind(subject)
        .bind(before)
        .bind(after)
        .execute(db)
        .await?;
    Ok(())
}
