//! One attempt at one message: the credential, the session, the send,
//! and what the reply means.

use super::record::Outcome;
use super::{Chain, Failure, Lane, Route};
use crate::domain::Secret;
use crate::domain::diagnosis::{self, Diagnosis, Step};
use crate::domain::mail::{MailKind, MailStatus};
use crate::domain::smtp::{OAuthCredential, SmtpAuth};
use crate::server::AppState;
use crate::server::db;
use crate::server::db::outbox::Claimed;
use crate::server::graph::GraphClient;
use crate::server::mail::Body;
use crate::server::mail::pacing::{self, ConnectionSlot, Signal};
use crate::server::mail::transport::{OpenSession, Prepared, Unprepared, credential_digest};
use crate::server::oauth::cache::{CacheKey, Origin};
use crate::server::oauth::client::request_token;
use crate::server::oauth::rotation;
use crate::server::oauth::shared;
use crate::server::settings;
use crate::server::smtp::session::{Failure as SessionFailure, Session, SessionError};
use crate::server::smtp::token_request;
use crate::server::smtp::transport::Login;
use crate::server::tls;
use lettre::Message;
use lettre::message::MultiPart;
use lettre::transport::smtp::response::Response;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// The least a message waits while Entra ID refuses the credential.
const CREDENTIAL_HOLD_MS: u64 = 30_000;

/// How long a pool mailbox the server refused to sign in rests.
const POOL_MAILBOX_REST_MS: i64 = 15 * 60 * 1000;

/// One attempt at a claimed message, in a slot, classified (sent, retry
/// when, dead letter) and handed to the recorder, which writes it and then
/// announces it; `settled` hears when that is done.
pub(super) async fn deliver(
    state: &AppState,
    row: Claimed,
    message: Result<Message, Failure>,
    route: &Route<'_>,
    settled: Option<oneshot::Sender<()>>,
    chain: Chain<'_>,
) {
    let Route {
        slots,
        recorder,
        lane,
    } = *route;
    let mailer = &state.mailer;
    let kind = row.kind;
    let slot = slots
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let started_at = state.now_ms();
    let started = Instant::now();
    let result = match message {
        Ok(message) => attempt(state, &row, kind, &message, lane, chain).await,
        Err(failure) => Err(failure),
    };
    drop(slot);
    let millis = started.elapsed().as_millis() as i64;
    let now = state.now_ms();
    let policy = mailer.config.retry;
    let (status, reply, diagnosis, next_attempt_at) = match result {
        Ok(reply) => (MailStatus::Sent, reply, None, now),
        Err(Failure { diagnosis }) => {
            let diagnosis = *diagnosis;
            let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
            let reply = format!("{}: {}", diagnosis.code, diagnosis.message);
            let signal = pacing::signal(&diagnosis);
            if signal == Some(Signal::TooManyConnections) {
                let allowed = lane.gate.lower(now);
                mail_log!(
                    kind,
                    warn,
                    "The server allows fewer concurrent connections ({}): using at most {allowed} for the next 10 minutes",
                    diagnosis.code
                );
            }
            // Graph's 403 is its refusal to send as the mailbox.
            let refused_as_mailbox = diagnosis.step.is_auth()
                || (diagnosis.step == Step::GraphSend && diagnosis.code.starts_with("403"));
            if lane.pooled && kind.is_bulk() && refused_as_mailbox {
                // A pool mailbox the app may not sign in as (no mailbox
                // permission): it rests, and another mailbox sends this.
                let until = now + POOL_MAILBOX_REST_MS;
                let reason = format!(
                    "the server refused to sign in as this mailbox ({}); check its mailbox permission for the app",
                    diagnosis.code
                );
                if let Err(e) = db::pacing::pause(&state.db, &lane.mailbox, until, &reason).await {
                    tracing::error!(target: "smtp", "could not rest {}: {e}", lane.mailbox);
                }
                mail_log!(
                    kind,
                    warn,
                    "Sender pool mailbox {} was refused at sign-in ({}): it rests until {} and other mailboxes send its share",
                    lane.mailbox,
                    diagnosis.code,
                    crate::domain::template::format_utc(until / 1000)
                );
                (MailStatus::Retrying, reply, Some(diagnosis), now)
            } else if let Some(quota @ (Signal::QuotaExceeded | Signal::MailboxFull)) = &signal {
                // Never a dead letter for this: the message waits for the quota.
                let mailbox = lane.paced_mailbox(&row);
                let until = match pacing::pause_for(state, &mailbox, quota, now).await {
                    Ok(until) => until,
                    Err(e) => {
                        tracing::error!(target: "smtp", "could not pause {mailbox}: {e:#}");
                        now + 60_000
                    }
                };
                mail_log!(
                    kind,
                    warn,
                    "{} for {mailbox}: sending pauses until {}",
                    diagnosis.code,
                    crate::domain::template::format_utc(until / 1000)
                );
                // With a sender pool another mailbox takes it at once.
                let due = if lane.pool.is_empty() { until } else { now };
                (MailStatus::Retrying, reply, Some(diagnosis), due)
            } else if matches!(diagnosis.step, Step::Token | Step::TokenClaims)
                && !diagnosis.temporary
            {
                // The credential is refused (a revoked or expired secret, a
                // certificate Entra does not know): the settings are wrong,
                // not the message. It waits for an admin to fix them, with
                // the token alarm and its fix, and is never a dead letter
                // for it.
                let delay = policy
                    .delay_ms(attempts.min(8), None, rand::random::<f64>())
                    .max(CREDENTIAL_HOLD_MS);
                (
                    MailStatus::Retrying,
                    reply,
                    Some(diagnosis),
                    now + delay as i64,
                )
            } else if diagnosis.temporary && !policy.exhausted(attempts) {
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
    let _ = recorder.send(Outcome {
        next_attempt_at,
        now,
        started_at,
        millis,
        sent_from: (lane.pooled && status == MailStatus::Sent).then(|| lane.mailbox.clone()),
        kind,
        row,
        status,
        reply,
        diagnosis,
        settled,
    });
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
    /// Who the session signs in as.
    fn login_name(&self) -> &str {
        match self {
            Credential::None => "",
            Credential::Password { username, .. } => username,
            Credential::Token { mailbox, .. } => mailbox,
        }
    }

    fn secret(&self) -> Option<&Secret> {
        match self {
            Credential::None => None,
            Credential::Password { password, .. } => Some(password),
            Credential::Token { token, .. } => Some(token),
        }
    }
}

async fn attempt(
    state: &AppState,
    row: &Claimed,
    kind: MailKind,
    message: &Message,
    lane: &Lane,
    chain: Chain<'_>,
) -> Result<String, Failure> {
    let mailer = &state.mailer;
    let generation = mailer.generation();
    let prepared = match mailer.transport.prepared(state, generation).await {
        Ok(prepared) => prepared,
        Err(Unprepared::NotConfigured) => return Err(diagnosis::smtp_not_configured().into()),
        Err(Unprepared::CredentialMissing { certificate }) => {
            return Err(diagnosis::oauth_credential_missing(certificate).into());
        }
        Err(Unprepared::Failed(e)) => {
            mail_log!(kind, error, "could not load the SMTP settings: {e:#}");
            return Err(diagnosis::settings_unreadable(&format!("{e:#}")).into());
        }
    };
    if let Some(graph) = &prepared.graph {
        return graph_attempt(state, &prepared, graph, row, kind, message, lane).await;
    }
    let host = prepared.settings.host.as_str().to_string();
    let port = prepared.settings.port.get();
    mail_log!(
        kind,
        debug,
        "submitMailMsgJob: SMTP server FQDN ==> {host}:{port} (mail job {})",
        row.id
    );
    let mut refreshed_token = false;
    let mut reopened = false;
    // A connection slot kept for the next session when one closes early.
    let mut spare_slot = None;
    loop {
        let mut credential = credential(state, &prepared, kind).await?;
        if let Credential::Token { mailbox, .. } = &mut credential
            && lane.pooled
        {
            // One app token serves each mailbox it has permission on.
            mailbox.clone_from(&lane.mailbox);
        }
        let digest = credential_digest(credential.secret());
        let login_name = credential.login_name().to_string();
        // A session kept for this message, if it still fits; one that does
        // not is dropped, which closes it and discards what it carries.
        let held = chain.held.take().filter(|held| {
            held.opened_with(prepared.generation, &login_name, &digest)
                && held.session.primed_for(message)
        });
        let checkout = || {
            mailer
                .transport
                .checkout(prepared.generation, &login_name, &digest)
        };
        let mut checked_out = match held {
            Some(held) => Some((held.session, held.slot)),
            None => checkout(),
        };
        let mut new_slot = spare_slot.take();
        if checked_out.is_none() && new_slot.is_none() {
            // Under sending limits a new session needs one of the mailbox's
            // connections; one of this node's sessions coming back idle
            // meanwhile does as well.
            match connection(state, lane, row, checkout).await? {
                Connection::Idle(idle) => checked_out = Some(*idle),
                Connection::Slot(slot) => new_slot = slot,
            }
        }
        let (mut session, reused, slot) = match checked_out {
            Some((session, slot)) => {
                mail_log!(kind, trace, "Reusing transport object for {host}:{port}");
                (session, true, slot)
            }
            None => {
                let slot = new_slot;
                mail_log!(kind, debug, "Creating transport object... ({host}:{port})");
                match Session::open(&prepared.target(), &login(&credential)).await {
                    Ok(session) => {
                        mail_log!(
                            kind,
                            info,
                            "Successfully created mail session and connected to mail server."
                        );
                        (session, false, slot)
                    }
                    Err(error) => {
                        // Exchange says 535 to a token it no longer accepts
                        // though the cache still trusts it (revoked, clock
                        // skew): one new token, one more try. A token
                        // another node fetched is as stale as a cached one.
                        if let Credential::Token {
                            key,
                            origin: Origin::Cache | Origin::Shared,
                            token,
                            ..
                        } = &credential
                            && !refreshed_token
                            && error.step == Step::Auth
                            && error.reply_code() == Some(535)
                        {
                            refreshed_token = true;
                            mail_log!(
                                kind,
                                warn,
                                "The SMTP server refused the cached OAuth token ({error}); requesting a new token and sending again"
                            );
                            mailer.tokens.invalidate(key).await;
                            shared::forget(state, key, token).await;
                            spare_slot = slot;
                            continue;
                        }
                        return Err(failed(kind, &error, &prepared));
                    }
                }
            }
        };
        let started = Instant::now();
        let result = session
            .send_then(message, chain.next, prepared.timeout())
            .await;
        mail_log!(
            kind,
            debug,
            "Time taken for transport.sendMessage() call is {} Milli Seconds",
            started.elapsed().as_millis()
        );
        match result {
            Ok(response) => {
                let open = OpenSession {
                    generation: prepared.generation,
                    login: login_name,
                    credential_digest: digest,
                    session,
                    slot,
                };
                if open.session.primed().is_some() {
                    *chain.held = Some(open);
                } else {
                    // Idle sessions count as connections too: keep no more
                    // than the mailbox allows.
                    mailer
                        .transport
                        .checkin(open, lane.gate.allowed(state.now_ms()));
                }
                return Ok(reply_text(&response));
            }
            // A pooled session the server had closed: once, on a new one.
            Err(error) if reused && !reopened && error.reply_code().is_none() => {
                reopened = true;
                spare_slot = slot;
                mail_log!(
                    kind,
                    debug,
                    "The pooled session to {host}:{port} was closed ({error}); opening a new one"
                );
            }
            Err(error) => return Err(failed(kind, &error, &prepared)),
        }
    }
}

/// One message through Microsoft Graph's `sendMail`, as the mailbox (a
/// pool mailbox sends as itself with the same app token).
async fn graph_attempt(
    state: &AppState,
    prepared: &Prepared,
    graph: &GraphClient,
    row: &Claimed,
    kind: MailKind,
    message: &Message,
    lane: &Lane,
) -> Result<String, Failure> {
    let app = match &prepared.settings.auth {
        SmtpAuth::OAuth { client_id, .. } => client_id.as_str().to_string(),
        _ => String::new(),
    };
    let mime = message.formatted();
    let mut refreshed_token = false;
    loop {
        let Credential::Token {
            mailbox,
            token,
            origin,
            key,
        } = credential(state, prepared, kind).await?
        else {
            return Err(diagnosis::settings_unreadable("Microsoft Graph needs OAuth").into());
        };
        let mailbox = if lane.pooled {
            lane.mailbox.clone()
        } else {
            mailbox
        };
        mail_log!(
            kind,
            debug,
            "submitMailMsgJob: Microsoft Graph sendMail as {mailbox} (mail job {})",
            row.id
        );
        let turn = state.mailer.graph_turn(&mailbox).await;
        let started = Instant::now();
        let exchange = graph.send_mail(&mailbox, &token, &mime, &app).await;
        drop(turn);
        mail_log!(
            kind,
            debug,
            "Time taken for Graph sendMail is {} Milli Seconds",
            started.elapsed().as_millis()
        );
        match exchange.result {
            Ok(reply) => return Ok(reply),
            // A token Graph no longer accepts though the cache still trusts
            // it: one new token, one more try.
            Err(diagnosis)
                if exchange.status == Some(401)
                    && !refreshed_token
                    && matches!(origin, Origin::Cache | Origin::Shared) =>
            {
                refreshed_token = true;
                mail_log!(
                    kind,
                    warn,
                    "Microsoft Graph refused the cached OAuth token ({}); requesting a new token and sending again",
                    diagnosis.code
                );
                state.mailer.tokens.invalidate(&key).await;
                shared::forget(state, &key, &token).await;
            }
            Err(diagnosis) => {
                mail_log!(
                    kind,
                    error,
                    "Microsoft Graph sendMail failed: {} {}",
                    diagnosis.code,
                    diagnosis.message
                );
                return Err(Failure { diagnosis });
            }
        }
    }
}

/// How a new message gets a connection under sending limits.
enum Connection {
    /// One of this node's sessions, back in the pool while it waited.
    Idle(Box<(Session, Option<ConnectionSlot>)>),
    /// One of the mailbox's connections for the whole deployment, to open
    /// a new session in; none needed without a limit.
    Slot(Option<ConnectionSlot>),
}

async fn connection(
    state: &AppState,
    lane: &Lane,
    row: &Claimed,
    idle: impl Fn() -> Option<(Session, Option<ConnectionSlot>)>,
) -> Result<Connection, Failure> {
    let allowed = lane.gate.allowed(state.now_ms());
    if allowed == 0 {
        return Ok(Connection::Slot(None));
    }
    let mailbox = lane.paced_mailbox(row);
    match pacing::take_connection_slot(state, &mailbox, allowed, idle).await {
        Ok(Some(pacing::Taken::Slot(slot))) => Ok(Connection::Slot(Some(slot))),
        Ok(Some(pacing::Taken::Idle(idle))) => Ok(Connection::Idle(Box::new(idle))),
        Ok(None) => Err(diagnosis::connections_in_use(&mailbox, allowed).into()),
        Err(e) => Err(diagnosis::settings_unreadable(&format!("{e:#}")).into()),
    }
}

fn failed(kind: MailKind, error: &SessionError, prepared: &Prepared) -> Failure {
    let diagnosis = classify(error, prepared);
    if diagnosis.step == Step::Connect {
        mail_log!(
            kind,
            error,
            "MessagingException: Couldn't connect to host, port: {}, {}; timeout {}",
            prepared.settings.host.as_str(),
            prepared.settings.port.get(),
            prepared.timeout().as_millis()
        );
    }
    diagnosis.into()
}

/// The message as stored: envelope from the outbox row, body from the vault.
pub(super) fn message(
    row: &Claimed,
    body: Result<Option<Secret>, String>,
) -> Result<Message, Failure> {
    let body = match body {
        Ok(Some(body)) => body,
        Ok(None) => {
            return Err(diagnosis::message_unsendable("its body is no longer stored").into());
        }
        Err(e) => return Err(diagnosis::settings_unreadable(&e).into()),
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
        .header(crate::server::mail::subject::PlainSubject::new(
            &row.subject,
        ))
        .message_id(Some(row.message_id.clone()));
    if let Some(language) = body.language.as_deref().and_then(ContentLanguage::new) {
        builder = builder.header(language);
    }
    for recipient in row.recipients.as_slice() {
        builder = builder.to(recipient.parse().map_err(|e| unsendable("recipient", &e))?);
    }
    let built = match body.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(body.text, html)),
        // A single part names its charset: a reader must not guess Latin-1.
        None => builder.singlepart(lettre::message::SinglePart::plain(body.text)),
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
            ..
        } => {
            let key = CacheKey {
                authority: cloud.authority(),
                tenant: tenant_id.as_str().to_string(),
                client_id: client_id.as_str().to_string(),
                scope: prepared.settings.token_scope().unwrap_or_default(),
            };
            let fetched = state
                .mailer
                .tokens
                .get(&key, || {
                    // One token for the deployment: another node's, when good.
                    shared::obtain(state, &key, || async {
                        // A certificate credential signs a fresh assertion per request.
                        let assertion = match credential {
                            OAuthCredential::Certificate { .. } => {
                                settings::client_assertion(state, &prepared.settings)
                                    .await
                                    .map_err(|e| {
                                        Box::new(diagnosis::settings_unreadable(&format!("{e:#}")))
                                    })?
                            }
                            OAuthCredential::Secret { .. } => None,
                        };
                        let request =
                            token_request(&prepared.settings, prepared.secret.clone(), assertion)
                                .expect("OAuth settings make a token request");
                        match request_token(&prepared.http, request).await.result {
                            // The current credential is refused: a staged
                            // next one takes over if Entra accepts it.
                            Err(refused) if rotation::credential_refused(credential, &refused) => {
                                rotation::token_from_next_credential(state, prepared, &refused)
                                    .await
                                    .ok_or(refused)
                            }
                            other => other,
                        }
                    })
                })
                .await;
            match fetched {
                Ok((token, origin)) => {
                    if origin != Origin::Cache {
                        let expiry = state.mailer.tokens.expiry(&key).await;
                        mail_log!(
                            kind,
                            debug,
                            "Putting value in OAuth Cache (accessToken, expiry {}){}",
                            expiry.map_or_else(|| "unknown".into(), |t| t.to_string()),
                            if origin == Origin::Shared {
                                ", shared by another node of the deployment"
                            } else {
                                ""
                            }
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
                    Err(Failure { diagnosis })
                }
            }
        }
    }
}

fn login(credential: &Credential) -> Login<'_> {
    match credential {
        Credential::None => Login::None,
        Credential::Password { username, password } => Login::Password { username, password },
        Credential::Token { mailbox, token, .. } => Login::XOAuth2 { mailbox, token },
    }
}

/// `250 2.6.0 Queued mail for delivery`.
fn reply_text(response: &Response) -> String {
    let text = response.message().collect::<Vec<_>>().join(" ");
    format!("{} {text}", response.code()).trim().to_string()
}

/// Explains a failed step with the same table as Test Connection.
fn classify(error: &SessionError, prepared: &Prepared) -> Diagnosis {
    let host = prepared.settings.host.as_str();
    let port = prepared.settings.port.get();
    let seconds = prepared.settings.timeout.seconds();
    match &error.failure {
        SessionFailure::Dns => diagnosis::dns_failure(host),
        SessionFailure::Connect(e) => diagnosis::connection_failed(host, port, &e.to_string()),
        SessionFailure::Timeout if error.step == Step::Connect => {
            diagnosis::connect_timeout(host, port, seconds)
        }
        SessionFailure::Timeout => diagnosis::step_timeout(error.step, host, seconds),
        SessionFailure::NoStartTls => diagnosis::starttls_unavailable(host),
        SessionFailure::Smtp(e) => {
            // lettre keeps the reply's text as the error's source.
            let detail = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            if let Some(code) = error.reply_code() {
                let step = diagnosis::refused_step(error.step, code, &detail, error.signed_in_with);
                return diagnosis::smtp_reply(step, code, &detail);
            }
            if let Some(fault) = tls::certificate_problem(e) {
                return diagnosis::certificate_rejected(error.step, host, &fault);
            }
            if e.is_client() {
                return diagnosis::smtp_client_refused(host, &detail);
            }
            diagnosis::connection_lost(error.step, host, &detail)
        }
    }
}

/// `Content-Language: es`: the language of a guest's email (RFC 3282).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContentLanguage(String);

impl ContentLanguage {
    /// Only a tag's letters, digits and dashes ever reach the header.
    fn new(tag: &str) -> Option<ContentLanguage> {
        (!tag.is_empty()
            && tag.len() <= 35
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| ContentLanguage(tag.to_string()))
    }
}

impl lettre::message::header::Header for ContentLanguage {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        ContentLanguage::new(s.trim()).ok_or_else(|| "not a language tag".into())
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}
