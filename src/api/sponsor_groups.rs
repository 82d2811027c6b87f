//! Work Centers > Guest Access > Portals & Components > Sponsor Groups:
//! each group's permissions and its members (the sponsor users).

use super::ApiError;
pub use crate::domain::sponsor::{SponsorGroupSummary, SponsorGroupsPage, SponsorUserSummary};
use crate::domain::sponsor::{SponsorPermissions, SponsorUserForm};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, sponsor_groups};

#[server(endpoint = "get_sponsor_groups")]
pub async fn get_sponsor_groups() -> Result<SponsorGroupsPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    sponsor_groups::page(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_sponsor_group")]
pub async fn save_sponsor_group(id: i64, permissions: SponsorPermissions) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    sponsor_groups::save_group(&state, &caller, id, &permissions)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "create_sponsor_user")]
pub async fn create_sponsor_user(form: SponsorUserForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    sponsor_groups::create_user(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "delete_sponsor_users")]
pub async fn delete_sponsor_users(ids: Vec<i64>) -> Result<u64, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    sponsor_groups::delete_users(&state, &caller, &ids)
        .await
        .map_err(super::failed)
}
