//! Work Centers > Guest Access > Portals & Components > Guest Types.

use super::ApiError;
use crate::domain::guest_type::GuestTypeForm;
pub use crate::domain::guest_type::{GuestTypeEdit, GuestTypeSummary};
use crate::domain::mail::TestEmailResult;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, guest_types};

#[server(endpoint = "list_guest_types")]
pub async fn list_guest_types() -> Result<Vec<GuestTypeSummary>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    guest_types::list(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "get_guest_type")]
pub async fn get_guest_type(id: i64) -> Result<GuestTypeEdit, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    guest_types::get(&state, &caller, id)
        .await
        .map_err(super::failed)
}

/// Creates (no `id`) or updates a guest type; returns its id, and goes
/// back to the list, which names it in its success banner.
#[server(endpoint = "save_guest_type")]
pub async fn save_guest_type(id: Option<i64>, form: GuestTypeForm) -> Result<i64, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let (saved, name) = guest_types::save(&state, &caller, id, &form)
        .await
        .map_err(super::failed)?;
    leptos_axum::redirect(&format!(
        "{}?saved={}",
        crate::components::menu::GUEST_TYPES,
        crate::domain::percent_encode(&name)
    ));
    Ok(saved)
}

/// Deletes guest types that no account uses; refuses, naming them, when
/// any selected type is in use.
#[server(endpoint = "delete_guest_types")]
pub async fn delete_guest_types(ids: Vec<i64>) -> Result<u64, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    guest_types::delete(&state, &caller, &ids)
        .await
        .map_err(super::failed)
}

/// "Send test email to me at": the notification as the form stands.
#[server(endpoint = "send_test_expiry_notice")]
pub async fn send_test_expiry_notice(
    form: GuestTypeForm,
    to: String,
) -> Result<TestEmailResult, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    guest_types::send_test_notice(&state, &caller, &form, &to)
        .await
        .map_err(super::failed)
}
