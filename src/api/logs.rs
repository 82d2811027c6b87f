//! Operations > Troubleshoot > Debug Wizard > Debug Log Configuration.

use super::ApiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// ISE's level names, most severe first.
pub const LEVELS: [&str; 6] = ["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentLevel {
    pub component: String,
    pub level: String,
    /// The file its lines go to besides the main log, if any.
    pub log_file: Option<String>,
}

#[server(endpoint = "get_log_levels")]
pub async fn get_log_levels() -> Result<Vec<ComponentLevel>, ApiError> {
    use crate::server::{auth, logging};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    Ok(state
        .log_levels
        .snapshot()
        .into_iter()
        .map(|(component, level)| ComponentLevel {
            component: component.to_string(),
            level: level.name().to_string(),
            log_file: logging::COMPONENTS
                .iter()
                .find(|(name, _)| *name == component)
                .and_then(|(_, file)| file.map(str::to_string)),
        })
        .collect())
}

/// Sets one component's level at once, without a restart, and keeps it.
#[server(endpoint = "set_log_level")]
pub async fn set_log_level(component: String, level: String) -> Result<(), ApiError> {
    use crate::domain::FieldError;
    use crate::server::clock::unix;
    use crate::server::logging::{COMPONENTS, LogLevel};
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    if !COMPONENTS.iter().any(|(name, _)| *name == component) {
        return Err(auth::bad_request(FieldError::new(
            "component",
            "There is no such component.",
        )));
    }
    let Some(parsed) = LogLevel::parse(&level) else {
        return Err(auth::bad_request(FieldError::new(
            "level",
            "Choose FATAL, ERROR, WARN, INFO, DEBUG or TRACE.",
        )));
    };
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    db::log_levels::put(&mut *tx, &component, parsed.name(), now, &caller.admin.name)
        .await
        .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "update",
        "Debug Log Configuration",
        &format!("{component} level"),
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    state.log_levels.set(&component, parsed);
    tracing::info!(target: "system", user = %caller.admin.name, "log level of {component} set to {}", parsed.name());
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFileInfo {
    pub name: String,
    pub size: u64,
    /// Unix seconds.
    pub modified: i64,
}

/// Where Download Logs gets the zip of every log file.
pub const LOGS_ZIP_PATH: &str = "/download/mailroom-logs.zip";

/// The log files Download Logs will put in its zip.
#[server(endpoint = "list_log_files")]
pub async fn list_log_files() -> Result<Vec<LogFileInfo>, ApiError> {
    use crate::server::{auth, logging};
    let (state, _caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let dir = logging::log_dir(&state.config.data_dir);
    let files = tokio::task::spawn_blocking(move || logging::log_files(&dir))
        .await
        .map_err(auth::internal)?
        .map_err(auth::internal)?;
    Ok(files
        .into_iter()
        .map(|f| LogFileInfo {
            name: f.name,
            size: f.size,
            modified: f.modified,
        })
        .collect())
}
