//! One signed-in SMTP session that the delivery workers keep open and send
//! message after message over. Each step runs within the connection
//! timeout and a failure names the step it happened at.
//!
//! lettre's own pooled transport writes a message's body and its final
//! "\r\n.\r\n" as two small writes on a socket with Nagle's algorithm on:
//! against a server that delays its ACKs that costs ~40 ms per message.
//! These sessions set TCP_NODELAY and drive lettre's connection directly:
//! the message and its closing dot go in one write, and when the server
//! offers PIPELINING (Exchange Online does), MAIL FROM, RCPT TO and DATA go
//! in one write too. A sender with another message waiting writes that
//! message's MAIL FROM, RCPT TO and DATA right after this one's closing
//! dot (RFC 2920 lets message text open a group): one round trip per
//! message instead of two.

use super::transport::Login;
use crate::domain::diagnosis::Step;
use lettre::Message;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use std::fmt;
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
    /// The AUTH rung the session signed in with, for a refusal after it
    /// that is about signing in ("530 5.7.57" at MAIL FROM).
    pub signed_in_with: Option<Step>,
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
            signed_in_with: None,
        }),
        Err(_) => Err(SessionError {
            step,
            failure: Failure::Timeout,
            signed_in_with: None,
        }),
    }
}

pub struct Session {
    conn: AsyncSmtpConnection,
    signed_in_with: Option<Step>,
    /// The server offers PIPELINING (RFC 2920).
    pipelining: bool,
    idle_since: Instant,
    /// The message whose MAIL FROM, RCPT TO and DATA went out after the
    /// last message's end: their replies are still to read, and once DATA
    /// is accepted the server takes whatever comes next as that message's
    /// text. Only that message may follow on this session.
    primed: Option<Primed>,
}

/// A message whose envelope is on the wire, with its text as formatted
/// then (a message is formatted once).
struct Primed {
    message_id: String,
    text: String,
}

/// MAIL FROM, each RCPT TO and DATA, written at once.
struct Commands<'a>(&'a Mail, &'a [Rcpt]);

impl fmt::Display for Commands<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        for rcpt in self.1 {
            write!(f, "{rcpt}")?;
        }
        write!(f, "{Data}")
    }
}

/// A message's end and the next message's commands, written at once.
struct Chained<'a>(DotStuffed<'a>, Commands<'a>);

impl fmt::Display for Chained<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

fn envelope_commands(envelope: &Envelope) -> (Mail, Vec<Rcpt>) {
    let mail = Mail::new(envelope.from().cloned(), Vec::new());
    let rcpts = envelope
        .to()
        .iter()
        .map(|to| Rcpt::new(to.clone(), Vec::new()))
        .collect();
    (mail, rcpts)
}

/// The message's text when it and its envelope are plain ASCII, so MAIL
/// FROM needs no SMTPUTF8 or 8BITMIME parameter; otherwise the bytes back.
fn plain_text(envelope: &Envelope, email: Vec<u8>) -> Result<String, Vec<u8>> {
    let ascii_envelope = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .all(|address| AsRef::<str>::as_ref(address).is_ascii());
    if !(ascii_envelope && email.is_ascii()) {
        return Err(email);
    }
    String::from_utf8(email).map_err(|e| e.into_bytes())
}

fn message_id(message: &Message) -> Option<&str> {
    message.headers().get_raw("Message-ID")
}

/// A message's text with SMTP's transparency (RFC 5321 4.5.2: a line that
/// starts with a dot gets one more) and the closing `<CRLF>.<CRLF>`.
struct DotStuffed<'a>(&'a str);

impl fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, line) in self.0.split("\r\n").enumerate() {
            if n > 0 {
                f.write_str("\r\n")?;
            }
            if line.starts_with('.') {
                f.write_str(".")?;
            }
            f.write_str(line)?;
        }
        f.write_str("\r\n.\r\n")
    }
}

/// The rung named after the AUTH command sent.
pub fn auth_step(mechanism: Mechanism) -> Step {
    match mechanism {
        Mechanism::Plain => Step::AuthPlain,
        Mechanism::Login => Step::AuthLogin,
        Mechanism::Xoauth2 => Step::Auth,
    }
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
                    signed_in_with: None,
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
        // lettre keeps only the EHLO keywords it knows; ask once more to
        // learn whether the server pipelines (before AUTH, which an EHLO
        // could reset).
        let extensions = step(
            Step::Ehlo,
            target.timeout,
            conn.command(Ehlo::new(hello.clone())),
            Failure::Smtp,
        )
        .await?;
        let pipelining = extensions.message().any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
        });
        // The mechanism is chosen here (PLAIN, else LOGIN, for a password)
        // so that a refusal names the command that was sent.
        let login = match login {
            Login::None => None,
            Login::Password { username, password } => {
                let mechanism = conn
                    .server_info()
                    .get_auth_mechanism(&[Mechanism::Plain, Mechanism::Login]);
                Some((
                    mechanism.unwrap_or(Mechanism::Plain),
                    Credentials::new(username.to_string(), password.expose().to_string()),
                ))
            }
            Login::XOAuth2 { mailbox, token } => Some((
                Mechanism::Xoauth2,
                Credentials::new(mailbox.to_string(), token.expose().to_string()),
            )),
        };
        let mut signed_in_with = None;
        if let Some((mechanism, credentials)) = login {
            let auth = auth_step(mechanism);
            step(
                auth,
                target.timeout,
                conn.auth(&[mechanism], &credentials),
                Failure::Smtp,
            )
            .await?;
            signed_in_with = Some(auth);
        }
        Ok(Session {
            conn,
            signed_in_with,
            pipelining,
            idle_since: Instant::now(),
            primed: None,
        })
    }

    /// MAIL FROM, RCPT TO, DATA and the message; the whole transaction
    /// within `timeout`. A failure names the command it happened at.
    pub async fn send(
        &mut self,
        message: &Message,
        timeout: Duration,
    ) -> Result<Response, SessionError> {
        self.send_then(message, None, timeout).await
    }

    /// As [`Session::send`], and when the server pipelines, `next`'s MAIL
    /// FROM, RCPT TO and DATA go in the same write as this message's end.
    /// The session is then kept for `next` alone (see [`Session::primed`]);
    /// dropping it instead closes the connection, which discards `next`.
    pub async fn send_then(
        &mut self,
        message: &Message,
        next: Option<&Message>,
        timeout: Duration,
    ) -> Result<Response, SessionError> {
        let mut step = Step::MailFrom;
        if self.primed.is_some() && !self.primed_for(message) {
            // Only a caller's mistake gets here; the server is waiting for
            // another message's text, so this connection can only close.
            return Err(SessionError {
                step,
                failure: Failure::Connect(std::io::Error::other(
                    "the session was prepared for another message",
                )),
                signed_in_with: self.signed_in_with,
            });
        }
        let result =
            tokio::time::timeout(timeout, self.transaction(message, next, &mut step)).await;
        self.idle_since = Instant::now();
        match result {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => {
                // Replies still on their way (pipelined) would answer the
                // next transaction's commands: this session is done. Its
                // QUIT gets the same time, so a mute server cannot hold it.
                // With the next message's DATA sent, the server reads a QUIT
                // as message text: closing the connection discards it.
                if self.primed.take().is_none() {
                    let _ = tokio::time::timeout(timeout, self.conn.abort()).await;
                }
                Err(SessionError {
                    step,
                    failure: Failure::Smtp(e),
                    signed_in_with: self.signed_in_with,
                })
            }
            Err(_) => Err(SessionError {
                step,
                failure: Failure::Timeout,
                signed_in_with: self.signed_in_with,
            }),
        }
    }

    /// The Message-ID of the message whose envelope went out with the last
    /// one's end: the only message this session can send next.
    pub fn primed(&self) -> Option<&str> {
        self.primed
            .as_ref()
            .map(|primed| primed.message_id.as_str())
    }

    /// Whether this session carries `message`'s envelope already.
    pub fn primed_for(&self, message: &Message) -> bool {
        self.primed.is_some() && self.primed() == message_id(message)
    }

    async fn transaction(
        &mut self,
        message: &Message,
        next: Option<&Message>,
        at: &mut Step,
    ) -> Result<Response, lettre::transport::smtp::Error> {
        let envelope = message.envelope();
        let text = match self.primed.take() {
            Some(primed) => {
                // Sent with the last message's end: only the replies are left.
                *at = Step::MailFrom;
                self.conn.read_response().await?;
                self.read_rcpt_and_data_replies(envelope.to().len(), at)
                    .await?;
                primed.text
            }
            None => {
                let text = match plain_text(envelope, message.formatted()) {
                    Ok(text) => text,
                    Err(email) => {
                        // SMTPUTF8 / 8BITMIME parameters: lettre's own
                        // transaction checks that the server offers them
                        // and adds them.
                        *at = Step::Data;
                        return self.conn.send(envelope, &email).await;
                    }
                };
                self.envelope(envelope, at).await?;
                text
            }
        };
        // The message and its closing dot in one write, and the next
        // message's envelope with them when it can go without parameters.
        let next = next.filter(|_| self.pipelining).and_then(|next| {
            let text = plain_text(next.envelope(), next.formatted()).ok()?;
            let message_id = message_id(next)?.to_string();
            Some((Primed { message_id, text }, next.envelope()))
        });
        *at = Step::Data;
        match next {
            Some((primed, next_envelope)) => {
                let (next_mail, next_rcpts) = envelope_commands(next_envelope);
                let group = Chained(DotStuffed(&text), Commands(&next_mail, &next_rcpts));
                // Set before the reply: a failure from here on leaves the
                // server waiting for the next message's text.
                self.primed = Some(primed);
                self.conn.command(group).await
            }
            None => self.conn.command(DotStuffed(&text)).await,
        }
    }

    /// MAIL FROM, RCPT TO and DATA, up to the server's go-ahead for the text.
    async fn envelope(
        &mut self,
        envelope: &Envelope,
        at: &mut Step,
    ) -> Result<(), lettre::transport::smtp::Error> {
        let (mail, rcpts) = envelope_commands(envelope);
        if self.pipelining {
            // RFC 2920: MAIL, every RCPT and DATA in one write, then their
            // replies in order: one round trip instead of two or more.
            self.conn.command(Commands(&mail, &rcpts)).await?;
            self.read_rcpt_and_data_replies(rcpts.len(), at).await?;
        } else {
            self.conn.command(&mail).await?;
            *at = Step::RcptTo;
            for rcpt in &rcpts {
                self.conn.command(rcpt).await?;
            }
            *at = Step::Data;
            self.conn.command(Data).await?;
        }
        Ok(())
    }

    /// The pipelined replies after MAIL FROM's: one per RCPT TO, then DATA's.
    async fn read_rcpt_and_data_replies(
        &mut self,
        recipients: usize,
        at: &mut Step,
    ) -> Result<(), lettre::transport::smtp::Error> {
        *at = Step::RcptTo;
        for _ in 0..recipients {
            self.conn.read_response().await?;
        }
        *at = Step::Data;
        self.conn.read_response().await?;
        Ok(())
    }

    /// Still worth reusing: not broken, not waiting for one particular
    /// message, and not idle so long that the server has probably closed
    /// it (Exchange drops idle sessions).
    pub fn reusable(&self, idle_limit: Duration) -> bool {
        !self.conn.has_broken() && self.primed.is_none() && self.idle_since.elapsed() < idle_limit
    }
}

#[cfg(test)]
mod tests {
    //! The wire form of a transaction, against a minimal in-process server
    //! that records what arrives in each read.
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Serves one connection; returns the chunks read, as text.
    async fn fake_server(pipelining: bool) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            let (mut chunks, mut pending, mut in_data) = (Vec::new(), String::new(), false);
            let mut mute = false;
            let mut buffer = [0u8; 4096];
            loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    return chunks;
                }
                let chunk = String::from_utf8_lossy(&buffer[..n]).to_string();
                pending.push_str(&chunk);
                chunks.push(chunk);
                let mut replies = String::new();
                while let Some(end) = pending.find("\r\n") {
                    let line: String = pending.drain(..end + 2).collect();
                    let line = line.trim_end();
                    if in_data {
                        if line == "." {
                            in_data = false;
                            replies.push_str("250 2.6.0 Queued mail for delivery\r\n");
                        }
                        continue;
                    }
                    if mute {
                        continue;
                    }
                    let verb = line.split([' ', ':']).next().unwrap_or("");
                    // Refuses, then never answers again.
                    mute = verb == "RCPT" && line.contains("mute");
                    replies.push_str(match verb {
                        "EHLO" if pipelining => "250-fake\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                        "EHLO" => "250-fake\r\n250 8BITMIME\r\n",
                        "MAIL" => "250 2.1.0 Sender OK\r\n",
                        "RCPT" if line.contains("refused") || mute => {
                            "550 5.1.10 Recipient not found\r\n"
                        }
                        "RCPT" => "250 2.1.5 Recipient OK\r\n",
                        "DATA" => {
                            in_data = true;
                            "354 Start mail input\r\n"
                        }
                        "QUIT" => "221 Bye\r\n",
                        _ => "500 What\r\n",
                    });
                }
                if !replies.is_empty() && socket.write_all(replies.as_bytes()).await.is_err() {
                    return chunks;
                }
            }
        });
        (port, served)
    }

    async fn session(port: u16) -> Session {
        let target = Target {
            host: "127.0.0.1".into(),
            port,
            timeout: Duration::from_secs(5),
            starttls: None,
            hello_name: "test".into(),
        };
        Session::open(&target, &Login::None).await.unwrap()
    }

    fn message(to: &[&str]) -> Message {
        let mut builder = Message::builder()
            .from("noreply@contoso.test".parse().unwrap())
            .subject("Dots");
        for to in to {
            builder = builder.to(to.parse().unwrap());
        }
        builder.body(String::from(".leading\n.\nlast")).unwrap()
    }

    #[tokio::test]
    async fn a_pipelining_server_gets_mail_rcpt_and_data_in_one_write() {
        let (port, served) = fake_server(true).await;
        let mut session = session(port).await;
        assert!(session.pipelining);
        let reply = session
            .send(&message(&["a@x.test", "b@x.test"]), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(reply.code().to_string(), "250");
        drop(session);
        let chunks = served.await.unwrap();
        let group = chunks
            .iter()
            .find(|c| c.starts_with("MAIL FROM"))
            .expect("a MAIL FROM");
        assert_eq!(
            group,
            "MAIL FROM:<noreply@contoso.test>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
        );
        let body = chunks.iter().find(|c| c.contains("Subject: Dots")).unwrap();
        assert!(
            body.ends_with("\r\n..leading\r\n..\r\nlast\r\n.\r\n"),
            "dot-stuffed and closed in the same write: {body:?}"
        );
    }

    #[tokio::test]
    async fn without_pipelining_each_command_waits_for_its_reply() {
        let (port, served) = fake_server(false).await;
        let mut session = session(port).await;
        assert!(!session.pipelining);
        session
            .send(&message(&["a@x.test", "b@x.test"]), Duration::from_secs(5))
            .await
            .unwrap();
        drop(session);
        let chunks = served.await.unwrap();
        let commands: Vec<&str> = chunks
            .iter()
            .map(String::as_str)
            .filter(|c| c.starts_with("MAIL") || c.starts_with("RCPT") || c.starts_with("DATA"))
            .collect();
        assert_eq!(
            commands,
            [
                "MAIL FROM:<noreply@contoso.test>\r\n",
                "RCPT TO:<a@x.test>\r\n",
                "RCPT TO:<b@x.test>\r\n",
                "DATA\r\n"
            ]
        );
    }

    #[tokio::test]
    async fn a_pipelined_refusal_names_its_command_and_ends_the_session() {
        let (port, _served) = fake_server(true).await;
        let mut session = session(port).await;
        let error = session
            .send(
                &message(&["a@x.test", "refused@x.test"]),
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert_refused_recipient_ends(&error, &session);
    }

    /// A 550 to RCPT TO, named at that command, and the session is done.
    fn assert_refused_recipient_ends(error: &SessionError, session: &Session) {
        assert_eq!(error.step, Step::RcptTo);
        assert_eq!(error.reply_code(), Some(550));
        assert!(!session.reusable(Duration::from_secs(60)));
    }

    #[tokio::test]
    async fn a_server_that_refuses_then_goes_mute_holds_the_session_no_longer_than_its_timeout() {
        let (port, _served) = fake_server(true).await;
        let mut session = session(port).await;
        let mute = message(&["mute@x.test"]);
        let sending = session.send(&mute, Duration::from_millis(500));
        let error = tokio::time::timeout(Duration::from_secs(3), sending)
            .await
            .expect("the QUIT after the refusal waits no longer than the timeout")
            .unwrap_err();
        assert_eq!(error.step, Step::RcptTo);
        assert!(!session.reusable(Duration::from_secs(60)));
    }

    fn numbered(n: u32, to: &str) -> Message {
        Message::builder()
            .from("noreply@contoso.test".parse().unwrap())
            .to(to.parse().unwrap())
            .subject(format!("Number {n}"))
            .message_id(Some(format!("<{n}@contoso.test>")))
            .body(format!("Message {n}"))
            .unwrap()
    }

    #[tokio::test]
    async fn the_next_messages_envelope_goes_with_this_messages_end() {
        let (port, served) = fake_server(true).await;
        let mut session = session(port).await;
        let (first, second) = (numbered(1, "a@x.test"), numbered(2, "b@x.test"));
        let reply = session
            .send_then(&first, Some(&second), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(reply.code().to_string(), "250");
        assert_eq!(session.primed(), Some("<2@contoso.test>"));
        assert!(
            !session.reusable(Duration::from_secs(60)),
            "kept for the second alone"
        );
        let reply = session.send(&second, Duration::from_secs(5)).await.unwrap();
        assert_eq!(reply.code().to_string(), "250");
        assert_eq!(session.primed(), None);
        assert!(session.reusable(Duration::from_secs(60)));
        drop(session);
        let chunks = served.await.unwrap();
        let first_end = chunks
            .iter()
            .find(|c| c.contains("Message 1"))
            .expect("the first message");
        assert!(
            first_end.ends_with(
                "Message 1\r\n.\r\nMAIL FROM:<noreply@contoso.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
            ),
            "the second envelope follows the first message's dot in one write: {first_end:?}"
        );
        assert_eq!(
            chunks.iter().filter(|c| c.starts_with("MAIL FROM")).count(),
            1,
            "only the first envelope goes alone: {chunks:?}"
        );
        assert!(chunks.iter().any(|c| c.contains("Message 2\r\n.\r\n")));
    }

    #[tokio::test]
    async fn a_refusal_of_the_chained_envelope_fails_that_message_alone() {
        let (port, _served) = fake_server(true).await;
        let mut session = session(port).await;
        let (first, second) = (numbered(1, "a@x.test"), numbered(2, "refused@x.test"));
        session
            .send_then(&first, Some(&second), Duration::from_secs(5))
            .await
            .expect("the first message is accepted");
        let error = session
            .send(&second, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_refused_recipient_ends(&error, &session);
    }

    #[tokio::test]
    async fn a_session_waiting_for_one_message_refuses_another() {
        let (port, served) = fake_server(true).await;
        let mut session = session(port).await;
        session
            .send_then(
                &numbered(1, "a@x.test"),
                Some(&numbered(2, "b@x.test")),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        let error = session
            .send(&numbered(3, "c@x.test"), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(error.reply_code(), None);
        assert!(!session.reusable(Duration::from_secs(60)));
        drop(session);
        let chunks = served.await.unwrap();
        assert!(
            !chunks.iter().any(|c| c.contains("Message 3")),
            "nothing of the third goes into the second's text: {chunks:?}"
        );
    }

    #[tokio::test]
    async fn without_pipelining_nothing_is_chained() {
        let (port, _served) = fake_server(false).await;
        let mut session = session(port).await;
        let (first, second) = (numbered(1, "a@x.test"), numbered(2, "b@x.test"));
        session
            .send_then(&first, Some(&second), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(session.primed(), None);
        session.send(&second, Duration::from_secs(5)).await.unwrap();
    }

    #[test]
    fn dot_stuffing_doubles_only_leading_dots() {
        assert_eq!(
            DotStuffed(".a\r\nb.c\r\n.\r\n\r\n..d").to_string(),
            "..a\r\nb.c\r\n..\r\n\r\n...d\r\n.\r\n"
        );
        assert_eq!(DotStuffed("").to_string(), "\r\n.\r\n");
    }
}
