//! Operations > Troubleshoot > Debug Wizard: each component's log level,
//! and Download Logs.

use super::{Caller, ServiceError, audit, settings_changed_everywhere};
use crate::domain::logs::{ComponentLevel, LogFileInfo};
use crate::domain::{Access, FieldError};
use crate::server::AppState;
use crate::server::db;
use crate::server::logging::{self, COMPONENTS, LogLevel};

pub async fn levels(app: &AppState, caller: &Caller) -> Result<Vec<ComponentLevel>, ServiceError> {
    caller.require(Access::View)?;
    Ok(app
        .log_levels
        .snapshot()
        .into_iter()
        .map(|(component, level)| ComponentLevel {
            component: component.to_string(),
            level: level.name().to_string(),
            log_file: COMPONENTS
                .iter()
                .find(|(name, _)| *name == component)
                .and_then(|(_, file)| file.map(str::to_string)),
        })
        .collect())
}

/// Sets one component's level at once, without a restart, and keeps it.
pub async fn set_level(
    app: &AppState,
    caller: &Caller,
    component: &str,
    level: &str,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    if !COMPONENTS.iter().any(|(name, _)| *name == component) {
        return Err(FieldError::new("component", "There is no such component.").into());
    }
    let Some(parsed) = LogLevel::parse(level) else {
        return Err(
            FieldError::new("level", "Choose FATAL, ERROR, WARN, INFO, DEBUG or TRACE.").into(),
        );
    };
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::log_levels::put(&mut *tx, component, parsed.name(), now, &caller.name).await?;
    audit(
        &mut tx,
        caller,
        now,
        "update",
        "Debug Log Configuration",
        &format!("{component} level"),
    )
    .await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    app.log_levels.set(component, parsed);
    tracing::info!(target: "system", user = %caller.name, "log level of {component} set to {}", parsed.name());
    Ok(())
}

/// The log files Download Logs puts in its zip (logs name hosts, admins
/// and recipients: only admins who may change system settings see them).
pub async fn files(app: &AppState, caller: &Caller) -> Result<Vec<LogFileInfo>, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let dir = logging::log_dir(&app.config.data_dir);
    let files = tokio::task::spawn_blocking(move || logging::log_files(&dir))
        .await?
        .map_err(ServiceError::internal)?;
    Ok(files
        .into_iter()
        .map(|f| LogFileInfo {
            name: f.name,
            size: f.size,
            modified: f.modified,
        })
        .collect())
}

/// Every log file in one zip, audited.
pub struct LogArchive {
    pub file_name: String,
    pub zip: Vec<u8>,
}

pub async fn download(app: &AppState, caller: &Caller) -> Result<LogArchive, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let dir = logging::log_dir(&app.config.data_dir);
    let zip = tokio::task::spawn_blocking(move || logging::zip_logs(&dir)).await??;
    let now = app.now();
    audit(
        &mut *app.db.acquire().await?,
        caller,
        now,
        "download",
        "Debug Logs",
        "",
    )
    .await?;
    Ok(LogArchive {
        file_name: format!("mailroom-logs-{}-{now}.zip", app.config.node_name),
        zip,
    })
}
