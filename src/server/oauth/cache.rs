//! The OAuth token cache: one token per (authority, tenant, client, scope), reused
//! until shortly before it expires, refreshed by exactly one caller at a
//! time however many senders ask at once.

use crate::domain::Secret;
use crate::server::clock::Clock;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub authority: String,
    pub tenant: String,
    pub client_id: String,
    /// Exchange Online's or Graph's: the same app gets one token for each.
    pub scope: String,
}

/// A token as the endpoint returned it.
pub struct FetchedToken {
    pub access_token: Secret,
    pub expires_in: Duration,
    /// Read from the deployment's shared token (another node fetched it).
    pub shared: bool,
}

#[derive(Clone)]
struct CachedToken {
    access_token: Secret,
    expires_at: OffsetDateTime,
    lifetime: Duration,
}

/// Where a token came from, for the logs and the Test Connection ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Fetched,
    /// The deployment's token, which another node fetched.
    Shared,
}

pub struct TokenCache {
    clock: Arc<dyn Clock>,
    /// Each key has its own async lock: holding it while fetching is what
    /// makes every other caller for that key wait for the one refresh.
    slots: Mutex<HashMap<CacheKey, Arc<tokio::sync::Mutex<Option<CachedToken>>>>>,
}

impl TokenCache {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        TokenCache {
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Refresh when less than a tenth of the lifetime, and at least five
    /// minutes, is left: Entra tokens live 60-90 minutes, so this refreshes
    /// well before Exchange would refuse one.
    pub fn refresh_margin(lifetime: Duration) -> Duration {
        let tenth: Duration = lifetime / 10;
        tenth.max(Duration::minutes(5)).min(lifetime / 2)
    }

    fn slot(&self, key: &CacheKey) -> Arc<tokio::sync::Mutex<Option<CachedToken>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }

    /// The cached token for `key`, or a new one from `fetch` when there is
    /// none or it is about to expire. A failed fetch leaves the cache as it was.
    pub async fn get<F, Fut, E>(&self, key: &CacheKey, fetch: F) -> Result<(Secret, Origin), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, E>>,
    {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        let now = self.clock.now();
        if let Some(token) = cached.as_ref()
            && token.expires_at - Self::refresh_margin(token.lifetime) > now
        {
            return Ok((token.access_token.clone(), Origin::Cache));
        }
        let fetched = fetch().await?;
        let lifetime = fetched.expires_in.max(Duration::ZERO);
        *cached = Some(CachedToken {
            access_token: fetched.access_token.clone(),
            expires_at: self.clock.now() + lifetime,
            lifetime,
        });
        let origin = if fetched.shared {
            Origin::Shared
        } else {
            Origin::Fetched
        };
        Ok((fetched.access_token, origin))
    }

    /// When the token expires, if one is cached (for the log line that ISE
    /// writes: "Putting value in OAuth Cache (accessToken, expiry)").
    pub async fn expiry(&self, key: &CacheKey) -> Option<OffsetDateTime> {
        self.slot(key).lock().await.as_ref().map(|t| t.expires_at)
    }

    /// Drops the token, so the next caller fetches a new one (after SMTP
    /// refused a token that the cache still considered valid).
    pub async fn invalidate(&self, key: &CacheKey) {
        *self.slot(key).lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(tenant: &str) -> CacheKey {
        CacheKey {
            authority: "https://login.microsoftonline.com".into(),
            tenant: tenant.into(),
            client_id: "1b2c3d4e-0000-4000-8000-00000000abcd".into(),
            scope: "https://outlook.office365.com/.default".into(),
        }
    }

    fn token(n: usize) -> Result<FetchedToken, String> {
        Ok(FetchedToken {
            access_token: Secret::new(format!("token-{n}")),
            expires_in: Duration::seconds(3599),
            shared: false,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hundred_concurrent_callers_cause_one_fetch() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let cache = Arc::new(TokenCache::new(clock));
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(&key("contoso"), || async {
                        let n = fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        token(n)
                    })
                    .await
                    .unwrap()
                    .0
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().expose(), "token-0");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_early_and_per_tenant() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let cache = TokenCache::new(clock.clone());
        let count = AtomicUsize::new(0);
        let fetch = || async { token(count.fetch_add(1, Ordering::SeqCst)) };
        assert_eq!(
            cache.get(&key("a"), fetch).await.unwrap().1,
            Origin::Fetched
        );
        clock.advance(Duration::minutes(50));
        let (reused, origin) = cache.get(&key("a"), fetch).await.unwrap();
        assert_eq!((reused.expose(), origin), ("token-0", Origin::Cache));
        // 59:59 lifetime: with under 6 minutes left, the next caller refreshes.
        clock.advance(Duration::minutes(4));
        let (fresh, origin) = cache.get(&key("a"), fetch).await.unwrap();
        assert_eq!((fresh.expose(), origin), ("token-1", Origin::Fetched));
        assert_eq!(
            cache.get(&key("b"), fetch).await.unwrap().0.expose(),
            "token-2",
            "another tenant, another token"
        );
    }

    #[tokio::test]
    async fn a_failed_fetch_or_an_invalidation_leaves_no_stale_state() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let cache = TokenCache::new(clock);
        let failed: Result<_, String> = cache
            .get(&key("a"), || async { Err("AADSTS7000215".to_string()) })
            .await;
        assert!(failed.is_err());
        assert!(cache.expiry(&key("a")).await.is_none());
        cache.get(&key("a"), || async { token(7) }).await.unwrap();
        assert!(cache.expiry(&key("a")).await.is_some());
        cache.invalidate(&key("a")).await;
        let (again, origin) = cache.get(&key("a"), || async { token(8) }).await.unwrap();
        assert_eq!((again.expose(), origin), ("token-8", Origin::Fetched));
    }
}
