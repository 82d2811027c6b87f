//! The SMTP, proxy and trust settings as the rest of the server uses them:
//! loading them with their vault secrets, and the rule that SMTP settings
//! are saved only after a successful Test Connection of exactly those values.

use crate::domain::Secret;
use crate::domain::proxy::{ProxyForm, ProxySettings};
use crate::domain::smtp::{
    OAuthCredential, SmtpAuth, SmtpSettings, SmtpSettingsForm, StoredSecrets,
};
use crate::server::AppState;
use crate::server::db;
use crate::server::oauth::client::ProxyConfig;
use crate::server::tls;
use rustls::ClientConfig;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Vault purposes. The record ID is always "1": each is a single setting.
pub const SMTP_PASSWORD: &str = "smtp.password";
pub const SMTP_CLIENT_SECRET: &str = "smtp.client_secret";
/// The next client secret, staged before the current one expires.
pub const SMTP_NEXT_CLIENT_SECRET: &str = "smtp.next_client_secret";
pub const PROXY_PASSWORD: &str = "proxy.password";
/// Keyed by the certificate's ID in `oauth_certificates`.
pub const OAUTH_CERTIFICATE_KEY: &str = "oauth.certificate_key";
pub const SINGLETON: &str = "1";

/// ISE's defaults for a node that has never saved the page.
pub fn default_smtp_form() -> SmtpSettingsForm {
    SmtpSettingsForm {
        smtp_port: "25".into(),
        connection_timeout: "60".into(),
        auth_type: "oauth".into(),
        cloud: "global".into(),
        credential: "secret".into(),
        transport: "smtp".into(),
        ..Default::default()
    }
}

/// What is stored for a form: the password, the client secret, and the
/// certificate the form names (with its private key).
pub async fn stored_secrets(
    state: &AppState,
    form: &SmtpSettingsForm,
) -> anyhow::Result<StoredSecrets> {
    Ok(stored_secrets_and_next(state, form).await?.0)
}

/// `stored_secrets`, and whether a next client secret is staged: the
/// SMTP Server page needs all of them, read in one query.
pub async fn stored_secrets_and_next(
    state: &AppState,
    form: &SmtpSettingsForm,
) -> anyhow::Result<(StoredSecrets, bool)> {
    let certificate = match form.certificate_id.trim().parse::<i64>() {
        Ok(id) => {
            db::oauth_certificates::get(&state.db, id).await?.is_some()
                && state
                    .vault
                    .contains(OAUTH_CERTIFICATE_KEY, &id.to_string())
                    .await?
        }
        Err(_) => false,
    };
    let singletons = state
        .vault
        .stored(
            SINGLETON,
            &[SMTP_PASSWORD, SMTP_CLIENT_SECRET, SMTP_NEXT_CLIENT_SECRET],
        )
        .await?;
    let stored = StoredSecrets {
        password: singletons.contains(SMTP_PASSWORD),
        client_secret: singletons.contains(SMTP_CLIENT_SECRET),
        certificate,
    };
    Ok((stored, singletons.contains(SMTP_NEXT_CLIENT_SECRET)))
}

/// Whether saved settings that use OAuth lack their credential: the client
/// secret or the certificate's key is not stored (a restored backup leaves
/// them out). Mail waits until an admin enters it again.
pub fn oauth_credential_missing(row: &db::smtp::SmtpRow, stored: &StoredSecrets) -> bool {
    row.use_authentication
        && row.auth_type == "oauth"
        && if row.credential == "certificate" {
            !stored.certificate
        } else {
            !stored.client_secret
        }
}

/// The signed client assertion for the certificate credential, if the
/// settings use one.
pub async fn client_assertion(
    state: &AppState,
    settings: &SmtpSettings,
) -> anyhow::Result<Option<Secret>> {
    let SmtpAuth::OAuth {
        cloud,
        client_id,
        tenant_id,
        credential: OAuthCredential::Certificate { id },
        ..
    } = &settings.auth
    else {
        return Ok(None);
    };
    let row = db::oauth_certificates::get(&state.db, *id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("certificate {id} is gone"))?;
    let key = state
        .vault
        .get(OAUTH_CERTIFICATE_KEY, &id.to_string())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the private key of certificate {id} is gone"))?;
    let jwt = crate::server::oauth::certificate::client_assertion(
        &key,
        &row.der,
        client_id.as_str(),
        &cloud.token_endpoint(tenant_id),
        state.now(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    Ok(Some(jwt))
}

/// The password or client secret a test or a send uses: the one just
/// typed, else the stored one.
pub async fn effective_secret(
    state: &AppState,
    settings: &SmtpSettings,
) -> anyhow::Result<Option<Secret>> {
    Ok(match &settings.auth {
        SmtpAuth::None => None,
        SmtpAuth::Password { new_password, .. } => match new_password {
            Some(value) => Some(Secret::new(value.clone())),
            None => state.vault.get(SMTP_PASSWORD, SINGLETON).await?,
        },
        SmtpAuth::OAuth { credential, .. } => match credential {
            OAuthCredential::Secret {
                new_value: Some(value),
                ..
            } => Some(Secret::new(value.clone())),
            OAuthCredential::Secret {
                new_value: None, ..
            } => state.vault.get(SMTP_CLIENT_SECRET, SINGLETON).await?,
            OAuthCredential::Certificate { .. } => None,
        },
    })
}

/// Makes the staged next client secret the current one, with its expiry
/// date, inside the caller's transaction. False when none is staged (any
/// more: another node or admin may have switched first).
pub async fn adopt_next_secret(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    next: &Secret,
    by: &str,
) -> anyhow::Result<bool> {
    let now = state.now();
    if db::smtp::adopt_next_secret(&mut *conn, now, by).await? == 0 {
        return Ok(false);
    }
    state
        .vault
        .put_in(&mut *conn, SMTP_CLIENT_SECRET, SINGLETON, next, now)
        .await?;
    db::vault::delete(&mut *conn, SMTP_NEXT_CLIENT_SECRET, SINGLETON).await?;
    Ok(true)
}

/// Makes the staged certificate `next` the certificate credential inside
/// the caller's transaction; `replaced` goes, with its private key. False
/// when `next` is no longer the staged one (another node or admin switched
/// first).
pub async fn adopt_next_certificate(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    replaced: i64,
    next: i64,
    by: &str,
) -> anyhow::Result<bool> {
    if db::smtp::adopt_next_certificate(&mut *conn, next, state.now(), by).await? == 0 {
        return Ok(false);
    }
    if replaced != next {
        forget_certificate(conn, replaced).await?;
    }
    Ok(true)
}

/// Deletes an OAuth certificate and its private key.
pub async fn forget_certificate(conn: &mut sqlx::AnyConnection, id: i64) -> anyhow::Result<()> {
    db::vault::delete(&mut *conn, OAUTH_CERTIFICATE_KEY, &id.to_string()).await?;
    db::oauth_certificates::delete(&mut *conn, id).await?;
    Ok(())
}

/// After a change of the credential: the mail held for the old one's
/// refusal goes now rather than at its next retry.
pub async fn release_credential_holds(state: &AppState) -> anyhow::Result<()> {
    let released = db::outbox::release_credential_holds(&state.db, state.now_ms()).await?;
    if released > 0 {
        tracing::info!(target: "smtp", "{released} message(s) held for a refused credential are due again");
        state.mailer.wake();
    }
    Ok(())
}

/// The rustls configuration for outbound TLS: system roots plus the
/// imported certificates with the infrastructure trust role.
pub async fn trust(state: &AppState) -> anyhow::Result<Arc<ClientConfig>> {
    let imported = db::certificates::infrastructure_ders(&state.db).await?;
    Ok(tls::client_config(&imported))
}

/// The saved proxy with its password, or `None` for direct connections.
pub async fn proxy(state: &AppState) -> anyhow::Result<Option<ProxyConfig>> {
    let Some(row) = db::proxy::get(&state.db).await? else {
        return Ok(None);
    };
    let form = ProxyForm {
        host: row.host,
        port: row.port.to_string(),
        username: row.username,
        password: String::new(),
        bypass: row.bypass,
    };
    // A stored row was validated when saved; one that no longer parses is
    // treated as no proxy rather than failing every token request.
    let Ok(ProxySettings::Proxy {
        host,
        port,
        username,
        bypass,
        ..
    }) = form.validate()
    else {
        return Ok(None);
    };
    let password = match username {
        Some(_) => state.vault.get(PROXY_PASSWORD, SINGLETON).await?,
        None => None,
    };
    Ok(Some(ProxyConfig {
        host: host.as_str().to_string(),
        port: port.get(),
        username,
        password,
        bypass,
    }))
}

/// How long a passed Test Connection allows a save.
const TEST_VALID_FOR_MS: i64 = 30 * 60 * 1000;

/// Vault purpose of each admin's last passed Test Connection (record id:
/// the admin's name). Sealed in the shared database, so a test passed on
/// one node allows the save on another (a load balancer may send them to
/// different nodes); sealed, so the digest of the secret it used is
/// readable only with the master key.
pub const PASSED_TEST: &str = "smtp.passed_test";
/// Likewise for a test of the saved settings with the staged next secret,
/// which allows Switch Now.
pub const PASSED_NEXT_SECRET_TEST: &str = "smtp.passed_next_secret_test";
/// And with the staged next certificate.
pub const PASSED_NEXT_CERTIFICATE_TEST: &str = "smtp.passed_next_certificate_test";

/// Which passed test: of the values on screen, or of the saved settings
/// with the next client secret or the next certificate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TestOf {
    Settings,
    NextSecret,
    NextCertificate,
}

impl TestOf {
    fn purpose(self) -> &'static str {
        match self {
            TestOf::Settings => PASSED_TEST,
            TestOf::NextSecret => PASSED_NEXT_SECRET_TEST,
            TestOf::NextCertificate => PASSED_NEXT_CERTIFICATE_TEST,
        }
    }
}

/// The last Test Connection an admin passed: its values' fingerprint, a
/// digest of the secret it used, and when.
#[derive(serde::Serialize, serde::Deserialize)]
struct PassedTest {
    fingerprint: String,
    secret_sha256: String,
    passed_at_ms: i64,
}

fn secret_digest(secret: Option<&Secret>) -> String {
    let mut hasher = Sha256::new();
    if let Some(secret) = secret {
        hasher.update([1]);
        hasher.update(secret.expose().as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Remembers that `admin` passed `test` with these values and this secret.
pub async fn record_passed(
    state: &AppState,
    test: TestOf,
    admin: &str,
    settings: &SmtpSettings,
    secret: Option<&Secret>,
) -> anyhow::Result<()> {
    let passed = PassedTest {
        fingerprint: settings.fingerprint(),
        secret_sha256: secret_digest(secret),
        passed_at_ms: state.now_ms(),
    };
    let sealed = Secret::new(serde_json::to_string(&passed)?);
    state
        .vault
        .put(test.purpose(), admin, &sealed, state.now())
        .await?;
    Ok(())
}

/// Forgets `admin`'s passed test (a failed test, or a save or switch that
/// used it).
pub async fn forget_passed(state: &AppState, test: TestOf, admin: &str) -> anyhow::Result<()> {
    state.vault.delete(test.purpose(), admin).await?;
    Ok(())
}

/// Whether `admin` passed a test of exactly these values and this secret,
/// on any node, within the last 30 minutes.
pub async fn passed_test_allows(
    state: &AppState,
    admin: &str,
    settings: &SmtpSettings,
    secret: Option<&Secret>,
) -> anyhow::Result<bool> {
    passed_allows(state, TestOf::Settings, admin, settings, secret).await
}

/// Whether `admin` passed `test` with these settings and this secret, on
/// any node, within the last 30 minutes.
pub async fn passed_allows(
    state: &AppState,
    test: TestOf,
    admin: &str,
    settings: &SmtpSettings,
    secret: Option<&Secret>,
) -> anyhow::Result<bool> {
    let Some(sealed) = state.vault.get(test.purpose(), admin).await? else {
        return Ok(false);
    };
    let Ok(passed) = serde_json::from_str::<PassedTest>(sealed.expose()) else {
        return Ok(false);
    };
    let age = state.now_ms() - passed.passed_at_ms;
    Ok((0..TEST_VALID_FOR_MS).contains(&age)
        && passed.fingerprint == settings.fingerprint()
        && passed.secret_sha256 == secret_digest(secret))
}

/// The names of the fields that differ between two forms (for the audit
/// log: names only, never values).
pub fn changed_fields(before: &SmtpSettingsForm, after: &SmtpSettingsForm) -> Vec<&'static str> {
    let text_fields: [(&'static str, &String, &String); 14] = [
        ("smtp_server", &before.smtp_server, &after.smtp_server),
        ("smtp_port", &before.smtp_port, &after.smtp_port),
        (
            "connection_timeout",
            &before.connection_timeout,
            &after.connection_timeout,
        ),
        ("auth_type", &before.auth_type, &after.auth_type),
        ("username", &before.username, &after.username),
        ("cloud", &before.cloud, &after.cloud),
        (
            "custom_authority",
            &before.custom_authority,
            &after.custom_authority,
        ),
        ("client_id", &before.client_id, &after.client_id),
        ("tenant_id", &before.tenant_id, &after.tenant_id),
        ("credential", &before.credential, &after.credential),
        ("secret_expiry", &before.secret_expiry, &after.secret_expiry),
        ("certificate", &before.certificate_id, &after.certificate_id),
        ("transport", &before.transport, &after.transport),
        (
            "graph_endpoint",
            &before.graph_endpoint,
            &after.graph_endpoint,
        ),
    ];
    let mut changed: Vec<&'static str> = text_fields
        .into_iter()
        .filter(|(_, a, b)| a.trim() != b.trim())
        .map(|(name, _, _)| name)
        .collect();
    if before.use_tls != after.use_tls {
        changed.push("use_tls");
    }
    if before.use_authentication != after.use_authentication {
        changed.push("use_authentication");
    }
    if !after.password.is_empty() {
        changed.push("password");
    }
    if !after.client_secret.is_empty() {
        changed.push("client_secret");
    }
    changed
}
