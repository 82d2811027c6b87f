use super::ApiError;
use crate::domain::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in admin as the pages see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInAdmin {
    pub name: String,
    pub role: Role,
    pub node: String,
    pub version: String,
}

/// Signs in. The same message answers an unknown user and a wrong password.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), ApiError> {
    use crate::domain::Secret;
    use crate::server::auth::{self, LoginOutcome};
    let password = Secret::new(password);
    let (state, parts) = auth::context()?;
    let client_ip = auth::client_ip(&parts);
    match auth::sign_in(&state, &username, &password, &client_ip)
        .await
        .map_err(auth::internal)?
    {
        LoginOutcome::SignedIn { token, admin } => {
            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.insert_header(
                http::header::SET_COOKIE,
                auth::session_cookie(&token, auth::over_tls(&parts)),
            );
            tracing::info!(target: "admin-access", user = %admin.name, "admin signed in from {client_ip}");
            leptos_axum::redirect("/");
            Ok(())
        }
        LoginOutcome::Refused => {
            tracing::warn!(target: "admin-access", "failed sign-in for '{}' from {client_ip}", username.replace(['\r', '\n'], " "));
            response_status(http::StatusCode::UNAUTHORIZED);
            Err(ApiError::Rejected(INVALID_CREDENTIALS.into()))
        }
        LoginOutcome::Throttled { wait_seconds } => {
            response_status(http::StatusCode::TOO_MANY_REQUESTS);
            Err(ApiError::Throttled(format!(
                "Too many failed sign-in attempts. Try again in {wait_seconds} seconds."
            )))
        }
        LoginOutcome::PasswordExpired => {
            tracing::info!(target: "admin-access", user = %username.trim(), "admin password expired: a new one is required");
            response_status(http::StatusCode::FORBIDDEN);
            Err(ApiError::Rejected(PASSWORD_EXPIRED.into()))
        }
    }
}

pub const INVALID_CREDENTIALS: &str = "Invalid username or password. Try again.";
pub const PASSWORD_EXPIRED: &str = "Your password has expired. Choose a new password to sign in.";

/// Signs in with an expired password by replacing it: the current password
/// is checked (throttled) as at sign-in, the new one against the rules.
#[server(endpoint = "change_expired_password")]
pub async fn change_expired_password(
    username: String,
    password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), ApiError> {
    use crate::domain::{AdminPassword, FieldError, Secret};
    use crate::server::auth::{self, Attempt};
    use crate::server::db;
    let (state, parts) = auth::context()?;
    let client_ip = auth::client_ip(&parts);
    let attempt = match Attempt::start(
        &state,
        crate::server::throttle::user_key(&username),
        &client_ip,
    ) {
        Ok(attempt) => attempt,
        Err(wait_seconds) => {
            response_status(http::StatusCode::TOO_MANY_REQUESTS);
            return Err(ApiError::Throttled(format!(
                "Too many failed sign-in attempts. Try again in {wait_seconds} seconds."
            )));
        }
    };
    let admin = db::admins::by_name(&state.db, username.trim())
        .await
        .map_err(auth::internal)?
        .filter(|admin| admin.enabled);
    let hash = admin.as_ref().map(|admin| admin.password_hash.as_str());
    let verified = attempt.verify(&state, &Secret::new(password.clone()), hash);
    let Some(admin) = admin.filter(|_| verified) else {
        response_status(http::StatusCode::UNAUTHORIZED);
        return Err(ApiError::Rejected(INVALID_CREDENTIALS.into()));
    };
    AdminPassword::check("new_password", &new_password, &admin.name).map_err(auth::bad_request)?;
    if new_password == password {
        return Err(auth::bad_request(FieldError::new(
            "new_password",
            "Choose a password different from the expired one.",
        )));
    }
    if new_password != confirm_password {
        return Err(auth::bad_request(FieldError::new(
            "confirm_password",
            "The passwords do not match.",
        )));
    }
    let new_hash = auth::hash_password(&Secret::new(new_password)).map_err(auth::internal)?;
    db::admins::set_password_hash(&state.db, admin.id, &new_hash, attempt.now())
        .await
        .map_err(auth::internal)?;
    tracing::info!(target: "admin-access", user = %admin.name, "admin changed an expired password from {client_ip}");
    let token = auth::start_session(&state, admin.id, attempt.now(), &client_ip)
        .await
        .map_err(auth::internal)?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        http::header::SET_COOKIE,
        auth::session_cookie(&token, auth::over_tls(&parts)),
    );
    leptos_axum::redirect("/");
    Ok(())
}

#[cfg(feature = "ssr")]
fn response_status(status: http::StatusCode) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// Ends the caller's session. Works (and clears the cookie) even when the
/// session has already expired.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    use crate::server::{auth, db};
    let (state, parts) = auth::context()?;
    if let Some(token) = auth::session_token(&parts) {
        db::sessions::delete(&state.db, &auth::token_hash(&token))
            .await
            .map_err(auth::internal)?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        http::header::SET_COOKIE,
        auth::clearing_cookie(auth::over_tls(&parts)),
    );
    leptos_axum::redirect("/login");
    Ok(())
}

/// Who is signed in, or `None`: the pages use it to decide what to show.
#[server(endpoint = "current_admin")]
pub async fn current_admin() -> Result<Option<SignedInAdmin>, ApiError> {
    use crate::server::auth;
    let (state, parts) = auth::context()?;
    let caller = auth::current_caller(&state, &parts)
        .await
        .map_err(auth::internal)?;
    Ok(caller.map(|caller| SignedInAdmin {
        role: caller.role(),
        name: caller.admin.name,
        node: state.config.node_name.clone(),
        version: crate::server::VERSION.to_string(),
    }))
}
