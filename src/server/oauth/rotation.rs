//! The staged next client secret taking over by itself: when Entra ID
//! refuses the current secret as invalid or expired and the next one gets
//! a token, delivery keeps going with the next one, which becomes current.

use super::cache::FetchedToken;
use super::client::request_token;
use crate::domain::Secret;
use crate::domain::alarm::AlarmCode;
use crate::domain::diagnosis::Diagnosis;
use crate::domain::smtp::SmtpSettings;
use crate::server::alarms::{self, Condition};
use crate::server::mail::transport::Prepared;
use crate::server::smtp::token_request;
use crate::server::{AppState, db, settings};

/// Who the audit names for a switch nobody clicked.
const DELIVERY: &str = "system (delivery)";

/// Entra's answers to a client secret that is wrong or past its date.
pub fn secret_refused(diagnosis: &Diagnosis) -> bool {
    matches!(diagnosis.code.as_str(), "AADSTS7000215" | "AADSTS7000222")
}

/// A token from the staged next secret, which then becomes the current
/// secret; `None` when none is staged or Entra refuses it too.
pub async fn token_from_next_secret(
    state: &AppState,
    prepared: &Prepared,
    refused: &Diagnosis,
) -> Option<FetchedToken> {
    let next = match state
        .vault
        .get(settings::SMTP_NEXT_CLIENT_SECRET, settings::SINGLETON)
        .await
    {
        Ok(Some(next)) => next,
        Ok(None) => return None,
        Err(error) => {
            tracing::error!(target: "smtp", "could not read the staged next client secret: {error}");
            return None;
        }
    };
    let request = token_request(&prepared.settings, Some(next.clone()), None)?;
    let token = match request_token(&prepared.http, request).await.result {
        Ok(token) => token,
        Err(also) => {
            tracing::warn!(target: "smtp", "The current client secret was refused ({}) and the staged next secret too ({}): delivery waits for new settings", refused.code, also.code);
            return None;
        }
    };
    match adopt(state, &prepared.settings, &next, refused).await {
        Ok(true) => {
            tracing::warn!(target: "smtp", "Entra ID refused the current client secret ({}): switched to the staged next client secret", refused.code);
            state.mailer.settings_changed();
            if let Err(error) = settings::release_credential_holds(state).await {
                tracing::error!(target: "smtp", "could not release the held mail: {error:#}");
            }
        }
        // Another node or an admin switched first: the token is as good.
        Ok(false) => {}
        Err(error) => {
            tracing::error!(target: "smtp", "could not make the next client secret current: {error:#}");
        }
    }
    Some(token)
}

async fn adopt(
    state: &AppState,
    settings: &SmtpSettings,
    next: &Secret,
    refused: &Diagnosis,
) -> anyhow::Result<bool> {
    let mut tx = db::begin_write(&state.db).await?;
    if !settings::adopt_next_secret(state, &mut tx, next, DELIVERY).await? {
        return Ok(false);
    }
    db::audit::insert(
        &mut *tx,
        &db::audit::AuditRow {
            at: state.now(),
            admin: DELIVERY.into(),
            client_ip: String::new(),
            action: "switch".into(),
            target: "SMTP Server".into(),
            changed_fields: format!(
                "client_secret, secret_expiry (the current secret was refused: {})",
                refused.code
            ),
        },
    )
    .await?;
    db::deployment::bump_settings_version(&mut *tx).await?;
    tx.commit().await?;
    let app = match &settings.auth {
        crate::domain::smtp::SmtpAuth::OAuth { client_id, .. } => client_id.as_str().to_string(),
        _ => String::new(),
    };
    alarms::raise(
        state,
        &Condition::event(
            AlarmCode::NextSecretAdopted,
            format!(
                "Entra ID refused the current client secret of app {app} ({}: {}); the staged next secret worked and is now the current one.",
                refused.code, refused.message
            ),
        ),
    )
    .await?;
    Ok(true)
}
