//! What the nodes sharing the database tell each other through it.

use sqlx::AnyExecutor;

/// Counts one more change to the settings every node must load again.
pub async fn bump_settings_version(db: impl AnyExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("UPDATE settings_version SET version = version + 1 WHERE id = 1")
        .execute(db)
        .await?;
    Ok(())
}

pub async fn settings_version(db: impl AnyExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT version FROM settings_version WHERE id = 1")
        .fetch_one(db)
        .await
}

/// A node as registered.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NodeRow {
    pub name: String,
    pub instance: String,
    pub personas: String,
    pub version: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
}

/// The personas a node has until an admin changes them: all of them.
pub const ALL_PERSONAS: &str = "administration,policy-service";

/// Registers the node `name` as run by `instance` (a restart replaces the
/// previous process's registration), with the personas an admin gave it,
/// or every persona.
pub async fn register_node(
    db: impl AnyExecutor<'_>,
    name: &str,
    instance: &str,
    version: &str,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO nodes (name, instance, personas, version, started_at, heartbeat_at) \
         VALUES ($1, $2, COALESCE((SELECT personas FROM node_personas WHERE name = $1), $3), \
         $4, $5, $5) ON CONFLICT (name) DO UPDATE SET \
         instance = excluded.instance, personas = excluded.personas, version = excluded.version, \
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
    )
    .bind(name)
    .bind(instance)
    .bind(ALL_PERSONAS)
    .bind(version)
    .bind(now_ms)
    .execute(db)
    .await?;
    Ok(())
}

/// Records that `instance` is alive; false when the node's registration
/// now belongs to another process (two processes with one node name).
pub async fn heartbeat(
    db: impl AnyExecutor<'_>,
    name: &str,
    instance: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let updated =
        sqlx::query("UPDATE nodes SET heartbeat_at = $1 WHERE name = $2 AND instance = $3")
            .bind(now_ms)
            .bind(name)
            .bind(instance)
            .execute(db)
            .await?;
    Ok(updated.rows_affected() == 1)
}

/// Removes the node at a clean stop (if this process still runs it).
pub async fn deregister_node(
    db: impl AnyExecutor<'_>,
    name: &str,
    instance: &str,
) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM nodes WHERE name = $1 AND instance = $2")
        .bind(name)
        .bind(instance)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

pub async fn nodes(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<NodeRow>> {
    sqlx::query_as(
        "SELECT name, instance, personas, version, started_at, heartbeat_at FROM nodes \
         ORDER BY lower(name)",
    )
    .fetch_all(db)
    .await
}

/// A node's personas as stored (`None`: the node is not registered).
pub async fn personas_of(db: impl AnyExecutor<'_>, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT personas FROM nodes WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Gives the registered node `name` these personas, kept across its
/// restarts; false when no such node is registered.
pub async fn set_personas(
    db: &mut sqlx::AnyConnection,
    name: &str,
    personas: &str,
) -> sqlx::Result<bool> {
    let updated = sqlx::query("UPDATE nodes SET personas = $1 WHERE name = $2")
        .bind(personas)
        .bind(name)
        .execute(&mut *db)
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO node_personas (name, personas) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET personas = excluded.personas",
    )
    .bind(name)
    .bind(personas)
    .execute(&mut *db)
    .await?;
    Ok(true)
}

/// Removes a node from the deployment for good (an admin's Deregister): its
/// registration and the personas it was given. Only while it has not beaten
/// since `silent_since_ms`: a connected node is not removed.
pub async fn deregister_silent(
    db: &mut sqlx::AnyConnection,
    name: &str,
    silent_since_ms: i64,
) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM nodes WHERE name = $1 AND heartbeat_at < $2")
        .bind(name)
        .bind(silent_since_ms)
        .execute(&mut *db)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM node_personas WHERE name = $1")
        .bind(name)
        .execute(&mut *db)
        .await?;
    Ok(true)
}

/// Who holds `job`'s unexpired lease.
pub async fn lease_holder(
    db: impl AnyExecutor<'_>,
    job: &str,
    now_ms: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT owner FROM job_leases WHERE job = $1 AND until_ms >= $2")
        .bind(job)
        .bind(now_ms)
        .fetch_optional(db)
        .await
}

/// Takes or renews the lease on `job` for `owner` until `until_ms`: true
/// when `owner` holds it now (it held it, or nobody held an unexpired one).
/// One statement, so two nodes asking at once cannot both get it.
pub async fn take_lease(
    db: impl AnyExecutor<'_>,
    job: &str,
    owner: &str,
    now_ms: i64,
    until_ms: i64,
) -> sqlx::Result<bool> {
    let holder: Option<String> = sqlx::query_scalar(
        "INSERT INTO job_leases (job, owner, until_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
         WHERE job_leases.owner = excluded.owner OR job_leases.until_ms < $4 \
         RETURNING owner",
    )
    .bind(job)
    .bind(owner)
    .bind(until_ms)
    .bind(now_ms)
    .fetch_optional(db)
    .await?;
    Ok(holder.as_deref() == Some(owner))
}

/// Gives the lease up (a clean stop), so another node takes over at once.
pub async fn release_lease(db: impl AnyExecutor<'_>, job: &str, owner: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM job_leases WHERE job = $1 AND owner = $2")
        .bind(job)
        .bind(owner)
        .execute(db)
        .await?;
    Ok(())
}

/// Extends every lease the connections of `instance` hold (their owners are
/// `instance#n`) until `until_ms`: the heartbeat keeps a live node's
/// connections counted, and a dead node's run out.
pub async fn renew_connection_leases(
    db: impl AnyExecutor<'_>,
    instance: &str,
    until_ms: i64,
) -> sqlx::Result<u64> {
    let prefix = format!("{instance}#");
    let renewed =
        sqlx::query("UPDATE job_leases SET until_ms = $1 WHERE substr(owner, 1, length($2)) = $2")
            .bind(until_ms)
            .bind(&prefix)
            .execute(db)
            .await?;
    Ok(renewed.rows_affected())
}

/// At start: gives up the leases earlier processes of this node held (all
/// earlier processes' on SQLite, where this is the only node), so that the
/// connections and jobs they counted are free at once rather than when the
/// leases run out. Leases of `instance` itself stay.
pub async fn release_earlier_leases(
    db: impl AnyExecutor<'_>,
    node_prefix: Option<&str>,
    instance: &str,
) -> sqlx::Result<u64> {
    let released = sqlx::query(
        "DELETE FROM job_leases WHERE substr(owner, 1, length($1)) = $1 \
         AND substr(owner, 1, length($2)) <> $2",
    )
    .bind(node_prefix.unwrap_or(""))
    .bind(instance)
    .execute(db)
    .await?;
    Ok(released.rows_affected())
}
