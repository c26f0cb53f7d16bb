//! Beginning a transaction that stays correct when its caller is cancelled.
//!
//! sqlx 0.8.6 (and 0.9.0) counts a `BEGIN` only after the server has answered it. A future
//! dropped in between (a shopper closing the tab, a `select!`, a timeout) leaves the
//! connection inside a transaction that sqlx does not know about; the pool hands it to the next
//! caller, whose writes then sit uncommitted, holding their locks, until something else commits
//! or the connection closes (transact-rs/sqlx#4393, fixed upstream after 0.9.0). Running the
//! `BEGIN` in its own task means a cancelled caller only drops a finished `Transaction`, which
//! sqlx rolls back before the connection goes back to the pool.

use std::future::Future;

use sqlx::{PgPool, Postgres, Transaction};

pub trait BeginCancelSafe {
    /// `Pool::begin`, safe to cancel at any point.
    fn begin_cancel_safe(&self) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send;
}

impl BeginCancelSafe for PgPool {
    async fn begin_cancel_safe(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let pool = self.clone();
        #[allow(clippy::disallowed_methods)] // the one place allowed to call it
        let begin = tokio::spawn(async move { pool.begin().await });
        match begin.await {
            Ok(begun) => begun,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            // Only a runtime shutting down aborts the task.
            Err(_) => Err(sqlx::Error::WorkerCrashed),
        }
    }
}
