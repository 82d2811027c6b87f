use super::DbExecutor;
use crate::domain::Role;
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub description: String,
    pub role: Role,
    #[sqlx(try_from = "super::codec::Flag")]
    pub enabled: bool,
    #[sqlx(try_from = "super::codec::Flag")]
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

pub async fn count(db: impl AnyExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(db)
        .await
}

pub async fn list(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<AdminRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM admins ORDER BY lower(name)"
    ))
    .fetch_all(db)
    .await
}

pub async fn by_id(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<AdminRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM admins WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn by_name(db: impl AnyExecutor<'_>, name: &str) -> sqlx::Result<Option<AdminRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM admins WHERE lower(name) = lower($1)"
    ))
    .bind(name)
    .fetch_optional(db)
    .await
}

pub async fn insert(db: impl AnyExecutor<'_>, admin: &NewAdmin<'_>, now: i64) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO admins (name, email, first_name, last_name, description, role, enabled, \
         include_alarm_emails, password_hash, password_changed_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
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
    db: impl AnyExecutor<'_>,
    id: i64,
    changes: &AdminChanges<'_>,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE admins SET email = $1, first_name = $2, last_name = $3, description = $4, role = $5, \
         enabled = $6, include_alarm_emails = $7, updated_at = $8 WHERE id = $9",
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
    db: impl AnyExecutor<'_>,
    id: i64,
    enabled: bool,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query("UPDATE admins SET enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(enabled)
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn set_password_hash(
    db: impl AnyExecutor<'_>,
    id: i64,
    hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE admins SET password_hash = $1, password_changed_at = $2, updated_at = $3 WHERE id = $4",
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
/// disabled or demoted, or nobody could manage admins any more. Every
/// enabled Super Admin's row stays locked (in id order, so two such changes
/// take turns rather than deadlock) until the caller's transaction ends:
/// two admins demoting each other at once cannot both succeed.
pub async fn other_enabled_super_admins(
    db: impl DbExecutor<'_>,
    except_id: i64,
) -> sqlx::Result<i64> {
    let ids: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM admins WHERE role = $1 AND enabled = TRUE ORDER BY id {}",
        db.dialect().for_update()
    ))
    .bind(Role::SuperAdmin)
    .fetch_all(db)
    .await?;
    Ok(ids.iter().filter(|id| **id != except_id).count() as i64)
}

/// An admin's sign-in before the current one, and the failed attempts
/// between (ISE's "last login details").
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct LastSignIn {
    pub at: i64,
    pub from: String,
    pub failed: i64,
    pub last_failed_at: i64,
    pub last_failed_from: String,
}

/// Counts a failed sign-in as admin `id` (wrong password, or any refusal
/// after the name matched).
pub async fn count_failed_sign_in(
    db: impl AnyExecutor<'_>,
    id: i64,
    now: i64,
    from: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE admins SET failed_sign_ins = failed_sign_ins + 1, last_failed_at = $1, last_failed_from = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(from)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The admin's last sign-in details, replaced by this one (at `now`
/// from `from`), with the failure count reset.
pub async fn take_last_sign_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    now: i64,
    from: &str,
) -> sqlx::Result<LastSignIn> {
    let last: LastSignIn = sqlx::query_as(
        "SELECT last_sign_in_at AS at, last_sign_in_from AS \"from\", failed_sign_ins AS failed, last_failed_at, last_failed_from \
         FROM admins WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE admins SET last_sign_in_at = $1, last_sign_in_from = $2, failed_sign_ins = 0 WHERE id = $3",
    )
    .bind(now)
    .bind(from)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(last)
}
