use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub at: i64,
    pub admin: String,
    pub client_ip: String,
    pub action: String,
    pub target: String,
    pub changed_fields: String,
}

/// Records who changed what. `changed_fields` names fields, never values of secrets.
pub async fn insert(db: impl AnyExecutor<'_>, row: &AuditRow) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_log (at, admin, client_ip, action, target, changed_fields) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(row.at)
        .bind(&row.admin)
        .bind(&row.client_ip)
        .bind(&row.action)
        .bind(&row.target)
        .bind(&row.changed_fields)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn recent(db: impl AnyExecutor<'_>, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as("SELECT at, admin, client_ip, action, target, changed_fields FROM audit_log ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(db)
        .await
}
