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

/// Trusts (or trusts again) the device for the user from `now`.
pub async fn trust(
    db: impl AnyExecutor<'_>,
    device_hash: &str,
    user_key: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO trusted_devices (device_hash, user_key, created_at, last_used_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (device_hash, user_key) DO UPDATE SET last_used_at = $3",
    )
    .bind(device_hash)
    .bind(user_key)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
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
