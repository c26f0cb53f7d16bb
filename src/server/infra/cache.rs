//! A value computed from the database and kept by each process for a while. One caller at a time
//! computes it while the others wait for that result, and `forget` drops it when what it came
//! from has changed (on every instance: `discovery::catalogue_changes`).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, RwLock};

use crate::server::error::ServerResult;

pub struct Cached<T> {
    ttl: Duration,
    value: RwLock<Option<(Instant, Arc<T>)>>,
    computing: Mutex<()>,
    /// Raised by each `forget`: a value computed across one is already stale, so it is not kept.
    forgotten: AtomicU64,
}

impl<T> Cached<T> {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, value: RwLock::new(None), computing: Mutex::new(()), forgotten: AtomicU64::new(0) }
    }

    /// The kept value if younger than the TTL, else `compute`'s (kept unless forgotten meanwhile).
    pub async fn get_or_compute<F, Fut>(&self, compute: F) -> ServerResult<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServerResult<T>>,
    {
        if let Some(value) = self.fresh().await {
            return Ok(value);
        }
        let _computing = self.computing.lock().await;
        // Another caller may have computed it while this one waited.
        if let Some(value) = self.fresh().await {
            return Ok(value);
        }
        let generation = self.forgotten.load(Ordering::SeqCst);
        let value = Arc::new(compute().await?);
        let mut kept = self.value.write().await;
        if self.forgotten.load(Ordering::SeqCst) == generation {
            *kept = Some((Instant::now(), value.clone()));
        }
        Ok(value)
    }

    pub async fn forget(&self) {
        let mut kept = self.value.write().await;
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        *kept = None;
    }

    pub async fn is_kept(&self) -> bool {
        self.fresh().await.is_some()
    }

    async fn fresh(&self) -> Option<Arc<T>> {
        let kept = self.value.read().await;
        kept.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, value)| value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_computation_is_shared_and_a_forget_drops_it_even_mid_computation() {
        let cache = Arc::new(Cached::<u32>::new(Duration::from_secs(60)));
        let computed = Arc::new(AtomicU64::new(0));
        let get = |cache: Arc<Cached<u32>>, computed: Arc<AtomicU64>| async move {
            cache
                .get_or_compute(|| async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(computed.fetch_add(1, Ordering::SeqCst) as u32)
                })
                .await
                .unwrap()
        };
        let both = tokio::join!(get(cache.clone(), computed.clone()), get(cache.clone(), computed.clone()));
        assert_eq!((*both.0, *both.1), (0, 0), "the second caller waited for the first one's value");
        assert!(cache.is_kept().await);

        cache.forget().await;
        assert!(!cache.is_kept().await);
        // Forgotten while computing: that value is returned but not kept.
        let computing = tokio::spawn(get(cache.clone(), computed.clone()));
        tokio::time::sleep(Duration::from_millis(5)).await;
        cache.forget().await;
        assert_eq!(*computing.await.unwrap(), 1);
        assert!(!cache.is_kept().await);
        assert_eq!(*get(cache.clone(), computed.clone()).await, 2);
        assert!(cache.is_kept().await);
    }

    #[tokio::test]
    async fn a_value_older_than_the_ttl_is_computed_again() {
        let cache = Cached::<u32>::new(Duration::ZERO);
        cache.get_or_compute(|| async { Ok(1) }).await.unwrap();
        assert!(!cache.is_kept().await);
        assert_eq!(*cache.get_or_compute(|| async { Ok(2) }).await.unwrap(), 2);
    }
}
