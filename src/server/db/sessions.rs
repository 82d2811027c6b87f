use sqlx::AnyExecutor;

pub async fn insert(
    db: impl AnyExecutor<'_>,
    token_hash: &str,
    admin_id: i64,
    now: i64,
    client_ip: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, admin_id, created_at, last_seen_at, client_ip) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash)
        .bind(admin_id)
        .bind(now)
        .bind(now)
        .bind(client_ip)
        .execute(db)
        .await?;
    Ok(())
}

/// A session with the admin it belongs to, read in one query (every
/// console request reads it).
#[derive(Debug, sqlx::FromRow)]
pub struct SessionAdmin {
    pub last_seen_at: i64,
    pub id: i64,
    pub name: String,
    pub role: crate::domain::Role,
    #[sqlx(try_from = "super::codec::Flag")]
    pub enabled: bool,
}

pub async fn find_with_admin(
    db: impl AnyExecutor<'_>,
    token_hash: &str,
) -> sqlx::Result<Option<SessionAdmin>> {
    sqlx::query_as(
        "SELECT s.last_seen_at, a.id, a.name, a.role, a.enabled \
         FROM sessions s JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

pub async fn touch(db: impl AnyExecutor<'_>, token_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete(db: impl AnyExecutor<'_>, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete_for_admin(db: impl AnyExecutor<'_>, admin_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE admin_id = $1")
        .bind(admin_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete_idle(db: impl AnyExecutor<'_>, idle_before: i64) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
        .bind(idle_before)
        .execute(db)
        .await?;
    Ok(result.rows_affected())
}
