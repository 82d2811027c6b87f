//! Writing outcomes, many per transaction, then announcing them.

use crate::domain::diagnosis::{Diagnosis, Step};
use crate::domain::mail::{MailKind, MailStatus};
use crate::server::AppState;
use crate::server::db;
use crate::server::db::outbox::Claimed;
use crate::server::mail::pacing::{self, Signal};
use crate::server::mail::{BODY_PURPOSE, Settlement};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// After an outcome is written: its log line, the alarms it raises or
/// clears, and the news for whoever waits on the message. An outcome not
/// written (the lease was lost to another worker, which then owns the row)
/// is only logged.
fn announce(state: &AppState, outcome: Outcome, recorded: bool) {
    let Outcome {
        kind,
        row,
        status,
        reply,
        diagnosis,
        millis,
        next_attempt_at,
        now,
        settled,
        ..
    } = outcome;
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
        watch_alarms(state, kind, status, diagnosis.as_ref(), &row);
        let _ = state.mailer.settled.send(Settlement {
            id: row.id,
            status,
            reply,
            diagnosis,
            millis,
            next_attempt_at: (status == MailStatus::Retrying).then_some(next_attempt_at),
        });
    }
    if let Some(settled) = settled {
        let _ = settled.send(());
    }
}

/// Raises the alarm a failure points at, or clears the delivery alarms
/// once mail goes through again; off the delivery path.
fn watch_alarms(
    state: &AppState,
    kind: MailKind,
    status: MailStatus,
    diagnosis: Option<&Diagnosis>,
    row: &Claimed,
) {
    use crate::domain::alarm::AlarmCode;
    use crate::server::alarms::{self, Condition};
    use std::sync::atomic::Ordering::SeqCst;
    let mut conditions = Vec::new();
    match (status, diagnosis) {
        (MailStatus::Sent, _) => {
            if state.mailer.delivery_alarms_may_be_open.swap(false, SeqCst) {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(error) = alarms::delivery_works(&state).await {
                        tracing::error!(target: "alarms", "could not clear alarms: {error:#}");
                    }
                });
            }
            return;
        }
        (_, Some(d)) => {
            let seen = format!("{}: {} ({})", d.code, d.message, d.hint);
            match d.step {
                Step::Token | Step::TokenClaims => conditions.push(Condition::event(
                    AlarmCode::TokenAcquisitionFailed,
                    format!("Token request failed: {seen}"),
                )),
                Step::GraphSend
                    if d.code == "graph-unreachable" || d.code.contains("certificate") =>
                {
                    conditions.push(Condition::event(
                        AlarmCode::SmtpUnreachable,
                        format!("Microsoft Graph unreachable: {seen}"),
                    ))
                }
                Step::Connect | Step::Greeting | Step::StartTls => {
                    conditions.push(Condition::event(
                        AlarmCode::SmtpUnreachable,
                        format!("Connection failed: {seen}"),
                    ))
                }
                _ => {}
            }
            match pacing::signal(d) {
                Some(Signal::QuotaExceeded) => conditions.push(Condition::event(
                    AlarmCode::SendingQuotaExceeded,
                    format!(
                        "The server refused {} for its quota; the mailbox's messages wait: {seen}",
                        row.id
                    ),
                )),
                Some(Signal::MailboxFull) => conditions.push(Condition::event(
                    AlarmCode::MailboxFull,
                    format!("The server refused {}: {seen}", row.id),
                )),
                _ => {}
            }
            // A failed alarm email would otherwise alarm about itself.
            if status == MailStatus::Dead && kind != MailKind::Alarm {
                conditions.push(Condition::event(
                    AlarmCode::DeliveryFailed,
                    format!(
                        "{} {} to {} ('{}') moved to dead letters after {} attempt(s): {seen}",
                        kind.label(),
                        row.id,
                        row.recipients,
                        row.subject,
                        row.attempts
                    ),
                ));
            }
        }
        _ => {}
    }
    if conditions.is_empty() {
        return;
    }
    state.mailer.delivery_alarms_may_be_open.store(true, SeqCst);
    // A burst of failures (10,000 guests' credentials with the SMTP server
    // down) must not become 10,000 writers racing for the database, which
    // starved every other writer past SQLite's busy timeout: one task
    // writes them, the latest of each alarm only.
    let start = {
        let mut queue = state
            .mailer
            .alarm_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for condition in conditions {
            match queue
                .pending
                .iter_mut()
                .find(|c| c.code == condition.code && c.subject == condition.subject)
            {
                Some(slot) => *slot = condition,
                None => queue.pending.push(condition),
            }
        }
        !std::mem::replace(&mut queue.draining, true)
    };
    if start {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                let batch = {
                    let mut queue = state
                        .mailer
                        .alarm_queue
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    if queue.pending.is_empty() {
                        queue.draining = false;
                        return;
                    }
                    std::mem::take(&mut queue.pending)
                };
                for condition in batch {
                    if let Err(error) = alarms::raise(&state, &condition).await {
                        tracing::error!(target: "alarms", "could not raise an alarm: {error:#}");
                    }
                }
            }
        });
    }
}

/// The end of one attempt, on its way to the database.
pub(super) struct Outcome {
    pub(super) kind: MailKind,
    pub(super) row: Claimed,
    pub(super) status: MailStatus,
    pub(super) reply: String,
    pub(super) diagnosis: Option<Diagnosis>,
    pub(super) next_attempt_at: i64,
    pub(super) now: i64,
    pub(super) started_at: i64,
    pub(super) millis: i64,
    pub(super) sent_from: Option<String>,
    /// Told once the outcome is written and announced (or could not be).
    pub(super) settled: Option<oneshot::Sender<()>>,
}

impl Outcome {
    /// The attempt history's word for it.
    fn label(&self) -> &'static str {
        match self.status {
            MailStatus::Sent => "sent",
            MailStatus::Retrying => "retry",
            _ => "dead",
        }
    }
}

/// Writes outcomes as they come, many per transaction when many come at
/// once (group commit): the outbox's write cost stays flat as the pool grows.
/// How long the recorder waits for more outcomes before a commit, and how
/// many it commits at most at once.
const RECORD_LINGER: Duration = Duration::from_millis(10);
const RECORD_BATCH: usize = 256;

pub(super) fn spawn_recorder(state: AppState, owner: String) -> mpsc::UnboundedSender<Outcome> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<Outcome>();
    tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            // Lingering a few milliseconds for more outcomes turns a
            // draining batch's thousands of tiny transactions (each a round
            // trip to SQLite's thread per statement) into a few large ones.
            // No session waits for this. It sleeps rather than waits on the
            // channel, so outcomes that arrive meanwhile wake nobody.
            tokio::time::sleep(RECORD_LINGER).await;
            let mut batch = vec![first];
            while batch.len() < RECORD_BATCH {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let results = record(&state, &owner, &batch).await;
            for (outcome, recorded) in batch.into_iter().zip(results) {
                announce(&state, outcome, recorded);
            }
        }
    });
    sender
}

/// One transaction for the batch: each row's result, its attempt, and a
/// delivered body dropped. Tried again if the database is briefly busy;
/// if it never works, the leases run out and the rows are sent again (a
/// duplicate at worst, with the same Message-ID).
async fn record(state: &AppState, owner: &str, batch: &[Outcome]) -> Vec<bool> {
    let diagnoses: Vec<Option<String>> = batch
        .iter()
        .map(|outcome| {
            outcome
                .diagnosis
                .as_ref()
                .and_then(|d| serde_json::to_string(d).ok())
        })
        .collect();
    for pause in [0u64, 50, 250, 1000, 5000] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let result: sqlx::Result<Vec<bool>> = async {
            let settled: Vec<db::outbox::Settled> = batch
                .iter()
                .zip(&diagnoses)
                .map(|(outcome, diagnosis_json)| db::outbox::Settled {
                    id: outcome.row.id,
                    status: outcome.status,
                    reply: &outcome.reply,
                    diagnosis_json: diagnosis_json.as_deref(),
                    next_attempt_at: outcome.next_attempt_at,
                    now: outcome.now,
                    attempt: outcome.row.attempts,
                    started_at: outcome.started_at,
                    millis: outcome.millis,
                    outcome: outcome.label(),
                    sent_from: outcome.sent_from.as_deref(),
                })
                .collect();
            let _turn = state.mailer.writes.lock().await;
            let mut tx = crate::server::db::begin_write(&state.db).await?;
            let recorded = db::outbox::settle_all(&mut tx, owner, &settled).await?;
            let delivered: Vec<String> = batch
                .iter()
                .filter(|o| o.status == MailStatus::Sent && recorded.contains(&o.row.id))
                .map(|o| o.row.id.to_string())
                .collect();
            db::vault::delete_many(&mut *tx, BODY_PURPOSE, &delivered).await?;
            tx.commit().await?;
            Ok(batch.iter().map(|o| recorded.contains(&o.row.id)).collect())
        }
        .await;
        match result {
            Ok(recorded) => return recorded,
            Err(e) => {
                tracing::warn!(target: "smtp", "could not record {} mail job(s): {e}", batch.len())
            }
        }
    }
    vec![false; batch.len()]
}
