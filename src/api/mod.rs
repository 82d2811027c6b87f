//! Server functions and the DTOs they exchange, grouped by page. Each one
//! checks its caller's role on the server before doing anything.

pub mod admins;
pub mod auth;

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
