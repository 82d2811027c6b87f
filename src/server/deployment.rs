//! A node's side of a shared database: settings that another node changed
//! take effect here within seconds, without a restart.

use crate::domain::deployment::{Persona, Personas};
use crate::server::AppState;
use crate::server::db;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often a node looks for settings changed on another node.
pub const SETTINGS_WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Watches the database's settings version; when another node (or this
/// one) changed the SMTP server, sending limits, proxy, trusted
/// certificates or log levels, the workers load them again before their
/// next message and the log levels are read again.
///
/// The version is read before this returns: a change committed after that
/// is one this node has not loaded, and reloads it (read later, inside the
/// task, a change made meanwhile would have been taken as already seen).
pub async fn spawn_settings_watcher(state: AppState) -> tokio::task::JoinHandle<()> {
    let mut seen = db::deployment::settings_version(&state.db).await.ok();
    tokio::spawn(async move {
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
    // An admin on another node may have bound this node a new certificate.
    crate::server::https::reload(state).await;
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
/// How long a node's leases (the scheduled jobs, its connection slots) last
/// without renewal: after a node stops beating, another takes the jobs
/// over, and the connections it counted free, within this time.
pub const LEASE: Duration = Duration::from_secs(20);
/// How long a pooled SMTP session may stay idle before it closes and its
/// connection is free for another node: long enough to carry a steady flow,
/// short enough that a node with a backlog is not kept waiting.
pub const IDLE_HANDBACK: Duration = Duration::from_secs(10);
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
    // The leases of this node's earlier process (its connections, the
    // jobs) end with it; on SQLite every earlier process was this node.
    let node = match db::Dialect::of(&state.db) {
        db::Dialect::Sqlite => None,
        db::Dialect::Postgres => Some(format!("{}/", state.config.node_name)),
    };
    db::deployment::release_earlier_leases(&state.db, node.as_deref(), &state.config.instance)
        .await?;
    read_personas(state).await?;
    Ok(())
}

/// Applies the personas the database holds for this node, logging a change.
pub async fn read_personas(state: &AppState) -> anyhow::Result<()> {
    let Some(stored) = db::deployment::personas_of(&state.db, &state.config.node_name).await?
    else {
        return Ok(());
    };
    let personas = Personas::parse(&stored);
    let before = state.personas.swap(personas.bits(), Ordering::SeqCst);
    if before != personas.bits() {
        tracing::info!(target: "system", "Node '{}' has the personas: {}", state.config.node_name, personas.labels());
        // The delivery workers start or stop with the Policy Service persona.
        state.mailer.settings_changed();
        state.mailer.wake();
    }
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
                Ok(true) => {
                    registered = true;
                    if let Err(e) = read_personas(&state).await {
                        tracing::warn!(target: "system", "could not read this node's personas: {e}");
                    }
                }
                Ok(false) => {
                    if registered {
                        tracing::error!(target: "system", "another process now runs as node '{}': give each node its own MAILROOM_NODE_NAME", config.node_name);
                    }
                    registered = false;
                }
                Err(e) => tracing::warn!(target: "system", "heartbeat failed: {e}"),
            }
            state.mailer.close_idle_sessions(IDLE_HANDBACK);
            let until = state.now_ms() + LEASE.as_millis() as i64;
            if let Err(e) =
                db::deployment::renew_connection_leases(&state.db, &config.instance, until).await
            {
                tracing::warn!(target: "system", "could not renew this node's connection slots: {e}");
            }
            if runs_jobs(&state).await
                && let Err(e) = check_nodes(&state).await
            {
                tracing::warn!(target: "alarms", "could not check the deployment's nodes: {e:#}");
            }
        }
    })
}

/// On the PRIMARY: raises "Node is disconnected" for each node that missed
/// its heartbeats and puts the mail it was sending back in the queue, and
/// clears the alarm for nodes that came back or were deregistered.
pub async fn check_nodes(state: &AppState) -> anyhow::Result<()> {
    use crate::domain::alarm::AlarmCode;
    use crate::server::alarms::{Condition, raise};
    use crate::server::service::deployment::DISCONNECTED_AFTER_MS;
    let now = state.now_ms();
    let silent: Vec<db::deployment::NodeRow> = db::deployment::nodes(&state.db)
        .await?
        .into_iter()
        .filter(|node| now - node.heartbeat_at >= DISCONNECTED_AFTER_MS)
        .collect();
    let subjects: Vec<String> = silent.iter().map(|n| format!("node:{}", n.name)).collect();
    let cleared = db::alarms::clear_except(
        &state.db,
        AlarmCode::NodeDisconnected,
        &subjects,
        now / 1000,
    )
    .await?;
    if cleared > 0 {
        tracing::info!(target: "alarms", "{cleared} node(s) reconnected or deregistered: alarm cleared");
    }
    for (node, subject) in silent.iter().zip(&subjects) {
        // What it was sending is due again now rather than when its leases
        // run out: the other nodes send it, with the same Message-IDs.
        let released = db::outbox::release_leases(&state.db, Some(&node.instance), now).await?;
        if released > 0 {
            tracing::warn!(target: "smtp", "Node {} is disconnected: {released} mail jobs it was sending go out from the other nodes", node.name);
            state.mailer.wake();
        }
        if db::alarms::open_one(&state.db, AlarmCode::NodeDisconnected, subject)
            .await?
            .is_some()
        {
            continue;
        }
        let details = format!(
            "Node {} has sent no heartbeat since {} (version {}).",
            node.name,
            crate::domain::template::format_utc(node.heartbeat_at / 1000),
            node.version
        );
        raise(
            state,
            &Condition {
                code: AlarmCode::NodeDisconnected,
                subject: subject.clone(),
                details,
                days_left: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// Whether this node runs the scheduled jobs now: it takes or renews their
/// lease. Logs when the role changes hands.
pub async fn runs_jobs(state: &AppState) -> bool {
    if !state.has_persona(Persona::Administration) {
        // Without the persona the node gives the jobs up at once.
        if state.primary.swap(false, Ordering::SeqCst) {
            let instance = &state.config.instance;
            if let Err(e) = db::deployment::release_lease(&state.db, SCHEDULED_JOBS, instance).await
            {
                tracing::warn!(target: "system", "could not release the scheduled jobs: {e}");
            }
            tracing::info!(target: "system", "Node '{}' no longer runs the scheduled jobs: it has no Administration persona", state.config.node_name);
        }
        return false;
    }
    let now = state.now_ms();
    let until = now + LEASE.as_millis() as i64;
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
    let was = state.primary.swap(held, Ordering::SeqCst);
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
    // The mail this node was sending stops with it: due now on the others.
    match db::outbox::release_leases(&state.db, Some(&config.instance), state.now_ms()).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(target: "smtp", "{n} mail jobs this node was sending go back to the queue")
        }
        Err(e) => {
            tracing::warn!(target: "smtp", "could not give back the mail jobs in flight: {e}")
        }
    }
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
