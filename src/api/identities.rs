//! Password policies (admins and internal users) and Administration >
//! Identity Management > Identities > Users.

use super::ApiError;
use crate::domain::password_policy::{
    InternalUserForm, InternalUserView, PasswordPolicyForm, PolicyScope,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, identities};

#[server(endpoint = "get_password_policy")]
pub async fn get_password_policy(scope: PolicyScope) -> Result<PasswordPolicyForm, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    identities::policy(&state, &caller, scope)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_password_policy")]
pub async fn save_password_policy(
    scope: PolicyScope,
    form: PasswordPolicyForm,
) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    identities::save_policy(&state, &caller, scope, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "list_internal_users")]
pub async fn list_internal_users() -> Result<Vec<InternalUserView>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    identities::users(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "create_internal_user")]
pub async fn create_internal_user(form: InternalUserForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    identities::create_user(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "delete_internal_users")]
pub async fn delete_internal_users(ids: Vec<i64>) -> Result<u64, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    identities::delete_users(&state, &caller, &ids)
        .await
        .map_err(super::failed)
}
