use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct ProxyRow {
    pub host: String,
    pub port: i64,
    pub username: String,
    /// One host or domain per line.
    pub bypass: String,
    pub updated_at: i64,
    pub updated_by: String,
}

pub async fn get(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<ProxyRow>> {
    sqlx::query_as(
        "SELECT host, port, username, bypass, updated_at, updated_by FROM proxy_settings WHERE id = 1",
    )
    .fetch_optional(db)
    .await
}

pub async fn put(db: impl AnyExecutor<'_>, row: &ProxyRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO proxy_settings (id, host, port, username, bypass, updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET host = excluded.host, \
         port = excluded.port, username = excluded.username, bypass = excluded.bypass, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&row.host)
    .bind(row.port)
    .bind(&row.username)
    .bind(&row.bypass)
    .bind(row.updated_at)
    .bind(&row.updated_by)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn clear(db: impl AnyExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM proxy_settings WHERE id = 1")
        .execute(db)
        .await?;
    Ok(())
}
