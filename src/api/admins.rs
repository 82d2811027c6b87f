//! Administration > System > Admin Access > Administrators, the dashboard
//! summary, and the configuration-change audit.

use super::ApiError;
use crate::domain::{AdminForm, AdminStatus, Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSummary {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub description: String,
    pub role: Role,
    pub status: AdminStatus,
    pub include_alarm_emails: bool,
    /// The row is the caller's own account.
    pub is_self: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: i64,
    pub admin: String,
    pub client_ip: String,
    pub action: String,
    pub target: String,
    pub changed_fields: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub node: String,
    pub version: String,
    pub personas: String,
    pub admins_enabled: usize,
    pub admins_total: usize,
    pub recent_changes: Vec<AuditEntry>,
    /// Open alarms, newest first, in plain text: the dashboard is in the
    /// bundle every page loads, so it carries no alarm types or actions.
    pub alarms: Vec<DashboardAlarm>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardAlarm {
    /// "critical", "warning" or "info", for the badge's class.
    pub severity: String,
    pub severity_label: String,
    pub name: String,
    pub occurrences: i64,
    pub last_at: i64,
    pub status: String,
}

#[cfg(feature = "ssr")]
fn summary(row: crate::server::db::admins::AdminRow, caller_id: i64) -> AdminSummary {
    AdminSummary {
        id: row.id,
        role: row.role(),
        status: if row.enabled {
            AdminStatus::Enabled
        } else {
            AdminStatus::Disabled
        },
        is_self: row.id == caller_id,
        name: row.name,
        email: row.email.unwrap_or_default(),
        first_name: row.first_name,
        last_name: row.last_name,
        description: row.description,
        include_alarm_emails: row.include_alarm_emails,
    }
}

#[cfg(feature = "ssr")]
fn audit_entry(row: crate::server::db::audit::AuditRow) -> AuditEntry {
    AuditEntry {
        at: row.at,
        admin: row.admin,
        client_ip: row.client_ip,
        action: row.action,
        target: row.target,
        changed_fields: row.changed_fields,
    }
}

#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<AdminSummary>, ApiError> {
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::View).await?;
    let rows = db::admins::list(&state.db).await.map_err(auth::internal)?;
    Ok(rows
        .into_iter()
        .map(|row| summary(row, caller.admin.id))
        .collect())
}

#[server(endpoint = "get_admin")]
pub async fn get_admin(id: i64) -> Result<AdminSummary, ApiError> {
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::View).await?;
    match db::admins::by_id(&state.db, id)
        .await
        .map_err(auth::internal)?
    {
        Some(row) => Ok(summary(row, caller.admin.id)),
        None => Err(auth::bad_request(ApiError::Rejected(format!(
            "There is no admin user with id {id}."
        )))),
    }
}

/// The admin user form's Submit/Save: creates an admin user when `id` is
/// absent, else saves changes to that user. One server function serves both
/// so the browser build carries one form client, not two.
#[server(endpoint = "save_admin")]
pub async fn save_admin(id: Option<i64>, form: AdminForm) -> Result<(), ApiError> {
    match id {
        None => create_admin(form).await,
        Some(id) => update_admin(id, form).await,
    }
}

#[cfg(feature = "ssr")]
async fn create_admin(form: AdminForm) -> Result<(), ApiError> {
    use crate::domain::Secret;
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ManageAdmins).await?;
    let valid = form.validate(true).map_err(auth::bad_request)?;
    if db::admins::by_name(&state.db, valid.name.as_str())
        .await
        .map_err(auth::internal)?
        .is_some()
    {
        return Err(auth::bad_request(crate::domain::FieldError::new(
            "name",
            format!("An admin user named '{}' already exists.", valid.name),
        )));
    }
    let password = Secret::new(valid.password.clone().unwrap_or_default());
    let hash = auth::hash_password(&password).map_err(auth::internal)?;
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    db::admins::insert(
        &mut *tx,
        &db::admins::NewAdmin {
            name: valid.name.as_str(),
            email: valid.email.as_ref().map(|e| e.as_str()),
            first_name: &valid.first_name,
            last_name: &valid.last_name,
            description: &valid.description,
            role: valid.role,
            enabled: valid.status == AdminStatus::Enabled,
            include_alarm_emails: valid.include_alarm_emails,
            password_hash: &hash,
        },
        now,
    )
    .await
    .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "create",
        &format!("admin:{}", valid.name),
        "name, email, first name, last name, description, admin group, status, include system alarms in emails, password",
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    tracing::info!(target: "admin-access", user = %caller.admin.name, "created admin user '{}' ({})", valid.name, valid.role.label());
    leptos_axum::redirect(&saved_url(valid.name.as_str()));
    Ok(())
}

/// Saves changes to an admin user. A blank password keeps the current one.
#[cfg(feature = "ssr")]
async fn update_admin(id: i64, form: AdminForm) -> Result<(), ApiError> {
    use crate::domain::Secret;
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ManageAdmins).await?;
    let valid = form.validate(false).map_err(auth::bad_request)?;
    let Some(current) = db::admins::by_id(&state.db, id)
        .await
        .map_err(auth::internal)?
    else {
        return Err(auth::bad_request(ApiError::Rejected(format!(
            "There is no admin user with id {id}."
        ))));
    };
    if !current.name.eq_ignore_ascii_case(valid.name.as_str()) {
        return Err(auth::bad_request(crate::domain::FieldError::new(
            "name",
            "An admin user's name cannot be changed.",
        )));
    }
    let enabled = valid.status == AdminStatus::Enabled;
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    check_keeps_a_super_admin(&mut tx, &caller, &current, valid.role, enabled).await?;

    let mut changed = Vec::new();
    let email = valid.email.as_ref().map(|e| e.as_str().to_string());
    if email != current.email.clone().filter(|e| !e.is_empty()) {
        changed.push("email");
    }
    if valid.first_name != current.first_name {
        changed.push("first name");
    }
    if valid.last_name != current.last_name {
        changed.push("last name");
    }
    if valid.description != current.description {
        changed.push("description");
    }
    if valid.role != current.role() {
        changed.push("admin group");
    }
    if enabled != current.enabled {
        changed.push("status");
    }
    if valid.include_alarm_emails != current.include_alarm_emails {
        changed.push("include system alarms in emails");
    }
    let now = unix(state.clock.now());
    db::admins::update(
        &mut *tx,
        id,
        &db::admins::AdminChanges {
            email: email.as_deref(),
            first_name: &valid.first_name,
            last_name: &valid.last_name,
            description: &valid.description,
            role: valid.role,
            enabled,
            include_alarm_emails: valid.include_alarm_emails,
        },
        now,
    )
    .await
    .map_err(auth::internal)?;
    if let Some(password) = &valid.password {
        let hash = auth::hash_password(&Secret::new(password.clone())).map_err(auth::internal)?;
        db::admins::set_password_hash(&mut *tx, id, &hash, now)
            .await
            .map_err(auth::internal)?;
        changed.push("password");
    }
    // A disabled admin, or one whose password was changed by someone else,
    // is signed out everywhere.
    if !enabled || (valid.password.is_some() && id != caller.admin.id) {
        db::sessions::delete_for_admin(&mut *tx, id)
            .await
            .map_err(auth::internal)?;
    }
    if !changed.is_empty() {
        super::record_audit(
            &mut tx,
            &caller,
            now,
            "update",
            &format!("admin:{}", current.name),
            &changed.join(", "),
        )
        .await?;
    }
    tx.commit().await.map_err(auth::internal)?;
    tracing::info!(target: "admin-access", user = %caller.admin.name, "updated admin user '{}': {}", current.name, if changed.is_empty() { "no changes".to_string() } else { changed.join(", ") });
    leptos_axum::redirect(&saved_url(&current.name));
    Ok(())
}

/// Enables or disables several admin users at once (the toolbar's Change Status).
#[server(endpoint = "set_admins_status")]
pub async fn set_admins_status(ids: Vec<i64>, enabled: bool) -> Result<usize, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ManageAdmins).await?;
    if ids.is_empty() {
        return Err(auth::bad_request(ApiError::Rejected(
            "Select at least one admin user.".into(),
        )));
    }
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let mut changed = 0;
    for id in ids {
        let Some(current) = db::admins::by_id(&mut *tx, id)
            .await
            .map_err(auth::internal)?
        else {
            continue;
        };
        if current.enabled == enabled {
            continue;
        }
        check_keeps_a_super_admin(&mut tx, &caller, &current, current.role(), enabled).await?;
        if !enabled {
            db::sessions::delete_for_admin(&mut *tx, id)
                .await
                .map_err(auth::internal)?;
        }
        db::admins::set_enabled(&mut *tx, id, enabled, now)
            .await
            .map_err(auth::internal)?;
        super::record_audit(
            &mut tx,
            &caller,
            now,
            if enabled { "enable" } else { "disable" },
            &format!("admin:{}", current.name),
            "status",
        )
        .await?;
        changed += 1;
    }
    tx.commit().await.map_err(auth::internal)?;
    tracing::info!(target: "admin-access", user = %caller.admin.name, "{} {changed} admin user(s)", if enabled { "enabled" } else { "disabled" });
    Ok(changed)
}

/// The list page, with the saved admin's name for its success banner.
/// Admin names contain only URL-safe characters.
#[cfg(feature = "ssr")]
fn saved_url(name: &str) -> String {
    format!("{}?saved={name}", crate::components::menu::ADMINISTRATORS)
}

pub const LAST_SUPER_ADMIN: &str = "At least one enabled Super Admin must remain.";

#[cfg(feature = "ssr")]
async fn check_keeps_a_super_admin(
    conn: &mut sqlx::SqliteConnection,
    caller: &crate::server::auth::Caller,
    current: &crate::server::db::admins::AdminRow,
    new_role: Role,
    enabled: bool,
) -> Result<(), ApiError> {
    use crate::server::{auth, db};
    if current.id == caller.admin.id {
        if !enabled {
            return Err(auth::bad_request(crate::domain::FieldError::new(
                "status",
                "You cannot disable your own account.",
            )));
        }
        if new_role != current.role() {
            return Err(auth::bad_request(crate::domain::FieldError::new(
                "role",
                "You cannot change your own admin group.",
            )));
        }
    }
    let loses_super_admin = current.role() == Role::SuperAdmin
        && current.enabled
        && (new_role != Role::SuperAdmin || !enabled);
    if loses_super_admin
        && db::admins::other_enabled_super_admins(conn, current.id)
            .await
            .map_err(auth::internal)?
            == 0
    {
        return Err(auth::bad_request(ApiError::Rejected(
            LAST_SUPER_ADMIN.into(),
        )));
    }
    Ok(())
}

#[server(endpoint = "get_dashboard")]
pub async fn get_dashboard() -> Result<DashboardSummary, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let admins = db::admins::list(&state.db).await.map_err(auth::internal)?;
    let recent = db::audit::recent(&state.db, 5)
        .await
        .map_err(auth::internal)?;
    Ok(DashboardSummary {
        node: state.config.node_name.clone(),
        version: crate::server::VERSION.to_string(),
        personas: "Administration, Monitoring, Policy Service".into(),
        admins_enabled: admins.iter().filter(|a| a.enabled).count(),
        admins_total: admins.len(),
        recent_changes: recent.into_iter().map(audit_entry).collect(),
        alarms: db::alarms::list(&state.db, false, 10)
            .await
            .map_err(auth::internal)?
            .into_iter()
            .filter_map(crate::server::alarms::view)
            .map(|alarm| DashboardAlarm {
                severity: alarm.severity.as_str().into(),
                severity_label: alarm.severity.label().into(),
                status: alarm.status(),
                name: alarm.name,
                occurrences: alarm.occurrences,
                last_at: alarm.last_at,
            })
            .collect(),
    })
}

#[server(endpoint = "list_audit")]
pub async fn list_audit() -> Result<Vec<AuditEntry>, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let rows = db::audit::recent(&state.db, 500)
        .await
        .map_err(auth::internal)?;
    Ok(rows.into_iter().map(audit_entry).collect())
}
