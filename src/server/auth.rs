//! Passwords, sessions and the role check every server function calls.

use crate::api::ApiError;
use crate::domain::password_policy::PolicyScope;
use crate::domain::{Access, Role, Secret};
use crate::server::AppState;
use crate::server::clock::unix;
use crate::server::db;
use crate::server::db::admins::AdminRow;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub const SESSION_COOKIE: &str = "mailroom_session";

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &Secret) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hash = Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?;
    Ok(hash.to_string())
}

pub fn verify_password(password: &Secret, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that an
/// unknown name takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&Secret::new(random_token())).expect("hashing a random value")
    })
}

/// 32 random bytes, URL-safe base64: session tokens and generated passwords.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A strong password that also satisfies the admin password policy.
pub fn generate_password() -> Secret {
    let token = random_token();
    Secret::new(format!("Mr{}7", &token[..22]))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The signed-in admin behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub admin: AdminRow,
    pub token_hash: String,
    pub client_ip: String,
}

impl Caller {
    pub fn role(&self) -> Role {
        self.admin.role()
    }
}

pub enum LoginOutcome {
    SignedIn {
        token: String,
        admin: Box<AdminRow>,
    },
    Refused,
    Throttled {
        wait_seconds: i64,
    },
    /// The password was right but has outlived the admin password policy:
    /// a new one must be chosen before a session is given.
    PasswordExpired,
}

/// One sign-in attempt, throttled per user name and per client address: the
/// admins', the sponsors' and the guests' sign-ins share it.
pub struct Attempt {
    user_key: String,
    ip_key: String,
    now: i64,
}

impl Attempt {
    /// Starts an attempt for `user_key` (a `throttle::user_key`, prefixed
    /// per kind of user) from `client_ip`; the seconds to wait if throttled.
    pub fn start(state: &AppState, user_key: String, client_ip: &str) -> Result<Attempt, i64> {
        let now = unix(state.clock.now());
        let ip_key = crate::server::throttle::ip_key(client_ip);
        match state.throttle.wait(&[&user_key, &ip_key], now) {
            Some(wait_seconds) => Err(wait_seconds),
            None => Ok(Attempt {
                user_key,
                ip_key,
                now,
            }),
        }
    }

    /// The attempt's time (Unix seconds).
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Checks `password` against `hash`; `None` (an unknown or disabled
    /// user) is checked against a decoy, so that it takes as long, and
    /// fails. A failure counts against the user and the address; a success
    /// clears the user's.
    pub fn verify(&self, state: &AppState, password: &Secret, hash: Option<&str>) -> bool {
        use crate::server::throttle::{PER_IP, PER_USER};
        let verified = match hash {
            Some(hash) => verify_password(password, hash),
            None => {
                verify_password(password, decoy_hash());
                false
            }
        };
        if verified {
            state.throttle.clear(&self.user_key);
        } else {
            state
                .throttle
                .record_failure(&self.user_key, PER_USER, self.now);
            state
                .throttle
                .record_failure(&self.ip_key, PER_IP, self.now);
        }
        verified
    }
}

/// Checks a name and password, throttled per user and per IP; on success
/// creates a session and returns its token (to go in the cookie).
pub async fn sign_in(
    state: &AppState,
    name: &str,
    password: &Secret,
    client_ip: &str,
) -> anyhow::Result<LoginOutcome> {
    let attempt = match Attempt::start(state, crate::server::throttle::user_key(name), client_ip) {
        Ok(attempt) => attempt,
        Err(wait_seconds) => return Ok(LoginOutcome::Throttled { wait_seconds }),
    };
    let admin = db::admins::by_name(&state.db, name.trim())
        .await?
        .filter(|admin| admin.enabled);
    let hash = admin.as_ref().map(|admin| admin.password_hash.as_str());
    let verified = attempt.verify(state, password, hash);
    let Some(admin) = admin.filter(|_| verified) else {
        return Ok(LoginOutcome::Refused);
    };
    let policy = db::identities::policy(&state.db, PolicyScope::Admin).await?;
    if crate::server::passwords::admin_password_expired(
        &policy,
        admin.password_changed_at,
        attempt.now,
    ) {
        return Ok(LoginOutcome::PasswordExpired);
    }
    let token = start_session(state, admin.id, attempt.now, client_ip).await?;
    Ok(LoginOutcome::SignedIn {
        token,
        admin: Box::new(admin),
    })
}

/// Creates a session for a verified admin; its token goes in the cookie.
pub async fn start_session(
    state: &AppState,
    admin_id: i64,
    now: i64,
    client_ip: &str,
) -> anyhow::Result<String> {
    let token = random_token();
    db::sessions::insert(&state.db, &token_hash(&token), admin_id, now, client_ip).await?;
    Ok(token)
}

/// The admin session token from the request's cookies.
pub fn session_token(parts: &Parts) -> Option<String> {
    cookie_value(parts, SESSION_COOKIE)
}

/// A cookie's value from the request, if set and not empty.
pub fn cookie_value(parts: &Parts, cookie: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// The admin signed in with this request's cookie, if the session is live.
/// Touches the session so that activity keeps it alive.
pub async fn current_caller(state: &AppState, parts: &Parts) -> anyhow::Result<Option<Caller>> {
    let Some(token) = session_token(parts) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let Some((admin_id, last_seen)) = db::sessions::find(&state.db, &hash).await? else {
        return Ok(None);
    };
    let now = unix(state.clock.now());
    if now - last_seen > state.config.session_idle.as_secs() as i64 {
        db::sessions::delete(&state.db, &hash).await?;
        return Ok(None);
    }
    let Some(admin) = db::admins::by_id(&state.db, admin_id)
        .await?
        .filter(|a| a.enabled)
    else {
        return Ok(None);
    };
    // Writing on every request would serialise reads behind SQLite's writer.
    if now - last_seen >= 30 {
        db::sessions::touch(&state.db, &hash, now).await?;
    }
    Ok(Some(Caller {
        admin,
        token_hash: hash,
        client_ip: client_ip(parts),
    }))
}

pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_default()
}

/// Whether the browser reached us over TLS (directly or through a proxy
/// that says so), so the cookie must be `Secure`.
pub fn over_tls(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    named_session_cookie(SESSION_COOKIE, token, secure)
}

pub fn clearing_cookie(secure: bool) -> HeaderValue {
    clearing_named_cookie(SESSION_COOKIE, secure)
}

/// A session cookie: HttpOnly, SameSite=Strict, Secure behind TLS.
pub fn named_session_cookie(cookie: &'static str, token: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{cookie}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("a URL-safe token makes a valid header")
}

pub fn clearing_named_cookie(cookie: &'static str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{cookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .expect("static header")
}

/// Server-function context: the state and the request parts that the
/// handler put into Leptos' context.
pub fn context() -> Result<(AppState, Parts), ApiError> {
    let state = leptos::prelude::use_context::<AppState>();
    let parts = leptos::prelude::use_context::<Parts>();
    match (state, parts) {
        (Some(state), Some(parts)) => Ok((state, parts)),
        _ => {
            tracing::error!(target: "admin-access", "server function called without application context");
            Err(ApiError::Internal)
        }
    }
}

pub fn set_status(status: StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// The role check every server function starts with: 401 without a live
/// session, 403 when the caller's role lacks `access`.
pub async fn require(access: Access) -> Result<(AppState, Caller), ApiError> {
    let (state, parts) = context()?;
    let caller = current_caller(&state, &parts).await.map_err(internal)?;
    let Some(caller) = caller else {
        set_status(StatusCode::UNAUTHORIZED);
        return Err(ApiError::Unauthenticated);
    };
    if !caller.role().allows(access) {
        set_status(StatusCode::FORBIDDEN);
        tracing::warn!(target: "admin-access", admin = %caller.admin.name, ?access, "refused: role {} lacks access", caller.role().label());
        return Err(ApiError::Forbidden);
    }
    Ok((state, caller))
}

/// Logs an unexpected failure and gives the client a generic error.
pub fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(target: "admin-access", "internal error: {error}");
    set_status(StatusCode::INTERNAL_SERVER_ERROR);
    ApiError::Internal
}

/// Marks a validation or business-rule failure as a client error.
pub fn bad_request(error: impl Into<ApiError>) -> ApiError {
    set_status(StatusCode::BAD_REQUEST);
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_and_differ_by_salt() {
        let password = Secret::new("Str0ngPassw0rd");
        let a = hash_password(&password).unwrap();
        let b = hash_password(&password).unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
        assert!(verify_password(&password, &a));
        assert!(!verify_password(&Secret::new("Str0ngPassw0rD"), &a));
        assert!(!verify_password(&password, "not a hash"));
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..20 {
            let password = generate_password();
            crate::domain::AdminPassword::check("password", password.expose(), "admin").unwrap();
        }
    }

    #[test]
    fn cookie_attributes() {
        let cookie = session_cookie("abc", false);
        let text = cookie.to_str().unwrap();
        assert!(
            text.contains("HttpOnly")
                && text.contains("SameSite=Strict")
                && !text.contains("Secure")
        );
        assert!(
            session_cookie("abc", true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }

    #[test]
    fn session_token_is_read_from_the_cookie_header() {
        let request = http::Request::builder()
            .header(
                header::COOKIE,
                "theme=dark; mailroom_session=tok123; other=1",
            )
            .body(())
            .unwrap();
        let (parts, _) = request.into_parts();
        assert_eq!(session_token(&parts).as_deref(), Some("tok123"));
        assert_eq!(token_hash("tok123").len(), 64);
    }
}
