//! The SMTP Server page's Sending Limits and Sender Pool, and the paced
//! mailbox's state for the Mail Queue.

use super::mail_queue::{TestSend, send_and_wait};
use super::{Caller, ServiceError, audit, settings_changed_everywhere};
use crate::domain::limits::{PacingView, SenderMailboxForm, SendingLimitsForm};
use crate::domain::mail::{MailKind, TestEmailResult};
use crate::domain::{Access, FieldError};
use crate::server::AppState;
use crate::server::db;
use crate::server::mail::pacing;

/// The limits in force (saved or the cloud's defaults) and the mailbox's
/// pacing: the Sending Limits section shows the first, the Mail Queue both.
pub async fn view(app: &AppState, caller: &Caller) -> Result<PacingView, ServiceError> {
    caller.require(Access::View)?;
    Ok(pacing::view(app).await?)
}

pub async fn save(
    app: &AppState,
    caller: &Caller,
    form: &SendingLimitsForm,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let limits = form.validate()?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::pacing::put_limits(&mut *tx, &limits, now, &caller.name).await?;
    audit(&mut tx, caller, now, "update", "Sending Limits", "").await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    senders_changed(app);
    Ok(())
}

/// Adds a further sending mailbox to the sender pool (enabled).
pub async fn add_mailbox(
    app: &AppState,
    caller: &Caller,
    form: &SenderMailboxForm,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let paced = pacing::current(app).await?;
    if !paced.oauth {
        return Err(ServiceError::invalid(
            "mailbox",
            "A sender pool needs the SMTP Server to sign in with OAuth 2.0: one app token then serves every mailbox the app has permission on.",
        ));
    }
    let pooled: Vec<String> = db::pacing::sender_mailboxes(&app.db)
        .await?
        .into_iter()
        .map(|(mailbox, _)| mailbox)
        .collect();
    let mailbox = form.validate(&paced.mailbox, &pooled)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    if !db::pacing::add_sender_mailbox(&mut *tx, &mailbox, now * 1000, &caller.name).await? {
        return Err(ServiceError::invalid(
            "mailbox",
            "This mailbox is in the pool already.",
        ));
    }
    audit(&mut tx, caller, now, "create", "Sender Pool", &mailbox).await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    senders_changed(app);
    Ok(())
}

/// The pool keeps addresses lower-cased, as they were added.
fn pool_address(mailbox: &str) -> String {
    mailbox.trim().to_ascii_lowercase()
}

fn not_in_pool(mailbox: &str) -> ServiceError {
    ServiceError::NotFound(format!("{mailbox} is not in the sender pool."))
}

/// Lets a pool mailbox send bulk guest mail, or stops it.
pub async fn enable_mailbox(
    app: &AppState,
    caller: &Caller,
    mailbox: &str,
    enabled: bool,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let mailbox = pool_address(mailbox);
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    if !db::pacing::enable_sender_mailbox(&mut *tx, &mailbox, enabled).await? {
        return Err(not_in_pool(&mailbox));
    }
    let action = if enabled { "enable" } else { "disable" };
    audit(&mut tx, caller, now, action, "Sender Pool", &mailbox).await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    senders_changed(app);
    Ok(())
}

pub async fn remove_mailbox(
    app: &AppState,
    caller: &Caller,
    mailbox: &str,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let mailbox = pool_address(mailbox);
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    if !db::pacing::remove_sender_mailbox(&mut *tx, &mailbox).await? {
        return Err(not_in_pool(&mailbox));
    }
    audit(&mut tx, caller, now, "delete", "Sender Pool", &mailbox).await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    senders_changed(app);
    Ok(())
}

/// Sends a test email From a pool mailbox, signed in as it, and waits for
/// the reply: the check that the app has permission on that mailbox.
pub async fn send_pool_test_email(
    app: &AppState,
    caller: &Caller,
    mailbox: &str,
    to: &str,
) -> Result<TestEmailResult, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let paced = pacing::current(app).await?;
    let mailbox = pool_address(mailbox);
    if !paced.pool.contains(&mailbox) {
        return Err(FieldError::new(
            "pool_mailbox",
            "Choose an enabled mailbox of the sender pool.",
        )
        .into());
    }
    let node = app.config.node_name.clone();
    send_and_wait(
        app,
        caller,
        TestSend {
            kind: MailKind::TestEmail,
            to_field: "pool_to",
            to,
            sender: Some(mailbox.clone()),
            subject: format!("Mailroom test email from {node} via {mailbox}"),
            text: format!(
                "This is a test email from the Mailroom console {node}, sent by {} as the sender pool mailbox {mailbox} to check its permission.",
                caller.name
            ),
            html: None,
            language: None,
        },
    )
    .await
}

/// The workers load the limits and the pool again before their next message.
fn senders_changed(app: &AppState) {
    app.mailer.settings_changed();
    app.mailer.wake();
}
