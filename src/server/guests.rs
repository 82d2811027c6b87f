//! The guest accounts' scheduled job (the PAN persona's): each guest gets
//! its expiration notice once, as its guest type says, and accounts expire
//! at their end of access. Time comes from the injected clock.

use crate::domain::guest::{GuestEmailForm, GuestEmailSettings};
use crate::domain::mail::MailKind;
use crate::domain::template::{Part, render};
use crate::server::AppState;
use crate::server::clock::{unix, unix_ms};
use crate::server::db;
use crate::server::mail::Outgoing;
use std::time::Duration;

/// The vault purpose of a guest's password while it may still be resent.
pub const PASSWORD_PURPOSE: &str = "guest.password";
/// Who the job's emails are recorded as created by.
const JOB: &str = "guest-expiry-job";
const BATCH: i64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryRun {
    pub notices: usize,
    pub expired: usize,
}

/// The saved Guest Email Settings, or ISE's defaults before any save.
pub async fn email_settings(state: &AppState) -> anyhow::Result<GuestEmailSettings> {
    let form = db::guest_email::get(&state.db)
        .await?
        .map(|row| row.form())
        .unwrap_or_else(GuestEmailForm::ise_defaults);
    form.validate()
        .map_err(|e| anyhow::anyhow!("the saved guest email settings are invalid: {e}"))
}

/// One run: queue the notices that are due, then expire ended accounts.
/// Safe to run any number of times, on any node: a notice is marked in the
/// transaction that queues it, so it is queued at most once.
pub async fn run_expiry_job(state: &AppState) -> anyhow::Result<ExpiryRun> {
    let now = unix(state.clock.now());
    let settings = email_settings(state).await?;
    let mut run = ExpiryRun::default();
    // Guest Email Settings can turn guest email off: then no notices.
    let mut more = settings.enabled;
    while more {
        let due = db::guests::due_notices(&state.db, now, BATCH).await?;
        let mut queued = Vec::with_capacity(due.len());
        let mut tx = state.db.begin().await?;
        for notice in &due {
            if !db::guests::mark_notice_sent(&mut *tx, notice.guest.id, now).await? {
                continue;
            }
            let details = notice.guest.details();
            let mail = Outgoing {
                kind: MailKind::GuestExpiryNotice,
                sender: settings.sender(notice.guest.sponsor_email.as_deref()),
                recipients: vec![notice.guest.email.clone()],
                subject: render(&notice.notify_subject, &details, Part::Subject),
                text: render(&notice.notify_text, &details, Part::Text),
                html: None,
                created_by: JOB.into(),
            };
            queued.push(
                state
                    .mailer
                    .enqueue(&mut tx, &state.vault, &mail, unix_ms(state.clock.now()))
                    .await?,
            );
        }
        tx.commit().await?;
        run.notices += queued.len();
        state.mailer.submitted(&queued);
        more = due.len() as i64 == BATCH;
    }
    let mut tx = state.db.begin().await?;
    let expired = db::guests::expire_ended(&mut *tx, now).await?;
    // An expired account's credentials are never resent: drop the copy.
    let ids: Vec<String> = expired.iter().map(|id| id.to_string()).collect();
    db::vault::delete_many(&mut *tx, PASSWORD_PURPOSE, &ids).await?;
    tx.commit().await?;
    run.expired = expired.len();
    if run != ExpiryRun::default() {
        tracing::info!(
            target: "guestaccess",
            "GuestExpiryJob: queued {} account expiration notice(s), expired {} guest account(s)",
            run.notices,
            run.expired
        );
    }
    Ok(run)
}

/// Runs the job every `MAILROOM_GUEST_JOB_INTERVAL_SECS` seconds (default 60).
pub fn spawn_expiry_scheduler(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = std::env::var("MAILROOM_GUEST_JOB_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|secs| *secs > 0)
        .unwrap_or(60);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(every));
        loop {
            ticks.tick().await;
            if let Err(error) = run_expiry_job(&state).await {
                tracing::error!(target: "guestaccess", "GuestExpiryJob failed: {error:#}");
            }
        }
    })
}
