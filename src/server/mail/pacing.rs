//! Pacing one sending mailbox under its limits: how many connections may
//! be open, how fast messages are released (shared through the database by
//! every worker and across restarts), and what the server's own signals
//! (432 4.3.2, 554 5.2.0, 554 5.2.2) change.

use crate::domain::diagnosis::Diagnosis;
use crate::domain::limits::SendingLimits;
use crate::server::AppState;
use crate::server::db;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a 432 4.3.2 lowers the mailbox's connections.
const LOWERED_FOR_MS: i64 = 10 * 60 * 1000;
/// How long a full mailbox (554 5.2.2) pauses sending before trying again.
const MAILBOX_FULL_PAUSE_MS: i64 = 15 * 60 * 1000;

/// The limits in force and the mailbox they apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paced {
    pub mailbox: String,
    pub limits: SendingLimits,
    /// Whether the limits were saved, or are the cloud's defaults.
    pub saved: bool,
    /// Whether the SMTP server signs in with OAuth, which a pool needs.
    pub oauth: bool,
    /// The sender pool's enabled mailboxes, each under the same limits;
    /// empty unless the SMTP server signs in with OAuth, where one app
    /// token serves every mailbox it has permission on.
    pub pool: Vec<String>,
}

impl Paced {
    /// Every sending mailbox: the SMTP Server page's, then the pool's.
    pub fn mailboxes(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.mailbox).chain(&self.pool)
    }

    /// How many mailboxes send bulk guest mail side by side.
    pub fn lanes(&self) -> u32 {
        1 + self.pool.len() as u32
    }

    /// The limits bulk guest mail goes under: the pool's together.
    pub fn bulk_limits(&self) -> SendingLimits {
        self.limits.spread(self.lanes())
    }
}

/// The saved Sending Limits, else the cloud's defaults: Exchange Online's
/// for its clouds (OAuth to Microsoft), none for a plain relay.
pub async fn current(state: &AppState) -> anyhow::Result<Paced> {
    current_on(&mut *state.db.acquire().await?).await
}

/// As `current`, on one connection (each query on a pooled connection of
/// its own costs a round trip more).
async fn current_on(conn: &mut sqlx::AnyConnection) -> anyhow::Result<Paced> {
    let saved = db::pacing::limits(&mut *conn).await?;
    let Some(smtp) = db::smtp::get(&mut *conn).await? else {
        return Ok(Paced {
            mailbox: String::new(),
            limits: SendingLimits::UNLIMITED,
            saved: saved.is_some(),
            oauth: false,
            pool: Vec::new(),
        });
    };
    let oauth = smtp.use_authentication && smtp.auth_type == "oauth";
    let exchange_cloud = oauth && smtp.cloud != "custom";
    let pool = if oauth {
        db::pacing::sender_mailboxes(&mut *conn)
            .await?
            .into_iter()
            .filter_map(|(mailbox, enabled)| enabled.then_some(mailbox))
            .collect()
    } else {
        Vec::new()
    };
    let limits = match saved {
        Some(limits) => limits,
        None if exchange_cloud => SendingLimits::EXCHANGE_ONLINE,
        None => SendingLimits::UNLIMITED,
    };
    Ok(Paced {
        mailbox: smtp.username.to_ascii_lowercase(),
        limits,
        saved: saved.is_some(),
        oauth,
        pool,
    })
}

/// Connections open at once to the mailbox: at most its limit, one less
/// for a while after each 432 4.3.2.
#[derive(Default)]
pub struct ConnectionGate {
    configured: AtomicUsize,
    in_use: AtomicUsize,
    /// (connections taken off, until when).
    lowered: Mutex<(usize, i64)>,
    freed: Notify,
}

/// A connection slot, given back when dropped.
pub struct GatePass(Arc<ConnectionGate>);

impl Drop for GatePass {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(1, Ordering::SeqCst);
        self.0.freed.notify_waiters();
    }
}

impl ConnectionGate {
    pub fn configure(&self, max_connections: u32) {
        self.configured
            .store(max_connections as usize, Ordering::SeqCst);
        self.freed.notify_waiters();
    }

    /// The connections allowed now (0: no limit).
    pub fn allowed(&self, now_ms: i64) -> usize {
        let configured = self.configured.load(Ordering::SeqCst);
        let (off, until) = *self.lowered.lock().unwrap_or_else(|e| e.into_inner());
        if configured == 0 || now_ms >= until {
            configured
        } else {
            configured.saturating_sub(off).max(1)
        }
    }

    /// The server refused a connection as one too many: one fewer, for a while.
    pub fn lower(&self, now_ms: i64) -> usize {
        let allowed = self.allowed(now_ms);
        let mut lowered = self.lowered.lock().unwrap_or_else(|e| e.into_inner());
        let configured = self.configured.load(Ordering::SeqCst);
        let off = if now_ms < lowered.1 { lowered.0 } else { 0 };
        *lowered = (
            (off + 1).min(configured.saturating_sub(1)),
            now_ms + LOWERED_FOR_MS,
        );
        allowed.saturating_sub(1).max(1)
    }

    /// Waits for a connection slot.
    pub async fn enter(self: &Arc<Self>, now_ms: impl Fn() -> i64) -> GatePass {
        loop {
            let freed = self.freed.notified();
            let allowed = self.allowed(now_ms());
            let in_use = self.in_use.load(Ordering::SeqCst);
            if (allowed == 0 || in_use < allowed)
                && self
                    .in_use
                    .compare_exchange(in_use, in_use + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                return GatePass(self.clone());
            }
            // Also wakes when the lowering runs out.
            let _ = tokio::time::timeout(Duration::from_millis(500), freed).await;
        }
    }
}

/// One of a mailbox's connections as the whole deployment counts them: a
/// lease on one of the mailbox's numbered slots, renewed by this node's
/// heartbeat while the connection is open (sending or idle in the pool)
/// and given back when it closes. Exchange counts connections per mailbox,
/// not per machine, so the nodes share the slots; a killed node's slots
/// free when their leases run out.
pub struct ConnectionSlot {
    db: sqlx::AnyPool,
    job: String,
    owner: String,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let (db, job, owner) = (
            self.db.clone(),
            std::mem::take(&mut self.job),
            std::mem::take(&mut self.owner),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = db::deployment::release_lease(&db, &job, &owner).await {
                    tracing::warn!(target: "smtp", "could not give back connection slot {job}: {e}");
                }
            });
        }
    }
}

/// How long a node waits for one of the mailbox's connections that other
/// nodes hold before the message is retried later.
const SLOT_WAIT: Duration = Duration::from_secs(120);

/// What waiting for a connection gave.
pub enum Taken<T> {
    /// A connection slot to open a new session in.
    Slot(ConnectionSlot),
    /// What `idle` found meanwhile (a session back in this node's pool).
    Idle(T),
}

/// Takes one of the `allowed` connection slots of `mailbox`, waiting while
/// other nodes (or this one's other senders) hold them all, unless `idle`
/// finds an open session first; `None` when nothing freed within
/// `SLOT_WAIT`.
pub async fn take_connection_slot<T>(
    state: &AppState,
    mailbox: &str,
    allowed: usize,
    idle: impl Fn() -> Option<T>,
) -> anyhow::Result<Option<Taken<T>>> {
    let owner = state.mailer.slot_owner();
    let lease = crate::server::deployment::LEASE.as_millis() as i64;
    let give_up = tokio::time::Instant::now() + SLOT_WAIT;
    let mut waited = false;
    loop {
        let now = state.now_ms();
        for slot in 0..allowed.max(1) {
            let job = format!("connection:{mailbox}:{slot}");
            if db::deployment::take_lease(&state.db, &job, &owner, now, now + lease).await? {
                return Ok(Some(Taken::Slot(ConnectionSlot {
                    db: state.db.clone(),
                    job,
                    owner,
                })));
            }
        }
        if tokio::time::Instant::now() >= give_up {
            return Ok(None);
        }
        if !waited {
            waited = true;
            tracing::debug!(target: "smtp", "all {allowed} connections of {mailbox} are open (on this node or others): waiting for one to close");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(found) = idle() {
            return Ok(Some(Taken::Idle(found)));
        }
    }
}

/// What the server's reply means for the mailbox, beyond this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// 432 4.3.2: too many connections (other clients share the mailbox).
    TooManyConnections,
    /// 554 5.2.0 SubmissionQuotaExceededException: the day's quota is used.
    QuotaExceeded,
    /// 554 5.2.2: the mailbox (its Sent Items) is full.
    MailboxFull,
}

pub fn signal(diagnosis: &Diagnosis) -> Option<Signal> {
    let text = format!("{} {}", diagnosis.code, diagnosis.message);
    if diagnosis.code.starts_with("432") && text.contains("4.3.2") {
        Some(Signal::TooManyConnections)
    } else if text.contains("SubmissionQuotaExceeded")
        || (diagnosis.code.starts_with("554") && text.contains("5.2.0"))
    {
        Some(Signal::QuotaExceeded)
    } else if text.contains("5.2.2") && diagnosis.code.starts_with("55") {
        Some(Signal::MailboxFull)
    } else {
        None
    }
}

/// Pauses the mailbox after a quota signal and returns until when: the
/// earliest its rolling 24 hours can free up (at least a minute away), or
/// a quarter hour for a full mailbox.
pub async fn pause_for(
    state: &AppState,
    mailbox: &str,
    signal: &Signal,
    now_ms: i64,
) -> anyhow::Result<i64> {
    let (until, reason) = match signal {
        Signal::QuotaExceeded => (
            db::pacing::window_frees_at(&state.db, mailbox, now_ms)
                .await?
                .unwrap_or(now_ms + 3_600_000)
                .max(now_ms + 60_000),
            "the server's sending quota is exceeded (554 5.2.0 SubmissionQuotaExceededException)",
        ),
        _ => (
            now_ms + MAILBOX_FULL_PAUSE_MS,
            "the sending mailbox is full (554 5.2.2)",
        ),
    };
    db::pacing::pause(&state.db, mailbox, until, reason).await?;
    Ok(until)
}

/// The sending mailboxes' state for the Mail Queue, the SMTP Server page
/// and the sponsor portal: rate, usage, what waits and when it should all
/// be out.
pub async fn view(state: &AppState) -> anyhow::Result<crate::domain::limits::PacingView> {
    use crate::domain::limits::MailboxUsage;
    // One connection for the whole view: it reads about eight things.
    let mut conn = state.db.acquire().await?;
    let paced = current_on(&mut conn).await?;
    let now = state.now_ms();
    let (sent_last_minute, recipients_today, paused_until_ms, pause_reason) =
        db::pacing::usage(&mut conn, &paced.mailbox, now).await?;
    let waiting = db::outbox::waiting(&mut *conn).await?;
    let oauth = paced.oauth;
    let mut pool = Vec::new();
    for (mailbox, enabled) in db::pacing::sender_mailboxes(&mut *conn).await? {
        let (sent_last_minute, recipients_today, paused_until_ms, pause_reason) =
            db::pacing::usage(&mut conn, &mailbox, now).await?;
        pool.push(MailboxUsage {
            sending: enabled && oauth,
            mailbox,
            enabled,
            sent_last_minute,
            recipients_today,
            paused_until_ms,
            pause_reason,
        });
    }
    let start = paused_until_ms.unwrap_or(now).max(now);
    let eta_ms = paced
        .bulk_limits()
        .eta_seconds(waiting)
        .map(|seconds| start + seconds * 1000);
    Ok(crate::domain::limits::PacingView {
        mailbox: paced.mailbox,
        oauth,
        pool,
        limits: paced.limits,
        saved: paced.saved,
        sent_last_minute,
        recipients_today,
        waiting,
        eta_ms,
        paused_until_ms,
        pause_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_432_takes_one_connection_off_for_a_while() {
        let gate = Arc::new(ConnectionGate::default());
        gate.configure(3);
        assert_eq!(gate.allowed(0), 3);
        assert_eq!(gate.lower(0), 2);
        assert_eq!(gate.allowed(1), 2);
        assert_eq!(gate.lower(2), 1);
        assert_eq!(gate.lower(3), 1, "never below one");
        assert_eq!(gate.allowed(3 + LOWERED_FOR_MS), 3);
        let first = gate.enter(|| 4).await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), gate.enter(|| 4)).await;
        assert!(waiting.is_err(), "one connection while lowered");
        drop(first);
        let _second = gate.enter(|| 4).await;
    }
}
