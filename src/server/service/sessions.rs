//! Signing in and out: the admins' console sessions and the sponsors'
//! portal sessions, each throttled per user name and per client address,
//! and the lookup that turns a session token back into its caller.

use super::sponsors::SponsorCaller;
use super::{Caller, ServiceError};
use crate::domain::admin::{INVALID_CREDENTIALS, PASSWORD_EXPIRED, SignedInAdmin};
use crate::domain::password_policy::PolicyScope;
use crate::domain::{AdminPassword, FieldError, Secret};
use crate::server::AppState;
use crate::server::auth::{
    hash_password_off_runtime, random_token, token_hash, verify_password_off_runtime,
};
use crate::server::db;
use crate::server::db::admins::AdminRow;
use crate::server::throttle::{self, PER_IP, PER_USER, ip_key, user_key};

/// A new session: the token goes in the cookie, only its hash is stored.
pub struct NewSession {
    pub token: String,
    pub name: String,
}

/// One sign-in attempt, throttled per user name and per client address: the
/// admins', the sponsors' and the guests' sign-ins share it.
pub(crate) struct Attempt {
    user_key: String,
    ip_key: String,
    now: i64,
}

impl Attempt {
    /// Starts an attempt for `user_key` (a `throttle::user_key`, prefixed
    /// per kind of user) from `client_ip`; `Throttled` while it must wait.
    pub(crate) async fn start(
        app: &AppState,
        user_key: String,
        client_ip: &str,
    ) -> Result<Attempt, ServiceError> {
        let now = app.now();
        let ip_key = ip_key(client_ip);
        match throttle::wait(&app.db, &user_key, &ip_key, now).await? {
            Some(wait_seconds) => Err(ServiceError::Throttled(format!(
                "Too many failed sign-in attempts. Try again in {wait_seconds} seconds."
            ))),
            None => Ok(Attempt {
                user_key,
                ip_key,
                now,
            }),
        }
    }

    /// The attempt's time (Unix seconds).
    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    /// Checks `password` against `hash` off the request threads; `None` (an
    /// unknown or disabled user) is checked against a decoy, so that it
    /// takes as long, and fails. A failure counts against the user and the
    /// address; a success clears the user's.
    pub(crate) async fn verify(
        &self,
        app: &AppState,
        password: &Secret,
        hash: Option<&str>,
    ) -> bool {
        let verified =
            verify_password_off_runtime(password.clone(), hash.map(str::to_string)).await;
        // Counted in the database, so every node of a deployment throttles
        // as one; a count that cannot be written is logged, not fatal.
        let counted = if verified {
            throttle::clear(&app.db, &self.user_key).await
        } else {
            match throttle::record_failure(&app.db, &self.user_key, PER_USER, self.now).await {
                Ok(()) => throttle::record_failure(&app.db, &self.ip_key, PER_IP, self.now).await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = counted {
            tracing::error!(target: "admin-access", "could not count a sign-in attempt: {e}");
        }
        verified
    }
}

/// An enabled admin's name and password, checked as an attempt throttled
/// per user and address; one refusal for an unknown user, a disabled one
/// and a wrong password.
async fn check_admin_password(
    app: &AppState,
    name: &str,
    password: &Secret,
    client_ip: &str,
) -> Result<(Attempt, AdminRow), SignInRefusal> {
    let attempt = Attempt::start(app, user_key(name), client_ip).await?;
    let admin = db::admins::by_name(&app.db, name.trim())
        .await
        .map_err(ServiceError::from)?
        .filter(|admin| admin.enabled);
    let hash = admin.as_ref().map(|admin| admin.password_hash.as_str());
    let verified = attempt.verify(app, password, hash).await;
    match admin.filter(|_| verified) {
        Some(admin) => Ok((attempt, admin)),
        None => {
            tracing::warn!(target: "admin-access", "failed sign-in for '{}' from {client_ip}", name.replace(['\r', '\n'], " "));
            Err(SignInRefusal::Invalid)
        }
    }
}

/// An admin signs in: the same refusal for an unknown user and a wrong
/// password; an expired password (admin password policy) must be replaced
/// first (`PASSWORD_EXPIRED`).
pub async fn sign_in(
    app: &AppState,
    name: &str,
    password: &Secret,
    client_ip: &str,
) -> Result<NewSession, SignInRefusal> {
    let (attempt, admin) = check_admin_password(app, name, password, client_ip).await?;
    let policy = db::identities::policy(&app.db, PolicyScope::Admin)
        .await
        .map_err(ServiceError::from)?;
    if crate::server::passwords::admin_password_expired(
        &policy,
        admin.password_changed_at,
        attempt.now,
    ) {
        tracing::info!(target: "admin-access", user = %admin.name, "admin password expired: a new one is required");
        return Err(SignInRefusal::PasswordExpired);
    }
    let token = start_session(app, admin.id, attempt.now, client_ip).await?;
    tracing::info!(target: "admin-access", user = %admin.name, "admin signed in from {client_ip}");
    Ok(NewSession {
        token,
        name: admin.name,
    })
}

/// Why a sign-in gave no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Unknown user, wrong password or disabled account: one answer.
    Invalid,
    /// The password has outlived the admin password policy.
    PasswordExpired,
    Other(ServiceError),
}

impl SignInRefusal {
    pub fn message(&self) -> String {
        match self {
            SignInRefusal::Invalid => INVALID_CREDENTIALS.into(),
            SignInRefusal::PasswordExpired => PASSWORD_EXPIRED.into(),
            SignInRefusal::Other(error) => error.to_string(),
        }
    }
}

impl From<ServiceError> for SignInRefusal {
    fn from(error: ServiceError) -> Self {
        SignInRefusal::Other(error)
    }
}

/// An admin whose password expired signs in by replacing it: the current
/// password is checked (throttled) as at sign-in, the new one against the
/// rules.
pub async fn change_expired_password(
    app: &AppState,
    name: &str,
    password: &Secret,
    new_password: &Secret,
    confirm_password: &Secret,
    client_ip: &str,
) -> Result<NewSession, SignInRefusal> {
    let (attempt, admin) = check_admin_password(app, name, password, client_ip).await?;
    AdminPassword::check("new_password", new_password.expose(), &admin.name)
        .map_err(ServiceError::from)?;
    if new_password.expose() == password.expose() {
        return Err(ServiceError::from(FieldError::new(
            "new_password",
            "Choose a password different from the expired one.",
        ))
        .into());
    }
    if new_password.expose() != confirm_password.expose() {
        return Err(ServiceError::from(FieldError::new(
            "confirm_password",
            "The passwords do not match.",
        ))
        .into());
    }
    let new_hash = hash_password_off_runtime(new_password.clone())
        .await
        .map_err(ServiceError::from)?;
    db::admins::set_password_hash(&app.db, admin.id, &new_hash, attempt.now())
        .await
        .map_err(ServiceError::from)?;
    tracing::info!(target: "admin-access", user = %admin.name, "admin changed an expired password from {client_ip}");
    let token = start_session(app, admin.id, attempt.now(), client_ip).await?;
    Ok(NewSession {
        token,
        name: admin.name,
    })
}

/// Creates a session for a verified admin; its token goes in the cookie.
async fn start_session(
    app: &AppState,
    admin_id: i64,
    now: i64,
    client_ip: &str,
) -> Result<String, ServiceError> {
    let token = random_token();
    db::sessions::insert(&app.db, &token_hash(&token), admin_id, now, client_ip).await?;
    Ok(token)
}

/// Ends the admin session `token`, live or not.
pub async fn sign_out(app: &AppState, token: Option<&str>) -> Result<(), ServiceError> {
    if let Some(token) = token {
        db::sessions::delete(&app.db, &token_hash(token)).await?;
    }
    Ok(())
}

/// Whose sessions a token may open.
#[derive(Clone, Copy)]
enum Console {
    Admin,
    Sponsor,
}

/// The sponsor whose session token hashes to `hash`, if the session is
/// live (see `keep_alive`).
async fn live_sponsor_session(app: &AppState, hash: &str) -> Result<Option<i64>, ServiceError> {
    let Some((sponsor, last_seen)) = db::sponsors::find_session(&app.db, hash).await? else {
        return Ok(None);
    };
    Ok(keep_alive(app, Console::Sponsor, hash, last_seen)
        .await?
        .then_some(sponsor))
}

/// Whether a session last seen at `last_seen` is still live: an idle one is
/// deleted, an active one is touched so that activity keeps it alive (at
/// most every 30 s: writing on every request would serialise reads behind
/// SQLite's writer).
async fn keep_alive(
    app: &AppState,
    console: Console,
    hash: &str,
    last_seen: i64,
) -> Result<bool, ServiceError> {
    let now = app.now();
    if now - last_seen > app.config.session_idle.as_secs() as i64 {
        match console {
            Console::Admin => db::sessions::delete(&app.db, hash).await?,
            Console::Sponsor => db::sponsors::delete_session(&app.db, hash).await?,
        }
        return Ok(false);
    }
    if now - last_seen >= 30 {
        match console {
            Console::Admin => db::sessions::touch(&app.db, hash, now).await?,
            Console::Sponsor => db::sponsors::touch_session(&app.db, hash, now).await?,
        }
    }
    Ok(true)
}

/// The admin signed in with session `token`, if the session is live and
/// the account enabled. One query in the common case: every console page
/// and server function asks.
pub async fn admin_session(
    app: &AppState,
    token: &str,
    client_ip: &str,
) -> Result<Option<Caller>, ServiceError> {
    let hash = token_hash(token);
    let Some(found) = db::sessions::find_with_admin(&app.db, &hash).await? else {
        return Ok(None);
    };
    if !keep_alive(app, Console::Admin, &hash, found.last_seen_at).await? || !found.enabled {
        return Ok(None);
    }
    Ok(Some(Caller {
        role: found.role,
        name: found.name,
        admin_id: Some(found.id),
        client_ip: client_ip.to_string(),
    }))
}

/// The signed-in admin as the pages see it.
pub fn signed_in(app: &AppState, caller: &Caller) -> SignedInAdmin {
    SignedInAdmin {
        name: caller.name.clone(),
        role: caller.role,
        node: app.config.node_name.clone(),
        version: crate::server::VERSION.to_string(),
    }
}

/// A sponsor signs in to the sponsor portal, throttled like the admins.
pub async fn sponsor_sign_in(
    app: &AppState,
    name: &str,
    password: &Secret,
    client_ip: &str,
) -> Result<NewSession, SignInRefusal> {
    let attempt = Attempt::start(app, format!("sponsor:{}", user_key(name)), client_ip).await?;
    let sponsor = db::sponsors::by_name(&app.db, name.trim())
        .await
        .map_err(ServiceError::from)?
        .filter(|sponsor| sponsor.enabled);
    let hash = sponsor
        .as_ref()
        .map(|sponsor| sponsor.password_hash.as_str());
    let verified = attempt.verify(app, password, hash).await;
    let Some(sponsor) = sponsor.filter(|_| verified) else {
        tracing::warn!(target: "guestaccess", "failed sponsor sign-in for '{}' from {client_ip}", name.replace(['\r', '\n'], " "));
        return Err(SignInRefusal::Invalid);
    };
    let token = random_token();
    db::sponsors::insert_session(&app.db, &token_hash(&token), sponsor.id, attempt.now())
        .await
        .map_err(ServiceError::from)?;
    tracing::info!(target: "guestaccess", "sponsor '{}' signed in from {client_ip}", sponsor.username);
    Ok(NewSession {
        token,
        name: sponsor.username,
    })
}

/// Ends the sponsor session `token`, live or not.
pub async fn sponsor_sign_out(app: &AppState, token: Option<&str>) -> Result<(), ServiceError> {
    if let Some(token) = token {
        db::sponsors::delete_session(&app.db, &token_hash(token)).await?;
    }
    Ok(())
}

/// The sponsor signed in with session `token`, if the session is live and
/// the account enabled.
pub async fn sponsor_session(
    app: &AppState,
    token: &str,
    client_ip: &str,
) -> Result<Option<SponsorCaller>, ServiceError> {
    let Some(sponsor_id) = live_sponsor_session(app, &token_hash(token)).await? else {
        return Ok(None);
    };
    let Some(user) = db::sponsors::by_id(&app.db, sponsor_id)
        .await?
        .filter(|u| u.enabled)
    else {
        return Ok(None);
    };
    let Some(group) = db::sponsors::group(&app.db, user.group_id).await? else {
        return Ok(None);
    };
    Ok(Some(SponsorCaller {
        user,
        group,
        client_ip: client_ip.to_string(),
    }))
}
