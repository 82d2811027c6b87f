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

/// How often a node beats and renews the scheduled jobs' lease.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How long the jobs' lease lasts without renewal: after a node stops
/// beating, another takes the jobs over within this time.
pub const JOBS_LEASE: Duration = Duration::from_secs(20);
/// The lease of the scheduled jobs (alarm check, password reminders, guest
/// expiry): one node at a time runs them, the PRIMARY.
pub const SCHEDULED_JOBS: &str = "scheduled-jobs";

/// Registers this node at start.
pub async fn join(state: &AppState) -> anyhow::Result<()> {
    db::deployment::register_node(
        &state.db,
        &state.config.node_name,
        &state.config.instance,
        crate::server::VERSION,
        state.now_ms(),
    )
    .await?;
    Ok(())
}

/// Beats every few seconds and keeps (or takes over) the scheduled jobs.
pub fn spawn_heartbeat(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(HEARTBEAT_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut registered = true;
        loop {
            ticks.tick().await;
            let config = &state.config;
            match db::deployment::heartbeat(
                &state.db,
                &config.node_name,
                &config.instance,
                state.now_ms(),
            )
            .await
            {
                Ok(true) => registered = true,
                Ok(false) => {
                    if registered {
                        tracing::error!(target: "system", "another process now runs as node '{}': give each node its own MAILROOM_NODE_NAME", config.node_name);
                    }
                    registered = false;
                }
                Err(e) => tracing::warn!(target: "system", "heartbeat failed: {e}"),
            }
            runs_jobs(&state).await;
        }
    })
}

/// Whether this node runs the scheduled jobs now: it takes or renews their
/// lease. Logs when the role changes hands.
pub async fn runs_jobs(state: &AppState) -> bool {
    let now = state.now_ms();
    let until = now + JOBS_LEASE.as_millis() as i64;
    let held = match db::deployment::take_lease(
        &state.db,
        SCHEDULED_JOBS,
        &state.config.instance,
        now,
        until,
    )
    .await
    {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(target: "system", "could not renew the scheduled jobs' lease: {e}");
            false
        }
    };
    let was = state
        .primary
        .swap(held, std::sync::atomic::Ordering::SeqCst);
    if held && !was {
        tracing::info!(target: "system", "Node '{}' is the PRIMARY: it runs the scheduled jobs", state.config.node_name);
    } else if was && !held {
        tracing::warn!(target: "system", "Node '{}' no longer runs the scheduled jobs: another node took them over", state.config.node_name);
    }
    held
}

/// Leaves the deployment at a clean stop: another node takes the jobs over
/// at once.
pub async fn leave(state: &AppState) {
    let config = &state.config;
    if let Err(e) = db::deployment::release_lease(&state.db, SCHEDULED_JOBS, &config.instance).await
    {
        tracing::warn!(target: "system", "could not release the scheduled jobs: {e}");
    }
    if let Err(e) =
        db::deployment::deregister_node(&state.db, &config.node_name, &config.instance).await
    {
        tracing::warn!(target: "system", "could not deregister node '{}': {e}", config.node_name);
    }
}
