//! Password policies (admins and internal users) and Administration >
//! Identity Management > Identities > Users.

use super::{Caller, ServiceError, audit};
use crate::domain::password_policy::{
    InternalUserForm, InternalUserView, PasswordPolicyForm, PolicyScope,
};
use crate::domain::{Access, Secret};
use crate::server::AppState;
use crate::server::auth::hash_password_off_runtime;
use crate::server::db;

pub async fn policy(
    app: &AppState,
    caller: &Caller,
    scope: PolicyScope,
) -> Result<PasswordPolicyForm, ServiceError> {
    caller.require(Access::View)?;
    Ok(db::identities::policy(&app.db, scope).await?.form())
}

/// The admins' policy is about admin accounts: only those who manage them
/// may change it.
pub async fn save_policy(
    app: &AppState,
    caller: &Caller,
    scope: PolicyScope,
    form: &PasswordPolicyForm,
) -> Result<(), ServiceError> {
    caller.require(match scope {
        PolicyScope::Admin => Access::ManageAdmins,
        PolicyScope::User => Access::ChangeSystemSettings,
    })?;
    let policy = form.validate(scope)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::identities::put_policy(&mut *tx, &policy, now, &caller.name).await?;
    let target = match scope {
        PolicyScope::Admin => "Admin Password Policy",
        PolicyScope::User => "User Password Policy",
    };
    audit(&mut tx, caller, now, "update", target, "").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn users(app: &AppState, caller: &Caller) -> Result<Vec<InternalUserView>, ServiceError> {
    caller.require(Access::View)?;
    let policy = db::identities::policy(&app.db, PolicyScope::User).await?;
    let users = db::identities::users(&app.db).await?;
    Ok(users
        .into_iter()
        .map(|user| InternalUserView {
            password_expires_at: policy.expires_at(user.password_changed_at),
            id: user.id,
            name: user.name,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            enabled: user.enabled,
            password_changed_at: user.password_changed_at,
        })
        .collect())
}

pub async fn create_user(
    app: &AppState,
    caller: &Caller,
    form: &InternalUserForm,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let valid = form.validate()?;
    let hash = hash_password_off_runtime(Secret::new(form.password.clone())).await?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let id = db::identities::insert_user(
        &mut *tx,
        &db::identities::NewUser {
            name: &valid.name,
            email: &valid.email,
            first_name: &valid.first_name,
            last_name: &valid.last_name,
            password_hash: &hash,
        },
        now,
        &caller.name,
    )
    .await?;
    if id.is_none() {
        return Err(ServiceError::invalid(
            "name",
            "A user with this name already exists.",
        ));
    }
    audit(
        &mut tx,
        caller,
        now,
        "create",
        &format!("Internal user {}", valid.name),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_users(
    app: &AppState,
    caller: &Caller,
    ids: &[i64],
) -> Result<u64, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    if ids.is_empty() || ids.len() > 500 {
        return Err(ServiceError::Conflict("Select 1 to 500 users.".into()));
    }
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let deleted = db::identities::delete_users(&mut *tx, ids).await?;
    audit(
        &mut tx,
        caller,
        now,
        "delete",
        "Internal users",
        &format!("{deleted} user(s)"),
    )
    .await?;
    tx.commit().await?;
    Ok(deleted)
}
