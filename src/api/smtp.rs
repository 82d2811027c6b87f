//! Administration > System > Settings > SMTP Server: read, Test Connection,
//! and Save (refused without a passed test of exactly the values saved).

use super::ApiError;
use crate::domain::connection_test::ConnectionTestReport;
use crate::domain::smtp::{NextSecretForm, SmtpSettingsForm};
pub use crate::domain::smtp::{OAuthCertificateInfo, SAVE_NEEDS_TEST, SmtpPage};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, smtp};

#[server(endpoint = "get_smtp_settings")]
pub async fn get_smtp_settings() -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::get(&state, &caller).await.map_err(super::failed)
}

#[server(endpoint = "test_smtp_connection")]
pub async fn test_smtp_connection(
    form: SmtpSettingsForm,
) -> Result<ConnectionTestReport, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::test_connection(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_smtp_settings")]
pub async fn save_smtp_settings(form: SmtpSettingsForm) -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::save(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

/// Generates a key pair and a self-signed certificate in the console.
#[server(endpoint = "generate_oauth_certificate")]
pub async fn generate_oauth_certificate() -> Result<OAuthCertificateInfo, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::generate_certificate(&state, &caller)
        .await
        .map_err(super::failed)
}

/// Uploads a certificate and its private key (multipart: `certificate`, `private_key`).
#[server(input = MultipartFormData, endpoint = "upload_oauth_certificate")]
pub async fn upload_oauth_certificate(
    data: MultipartData,
) -> Result<OAuthCertificateInfo, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let (certificate, key) = certificate_and_key(data).await?;
    smtp::upload_certificate(&state, &caller, &certificate, &key)
        .await
        .map_err(super::failed)
}

/// Test Connection of the saved settings with the next client secret: the
/// token only, or every rung (`whole_ladder`).
#[server(endpoint = "test_next_client_secret")]
pub async fn test_next_client_secret(
    form: NextSecretForm,
    whole_ladder: bool,
) -> Result<ConnectionTestReport, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::test_next_secret(&state, &caller, &form, whole_ladder)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "stage_next_client_secret")]
pub async fn stage_next_client_secret(form: NextSecretForm) -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::stage_next_secret(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "switch_to_next_client_secret")]
pub async fn switch_to_next_client_secret() -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::switch_to_next_secret(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "discard_next_client_secret")]
pub async fn discard_next_client_secret() -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::discard_next_secret(&state, &caller)
        .await
        .map_err(super::failed)
}

/// Generates the next certificate in the console and stages it.
#[server(endpoint = "generate_next_oauth_certificate")]
pub async fn generate_next_oauth_certificate() -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::generate_next_certificate(&state, &caller)
        .await
        .map_err(super::failed)
}

/// Stages an uploaded certificate and its private key as the next one
/// (multipart: `certificate`, `private_key`).
#[server(input = MultipartFormData, endpoint = "upload_next_oauth_certificate")]
pub async fn upload_next_oauth_certificate(data: MultipartData) -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let (certificate, key) = certificate_and_key(data).await?;
    smtp::upload_next_certificate(&state, &caller, &certificate, &key)
        .await
        .map_err(super::failed)
}

/// Test Connection of the saved settings signing with the staged next
/// certificate: the token only, or every rung (`whole_ladder`).
#[server(endpoint = "test_next_oauth_certificate")]
pub async fn test_next_oauth_certificate(
    whole_ladder: bool,
) -> Result<ConnectionTestReport, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::test_next_certificate(&state, &caller, whole_ladder)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "switch_to_next_oauth_certificate")]
pub async fn switch_to_next_oauth_certificate() -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::switch_to_next_certificate(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "discard_next_oauth_certificate")]
pub async fn discard_next_oauth_certificate() -> Result<SmtpPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    smtp::discard_next_certificate(&state, &caller)
        .await
        .map_err(super::failed)
}

/// The `certificate` and `private_key` parts of an upload.
#[cfg(feature = "ssr")]
async fn certificate_and_key(
    data: MultipartData,
) -> Result<(Vec<u8>, crate::domain::Secret), ApiError> {
    let mut fields = super::read_multipart(data, 64 * 1024).await?;
    let certificate = fields.remove("certificate").unwrap_or_default();
    let key = crate::domain::Secret::new(
        String::from_utf8_lossy(&fields.remove("private_key").unwrap_or_default()).into_owned(),
    );
    Ok((certificate, key))
}
