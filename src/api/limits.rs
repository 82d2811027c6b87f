//! The SMTP Server page's Sending Limits, and the paced mailbox's state
//! for the Mail Queue.

use super::ApiError;
use crate::domain::limits::{PacingView, SenderMailboxForm, SendingLimitsForm};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, limits};

/// The limits in force (saved or the cloud's defaults) and the mailbox's
/// pacing: the Sending Limits section shows the first, the Mail Queue both.
#[server(endpoint = "get_sending_limits")]
pub async fn get_sending_limits() -> Result<PacingView, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    limits::view(&state, &caller).await.map_err(super::failed)
}

#[server(endpoint = "save_sending_limits")]
pub async fn save_sending_limits(form: SendingLimitsForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    limits::save(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

/// Adds a further sending mailbox to the sender pool (enabled).
#[server(endpoint = "add_sender_mailbox")]
pub async fn add_sender_mailbox(form: SenderMailboxForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    limits::add_mailbox(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

/// Lets a pool mailbox send bulk guest mail, or stops it.
#[server(endpoint = "enable_sender_mailbox")]
pub async fn enable_sender_mailbox(mailbox: String, enabled: bool) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    limits::enable_mailbox(&state, &caller, &mailbox, enabled)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "remove_sender_mailbox")]
pub async fn remove_sender_mailbox(mailbox: String) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    limits::remove_mailbox(&state, &caller, &mailbox)
        .await
        .map_err(super::failed)
}

/// Sends a test email From a pool mailbox, signed in as it, and waits for
/// the reply.
#[server(endpoint = "send_pool_test_email")]
pub async fn send_pool_test_email(
    mailbox: String,
    to: String,
) -> Result<crate::domain::mail::TestEmailResult, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    limits::send_pool_test_email(&state, &caller, &mailbox, &to)
        .await
        .map_err(super::failed)
}
