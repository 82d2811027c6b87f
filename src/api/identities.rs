//! Password policies (admins and internal users) and Administration >
//! Identity Management > Identities > Users.

use super::ApiError;
use crate::domain::password_policy::{
    InternalUserForm, InternalUserView, PasswordPolicyForm, PolicyScope,
};
use leptos::prelude::*;

#[server(endpoint = "get_password_policy")]
pub async fn get_password_policy(scope: PolicyScope) -> Result<PasswordPolicyForm, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    Ok(db::identities::policy(&state.db, scope)
        .await
        .map_err(auth::internal)?
        .form())
}

#[server(endpoint = "save_password_policy")]
pub async fn save_password_policy(
    scope: PolicyScope,
    form: PasswordPolicyForm,
) -> Result<(), ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    // Admins' policy is about admin accounts: only those who manage them.
    let access = match scope {
        PolicyScope::Admin => crate::domain::Access::ManageAdmins,
        PolicyScope::User => crate::domain::Access::ChangeSystemSettings,
    };
    let (state, caller) = auth::require(access).await?;
    let policy = form.validate(scope).map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    db::identities::put_policy(&mut *tx, &policy, now, &caller.admin.name)
        .await
        .map_err(auth::internal)?;
    let target = match scope {
        PolicyScope::Admin => "Admin Password Policy",
        PolicyScope::User => "User Password Policy",
    };
    super::record_audit(&mut tx, &caller, now, "update", target, "").await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(())
}

#[server(endpoint = "list_internal_users")]
pub async fn list_internal_users() -> Result<Vec<InternalUserView>, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let policy = db::identities::policy(&state.db, PolicyScope::User)
        .await
        .map_err(auth::internal)?;
    let users = db::identities::users(&state.db)
        .await
        .map_err(auth::internal)?;
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

#[server(endpoint = "create_internal_user")]
pub async fn create_internal_user(form: InternalUserForm) -> Result<(), ApiError> {
    use crate::domain::{FieldError, Secret};
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let valid = form.validate().map_err(auth::bad_request)?;
    let password = Secret::new(form.password);
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(auth::internal)?
        .map_err(auth::internal)?;
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
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
        &caller.admin.name,
    )
    .await
    .map_err(auth::internal)?;
    if id.is_none() {
        return Err(auth::bad_request(FieldError::new(
            "name",
            "A user with this name already exists.",
        )));
    }
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "create",
        &format!("Internal user {}", valid.name),
        "",
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(())
}

#[server(endpoint = "delete_internal_users")]
pub async fn delete_internal_users(ids: Vec<i64>) -> Result<u64, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    if ids.is_empty() || ids.len() > 500 {
        return Err(auth::bad_request(ApiError::Rejected(
            "Select 1 to 500 users.".into(),
        )));
    }
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    let deleted = db::identities::delete_users(&mut *tx, &ids)
        .await
        .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "delete",
        "Internal users",
        &format!("{deleted} user(s)"),
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(deleted)
}
