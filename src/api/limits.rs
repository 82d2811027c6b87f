//! The SMTP Server page's Sending Limits, and the paced mailbox's state
//! for the Mail Queue.

use super::ApiError;
use crate::domain::limits::{PacingView, SenderMailboxForm, SendingLimitsForm};
use leptos::prelude::*;

/// The limits in force (saved or the cloud's defaults) and the mailbox's
/// pacing: the Sending Limits section shows the first, the Mail Queue both.
#[server(endpoint = "get_sending_limits")]
pub async fn get_sending_limits() -> Result<PacingView, ApiError> {
    use crate::server::auth;
    use crate::server::mail::pacing;
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    pacing::view(&state).await.map_err(auth::internal)
}

#[server(endpoint = "save_sending_limits")]
pub async fn save_sending_limits(form: SendingLimitsForm) -> Result<(), ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let limits = form.validate().map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    db::pacing::put_limits(&mut *tx, &limits, now, &caller.admin.name)
        .await
        .map_err(auth::internal)?;
    super::record_audit(&mut tx, &caller, now, "update", "Sending Limits", "").await?;
    tx.commit().await.map_err(auth::internal)?;
    // The workers load the new limits before their next message.
    state.mailer.settings_changed();
    state.mailer.wake();
    Ok(())
}

/// Adds a further sending mailbox to the sender pool (enabled).
#[server(endpoint = "add_sender_mailbox")]
pub async fn add_sender_mailbox(form: SenderMailboxForm) -> Result<(), ApiError> {
    use crate::domain::FieldError;
    use crate::server::clock::unix;
    use crate::server::mail::pacing;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let paced = pacing::current(&state).await.map_err(auth::internal)?;
    if !paced.oauth {
        return Err(auth::bad_request(FieldError::new(
            "mailbox",
            "A sender pool needs the SMTP Server to sign in with OAuth 2.0: one app token then serves every mailbox the app has permission on.",
        )));
    }
    let pooled: Vec<String> = db::pacing::sender_mailboxes(&state.db)
        .await
        .map_err(auth::internal)?
        .into_iter()
        .map(|(mailbox, _)| mailbox)
        .collect();
    let mailbox = form
        .validate(&paced.mailbox, &pooled)
        .map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    if !db::pacing::add_sender_mailbox(&mut *tx, &mailbox, now * 1000, &caller.admin.name)
        .await
        .map_err(auth::internal)?
    {
        return Err(auth::bad_request(FieldError::new(
            "mailbox",
            "This mailbox is in the pool already.",
        )));
    }
    super::record_audit(&mut tx, &caller, now, "create", "Sender Pool", &mailbox).await?;
    tx.commit().await.map_err(auth::internal)?;
    pool_changed(&state);
    Ok(())
}

/// Lets a pool mailbox send bulk guest mail, or stops it.
#[server(endpoint = "enable_sender_mailbox")]
pub async fn enable_sender_mailbox(mailbox: String, enabled: bool) -> Result<(), ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    // The pool keeps addresses lower-cased, as they were added.
    let mailbox = mailbox.trim().to_ascii_lowercase();
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    if !db::pacing::enable_sender_mailbox(&mut *tx, &mailbox, enabled)
        .await
        .map_err(auth::internal)?
    {
        return Err(auth::bad_request(ApiError::Rejected(format!(
            "{mailbox} is not in the sender pool."
        ))));
    }
    let action = if enabled { "enable" } else { "disable" };
    super::record_audit(&mut tx, &caller, now, action, "Sender Pool", &mailbox).await?;
    tx.commit().await.map_err(auth::internal)?;
    pool_changed(&state);
    Ok(())
}

#[server(endpoint = "remove_sender_mailbox")]
pub async fn remove_sender_mailbox(mailbox: String) -> Result<(), ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    // The pool keeps addresses lower-cased, as they were added.
    let mailbox = mailbox.trim().to_ascii_lowercase();
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    if !db::pacing::remove_sender_mailbox(&mut *tx, &mailbox)
        .await
        .map_err(auth::internal)?
    {
        return Err(auth::bad_request(ApiError::Rejected(format!(
            "{mailbox} is not in the sender pool."
        ))));
    }
    super::record_audit(&mut tx, &caller, now, "delete", "Sender Pool", &mailbox).await?;
    tx.commit().await.map_err(auth::internal)?;
    pool_changed(&state);
    Ok(())
}

/// Sends a test email From a pool mailbox, signed in as it, and waits for
/// the reply: the check that the app has permission on that mailbox.
#[server(endpoint = "send_pool_test_email")]
pub async fn send_pool_test_email(
    mailbox: String,
    to: String,
) -> Result<crate::domain::mail::TestEmailResult, ApiError> {
    use super::mail::{TestSend, send_and_wait};
    use crate::domain::FieldError;
    use crate::domain::mail::MailKind;
    use crate::server::auth;
    use crate::server::mail::pacing;
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let paced = pacing::current(&state).await.map_err(auth::internal)?;
    let mailbox = mailbox.trim().to_ascii_lowercase();
    if !paced.pool.contains(&mailbox) {
        return Err(auth::bad_request(FieldError::new(
            "pool_mailbox",
            "Choose an enabled mailbox of the sender pool.",
        )));
    }
    let node = state.config.node_name.clone();
    send_and_wait(
        &state,
        &caller.admin.name,
        TestSend {
            kind: MailKind::TestEmail,
            to_field: "pool_to",
            to: &to,
            sender: Some(mailbox.clone()),
            subject: format!("Mailroom test email from {node} via {mailbox}"),
            text: format!(
                "This is a test email from the Mailroom console {node}, sent by {} as the sender pool mailbox {mailbox} to check its permission.",
                caller.admin.name
            ),
            html: None,
        },
    )
    .await
}

/// The workers load the pool again before their next message.
#[cfg(feature = "ssr")]
fn pool_changed(state: &crate::server::AppState) {
    state.mailer.settings_changed();
    state.mailer.wake();
}
