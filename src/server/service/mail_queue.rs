//! Operations > Mail Queue: the queue, each message's attempts, Retry and
//! Discard for dead letters; and Send Test Email, which every page's test
//! button uses.

use super::{Caller, ServiceError, audit};
use crate::domain::mail::{
    MailDetail, MailKind, MailQueuePage, MailStatus, PAGE_SIZE, TestEmailResult,
};
use crate::domain::smtp::SmtpAuth;
use crate::domain::{Access, EmailAddress, FieldError};
use crate::server::AppState;
use crate::server::mail::{self, Mailer, Outgoing};
use crate::server::{db, settings};
use std::time::Duration;

/// The Mail Queue's filter; empty fields match all.
#[derive(Debug, Clone, Default)]
pub struct QueueQuery {
    pub status: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    /// 1-based.
    pub page: i64,
}

/// One page of the queue, newest first.
pub async fn page(
    app: &AppState,
    caller: &Caller,
    query: QueueQuery,
) -> Result<MailQueuePage, ServiceError> {
    caller.require(Access::View)?;
    let status = match query.status.trim() {
        "" => None,
        text => Some(
            MailStatus::parse(text)
                .ok_or_else(|| ServiceError::invalid("status", "There is no such status."))?,
        ),
    };
    let kind = match query.kind.trim() {
        "" => None,
        text => Some(
            MailKind::parse(text)
                .ok_or_else(|| ServiceError::invalid("kind", "There is no such kind of email."))?,
        ),
    };
    let filter = db::outbox::Filter {
        status,
        kind,
        recipient: query.recipient.chars().take(254).collect(),
        subject: query.subject.chars().take(200).collect(),
    };
    let page = query.page.clamp(1, i64::MAX / PAGE_SIZE);
    let counts = db::outbox::counts(&app.db).await?;
    let (rows, total) =
        db::outbox::page(&app.db, &filter, (page - 1) * PAGE_SIZE, PAGE_SIZE).await?;
    let batch = db::outbox::batch_progress(&app.db).await?;
    Ok(MailQueuePage {
        counts,
        rows,
        total,
        page,
        page_size: PAGE_SIZE,
        batch,
    })
}

pub async fn detail(app: &AppState, caller: &Caller, id: i64) -> Result<MailDetail, ServiceError> {
    caller.require(Access::View)?;
    let Some(detail) = db::outbox::get(&app.db, id).await? else {
        return Err(ServiceError::NotFound(
            "That message is no longer in the queue.".into(),
        ));
    };
    let attempts = db::outbox::attempts(&app.db, id).await?;
    let body_kept = app
        .vault
        .contains(mail::BODY_PURPOSE, &id.to_string())
        .await?;
    Ok(MailDetail {
        persona: detail.row.kind.persona(),
        row: detail.row,
        sender: detail.sender,
        message_id: detail.message_id,
        created_by: detail.created_by,
        diagnosis: detail
            .diagnosis_json
            .and_then(|json| serde_json::from_str(&json).ok()),
        attempts,
        body_kept,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterAction {
    /// Back in the queue with a fresh set of attempts.
    Retry,
    /// Given up for good; its stored body is dropped.
    Discard,
}

/// Retry or Discard, audited, and refused for anything but a dead letter.
pub async fn act_on_dead_letter(
    app: &AppState,
    caller: &Caller,
    id: i64,
    action: DeadLetterAction,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let now_ms = app.now_ms();
    let mut tx = db::begin_write(&app.db).await?;
    let (changed, verb) = match action {
        DeadLetterAction::Retry => (
            db::outbox::requeue_dead(&mut *tx, id, now_ms).await?,
            "retry",
        ),
        DeadLetterAction::Discard => (
            db::outbox::discard_dead(&mut *tx, id, now_ms).await?,
            "discard",
        ),
    };
    if !changed {
        return Err(ServiceError::Conflict(format!(
            "Only a dead letter can be {}; this message is not one (any more).",
            if action == DeadLetterAction::Retry {
                "retried"
            } else {
                "discarded"
            }
        )));
    }
    if action == DeadLetterAction::Discard {
        db::vault::delete(&mut *tx, mail::BODY_PURPOSE, &id.to_string()).await?;
    }
    audit(
        &mut tx,
        caller,
        now_ms / 1000,
        verb,
        &format!("Mail Queue message {id}"),
        "status",
    )
    .await?;
    tx.commit().await?;
    match action {
        DeadLetterAction::Retry => {
            // Its delivery will look at the dead-letter alarm again.
            app.mailer
                .delivery_alarms_may_be_open
                .store(true, std::sync::atomic::Ordering::SeqCst);
            app.mailer.wake();
        }
        DeadLetterAction::Discard => {
            if let Err(error) = crate::server::alarms::dead_letters_changed(app).await {
                tracing::error!(target: "alarms", "could not clear alarms: {error:#}");
            }
        }
    }
    Ok(())
}

/// Send Test Email on the Mail Queue: from the SMTP Server page's mailbox.
pub async fn send_test_email(
    app: &AppState,
    caller: &Caller,
    to: &str,
) -> Result<TestEmailResult, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let node = app.config.node_name.clone();
    send_and_wait(
        app,
        caller,
        TestSend {
            kind: MailKind::TestEmail,
            to_field: "to",
            to,
            sender: None,
            subject: format!("Mailroom test email from {node}"),
            text: format!(
                "This is a test email from the Mailroom console {node}, sent by {} to check the SMTP settings.",
                caller.name
            ),
            html: None,
            language: None,
        },
    )
    .await
}

/// A message an admin sends to see the result at once.
pub(crate) struct TestSend<'a> {
    pub kind: MailKind,
    /// The form field the address came from, for its error.
    pub to_field: &'a str,
    pub to: &'a str,
    /// None: the SMTP Server page's mailbox (the only sender Exchange
    /// Online accepts with OAuth).
    pub sender: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Sent as `Content-Language`, for a guest email's language.
    pub language: Option<String>,
}

/// Queues `mail` through the outbox and waits, up to the SMTP connection
/// timeout, for its first attempt's settlement, as ISE's Future.get does.
/// The caller's role was checked by the operation that sends it.
pub(crate) async fn send_and_wait(
    app: &AppState,
    caller: &Caller,
    mail: TestSend<'_>,
) -> Result<TestEmailResult, ServiceError> {
    let to = EmailAddress::parse(mail.to_field, mail.to)?;
    let Some(row) = db::smtp::get(&app.db).await? else {
        return Err(ServiceError::Unavailable(
            "Configure and save Administration > System > Settings > SMTP Server first.".into(),
        ));
    };
    let form = row.form();
    let stored = settings::stored_secrets(app, &form).await?;
    let saved = form.validate(stored).map_err(|e| {
        ServiceError::Unavailable(format!(
            "The saved SMTP settings cannot be used ({}: {}); correct them on Administration > System > Settings > SMTP Server.",
            e.field, e.message
        ))
    })?;
    let sender = mail.sender.unwrap_or_else(|| match &saved.auth {
        SmtpAuth::OAuth { mailbox, .. } => mailbox.as_str().to_string(),
        SmtpAuth::Password { username, .. } if username.contains('@') => username.clone(),
        _ => format!("mailroom@{}", app.config.node_name),
    });
    if EmailAddress::parse("from", &sender).is_err() {
        return Err(FieldError::new(
            mail.to_field,
            "The SMTP settings give no usable From address (use a mailbox address as Username).",
        )
        .into());
    }
    let timeout = Duration::from_secs(u64::from(saved.timeout.seconds()));
    let now_ms = app.now_ms();
    let outgoing = Outgoing {
        kind: mail.kind,
        sender,
        recipients: vec![to.as_str().to_string()],
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        created_by: caller.name.clone(),
        language: mail.language,
    };
    let receiver = app.mailer.subscribe();
    let mut tx = db::begin_write(&app.db).await?;
    let queued = app
        .mailer
        .enqueue(&mut tx, &app.vault, &outgoing, now_ms)
        .await?;
    tx.commit().await?;
    // One recipient: one part.
    let (id, message_id) = match queued.first() {
        Some(first) => (first.id, first.message_id.clone()),
        None => return Err(ServiceError::internal("a test email made no outbox row")),
    };
    app.mailer.submitted(&queued);
    let started = std::time::Instant::now();
    let settled = Mailer::wait_for(receiver, id, timeout).await;
    Ok(match settled {
        Some(settled) => TestEmailResult {
            mail_id: id,
            message_id,
            status: settled.status,
            reply: Some(settled.reply),
            diagnosis: settled.diagnosis,
            millis: settled.millis,
            next_attempt_at: settled.next_attempt_at,
        },
        None => TestEmailResult {
            mail_id: id,
            message_id,
            status: MailStatus::Queued,
            reply: None,
            diagnosis: None,
            millis: started.elapsed().as_millis() as i64,
            next_attempt_at: None,
        },
    })
}
