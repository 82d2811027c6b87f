//! Signing in to the console and out of it.

use super::ApiError;
pub use crate::domain::admin::{INVALID_CREDENTIALS, PASSWORD_EXPIRED, SignedInAdmin};
use leptos::prelude::*;

/// The refusal of a sign-in as the page shows it: 401 for a wrong name or
/// password, 403 for an expired password, 429 while throttled.
#[cfg(feature = "ssr")]
fn refused(refusal: crate::server::service::sessions::SignInRefusal) -> ApiError {
    use crate::server::service::sessions::SignInRefusal;
    match refusal {
        SignInRefusal::Invalid => {
            super::set_status(http::StatusCode::UNAUTHORIZED);
            ApiError::Rejected(INVALID_CREDENTIALS.into())
        }
        SignInRefusal::PasswordExpired => {
            super::set_status(http::StatusCode::FORBIDDEN);
            ApiError::Rejected(PASSWORD_EXPIRED.into())
        }
        SignInRefusal::Other(error) => super::failed(error),
    }
}

/// The new session's cookie, and on to `next` (a console path) or the
/// dashboard.
#[cfg(feature = "ssr")]
fn start(
    session: &crate::server::service::sessions::NewSession,
    visitor: &crate::server::auth::Visitor,
    next: Option<&str>,
) {
    use crate::server::auth::{SESSION_COOKIE, session_cookie};
    super::set_cookie(session_cookie(
        SESSION_COOKIE,
        &session.token,
        visitor.over_tls,
    ));
    leptos_axum::redirect(crate::domain::local_next(next));
}

/// Signs in. The same message answers an unknown user and a wrong password.
#[server(endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<(), ApiError> {
    use crate::domain::Secret;
    use crate::server::auth::Visitor;
    use crate::server::service::sessions;
    let (state, visitor) = super::caller::<Visitor>().await?;
    let client = super::sign_in_client(&visitor);
    let session = sessions::sign_in(&state, &username, &Secret::new(password), &client)
        .await
        .map_err(refused)?;
    super::keep_device(&visitor, &client);
    start(&session, &visitor, next.as_deref());
    Ok(())
}

/// Signs in with an expired password by replacing it: the current password
/// is checked (throttled) as at sign-in, the new one against the rules.
#[server(endpoint = "change_expired_password")]
pub async fn change_expired_password(
    username: String,
    password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), ApiError> {
    use crate::domain::Secret;
    use crate::server::auth::Visitor;
    use crate::server::service::sessions;
    let (state, visitor) = super::caller::<Visitor>().await?;
    let client = super::sign_in_client(&visitor);
    let session = sessions::change_expired_password(
        &state,
        &username,
        &Secret::new(password),
        &Secret::new(new_password),
        &Secret::new(confirm_password),
        &client,
    )
    .await
    .map_err(refused)?;
    super::keep_device(&visitor, &client);
    start(&session, &visitor, None);
    Ok(())
}

/// Ends the caller's session. Works (and clears the cookie) even when the
/// session has already expired.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    use crate::server::auth::{SESSION_COOKIE, Visitor, clearing_cookie};
    use crate::server::service::sessions;
    let (state, visitor) = super::caller::<Visitor>().await?;
    sessions::sign_out(&state, visitor.admin_token.as_deref())
        .await
        .map_err(super::failed)?;
    super::set_cookie(clearing_cookie(SESSION_COOKIE, visitor.over_tls));
    leptos_axum::redirect("/login");
    Ok(())
}

/// Who is signed in, or `None`: the pages use it to decide what to show.
#[server(endpoint = "current_admin")]
pub async fn current_admin() -> Result<Option<SignedInAdmin>, ApiError> {
    use crate::server::service::{Caller, sessions};
    let (state, caller) = super::caller::<Option<Caller>>().await?;
    Ok(caller.map(|caller| sessions::signed_in(&state, &caller)))
}
