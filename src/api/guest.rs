//! Work Centers > Guest Access > Settings > Guest Email Settings.

use super::ApiError;
use crate::domain::guest::GuestEmailForm;
pub use crate::domain::guest::GuestEmailPage;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, guests};

#[server(endpoint = "get_guest_email_settings")]
pub async fn get_guest_email_settings() -> Result<GuestEmailPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    guests::email_settings(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_guest_email_settings")]
pub async fn save_guest_email_settings(form: GuestEmailForm) -> Result<GuestEmailPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    guests::save_email_settings(&state, &caller, &form)
        .await
        .map_err(super::failed)
}
