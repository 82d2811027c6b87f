//! The scheduled configuration backup (one row), and which due time a node
//! of the deployment last claimed, so that each runs once.

use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct ScheduleRow {
    #[sqlx(try_from = "super::codec::Flag")]
    pub enabled: bool,
    pub name: String,
    pub repository: String,
    pub frequency: String,
    pub at_minute: i64,
    pub weekday: i64,
    pub month_day: i64,
    pub keep_last: i64,
    /// The due time last claimed (Unix seconds).
    pub last_due: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

pub async fn get(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<ScheduleRow>> {
    sqlx::query_as(
        "SELECT enabled, name, repository, frequency, at_minute, weekday, month_day, keep_last, \
         last_due, updated_at, updated_by FROM backup_schedule WHERE id = 1",
    )
    .fetch_optional(db)
    .await
}

pub async fn put(db: impl AnyExecutor<'_>, row: &ScheduleRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO backup_schedule (id, enabled, name, repository, frequency, at_minute, weekday, \
         month_day, keep_last, last_due, updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET \
         enabled = excluded.enabled, name = excluded.name, repository = excluded.repository, \
         frequency = excluded.frequency, at_minute = excluded.at_minute, weekday = excluded.weekday, \
         month_day = excluded.month_day, keep_last = excluded.keep_last, last_due = excluded.last_due, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(row.enabled)
    .bind(&row.name)
    .bind(&row.repository)
    .bind(&row.frequency)
    .bind(row.at_minute)
    .bind(row.weekday)
    .bind(row.month_day)
    .bind(row.keep_last)
    .bind(row.last_due)
    .bind(row.updated_at)
    .bind(&row.updated_by)
    .execute(db)
    .await?;
    Ok(())
}

/// Claims the due time `due` for this node: true for exactly one caller
/// per due time, across the deployment.
pub async fn claim(db: impl AnyExecutor<'_>, due: i64) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE backup_schedule SET last_due = $1 WHERE id = 1 AND last_due < $1")
            .bind(due)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Follows a repository's new name.
pub async fn rename_repository(db: impl AnyExecutor<'_>, from: &str, to: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE backup_schedule SET repository = $1 WHERE repository = $2")
        .bind(to)
        .bind(from)
        .execute(db)
        .await?;
    Ok(())
}
