//! The database the integration tests run on: by default an SQLite file in
//! each test's data directory; with MAILROOM_TEST_POSTGRES set to the URL
//! of a role that may create databases (scripts/test.sh sets it), a fresh
//! PostgreSQL database for each data directory, so that the same suite
//! proves both.

use mailroom::server::db::Location;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const POSTGRES_ENV: &str = "MAILROOM_TEST_POSTGRES";
/// Databases made by a test process: `mrt_<pid>_<n>`.
const PREFIX: &str = "mrt_";

static DATABASES: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
static NEXT: AtomicUsize = AtomicUsize::new(0);
static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Whether this run is on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|url| !url.is_empty())
}

/// Where the console keeps the data of `dir`: the same database each time
/// it is asked (a restarted console finds its data again).
pub async fn location(dir: &Path) -> Location {
    let admin_url = match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => return Location::SqliteFile(dir.join("mailroom.db")),
    };
    if let Some(url) = known(dir) {
        return Location::Url(url);
    }
    SWEPT.get_or_init(|| drop_leftovers(&admin_url)).await;
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("{POSTGRES_ENV}: cannot connect ({e}); run scripts/postgres.sh")
    });
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}: cannot create a database ({e})"));
    let url = with_database(&admin_url, &name);
    DATABASES
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(dir.to_path_buf(), url.clone());
    Location::Url(url)
}

/// The `MAILROOM_DATABASE_URL` that makes the shipped binary use the same
/// database as `location(dir)`; none for SQLite (the file in the data
/// directory is the default).
pub async fn env_url(dir: &Path) -> Option<String> {
    match location(dir).await {
        Location::Url(url) => Some(url),
        Location::SqliteFile(_) => None,
    }
}

fn known(dir: &Path) -> Option<String> {
    DATABASES
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|databases| databases.get(dir).cloned())
}

/// `admin_url` with its database replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let server = match base
        .strip_prefix("postgres://")
        .or_else(|| base.strip_prefix("postgresql://"))
    {
        Some(rest) => match rest.split_once('/') {
            Some((server, _)) => server,
            None => rest,
        },
        None => panic!("{POSTGRES_ENV} must be a postgres:// URL"),
    };
    format!("postgres://{server}/{name}{query}")
}

/// Drops the databases of earlier test processes that have ended.
async fn drop_leftovers(admin_url: &str) {
    let Ok(mut admin) = PgConnection::connect(admin_url).await else {
        return;
    };
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'mrt\\_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

/// Everything the database holds, as bytes to search for secrets that must
/// not be stored in clear: the SQLite file and its write-ahead log, or on
/// PostgreSQL every row of every table as text (binary columns in hex).
pub async fn stored_bytes(state: &mailroom::server::AppState, dir: &Path) -> Vec<u8> {
    if !on_postgres() {
        let mut bytes = Vec::new();
        for name in ["mailroom.db", "mailroom.db-wal"] {
            if let Ok(mut file) = std::fs::read(dir.join(name)) {
                bytes.append(&mut file);
            }
        }
        return bytes;
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::TEXT FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&state.db)
            .await
            .unwrap();
    let mut bytes = Vec::new();
    for table in tables {
        let rows: String = sqlx::query_scalar(&format!(
            "SELECT COALESCE(string_agg(t::TEXT, '\n'), '') FROM \"{table}\" t"
        ))
        .fetch_one(&state.db)
        .await
        .unwrap();
        bytes.extend_from_slice(rows.as_bytes());
    }
    // Binary columns show as hex above; their bytes as stored, too.
    let binary: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type = 'bytea'",
    )
    .fetch_all(&state.db)
    .await
    .unwrap();
    for (table, column) in binary {
        let values: Vec<Vec<u8>> =
            sqlx::query_scalar(&format!("SELECT \"{column}\" FROM \"{table}\""))
                .fetch_all(&state.db)
                .await
                .unwrap();
        for value in values {
            bytes.extend_from_slice(&value);
        }
    }
    bytes
}
