//! The sponsor portal's server functions. Sponsors sign in with their own
//! session (not an admin's); every function checks the sponsor group's
//! permissions on the server.

use super::ApiError;
use crate::domain::sponsor::{
    ActionReport, GuestAction, ImportGuestsForm, KnownGuestForm, RandomGuestsForm,
};
pub use crate::domain::sponsor::{
    CreatedBatch, CreatedGuest, DeliveryProgress, GuestTypeChoice, PendingAccount, SPONSOR_HOME,
    SPONSOR_LOGIN, SendBudget, SponsorInfo, SponsoredGuest, SponsoredPage,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::sponsors::{self, SponsorCaller};

#[server(endpoint = "sponsor_login")]
pub async fn sponsor_login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), ApiError> {
    use crate::domain::Secret;
    use crate::server::auth::{SPONSOR_COOKIE, Visitor, session_cookie};
    use crate::server::service::sessions::{self, SignInRefusal};
    let (state, visitor) = super::caller::<Visitor>().await?;
    let client = super::sign_in_client(&visitor);
    match sessions::sponsor_sign_in(&state, &username, &Secret::new(password), &client).await {
        Ok(session) => {
            super::keep_device(&visitor, &client);
            super::set_cookie(session_cookie(
                SPONSOR_COOKIE,
                &session.token,
                visitor.over_tls,
            ));
            leptos_axum::redirect(sponsor_landing(next.as_deref()));
            Ok(())
        }
        Err(SignInRefusal::Other(error)) => Err(super::failed(error)),
        Err(refusal) => {
            super::set_status(http::StatusCode::UNAUTHORIZED);
            Err(ApiError::Rejected(refusal.message()))
        }
    }
}

/// Where a signed-in sponsor goes: back to the sponsor portal page it
/// came from (an approval link), never to another site.
pub fn sponsor_landing(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with("/sponsor/")
                && !path.contains(['\\', '\r', '\n'])
                && !path.starts_with("/sponsor/login") =>
        {
            path
        }
        _ => SPONSOR_HOME,
    }
}

#[server(endpoint = "sponsor_logout")]
pub async fn sponsor_logout() -> Result<(), ApiError> {
    use crate::server::auth::{SPONSOR_COOKIE, Visitor, clearing_cookie};
    use crate::server::service::sessions;
    let (state, visitor) = super::caller::<Visitor>().await?;
    sessions::sponsor_sign_out(&state, visitor.sponsor_token.as_deref())
        .await
        .map_err(super::failed)?;
    super::set_cookie(clearing_cookie(SPONSOR_COOKIE, visitor.over_tls));
    leptos_axum::redirect(SPONSOR_LOGIN);
    Ok(())
}

/// The signed-in sponsor, or None (the portal then shows its sign-in).
#[server(endpoint = "current_sponsor")]
pub async fn current_sponsor() -> Result<Option<SponsorInfo>, ApiError> {
    let (state, sponsor) = super::caller::<Option<SponsorCaller>>().await?;
    match sponsor {
        Some(sponsor) => sponsors::info(&state, &sponsor)
            .await
            .map(Some)
            .map_err(super::failed),
        None => Ok(None),
    }
}

#[server(endpoint = "sponsor_create_known")]
pub async fn sponsor_create_known(form: KnownGuestForm) -> Result<CreatedBatch, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::create_known(&state, &sponsor, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "sponsor_create_random")]
pub async fn sponsor_create_random(form: RandomGuestsForm) -> Result<CreatedBatch, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::create_random(&state, &sponsor, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "sponsor_import_guests")]
pub async fn sponsor_import_guests(form: ImportGuestsForm) -> Result<CreatedBatch, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::import(&state, &sponsor, &form)
        .await
        .map_err(super::failed)
}

/// How far the credentials emails of a batch have got.
#[server(endpoint = "sponsor_delivery")]
pub async fn sponsor_delivery(mail_ids: Vec<i64>) -> Result<DeliveryProgress, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::delivery(&state, &sponsor, &mail_ids)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "sponsor_send_budget")]
pub async fn sponsor_send_budget() -> Result<SendBudget, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::send_budget(&state, &sponsor)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "sponsor_guests")]
pub async fn sponsor_guests(
    search: String,
    state: String,
    page: i64,
) -> Result<SponsoredPage, ApiError> {
    let (app, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::guests(&app, &sponsor, &search, &state, page)
        .await
        .map_err(super::failed)
}

/// Manage Accounts' buttons: each guest done or refused with ISE's reason.
#[server(endpoint = "sponsor_guest_action")]
pub async fn sponsor_guest_action(
    ids: Vec<i64>,
    action: GuestAction,
    extend_days: Option<u32>,
) -> Result<ActionReport, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::act(&state, &sponsor, &ids, action, extend_days)
        .await
        .map_err(super::failed)
}

/// Pending Accounts: the self-registrations this sponsor may decide.
#[server(endpoint = "sponsor_pending_accounts")]
pub async fn sponsor_pending_accounts() -> Result<Vec<PendingAccount>, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::pending(&state, &sponsor)
        .await
        .map_err(super::failed)
}

/// Pending Accounts' Approve and Deny (`reason` is kept in the audit).
#[server(endpoint = "sponsor_decide_pending")]
pub async fn sponsor_decide_pending(
    ids: Vec<i64>,
    approve: bool,
    reason: String,
) -> Result<ActionReport, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::decide_pending(&state, &sponsor, &ids, approve, &reason)
        .await
        .map_err(super::failed)
}

/// Manage Accounts' Set Language (`language` empty: the portal's default).
#[server(endpoint = "sponsor_set_language")]
pub async fn sponsor_set_language(
    ids: Vec<i64>,
    language: String,
) -> Result<ActionReport, ApiError> {
    let (state, sponsor) = super::caller::<SponsorCaller>().await?;
    sponsors::set_language(&state, &sponsor, &ids, &language)
        .await
        .map_err(super::failed)
}
