//! Administration > System > Certificates > System Certificates and
//! Certificate Signing Requests.

use super::ApiError;
pub use crate::domain::system_certificate::{
    CertificateDefaults, CertificateEdit, CertificateRequestForm, KeyType, Pkcs12Export,
    SigningRequest, SubjectFields, SystemCertificate,
};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, system_certificates};

/// A certificate just bound or imported, with the chain that was checked
/// (its subjects, the server's first, the trusted CA last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedCertificate {
    pub certificate: SystemCertificate,
    pub path: Vec<String>,
}

#[server(endpoint = "list_system_certificates")]
pub async fn list_system_certificates() -> Result<Vec<SystemCertificate>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::list(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "system_certificate_defaults")]
pub async fn system_certificate_defaults() -> Result<CertificateDefaults, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::defaults(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "list_signing_requests")]
pub async fn list_signing_requests() -> Result<Vec<SigningRequest>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::signing_requests(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "generate_self_signed_certificate")]
pub async fn generate_self_signed_certificate(
    form: CertificateRequestForm,
) -> Result<SystemCertificate, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::generate_self_signed(&state, &caller, form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "generate_signing_request")]
pub async fn generate_signing_request(
    form: CertificateRequestForm,
) -> Result<SigningRequest, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::generate_signing_request(&state, &caller, form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "edit_system_certificate")]
pub async fn edit_system_certificate(edit: CertificateEdit) -> Result<SystemCertificate, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::edit(&state, &caller, edit)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "delete_system_certificates")]
pub async fn delete_system_certificates(ids: Vec<i64>) -> Result<usize, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::delete(&state, &caller, &ids)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "delete_signing_requests")]
pub async fn delete_signing_requests(ids: Vec<i64>) -> Result<usize, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::delete_signing_requests(&state, &caller, &ids)
        .await
        .map_err(super::failed)
}

/// The certificate and its private key as a PKCS#12 bundle encrypted with
/// `export_password`, after `admin_password` proves the admin is there.
#[server(endpoint = "export_system_certificate_key")]
pub async fn export_system_certificate_key(
    id: i64,
    admin_password: String,
    export_password: String,
    confirm_password: String,
) -> Result<Pkcs12Export, ApiError> {
    use crate::domain::Secret;
    let (state, caller) = super::caller::<Caller>().await?;
    system_certificates::export_pkcs12(
        &state,
        &caller,
        id,
        Secret::new(admin_password),
        Secret::new(export_password),
        Secret::new(confirm_password),
    )
    .await
    .map_err(super::failed)
}

#[cfg(feature = "ssr")]
fn text(fields: &std::collections::HashMap<String, Vec<u8>>, name: &str) -> String {
    fields
        .get(name)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// Bind Certificate, from a multipart form: `request_id`, `certificate`
/// (the CA-signed certificate, with its chain), `friendly_name`.
#[server(input = MultipartFormData, endpoint = "upload_bound_certificate")]
pub async fn bind_certificate(data: MultipartData) -> Result<AddedCertificate, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let mut fields = super::read_multipart(data, crate::server::pki::MAX_FILE_BYTES).await?;
    let request_id = text(&fields, "request_id")
        .trim()
        .parse::<i64>()
        .unwrap_or(0);
    let friendly_name = text(&fields, "friendly_name");
    let file = fields.remove("certificate").unwrap_or_default();
    let (certificate, path) =
        system_certificates::bind(&state, &caller, request_id, file, &friendly_name)
            .await
            .map_err(super::failed)?;
    Ok(AddedCertificate { certificate, path })
}

/// Import, from a multipart form: `node`, `certificate` (PEM/DER, or a
/// PKCS#12 bundle), `private_key`, `password`, `friendly_name`,
/// `used_by_admin` and `used_by_portal` ("true" when ticked).
#[server(input = MultipartFormData, endpoint = "upload_system_certificate")]
pub async fn import_system_certificate(data: MultipartData) -> Result<AddedCertificate, ApiError> {
    use crate::domain::Secret;
    let (state, caller) = super::caller::<Caller>().await?;
    let mut fields = super::read_multipart(data, crate::server::pki::MAX_FILE_BYTES).await?;
    let import = system_certificates::Import {
        node: text(&fields, "node"),
        friendly_name: text(&fields, "friendly_name"),
        password: Secret::new(text(&fields, "password")),
        used_by_admin: text(&fields, "used_by_admin").trim() == "true",
        used_by_portal: text(&fields, "used_by_portal").trim() == "true",
        certificate: fields.remove("certificate").unwrap_or_default(),
        private_key: fields.remove("private_key").unwrap_or_default(),
    };
    let (certificate, path) = system_certificates::import(&state, &caller, import)
        .await
        .map_err(super::failed)?;
    Ok(AddedCertificate { certificate, path })
}
