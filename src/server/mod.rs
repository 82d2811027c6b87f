//! Everything that does IO. Compiled only into the server binary.

pub mod alarms;
pub mod assets;
pub mod auth;
pub mod backup;
pub mod certs;
pub mod cli;
pub mod clock;
pub mod db;
pub mod deployment;
pub mod edge;
pub mod ers;
pub mod graph;
pub mod guest_approval;
pub mod guests;
pub mod http;
pub mod https;
pub mod languages;
pub mod logging;
pub mod mail;
pub mod oauth;
pub mod passwords;
pub mod pki;
pub mod repository;
pub mod service;
pub mod settings;
pub mod smtp;
pub mod throttle;
pub mod tls;
pub mod vault;

use crate::server::clock::Clock;
use crate::server::vault::Vault;
use sqlx::AnyPool;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Settings read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Where DISK repositories' folders are (`MAILROOM_LOCALDISK`, by
    /// default `localdisk` in the data directory): admins name folders
    /// under it, never a path elsewhere on the node.
    pub local_disk: PathBuf,
    /// `node/pid-random`: this process, as the deployment's tables name it.
    pub instance: String,
    pub node_name: String,
    pub session_idle: Duration,
    pub edge: crate::server::edge::EdgeConfig,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> anyhow::Result<Self> {
        let idle_minutes = std::env::var("MAILROOM_SESSION_IDLE_MINUTES")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|m| (1..=24 * 60).contains(m))
            .unwrap_or(30);
        let node_name = std::env::var("MAILROOM_NODE_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "mailroom".to_string());
        // Names this process in the deployment: its registration, its
        // leases on rows and jobs. A restarted node is a new instance; its
        // leases start with "node/", which a restart takes back.
        let instance = format!(
            "{node_name}/{}-{}",
            std::process::id(),
            &crate::server::auth::random_token()[..12]
        );
        let local_disk = std::env::var_os("MAILROOM_LOCALDISK")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("localdisk"));
        Ok(Config {
            local_disk,
            data_dir,
            instance,
            node_name,
            session_idle: Duration::from_secs(idle_minutes * 60),
            edge: crate::server::edge::EdgeConfig::from_env()?,
        })
    }
}

/// The console's shared state: what the services, jobs and delivery
/// workers use. No web-framework type lives here; the HTTP layer wraps it
/// (`http::WebState`) with what the pages need.
#[derive(Clone)]
pub struct AppState {
    pub db: AnyPool,
    pub vault: Arc<Vault>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    /// The per-component log levels the logging layer reads on every event.
    pub log_levels: Arc<logging::LogLevels>,
    /// The outbox's dispatcher: token cache, SMTP session pool, waiters.
    pub mailer: Arc<mail::Mailer>,
    /// Whether this node runs the scheduled jobs (the PRIMARY), as its last
    /// lease renewal found (`deployment::runs_jobs`).
    pub primary: Arc<std::sync::atomic::AtomicBool>,
    /// This node's personas (`domain::deployment::Personas` bits), as its
    /// last heartbeat read them: every persona until then.
    pub personas: Arc<std::sync::atomic::AtomicU8>,
    /// The certificates this node's HTTPS listener presents.
    pub tls: Arc<https::CertificateResolver>,
}

impl AppState {
    /// The injected clock's time, in Unix seconds.
    pub fn now(&self) -> i64 {
        clock::unix(self.clock.now())
    }

    /// Whether this node has `persona` now (an admin may change it on the
    /// Deployment page; the node applies it within a heartbeat).
    pub fn has_persona(&self, persona: crate::domain::deployment::Persona) -> bool {
        crate::domain::deployment::Personas::from_bits(
            self.personas.load(std::sync::atomic::Ordering::Relaxed),
        )
        .has(persona)
    }

    /// The injected clock's time, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        clock::unix_ms(self.clock.now())
    }
}

/// Product version shown on the dashboard and in logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
