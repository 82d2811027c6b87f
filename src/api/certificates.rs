//! Administration > System > Certificates > Trusted Certificates.

use super::ApiError;
pub use crate::domain::certificate::{TRUST_INFRASTRUCTURE, TrustedCertificate};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, certificates};

#[server(endpoint = "list_trusted_certificates")]
pub async fn list_trusted_certificates() -> Result<Vec<TrustedCertificate>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    certificates::list(&state, &caller)
        .await
        .map_err(super::failed)
}

/// Imports a certificate from a multipart form: `certificate` (the file),
/// `friendly_name`, `trust_infrastructure` ("true" when ticked), `description`.
#[server(input = MultipartFormData, endpoint = "upload_trusted_certificate")]
pub async fn import_trusted_certificate(
    data: MultipartData,
) -> Result<TrustedCertificate, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let mut fields = super::read_multipart(data, 128 * 1024).await?;
    let text = |name: &str| {
        fields
            .get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let import = certificates::Import {
        friendly_name: text("friendly_name"),
        description: text("description"),
        trust_infrastructure: text("trust_infrastructure").trim() == "true",
        file: fields.remove("certificate").unwrap_or_default(),
    };
    certificates::import(&state, &caller, import)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "delete_trusted_certificates")]
pub async fn delete_trusted_certificates(ids: Vec<i64>) -> Result<usize, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    certificates::delete(&state, &caller, &ids)
        .await
        .map_err(super::failed)
}
