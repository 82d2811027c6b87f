//! The SMTP half of Test Connection: TCP connect → greeting → EHLO →
//! STARTTLS → EHLO → AUTH → QUIT, each rung timed, every byte of the
//! dialogue in the (redacted) transcript.
//!
//! The plain-text start and the TLS upgrade are done here, so that each
//! rung fails on its own and the TLS handshake trusts exactly the console's
//! trust store; lettre takes over on the encrypted stream for EHLO, AUTH
//! XOAUTH2 and QUIT, as it does when delivering mail.

use super::recorder::{Recorder, Transcript};
use crate::domain::Secret;
use crate::domain::connection_test::{StepOutcome, StepStatus};
use crate::domain::diagnosis::{
    Diagnosis, Step, certificate_rejected, connect_timeout, connection_failed, connection_lost,
    dns_failure, no_password_mechanism, smtp_reply, starttls_unavailable, step_timeout,
};
use crate::domain::transcript::Direction;
use crate::server::tls;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::Auth;
use lettre::transport::smtp::extension::ClientId;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

pub enum SmtpCredentials {
    None,
    Password { username: String, password: Secret },
    XOAuth2 { mailbox: String, token: Secret },
}

pub struct ProbeTarget {
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
    pub use_tls: bool,
    pub tls: Arc<ClientConfig>,
    /// The name this node gives in EHLO.
    pub hello_name: String,
}

/// The rungs climbed so far and the transcript they wrote.
pub struct Ladder {
    pub steps: Vec<StepOutcome>,
    pub transcript: Transcript,
    deadline: Instant,
    timeout_seconds: u32,
}

impl Ladder {
    pub fn new(timeout: Duration, transcript: Transcript) -> Self {
        Ladder {
            steps: Vec::new(),
            transcript,
            deadline: Instant::now() + timeout,
            timeout_seconds: timeout.as_secs() as u32,
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    pub fn record(&mut self, step: Step, status: StepStatus, started: Instant, detail: String) {
        self.steps.push(StepOutcome {
            step,
            status,
            millis: started.elapsed().as_millis() as u64,
            detail,
        });
    }

    /// Runs one rung under the overall deadline. `on_timeout` explains a
    /// rung that ran out of time.
    async fn rung<T>(
        &mut self,
        step: Step,
        on_timeout: impl FnOnce(u32) -> Diagnosis,
        work: impl Future<Output = Result<(T, String), Diagnosis>>,
    ) -> Result<T, Box<Diagnosis>> {
        let started = Instant::now();
        let outcome = match tokio::time::timeout_at(self.deadline, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(on_timeout(self.timeout_seconds)),
        };
        match outcome {
            Ok((value, detail)) => {
                self.record(step, StepStatus::Passed, started, detail);
                Ok(value)
            }
            Err(diagnosis) => {
                self.record(step, StepStatus::Failed, started, diagnosis.message.clone());
                Err(Box::new(diagnosis))
            }
        }
    }
}

/// A reply read by the plain-text phase: code and the text of its lines.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join(" ")
    }
}

const MAX_REPLY_LINES: usize = 64;
const MAX_LINE: usize = 2048;

async fn read_reply(
    stream: &mut BufReader<TcpStream>,
    transcript: &Transcript,
    step: Step,
    host: &str,
) -> Result<Reply, Diagnosis> {
    let mut lines = Vec::new();
    loop {
        let mut raw = Vec::new();
        let read = (&mut *stream)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut raw)
            .await
            .map_err(|e| connection_lost(step, host, &e.to_string()))?;
        if read == 0 {
            return Err(connection_lost(
                step,
                host,
                "the server closed the connection",
            ));
        }
        let line = String::from_utf8_lossy(&raw).trim_end().to_string();
        transcript.push(Direction::Received, line.clone());
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let (Some(code), more) = (code, line.as_bytes().get(3) == Some(&b'-')) else {
            return Err(connection_lost(
                step,
                host,
                &format!("the server sent something that is not SMTP: {line:.80}"),
            ));
        };
        lines.push(line.get(4..).unwrap_or_default().to_string());
        if !more || lines.len() >= MAX_REPLY_LINES {
            return Ok(Reply { code, lines });
        }
    }
}

async fn send_line(
    stream: &mut BufReader<TcpStream>,
    transcript: &Transcript,
    step: Step,
    host: &str,
    line: &str,
) -> Result<(), Diagnosis> {
    transcript.push(Direction::Sent, line.to_string());
    let stream = stream.get_mut();
    stream
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .map_err(|e| connection_lost(step, host, &e.to_string()))?;
    stream
        .flush()
        .await
        .map_err(|e| connection_lost(step, host, &e.to_string()))
}

/// The code and text of a reply that lettre turned into an error. The text
/// is the reply's own (lettre keeps it as the error's source), not the last
/// line received: after a refusal lettre sends QUIT, whose 221 comes last.
fn lettre_reply(error: &lettre::transport::smtp::Error) -> Option<(u16, String)> {
    let code: u16 = error.status()?.to_string().parse().ok()?;
    let text = std::error::Error::source(error)
        .map(|s| s.to_string())
        .unwrap_or_default();
    Some((code, text))
}

fn lettre_failure(step: Step, host: &str, error: &lettre::transport::smtp::Error) -> Diagnosis {
    match lettre_reply(error) {
        Some((code, text)) => smtp_reply(step, code, &text),
        None => connection_lost(step, host, &error.to_string()),
    }
}

/// Climbs the SMTP rungs. Passed rungs and the failing one are in `ladder`.
pub async fn probe(
    target: &ProbeTarget,
    credentials: &SmtpCredentials,
    ladder: &mut Ladder,
) -> Result<String, Box<Diagnosis>> {
    let host = target.host.as_str();
    let port = target.port;
    let transcript = ladder.transcript.clone();

    let tcp = ladder
        .rung(
            Step::Connect,
            |seconds| connect_timeout(host, port, seconds),
            async {
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                    .await
                    .map_err(|_| dns_failure(host))?
                    .collect();
                let mut last_error = None;
                for addr in &addrs {
                    transcript.push(Direction::Note, format!("connecting to {addr}"));
                    match TcpStream::connect(addr).await {
                        Ok(stream) => return Ok((stream, format!("connected to {addr}"))),
                        Err(e) => last_error = Some(e),
                    }
                }
                Err(match last_error {
                    Some(e) => connection_failed(host, port, &e.to_string()),
                    None => dns_failure(host),
                })
            },
        )
        .await?;
    let peer = tcp
        .peer_addr()
        .map_err(|e| Box::new(connection_lost(Step::Connect, host, &e.to_string())))?;
    let mut plain = BufReader::new(tcp);

    ladder
        .rung(
            Step::Greeting,
            |seconds| step_timeout(Step::Greeting, host, seconds),
            async {
                let reply = read_reply(&mut plain, &transcript, Step::Greeting, host).await?;
                if reply.code != 220 {
                    return Err(smtp_reply(Step::Greeting, reply.code, &reply.text()));
                }
                Ok(((), format!("{} {}", reply.code, reply.text())))
            },
        )
        .await?;

    let hello = ClientId::Domain(target.hello_name.clone());
    let stream: Box<dyn lettre::transport::smtp::client::AsyncTokioStream> = if target.use_tls {
        ladder
            .rung(
                Step::Ehlo,
                |seconds| step_timeout(Step::Ehlo, host, seconds),
                async {
                    send_line(
                        &mut plain,
                        &transcript,
                        Step::Ehlo,
                        host,
                        &format!("EHLO {}", target.hello_name),
                    )
                    .await?;
                    let reply = read_reply(&mut plain, &transcript, Step::Ehlo, host).await?;
                    if reply.code != 250 {
                        return Err(smtp_reply(Step::Ehlo, reply.code, &reply.text()));
                    }
                    let offers_starttls = reply
                        .lines
                        .iter()
                        .any(|l| l.trim().eq_ignore_ascii_case("STARTTLS"));
                    if !offers_starttls {
                        return Err(starttls_unavailable(host));
                    }
                    Ok(((), "250, STARTTLS offered".to_string()))
                },
            )
            .await?;
        let tls_config = target.tls.clone();
        let tls_stream = ladder
            .rung(
                Step::StartTls,
                |seconds| step_timeout(Step::StartTls, host, seconds),
                async {
                    send_line(&mut plain, &transcript, Step::StartTls, host, "STARTTLS").await?;
                    let reply = read_reply(&mut plain, &transcript, Step::StartTls, host).await?;
                    if reply.code != 220 {
                        return Err(smtp_reply(Step::StartTls, reply.code, &reply.text()));
                    }
                    let name = ServerName::try_from(host.to_string())
                        .map_err(|e| connection_lost(Step::StartTls, host, &e.to_string()))?;
                    let tcp = plain.into_inner();
                    let connector = tokio_rustls::TlsConnector::from(tls_config);
                    let stream = connector.connect(name, tcp).await.map_err(|e| {
                        match tls::certificate_problem(&e) {
                            Some(fault) => certificate_rejected(Step::StartTls, host, &fault),
                            None => connection_lost(
                                Step::StartTls,
                                host,
                                &format!("TLS handshake failed: {e}"),
                            ),
                        }
                    })?;
                    let version = stream
                        .get_ref()
                        .1
                        .protocol_version()
                        .map(|v| format!("{v:?}"))
                        .unwrap_or_default();
                    transcript.push(
                        Direction::Note,
                        format!("TLS established ({version}), certificate trusted"),
                    );
                    Ok((stream, format!("TLS established ({version})")))
                },
            )
            .await?;
        Box::new(Recorder::new(tls_stream, peer, transcript.clone()))
    } else {
        Box::new(Recorder::new(plain.into_inner(), peer, transcript.clone()))
    };

    let mut conn = ladder
        .rung(
            Step::Ehlo,
            |seconds| step_timeout(Step::Ehlo, host, seconds),
            async {
                let conn = AsyncSmtpConnection::connect_with_transport(stream, &hello)
                    .await
                    .map_err(|e| lettre_failure(Step::Ehlo, host, &e))?;
                let detail = if target.use_tls {
                    "250 (encrypted)"
                } else {
                    "250"
                };
                Ok((conn, detail.to_string()))
            },
        )
        .await?;

    match credentials {
        SmtpCredentials::None => {}
        SmtpCredentials::XOAuth2 { mailbox, token } => {
            ladder
                .rung(
                    Step::Auth,
                    |seconds| step_timeout(Step::Auth, host, seconds),
                    async {
                        let creds = Credentials::new(mailbox.clone(), token.expose().to_string());
                        let command = Auth::new(Mechanism::Xoauth2, creds, None)
                            .map_err(|e| connection_lost(Step::Auth, host, &e.to_string()))?;
                        let mut response = conn
                            .command(command)
                            .await
                            .map_err(|e| lettre_failure(Step::Auth, host, &e))?;
                        // A refused XOAUTH2 may first send a 334 with the error
                        // as JSON; the client answers with an empty line and the
                        // final reply follows.
                        if response.has_code(334) {
                            response = conn
                                .command("\r\n")
                                .await
                                .map_err(|e| lettre_failure(Step::Auth, host, &e))?;
                        }
                        if !response.has_code(235) {
                            let code: u16 = response.code().to_string().parse().unwrap_or(0);
                            let text = response.message().collect::<Vec<_>>().join(" ");
                            return Err(smtp_reply(Step::Auth, code, &text));
                        }
                        Ok((
                            (),
                            format!("235 {}", response.first_line().unwrap_or_default()),
                        ))
                    },
                )
                .await?;
        }
        SmtpCredentials::Password { username, password } => {
            // The console prefers PLAIN and falls back to LOGIN, as lettre
            // does; choosing here names the rung after the command sent.
            let offered = conn
                .server_info()
                .get_auth_mechanism(&[Mechanism::Plain, Mechanism::Login]);
            let step = match offered {
                Some(Mechanism::Login) => Step::AuthLogin,
                _ => Step::AuthPlain,
            };
            ladder
                .rung(step, |seconds| step_timeout(step, host, seconds), async {
                    let Some(mechanism) = offered else {
                        return Err(no_password_mechanism(
                            host,
                            conn.server_info()
                                .supports_auth_mechanism(Mechanism::Xoauth2),
                        ));
                    };
                    let creds = Credentials::new(username.clone(), password.expose().to_string());
                    let response = conn
                        .auth(&[mechanism], &creds)
                        .await
                        .map_err(|e| lettre_failure(step, host, &e))?;
                    Ok((
                        (),
                        format!(
                            "{} {}",
                            response.code(),
                            response.first_line().unwrap_or_default()
                        ),
                    ))
                })
                .await?;
        }
    }

    ladder
        .rung(
            Step::Quit,
            |seconds| step_timeout(Step::Quit, host, seconds),
            async {
                let response = conn
                    .quit()
                    .await
                    .map_err(|e| lettre_failure(Step::Quit, host, &e))?;
                Ok(((), format!("{}", response.code())))
            },
        )
        .await?;
    Ok(format!("Successfully connected to {host}."))
}
