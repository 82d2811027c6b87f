//! The delivery workers: claim due outbox rows under a lease, send each over
//! the pooled transport with the cached OAuth token, and record the reply,
//! the retry or the dead letter with its diagnosis.

use super::transport::{Prepared, Transport, Unprepared};
use super::{BODY_PURPOSE, Body, Settlement};
use crate::domain::Secret;
use crate::domain::diagnosis::{self, Diagnosis, Step};
use crate::domain::mail::{MailKind, MailStatus};
use crate::domain::smtp::{OAuthCredential, SmtpAuth};
use crate::server::AppState;
use crate::server::db;
use crate::server::db::outbox::Claimed;
use crate::server::oauth::cache::{CacheKey, Origin};
use crate::server::oauth::client::{TokenCredential, TokenRequest, request_token};
use crate::server::settings;
use crate::server::smtp::transport::{Endpoint, Login, pooled};
use crate::server::tls;
use lettre::message::MultiPart;
use lettre::transport::smtp::response::Response;
use lettre::{AsyncTransport, Message};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

fn now_ms(state: &AppState) -> i64 {
    (state.clock.now().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Starts the workers. Rows leased before a restart are due at once: a
/// crash means retry, not loss.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match db::outbox::release_all_leases(&state.db, now_ms(&state)).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(target: "smtp", "Resuming {n} mail jobs that were being sent when the console stopped")
            }
            Err(e) => {
                tracing::error!(target: "smtp", "could not resume interrupted mail jobs: {e}")
            }
        }
        run(state).await
    })
}

async fn run(state: AppState) {
    let mailer = state.mailer.clone();
    let in_flight = mailer.config.pool_size.max(1) as usize;
    let slots = Arc::new(Semaphore::new(in_flight));
    let lease_ms = mailer.config.lease.as_millis() as i64;
    loop {
        let now = now_ms(&state);
        let claimed = match db::outbox::claim(
            &state.db,
            &mailer.owner,
            now,
            now + lease_ms,
            (in_flight * 2) as i64,
        )
        .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(target: "smtp", "could not claim mail jobs: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            // Sleep until the next retry falls due, a commit wakes us, or a
            // second passes (the clock may be moved by tests or NTP).
            let next = db::outbox::next_due(&state.db).await.ok().flatten();
            let wait = next.map_or(1000, |due| (due - now).clamp(5, 1000)) as u64;
            tokio::select! {
                _ = mailer.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
            continue;
        }
        for row in claimed {
            let permit = slots
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let state = state.clone();
            tokio::spawn(async move {
                deliver(&state, row).await;
                drop(permit);
            });
        }
    }
}

/// Why an attempt failed, and how soon it may be tried again.
struct Failure {
    diagnosis: Diagnosis,
}

impl From<Diagnosis> for Failure {
    fn from(diagnosis: Diagnosis) -> Self {
        Failure { diagnosis }
    }
}

async fn deliver(state: &AppState, row: Claimed) {
    let mailer = &state.mailer;
    let kind = MailKind::parse(&row.kind).unwrap_or(MailKind::TestEmail);
    let started_at = now_ms(state);
    let started = Instant::now();
    let result = attempt(state, &row, kind).await;
    let millis = started.elapsed().as_millis() as i64;
    let now = now_ms(state);
    let policy = mailer.config.retry;
    let (status, reply, diagnosis, next_attempt_at) = match result {
        Ok(reply) => (MailStatus::Sent, reply, None, now),
        Err(Failure { diagnosis }) => {
            let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
            let reply = format!("{}: {}", diagnosis.code, diagnosis.message);
            if diagnosis.temporary && !policy.exhausted(attempts) {
                let delay = policy.delay_ms(
                    attempts,
                    diagnosis.retry_after_seconds.map(|s| s * 1000),
                    rand::random::<f64>(),
                );
                let next = now + delay as i64;
                (MailStatus::Retrying, reply, Some(diagnosis), next)
            } else {
                (MailStatus::Dead, reply, Some(diagnosis), now)
            }
        }
    };
    let outcome = match status {
        MailStatus::Sent => "sent",
        MailStatus::Retrying => "retry",
        _ => "dead",
    };
    let diagnosis_json = diagnosis
        .as_ref()
        .and_then(|d| serde_json::to_string(d).ok());
    let settled = db::outbox::Settled {
        id: row.id,
        owner: &mailer.owner,
        status,
        reply: &reply,
        diagnosis_json: diagnosis_json.as_deref(),
        next_attempt_at,
        now,
    };
    let recorded = record(state, &row, &settled, started_at, millis, outcome).await;
    match (status, &diagnosis) {
        (MailStatus::Sent, _) => {
            mail_log!(
                kind,
                debug,
                "Future.get status: success (mail job {}, {reply})",
                row.id
            )
        }
        (MailStatus::Retrying, Some(d)) => mail_log!(
            kind,
            warn,
            "Future.get status: failed (mail job {}, attempt {}): {} {}; retrying in {} s",
            row.id,
            row.attempts,
            d.code,
            d.message,
            (next_attempt_at - now).max(0) / 1000
        ),
        (_, Some(d)) => mail_log!(
            kind,
            error,
            "Future.get status: failed (mail job {}, attempt {}): {} {}; moved to dead letters",
            row.id,
            row.attempts,
            d.code,
            d.message
        ),
        _ => {}
    }
    if recorded {
        let _ = mailer.settled.send(Settlement {
            id: row.id,
            status,
            reply,
            diagnosis,
            millis,
            next_attempt_at: (status == MailStatus::Retrying).then_some(next_attempt_at),
        });
    }
}

/// Writes the outcome (and drops a delivered body) in one transaction,
/// trying again if the database is briefly busy. False when the lease was
/// lost to another worker, which then owns the row.
async fn record(
    state: &AppState,
    row: &Claimed,
    settled: &db::outbox::Settled<'_>,
    started_at: i64,
    millis: i64,
    outcome: &str,
) -> bool {
    for pause in [0u64, 50, 250, 1000, 5000] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let result: sqlx::Result<bool> = async {
            let mut tx = state.db.begin().await?;
            if !db::outbox::settle(&mut *tx, settled).await? {
                return Ok(false);
            }
            db::outbox::insert_attempt(
                &mut *tx,
                row.id,
                row.attempts,
                started_at,
                millis,
                outcome,
                settled.reply,
            )
            .await?;
            if settled.status == MailStatus::Sent {
                db::vault::delete(&mut *tx, BODY_PURPOSE, &row.id.to_string()).await?;
            }
            tx.commit().await?;
            Ok(true)
        }
        .await;
        match result {
            Ok(recorded) => return recorded,
            Err(e) => tracing::warn!(target: "smtp", "could not record mail job {}: {e}", row.id),
        }
    }
    // The lease runs out and the row is tried again: a duplicate at worst,
    // with the same Message-ID.
    false
}

enum Credential {
    None,
    Password {
        username: String,
        password: Secret,
    },
    Token {
        mailbox: String,
        token: Secret,
        origin: Origin,
        key: CacheKey,
    },
}

impl Credential {
    fn secret(&self) -> Option<&Secret> {
        match self {
            Credential::None => None,
            Credential::Password { password, .. } => Some(password),
            Credential::Token { token, .. } => Some(token),
        }
    }
}

async fn attempt(state: &AppState, row: &Claimed, kind: MailKind) -> Result<String, Failure> {
    let mailer = &state.mailer;
    let prepared = match mailer.transport.prepared(state, mailer.generation()).await {
        Ok(prepared) => prepared,
        Err(Unprepared::NotConfigured) => return Err(diagnosis::smtp_not_configured().into()),
        Err(Unprepared::Failed(e)) => {
            mail_log!(kind, error, "could not load the SMTP settings: {e:#}");
            return Err(diagnosis::settings_unreadable(&format!("{e:#}")).into());
        }
    };
    let message = message(state, row).await?;
    let host = prepared.settings.host.as_str().to_string();
    let port = prepared.settings.port.get();
    mail_log!(
        kind,
        debug,
        "submitMailMsgJob: SMTP server FQDN ==> {host}:{port} (mail job {})",
        row.id
    );
    let mut refreshed = false;
    loop {
        let credential = credential(state, &prepared, kind).await?;
        let (transport, created) = mailer.transport.pool(&prepared, credential.secret(), || {
            build_transport(&prepared, &credential, mailer.config.pool_size)
        });
        if created {
            mail_log!(
                kind,
                debug,
                "Creating transport object... (pool of up to {} connections to {host}:{port})",
                mailer.config.pool_size
            );
        } else {
            mail_log!(kind, trace, "Reusing transport object for {host}:{port}");
        }
        let started = Instant::now();
        // lettre applies the timeout to each read and write; this bounds
        // the whole dialogue (connect, TLS, AUTH, DATA) as well.
        let result =
            tokio::time::timeout(prepared.timeout() * 3, transport.send(message.clone())).await;
        mail_log!(
            kind,
            debug,
            "Time taken for transport.sendMessage() call is {} Milli Seconds",
            started.elapsed().as_millis()
        );
        let error = match result {
            Ok(Ok(response)) => {
                if created {
                    mail_log!(
                        kind,
                        info,
                        "Successfully created mail session and connected to mail server."
                    );
                }
                return Ok(reply_text(&response));
            }
            Ok(Err(error)) => error,
            Err(_) => {
                mail_log!(
                    kind,
                    error,
                    "MessagingException: no reply from {host}, port {port}; timeout {}",
                    prepared.timeout().as_millis()
                );
                return Err(diagnosis::step_timeout(
                    Step::Data,
                    &host,
                    prepared.settings.timeout.seconds(),
                )
                .into());
            }
        };
        // Exchange says 535 to a token it no longer accepts even though the
        // cache still trusts it (revoked, clock skew): one new token, one
        // more try, then the diagnosis stands.
        if let Credential::Token {
            key,
            origin: Origin::Cache,
            ..
        } = &credential
            && !refreshed
            && error.status().is_some_and(|code| code.to_string() == "535")
        {
            refreshed = true;
            mail_log!(
                kind,
                warn,
                "The SMTP server refused the cached OAuth token ({error}); requesting a new token and sending again"
            );
            mailer.tokens.invalidate(key).await;
            continue;
        }
        let diagnosis = classify(&error, &prepared);
        if diagnosis.step == Step::Connect {
            mail_log!(
                kind,
                error,
                "MessagingException: Couldn't connect to host, port: {host}, {port}; timeout {}",
                prepared.timeout().as_millis()
            );
        }
        return Err(diagnosis.into());
    }
}

/// The message as stored: envelope from the outbox row, body from the vault.
async fn message(state: &AppState, row: &Claimed) -> Result<Message, Failure> {
    let body = match state.vault.get(BODY_PURPOSE, &row.id.to_string()).await {
        Ok(Some(body)) => body,
        Ok(None) => {
            return Err(diagnosis::message_unsendable("its body is no longer stored").into());
        }
        Err(e) => return Err(diagnosis::settings_unreadable(&e.to_string()).into()),
    };
    let body: Body = serde_json::from_str(body.expose()).map_err(|_| {
        Failure::from(diagnosis::message_unsendable(
            "its stored body is unreadable",
        ))
    })?;
    let unsendable = |what: &str, e: &dyn std::fmt::Display| {
        Failure::from(diagnosis::message_unsendable(&format!("{what}: {e}")))
    };
    let mut builder = Message::builder()
        .from(
            row.sender
                .parse()
                .map_err(|e| unsendable("From address", &e))?,
        )
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()));
    for recipient in row.recipients.split(',').filter(|r| !r.trim().is_empty()) {
        builder = builder.to(recipient
            .trim()
            .parse()
            .map_err(|e| unsendable("recipient", &e))?);
    }
    let built = match body.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(body.text, html)),
        None => builder.body(body.text),
    };
    built.map_err(|e| unsendable("message", &e))
}

async fn credential(
    state: &AppState,
    prepared: &Prepared,
    kind: MailKind,
) -> Result<Credential, Failure> {
    match &prepared.settings.auth {
        SmtpAuth::None => Ok(Credential::None),
        SmtpAuth::Password { username, .. } => Ok(Credential::Password {
            username: username.clone(),
            password: prepared.secret.clone().unwrap_or_else(|| Secret::new("")),
        }),
        SmtpAuth::OAuth {
            mailbox,
            cloud,
            client_id,
            tenant_id,
            credential,
        } => {
            let key = CacheKey {
                authority: cloud.authority(),
                tenant: tenant_id.as_str().to_string(),
                client_id: client_id.as_str().to_string(),
            };
            let fetched = state
                .mailer
                .tokens
                .get(&key, || async {
                    let credential = match credential {
                        OAuthCredential::Secret { .. } => TokenCredential::Secret(
                            prepared.secret.clone().unwrap_or_else(|| Secret::new("")),
                        ),
                        OAuthCredential::Certificate { .. } => {
                            let assertion = settings::client_assertion(state, &prepared.settings)
                                .await
                                .map_err(|e| {
                                    Box::new(diagnosis::settings_unreadable(&format!("{e:#}")))
                                })?;
                            TokenCredential::Assertion(assertion.unwrap_or_else(|| Secret::new("")))
                        }
                    };
                    request_token(
                        &prepared.http,
                        TokenRequest {
                            token_url: cloud.token_endpoint(tenant_id),
                            client_id: client_id.as_str().to_string(),
                            scope: cloud.scope().to_string(),
                            credential,
                        },
                    )
                    .await
                    .result
                })
                .await;
            match fetched {
                Ok((token, origin)) => {
                    if origin == Origin::Fetched {
                        let expiry = state.mailer.tokens.expiry(&key).await;
                        mail_log!(
                            kind,
                            debug,
                            "Putting value in OAuth Cache (accessToken, expiry {})",
                            expiry.map_or_else(|| "unknown".into(), |t| t.to_string())
                        );
                    }
                    Ok(Credential::Token {
                        mailbox: mailbox.as_str().to_string(),
                        token,
                        origin,
                        key,
                    })
                }
                Err(diagnosis) => {
                    mail_log!(
                        kind,
                        error,
                        "Error acquiring token: {} {}",
                        diagnosis.code,
                        diagnosis.message
                    );
                    Err(Failure::from(*diagnosis))
                }
            }
        }
    }
}

fn build_transport(prepared: &Prepared, credential: &Credential, pool_size: u32) -> Transport {
    let endpoint = Endpoint {
        host: prepared.settings.host.as_str(),
        port: prepared.settings.port.get(),
        timeout: prepared.timeout(),
        starttls: prepared.starttls.clone(),
        hello_name: &prepared.hello_name,
    };
    let login = match credential {
        Credential::None => Login::None,
        Credential::Password { username, password } => Login::Password { username, password },
        Credential::Token { mailbox, token, .. } => Login::XOAuth2 { mailbox, token },
    };
    pooled(endpoint, login, pool_size)
}

/// `250 2.6.0 Queued mail for delivery`.
fn reply_text(response: &Response) -> String {
    let text = response.message().collect::<Vec<_>>().join(" ");
    format!("{} {text}", response.code()).trim().to_string()
}

/// Which command a refusal most likely answered: lettre does not say, so
/// the reply tells (RFC 3463: X.1.7/X.1.8 are about the sender, other X.1
/// and X.2 codes about a recipient's address or mailbox).
fn step_of_reply(code: u16, text: &str) -> Step {
    if matches!(code, 504 | 530 | 534 | 535 | 538) {
        return Step::Auth;
    }
    let enhanced = diagnosis::enhanced_code(text).unwrap_or_default();
    let mut parts = enhanced.split('.').skip(1);
    match (parts.next(), parts.next()) {
        (Some("1"), Some("7" | "8")) => Step::MailFrom,
        (Some("1"), _) => Step::RcptTo,
        (Some("2"), Some(detail)) if detail != "252" => Step::RcptTo,
        _ => Step::Data,
    }
}

/// Explains a failed send with the same table as Test Connection.
fn classify(error: &lettre::transport::smtp::Error, prepared: &Prepared) -> Diagnosis {
    let host = prepared.settings.host.as_str();
    let port = prepared.settings.port.get();
    let seconds = prepared.settings.timeout.seconds();
    if let Some(code) = error.status() {
        // lettre reports the code and the text apart.
        let code: u16 = code.to_string().parse().unwrap_or(0);
        let text = std::error::Error::source(error)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let step = step_of_reply(code, &text);
        return diagnosis::smtp_reply(step, code, &text);
    }
    if let Some(problem) = tls::certificate_problem(error) {
        return diagnosis::untrusted_certificate(Step::StartTls, host, &problem);
    }
    let detail = std::error::Error::source(error)
        .map(|s| s.to_string())
        .unwrap_or_else(|| error.to_string());
    if error.is_timeout() {
        return if error.to_string().starts_with("Connection error") {
            diagnosis::connect_timeout(host, port, seconds)
        } else {
            diagnosis::step_timeout(Step::Data, host, seconds)
        };
    }
    if error.is_client() {
        return diagnosis::smtp_client_refused(host, &detail);
    }
    if error.to_string().starts_with("Connection error") {
        if detail.contains("failed to lookup") || detail.contains("resolve") {
            return diagnosis::dns_failure(host);
        }
        return diagnosis::connection_failed(host, port, &detail);
    }
    if error.is_tls() && prepared.starttls.is_some() {
        return diagnosis::connection_lost(Step::StartTls, host, &detail);
    }
    diagnosis::connection_lost(Step::Data, host, &detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_placed_at_the_command_it_answered() {
        assert_eq!(
            step_of_reply(535, "5.7.3 Authentication unsuccessful"),
            Step::Auth
        );
        assert_eq!(
            step_of_reply(550, "5.1.10 RESOLVER.ADR.RecipientNotFound"),
            Step::RcptTo
        );
        assert_eq!(
            step_of_reply(550, "5.1.8 Access denied, bad outbound sender"),
            Step::MailFrom
        );
        assert_eq!(step_of_reply(552, "5.2.2 Mailbox full"), Step::RcptTo);
        assert_eq!(step_of_reply(554, "5.2.252 SendAsDenied"), Step::Data);
        assert_eq!(step_of_reply(554, "Transaction failed"), Step::Data);
    }
}
