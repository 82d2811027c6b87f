use sqlx::AnyExecutor;

pub async fn all(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT component, level FROM log_levels")
        .fetch_all(db)
        .await
}

pub async fn put(
    db: impl AnyExecutor<'_>,
    component: &str,
    level: &str,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO log_levels (component, level, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (component) DO UPDATE SET level = excluded.level, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(component)
    .bind(level)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}
