//! The delivery workers: claim due outbox rows under a lease, send each over
//! a pooled SMTP session signed in with the cached OAuth token, and record
//! the reply, the retry or the dead letter with its diagnosis.
//!
//! - `schedule`: claiming due rows and handing them to senders, in batches
//!   without sending limits, one at a time per mailbox lane under them;
//! - `deliver`: one attempt at one message, and what its end means (sent,
//!   retry when, dead letter);
//! - `record`: writing outcomes in group commits, then announcing them
//!   (logs, alarms, waiters).

mod deliver;
mod record;
mod schedule;

use record::{Outcome, spawn_recorder};
use schedule::{Batch, run_batch, run_lanes};

use super::pacing::{self, Paced};
use super::transport::OpenSession;
use crate::domain::deployment::Persona;
use crate::domain::diagnosis::Diagnosis;
use crate::domain::limits::SendingLimits;
use crate::server::AppState;
use crate::server::db;
use crate::server::db::outbox::Claimed;
use lettre::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Starts the workers. Rows leased before a restart are due at once: a
/// crash means retry, not loss.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // On SQLite this is the only node; on PostgreSQL others may be
        // sending their own leased rows right now.
        let mine = match db::Dialect::of(&state.db) {
            db::Dialect::Sqlite => None,
            db::Dialect::Postgres => Some(format!("{}/", state.config.node_name)),
        };
        match db::outbox::release_leases(&state.db, mine.as_deref(), state.now_ms()).await {
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
    // One slot per session: how many messages are on the wire at once.
    let slots = Arc::new(Semaphore::new(in_flight));
    let lease_ms = mailer.config.lease.as_millis() as i64;
    let recorder = spawn_recorder(state.clone(), mailer.owner.clone());
    let mut paced = Paced {
        mailbox: String::new(),
        limits: SendingLimits::UNLIMITED,
        saved: false,
        oauth: false,
        pool: Vec::new(),
    };
    let mut paced_generation = 0;
    loop {
        if !state.has_persona(Persona::PolicyService) {
            // Mail goes from the nodes with the Policy Service persona; a
            // change of personas ends the current run (a new generation).
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let generation = mailer.generation();
        if generation != paced_generation {
            match pacing::current(&state).await {
                Ok(current) => {
                    for mailbox in current.mailboxes() {
                        mailer
                            .gate(mailbox)
                            .configure(current.limits.max_connections);
                    }
                    *mailer.paced.lock().unwrap_or_else(|e| e.into_inner()) = Some(current.clone());
                    paced = current;
                    paced_generation = generation;
                }
                Err(e) => {
                    tracing::error!(target: "smtp", "could not load the sending limits: {e:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if paced.limits.is_limited() || !paced.pool.is_empty() {
            run_lanes(&state, &paced, generation, &slots, &recorder, lease_ms).await;
        } else {
            let batch = Batch {
                generation,
                lane: Lane::main(&state, &paced),
                slots: slots.clone(),
                recorder: recorder.clone(),
                lease_ms,
            };
            run_batch(&state, batch).await;
        }
    }
}

/// Why an attempt failed; the diagnosis says whether that is temporary
/// and carries any Retry-After.
struct Failure {
    diagnosis: Box<Diagnosis>,
}

impl From<Diagnosis> for Failure {
    fn from(diagnosis: Diagnosis) -> Self {
        Failure {
            diagnosis: Box::new(diagnosis),
        }
    }
}

/// Where a sender's deliveries go: its connection slots, the recorder,
/// and the mailbox's lane.
#[derive(Clone, Copy)]
struct Route<'a> {
    slots: &'a Semaphore,
    recorder: &'a mpsc::UnboundedSender<Outcome>,
    lane: &'a Lane,
}

/// What a sender carries from one message to the next: the next message
/// when one is ready, and the session kept for it (see `Session::send_then`).
struct Chain<'a> {
    next: Option<&'a Message>,
    held: &'a mut Option<OpenSession>,
}

/// A sending mailbox's way to the server: the mailbox it signs in as and
/// paces (lower-case), its connection gate, and the sender pool it shares
/// the bulk guest mail with.
#[derive(Clone)]
struct Lane {
    mailbox: String,
    /// A pool mailbox: it takes mail From itself and bulk guest mail, and
    /// sends each From itself.
    pooled: bool,
    gate: Arc<pacing::ConnectionGate>,
    pool: Arc<[String]>,
}

impl Lane {
    /// The SMTP Server page's mailbox, which takes every other message.
    fn main(state: &AppState, paced: &Paced) -> Lane {
        Lane {
            mailbox: paced.mailbox.clone(),
            pooled: false,
            gate: state.mailer.gate(&paced.mailbox),
            pool: paced.pool.clone().into(),
        }
    }

    fn pooled(state: &AppState, paced: &Paced, mailbox: &str) -> Lane {
        Lane {
            mailbox: mailbox.to_string(),
            pooled: true,
            gate: state.mailer.gate(mailbox),
            pool: paced.pool.clone().into(),
        }
    }

    /// The mailbox a message counts against.
    fn paced_mailbox(&self, row: &Claimed) -> String {
        if self.mailbox.is_empty() {
            row.sender.to_ascii_lowercase()
        } else {
            self.mailbox.clone()
        }
    }
}
