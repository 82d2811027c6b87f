//! Administration > System > Settings > API Settings.

use super::ApiError;
use crate::domain::api::ApiSettings;
pub use crate::domain::api::ApiSettingsPage;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, api_settings};

#[server(endpoint = "get_api_settings")]
pub async fn get_api_settings() -> Result<ApiSettingsPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    api_settings::get(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_api_settings")]
pub async fn save_api_settings(form: ApiSettings) -> Result<ApiSettingsPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    api_settings::save(&state, &caller, form)
        .await
        .map_err(super::failed)
}
