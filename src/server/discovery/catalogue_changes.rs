//! Keeps what each instance computed from the published catalogue (the feed's landmarks, the
//! taste learner's basis) in step with it on every instance. A trigger on `paintings` notifies
//! `catalogue_changed` when a transaction adds, removes, publishes, hides or re-embeds paintings
//! (migration `catalogue_changed`); each instance listens and drops both. An import commits each
//! painting on its own, so drops come at most once per `settle`: the figures are not recomputed
//! for every painting of a long import. Their TTL stays the backstop for notices missed while the
//! listening connection was being re-established.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::server::discovery::feed::Landmarks;
use crate::server::discovery::taste_worker::TasteLearner;
use crate::server::error::ServerResult;

const CHANNEL: &str = "catalogue_changed";
/// How long `run` waits after a change for the rest of its burst, in the shop.
pub const SETTLE: Duration = Duration::from_secs(5);

/// What an instance keeps that the catalogue's changes make stale.
#[derive(Clone)]
pub struct CatalogueCaches {
    pub landmarks: Arc<Landmarks>,
    pub learner: Arc<TasteLearner>,
}

impl CatalogueCaches {
    async fn forget(&self) {
        self.landmarks.forget().await;
        self.learner.bases().forget().await;
    }
}

/// A connection listening for changes; once this returns, no later change is missed.
pub async fn listen(db: &PgPool) -> ServerResult<PgListener> {
    let mut listener = PgListener::connect_with(db).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Drops `caches` after each change (or burst of changes) until `shutdown`.
pub async fn run(mut listener: PgListener, caches: CatalogueCaches, settle: Duration, shutdown: CancellationToken) {
    // Notices are read as they come and counted as one while a drop waits (a permit of `Notify`).
    let changed = Notify::new();
    let read = async {
        while let Some(received) = shutdown.run_until_cancelled(listener.try_recv()).await {
            match received {
                Ok(Some(_)) => {}
                // The connection was lost (the next call re-establishes it): changes may be missed.
                Ok(None) => tracing::warn!("the catalogue listener lost its connection; dropping the caches"),
                Err(error) => {
                    tracing::warn!(%error, "the catalogue listener failed; retrying");
                    shutdown.run_until_cancelled(tokio::time::sleep(Duration::from_secs(1))).await;
                }
            }
            changed.notify_one();
        }
    };
    let forget = async {
        while shutdown.run_until_cancelled(changed.notified()).await.is_some() {
            if shutdown.run_until_cancelled(tokio::time::sleep(settle)).await.is_none() {
                break;
            }
            caches.forget().await;
            tracing::debug!("catalogue changed: landmarks and taste basis dropped");
        }
    };
    tokio::join!(read, forget);
}
