//! Mail dispatch: the outbox, the delivery workers and their pool of SMTP
//! sessions. Every email the console sends is queued here, in the same
//! transaction as the change that caused it, and delivered by `worker`.

/// Logs a mail event under the component that owns its kind: guest mail
/// goes to guest.log as `guestaccess`, test emails as `guest-access-admin`
/// (ISE logs Send Test Email there), everything else as `smtp`.
macro_rules! mail_log {
    ($kind:expr, $level:ident, $($arg:tt)+) => {{
        let kind: $crate::domain::mail::MailKind = $kind;
        if kind.is_guest_mail() {
            tracing::$level!(target: "guestaccess", $($arg)+)
        } else if kind == $crate::domain::mail::MailKind::TestEmail {
            tracing::$level!(target: "guest-access-admin", $($arg)+)
        } else {
            tracing::$level!(target: "smtp", $($arg)+)
        }
    }};
}

pub mod pacing;
pub mod subject;
pub(crate) mod transport;
pub mod worker;

use crate::domain::Secret;
use crate::domain::diagnosis::Diagnosis;
use crate::domain::mail::{MailKind, MailStatus, RetryPolicy};
use crate::server::clock::Clock;
use crate::server::db;
use crate::server::oauth::cache::TokenCache;
use crate::server::vault::Vault;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// The vault purpose of message bodies, keyed by outbox id. Bodies are
/// sealed because guest credentials carry passwords; each is deleted once
/// its message is delivered or discarded.
pub const BODY_PURPOSE: &str = "outbox.body";

/// How the delivery workers behave.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Connections kept open to the SMTP server, and messages in flight.
    /// Exchange Online allows 3 concurrent connections per mailbox.
    pub pool_size: u32,
    pub retry: RetryPolicy,
    /// How long a claimed row stays with its worker before another may take it.
    pub lease: Duration,
    /// Without sending limits, a sender with the next message ready writes
    /// its envelope with the last message's end (`Session::send_then`).
    /// Off only to measure what that gains (`benches/`).
    pub chain_messages: bool,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            pool_size: 3,
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(10 * 60),
            chain_messages: true,
        }
    }
}

impl MailConfig {
    /// `MAILROOM_MAIL_POOL_SIZE` (1-32), `MAILROOM_MAIL_MAX_ATTEMPTS` (1-50),
    /// `MAILROOM_MAIL_RETRY_BASE_MS` (100 ms - 1 h), others by default.
    pub fn from_env() -> Self {
        let number = |name: &str, range: std::ops::RangeInclusive<u64>| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|v| range.contains(v))
        };
        let mut config = MailConfig::default();
        if let Some(size) = number("MAILROOM_MAIL_POOL_SIZE", 1..=32) {
            config.pool_size = size as u32;
        }
        if let Some(attempts) = number("MAILROOM_MAIL_MAX_ATTEMPTS", 1..=50) {
            config.retry.max_attempts = attempts as u32;
        }
        if let Some(base) = number("MAILROOM_MAIL_RETRY_BASE_MS", 100..=3_600_000) {
            config.retry.base_ms = base;
            config.retry.max_ms = config.retry.max_ms.max(base);
        }
        config
    }
}

/// An email to queue.
#[derive(Clone)]
pub struct Outgoing {
    pub kind: MailKind,
    pub sender: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The admin, sponsor or job that caused it.
    pub created_by: String,
    /// The language of its text, sent as `Content-Language`.
    pub language: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Body {
    text: String,
    html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
}

pub struct Queued {
    pub id: i64,
    pub message_id: String,
    pub kind: MailKind,
}

/// The end of one attempt, announced to whoever waits for it (Send Test
/// Email) and to the Mail Queue's progress.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub id: i64,
    pub status: MailStatus,
    pub reply: String,
    pub diagnosis: Option<Diagnosis>,
    pub millis: i64,
    pub next_attempt_at: Option<i64>,
}

/// The dispatcher's shared state: how to wake the workers, who waits for
/// which message, the OAuth token cache and the pool of SMTP sessions.
pub struct Mailer {
    pub config: MailConfig,
    wake: Notify,
    settled: broadcast::Sender<Settlement>,
    /// Bumped whenever SMTP, proxy or trust settings change, so the next
    /// delivery loads them again and builds a new pool.
    generation: AtomicU64,
    pub tokens: TokenCache,
    transport: transport::TransportSlot,
    /// Names this process's leases: `node/pid-random`, so that a node
    /// restarting on a shared database takes back its own leases only.
    owner: String,
    /// Whether a delivery alarm (token, unreachable, dead letter) may be
    /// open: a delivery that works then clears them, and otherwise costs
    /// nothing. True at start, for alarms left by a previous run.
    pub delivery_alarms_may_be_open: std::sync::atomic::AtomicBool,
    /// Connections open at once to each sending mailbox.
    gates: std::sync::Mutex<std::collections::HashMap<String, Arc<pacing::ConnectionGate>>>,
    /// Microsoft Graph requests in flight per mailbox on this node.
    graph_requests:
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
    /// The limits in force, loaded by the workers with each settings change.
    pub paced: std::sync::Mutex<Option<pacing::Paced>>,
    /// Delivery's writes (claims, recorded results) take turns here. Left
    /// to SQLite, one that finds another's transaction open sleeps in the
    /// busy handler (1, 2, 5 ms and longer between tries), often past the
    /// moment the lock is free, while the senders run out of messages.
    writes: tokio::sync::Mutex<()>,
    /// Numbers this process's connection slots (`pacing::ConnectionSlot`).
    slot_serial: AtomicU64,
    /// Alarms that delivery outcomes raise, waiting for the one task that
    /// writes them (`worker::record`).
    pub(crate) alarm_queue: std::sync::Mutex<AlarmQueue>,
}

/// Conditions to raise, at most one per alarm code and subject (the
/// latest), and whether a task is writing them.
#[derive(Default)]
pub(crate) struct AlarmQueue {
    pub(crate) pending: Vec<crate::server::alarms::Condition>,
    pub(crate) draining: bool,
}

impl Mailer {
    /// `instance` names this process's leases (`Config::instance`).
    pub fn new(config: MailConfig, clock: Arc<dyn Clock>, instance: &str) -> Self {
        let (settled, _) = broadcast::channel(1024);
        Mailer {
            config,
            wake: Notify::new(),
            settled,
            generation: AtomicU64::new(1),
            tokens: TokenCache::new(clock),
            transport: transport::TransportSlot::default(),
            delivery_alarms_may_be_open: std::sync::atomic::AtomicBool::new(true),
            gates: Default::default(),
            graph_requests: Default::default(),
            paced: std::sync::Mutex::new(None),
            writes: tokio::sync::Mutex::new(()),
            owner: instance.to_string(),
            slot_serial: AtomicU64::new(0),
            alarm_queue: Default::default(),
        }
    }

    /// Called after the SMTP, proxy or trusted-certificate settings change.
    pub fn settings_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Tells the workers that rows may be due (after a commit that queued
    /// some): every waiting lane, and the next one to wait if none is.
    pub fn wake(&self) {
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    /// A new owner name for one connection slot: `instance#n`, which the
    /// heartbeat renews by its prefix.
    pub fn slot_owner(&self) -> String {
        let serial = self.slot_serial.fetch_add(1, Ordering::Relaxed);
        format!("{}#{serial}", self.owner)
    }

    /// Closes the pooled sessions idle longer than `limit`, giving their
    /// connection slots to whichever node needs them.
    pub fn close_idle_sessions(&self, limit: std::time::Duration) {
        self.transport.close_idle(limit);
    }

    /// The connection gate of a sending mailbox (lower-case).
    /// A turn to call Graph for `mailbox`: Graph answers 429 to more than
    /// four concurrent requests per mailbox.
    pub async fn graph_turn(&self, mailbox: &str) -> tokio::sync::OwnedSemaphorePermit {
        let turns = self
            .graph_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(mailbox.to_ascii_lowercase())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Semaphore::new(
                    crate::server::graph::CONCURRENT_REQUESTS_PER_MAILBOX,
                ))
            })
            .clone();
        turns
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    pub fn gate(&self, mailbox: &str) -> Arc<pacing::ConnectionGate> {
        self.gates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(mailbox.to_string())
            .or_default()
            .clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Settlement> {
        self.settled.subscribe()
    }

    /// Writes the message to the outbox inside the caller's transaction:
    /// it exists exactly when the change that caused it was committed. A
    /// message to more recipients than the mailbox allows in one is split
    /// into parts, each its own row and Message-ID. Call `submitted` after
    /// the commit.
    pub async fn enqueue(
        &self,
        tx: &mut Transaction<'_, Any>,
        vault: &Vault,
        mail: &Outgoing,
        now_ms: i64,
    ) -> anyhow::Result<Vec<Queued>> {
        let per_message = self
            .paced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, |p| p.limits.recipients_per_message as usize);
        let parts: Vec<&[String]> = if per_message > 0 && mail.recipients.len() > per_message {
            mail.recipients.chunks(per_message).collect()
        } else {
            vec![&mail.recipients[..]]
        };
        let mut queued = Vec::with_capacity(parts.len());
        for recipients in parts {
            queued.push(
                self.enqueue_part(tx, vault, mail, recipients, now_ms)
                    .await?,
            );
        }
        Ok(queued)
    }

    async fn enqueue_part(
        &self,
        tx: &mut Transaction<'_, Any>,
        vault: &Vault,
        mail: &Outgoing,
        recipients: &[String],
        now_ms: i64,
    ) -> anyhow::Result<Queued> {
        let domain = mail
            .sender
            .rsplit_once('@')
            .map(|(_, domain)| domain)
            .unwrap_or("mailroom.invalid");
        let message_id = format!("<{}@{}>", crate::server::auth::random_token(), domain);
        let id = db::outbox::insert(
            &mut **tx,
            &db::outbox::NewMail {
                kind: mail.kind,
                sender: &mail.sender,
                recipients,
                subject: &mail.subject,
                message_id: &message_id,
                created_by: &mail.created_by,
            },
            now_ms,
        )
        .await?;
        let body = serde_json::to_string(&Body {
            text: mail.text.clone(),
            html: mail.html.clone(),
            language: mail.language.clone(),
        })?;
        vault
            .put_in(
                &mut **tx,
                BODY_PURPOSE,
                &id.to_string(),
                &Secret::new(body),
                now_ms / 1000,
            )
            .await?;
        Ok(Queued {
            id,
            message_id,
            kind: mail.kind,
        })
    }

    /// Logs the job as ISE does and wakes the workers, once committed.
    pub fn submitted(&self, queued: &[Queued]) {
        for mail in queued {
            mail_log!(
                mail.kind,
                debug,
                "sendMailMessage: Submitting Mail Job {} ({}) Message-ID {}",
                mail.id,
                mail.kind.label(),
                mail.message_id
            );
        }
        if !queued.is_empty() {
            self.wake();
        }
    }

    /// Waits until message `id` has finished an attempt, up to `timeout`.
    /// Subscribe before queueing, so the settlement cannot slip past.
    pub async fn wait_for(
        mut receiver: broadcast::Receiver<Settlement>,
        id: i64,
        timeout: Duration,
    ) -> Option<Settlement> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Ok(settlement)) if settlement.id == id => return Some(settlement),
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_sees_only_its_own_settlement() {
        let mailer = Mailer::new(
            MailConfig::default(),
            Arc::new(crate::server::clock::SystemClock),
            "ise-psn-01/1-test",
        );
        let receiver = mailer.subscribe();
        let settled = |id| Settlement {
            id,
            status: MailStatus::Sent,
            reply: format!("250 {id}"),
            diagnosis: None,
            millis: 1,
            next_attempt_at: None,
        };
        mailer.settled.send(settled(1)).unwrap();
        mailer.settled.send(settled(2)).unwrap();
        let seen = Mailer::wait_for(receiver, 2, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(seen.reply, "250 2");
        let nobody = Mailer::wait_for(mailer.subscribe(), 3, Duration::from_millis(50)).await;
        assert!(nobody.is_none());
    }
}
