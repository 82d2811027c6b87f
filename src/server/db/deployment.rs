//! What the nodes sharing the database tell each other through it.

use sqlx::AnyExecutor;

/// Counts one more change to the settings every node must load again.
pub async fn bump_settings_version(db: impl AnyExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("UPDATE settings_version SET version = version + 1 WHERE id = 1")
        .execute(db)
        .await?;
    Ok(())
}

pub async fn settings_version(db: impl AnyExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT version FROM settings_version WHERE id = 1")
        .fetch_one(db)
        .await
}
