//! Operations > Mail Queue, and Send Test Email.

use super::ApiError;
use crate::domain::mail::{MailDetail, TestEmailResult};
pub use crate::domain::mail::{MailQueuePage, PAGE_SIZE};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, mail_queue};

/// One page of the queue, newest first. Empty filter fields match all.
#[server(endpoint = "get_mail_queue")]
pub async fn get_mail_queue(
    status: String,
    kind: String,
    recipient: String,
    subject: String,
    page: i64,
) -> Result<MailQueuePage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let query = mail_queue::QueueQuery {
        status,
        kind,
        recipient,
        subject,
        page,
    };
    mail_queue::page(&state, &caller, query)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "get_mail_detail")]
pub async fn get_mail_detail(id: i64) -> Result<MailDetail, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    mail_queue::detail(&state, &caller, id)
        .await
        .map_err(super::failed)
}

/// Puts a dead letter back in the queue with a fresh set of attempts.
#[server(endpoint = "retry_mail")]
pub async fn retry_mail(id: i64) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    mail_queue::act_on_dead_letter(&state, &caller, id, mail_queue::DeadLetterAction::Retry)
        .await
        .map_err(super::failed)
}

/// Gives up on a dead letter for good and drops its stored body.
#[server(endpoint = "discard_mail")]
pub async fn discard_mail(id: i64) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    mail_queue::act_on_dead_letter(&state, &caller, id, mail_queue::DeadLetterAction::Discard)
        .await
        .map_err(super::failed)
}

/// Queues a test email to `to` from the SMTP mailbox and waits for its
/// first attempt, up to the connection timeout, like ISE's Future.get.
#[server(endpoint = "send_test_email")]
pub async fn send_test_email(to: String) -> Result<TestEmailResult, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    mail_queue::send_test_email(&state, &caller, &to)
        .await
        .map_err(super::failed)
}
