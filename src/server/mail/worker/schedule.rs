//! Claiming due rows and handing them to the senders.

use super::deliver::{deliver, message};
use super::record::Outcome;
use super::{Chain, Failure, Lane, Route};
use crate::server::AppState;
use crate::server::db;
use crate::server::db::outbox::Claimed;
use crate::server::db::pacing::Release;
use crate::server::mail::BODY_PURPOSE;
use crate::server::mail::pacing::Paced;
use lettre::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;

/// What a batch of unpaced deliveries shares until the settings change.
pub(super) struct Batch {
    pub(super) generation: u64,
    pub(super) lane: Lane,
    pub(super) slots: Arc<Semaphore>,
    pub(super) recorder: mpsc::UnboundedSender<Outcome>,
    pub(super) lease_ms: i64,
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
pub(super) async fn run_batch(state: &AppState, batch: Batch) {
    let mailer = &state.mailer;
    let in_flight = mailer.config.pool_size.max(1) as usize;
    let mut claim_size = (in_flight * 8).clamp(CLAIM_MIN, CLAIM_MAX);
    let chained = mailer.config.chain_messages;
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
                        let next = if chained {
                            waiting.try_recv().ok()
                        } else {
                            None
                        };
                        (job, next)
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
        let now = state.now_ms();
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

/// Each sending mailbox sends side by side under its own limits until the
/// settings change: the SMTP Server page's, and each of the sender pool's.
pub(super) async fn run_lanes(
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
    let pass = lane.gate.enter(|| state.now_ms()).await;
    let turn = mailer.writes.lock().await;
    let now = state.now_ms();
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
    let recipients = row.recipients.len() as i64;
    let mailbox = lane.paced_mailbox(&row);
    loop {
        let now = state.now_ms();
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
                let kind = row.kind;
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
    while state.now_ms() < until && state.mailer.generation() == generation {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
