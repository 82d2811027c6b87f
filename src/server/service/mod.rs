//! The product's operations, one module per area. Each takes the acting
//! caller and typed input, checks the caller's role, opens the transaction,
//! applies the rules, writes the audit record, announces the change to the
//! workers, and returns a typed result or a `ServiceError`.
//!
//! The pages (through the server functions in `src/api`), plain HTTP
//! handlers and the command line all call these, so each rule is written
//! once, here. Nothing in this module knows which interface called it.

pub mod admins;
pub mod alarms;
pub mod api_settings;
pub mod backup;
pub mod certificates;
pub mod deployment;
pub mod guest_accounts;
pub mod guest_types;
pub mod guests;
pub mod identities;
pub mod limits;
pub mod logs;
pub mod mail_queue;
pub mod portals;
pub mod proxy;
pub mod sessions;
pub mod smtp;
pub mod sponsor_groups;
pub mod sponsors;
pub mod system_certificates;
pub mod vault;

use crate::domain::{Access, FieldError, Role};
use crate::server::db;

/// Why an operation did not happen, in terms each interface maps to its own
/// answer (a status code and a message next to the field or in a banner).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("Your session has ended. Sign in again.")]
    Unauthenticated,
    #[error("Your admin role does not allow this action.")]
    Forbidden,
    /// One input field is wrong; nothing changed.
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error("{0}")]
    NotFound(String),
    /// A rule of the product refuses the change (the last Super Admin, a
    /// type in use, a test that has not passed...).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts: try again later.
    #[error("{0}")]
    Throttled(String),
    /// Something the operation needs is not set up yet (the SMTP server).
    #[error("{0}")]
    Unavailable(String),
    /// An unexpected failure, already logged; callers see no details.
    #[error("The server could not complete the request. Details are in the server log.")]
    Internal,
}

/// The most rows one bulk request may name: more is refused before the
/// database sees it (a selection is a page of a list, not a table).
pub const MAX_SELECTION: usize = 5_000; // as the message says

/// Refuses a selection over `MAX_SELECTION` ids, naming `what`.
pub fn check_selection_size(ids: &[i64], what: &str) -> Result<(), ServiceError> {
    if ids.len() > MAX_SELECTION {
        return Err(ServiceError::invalid(
            "ids",
            format!(
                "Select at most 5,000 {what}s at once ({} were sent).",
                ids.len()
            ),
        ));
    }
    Ok(())
}

impl ServiceError {
    /// Logs an unexpected failure; the caller gets no details.
    pub fn internal(error: impl std::fmt::Display) -> ServiceError {
        tracing::error!(target: "system", "internal error: {error}");
        ServiceError::Internal
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(FieldError::new(field, message))
    }
}

impl From<FieldError> for ServiceError {
    fn from(error: FieldError) -> Self {
        ServiceError::Invalid(error)
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        ServiceError::internal(error)
    }
}

impl From<anyhow::Error> for ServiceError {
    fn from(error: anyhow::Error) -> Self {
        ServiceError::internal(format!("{error:#}"))
    }
}

impl From<crate::server::vault::VaultError> for ServiceError {
    fn from(error: crate::server::vault::VaultError) -> Self {
        ServiceError::internal(error)
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(error: tokio::task::JoinError) -> Self {
        ServiceError::internal(error)
    }
}

/// Who acts: an admin signed in to the console, or the operator of the
/// command line on the node itself.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The admin user name, or `cli`.
    pub name: String,
    pub role: Role,
    /// The admin account; `None` on the command line.
    pub admin_id: Option<i64>,
    /// Where the request came from; empty on the command line.
    pub client_ip: String,
    /// The request came through the ERS API (the audit says so).
    pub via_api: bool,
}

impl Caller {
    /// The command line: whoever may run it on the node has every right.
    pub fn command_line() -> Caller {
        Caller {
            name: "cli".into(),
            role: Role::SuperAdmin,
            admin_id: None,
            client_ip: String::new(),
            via_api: false,
        }
    }

    /// `Forbidden` unless the caller's role allows `access`.
    pub fn require(&self, access: Access) -> Result<(), ServiceError> {
        // Through the API, reading needs an ERS role's read and changing
        // its write (ISE's ERS Admin and ERS Operator).
        let access = match (self.via_api, access) {
            (true, Access::View) => Access::ErsRead,
            (true, Access::ChangeSystemSettings) => Access::ErsWrite,
            (_, access) => access,
        };
        if self.role.allows(access) {
            return Ok(());
        }
        tracing::warn!(target: "admin-access", admin = %self.name, ?access, "refused: role {} lacks access", self.role.label());
        Err(ServiceError::Forbidden)
    }

    /// Whether the caller is the admin account `admin_id`.
    pub fn is(&self, admin_id: i64) -> bool {
        self.admin_id == Some(admin_id)
    }
}

/// Within the transaction of a change every node must load again (the SMTP
/// server, sending limits, proxy, trust, log levels): each node's watcher
/// (`crate::server::deployment`) sees it within seconds; this node at once.
async fn settings_changed_everywhere(conn: &mut sqlx::AnyConnection) -> Result<(), ServiceError> {
    db::deployment::bump_settings_version(conn).await?;
    Ok(())
}

/// Writes the audit record of a change inside the change's own transaction
/// (field names, never values).
async fn audit(
    conn: &mut sqlx::AnyConnection,
    caller: &Caller,
    now: i64,
    action: &str,
    target: &str,
    changed_fields: &str,
) -> Result<(), ServiceError> {
    let action = if caller.via_api {
        format!("{action} via ERS")
    } else {
        action.to_string()
    };
    db::audit::insert(
        conn,
        &db::audit::AuditRow {
            at: now,
            admin: caller.name.clone(),
            client_ip: caller.client_ip.clone(),
            action: action.clone(),
            target: target.into(),
            changed_fields: changed_fields.into(),
        },
    )
    .await?;
    tracing::info!(target: "admin-access", user = %caller.name, "audit: {action} {target} [{changed_fields}]");
    Ok(())
}

/// The names of the fields whose flag is set, joined for the audit record.
fn changed(fields: &[(&'static str, bool)]) -> Vec<&'static str> {
    fields
        .iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| *name)
        .collect()
}

impl From<std::convert::Infallible> for ServiceError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
