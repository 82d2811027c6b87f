use super::DbExecutor;
use crate::domain::sponsor::{ApproveScope, ManageScope, SponsorPermissions};
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_create: bool,
    pub manage_scope: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_resend: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_reset: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_extend: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_suspend: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_delete: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_use_api: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub can_approve: bool,
    pub approve_scope: String,
    pub members: i64,
}

impl GroupRow {
    pub fn permissions(&self) -> SponsorPermissions {
        SponsorPermissions {
            can_create: self.can_create,
            scope: ManageScope::parse(&self.manage_scope).unwrap_or_default(),
            can_resend: self.can_resend,
            can_reset: self.can_reset,
            can_extend: self.can_extend,
            can_suspend: self.can_suspend,
            can_delete: self.can_delete,
            can_use_api: self.can_use_api,
            can_approve: self.can_approve,
            approve_scope: ApproveScope::parse(&self.approve_scope).unwrap_or_default(),
        }
    }
}

const GROUPS: &str = "SELECT g.id, g.name, g.description, g.can_create, g.manage_scope, g.can_resend, \
     g.can_reset, g.can_extend, g.can_suspend, g.can_delete, g.can_use_api, \
     g.can_approve, g.approve_scope, (SELECT COUNT(*) FROM sponsor_users u WHERE u.group_id = g.id) AS members FROM sponsor_groups g";

pub async fn groups(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<GroupRow>> {
    sqlx::query_as(&format!("{GROUPS} ORDER BY g.id"))
        .fetch_all(db)
        .await
}

pub async fn group(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<GroupRow>> {
    sqlx::query_as(&format!("{GROUPS} WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn update_group(
    db: impl AnyExecutor<'_>,
    id: i64,
    permissions: &SponsorPermissions,
    now: i64,
    by: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE sponsor_groups SET can_create = $1, manage_scope = $2, can_resend = $3, can_reset = $4, \
         can_extend = $5, can_suspend = $6, can_delete = $7, can_use_api = $8, updated_at = $9, \
         updated_by = $10, can_approve = $12, approve_scope = $13 WHERE id = $11",
    )
    .bind(permissions.can_create)
    .bind(permissions.scope.as_str())
    .bind(permissions.can_resend)
    .bind(permissions.can_reset)
    .bind(permissions.can_extend)
    .bind(permissions.can_suspend)
    .bind(permissions.can_delete)
    .bind(permissions.can_use_api)
    .bind(now)
    .bind(by)
    .bind(id)
    .bind(permissions.can_approve)
    .bind(permissions.approve_scope.as_str())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct SponsorRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub full_name: String,
    pub email: String,
    pub group_id: i64,
    #[sqlx(try_from = "super::codec::Flag")]
    pub enabled: bool,
}

const USERS: &str =
    "SELECT id, username, password_hash, full_name, email, group_id, enabled FROM sponsor_users";

pub async fn users(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<SponsorRow>> {
    sqlx::query_as(&format!("{USERS} ORDER BY lower(username)"))
        .fetch_all(db)
        .await
}

pub async fn by_name(db: impl AnyExecutor<'_>, username: &str) -> sqlx::Result<Option<SponsorRow>> {
    sqlx::query_as(&format!("{USERS} WHERE lower(username) = lower($1)"))
        .bind(username)
        .fetch_optional(db)
        .await
}

pub async fn by_id(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<SponsorRow>> {
    sqlx::query_as(&format!("{USERS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub struct NewSponsor<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub full_name: &'a str,
    pub email: &'a str,
    pub group_id: i64,
}

pub async fn insert_user(
    db: impl AnyExecutor<'_>,
    sponsor: &NewSponsor<'_>,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO sponsor_users (username, password_hash, full_name, email, group_id, enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id",
    )
    .bind(sponsor.username)
    .bind(sponsor.password_hash)
    .bind(sponsor.full_name)
    .bind(sponsor.email)
    .bind(sponsor.group_id)
    .bind(now)
    .fetch_one(db)
    .await
}

pub async fn delete_users(db: impl DbExecutor<'_>, ids: &[i64]) -> sqlx::Result<u64> {
    super::delete_listed(db, "sponsor_users", ids, "").await
}

pub async fn insert_session(
    db: impl AnyExecutor<'_>,
    token_hash: &str,
    sponsor_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sponsor_sessions (token_hash, sponsor_id, created_at, last_seen) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(sponsor_id)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// (sponsor id, last seen) of a session.
pub async fn find_session(
    db: impl AnyExecutor<'_>,
    token_hash: &str,
) -> sqlx::Result<Option<(i64, i64)>> {
    sqlx::query_as("SELECT sponsor_id, last_seen FROM sponsor_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db)
        .await
}

pub async fn touch_session(
    db: impl AnyExecutor<'_>,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE sponsor_sessions SET last_seen = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete_session(db: impl AnyExecutor<'_>, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sponsor_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}
