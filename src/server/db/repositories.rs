//! Backup repositories (Administration > System > Maintenance > Repository).

use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct RepositoryRow {
    pub name: String,
    pub protocol: String,
    pub path: String,
    pub updated_at: i64,
    pub updated_by: String,
}

pub async fn list(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<RepositoryRow>> {
    sqlx::query_as(
        "SELECT name, protocol, path, updated_at, updated_by FROM repositories ORDER BY name",
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: impl AnyExecutor<'_>, name: &str) -> sqlx::Result<Option<RepositoryRow>> {
    sqlx::query_as(
        "SELECT name, protocol, path, updated_at, updated_by FROM repositories WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await
}

pub async fn insert(db: impl AnyExecutor<'_>, row: &RepositoryRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO repositories (name, protocol, path, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&row.name)
    .bind(&row.protocol)
    .bind(&row.path)
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
        "UPDATE repositories SET name = $1, protocol = $2, path = $3, updated_at = $4, updated_by = $5 WHERE name = $6",
    )
    .bind(&row.name)
    .bind(&row.protocol)
    .bind(&row.path)
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
