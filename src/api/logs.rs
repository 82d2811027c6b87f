//! Operations > Troubleshoot > Debug Wizard > Debug Log Configuration, and
//! the list of files Download Logs zips (the zip itself is a plain GET,
//! `LOGS_ZIP_PATH`, served by the HTTP layer).

use super::ApiError;
pub use crate::domain::logs::{ComponentLevel, LEVELS, LOGS_ZIP_PATH, LogFileInfo};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, logs};

#[server(endpoint = "get_log_levels")]
pub async fn get_log_levels() -> Result<Vec<ComponentLevel>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    logs::levels(&state, &caller).await.map_err(super::failed)
}

/// Sets one component's level at once, without a restart, and keeps it.
#[server(endpoint = "set_log_level")]
pub async fn set_log_level(component: String, level: String) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    logs::set_level(&state, &caller, &component, &level)
        .await
        .map_err(super::failed)
}

/// The log files Download Logs will put in its zip.
#[server(endpoint = "list_log_files")]
pub async fn list_log_files() -> Result<Vec<LogFileInfo>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    logs::files(&state, &caller).await.map_err(super::failed)
}
