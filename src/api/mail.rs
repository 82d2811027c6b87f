//! Operations > Mail Queue, and Send Test Email.

use super::ApiError;
use crate::domain::mail::{MailDetail, QueueCounts, QueueRow, TestEmailResult};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows per page of the Mail Queue table.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailQueuePage {
    pub counts: QueueCounts,
    pub rows: Vec<QueueRow>,
    /// Rows matching the filter, over all pages.
    pub total: i64,
    /// 1-based.
    pub page: i64,
    pub page_size: i64,
    /// (done, total) of the batch being sent, while one is.
    pub batch: Option<(i64, i64)>,
}

/// One page of the queue, newest first. Empty filter fields match all.
#[server(endpoint = "get_mail_queue")]
pub async fn get_mail_queue(
    status: String,
    kind: String,
    recipient: String,
    subject: String,
    page: i64,
) -> Result<MailQueuePage, ApiError> {
    use crate::domain::FieldError;
    use crate::domain::mail::{MailKind, MailStatus};
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let status = match status.trim() {
        "" => None,
        text => Some(MailStatus::parse(text).ok_or_else(|| {
            auth::bad_request(FieldError::new("status", "There is no such status."))
        })?),
    };
    let kind = match kind.trim() {
        "" => None,
        text => Some(MailKind::parse(text).ok_or_else(|| {
            auth::bad_request(FieldError::new("kind", "There is no such kind of email."))
        })?),
    };
    let filter = db::outbox::Filter {
        status,
        kind,
        recipient: recipient.chars().take(254).collect(),
        subject: subject.chars().take(200).collect(),
    };
    let page = page.clamp(1, i64::MAX / PAGE_SIZE);
    let counts = db::outbox::counts(&state.db)
        .await
        .map_err(auth::internal)?;
    let (rows, total) = db::outbox::page(&state.db, &filter, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        .await
        .map_err(auth::internal)?;
    let batch = db::outbox::batch_progress(&state.db)
        .await
        .map_err(auth::internal)?;
    Ok(MailQueuePage {
        counts,
        rows,
        total,
        page,
        page_size: PAGE_SIZE,
        batch,
    })
}

#[server(endpoint = "get_mail_detail")]
pub async fn get_mail_detail(id: i64) -> Result<MailDetail, ApiError> {
    use crate::server::{auth, db, mail};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let Some(detail) = db::outbox::get(&state.db, id)
        .await
        .map_err(auth::internal)?
    else {
        return Err(auth::bad_request(ApiError::Rejected(
            "That message is no longer in the queue.".into(),
        )));
    };
    let attempts = db::outbox::attempts(&state.db, id)
        .await
        .map_err(auth::internal)?;
    let body_kept = state
        .vault
        .contains(mail::BODY_PURPOSE, &id.to_string())
        .await
        .map_err(auth::internal)?;
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

/// Puts a dead letter back in the queue with a fresh set of attempts.
#[server(endpoint = "retry_mail")]
pub async fn retry_mail(id: i64) -> Result<(), ApiError> {
    act_on_dead_letter(id, DeadLetterAction::Retry).await
}

/// Gives up on a dead letter for good and drops its stored body.
#[server(endpoint = "discard_mail")]
pub async fn discard_mail(id: i64) -> Result<(), ApiError> {
    act_on_dead_letter(id, DeadLetterAction::Discard).await
}

#[cfg(feature = "ssr")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum DeadLetterAction {
    Retry,
    Discard,
}

/// Retry or Discard, audited, and refused for anything but a dead letter.
#[cfg(feature = "ssr")]
async fn act_on_dead_letter(id: i64, action: DeadLetterAction) -> Result<(), ApiError> {
    use crate::server::{auth, db, mail};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let now_ms = crate::server::clock::unix_ms(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let (changed, verb) = match action {
        DeadLetterAction::Retry => (
            db::outbox::requeue_dead(&mut *tx, id, now_ms).await,
            "retry",
        ),
        DeadLetterAction::Discard => (
            db::outbox::discard_dead(&mut *tx, id, now_ms).await,
            "discard",
        ),
    };
    if !changed.map_err(auth::internal)? {
        return Err(auth::bad_request(ApiError::Rejected(format!(
            "Only a dead letter can be {}; this message is not one (any more).",
            if action == DeadLetterAction::Retry {
                "retried"
            } else {
                "discarded"
            }
        ))));
    }
    if action == DeadLetterAction::Discard {
        db::vault::delete(&mut *tx, mail::BODY_PURPOSE, &id.to_string())
            .await
            .map_err(auth::internal)?;
    }
    super::record_audit(
        &mut tx,
        &caller,
        now_ms / 1000,
        verb,
        &format!("Mail Queue message {id}"),
        "status",
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    match action {
        DeadLetterAction::Retry => {
            // Its delivery will look at the dead-letter alarm again.
            state
                .mailer
                .delivery_alarms_may_be_open
                .store(true, std::sync::atomic::Ordering::SeqCst);
            state.mailer.wake();
        }
        DeadLetterAction::Discard => {
            if let Err(error) = crate::server::alarms::dead_letters_changed(&state).await {
                tracing::error!(target: "alarms", "could not clear alarms: {error:#}");
            }
        }
    }
    Ok(())
}

/// Queues a test email to `to` from the SMTP mailbox and waits for its
/// first attempt, up to the connection timeout, like ISE's Future.get.
#[server(endpoint = "send_test_email")]
pub async fn send_test_email(to: String) -> Result<TestEmailResult, ApiError> {
    use crate::domain::mail::MailKind;
    use crate::server::auth;
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let node = state.config.node_name.clone();
    let text = format!(
        "This is a test email from the Mailroom console {node}, sent by {} to check the SMTP settings.",
        caller.admin.name
    );
    send_and_wait(
        &state,
        &caller.admin.name,
        TestSend {
            kind: MailKind::TestEmail,
            to_field: "to",
            to: &to,
            sender: None,
            subject: format!("Mailroom test email from {node}"),
            text,
            html: None,
        },
    )
    .await
}

/// A message an admin sends to see the result at once.
#[cfg(feature = "ssr")]
pub(crate) struct TestSend<'a> {
    pub kind: crate::domain::mail::MailKind,
    /// The form field the address came from, for its error.
    pub to_field: &'a str,
    pub to: &'a str,
    /// None: the SMTP Server page's mailbox (the only sender Exchange
    /// Online accepts with OAuth).
    pub sender: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Queues `mail` through the outbox and waits, up to the SMTP connection
/// timeout, for its first attempt's settlement, as ISE's Future.get does.
#[cfg(feature = "ssr")]
pub(crate) async fn send_and_wait(
    state: &crate::server::AppState,
    created_by: &str,
    mail: TestSend<'_>,
) -> Result<TestEmailResult, ApiError> {
    use crate::domain::mail::MailStatus;
    use crate::domain::smtp::SmtpAuth;
    use crate::domain::{EmailAddress, FieldError};
    use crate::server::mail::{Mailer, Outgoing};
    use crate::server::{auth, db, settings};
    use std::time::Duration;
    let to = EmailAddress::parse(mail.to_field, mail.to).map_err(auth::bad_request)?;
    let row = db::smtp::get(&state.db).await.map_err(auth::internal)?;
    let not_configured = || {
        auth::bad_request(ApiError::Rejected(
            "Configure and save Administration > System > Settings > SMTP Server first.".into(),
        ))
    };
    let Some(row) = row else {
        return Err(not_configured());
    };
    let form = row.form();
    let stored = settings::stored_secrets(state, &form)
        .await
        .map_err(auth::internal)?;
    let saved = form.validate(stored).map_err(|e| {
        auth::bad_request(ApiError::Rejected(format!(
            "The saved SMTP settings cannot be used ({}: {}); correct them on Administration > System > Settings > SMTP Server.",
            e.field, e.message
        )))
    })?;
    let sender = mail.sender.unwrap_or_else(|| match &saved.auth {
        SmtpAuth::OAuth { mailbox, .. } => mailbox.as_str().to_string(),
        SmtpAuth::Password { username, .. } if username.contains('@') => username.clone(),
        _ => format!("mailroom@{}", state.config.node_name),
    });
    if EmailAddress::parse("from", &sender).is_err() {
        return Err(auth::bad_request(FieldError::new(
            mail.to_field,
            "The SMTP settings give no usable From address (use a mailbox address as Username).",
        )));
    }
    let timeout = Duration::from_secs(u64::from(saved.timeout.seconds()));
    let now_ms = crate::server::clock::unix_ms(state.clock.now());
    let outgoing = Outgoing {
        kind: mail.kind,
        sender,
        recipients: vec![to.as_str().to_string()],
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        created_by: created_by.to_string(),
    };
    let receiver = state.mailer.subscribe();
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let queued = state
        .mailer
        .enqueue(&mut tx, &state.vault, &outgoing, now_ms)
        .await
        .map_err(auth::internal)?;
    tx.commit().await.map_err(auth::internal)?;
    // One recipient: one part.
    let (id, message_id) = match queued.first() {
        Some(first) => (first.id, first.message_id.clone()),
        None => return Err(ApiError::Internal),
    };
    state.mailer.submitted(&queued);
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
