//! Backup repositories (Administration > System > Maintenance > Repository).

use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, Default, FromRow)]
pub struct RepositoryRow {
    pub name: String,
    pub protocol: String,
    pub path: String,
    pub host: String,
    pub port: i64,
    pub username: String,
    pub auth: String,
    /// `ALGORITHM SHA256:…` of the accepted host key; empty until accepted.
    pub host_key: String,
    pub updated_at: i64,
    pub updated_by: String,
}

pub async fn list(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<RepositoryRow>> {
    sqlx::query_as(
        "SELECT name, protocol, path, host, port, username, auth, host_key, updated_at, updated_by FROM repositories ORDER BY name",
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: impl AnyExecutor<'_>, name: &str) -> sqlx::Result<Option<RepositoryRow>> {
    sqlx::query_as(
        "SELECT name, protocol, path, host, port, username, auth, host_key, updated_at, updated_by FROM repositories WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await
}

pub async fn insert(db: impl AnyExecutor<'_>, row: &RepositoryRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO repositories (name, protocol, path, host, port, username, auth, host_key, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&row.name)
    .bind(&row.protocol)
    .bind(&row.path)
    .bind(&row.host)
    .bind(row.port)
    .bind(&row.username)
    .bind(&row.auth)
    .bind(&row.host_key)
    .bind(row.updated_at)
    .bind(&row.updated_by)
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces the repository once called `original_name`; false if there is none.
pub async fn update(
    db: impl AnyExecutor<'_>,
    original_name: &str,
    row: &RepositoryRow,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE repositories SET name = $1, protocol = $2, path = $3, host = $4, port = $5, username = $6, auth = $7, host_key = $8, updated_at = $9, updated_by = $10 WHERE name = $11",
    )
    .bind(&row.name)
    .bind(&row.protocol)
    .bind(&row.path)
    .bind(&row.host)
    .bind(row.port)
    .bind(&row.username)
    .bind(&row.auth)
    .bind(&row.host_key)
    .bind(row.updated_at)
    .bind(&row.updated_by)
    .bind(original_name)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(db: impl AnyExecutor<'_>, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM repositories WHERE name = $1")
        .bind(name)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Pins `host_key` on the repository, but only while it still has the pin
/// the admin was shown (`expected`): two admins accepting at once cannot
/// overwrite each other unseen.
pub async fn pin_host_key(
    db: impl AnyExecutor<'_>,
    name: &str,
    expected: &str,
    host_key: &str,
) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE repositories SET host_key = $1 WHERE name = $2 AND host_key = $3")
            .bind(host_key)
            .bind(name)
            .bind(expected)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}
