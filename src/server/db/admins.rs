use crate::domain::Role;
use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, Clone, FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub description: String,
    pub role: Role,
    pub enabled: bool,
    pub include_alarm_emails: bool,
    pub password_hash: String,
    pub password_changed_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewAdmin<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub description: &'a str,
    pub role: Role,
    pub enabled: bool,
    pub include_alarm_emails: bool,
    pub password_hash: &'a str,
}

pub struct AdminChanges<'a> {
    pub email: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub description: &'a str,
    pub role: Role,
    pub enabled: bool,
    pub include_alarm_emails: bool,
}

const COLUMNS: &str = "id, name, email, first_name, last_name, description, role, enabled, \
    include_alarm_emails, password_hash, password_changed_at, created_at, updated_at";

pub async fn count(db: impl SqliteExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(db)
        .await
}

pub async fn list(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<AdminRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM admins ORDER BY name COLLATE NOCASE"
    ))
    .fetch_all(db)
    .await
}

pub async fn by_id(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<AdminRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM admins WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn by_name(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<Option<AdminRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM admins WHERE name = ? COLLATE NOCASE"
    ))
    .bind(name)
    .fetch_optional(db)
    .await
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    admin: &NewAdmin<'_>,
    now: i64,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO admins (name, email, first_name, last_name, description, role, enabled, \
         include_alarm_emails, password_hash, password_changed_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(admin.name)
    .bind(admin.email)
    .bind(admin.first_name)
    .bind(admin.last_name)
    .bind(admin.description)
    .bind(admin.role)
    .bind(admin.enabled)
    .bind(admin.include_alarm_emails)
    .bind(admin.password_hash)
    .bind(now)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(id)
}

pub async fn update(
    db: impl SqliteExecutor<'_>,
    id: i64,
    changes: &AdminChanges<'_>,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE admins SET email = ?, first_name = ?, last_name = ?, description = ?, role = ?, \
         enabled = ?, include_alarm_emails = ?, updated_at = ? WHERE id = ?",
    )
    .bind(changes.email)
    .bind(changes.first_name)
    .bind(changes.last_name)
    .bind(changes.description)
    .bind(changes.role)
    .bind(changes.enabled)
    .bind(changes.include_alarm_emails)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn set_enabled(
    db: impl SqliteExecutor<'_>,
    id: i64,
    enabled: bool,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query("UPDATE admins SET enabled = ?, updated_at = ? WHERE id = ?")
        .bind(enabled)
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn set_password_hash(
    db: impl SqliteExecutor<'_>,
    id: i64,
    hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE admins SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(hash)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Enabled Super Admins other than `except_id`: the last one may not be
/// disabled or demoted, or nobody could manage admins any more.
pub async fn other_enabled_super_admins(
    db: impl SqliteExecutor<'_>,
    except_id: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE role = ? AND enabled = 1 AND id <> ?")
        .bind(Role::SuperAdmin)
        .bind(except_id)
        .fetch_one(db)
        .await
}
