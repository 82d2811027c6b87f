//! Administration > System > Settings > SMTP Server: read, Test Connection,
//! and Save (refused without a passed test of exactly the values saved).

use super::ApiError;
use crate::domain::connection_test::ConnectionTestReport;
use crate::domain::smtp::SmtpSettingsForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The page's values. Secrets are never sent: only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpPage {
    pub form: SmtpSettingsForm,
    pub password_set: bool,
    pub client_secret_set: bool,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

pub const SAVE_NEEDS_TEST: &str = "Run Test Connection with these values first: the configuration can only be saved after a successful test.";

#[server(endpoint = "get_smtp_settings")]
pub async fn get_smtp_settings() -> Result<SmtpPage, ApiError> {
    use crate::server::{auth, db, settings};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let row = db::smtp::get(&state.db).await.map_err(auth::internal)?;
    let stored = settings::stored_secrets(&state)
        .await
        .map_err(auth::internal)?;
    Ok(SmtpPage {
        form: row
            .as_ref()
            .map(|r| r.form())
            .unwrap_or_else(settings::default_smtp_form),
        password_set: stored.password,
        client_secret_set: stored.client_secret,
        updated_by: row.as_ref().map(|r| r.updated_by.clone()),
        updated_at: row.as_ref().map(|r| r.updated_at),
    })
}

#[server(endpoint = "test_smtp_connection")]
pub async fn test_smtp_connection(
    form: SmtpSettingsForm,
) -> Result<ConnectionTestReport, ApiError> {
    use crate::server::{auth, settings, smtp};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let stored = settings::stored_secrets(&state)
        .await
        .map_err(auth::internal)?;
    let validated = form.validate(stored).map_err(auth::bad_request)?;
    let secret = settings::effective_secret(&state, &validated)
        .await
        .map_err(auth::internal)?;
    let context = smtp::TestContext {
        secret: secret.clone(),
        assertion: None,
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
    let stored = settings::stored_secrets(&state)
        .await
        .map_err(auth::internal)?;
    let validated = form.validate(stored).map_err(auth::bad_request)?;
    let secret = settings::effective_secret(&state, &validated)
        .await
        .map_err(auth::internal)?;
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
    let mut tx = state.db.begin().await.map_err(auth::internal)?;
    db::smtp::put(
        &mut *tx,
        &form,
        validated.port.get(),
        validated.timeout.seconds(),
        now,
        &caller.admin.name,
    )
    .await
    .map_err(auth::internal)?;
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
    state.test_gate.forget(&caller.admin.name);
    get_smtp_settings().await
}
