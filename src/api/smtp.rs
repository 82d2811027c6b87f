//! Administration > System > Settings > SMTP Server: read, Test Connection,
//! and Save (refused without a passed test of exactly the values saved).

use super::ApiError;
use crate::domain::connection_test::ConnectionTestReport;
use crate::domain::smtp::SmtpSettingsForm;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

/// A certificate credential: public facts only, and the certificate itself
/// (PEM) for upload to the Entra app. Its private key never leaves the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthCertificateInfo {
    pub id: i64,
    pub subject: String,
    /// Hex SHA-256 of the certificate (Entra shows the SHA-1 thumbprint; both identify it).
    pub sha256: String,
    pub x5t_s256: String,
    pub not_before: i64,
    pub not_after: i64,
    pub origin: String,
    pub pem: String,
}

#[cfg(feature = "ssr")]
fn certificate_info(
    row: crate::server::db::oauth_certificates::OAuthCertificateRow,
) -> OAuthCertificateInfo {
    OAuthCertificateInfo {
        x5t_s256: crate::server::oauth::certificate::x5t_s256(&row.der),
        pem: crate::server::certs::to_pem(&row.der),
        id: row.id,
        subject: row.subject,
        sha256: row.sha256,
        not_before: row.not_before,
        not_after: row.not_after,
        origin: row.origin,
    }
}

/// The page's values. Secrets are never sent: only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpPage {
    pub form: SmtpSettingsForm,
    pub password_set: bool,
    pub client_secret_set: bool,
    /// The certificate credential the saved settings name, if any.
    pub certificate: Option<OAuthCertificateInfo>,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

pub const SAVE_NEEDS_TEST: &str = "Run Test Connection with these values first: the configuration can only be saved after a successful test.";

#[server(endpoint = "get_smtp_settings")]
pub async fn get_smtp_settings() -> Result<SmtpPage, ApiError> {
    use crate::server::{auth, db, settings};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let row = db::smtp::get(&state.db).await.map_err(auth::internal)?;
    let form = row
        .as_ref()
        .map(|r| r.form())
        .unwrap_or_else(settings::default_smtp_form);
    let stored = settings::stored_secrets(&state, &form)
        .await
        .map_err(auth::internal)?;
    let certificate = match row.as_ref().and_then(|r| r.certificate_id) {
        Some(id) => db::oauth_certificates::get(&state.db, id)
            .await
            .map_err(auth::internal)?
            .map(certificate_info),
        None => None,
    };
    Ok(SmtpPage {
        form,
        password_set: stored.password,
        client_secret_set: stored.client_secret,
        certificate,
        updated_by: row.as_ref().map(|r| r.updated_by.clone()),
        updated_at: row.as_ref().map(|r| r.updated_at),
    })
}

/// The form checked against what is stored, and the password or client
/// secret it would use (typed, or the stored one).
#[cfg(feature = "ssr")]
async fn resolve(
    state: &crate::server::AppState,
    form: &SmtpSettingsForm,
) -> Result<
    (
        crate::domain::smtp::SmtpSettings,
        Option<crate::domain::Secret>,
    ),
    ApiError,
> {
    use crate::server::{auth, settings};
    let stored = settings::stored_secrets(state, form)
        .await
        .map_err(auth::internal)?;
    let validated = form.validate(stored).map_err(auth::bad_request)?;
    let secret = settings::effective_secret(state, &validated)
        .await
        .map_err(auth::internal)?;
    Ok((validated, secret))
}

#[server(endpoint = "test_smtp_connection")]
pub async fn test_smtp_connection(
    form: SmtpSettingsForm,
) -> Result<ConnectionTestReport, ApiError> {
    use crate::server::{auth, settings, smtp};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let (validated, secret) = resolve(&state, &form).await?;
    let assertion = settings::client_assertion(&state, &validated)
        .await
        .map_err(auth::internal)?;
    let context = smtp::TestContext {
        secret: secret.clone(),
        assertion,
        tls: settings::trust(&state).await.map_err(auth::internal)?,
        proxy: settings::proxy(&state).await.map_err(auth::internal)?,
        hello_name: state.config.node_name.clone(),
    };
    tracing::info!(target: "smtp", user = %caller.admin.name, "Test Connection to {}:{}", validated.host, validated.port.get());
    let report = smtp::test_connection(&validated, context).await;
    if report.passed() {
        state
            .test_gate
            .record_pass(&caller.admin.name, &validated, secret.as_ref());
        tracing::info!(target: "smtp", user = %caller.admin.name, "{}", report.summary);
    } else {
        state.test_gate.forget(&caller.admin.name);
        if let Some(d) = &report.diagnosis {
            tracing::warn!(target: "smtp", user = %caller.admin.name, "Test Connection failed at {}: {} {}", d.step.label(), d.code, d.message);
        }
    }
    Ok(report)
}

#[server(endpoint = "save_smtp_settings")]
pub async fn save_smtp_settings(form: SmtpSettingsForm) -> Result<SmtpPage, ApiError> {
    use crate::domain::smtp::{OAuthCredential, SmtpAuth};
    use crate::server::clock::unix;
    use crate::server::{auth, db, settings};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let (validated, secret) = resolve(&state, &form).await?;
    if !state
        .test_gate
        .allows(&caller.admin.name, &validated, secret.as_ref())
    {
        return Err(auth::bad_request(ApiError::Rejected(
            SAVE_NEEDS_TEST.into(),
        )));
    }
    let now = unix(state.clock.now());
    let before = db::smtp::get(&state.db)
        .await
        .map_err(auth::internal)?
        .map(|r| r.form())
        .unwrap_or_else(settings::default_smtp_form);
    let certificate_id = match &validated.auth {
        SmtpAuth::OAuth {
            credential: OAuthCredential::Certificate { id },
            ..
        } => Some(*id),
        _ => None,
    };
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    db::smtp::put(
        &mut *tx,
        &form,
        validated.port.get(),
        validated.timeout.seconds(),
        certificate_id,
        now,
        &caller.admin.name,
    )
    .await
    .map_err(auth::internal)?;
    // Certificates no longer in use go, with their private keys.
    for id in db::oauth_certificates::unused(&mut *tx, certificate_id.unwrap_or(0))
        .await
        .map_err(auth::internal)?
    {
        db::vault::delete(&mut *tx, settings::OAUTH_CERTIFICATE_KEY, &id.to_string())
            .await
            .map_err(auth::internal)?;
        db::oauth_certificates::delete(&mut *tx, id)
            .await
            .map_err(auth::internal)?;
    }
    let new_secret = match &validated.auth {
        SmtpAuth::Password {
            new_password: Some(value),
            ..
        } => Some((settings::SMTP_PASSWORD, value)),
        SmtpAuth::OAuth {
            credential:
                OAuthCredential::Secret {
                    new_value: Some(value),
                    ..
                },
            ..
        } => Some((settings::SMTP_CLIENT_SECRET, value)),
        _ => None,
    };
    if let Some((purpose, value)) = new_secret {
        state
            .vault
            .put_in(
                &mut *tx,
                purpose,
                settings::SINGLETON,
                &crate::domain::Secret::new(value.clone()),
                now,
            )
            .await
            .map_err(auth::internal)?;
    }
    let changed = settings::changed_fields(&before, &form).join(", ");
    super::record_audit(&mut tx, &caller, now, "update", "SMTP Server", &changed).await?;
    tx.commit().await.map_err(auth::internal)?;
    state.mailer.settings_changed();
    // A renewed secret clears its alarm before the page reloads.
    if let Err(error) = crate::server::alarms::run_check(&state).await {
        tracing::error!(target: "alarms", "alarm check failed: {error:#}");
    }
    state.test_gate.forget(&caller.admin.name);
    get_smtp_settings().await
}

/// Stores a new certificate credential and its private key (vault). It is
/// used once the settings naming it pass Test Connection and are saved.
#[cfg(feature = "ssr")]
async fn store_certificate(
    state: &crate::server::AppState,
    caller: &crate::server::auth::Caller,
    pair: crate::server::oauth::certificate::KeyAndCertificate,
    origin: &str,
) -> Result<OAuthCertificateInfo, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, certs, db, settings};
    let now = unix(state.clock.now());
    let parsed = certs::parse(&pair.certificate_der, now).map_err(|message| {
        auth::bad_request(crate::domain::FieldError::new("certificate", message))
    })?;
    let mut row = db::oauth_certificates::OAuthCertificateRow {
        id: 0,
        der: parsed.der,
        sha256: parsed.sha256,
        subject: parsed.subject,
        not_before: parsed.not_before,
        not_after: parsed.not_after,
        origin: origin.into(),
        created_at: now,
        created_by: caller.admin.name.clone(),
    };
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    row.id = db::oauth_certificates::insert(&mut *tx, &row)
        .await
        .map_err(auth::internal)?;
    state
        .vault
        .put_in(
            &mut *tx,
            settings::OAUTH_CERTIFICATE_KEY,
            &row.id.to_string(),
            &pair.private_key_pem,
            now,
        )
        .await
        .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        caller,
        now,
        origin,
        &format!("SMTP OAuth certificate {}", row.id),
        "certificate, private_key",
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(certificate_info(row))
}

/// Generates a key pair and a self-signed certificate in the console.
#[server(endpoint = "generate_oauth_certificate")]
pub async fn generate_oauth_certificate() -> Result<OAuthCertificateInfo, ApiError> {
    use crate::server::auth;
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let now = state.clock.now();
    let common_name = format!("Mailroom SMTP OAuth {}", state.config.node_name);
    // RSA key generation takes a moment: keep it off the async workers.
    let pair = tokio::task::spawn_blocking(move || {
        crate::server::oauth::certificate::generate(&common_name, now)
    })
    .await
    .map_err(auth::internal)?
    .map_err(auth::internal)?;
    store_certificate(&state, &caller, pair, "generated").await
}

/// Uploads a certificate and its private key (multipart: `certificate`, `private_key`).
#[server(input = MultipartFormData, endpoint = "upload_oauth_certificate")]
pub async fn upload_oauth_certificate(
    data: MultipartData,
) -> Result<OAuthCertificateInfo, ApiError> {
    use crate::domain::{FieldError, Secret};
    use crate::server::clock::unix;
    use crate::server::{auth, certs};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let mut fields = super::read_multipart(data, 64 * 1024).await?;
    let certificate = fields.remove("certificate").unwrap_or_default();
    let key = Secret::new(
        String::from_utf8_lossy(&fields.remove("private_key").unwrap_or_default()).into_owned(),
    );
    let parsed = certs::parse(&certificate, unix(state.clock.now()))
        .map_err(|message| auth::bad_request(FieldError::new("certificate", message)))?;
    let private_key_pem =
        crate::server::oauth::certificate::key_for_certificate(key.expose(), &parsed.der)
            .map_err(|message| auth::bad_request(FieldError::new("private_key", message)))?;
    let pair = crate::server::oauth::certificate::KeyAndCertificate {
        private_key_pem,
        certificate_der: parsed.der,
    };
    store_certificate(&state, &caller, pair, "uploaded").await
}
