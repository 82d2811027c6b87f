use sqlx::AnyExecutor;

/// A new session; `previous` is what its admin is shown about the sign-in
/// before it.
pub async fn insert(
    db: impl AnyExecutor<'_>,
    token_hash: &str,
    admin_id: i64,
    now: i64,
    client_ip: &str,
    previous: &super::admins::LastSignIn,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, admin_id, created_at, last_seen_at, client_ip, \
         previous_sign_in_at, previous_sign_in_from, failed_before, last_failed_at, last_failed_from) \
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(token_hash)
    .bind(admin_id)
    .bind(now)
    .bind(client_ip)
    .bind(previous.at)
    .bind(&previous.from)
    .bind(previous.failed)
    .bind(previous.last_failed_at)
    .bind(&previous.last_failed_from)
    .execute(db)
    .await?;
    Ok(())
}

/// What the session's admin is shown about the sign-in before this one.
pub async fn previous_sign_in(
    db: impl AnyExecutor<'_>,
    token_hash: &str,
) -> sqlx::Result<Option<super::admins::LastSignIn>> {
    sqlx::query_as(
        "SELECT previous_sign_in_at AS at, previous_sign_in_from AS \"from\", failed_before AS failed, \
         last_failed_at, last_failed_from FROM sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
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
