//! One signed-in SMTP session that the delivery workers keep open and send
//! message after message over. Each step runs within the connection
//! timeout and a failure names the step it happened at.
//!
//! lettre's own pooled transport writes a message's body and its final
//! "\r\n.\r\n" as two small writes on a socket with Nagle's algorithm on:
//! against a server that delays its ACKs that costs ~40 ms per message.
//! These sessions set TCP_NODELAY and drive lettre's connection directly.

use super::transport::Login;
use crate::domain::diagnosis::Step;
use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Where and how to connect.
pub struct Target {
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
    /// STARTTLS required, with these parameters.
    pub starttls: Option<TlsParameters>,
    pub hello_name: String,
}

#[derive(Debug)]
pub enum Failure {
    Dns,
    Connect(std::io::Error),
    Timeout,
    /// STARTTLS is required but the server does not offer it.
    NoStartTls,
    Smtp(lettre::transport::smtp::Error),
}

/// A failed step of a session.
#[derive(Debug)]
pub struct SessionError {
    pub step: Step,
    pub failure: Failure,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.failure {
            Failure::Dns => "host name not resolved".to_string(),
            Failure::Connect(e) => e.to_string(),
            Failure::Timeout => "timed out".to_string(),
            Failure::NoStartTls => "STARTTLS not offered".to_string(),
            Failure::Smtp(e) => e.to_string(),
        };
        write!(f, "{}: {what}", self.step.label())
    }
}

impl SessionError {
    /// Whether the server refused with a reply (as opposed to the
    /// connection failing), and with which code.
    pub fn reply_code(&self) -> Option<u16> {
        match &self.failure {
            Failure::Smtp(e) => e.status().and_then(|c| c.to_string().parse().ok()),
            _ => None,
        }
    }
}

async fn step<T, E>(
    step: Step,
    timeout: Duration,
    work: impl Future<Output = Result<T, E>>,
    failure: impl FnOnce(E) -> Failure,
) -> Result<T, SessionError> {
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(SessionError {
            step,
            failure: failure(e),
        }),
        Err(_) => Err(SessionError {
            step,
            failure: Failure::Timeout,
        }),
    }
}

pub struct Session {
    conn: AsyncSmtpConnection,
    idle_since: Instant,
}

impl Session {
    /// Connects, reads the greeting, EHLO, STARTTLS (when required), EHLO
    /// again and signs in.
    pub async fn open(target: &Target, login: &Login<'_>) -> Result<Session, SessionError> {
        let host = target.host.as_str();
        let tcp = step(
            Step::Connect,
            target.timeout,
            async {
                let addrs: Vec<_> = tokio::net::lookup_host((host, target.port))
                    .await
                    .map_err(|_| Failure::Dns)?
                    .collect();
                let mut last = Failure::Dns;
                for addr in addrs {
                    match TcpStream::connect(addr).await {
                        Ok(stream) => return Ok(stream),
                        Err(e) => last = Failure::Connect(e),
                    }
                }
                Err(last)
            },
            |f| f,
        )
        .await?;
        // Commands and the end of DATA are small writes: send each at once.
        let _ = tcp.set_nodelay(true);
        let hello = ClientId::Domain(target.hello_name.clone());
        let mut conn = step(
            Step::Greeting,
            target.timeout,
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello),
            Failure::Smtp,
        )
        .await?;
        if let Some(params) = &target.starttls {
            if !conn.can_starttls() {
                return Err(SessionError {
                    step: Step::StartTls,
                    failure: Failure::NoStartTls,
                });
            }
            step(
                Step::StartTls,
                target.timeout,
                conn.starttls(params.clone(), &hello),
                Failure::Smtp,
            )
            .await?;
        }
        let login = match login {
            Login::None => None,
            Login::Password { username, password } => Some((
                vec![Mechanism::Plain, Mechanism::Login],
                Credentials::new(username.to_string(), password.expose().to_string()),
            )),
            Login::XOAuth2 { mailbox, token } => Some((
                vec![Mechanism::Xoauth2],
                Credentials::new(mailbox.to_string(), token.expose().to_string()),
            )),
        };
        if let Some((mechanisms, credentials)) = login {
            step(
                Step::Auth,
                target.timeout,
                conn.auth(&mechanisms, &credentials),
                Failure::Smtp,
            )
            .await?;
        }
        Ok(Session {
            conn,
            idle_since: Instant::now(),
        })
    }

    /// MAIL FROM, RCPT TO, DATA; the whole transaction within `timeout`.
    pub async fn send(
        &mut self,
        message: &Message,
        timeout: Duration,
    ) -> Result<Response, SessionError> {
        let result = step(
            Step::Data,
            timeout,
            self.conn.send(message.envelope(), &message.formatted()),
            Failure::Smtp,
        )
        .await;
        self.idle_since = Instant::now();
        result
    }

    /// Still worth reusing: not broken, and not idle so long that the
    /// server has probably closed it (Exchange drops idle sessions).
    pub fn reusable(&self, idle_limit: Duration) -> bool {
        !self.conn.has_broken() && self.idle_since.elapsed() < idle_limit
    }
}
