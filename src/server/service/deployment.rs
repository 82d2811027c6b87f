//! Administration > System > Deployment: the nodes sharing the database,
//! the personas an admin gives each, and removing a node that is gone.

use super::{Caller, ServiceError, audit};
use crate::domain::Access;
use crate::domain::deployment::{DeploymentView, NodeView, Persona, Personas, PersonasForm};
use crate::server::AppState;
use crate::server::db;
use crate::server::deployment::{LEASE, SCHEDULED_JOBS};

/// A node that has not beaten for this long shows Disconnected (four
/// missed heartbeats): as long as its leases last.
pub const DISCONNECTED_AFTER_MS: i64 = LEASE.as_millis() as i64;

pub async fn view(app: &AppState, caller: &Caller) -> Result<DeploymentView, ServiceError> {
    caller.require(Access::View)?;
    let now = app.now_ms();
    let primary = db::deployment::lease_holder(&app.db, SCHEDULED_JOBS, now).await?;
    let nodes = db::deployment::nodes(&app.db)
        .await?
        .into_iter()
        .map(|row| NodeView {
            primary: primary.as_deref() == Some(row.instance.as_str()),
            connected: now - row.heartbeat_at < DISCONNECTED_AFTER_MS,
            this_node: row.name == app.config.node_name,
            personas: Personas::parse(&row.personas),
            name: row.name,
            version: row.version,
            started_at_ms: row.started_at,
            heartbeat_at_ms: row.heartbeat_at,
        })
        .collect();
    Ok(DeploymentView {
        database: match db::Dialect::of(&app.db) {
            db::Dialect::Sqlite => "SQLite (embedded, one node)".into(),
            db::Dialect::Postgres => "PostgreSQL (shared by every node)".into(),
        },
        nodes,
        disconnected_after_seconds: DISCONNECTED_AFTER_MS / 1000,
    })
}

/// Edit Node: gives a node its personas; the node applies them at its next
/// heartbeat. The deployment keeps at least one node with each persona,
/// so that someone can still sign in to the console and mail still goes.
pub async fn set_personas(
    app: &AppState,
    caller: &Caller,
    form: &PersonasForm,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let personas = form.validate()?;
    let name = form.node.trim();
    let now_ms = app.now_ms();
    let mut tx = db::begin_write(&app.db).await?;
    let nodes = db::deployment::nodes(&mut *tx).await?;
    let Some(node) = nodes.iter().find(|n| n.name == name) else {
        return Err(ServiceError::NotFound(format!(
            "Node {name} is not registered."
        )));
    };
    for persona in Persona::ALL {
        let others_have_it = nodes.iter().any(|other| {
            other.name != node.name
                && now_ms - other.heartbeat_at < DISCONNECTED_AFTER_MS
                && Personas::parse(&other.personas).has(persona)
        });
        if !personas.has(persona) && !others_have_it {
            return Err(ServiceError::invalid(
                "personas",
                format!(
                    "No other connected node has the {} persona: keep it on {name}.",
                    persona.label()
                ),
            ));
        }
    }
    db::deployment::set_personas(&mut tx, name, &personas.stored()).await?;
    let changed = format!("personas={}", personas.stored());
    audit(
        &mut tx,
        caller,
        now_ms / 1000,
        "update",
        &format!("Node {name}"),
        &changed,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deregister: removes a node that is Disconnected (stopped or lost) from
/// the deployment. A connected node is not removed: stop it first.
pub async fn deregister(app: &AppState, caller: &Caller, node: &str) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let name = node.trim();
    let now_ms = app.now_ms();
    let mut tx = db::begin_write(&app.db).await?;
    let silent_since = now_ms - DISCONNECTED_AFTER_MS;
    if !db::deployment::deregister_silent(&mut tx, name, silent_since).await? {
        let registered = db::deployment::personas_of(&mut *tx, name).await?.is_some();
        return Err(if registered {
            ServiceError::Conflict(format!(
                "Node {name} is connected: stop it before you deregister it."
            ))
        } else {
            ServiceError::NotFound(format!("Node {name} is not registered."))
        });
    }
    audit(
        &mut tx,
        caller,
        now_ms / 1000,
        "delete",
        &format!("Node {name}"),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
