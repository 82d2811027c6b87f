//! The settings the workers deliver with, loaded once per change, and the
//! pool of open SMTP sessions signed in with the current credential.

use crate::domain::Secret;
use crate::domain::smtp::SmtpSettings;
use crate::server::AppState;
use crate::server::db;
use crate::server::graph::GraphClient;
use crate::server::mail::pacing::ConnectionSlot;
use crate::server::oauth::client::HttpSetup;
use crate::server::settings;
use crate::server::smtp::session::{Session, Target};
use crate::server::smtp::transport::tls_parameters;
use lettre::transport::smtp::client::TlsParameters;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An idle session older than this is closed rather than reused: servers
/// drop idle SMTP sessions (Exchange after about a minute).
const IDLE_LIMIT: Duration = Duration::from_secs(50);

pub struct Prepared {
    pub generation: u64,
    pub settings: SmtpSettings,
    /// The password or client secret (none for the certificate credential).
    pub secret: Option<Secret>,
    pub starttls: Option<TlsParameters>,
    /// For token requests: the same trust store and the proxy.
    pub http: HttpSetup,
    pub hello_name: String,
    /// The Graph client, when mail goes through Microsoft Graph.
    pub graph: Option<GraphClient>,
}

impl Prepared {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.timeout.seconds()))
    }

    pub fn target(&self) -> Target {
        Target {
            host: self.settings.host.as_str().to_string(),
            port: self.settings.port.get(),
            timeout: self.timeout(),
            starttls: self.starttls.clone(),
            hello_name: self.hello_name.clone(),
        }
    }
}

/// Why there is nothing to deliver with.
pub enum Unprepared {
    NotConfigured,
    /// OAuth settings without their client secret or certificate.
    CredentialMissing {
        certificate: bool,
    },
    Failed(anyhow::Error),
}

/// A signed-in session with what it was opened with: the settings
/// generation, the login and a digest of the credential (never the
/// credential itself). Idle in the pool, or kept by a sender for the
/// message it already carries.
pub struct OpenSession {
    pub generation: u64,
    /// Who the session signed in as: a pool has one mailbox per sender.
    pub login: String,
    pub credential_digest: [u8; 32],
    pub session: Session,
    /// The mailbox's connection slot it holds, under sending limits.
    pub slot: Option<ConnectionSlot>,
}

impl OpenSession {
    /// Opened with these settings, as this login, with this credential.
    pub fn opened_with(&self, generation: u64, login: &str, credential_digest: &[u8; 32]) -> bool {
        self.generation == generation
            && self.login == login
            && self.credential_digest == *credential_digest
    }
}

/// The digest that tells sessions signed in with different credentials apart.
pub fn credential_digest(credential: Option<&Secret>) -> [u8; 32] {
    let mut digest = Sha256::new();
    if let Some(credential) = credential {
        digest.update(credential.expose().as_bytes());
    }
    digest.finalize().into()
}

#[derive(Default)]
pub struct TransportSlot {
    prepared: tokio::sync::Mutex<Option<Arc<Prepared>>>,
    idle: Mutex<Vec<OpenSession>>,
}

impl TransportSlot {
    /// The settings of `generation`, loaded now if they changed since the last call.
    pub async fn prepared(
        &self,
        state: &AppState,
        generation: u64,
    ) -> Result<Arc<Prepared>, Unprepared> {
        let mut slot = self.prepared.lock().await;
        if let Some(prepared) = slot.as_ref()
            && prepared.generation == generation
        {
            return Ok(prepared.clone());
        }
        let prepared = Arc::new(load(state, generation).await?);
        *slot = Some(prepared.clone());
        Ok(prepared)
    }

    /// An idle session of `login` opened with these settings and this
    /// credential, if any. Sessions of older settings, of this login's older
    /// credentials, broken ones and ones idle too long are dropped on the
    /// way; other logins' sessions stay.
    pub fn checkout(
        &self,
        generation: u64,
        login: &str,
        credential_digest: &[u8; 32],
    ) -> Option<(Session, Option<ConnectionSlot>)> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|i| {
            i.generation == generation
                && (i.login != login || i.credential_digest == *credential_digest)
                && i.session.reusable(IDLE_LIMIT)
        });
        let found = idle.iter().rposition(|i| i.login == login)?;
        let open = idle.swap_remove(found);
        Some((open.session, open.slot))
    }

    /// Closes the sessions idle longer than `limit`.
    pub fn close_idle(&self, limit: Duration) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|i| i.session.reusable(limit.min(IDLE_LIMIT)));
    }

    /// Returns a session after a successful send, for the next message;
    /// closes it instead when `max_idle` (0: no limit) of its login are
    /// already idle.
    pub fn checkin(&self, open: OpenSession, max_idle: usize) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if max_idle > 0 && idle.iter().filter(|i| i.login == open.login).count() >= max_idle {
            return;
        }
        idle.push(open);
    }
}

async fn load(state: &AppState, generation: u64) -> Result<Prepared, Unprepared> {
    let failed = |e: anyhow::Error| Unprepared::Failed(e);
    let row = db::smtp::get(&state.db)
        .await
        .map_err(|e| failed(e.into()))?
        .ok_or(Unprepared::NotConfigured)?;
    let form = row.form();
    let stored = settings::stored_secrets(state, &form)
        .await
        .map_err(failed)?;
    if settings::oauth_credential_missing(&row, &stored) {
        return Err(Unprepared::CredentialMissing {
            certificate: row.credential == "certificate",
        });
    }
    let settings = form.validate(stored).map_err(|e| {
        failed(anyhow::anyhow!(
            "the saved SMTP settings are incomplete: {}",
            e.message
        ))
    })?;
    let secret = settings::effective_secret(state, &settings)
        .await
        .map_err(failed)?;
    // One read of the trusted CAs serves both STARTTLS and the token request.
    let imported = db::certificates::infrastructure_ders(&state.db)
        .await
        .map_err(|e| failed(e.into()))?;
    let graph_endpoint = settings.graph_endpoint().map(str::to_string);
    let starttls = if settings.use_tls && graph_endpoint.is_none() {
        Some(
            tls_parameters(settings.host.as_str(), &imported)
                .map_err(|e| failed(anyhow::anyhow!("TLS set-up: {e}")))?,
        )
    } else {
        None
    };
    let timeout = Duration::from_secs(u64::from(settings.timeout.seconds()));
    let http = HttpSetup {
        tls: crate::server::tls::client_config(&imported),
        proxy: settings::proxy(state).await.map_err(failed)?,
        timeout,
    };
    let graph = match graph_endpoint {
        Some(endpoint) => Some(
            GraphClient::new(&http, &endpoint)
                .map_err(|d| failed(anyhow::anyhow!("Microsoft Graph client: {}", d.message)))?,
        ),
        None => None,
    };
    Ok(Prepared {
        generation,
        settings,
        secret,
        starttls,
        http,
        hello_name: state.config.node_name.clone(),
        graph,
    })
}
