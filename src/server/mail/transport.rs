//! The settings the workers deliver with, loaded once per change, and the
//! pooled lettre transport built from them and the current credential.

use crate::domain::Secret;
use crate::domain::smtp::SmtpSettings;
use crate::server::AppState;
use crate::server::db;
use crate::server::oauth::client::HttpSetup;
use crate::server::settings;
use crate::server::smtp::transport::tls_parameters;
use lettre::transport::smtp::client::TlsParameters;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

pub struct Prepared {
    pub generation: u64,
    pub settings: SmtpSettings,
    /// The password or client secret (none for the certificate credential).
    pub secret: Option<Secret>,
    pub starttls: Option<TlsParameters>,
    /// For token requests: the same trust store and the proxy.
    pub http: HttpSetup,
    pub hello_name: String,
}

impl Prepared {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.timeout.seconds()))
    }
}

/// Why there is nothing to deliver with.
pub enum Unprepared {
    NotConfigured,
    Failed(anyhow::Error),
}

/// A built pool and what it was built for: the settings generation and a
/// digest of the credential (never the credential itself).
struct Pool {
    generation: u64,
    credential_digest: [u8; 32],
    transport: Arc<Transport>,
}

#[derive(Default)]
pub struct TransportSlot {
    prepared: tokio::sync::Mutex<Option<Arc<Prepared>>>,
    pool: Mutex<Option<Pool>>,
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

    /// The pool for these settings and this credential (a token, a
    /// password): the current one, or a new one when either changed. The
    /// flag says whether it was just created.
    pub fn pool(
        &self,
        prepared: &Prepared,
        credential: Option<&Secret>,
        build: impl FnOnce() -> Transport,
    ) -> (Arc<Transport>, bool) {
        let mut digest = Sha256::new();
        if let Some(credential) = credential {
            digest.update(credential.expose().as_bytes());
        }
        let digest: [u8; 32] = digest.finalize().into();
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(current) = pool.as_ref()
            && current.generation == prepared.generation
            && current.credential_digest == digest
        {
            return (current.transport.clone(), false);
        }
        let transport = Arc::new(build());
        *pool = Some(Pool {
            generation: prepared.generation,
            credential_digest: digest,
            transport: transport.clone(),
        });
        (transport, true)
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
    let settings = form.validate(stored).map_err(|e| {
        failed(anyhow::anyhow!(
            "the saved SMTP settings are incomplete: {}",
            e.message
        ))
    })?;
    let secret = settings::effective_secret(state, &settings)
        .await
        .map_err(failed)?;
    let starttls = if settings.use_tls {
        let imported = db::certificates::infrastructure_ders(&state.db)
            .await
            .map_err(|e| failed(e.into()))?;
        Some(
            tls_parameters(settings.host.as_str(), &imported)
                .map_err(|e| failed(anyhow::anyhow!("TLS set-up: {e}")))?,
        )
    } else {
        None
    };
    let timeout = Duration::from_secs(u64::from(settings.timeout.seconds()));
    let http = HttpSetup {
        tls: settings::trust(state).await.map_err(failed)?,
        proxy: settings::proxy(state).await.map_err(failed)?,
        timeout,
    };
    Ok(Prepared {
        generation,
        settings,
        secret,
        starttls,
        http,
        hello_name: state.config.node_name.clone(),
    })
}
