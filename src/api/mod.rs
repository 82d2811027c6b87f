//! Server functions, grouped by page, and the DTOs they exchange (defined in
//! `src/domain`). Each one extracts who calls, calls one operation of
//! `src/server/service` (which checks the caller's role first), and maps its
//! `ServiceError` to an `ApiError` and an HTTP status.

pub mod admins;
pub mod alarms;
pub mod api_settings;
pub mod auth;
pub mod backup;
pub mod certificates;
pub mod deployment;
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
pub mod system_certificates;

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
        // On the server these are requests that could not be decoded: the
        // sender's fault (400, or 413 over the body limit), logged in one
        // line, never the server's 500.
        #[cfg(feature = "ssr")]
        if let ServerFnErrorErr::Deserialization(message)
        | ServerFnErrorErr::Args(message)
        | ServerFnErrorErr::MissingArg(message)
        | ServerFnErrorErr::Request(message) = &value
        {
            let status = if message.contains("length limit exceeded") {
                http::StatusCode::PAYLOAD_TOO_LARGE
            } else {
                http::StatusCode::BAD_REQUEST
            };
            let first_line = message.lines().next().unwrap_or_default();
            tracing::warn!(target: "admin-access", "refused an undecodable server-function request ({status}): {first_line}");
            set_status(status);
        }
        ApiError::Transport(value.to_string())
    }
}

/// The console's state, as the HTTP layer put it in the server function's
/// context.
#[cfg(feature = "ssr")]
pub(crate) fn app() -> Result<crate::server::AppState, ApiError> {
    leptos::prelude::use_context::<crate::server::AppState>().ok_or_else(|| {
        failed(crate::server::service::ServiceError::internal(
            "server function called without application context",
        ))
    })
}

/// The state and who calls: the signed-in admin (`Caller`), the signed-in
/// sponsor (`SponsorCaller`) or a `Visitor`, through the same axum
/// extractors plain handlers use. A missing session is a 401.
#[cfg(feature = "ssr")]
pub(crate) async fn caller<T>() -> Result<(crate::server::AppState, T), ApiError>
where
    T: axum::extract::FromRequestParts<crate::server::AppState> + Send,
    T::Rejection: Into<crate::server::service::ServiceError> + std::fmt::Debug,
{
    use crate::server::service::ServiceError;
    let state = app()?;
    let extracted = leptos_axum::extract_with_state::<Result<T, T::Rejection>, _>(&state)
        .await
        .map_err(|e| failed(ServiceError::internal(e)))?;
    match extracted {
        Ok(caller) => Ok((state, caller)),
        Err(rejection) => Err(failed(rejection.into())),
    }
}

/// A service's refusal as the server function's answer: the error the page
/// shows, and the HTTP status a script sees.
#[cfg(feature = "ssr")]
pub(crate) fn failed(error: crate::server::service::ServiceError) -> ApiError {
    use crate::server::service::ServiceError;
    use http::StatusCode;
    let (status, error) = match error {
        ServiceError::Unauthenticated => (StatusCode::UNAUTHORIZED, ApiError::Unauthenticated),
        ServiceError::Forbidden => (StatusCode::FORBIDDEN, ApiError::Forbidden),
        ServiceError::Invalid(field) => (StatusCode::BAD_REQUEST, ApiError::Invalid(field)),
        ServiceError::NotFound(message)
        | ServiceError::Conflict(message)
        | ServiceError::Unavailable(message) => {
            (StatusCode::BAD_REQUEST, ApiError::Rejected(message))
        }
        ServiceError::Throttled(message) => {
            (StatusCode::TOO_MANY_REQUESTS, ApiError::Throttled(message))
        }
        ServiceError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, ApiError::Internal),
    };
    set_status(status);
    error
}

#[cfg(feature = "ssr")]
pub(crate) fn set_status(status: http::StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// Who signs in, for the sign-in throttle: the address, and the browser's
/// device id, a new one (an opaque random id) for a browser without one.
/// The id is trusted for a user once it signs in as that user; pass the
/// client to `keep_device` then.
#[cfg(feature = "ssr")]
pub(crate) fn sign_in_client(
    visitor: &crate::server::auth::Visitor,
) -> crate::server::service::sessions::Client {
    crate::server::service::sessions::Client {
        ip: visitor.client_ip.clone(),
        device: Some(
            visitor
                .device
                .clone()
                .unwrap_or_else(crate::server::auth::random_token),
        ),
    }
}

/// After a successful sign-in: gives the browser its device cookie if it
/// did not send one.
#[cfg(feature = "ssr")]
pub(crate) fn keep_device(
    visitor: &crate::server::auth::Visitor,
    client: &crate::server::service::sessions::Client,
) {
    if let (None, Some(id)) = (&visitor.device, &client.device) {
        set_cookie(crate::server::auth::device_cookie(id, visitor.over_tls));
    }
}

/// Sets a cookie on the server function's response.
#[cfg(feature = "ssr")]
pub(crate) fn set_cookie(cookie: http::HeaderValue) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(http::header::SET_COOKIE, cookie);
    }
}

/// Where `read_multipart` keeps the name of the file a field carried.
#[cfg(feature = "ssr")]
pub(crate) fn file_name_of(field: &str) -> String {
    format!("{field}\u{0}file_name")
}

/// The fields of a multipart upload by name (and, under
/// [`file_name_of`], the name of the file a field carried), each at most `max_bytes`
/// (a larger one is refused next to its field).
#[cfg(feature = "ssr")]
pub(crate) async fn read_multipart(
    data: leptos::server_fn::codec::MultipartData,
    max_bytes: usize,
) -> Result<std::collections::HashMap<String, Vec<u8>>, ApiError> {
    use crate::server::service::ServiceError;
    let Some(mut multipart) = data.into_inner() else {
        return Err(failed(ServiceError::Conflict(
            "Upload the form as multipart/form-data.".into(),
        )));
    };
    let mut fields = std::collections::HashMap::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(file_name) = field.file_name() {
            fields.insert(file_name_of(&name), file_name.as_bytes().to_vec());
        }
        let bytes = field.bytes().await.map_err(|_| {
            failed(ServiceError::Conflict(
                "The upload was interrupted; try again.".into(),
            ))
        })?;
        if bytes.len() > max_bytes {
            return Err(failed(
                FieldError::new(name, "The file is too large.").into(),
            ));
        }
        fields.insert(name, bytes.to_vec());
    }
    Ok(fields)
}
