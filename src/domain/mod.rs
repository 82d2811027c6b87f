//! Pure types and rules shared by the server and the browser. No IO here.

pub mod admin;
pub mod alarm;
pub mod api;
pub mod backup;
pub mod certificate;
pub mod connection_test;
pub mod deployment;
pub mod diagnosis;
mod email;
pub mod exchange;
pub mod guest;
pub mod guest_type;
pub mod language;
pub mod limits;
pub mod logs;
pub mod mail;
pub mod password_policy;
pub mod portal;
pub mod proxy;
mod role;
mod secret;
pub mod smtp;
pub mod sponsor;
pub mod system_certificate;
pub mod template;
pub mod token;
pub mod transcript;

pub use admin::{AdminForm, AdminName, AdminPassword, AdminStatus, FieldError, ValidAdmin};
pub use email::EmailAddress;
pub use role::{Access, Role};
pub use secret::Secret;

/// Where to go after signing in: `next` when it is a path on this console
/// (not `//host` or `/\\host`, which browsers read as another site), else
/// the dashboard.
pub fn local_next(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && next.len() <= 2048
                && !next.chars().any(|c| c.is_control()) =>
        {
            next
        }
        _ => "/",
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// URL's query or a data: URL.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Rejects carriage returns and line feeds, which would let a value inject
/// headers or SMTP commands wherever it is later written.
pub fn reject_line_breaks(field: &str, value: &str) -> Result<(), FieldError> {
    if value.contains(['\r', '\n']) {
        Err(FieldError::new(field, "Line breaks are not allowed."))
    } else {
        Ok(())
    }
}
