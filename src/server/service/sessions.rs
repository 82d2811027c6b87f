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
use crate::server::db::sponsors::SponsorRow;
use crate::server::throttle::{self, ip_key, user_key};

/// A new session: the token goes in the cookie, only its hash is stored.
pub struct NewSession {
    pub token: String,
    pub name: String,
}

/// Who attempts a sign-in: the client's address, and the browser's device
/// id (its device cookie) if it sent one.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub device: Option<String>,
}

/// One sign-in attempt, throttled as `throttle` describes: the admins',
/// the sponsors' and the guests' sign-ins share it.
pub(crate) struct Attempt {
    user_key: String,
    ip: String,
    /// The device cookie's hashed id, if the browser sent one.
    device_hash: Option<String>,
    /// The browser has signed in as this user before.
    trusted: bool,
    now: i64,
}

impl Attempt {
    /// Starts an attempt for `user_key` (a `throttle::user_key`, prefixed
    /// per kind of user) from `client`; `Throttled` while it must wait. A
    /// browser trusted for the user waits only on its own failures.
    pub(crate) async fn start(
        app: &AppState,
        user_key: String,
        client: &Client,
    ) -> Result<Attempt, ServiceError> {
        let now = app.now();
        let device_hash = client.device.as_deref().map(token_hash);
        let trusted = match &device_hash {
            Some(hash) => {
                let since = now - throttle::DEVICE_TRUST.as_secs() as i64;
                db::trusted_devices::is_trusted(&app.db, hash, &user_key, since).await?
            }
            None => false,
        };
        let attempt = Attempt {
            user_key,
            ip: client.ip.clone(),
            device_hash,
            trusted,
            now,
        };
        let keys: Vec<String> = attempt.counters().into_iter().map(|(key, _)| key).collect();
        match throttle::wait(&app.db, &keys, now).await? {
            Some(wait_seconds) => Err(ServiceError::Throttled(format!(
                "Too many failed sign-in attempts. Try again in {wait_seconds} seconds."
            ))),
            None => Ok(attempt),
        }
    }

    /// The counters this attempt waits on and counts a failure against.
    fn counters(&self) -> Vec<(String, throttle::ThrottlePolicy)> {
        match (&self.device_hash, self.trusted) {
            (Some(device), true) => vec![(
                throttle::device_key(&self.user_key, device),
                throttle::PER_DEVICE,
            )],
            _ => vec![
                (ip_key(&self.ip), throttle::PER_IP),
                (
                    throttle::user_client_key(&self.user_key, &self.ip),
                    throttle::PER_USER_CLIENT,
                ),
                (self.user_key.clone(), throttle::PER_USER_UNTRUSTED),
            ],
        }
    }

    /// The attempt's time (Unix seconds).
    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    /// Checks `password` against `hash` off the request threads; `None` (an
    /// unknown or disabled user) is checked against a decoy, so that it
    /// takes as long, and fails. A failure counts against the attempt's
    /// counters; a success clears this client's and trusts the browser for
    /// the user.
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
            self.succeeded(app).await
        } else {
            self.failed(app).await
        };
        if let Err(e) = counted {
            tracing::error!(target: "admin-access", "could not count a sign-in attempt: {e}");
        }
        verified
    }

    /// Clears the counter this attempt waited on for the user (its trusted
    /// browser's, or this address's: not the counters other clients share)
    /// and trusts the browser for the user.
    async fn succeeded(&self, app: &AppState) -> sqlx::Result<()> {
        let own = match (&self.device_hash, self.trusted) {
            (Some(device), true) => throttle::device_key(&self.user_key, device),
            _ => throttle::user_client_key(&self.user_key, &self.ip),
        };
        db::sign_in_failures::clear(&app.db, &own).await?;
        if let Some(device) = &self.device_hash {
            db::trusted_devices::trust(&app.db, device, &self.user_key, self.now).await?;
        }
        Ok(())
    }

    async fn failed(&self, app: &AppState) -> sqlx::Result<()> {
        for (key, policy) in self.counters() {
            let (before, after) =
                db::sign_in_failures::record(&app.db, &key, policy, self.now).await?;
            if after.locked_until > self.now && before.locked_until <= self.now {
                announce_lock(app, &key, &self.ip, self.now, after.locked_until, true).await;
            }
        }
        Ok(())
    }
}

/// Logs and audits a sign-in lock's start or end.
pub async fn announce_lock(
    app: &AppState,
    key: &str,
    client_ip: &str,
    now: i64,
    until: i64,
    started: bool,
) {
    let what = throttle::describe(key);
    let (action, detail) = if started {
        (
            "Sign-in lockout started",
            format!("until {}", crate::domain::template::format_utc(until)),
        )
    } else {
        (
            "Sign-in lockout ended",
            format!("at {}", crate::domain::template::format_utc(until)),
        )
    };
    tracing::warn!(target: "admin-access", "{action}: {what} {detail}");
    let row = db::audit::AuditRow {
        at: now,
        admin: "system".into(),
        client_ip: client_ip.to_string(),
        action: action.into(),
        target: what,
        changed_fields: detail,
    };
    if let Err(e) = db::audit::insert(&app.db, &row).await {
        tracing::error!(target: "admin-access", "could not audit a sign-in lockout: {e}");
    }
}

/// An enabled admin's name and password, checked as an attempt throttled
/// per user and address; one refusal for an unknown user, a disabled one
/// and a wrong password.
async fn check_admin_password(
    app: &AppState,
    name: &str,
    password: &Secret,
    client: &Client,
) -> Result<(Attempt, AdminRow), SignInRefusal> {
    let attempt = Attempt::start(app, user_key(name), client).await?;
    let found = db::admins::by_name(&app.db, name.trim())
        .await
        .map_err(ServiceError::from)?;
    let admin = found.clone().filter(|admin| admin.enabled);
    let hash = admin.as_ref().map(|admin| admin.password_hash.as_str());
    let verified = attempt.verify(app, password, hash).await;
    match admin.filter(|_| verified) {
        Some(admin) => Ok((attempt, admin)),
        None => {
            tracing::warn!(target: "admin-access", "failed sign-in for '{}' from {}", name.replace(['\r', '\n'], " "), client.ip);
            // Shown to the admin at the next sign-in.
            if let Some(found) = found {
                db::admins::count_failed_sign_in(&app.db, found.id, attempt.now, &client.ip)
                    .await
                    .map_err(ServiceError::from)?;
            }
            Err(SignInRefusal::Invalid)
        }
    }
}

/// `PasswordExpired` when the admin's password has outlived the admin
/// password policy: the console's sign-in and the ERS API refuse it alike.
async fn refuse_expired(app: &AppState, admin: &AdminRow, now: i64) -> Result<(), SignInRefusal> {
    let policy = db::identities::policy(&app.db, PolicyScope::Admin)
        .await
        .map_err(ServiceError::from)?;
    if crate::server::passwords::admin_password_expired(&policy, admin.password_changed_at, now) {
        tracing::info!(target: "admin-access", user = %admin.name, "admin password expired: a new one is required");
        return Err(SignInRefusal::PasswordExpired);
    }
    Ok(())
}

/// An admin's Basic credentials on an ERS request, checked as a sign-in
/// attempt (throttled and counted as the console's); the admin acts with
/// its role, marked as coming through the API. An expired password is
/// refused as at the console's sign-in.
pub async fn api_caller(
    app: &AppState,
    name: &str,
    password: &Secret,
    client: &Client,
) -> Result<Caller, SignInRefusal> {
    let (attempt, admin) = check_admin_password(app, name, password, client).await?;
    refuse_expired(app, &admin, attempt.now).await?;
    Ok(Caller {
        role: admin.role,
        name: admin.name,
        admin_id: Some(admin.id),
        client_ip: client.ip.clone(),
        via_api: true,
    })
}

/// An admin signs in: the same refusal for an unknown user and a wrong
/// password; an expired password (admin password policy) must be replaced
/// first (`PASSWORD_EXPIRED`).
pub async fn sign_in(
    app: &AppState,
    name: &str,
    password: &Secret,
    client: &Client,
) -> Result<NewSession, SignInRefusal> {
    let (attempt, admin) = check_admin_password(app, name, password, client).await?;
    if !admin.role.uses_console() {
        tracing::warn!(target: "admin-access", user = %admin.name, "console sign-in refused: {} uses the ERS API only", admin.role.label());
        return Err(SignInRefusal::Other(ServiceError::Forbidden));
    }
    refuse_expired(app, &admin, attempt.now).await?;
    let token = start_session(app, admin.id, attempt.now, &client.ip).await?;
    tracing::info!(target: "admin-access", user = %admin.name, "admin signed in from {}", client.ip);
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
    client: &Client,
) -> Result<NewSession, SignInRefusal> {
    let (attempt, admin) = check_admin_password(app, name, password, client).await?;
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
    tracing::info!(target: "admin-access", user = %admin.name, "admin changed an expired password from {}", client.ip);
    let token = start_session(app, admin.id, attempt.now(), &client.ip).await?;
    Ok(NewSession {
        token,
        name: admin.name,
    })
}

/// Creates a session for a verified admin; its token goes in the cookie.
/// The session keeps the admin's previous sign-in and the failures since,
/// to show them; the admin's own record starts again from this one.
async fn start_session(
    app: &AppState,
    admin_id: i64,
    now: i64,
    client_ip: &str,
) -> Result<String, ServiceError> {
    let token = random_token();
    let mut tx = db::begin_write(&app.db).await?;
    let previous = db::admins::take_last_sign_in(&mut tx, admin_id, now, client_ip).await?;
    db::sessions::insert(
        &mut *tx,
        &token_hash(&token),
        admin_id,
        now,
        client_ip,
        &previous,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The sign-in before the session `token`'s and the failed attempts since,
/// as the admin is shown them after signing in (`None`: a first sign-in).
pub async fn previous_sign_in(
    app: &AppState,
    token: &str,
) -> Result<Option<crate::domain::admin::PreviousSignIn>, ServiceError> {
    let Some(previous) = db::sessions::previous_sign_in(&app.db, &token_hash(token)).await? else {
        return Ok(None);
    };
    Ok(
        (previous.at > 0 || previous.failed > 0).then(|| crate::domain::admin::PreviousSignIn {
            at: previous.at,
            from: previous.from,
            failed_attempts: u32::try_from(previous.failed).unwrap_or(u32::MAX),
            last_failed_at: previous.last_failed_at,
            last_failed_from: previous.last_failed_from,
        }),
    )
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
        via_api: false,
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

/// A sponsor's name and password, checked as an attempt throttled per user
/// and address: the sponsor portal's sign-in and the Guest REST API share it.
async fn check_sponsor_password(
    app: &AppState,
    name: &str,
    password: &Secret,
    client: &Client,
) -> Result<(Attempt, SponsorRow), SignInRefusal> {
    let attempt = Attempt::start(app, format!("sponsor:{}", user_key(name)), client).await?;
    let sponsor = db::sponsors::by_name(&app.db, name.trim())
        .await
        .map_err(ServiceError::from)?
        .filter(|sponsor| sponsor.enabled);
    let hash = sponsor
        .as_ref()
        .map(|sponsor| sponsor.password_hash.as_str());
    let verified = attempt.verify(app, password, hash).await;
    match sponsor.filter(|_| verified) {
        Some(sponsor) => Ok((attempt, sponsor)),
        None => {
            tracing::warn!(target: "guestaccess", "failed sponsor sign-in for '{}' from {}", name.replace(['\r', '\n'], " "), client.ip);
            Err(SignInRefusal::Invalid)
        }
    }
}

/// A sponsor signs in to the sponsor portal, throttled like the admins.
pub async fn sponsor_sign_in(
    app: &AppState,
    name: &str,
    password: &Secret,
    client: &Client,
) -> Result<NewSession, SignInRefusal> {
    let (attempt, sponsor) = check_sponsor_password(app, name, password, client).await?;
    let token = random_token();
    db::sponsors::insert_session(&app.db, &token_hash(&token), sponsor.id, attempt.now())
        .await
        .map_err(ServiceError::from)?;
    tracing::info!(target: "guestaccess", "sponsor '{}' signed in from {}", sponsor.username, client.ip);
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

/// Whether `name` is a sponsor user rather than an admin (an admin of the
/// same name takes the ERS request).
pub async fn is_sponsor_name(app: &AppState, name: &str) -> Result<bool, ServiceError> {
    Ok(db::admins::by_name(&app.db, name.trim()).await?.is_none()
        && db::sponsors::by_name(&app.db, name.trim()).await?.is_some())
}

/// A sponsor's Basic credentials on an ERS request, checked as the sponsor
/// portal's sign-in (same throttle).
pub async fn api_sponsor(
    app: &AppState,
    name: &str,
    password: &Secret,
    client: &Client,
) -> Result<SponsorCaller, SignInRefusal> {
    let (_, user) = check_sponsor_password(app, name, password, client).await?;
    let group = db::sponsors::group(&app.db, user.group_id)
        .await
        .map_err(ServiceError::from)?
        .ok_or(SignInRefusal::Invalid)?;
    Ok(SponsorCaller {
        user,
        group,
        client_ip: client.ip.clone(),
    })
}
