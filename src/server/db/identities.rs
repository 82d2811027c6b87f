//! Password policies, internal network users and the reminders sent.

use super::DbExecutor;
use crate::domain::alarm::{format_days, parse_days};
use crate::domain::password_policy::{PasswordPolicy, PolicyScope};
use sqlx::{AnyExecutor, FromRow};

#[derive(FromRow)]
struct PolicyRow {
    #[sqlx(try_from = "super::codec::Flag")]
    lifetime_enabled: bool,
    lifetime_days: i64,
    reminder_days: String,
    reminder_subject: String,
    reminder_text: String,
}

/// The saved policy, or ISE's default when none was saved.
pub async fn policy(db: impl AnyExecutor<'_>, scope: PolicyScope) -> sqlx::Result<PasswordPolicy> {
    let row: Option<PolicyRow> = sqlx::query_as(
        "SELECT lifetime_enabled, lifetime_days, reminder_days, reminder_subject, reminder_text \
         FROM password_policies WHERE scope = $1",
    )
    .bind(scope.as_str())
    .fetch_optional(db)
    .await?;
    let default = PasswordPolicy::default_for(scope);
    Ok(match row {
        None => default,
        Some(row) => PasswordPolicy {
            scope,
            lifetime_enabled: row.lifetime_enabled,
            lifetime_days: u32::try_from(row.lifetime_days).unwrap_or(default.lifetime_days),
            reminder_days: parse_days("", &row.reminder_days).unwrap_or(default.reminder_days),
            reminder_subject: row.reminder_subject,
            reminder_text: row.reminder_text,
        },
    })
}

pub async fn put_policy(
    db: impl AnyExecutor<'_>,
    policy: &PasswordPolicy,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO password_policies (scope, lifetime_enabled, lifetime_days, reminder_days, \
         reminder_subject, reminder_text, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (scope) DO UPDATE SET lifetime_enabled = excluded.lifetime_enabled, \
         lifetime_days = excluded.lifetime_days, reminder_days = excluded.reminder_days, \
         reminder_subject = excluded.reminder_subject, reminder_text = excluded.reminder_text, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(policy.scope.as_str())
    .bind(policy.lifetime_enabled)
    .bind(i64::from(policy.lifetime_days))
    .bind(format_days(&policy.reminder_days))
    .bind(&policy.reminder_subject)
    .bind(&policy.reminder_text)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub enabled: bool,
    pub password_changed_at: i64,
}

pub struct NewUser<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub password_hash: &'a str,
}

/// `None` when the name is taken.
pub async fn insert_user(
    db: impl AnyExecutor<'_>,
    user: &NewUser<'_>,
    now: i64,
    by: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO internal_users (name, email, first_name, last_name, enabled, password_hash, \
         password_changed_at, created_at, created_by) VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7, $8) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(user.name)
    .bind(user.email)
    .bind(user.first_name)
    .bind(user.last_name)
    .bind(user.password_hash)
    .bind(now)
    .bind(now)
    .bind(by)
    .fetch_optional(db)
    .await
}

pub async fn users(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(
        "SELECT id, name, email, first_name, last_name, enabled, password_changed_at \
         FROM internal_users ORDER BY lower(name)",
    )
    .fetch_all(db)
    .await
}

pub async fn delete_users(db: impl DbExecutor<'_>, ids: &[i64]) -> sqlx::Result<u64> {
    super::delete_listed(db, "internal_users", ids, "").await
}

/// Disables the enabled users whose password was set at or before
/// `changed_before`; returns their names.
pub async fn disable_expired_users(
    db: impl AnyExecutor<'_>,
    changed_before: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE internal_users SET enabled = FALSE WHERE enabled = TRUE AND password_changed_at <= $1 \
         RETURNING name",
    )
    .bind(changed_before)
    .fetch_all(db)
    .await
}

/// Someone whose password may need a reminder.
#[derive(Debug, Clone, FromRow)]
pub struct PasswordHolder {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub password_changed_at: i64,
}

/// Enabled holders (admins or users) with an email whose password was set
/// at or before `changed_before`.
pub async fn holders_due(
    db: impl AnyExecutor<'_>,
    scope: PolicyScope,
    changed_before: i64,
) -> sqlx::Result<Vec<PasswordHolder>> {
    let table = match scope {
        PolicyScope::Admin => "admins",
        PolicyScope::User => "internal_users",
    };
    sqlx::query_as(&format!(
        "SELECT id, name, email, password_changed_at FROM {table} WHERE enabled = TRUE \
         AND email IS NOT NULL AND email != '' AND password_changed_at <= $1 ORDER BY id"
    ))
    .bind(changed_before)
    .fetch_all(db)
    .await
}

/// Records a reminder; false when it was already sent (by an earlier run).
pub async fn mark_reminder(
    db: impl AnyExecutor<'_>,
    scope: PolicyScope,
    holder: &PasswordHolder,
    days_before: u32,
    now: i64,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO password_reminders (scope, user_id, password_changed_at, \
         days_before, sent_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(scope.as_str())
    .bind(holder.id)
    .bind(holder.password_changed_at)
    .bind(i64::from(days_before))
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}
