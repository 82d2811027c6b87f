//! The delivery workers: claim due outbox rows under a lease, send each over
//! a pooled SMTP session signed in with the cached OAuth token, and record
//! the reply, the retry or the dead letter with its diagnosis.

use super::pacing::{self, Paced, Signal};
use super::transport::{OpenSession, Prepared, Unprepared, credential_digest};
use super::{BODY_PURPOSE, Body, Settlement};
use crate::domain::Secret;
use crate::domain::diagnosis::{self, Diagnosis, Step};
use crate::domain::limits::SendingLimits;
use crate::domain::mail::{MailKind, MailStatus};
use crate::domain::smtp::{OAuthCredential, SmtpAuth};
use crate::server::AppState;
use crate::server::db;
use crate::server::db::outbox::Claimed;
use crate::server::db::pacing::Release;
use crate::server::oauth::cache::{CacheKey, Origin};
use crate::server::oauth::client::request_token;
use crate::server::settings;
use crate::server::smtp::session::{Failure as SessionFailure, Session, SessionError};
use crate::server::smtp::token_request;
use crate::server::smtp::transport::Login;
use crate::server::tls;
use lettre::Message;
use lettre::message::MultiPart;
use lettre::transport::smtp::response::Response;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;

fn now_ms(state: &AppState) -> i64 {
    crate::server::clock::unix_ms(state.clock.now())
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

/// What a batch of unpaced deliveries shares until the settings change.
struct Batch {
    generation: u64,
    lane: Lane,
    slots: Arc<Semaphore>,
    recorder: mpsc::UnboundedSender<Outcome>,
    lease_ms: i64,
}

/// Rows claimed at a time (without sending limits): what the senders send
/// in about `CLAIM_SPAN` at the pace they keep, within these bounds. A large
/// claim costs SQLite less per row; a small one keeps a test email queued
/// meanwhile from waiting behind many rows on a slow server.
const CLAIM_MIN: usize = 32;
const CLAIM_MAX: usize = 256;
const CLAIM_SPAN: Duration = Duration::from_millis(50);

/// Without sending limits: claims due rows many at a time, reads and
/// builds them, and hands them to one sender per session, each sending
/// message after message like a bare loop would, until the settings change.
/// A sender never waits for a result to be written: the recorder writes
/// and announces it.
async fn run_batch(state: &AppState, batch: Batch) {
    let mailer = &state.mailer;
    let in_flight = mailer.config.pool_size.max(1) as usize;
    let mut claim_size = (in_flight * 8).clamp(CLAIM_MIN, CLAIM_MAX);
    let capacity = CLAIM_MAX * 2;
    let (jobs, waiting) = mpsc::channel::<(Claimed, Result<Message, Failure>)>(capacity);
    let waiting = Arc::new(tokio::sync::Mutex::new(waiting));
    let batch = Arc::new(batch);
    for _ in 0..in_flight {
        let (state, batch, waiting) = (state.clone(), batch.clone(), waiting.clone());
        // Senders of an earlier batch finish the rows they hold; the slots
        // keep the sessions in use within the pool size meanwhile.
        tokio::spawn(async move {
            let route = Route {
                slots: &batch.slots,
                recorder: &batch.recorder,
                lane: &batch.lane,
            };
            let mut held = None;
            let mut ahead = None;
            loop {
                // This row and, if one is ready, the next: its envelope can
                // go with this message's end.
                let ((row, message), next) = match ahead.take() {
                    // With a row in hand, only a look: another sender may
                    // hold the queue while it waits for rows.
                    Some(job) => {
                        let next = waiting.try_lock().ok().and_then(|mut w| w.try_recv().ok());
                        (job, next)
                    }
                    None => {
                        let mut waiting = waiting.lock().await;
                        let Some(job) = waiting.recv().await else {
                            break;
                        };
                        (job, waiting.try_recv().ok())
                    }
                };
                ahead = next;
                let chain = Chain {
                    next: ahead.as_ref().and_then(|(_, next)| next.as_ref().ok()),
                    held: &mut held,
                };
                deliver(&state, row, message, &route, None, chain).await;
            }
        });
    }
    // When the last claim was handed over, and how many rows it had.
    let mut last_claim: Option<(Instant, usize)> = None;
    while mailer.generation() == batch.generation {
        // Wait until no more than one claim's rows are still queued, then
        // claim again: one wake-up per claim, not one per message taken.
        let Ok(room) = jobs.reserve_many(capacity - claim_size).await else {
            return;
        };
        if let Some((at, rows)) = last_claim.take() {
            // Since then the senders took about that many rows.
            let pace = rows as f64 / at.elapsed().as_secs_f64().max(0.001);
            claim_size = ((pace * CLAIM_SPAN.as_secs_f64()) as usize).clamp(CLAIM_MIN, CLAIM_MAX);
        }
        let now = now_ms(state);
        let claimed = {
            let _turn = mailer.writes.lock().await;
            db::outbox::claim(
                &state.db,
                &mailer.owner,
                now,
                now + batch.lease_ms,
                claim_size as i64,
            )
            .await
        };
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(target: "smtp", "could not claim mail jobs: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            idle_until_due(state, now).await;
            continue;
        }
        last_claim = Some((Instant::now(), claimed.len()));
        // The batch's bodies in one read; a row whose read fails is retried.
        let ids: Vec<String> = claimed.iter().map(|row| row.id.to_string()).collect();
        let mut bodies = state
            .vault
            .get_many(BODY_PURPOSE, &ids)
            .await
            .map_err(|e| e.to_string());
        for (row, place) in claimed.into_iter().zip(room) {
            let body = match &mut bodies {
                Ok(bodies) => Ok(bodies.remove(&row.id.to_string())),
                Err(e) => Err(e.clone()),
            };
            let message = message(&row, body);
            place.send((row, message));
        }
    }
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

/// Each sending mailbox sends side by side under its own limits until the
/// settings change: the SMTP Server page's, and each of the sender pool's.
async fn run_lanes(
    state: &AppState,
    paced: &Paced,
    generation: u64,
    slots: &Arc<Semaphore>,
    recorder: &mpsc::UnboundedSender<Outcome>,
    lease_ms: i64,
) {
    let lanes = std::iter::once(Lane::main(state, paced)).chain(
        paced
            .pool
            .iter()
            .map(|mailbox| Lane::pooled(state, paced, mailbox)),
    );
    let mut running = tokio::task::JoinSet::new();
    for lane in lanes {
        let (state, paced, slots, recorder) = (
            state.clone(),
            paced.clone(),
            slots.clone(),
            recorder.clone(),
        );
        running.spawn(async move {
            while state.mailer.generation() == generation {
                paced_step(&state, &paced, &lane, &slots, &recorder, lease_ms).await;
            }
        });
    }
    while running.join_next().await.is_some() {}
}

/// Nothing was due: sleeps until the next retry falls due, a commit wakes
/// the workers, or a second passes (the clock may be moved by tests or NTP).
async fn idle_until_due(state: &AppState, now: i64) {
    let next = db::outbox::next_due(&state.db).await.ok().flatten();
    let wait = next.map_or(1000, |due| (due - now).clamp(5, 1000)) as u64;
    tokio::select! {
        _ = state.mailer.wake.notified() => {}
        _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
    }
}

/// One message under a mailbox's limits: a connection slot, the next due
/// row its lane takes by priority (so a test email overtakes a draining
/// batch), then its release from the mailbox's shared pace. A row that
/// meets a quota goes back to the queue, unattempted: until the quota
/// frees, or, with a sender pool, at once for another mailbox while this
/// one rests.
async fn paced_step(
    state: &AppState,
    paced: &Paced,
    lane: &Lane,
    slots: &Arc<Semaphore>,
    recorder: &mpsc::UnboundedSender<Outcome>,
    lease_ms: i64,
) {
    let mailer = &state.mailer;
    let pass = lane.gate.enter(|| now_ms(state)).await;
    let turn = mailer.writes.lock().await;
    let now = now_ms(state);
    let claimed = if lane.pool.is_empty() {
        db::outbox::claim(&state.db, &mailer.owner, now, now + lease_ms, 1)
            .await
            .map(|rows| rows.into_iter().next())
    } else {
        let name = if lane.pooled {
            lane.mailbox.as_str()
        } else {
            ""
        };
        db::outbox::claim_for_lane(
            &state.db,
            &mailer.owner,
            now,
            now + lease_ms,
            name,
            &lane.pool,
        )
        .await
    };
    drop(turn);
    let claimed = match claimed {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::error!(target: "smtp", "could not claim mail jobs: {e}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            return;
        }
    };
    let Some(mut row) = claimed else {
        drop(pass);
        idle_until_due(state, now).await;
        return;
    };
    let recipients = row.recipients.split(',').filter(|r| !r.is_empty()).count() as i64;
    let mailbox = lane.paced_mailbox(&row);
    loop {
        let now = now_ms(state);
        match db::pacing::reserve(&state.db, &mailbox, &paced.limits, recipients, now).await {
            Ok(Release::Go) => break,
            Ok(Release::Wait {
                until,
                quota: false,
                ..
            }) => {
                // The pace: a short wait, on the clock the pace is kept in.
                tokio::time::sleep(Duration::from_millis((until - now).clamp(1, 1000) as u64))
                    .await;
            }
            Ok(Release::Wait { until, reason, .. }) => {
                let kind = MailKind::parse(&row.kind).unwrap_or(MailKind::TestEmail);
                let shared = !lane.pool.is_empty();
                mail_log!(
                    kind,
                    info,
                    "mail job {} waits until {}: {reason}{}",
                    row.id,
                    crate::domain::template::format_utc(until / 1000),
                    if shared {
                        " (another sending mailbox may take it sooner)"
                    } else {
                        ""
                    }
                );
                let reply = format!("Waiting: {mailbox}: {reason}");
                let due = if shared { now } else { until };
                if let Err(e) =
                    db::outbox::defer(&state.db, row.id, &mailer.owner, due, &reply, now).await
                {
                    tracing::error!(target: "smtp", "could not put mail job {} back: {e}", row.id);
                }
                if shared {
                    drop(pass);
                    rest_until(state, until).await;
                }
                return;
            }
            Err(e) => {
                tracing::error!(target: "smtp", "could not reserve a release: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    if lane.pooled {
        // Recorded as its sender once sent; until then any mailbox may take it.
        row.sender = lane.mailbox.clone();
    }
    let body = state
        .vault
        .get_many(BODY_PURPOSE, &[row.id.to_string()])
        .await
        .map(|mut bodies| bodies.remove(&row.id.to_string()))
        .map_err(|e| e.to_string());
    let message = message(&row, body);
    let (state, recorder, slots, lane) =
        (state.clone(), recorder.clone(), slots.clone(), lane.clone());
    // The connection slot is held until the message is settled.
    tokio::spawn(async move {
        let (settled, written) = oneshot::channel();
        let route = Route {
            slots: &slots,
            recorder: &recorder,
            lane: &lane,
        };
        let chain = Chain {
            next: None,
            held: &mut None,
        };
        deliver(&state, row, message, &route, Some(settled), chain).await;
        let _ = written.await;
        drop(pass);
    });
}

/// A pool mailbox at its quota rests, so the others take its share, until
/// the quota frees or the settings change (a second at a time, as the
/// clock may be moved).
async fn rest_until(state: &AppState, until: i64) {
    let generation = state.mailer.generation();
    while now_ms(state) < until && state.mailer.generation() == generation {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How long a pool mailbox the server refused to sign in rests.
const POOL_MAILBOX_REST_MS: i64 = 15 * 60 * 1000;

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

/// One attempt at a claimed message, in a slot, classified (sent, retry
/// when, dead letter) and handed to the recorder, which writes it and then
/// announces it; `settled` hears when that is done.
async fn deliver(
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
    let kind = MailKind::parse(&row.kind).unwrap_or(MailKind::TestEmail);
    let slot = slots
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let started_at = now_ms(state);
    let started = Instant::now();
    let result = match message {
        Ok(message) => attempt(state, &row, kind, &message, lane, chain).await,
        Err(failure) => Err(failure),
    };
    drop(slot);
    let millis = started.elapsed().as_millis() as i64;
    let now = now_ms(state);
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
            if lane.pooled && kind.priority() == 2 && diagnosis.step == Step::Auth {
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
    let state = state.clone();
    tokio::spawn(async move {
        for condition in conditions {
            if let Err(error) = alarms::raise(&state, &condition).await {
                tracing::error!(target: "alarms", "could not raise an alarm: {error:#}");
            }
        }
    });
}

/// The end of one attempt, on its way to the database.
struct Outcome {
    kind: MailKind,
    row: Claimed,
    status: MailStatus,
    reply: String,
    diagnosis: Option<Diagnosis>,
    next_attempt_at: i64,
    now: i64,
    started_at: i64,
    millis: i64,
    sent_from: Option<String>,
    /// Told once the outcome is written and announced (or could not be).
    settled: Option<oneshot::Sender<()>>,
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

fn spawn_recorder(state: AppState, owner: String) -> mpsc::UnboundedSender<Outcome> {
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
        Err(Unprepared::Failed(e)) => {
            mail_log!(kind, error, "could not load the SMTP settings: {e:#}");
            return Err(diagnosis::settings_unreadable(&format!("{e:#}")).into());
        }
    };
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
        let checked_out = match held {
            Some(held) => Some(held.session),
            None => mailer
                .transport
                .checkout(prepared.generation, &login_name, &digest),
        };
        let (mut session, reused) = match checked_out {
            Some(session) => {
                mail_log!(kind, trace, "Reusing transport object for {host}:{port}");
                (session, true)
            }
            None => {
                mail_log!(kind, debug, "Creating transport object... ({host}:{port})");
                match Session::open(&prepared.target(), &login(&credential)).await {
                    Ok(session) => {
                        mail_log!(
                            kind,
                            info,
                            "Successfully created mail session and connected to mail server."
                        );
                        (session, false)
                    }
                    Err(error) => {
                        // Exchange says 535 to a token it no longer accepts
                        // though the cache still trusts it (revoked, clock
                        // skew): one new token, one more try.
                        if let Credential::Token {
                            key,
                            origin: Origin::Cache,
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
                };
                if open.session.primed().is_some() {
                    *chain.held = Some(open);
                } else {
                    // Idle sessions count as connections too: keep no more
                    // than the mailbox allows.
                    mailer
                        .transport
                        .checkin(open, lane.gate.allowed(now_ms(state)));
                }
                return Ok(reply_text(&response));
            }
            // A pooled session the server had closed: once, on a new one.
            Err(error) if reused && !reopened && error.reply_code().is_none() => {
                reopened = true;
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
fn message(row: &Claimed, body: Result<Option<Secret>, String>) -> Result<Message, Failure> {
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
                    request_token(&prepared.http, request).await.result
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

/// Which command a refusal to the message most likely concerns: the reply
/// tells (RFC 3463: X.1.7/X.1.8 are about the sender, other X.1
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
                let step = match (error.step, step_of_reply(code, &detail)) {
                    // A reply to the message itself can be about its
                    // sender or recipients (Exchange checks them there).
                    (Step::Data, guessed) => guessed,
                    // "530 5.7.57 not authenticated" at MAIL FROM is about
                    // signing in.
                    (Step::MailFrom | Step::RcptTo, Step::Auth) => Step::Auth,
                    (step, _) => step,
                };
                return diagnosis::smtp_reply(step, code, &detail);
            }
            if let Some(problem) = tls::certificate_problem(e) {
                return diagnosis::untrusted_certificate(error.step, host, &problem);
            }
            if e.is_client() {
                return diagnosis::smtp_client_refused(host, &detail);
            }
            diagnosis::connection_lost(error.step, host, &detail)
        }
    }
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
