//! SMTP: the Test Connection ladder (token, claims, then the SMTP rungs).

pub mod probe;
pub mod recorder;
pub mod session;
pub mod transport;

use crate::domain::Secret;
use crate::domain::connection_test::{ConnectionTestReport, StepOutcome, StepStatus};
use crate::domain::diagnosis::{Diagnosis, Step};
use crate::domain::smtp::{OAuthCredential, SmtpAuth, SmtpSettings};
use crate::domain::token::{Resource, check_claims};
use crate::domain::transcript::Direction;
use crate::server::graph::GraphClient;
use crate::server::oauth::client::{
    HttpSetup, ProxyConfig, TokenCredential, TokenRequest, request_token,
};
use probe::{Ladder, ProbeTarget, SmtpCredentials, probe};
use recorder::Transcript;
use rustls::ClientConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What a Test Connection needs besides the settings on screen.
pub struct TestContext {
    /// The password or client secret to use: the one typed, or the stored one.
    pub secret: Option<Secret>,
    /// A signed client assertion, for the certificate credential.
    pub assertion: Option<Secret>,
    pub tls: Arc<ClientConfig>,
    pub proxy: Option<ProxyConfig>,
    pub hello_name: String,
}

/// The token request OAuth settings call for, with the client secret or
/// the signed client assertion (as the credential type says); `None` for
/// settings without OAuth.
pub fn token_request(
    settings: &SmtpSettings,
    secret: Option<Secret>,
    assertion: Option<Secret>,
) -> Option<TokenRequest> {
    let scope = settings.token_scope()?;
    let SmtpAuth::OAuth {
        cloud,
        client_id,
        tenant_id,
        credential,
        ..
    } = &settings.auth
    else {
        return None;
    };
    let credential = match credential {
        OAuthCredential::Secret { .. } => {
            TokenCredential::Secret(secret.unwrap_or_else(|| Secret::new("")))
        }
        OAuthCredential::Certificate { .. } => {
            TokenCredential::Assertion(assertion.unwrap_or_else(|| Secret::new("")))
        }
    };
    Some(TokenRequest {
        token_url: cloud.token_endpoint(tenant_id),
        client_id: client_id.as_str().to_string(),
        scope,
        credential,
    })
}

/// The rungs this configuration climbs, in order.
fn plan(settings: &SmtpSettings) -> Vec<Step> {
    if settings.graph_endpoint().is_some() {
        // The only proof that the app may send as the mailbox is a send.
        return vec![Step::Token, Step::TokenClaims, Step::GraphSend];
    }
    let mut steps = Vec::new();
    let oauth = matches!(settings.auth, SmtpAuth::OAuth { .. });
    if oauth {
        steps.extend([Step::Token, Step::TokenClaims]);
    }
    steps.extend([Step::Connect, Step::Greeting]);
    if settings.use_tls {
        steps.extend([Step::Ehlo, Step::StartTls]);
    }
    steps.push(Step::Ehlo);
    match settings.auth {
        SmtpAuth::None => {}
        // PLAIN unless the server offers only LOGIN; the ladder records
        // the rung actually climbed.
        SmtpAuth::Password { .. } => steps.push(Step::AuthPlain),
        SmtpAuth::OAuth { .. } => steps.push(Step::Auth),
    }
    steps.push(Step::Quit);
    steps
}

/// How far a test climbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The token and its claims: whether Entra ID accepts a credential.
    Token,
    /// Every rung, to the server's last reply.
    Everything,
}

/// Runs Test Connection against exactly `settings`, within its connection
/// timeout. A fresh token is always requested: the values on screen are
/// what is tested, not whatever an earlier token was issued for.
pub async fn test_connection(
    settings: &SmtpSettings,
    context: TestContext,
) -> ConnectionTestReport {
    test_until(settings, context, Reach::Everything).await
}

/// Test Connection up to `reach`.
pub async fn test_until(
    settings: &SmtpSettings,
    context: TestContext,
    reach: Reach,
) -> ConnectionTestReport {
    let started = Instant::now();
    let timeout = Duration::from_secs(u64::from(settings.timeout.seconds()));
    let transcript = Transcript::default();
    let mut ladder = Ladder::new(timeout, transcript.clone());
    let mut token_via_proxy = false;
    let outcome = climb(settings, context, reach, &mut ladder, &mut token_via_proxy).await;
    let mut planned = plan(settings);
    if reach == Reach::Token {
        planned.retain(|step| matches!(step, Step::Token | Step::TokenClaims));
    }
    let mut steps = ladder.steps;
    for step in planned.iter().skip(steps.len()) {
        steps.push(StepOutcome {
            step: *step,
            status: StepStatus::NotRun,
            millis: 0,
            detail: String::new(),
        });
    }
    let (summary, diagnosis) = match outcome {
        Ok(summary) => (summary, None),
        Err(diagnosis) => (
            format!("Test Connection failed at {}.", diagnosis.step.label()),
            Some(*diagnosis),
        ),
    };
    ConnectionTestReport {
        steps,
        diagnosis,
        transcript: transcript.lines(),
        summary,
        token_via_proxy,
        total_millis: started.elapsed().as_millis() as u64,
    }
}

async fn climb(
    settings: &SmtpSettings,
    context: TestContext,
    reach: Reach,
    ladder: &mut Ladder,
    token_via_proxy: &mut bool,
) -> Result<String, Box<Diagnosis>> {
    let credentials = match &settings.auth {
        SmtpAuth::None => SmtpCredentials::None,
        SmtpAuth::Password { username, .. } => SmtpCredentials::Password {
            username: username.clone(),
            password: context.secret.clone().unwrap_or_else(|| Secret::new("")),
        },
        SmtpAuth::OAuth {
            mailbox,
            tenant_id,
            client_id,
            ..
        } => {
            let started = Instant::now();
            let remaining = ladder.deadline().saturating_duration_since(started);
            let setup = HttpSetup {
                tls: context.tls.clone(),
                proxy: context.proxy.clone(),
                timeout: remaining.max(Duration::from_millis(100)),
            };
            let request =
                token_request(settings, context.secret.clone(), context.assertion.clone())
                    .expect("OAuth settings make a token request");
            let exchange = request_token(&setup, request).await;
            *token_via_proxy = exchange.via_proxy;
            ladder.transcript.extend(exchange.transcript);
            let token = match exchange.result {
                Ok(token) => {
                    let proxy_note = if exchange.via_proxy {
                        ", through the proxy"
                    } else {
                        ""
                    };
                    ladder.record(
                        Step::Token,
                        StepStatus::Passed,
                        started,
                        format!(
                            "Bearer token received, expires in {} min{proxy_note}",
                            token.expires_in.whole_minutes()
                        ),
                    );
                    token.access_token
                }
                Err(diagnosis) => {
                    ladder.record(
                        Step::Token,
                        StepStatus::Failed,
                        started,
                        diagnosis.message.clone(),
                    );
                    return Err(diagnosis);
                }
            };
            let started = Instant::now();
            let graph = settings.graph_endpoint();
            let resource = if graph.is_some() {
                Resource::Graph
            } else {
                Resource::Exchange
            };
            match check_claims(token.expose(), tenant_id.guid(), resource) {
                Ok(claims) => ladder.record(
                    Step::TokenClaims,
                    StepStatus::Passed,
                    started,
                    format!("aud {}, roles {}", claims.aud, claims.roles.join(", ")),
                ),
                Err(diagnosis) => {
                    ladder.record(
                        Step::TokenClaims,
                        StepStatus::Failed,
                        started,
                        diagnosis.message.clone(),
                    );
                    return Err(diagnosis);
                }
            }
            if reach == Reach::Token {
                return Ok(format!(
                    "Entra ID accepted the credential and issued a token for app {}.",
                    client_id.as_str()
                ));
            }
            if let Some(endpoint) = graph {
                let setup = HttpSetup {
                    tls: context.tls.clone(),
                    proxy: context.proxy.clone(),
                    timeout: ladder
                        .deadline()
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(100)),
                };
                return graph_send(
                    ladder,
                    &setup,
                    endpoint,
                    mailbox.as_str(),
                    client_id.as_str(),
                    &token,
                    &context.hello_name,
                )
                .await;
            }
            ladder.transcript.push(
                Direction::Note,
                format!("AUTH XOAUTH2 as {}", mailbox.as_str()),
            );
            SmtpCredentials::XOAuth2 {
                mailbox: mailbox.as_str().to_string(),
                token,
            }
        }
    };
    let target = ProbeTarget {
        host: settings.host.as_str().to_string(),
        port: settings.port.get(),
        timeout: Duration::from_secs(u64::from(settings.timeout.seconds())),
        use_tls: settings.use_tls,
        tls: context.tls,
        hello_name: context.hello_name,
    };
    probe(&target, &credentials, ladder).await
}

/// Graph's rung: a message from the mailbox to itself, the only proof that
/// the app may send as it.
async fn graph_send(
    ladder: &mut Ladder,
    setup: &HttpSetup,
    endpoint: &str,
    mailbox: &str,
    app: &str,
    token: &Secret,
    node: &str,
) -> Result<String, Box<Diagnosis>> {
    let started = Instant::now();
    let fail = |ladder: &mut Ladder, diagnosis: Box<Diagnosis>| {
        ladder.record(
            Step::GraphSend,
            StepStatus::Failed,
            started,
            diagnosis.message.clone(),
        );
        Err(diagnosis)
    };
    let client = match GraphClient::new(setup, endpoint) {
        Ok(client) => client,
        Err(diagnosis) => return fail(ladder, diagnosis),
    };
    let message = match test_message(mailbox, node) {
        Ok(message) => message,
        Err(diagnosis) => return fail(ladder, diagnosis),
    };
    let exchange = client
        .send_mail(mailbox, token, &message.formatted(), app)
        .await;
    ladder.transcript.extend(exchange.transcript);
    match exchange.result {
        Ok(reply) => {
            ladder.record(Step::GraphSend, StepStatus::Passed, started, reply);
            Ok(format!(
                "Microsoft Graph accepted a test message from {mailbox} to itself."
            ))
        }
        Err(diagnosis) => fail(ladder, diagnosis),
    }
}

fn test_message(mailbox: &str, node: &str) -> Result<lettre::Message, Box<Diagnosis>> {
    let unsendable = |e: &dyn std::fmt::Display| {
        Box::new(crate::domain::diagnosis::message_unsendable(&e.to_string()))
    };
    let address: lettre::message::Mailbox = mailbox.parse().map_err(|e| unsendable(&e))?;
    lettre::Message::builder()
        .from(address.clone())
        .to(address)
        .subject("Mailroom Test Connection (Microsoft Graph)")
        .body(format!(
            "Test Connection on {node} sent this message through Microsoft Graph's sendMail: the app may send as this mailbox.\r\n"
        ))
        .map_err(|e| unsendable(&e))
}
