//! Each backup and restore: its progress while it runs, then its outcome.

use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub repository: String,
    pub file_name: String,
    pub status: String,
    pub step: String,
    pub percent: i64,
    pub size: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub started_by: String,
    pub message: String,
}

const COLUMNS: &str = "id, kind, name, repository, file_name, status, step, percent, size, \
                       started_at, finished_at, started_by, message";

pub struct NewRun<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub repository: &'a str,
    pub file_name: &'a str,
    pub step: &'a str,
    pub started_at: i64,
    pub started_by: &'a str,
    pub node: &'a str,
}

/// A run starting at its first step; its id.
pub async fn start(db: impl AnyExecutor<'_>, run: &NewRun<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO backup_runs (kind, name, repository, file_name, status, step, percent, started_at, started_by, node) \
         VALUES ($1, $2, $3, $4, 'running', $5, 0, $6, $7, $8) RETURNING id",
    )
    .bind(run.kind)
    .bind(run.name)
    .bind(run.repository)
    .bind(run.file_name)
    .bind(run.step)
    .bind(run.started_at)
    .bind(run.started_by)
    .bind(run.node)
    .fetch_one(db)
    .await
}

pub async fn progress(
    db: impl AnyExecutor<'_>,
    id: i64,
    step: &str,
    percent: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE backup_runs SET step = $1, percent = $2 WHERE id = $3")
        .bind(step)
        .bind(percent)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The run's outcome: `succeeded` (with the file's size) or `failed`
/// (with why, the step it failed at kept).
pub async fn finish(
    db: impl AnyExecutor<'_>,
    id: i64,
    status: &str,
    size: i64,
    finished_at: i64,
    message: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE backup_runs SET status = $1, size = $2, finished_at = $3, message = $4, \
         percent = CASE WHEN $1 = 'succeeded' THEN 100 ELSE percent END WHERE id = $5",
    )
    .bind(status)
    .bind(size)
    .bind(finished_at)
    .bind(message)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The newest `limit` runs.
pub async fn recent(db: impl AnyExecutor<'_>, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM backup_runs ORDER BY started_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Runs this node's previous process left running: marked failed when the
/// node starts again (a backup leaves no file behind, a restore's
/// transaction was rolled back).
pub async fn abandon_running(db: impl AnyExecutor<'_>, node: &str, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE backup_runs SET status = 'failed', finished_at = $1, \
         message = 'The node stopped before the run finished; it changed nothing.' \
         WHERE status = 'running' AND node = $2",
    )
    .bind(now)
    .bind(node)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
