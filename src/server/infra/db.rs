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

/// A streaming replica for lag-tolerant reads, used only while it answers and keeps up: a probe
/// every `PROBE_EVERY`, over a connection of its own, decides. A replica that is down, not up yet,
/// or more than `MAX_LAG_BYTES` of WAL behind what it has received (replay stuck or paused) sends
/// those reads to the primary; one that does not answer `DOWN_AFTER` probes in a row is down. A
/// shop never fails to start because of its replica.
pub struct ReadReplica {
    pool: PgPool,
    usable: AtomicBool,
}

const PROBE_EVERY: Duration = Duration::from_secs(1);
const DOWN_AFTER: u32 = 2;
const MAX_LAG_BYTES: i64 = 16 << 20;

impl ReadReplica {
    /// Starts probing through `probe` (a pool of one connection to the same replica); the probe
    /// stops when the replica is dropped.
    pub fn start(pool: PgPool, probe: PgPool) -> Arc<Self> {
        let replica = Arc::new(Self { pool, usable: AtomicBool::new(false) });
        let probed = Arc::downgrade(&replica);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            let mut failures = 0;
            while let Some(replica) = probed.upgrade() {
                let lag = tokio::time::timeout(
                    PROBE_EVERY,
                    sqlx::query_scalar::<_, Option<i64>>(
                        "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint",
                    )
                    .fetch_one(&probe),
                )
                .await;
                let usable = match lag {
                    Ok(Ok(lag)) => {
                        failures = 0;
                        lag.unwrap_or(0) <= MAX_LAG_BYTES
                    }
                    _ => {
                        failures += 1;
                        failures < DOWN_AFTER && replica.usable.load(Ordering::Relaxed)
                    }
                };
                if replica.usable.swap(usable, Ordering::Relaxed) != usable {
                    if usable {
                        tracing::info!("the read replica answers and keeps up: lag-tolerant reads go to it");
                    } else {
                        tracing::warn!("the read replica is down or behind: lag-tolerant reads go to the primary");
                    }
                }
                drop(replica);
                every.tick().await;
            }
        });
        replica
    }

    /// The replica's pool while it is usable.
    pub fn pool(&self) -> Option<&PgPool> {
        self.usable.load(Ordering::Relaxed).then_some(&self.pool)
    }
}
