//! Beginning a transaction that stays correct when its caller is cancelled, and the read replica.
//!
//! sqlx 0.8.6 (and 0.9.0) counts a `BEGIN` only after the server has answered it. A future
//! dropped in between (a shopper closing the tab, a `select!`, a timeout) leaves the
//! connection inside a transaction that sqlx does not know about; the pool hands it to the next
//! caller, whose writes then sit uncommitted, holding their locks, until something else commits
//! or the connection closes (transact-rs/sqlx#4393, fixed upstream after 0.9.0). Running the
//! `BEGIN` in its own task means a cancelled caller only drops a finished `Transaction`, which
//! sqlx rolls back before the connection goes back to the pool.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// A streaming replica for lag-tolerant reads, used only while it answers: a probe every
/// `PROBE_EVERY` decides, so a replica that is down (or not up yet) sends those reads to the
/// primary instead of failing them, and a shop never fails to start because of its replica.
pub struct ReadReplica {
    pool: PgPool,
    answering: AtomicBool,
}

const PROBE_EVERY: Duration = Duration::from_secs(1);

impl ReadReplica {
    /// Connects lazily and starts probing; the probe stops when the replica is dropped.
    pub fn start(pool: PgPool) -> Arc<Self> {
        let replica = Arc::new(Self { pool, answering: AtomicBool::new(false) });
        let probed = Arc::downgrade(&replica);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            while let Some(replica) = probed.upgrade() {
                let answers = tokio::time::timeout(PROBE_EVERY, sqlx::query("SELECT 1").execute(&replica.pool))
                    .await
                    .is_ok_and(|probe| probe.is_ok());
                if replica.answering.swap(answers, Ordering::Relaxed) != answers {
                    if answers {
                        tracing::info!("the read replica answers: lag-tolerant reads go to it");
                    } else {
                        tracing::warn!("the read replica does not answer: lag-tolerant reads go to the primary");
                    }
                }
                drop(replica);
                every.tick().await;
            }
        });
        replica
    }

    /// The replica's pool while it answers.
    pub fn pool(&self) -> Option<&PgPool> {
        self.answering.load(Ordering::Relaxed).then_some(&self.pool)
    }
}
