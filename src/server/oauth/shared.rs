//! One OAuth token for the whole deployment. The node that needs a new one
//! takes the refresh lease, asks the token endpoint and seals the token in
//! the vault; the other nodes read it there instead of asking again. Each
//! node still keeps it in its own cache (`cache::TokenCache`), so a message
//! costs no database read. Trouble with the database never stops mail: the
//! node then asks the endpoint itself.

use super::cache::{CacheKey, FetchedToken, TokenCache};
use crate::domain::Secret;
use crate::server::AppState;
use crate::server::db;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::Duration;

pub const PURPOSE: &str = "oauth.shared_token";
/// How long one node may take to refresh before another asks too.
const REFRESH_LEASE: Duration = Duration::from_secs(30);
/// How often a node waiting for another's refresh looks again.
const POLL: Duration = Duration::from_millis(200);

#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    expires_at_ms: i64,
    lifetime_ms: i64,
}

fn record_id(key: &CacheKey) -> String {
    let mut digest = Sha256::new();
    for part in [&key.authority, &key.tenant, &key.client_id, &key.scope] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    hex::encode(digest.finalize())
}

/// The deployment's token for `key` when it is still good, else a new one
/// from `fetch` (called at most once), which is then shared.
pub async fn obtain<F, Fut, E>(
    state: &AppState,
    key: &CacheKey,
    fetch: F,
) -> Result<FetchedToken, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<FetchedToken, E>>,
{
    let id = record_id(key);
    let job = format!("token-refresh:{id}");
    let owner = state.config.instance.as_str();
    let give_up = tokio::time::Instant::now() + REFRESH_LEASE;
    let refreshing = loop {
        if let Some(token) = stored(state, &id).await {
            return Ok(token);
        }
        let now = state.now_ms();
        let until = now + REFRESH_LEASE.as_millis() as i64;
        match db::deployment::take_lease(&state.db, &job, owner, now, until).await {
            // Another node may have stored one between the read and the lease.
            Ok(true) => match stored(state, &id).await {
                Some(token) => {
                    release(state, &job, owner).await;
                    return Ok(token);
                }
                None => break true,
            },
            Ok(false) if tokio::time::Instant::now() < give_up => {
                tokio::time::sleep(POLL).await;
            }
            // The node refreshing has not finished in time: ask too.
            Ok(false) => break false,
            Err(e) => {
                tracing::warn!(target: "smtp", "could not coordinate the OAuth token with the other nodes: {e}");
                break false;
            }
        }
    };
    let fetched = fetch().await;
    if let Ok(token) = &fetched {
        store(state, &id, token).await;
    }
    if refreshing {
        release(state, &job, owner).await;
    }
    fetched
}

/// Forgets the deployment's token when it is `refused` (the SMTP server no
/// longer accepts it), so the next node to need one asks for a new one.
pub async fn forget(state: &AppState, key: &CacheKey, refused: &Secret) {
    let id = record_id(key);
    if read(state, &id)
        .await
        .is_some_and(|stored| stored.access_token == refused.expose())
        && let Err(e) = state.vault.delete(PURPOSE, &id).await
    {
        tracing::warn!(target: "smtp", "could not forget the deployment's OAuth token: {e}");
    }
}

async fn read(state: &AppState, id: &str) -> Option<Stored> {
    match state.vault.get(PURPOSE, id).await {
        Ok(sealed) => serde_json::from_str(sealed?.expose()).ok(),
        Err(e) => {
            tracing::warn!(target: "smtp", "could not read the deployment's OAuth token: {e}");
            None
        }
    }
}

/// The deployment's token when it is not yet due for a refresh.
async fn stored(state: &AppState, id: &str) -> Option<FetchedToken> {
    let stored = read(state, id).await?;
    let lifetime = time::Duration::milliseconds(stored.lifetime_ms);
    let left = time::Duration::milliseconds(stored.expires_at_ms - state.now_ms());
    (left > TokenCache::refresh_margin(lifetime)).then(|| FetchedToken {
        access_token: Secret::new(stored.access_token),
        expires_in: left,
        shared: true,
    })
}

async fn store(state: &AppState, id: &str, token: &FetchedToken) {
    let lifetime_ms = token.expires_in.whole_milliseconds() as i64;
    let stored = Stored {
        access_token: token.access_token.expose().to_string(),
        expires_at_ms: state.now_ms() + lifetime_ms,
        lifetime_ms,
    };
    let sealed = match serde_json::to_string(&stored) {
        Ok(json) => Secret::new(json),
        Err(_) => return,
    };
    if let Err(e) = state.vault.put(PURPOSE, id, &sealed, state.now()).await {
        tracing::warn!(target: "smtp", "could not share the OAuth token with the other nodes: {e}");
    }
}

async fn release(state: &AppState, job: &str, owner: &str) {
    if let Err(e) = db::deployment::release_lease(&state.db, job, owner).await {
        tracing::warn!(target: "smtp", "could not release the OAuth token refresh: {e}");
    }
}
