//! The test peers (end2end/peers/peers.mjs): an Entra ID-like token
//! endpoint, Exchange-like SMTP servers built on nodemailer's smtp-server,
//! and an HTTP proxy. Each `Peers` is its own Node process.
#![allow(dead_code)]

pub mod app;
pub mod database;
pub mod forms;
pub mod mail;

/// A comma-separated list of sizes from the environment (the benches'
/// `BENCH_SIZES`...), or `default`.
pub fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// A port nothing listens on now, for a console process of a test.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Peers {
    child: Child,
    pub info: Value,
    _dir: tempfile::TempDir,
}

impl Peers {
    pub fn start() -> Peers {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("end2end/peers/peers.mjs");
        let child = Command::new("node")
            .arg(&script)
            .arg(dir.path())
            .env("PEERS_EXIT_WITH_STDIN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node must be installed (scripts/setup.sh installs it)");
        let ready = dir.path().join("peers.json");
        let started = Instant::now();
        while !ready.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "test peers did not start; run scripts/setup.sh to install end2end/node_modules"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let info = serde_json::from_str(&std::fs::read_to_string(ready).unwrap()).unwrap();
        Peers {
            child,
            info,
            _dir: dir,
        }
    }

    pub fn port(&self, name: &str) -> u16 {
        self.info[name].as_u64().unwrap() as u16
    }

    pub fn text(&self, name: &str) -> String {
        self.info[name].as_str().unwrap().to_string()
    }

    pub fn ca_der(&self) -> Vec<u8> {
        use rustls_pki_types::pem::PemObject;
        let pem = std::fs::read(self.text("ca_pem")).unwrap();
        rustls_pki_types::CertificateDer::from_pem_slice(&pem)
            .unwrap()
            .to_vec()
    }

    pub fn authority(&self) -> String {
        format!("http://127.0.0.1:{}", self.port("token_http"))
    }

    /// Tells the peers how to behave (`/_limits`, `/_faults`, `/_smtp/...`).
    pub async fn control(&self, path: &str, body: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.authority()))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    /// Uploads a certificate (PEM) to the app registration, as an admin
    /// does in Entra ID.
    pub async fn register_certificate(&self, app: &str, pem: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/_apps/{app}/certificates", self.authority()))
            .body(pem.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "register the certificate");
    }

    /// Deletes the certificate with this x5t#S256 from the app registration.
    pub async fn unregister_certificate(&self, app: &str, x5t_s256: &str) {
        let response = reqwest::Client::new()
            .delete(format!(
                "{}/_apps/{app}/certificates/{x5t_s256}",
                self.authority()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "unregister the certificate");
    }

    pub async fn stats(&self) -> Value {
        self.get_json("/_stats").await
    }

    /// What smtp-server accepted, oldest first: `at`, `user`, `from`,
    /// `to`, `message_id`, `subject`…
    pub async fn messages(&self) -> Vec<Value> {
        serde_json::from_value(self.get_json("/_messages").await).unwrap()
    }

    /// The messages delivered to `address` (first recipient), once there
    /// are `count` or `limit` has passed: fewer then, for mail that must
    /// not come.
    pub async fn received_within(
        &self,
        address: &str,
        count: usize,
        limit: std::time::Duration,
    ) -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let mine: Vec<Value> = self
                .messages()
                .await
                .into_iter()
                .filter(|m| m["to"][0] == address)
                .collect();
            if mine.len() >= count || started.elapsed() > limit {
                return mine;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn get_json(&self, path: &str) -> Value {
        reqwest::get(format!("{}{path}", self.authority()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
