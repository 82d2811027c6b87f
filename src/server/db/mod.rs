//! Every SQL statement lives under this module, one file per aggregate.

pub mod admins;
pub mod alarms;
pub mod api_settings;
pub mod audit;
pub mod backup_runs;
pub mod backup_schedule;
pub mod certificates;
pub mod codec;
pub mod deployment;
pub mod ers;
pub mod guest_approvals;
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
pub mod repositories;
pub mod sessions;
pub mod sign_in_failures;
pub mod smtp;
pub mod sponsors;
pub mod system_certificates;
pub mod trusted_devices;
pub mod vault;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The database every node of a deployment shares: the embedded SQLite file
/// (one node) or PostgreSQL (one or more nodes). Queries are written once,
/// in SQL both understand, through sqlx's `Any` driver; the few places the
/// two differ ask [`Dialect`].
pub type Db = AnyPool;

/// Which database a connection speaks to, for the statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of(db: &Db) -> Dialect {
        Dialect::of_scheme(db.connect_options().database_url.scheme())
    }

    /// `postgres` or `postgresql` URLs are PostgreSQL; the rest SQLite.
    fn of_scheme(scheme: &str) -> Dialect {
        if scheme.starts_with("postgres") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    pub fn of_connection(conn: &AnyConnection) -> Dialect {
        if conn.backend_name() == "PostgreSQL" {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// The elements of a JSON array bound as one text parameter (see
    /// [`json_param`]), as a one-column subquery of integers.
    pub fn int_list(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("SELECT value FROM json_each({param})"),
            Dialect::Postgres => {
                format!(
                    "SELECT value::BIGINT FROM jsonb_array_elements_text({param}::jsonb) AS value"
                )
            }
        }
    }

    /// As [`Dialect::int_list`], for a list of texts.
    pub fn text_list(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("SELECT value FROM json_each({param})"),
            Dialect::Postgres => {
                format!("SELECT value FROM jsonb_array_elements_text({param}::jsonb) AS value")
            }
        }
    }

    /// An aggregate that folds the rows into one JSON text, each row an
    /// array of `columns` (see [`json_rows`]); `[]` for no rows.
    pub fn json_rows(self, columns: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_group_array(json_array({columns}))"),
            Dialect::Postgres => {
                format!("COALESCE(json_agg(json_build_array({columns})), '[]')::TEXT")
            }
        }
    }

    /// A JSON array bound as one text parameter, as rows `alias.value`
    /// (each element; read its parts with `->>`, which both databases
    /// know, and CAST numbers).
    pub fn json_elements(self, param: &str, alias: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_each({param}) AS {alias}"),
            Dialect::Postgres => format!("jsonb_array_elements({param}::jsonb) AS {alias}(value)"),
        }
    }

    /// A BLOB column as hexadecimal text.
    pub fn hex(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("hex({column})"),
            Dialect::Postgres => format!("encode({column}, 'hex')"),
        }
    }

    /// `INDEXED BY index` where SQLite's planner needs telling; PostgreSQL
    /// chooses well by itself.
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!("INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }

    /// A lock on the rows read, held to the end of the transaction, for a
    /// read that decides a write. SQLite's write transaction already holds
    /// the one write lock.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE",
        }
    }

    /// Row locks for a read that is followed by a write of the same rows:
    /// other transactions skip them rather than wait. SQLite has a single
    /// writer and needs none.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }
}

/// An executor (the pool, or a connection such as a transaction's) that
/// knows its [`Dialect`], for the statements written per database.
pub trait DbExecutor<'c>: sqlx::AnyExecutor<'c> {
    fn dialect(&self) -> Dialect;
}

impl<'c> DbExecutor<'c> for &'c AnyPool {
    fn dialect(&self) -> Dialect {
        Dialect::of(self)
    }
}

impl<'c> DbExecutor<'c> for &'c mut AnyConnection {
    fn dialect(&self) -> Dialect {
        Dialect::of_connection(self)
    }
}

/// A list bound as one JSON parameter (read with [`Dialect::int_list`] or
/// [`Dialect::text_list`]): the statement's text stays the same whatever
/// the list's length.
pub(crate) fn json_param<T: serde::Serialize>(list: &[T]) -> sqlx::Result<String> {
    serde_json::to_string(list).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// Deletes the rows of `table` whose id is among `ids` and that also meet
/// `and_also` (empty, or `AND` and a condition): one statement, the same
/// text whatever the number of ids.
pub(crate) async fn delete_listed(
    db: impl DbExecutor<'_>,
    table: &'static str,
    ids: &[i64],
    and_also: &'static str,
) -> sqlx::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "DELETE FROM {table} WHERE id IN ({}) {and_also}",
        db.dialect().int_list("$1")
    );
    Ok(sqlx::query(&sql)
        .bind(json_param(ids)?)
        .execute(db)
        .await?
        .rows_affected())
}

/// Rows a statement returned as one JSON text ([`Dialect::json_rows`]):
/// rows cross from SQLite's thread one at a time, each a wake-up, so a
/// batch of hundreds comes back as one.
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(text: &str) -> sqlx::Result<Vec<T>> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Starts a write transaction. SQLite's default (DEFERRED) begins as a
/// read; if another connection (a delivery worker recording replies)
/// commits before its first write, that write fails at once with
/// SQLITE_BUSY, busy timeout or not. IMMEDIATE takes the write lock first,
/// waiting up to the busy timeout. PostgreSQL's READ COMMITTED is enough
/// for most writes; those that read to decide take row locks.
pub async fn begin_write(db: &Db) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
    match Dialect::of(db) {
        Dialect::Sqlite => db.begin_with("BEGIN IMMEDIATE").await,
        Dialect::Postgres => db.begin().await,
    }
}

/// Where the database is: `MAILROOM_DATABASE_URL` (or `--database-url`),
/// else the SQLite file in the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    SqliteFile(PathBuf),
    Url(String),
}

impl Location {
    /// `url` if given (`sqlite://…` or `postgres://…`), else
    /// `mailroom.db` in `data_dir`.
    pub fn new(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Location> {
        match url.map(str::trim).filter(|url| !url.is_empty()) {
            None => Ok(Location::SqliteFile(data_dir.join("mailroom.db"))),
            // A named SQLite file is created when missing, as the default one is.
            Some(url) if url.starts_with("sqlite:") && !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                Ok(Location::Url(format!("{url}{separator}mode=rwc")))
            }
            Some(url)
                if url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://") =>
            {
                Ok(Location::Url(url.to_string()))
            }
            Some(_) => anyhow::bail!(
                "MAILROOM_DATABASE_URL must start with sqlite:// or postgres:// (PostgreSQL 15 or newer)"
            ),
        }
    }

    fn url(&self) -> String {
        match self {
            Location::SqliteFile(path) => format!("sqlite://{}?mode=rwc", path.display()),
            Location::Url(url) => url.clone(),
        }
    }

    /// The location without its password, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Location::SqliteFile(path) => format!("SQLite {}", path.display()),
            Location::Url(url) => match AnyConnectOptions::from_str(url) {
                Ok(options) => {
                    let mut parsed = options.database_url;
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("********"));
                    }
                    parsed.to_string()
                }
                Err(_) => "(unreadable database URL)".into(),
            },
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The schema's version: the number of its newest migration (the same in
/// both dialects), which a backup records.
pub fn schema_version() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}

/// Opens the database (creating an SQLite file if needed) and brings its
/// schema up to date.
pub async fn open(location: &Location) -> anyhow::Result<Db> {
    sqlx::any::install_default_drivers();
    let options = AnyConnectOptions::from_str(&location.url())
        .with_context(|| format!("reading the database URL ({})", location.redacted()))?;
    let dialect = Dialect::of_scheme(options.database_url.scheme());
    let pool = match dialect {
        Dialect::Sqlite => {
            AnyPoolOptions::new()
                .max_connections(8)
                // An SQLite connection lives in this process and cannot go
                // stale: a ping before each use would only cost a round trip
                // to its thread.
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;                              PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
        }
        Dialect::Postgres => {
            AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
        }
    }
    .with_context(|| format!("connecting to {}", location.redacted()))?;
    match dialect {
        Dialect::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
        Dialect::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
    }
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_url_chooses_the_database_and_never_shows_its_password() {
        let dir = Path::new("/var/lib/mailroom");
        assert_eq!(
            Location::new(None, dir).unwrap(),
            Location::SqliteFile(dir.join("mailroom.db"))
        );
        assert_eq!(
            Location::new(Some("  "), dir).unwrap(),
            Location::SqliteFile(dir.join("mailroom.db"))
        );
        assert_eq!(
            Location::new(Some("sqlite:///srv/m.db"), dir).unwrap(),
            Location::Url("sqlite:///srv/m.db?mode=rwc".into())
        );
        let postgres = Location::new(
            Some("postgres://ise:S3cret!@db.example.com:5432/mailroom"),
            dir,
        )
        .unwrap();
        assert!(
            !postgres.redacted().contains("S3cret"),
            "{}",
            postgres.redacted()
        );
        assert!(postgres.redacted().contains("db.example.com"));
        assert!(Location::new(Some("mysql://db/mailroom"), dir).is_err());
    }
}
