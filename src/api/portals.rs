//! Work Centers > Guest Access > Portals & Components > Guest Portals, and
//! the public Self-Registered Guest Portal itself.

use super::ApiError;
pub use crate::domain::guest::{ApprovalDone, ApprovalLink};
use crate::domain::mail::TestEmailResult;
use crate::domain::portal::{EmailTemplate, PortalForm, RegistrationForm};
pub use crate::domain::portal::{
    GuestSignedIn, PortalPage, PortalSummary, PublicPortal, Registered, public_path,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::auth::Visitor;
#[cfg(feature = "ssr")]
use crate::server::service::{Caller, guests, portals};

#[server(endpoint = "list_guest_portals")]
pub async fn list_guest_portals() -> Result<Vec<PortalSummary>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    portals::list(&state, &caller).await.map_err(super::failed)
}

#[server(endpoint = "get_guest_portal")]
pub async fn get_guest_portal(id: i64) -> Result<PortalPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    portals::get(&state, &caller, id)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_guest_portal")]
pub async fn save_guest_portal(id: i64, form: PortalForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    portals::save(&state, &caller, id, &form)
        .await
        .map_err(super::failed)
}

/// Settings > Send Test Email: the template as it stands (saved or not),
/// rendered with sample values, through the outbox.
#[server(endpoint = "send_portal_test_email")]
pub async fn send_portal_test_email(
    email: EmailTemplate,
    to: String,
    language: Option<String>,
) -> Result<TestEmailResult, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let language = language.unwrap_or_default();
    portals::send_test_email(&state, &caller, &email, &to, &language)
        .await
        .map_err(super::failed)
}

/// Public: no sign-in.
#[server(endpoint = "get_public_portal")]
pub async fn get_public_portal(id: i64) -> Result<PublicPortal, ApiError> {
    let state = super::app()?;
    let headers: http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let accept_language = headers
        .get(http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    portals::public(&state, id, accept_language)
        .await
        .map_err(super::failed)
}

/// Public: a guest registers (limited per client address and hour).
#[server(endpoint = "register_guest")]
pub async fn register_guest(portal: i64, form: RegistrationForm) -> Result<Registered, ApiError> {
    let (state, visitor) = super::caller::<Visitor>().await?;
    let console_url = visitor.console_url(&state.config.edge);
    portals::register(&state, portal, &form, &visitor.client_ip, &console_url)
        .await
        .map_err(super::failed)
}

/// Public: what an Approve or Deny link from an approval request shows.
/// Opening it changes nothing.
#[server(endpoint = "get_guest_approval")]
pub async fn get_guest_approval(token: String) -> Result<ApprovalLink, ApiError> {
    use crate::server::service::sponsors::SponsorCaller;
    let (state, sponsor) = super::caller::<Option<SponsorCaller>>().await?;
    crate::server::guest_approval::open_link(&state, &token, sponsor.as_ref())
        .await
        .map_err(|e| super::failed(crate::server::service::ServiceError::internal(e)))
}

/// Public: the approver's click on a link's page, which approves or denies
/// the guest (`reason` is recorded for a denial).
#[server(endpoint = "settle_guest_approval")]
pub async fn settle_guest_approval(
    token: String,
    reason: String,
) -> Result<ApprovalDone, ApiError> {
    use crate::server::guest_approval::{LinkRefused, settle_link};
    use crate::server::service::sponsors::SponsorCaller;
    let (state, visitor) = super::caller::<Visitor>().await?;
    let (_, sponsor) = super::caller::<Option<SponsorCaller>>().await?;
    match settle_link(
        &state,
        &token,
        &reason,
        &visitor.client_ip,
        sponsor.as_ref(),
    )
    .await
    {
        Ok(done) => Ok(done),
        Err(LinkRefused::Closed(why)) => Err(super::failed(
            crate::server::service::ServiceError::Conflict(why),
        )),
        Err(LinkRefused::Failed(error)) => Err(super::failed(
            crate::server::service::ServiceError::internal(error),
        )),
    }
}

/// The refusal of a guest's sign-in as the portal shows it.
#[cfg(feature = "ssr")]
fn refused(refusal: guests::GuestRefusal) -> ApiError {
    use http::StatusCode;
    let status = match &refusal {
        guests::GuestRefusal::Other(error) => return super::failed(error.clone()),
        guests::GuestRefusal::Invalid => StatusCode::UNAUTHORIZED,
        _ => StatusCode::FORBIDDEN,
    };
    super::set_status(status);
    ApiError::Rejected(refusal.message())
}

/// Public: a guest signs in with the credentials it received, on any guest
/// portal (`portal` names the page it came from, for the log). The first
/// sign-in makes a Created account Active. Throttled like the admins'.
#[server(endpoint = "guest_login")]
pub async fn guest_login(
    portal: i64,
    username: String,
    password: String,
) -> Result<GuestSignedIn, ApiError> {
    use crate::domain::Secret;
    let (state, visitor) = super::caller::<Visitor>().await?;
    let client = super::sign_in_client(&visitor);
    let signed_in = guests::sign_in(&state, portal, &username, &Secret::new(password), &client)
        .await
        .map_err(refused)?;
    super::keep_device(&visitor, &client);
    Ok(signed_in)
}

/// Public: the guest changes the password. The sealed copy is dropped: from
/// now on a sponsor must use Reset Password, not Resend.
#[server(endpoint = "guest_change_password")]
pub async fn guest_change_password(
    portal: i64,
    username: String,
    current: String,
    new_password: String,
    confirm: String,
) -> Result<(), ApiError> {
    use crate::domain::Secret;
    let (state, visitor) = super::caller::<Visitor>().await?;
    let client = super::sign_in_client(&visitor);
    guests::change_password(
        &state,
        portal,
        &username,
        &Secret::new(current),
        &Secret::new(new_password),
        &Secret::new(confirm),
        &client,
    )
    .await
    .map_err(refused)?;
    super::keep_device(&visitor, &client);
    Ok(())
}
