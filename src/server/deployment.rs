//! A node's side of a shared database: settings that another node changed
//! take effect here within seconds, without a restart.

use crate::server::AppState;
use crate::server::db;
use std::time::Duration;

/// How often a node looks for settings changed on another node.
pub const SETTINGS_WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Watches the database's settings version; when another node (or this
/// one) changed the SMTP server, sending limits, proxy, trusted
/// certificates or log levels, the workers load them again before their
/// next message and the log levels are read again.
pub fn spawn_settings_watcher(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = None;
        let mut ticks = tokio::time::interval(SETTINGS_WATCH_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let version = match db::deployment::settings_version(&state.db).await {
                Ok(version) => version,
                Err(e) => {
                    tracing::warn!(target: "system", "could not read the settings version: {e}");
                    continue;
                }
            };
            if seen.is_some_and(|seen| seen != version) {
                reload(&state).await;
            }
            seen = Some(version);
        }
    })
}

async fn reload(state: &AppState) {
    state.mailer.settings_changed();
    state.mailer.wake();
    match db::log_levels::all(&state.db).await {
        Ok(levels) => {
            for (component, level) in levels {
                if let Some(level) = crate::server::logging::LogLevel::parse(&level) {
                    state.log_levels.set(&component, level);
                }
            }
        }
        Err(e) => tracing::warn!(target: "system", "could not read the log levels: {e}"),
    }
}
