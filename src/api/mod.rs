//! Server functions and the DTOs they exchange, grouped by page. Each one
//! checks its caller's role on the server before doing anything.

pub mod admins;
pub mod alarms;
pub mod auth;
pub mod certificates;
pub mod guest;
pub mod guest_types;
pub mod identities;
pub mod limits;
pub mod logs;
pub mod mail;
pub mod portals;
pub mod proxy;
pub mod smtp;
pub mod sponsor;
pub mod sponsor_groups;

use crate::domain::FieldError;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a server function can answer besides success, in terms an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("Your session has ended. Sign in again.")]
    Unauthenticated,
    #[error("Your admin role does not allow this action.")]
    Forbidden,
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    Throttled(String),
    #[error("The server could not complete the request. Details are in the server log.")]
    Internal,
    #[error("The request did not reach the server: {0}")]
    Transport(String),
}

impl ApiError {
    /// The message for one form field, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            ApiError::Invalid(error) if error.field == field => Some(error.message.clone()),
            _ => None,
        }
    }

    /// The banner text: everything that is not tied to a single field.
    pub fn banner(&self) -> Option<String> {
        match self {
            ApiError::Invalid(_) => None,
            other => Some(other.to_string()),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(value: FieldError) -> Self {
        ApiError::Invalid(value)
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ApiError::Transport(value.to_string())
    }
}

/// Writes the audit row for a change inside the change's own transaction.
#[cfg(feature = "ssr")]
pub(crate) async fn record_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    caller: &crate::server::auth::Caller,
    now: i64,
    action: &str,
    target: &str,
    changed_fields: &str,
) -> Result<(), ApiError> {
    use crate::server::{auth, db};
    db::audit::insert(
        &mut **tx,
        &db::audit::AuditRow {
            at: now,
            admin: caller.admin.name.clone(),
            client_ip: caller.client_ip.clone(),
            action: action.into(),
            target: target.into(),
            changed_fields: changed_fields.into(),
        },
    )
    .await
    .map_err(auth::internal)?;
    tracing::info!(target: "admin-access", user = %caller.admin.name, "audit: {action} {target} [{changed_fields}]");
    Ok(())
}

/// The fields of a multipart upload by name, each at most `max_bytes`
/// (a larger one is refused next to its field).
#[cfg(feature = "ssr")]
pub(crate) async fn read_multipart(
    data: leptos::server_fn::codec::MultipartData,
    max_bytes: usize,
) -> Result<std::collections::HashMap<String, Vec<u8>>, ApiError> {
    use crate::server::auth;
    let Some(mut multipart) = data.into_inner() else {
        return Err(auth::bad_request(ApiError::Rejected(
            "Upload the form as multipart/form-data.".into(),
        )));
    };
    let mut fields = std::collections::HashMap::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|_| {
            auth::bad_request(ApiError::Rejected(
                "The upload was interrupted; try again.".into(),
            ))
        })?;
        if bytes.len() > max_bytes {
            return Err(auth::bad_request(FieldError::new(
                name,
                "The file is too large.",
            )));
        }
        fields.insert(name, bytes.to_vec());
    }
    Ok(fields)
}
