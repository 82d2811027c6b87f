//! Every SQL statement lives under this module, one file per aggregate.

pub mod admins;
pub mod alarms;
pub mod audit;
pub mod certificates;
pub mod codec;
pub mod guest_email;
pub mod guest_types;
pub mod guests;
pub mod identities;
pub mod log_levels;
pub mod oauth_certificates;
pub mod outbox;
pub mod pacing;
pub mod portals;
pub mod proxy;
pub mod sessions;
pub mod smtp;
pub mod sponsors;
pub mod vault;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// A list bound as one JSON parameter (read with `json_each`): the
/// statement's text stays the same whatever the list's length.
pub(crate) fn json_param<T: serde::Serialize>(list: &[T]) -> sqlx::Result<String> {
    serde_json::to_string(list).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// Rows a statement returned as one JSON text (`json_group_array`): rows
/// cross from SQLite's thread one at a time, each a wake-up, so a batch of
/// hundreds comes back as one.
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(text: &str) -> sqlx::Result<Vec<T>> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Starts a write transaction. SQLite's default (DEFERRED) begins as a
/// read; if another connection (a delivery worker recording replies)
/// commits before its first write, that write fails at once with
/// SQLITE_BUSY, busy timeout or not. IMMEDIATE takes the write lock first,
/// waiting up to the busy timeout.
pub async fn begin_write(
    pool: &SqlitePool,
) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Opens (creating if needed) the SQLite file in the data directory and
/// brings its schema up to date.
pub async fn open(data_dir: &Path) -> anyhow::Result<SqlitePool> {
    let path = data_dir.join("mailroom.db");
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        // An SQLite connection lives in this process and cannot go stale:
        // a ping before each use would only cost a round trip to its thread.
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}
