//! Administration > System > Admin Access > Administrators, the dashboard
//! summary, the configuration-change audit, and the command line's
//! password reset.

use super::{Caller, ServiceError, audit};
use crate::domain::admin::{
    AdminSummary, AuditEntry, DashboardAlarm, DashboardSummary, LAST_SUPER_ADMIN,
};
use crate::domain::{Access, AdminForm, AdminPassword, AdminStatus, Role, Secret};
use crate::server::AppState;
use crate::server::auth::{generate_password, hash_password_off_runtime};
use crate::server::db;
use crate::server::db::admins::AdminRow;

fn summary(row: AdminRow, caller: &Caller) -> AdminSummary {
    AdminSummary {
        id: row.id,
        role: row.role,
        status: if row.enabled {
            AdminStatus::Enabled
        } else {
            AdminStatus::Disabled
        },
        is_self: caller.is(row.id),
        name: row.name,
        email: row.email.unwrap_or_default(),
        first_name: row.first_name,
        last_name: row.last_name,
        description: row.description,
        include_alarm_emails: row.include_alarm_emails,
    }
}

fn audit_entry(row: db::audit::AuditRow) -> AuditEntry {
    AuditEntry {
        at: row.at,
        admin: row.admin,
        client_ip: row.client_ip,
        action: row.action,
        target: row.target,
        changed_fields: row.changed_fields,
    }
}

fn no_such_admin(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("There is no admin user with id {id}."))
}

pub async fn list(app: &AppState, caller: &Caller) -> Result<Vec<AdminSummary>, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::admins::list(&app.db).await?;
    Ok(rows.into_iter().map(|row| summary(row, caller)).collect())
}

pub async fn get(app: &AppState, caller: &Caller, id: i64) -> Result<AdminSummary, ServiceError> {
    caller.require(Access::View)?;
    match db::admins::by_id(&app.db, id).await? {
        Some(row) => Ok(summary(row, caller)),
        None => Err(no_such_admin(id)),
    }
}

/// Creates an admin user; its name.
pub async fn create(
    app: &AppState,
    caller: &Caller,
    form: AdminForm,
) -> Result<String, ServiceError> {
    caller.require(Access::ManageAdmins)?;
    let valid = form.validate(true)?;
    if db::admins::by_name(&app.db, valid.name.as_str())
        .await?
        .is_some()
    {
        return Err(ServiceError::invalid(
            "name",
            format!("An admin user named '{}' already exists.", valid.name),
        ));
    }
    let password = Secret::new(valid.password.clone().unwrap_or_default());
    let hash = hash_password_off_runtime(password).await?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
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
    .await?;
    audit(
        &mut tx,
        caller,
        now,
        "create",
        &format!("admin:{}", valid.name),
        "name, email, first name, last name, description, admin group, status, include system alarms in emails, password",
    )
    .await?;
    tx.commit().await?;
    tracing::info!(target: "admin-access", user = %caller.name, "created admin user '{}' ({})", valid.name, valid.role.label());
    Ok(valid.name.as_str().to_string())
}

/// Saves changes to an admin user; its name. A blank password keeps the
/// current one. A disabled admin, or one whose password someone else
/// changed, is signed out everywhere.
pub async fn update(
    app: &AppState,
    caller: &Caller,
    id: i64,
    form: AdminForm,
) -> Result<String, ServiceError> {
    caller.require(Access::ManageAdmins)?;
    let valid = form.validate(false)?;
    let Some(current) = db::admins::by_id(&app.db, id).await? else {
        return Err(no_such_admin(id));
    };
    if !current.name.eq_ignore_ascii_case(valid.name.as_str()) {
        return Err(ServiceError::invalid(
            "name",
            "An admin user's name cannot be changed.",
        ));
    }
    let enabled = valid.status == AdminStatus::Enabled;
    let hash = match &valid.password {
        Some(password) => Some(hash_password_off_runtime(Secret::new(password.clone())).await?),
        None => None,
    };
    let mut tx = db::begin_write(&app.db).await?;
    check_keeps_a_super_admin(&mut tx, caller, &current, valid.role, enabled).await?;
    let email = valid.email.as_ref().map(|e| e.as_str().to_string());
    let mut changed = super::changed(&[
        (
            "email",
            email != current.email.clone().filter(|e| !e.is_empty()),
        ),
        ("first name", valid.first_name != current.first_name),
        ("last name", valid.last_name != current.last_name),
        ("description", valid.description != current.description),
        ("admin group", valid.role != current.role),
        ("status", enabled != current.enabled),
        (
            "include system alarms in emails",
            valid.include_alarm_emails != current.include_alarm_emails,
        ),
    ]);
    let now = app.now();
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
    .await?;
    if let Some(hash) = &hash {
        db::admins::set_password_hash(&mut *tx, id, hash, now).await?;
        changed.push("password");
    }
    if !enabled || (hash.is_some() && !caller.is(id)) {
        db::sessions::delete_for_admin(&mut *tx, id).await?;
    }
    if !changed.is_empty() {
        audit(
            &mut tx,
            caller,
            now,
            "update",
            &format!("admin:{}", current.name),
            &changed.join(", "),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(target: "admin-access", user = %caller.name, "updated admin user '{}': {}", current.name, if changed.is_empty() { "no changes".to_string() } else { changed.join(", ") });
    Ok(current.name)
}

/// Enables or disables several admin users at once; how many changed.
pub async fn set_status(
    app: &AppState,
    caller: &Caller,
    ids: &[i64],
    enabled: bool,
) -> Result<usize, ServiceError> {
    caller.require(Access::ManageAdmins)?;
    super::check_selection_size(ids, "admin user")?;
    if ids.is_empty() {
        return Err(ServiceError::Conflict(
            "Select at least one admin user.".into(),
        ));
    }
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let mut changed = 0;
    for &id in ids {
        let Some(current) = db::admins::by_id(&mut *tx, id).await? else {
            continue;
        };
        if current.enabled == enabled {
            continue;
        }
        check_keeps_a_super_admin(&mut tx, caller, &current, current.role, enabled).await?;
        if !enabled {
            db::sessions::delete_for_admin(&mut *tx, id).await?;
        }
        db::admins::set_enabled(&mut *tx, id, enabled, now).await?;
        audit(
            &mut tx,
            caller,
            now,
            if enabled { "enable" } else { "disable" },
            &format!("admin:{}", current.name),
            "status",
        )
        .await?;
        changed += 1;
    }
    tx.commit().await?;
    tracing::info!(target: "admin-access", user = %caller.name, "{} {changed} admin user(s)", if enabled { "enabled" } else { "disabled" });
    Ok(changed)
}

/// Nobody disables or demotes themselves, and at least one enabled Super
/// Admin remains. Checked inside the change's transaction.
async fn check_keeps_a_super_admin(
    conn: &mut sqlx::AnyConnection,
    caller: &Caller,
    current: &AdminRow,
    new_role: Role,
    enabled: bool,
) -> Result<(), ServiceError> {
    if caller.is(current.id) {
        if !enabled {
            return Err(ServiceError::invalid(
                "status",
                "You cannot disable your own account.",
            ));
        }
        if new_role != current.role {
            return Err(ServiceError::invalid(
                "role",
                "You cannot change your own admin group.",
            ));
        }
    }
    let loses_super_admin = current.role == Role::SuperAdmin
        && current.enabled
        && (new_role != Role::SuperAdmin || !enabled);
    if loses_super_admin && db::admins::other_enabled_super_admins(conn, current.id).await? == 0 {
        return Err(ServiceError::Conflict(LAST_SUPER_ADMIN.into()));
    }
    Ok(())
}

/// A new password for admin `name` (generated when `password` is `None`,
/// and returned so that it can be shown once); the account is enabled and
/// its sessions end. The command line's way back in.
pub async fn reset_password(
    app: &AppState,
    caller: &Caller,
    name: &str,
    password: Option<Secret>,
) -> Result<Option<Secret>, ServiceError> {
    caller.require(Access::ManageAdmins)?;
    let admin = db::admins::by_name(&app.db, name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no admin user named '{name}'")))?;
    let (password, generated) = match password {
        Some(password) => (password, false),
        None => (generate_password(), true),
    };
    AdminPassword::check("password", password.expose(), &admin.name)?;
    let hash = hash_password_off_runtime(password.clone()).await?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::admins::set_password_hash(&mut *tx, admin.id, &hash, now).await?;
    db::admins::set_enabled(&mut *tx, admin.id, true, now).await?;
    db::sessions::delete_for_admin(&mut *tx, admin.id).await?;
    audit(
        &mut tx,
        caller,
        now,
        "reset-password",
        &format!("admin:{}", admin.name),
        "password, status",
    )
    .await?;
    tx.commit().await?;
    tracing::info!(target: "admin-access", user = %caller.name, "password reset for admin '{}'", admin.name);
    Ok(generated.then_some(password))
}

/// On an empty database, creates the Super Admin `admin` with `password`,
/// or a generated one that is returned so that it is printed once. Only
/// its Argon2id hash is stored.
pub async fn create_first_admin(
    app: &AppState,
    password: Option<Secret>,
) -> Result<Option<Secret>, ServiceError> {
    if db::admins::count(&app.db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(password) => (password, false),
        None => (generate_password(), true),
    };
    AdminPassword::check("password", password.expose(), "admin")?;
    let hash = hash_password_off_runtime(password.clone()).await?;
    let inserted = db::admins::insert(
        &app.db,
        &db::admins::NewAdmin {
            name: "admin",
            email: None,
            first_name: "",
            last_name: "",
            description: "Default admin user",
            role: Role::SuperAdmin,
            enabled: true,
            include_alarm_emails: false,
            password_hash: &hash,
        },
        app.now(),
    )
    .await;
    if let Err(e) = inserted {
        // Nodes starting together on a new database: another one made it.
        if db::admins::count(&app.db).await? > 0 {
            return Ok(None);
        }
        return Err(e.into());
    }
    tracing::info!(target: "admin-access", user = "admin", "created the first Super Admin 'admin'");
    Ok(generated.then_some(password))
}

pub async fn dashboard(app: &AppState, caller: &Caller) -> Result<DashboardSummary, ServiceError> {
    caller.require(Access::View)?;
    let admins = db::admins::list(&app.db).await?;
    let recent = db::audit::recent(&app.db, 5).await?;
    Ok(DashboardSummary {
        node: app.config.node_name.clone(),
        version: crate::server::VERSION.to_string(),
        personas: crate::domain::deployment::Personas::from_bits(
            app.personas.load(std::sync::atomic::Ordering::Relaxed),
        )
        .labels(),
        admins_enabled: admins.iter().filter(|a| a.enabled).count(),
        admins_total: admins.len(),
        recent_changes: recent.into_iter().map(audit_entry).collect(),
        alarms: db::alarms::list(&app.db, false, 10)
            .await?
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
        previous_sign_in: None,
    })
}

/// Operations > Reports > Audit > Change Configuration Audit.
pub async fn audit_log(app: &AppState, caller: &Caller) -> Result<Vec<AuditEntry>, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::audit::recent(&app.db, 500).await?;
    Ok(rows.into_iter().map(audit_entry).collect())
}
