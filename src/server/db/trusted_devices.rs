//! Browsers trusted for a user after a successful sign-in (the device
//! cookie's id, hashed), keyed like the throttle (`throttle::user_key`).

use sqlx::AnyExecutor;

/// Whether the device `device_hash` signed in as `user_key` since `since`.
pub async fn is_trusted(
    db: impl AnyExecutor<'_>,
    device_hash: &str,
    user_key: &str,
    since: i64,
) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT last_used_at FROM trusted_devices WHERE device_hash = $1 AND user_key = $2 AND last_used_at >= $3",
    )
    .bind(device_hash)
    .bind(user_key)
    .bind(since)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// The most browsers trusted per user: a script that signs in without
/// keeping cookies gets a new id each time, and must not grow the table.
pub const MAX_PER_USER: i64 = 10;

/// Trusts (or trusts again) the device for the user from `now`, forgetting
/// the user's least recently used devices beyond `MAX_PER_USER`.
pub async fn trust(
    db: &sqlx::AnyPool,
    device_hash: &str,
    user_key: &str,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = super::begin_write(db).await?;
    sqlx::query(
        "INSERT INTO trusted_devices (device_hash, user_key, created_at, last_used_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (device_hash, user_key) DO UPDATE SET last_used_at = $3",
    )
    .bind(device_hash)
    .bind(user_key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM trusted_devices WHERE user_key = $1 AND device_hash NOT IN \
         (SELECT device_hash FROM trusted_devices WHERE user_key = $1 \
         ORDER BY device_hash = $3 DESC, last_used_at DESC, created_at DESC LIMIT $2)",
    )
    .bind(user_key)
    .bind(MAX_PER_USER)
    .bind(device_hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// How many browsers are trusted for the user.
pub async fn count(db: impl AnyExecutor<'_>, user_key: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM trusted_devices WHERE user_key = $1")
        .bind(user_key)
        .fetch_one(db)
        .await
}

/// Forgets devices unused since `before`.
pub async fn forget_before(db: impl AnyExecutor<'_>, before: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM trusted_devices WHERE last_used_at < $1")
            .bind(before)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
