//! The staged next credential taking over by itself: when Entra ID refuses
//! the current client secret (invalid or expired) or the current
//! certificate (no longer registered on the app, or expired) and the
//! staged next one gets a token, delivery keeps going with the next one,
//! which becomes current.

use super::cache::FetchedToken;
use super::client::request_token;
use crate::domain::Secret;
use crate::domain::alarm::AlarmCode;
use crate::domain::diagnosis::Diagnosis;
use crate::domain::smtp::{OAuthCredential, SmtpAuth, SmtpSettings};
use crate::server::alarms::{self, Condition};
use crate::server::mail::transport::Prepared;
use crate::server::smtp::token_request;
use crate::server::{AppState, db, settings};

/// Who the audit names for a switch nobody clicked.
const DELIVERY: &str = "system (delivery)";

/// Entra's answers to a credential a staged next one may replace: a client
/// secret that is wrong or past its date; a certificate the app no longer
/// has registered, or past its date (both AADSTS700027).
pub fn credential_refused(credential: &OAuthCredential, diagnosis: &Diagnosis) -> bool {
    let code = diagnosis.code.as_str();
    match credential {
        OAuthCredential::Secret { .. } => matches!(code, "AADSTS7000215" | "AADSTS7000222"),
        OAuthCredential::Certificate { .. } => code == "AADSTS700027",
    }
}

/// The staged credential that would replace the current one.
enum Staged {
    Secret(Secret),
    /// The settings signing with the next certificate, and its id.
    Certificate {
        settings: SmtpSettings,
        id: i64,
    },
}

async fn staged(state: &AppState, current: &SmtpSettings) -> anyhow::Result<Option<Staged>> {
    if current.certificate_id().is_none() {
        return Ok(state
            .vault
            .get(settings::SMTP_NEXT_CLIENT_SECRET, settings::SINGLETON)
            .await?
            .map(Staged::Secret));
    }
    let next = db::smtp::get(&state.db)
        .await?
        .and_then(|row| row.next_certificate_id);
    Ok(next.and_then(|id| {
        current
            .with_certificate(id)
            .map(|settings| Staged::Certificate { settings, id })
    }))
}

impl Staged {
    fn name(&self) -> &'static str {
        match self {
            Staged::Secret(_) => "next client secret",
            Staged::Certificate { .. } => "next certificate",
        }
    }
}

/// A token from the staged next credential, which then becomes the current
/// one; `None` when none is staged or Entra refuses it too.
pub async fn token_from_next_credential(
    state: &AppState,
    prepared: &Prepared,
    refused: &Diagnosis,
) -> Option<FetchedToken> {
    let next = match staged(state, &prepared.settings).await {
        Ok(Some(next)) => next,
        Ok(None) => return None,
        Err(error) => {
            tracing::error!(target: "smtp", "could not read the staged next credential: {error:#}");
            return None;
        }
    };
    let request = match &next {
        Staged::Secret(secret) => token_request(&prepared.settings, Some(secret.clone()), None),
        Staged::Certificate {
            settings: signing, ..
        } => match settings::client_assertion(state, signing).await {
            Ok(assertion) => token_request(signing, None, assertion),
            Err(error) => {
                tracing::error!(target: "smtp", "could not sign with the next certificate: {error:#}");
                return None;
            }
        },
    }?;
    let token = match request_token(&prepared.http, request).await.result {
        Ok(token) => token,
        Err(also) => {
            tracing::warn!(target: "smtp", "The current credential was refused ({}) and the staged {} too ({}): delivery waits for new settings", refused.code, next.name(), also.code);
            return None;
        }
    };
    match adopt(state, &prepared.settings, &next, refused).await {
        Ok(true) => {
            tracing::warn!(target: "smtp", "Entra ID refused the current credential ({}): switched to the staged {}", refused.code, next.name());
            state.mailer.settings_changed();
            if let Err(error) = settings::release_credential_holds(state).await {
                tracing::error!(target: "smtp", "could not release the held mail: {error:#}");
            }
        }
        // Another node or an admin switched first: the token is as good.
        Ok(false) => {}
        Err(error) => {
            tracing::error!(target: "smtp", "could not make the {} current: {error:#}", next.name());
        }
    }
    Some(token)
}

async fn adopt(
    state: &AppState,
    current: &SmtpSettings,
    next: &Staged,
    refused: &Diagnosis,
) -> anyhow::Result<bool> {
    let mut tx = db::begin_write(&state.db).await?;
    let (adopted, fields) = match next {
        Staged::Secret(secret) => (
            settings::adopt_next_secret(state, &mut tx, secret, DELIVERY).await?,
            "client_secret, secret_expiry",
        ),
        Staged::Certificate { id, .. } => {
            let replaced = current.certificate_id().unwrap_or(*id);
            (
                settings::adopt_next_certificate(state, &mut tx, replaced, *id, DELIVERY).await?,
                "certificate",
            )
        }
    };
    if !adopted {
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
                "{fields} (the current credential was refused: {})",
                refused.code
            ),
        },
    )
    .await?;
    db::deployment::bump_settings_version(&mut *tx).await?;
    tx.commit().await?;
    let app = match &current.auth {
        SmtpAuth::OAuth { client_id, .. } => client_id.as_str().to_string(),
        _ => String::new(),
    };
    let (code, what) = match next {
        Staged::Secret(_) => (AlarmCode::NextSecretAdopted, "client secret"),
        Staged::Certificate { .. } => (AlarmCode::NextCertificateAdopted, "certificate"),
    };
    alarms::raise(
        state,
        &Condition::event(
            code,
            format!(
                "Entra ID refused the current {what} of app {app} ({}: {}); the staged {} worked and is now the current one.",
                refused.code,
                refused.message,
                next.name()
            ),
        ),
    )
    .await?;
    Ok(true)
}
