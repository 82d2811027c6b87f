//! Passwords, session tokens and cookies, and the extractors that tell
//! who sends a request: the signed-in admin (`Caller`), the signed-in
//! sponsor (`SponsorCaller`) and the guest portal's anonymous `Visitor`.
//! Plain axum handlers take them as arguments; server functions get them
//! through `leptos_axum::extract_with_state`.

use crate::domain::Secret;
use crate::domain::deployment::Persona;
use crate::server::AppState;
use crate::server::service::sponsors::SponsorCaller;
use crate::server::service::{Caller, ServiceError, sessions};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use http::HeaderValue;
use http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The admin console's session cookie.
pub const SESSION_COOKIE: &str = "mailroom_session";
/// The sponsor portal's session cookie: an admin session does not open
/// the portal, nor the other way round.
pub const SPONSOR_COOKIE: &str = "mailroom_sponsor";

/// The browser's device id (OWASP's device cookie): a browser that signed
/// in as a user with it is not locked out by others' failures for that
/// user (`throttle`). Kept for a year; signing out does not end it.
pub const DEVICE_COOKIE: &str = "mailroom_device";

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &Secret) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hash = Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?;
    Ok(hash.to_string())
}

/// Runs password hashing (Argon2id: tens of milliseconds of CPU and up to
/// 19 MiB each) on the blocking pool, at most one per core at once. A flood
/// of sign-ins then queues here instead of crowding the request threads off
/// the cores, and pages stay fast.
pub async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| tokio::sync::Semaphore::new(hashing_permits()));
    let _permit = permits.acquire().await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// How many hashes run at once: one per core.
pub fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// `hash_password` off the request threads (see `hashing`).
pub async fn hash_password_off_runtime(password: Secret) -> anyhow::Result<String> {
    hashing(move || hash_password(&password)).await?
}

/// `verify_password` off the request threads (see `hashing`); `None` checks
/// against a decoy, so that an unknown user takes as long, and fails.
pub async fn verify_password_off_runtime(password: Secret, phc: Option<String>) -> bool {
    hashing(move || {
        let checked = phc.as_deref().unwrap_or_else(|| decoy_hash());
        verify_password(&password, checked) && phc.is_some()
    })
    .await
    .unwrap_or(false)
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

/// A session cookie: HttpOnly, SameSite=Strict, Secure behind TLS.
pub fn session_cookie(name: &'static str, token: &str, secure: bool) -> HeaderValue {
    cookie_header(
        Cookie::build((name, token.to_string()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .build(),
    )
}

/// The device cookie: HttpOnly, SameSite=Strict, a year, Secure behind TLS.
pub fn device_cookie(device_id: &str, secure: bool) -> HeaderValue {
    cookie_header(
        Cookie::build((DEVICE_COOKIE, device_id.to_string()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(time::Duration::days(365))
            .build(),
    )
}

/// Whether `value` is a device id as `random_token` makes them.
pub fn is_device_id(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The cookie that ends a session in the browser.
pub fn clearing_cookie(name: &'static str, secure: bool) -> HeaderValue {
    cookie_header(
        Cookie::build((name, ""))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(time::Duration::ZERO)
            .build(),
    )
}

fn cookie_header(cookie: Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).expect("a URL-safe token makes a valid header")
}

/// A cookie's value from the request, if set and not empty.
pub fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    CookieJar::from_headers(&parts.headers)
        .get(name)
        .map(|cookie| cookie.value().to_string())
        .filter(|value| !value.is_empty())
}

/// The client's address as the edge established it (`edge::guard`):
/// forwarding headers count only from trusted proxies.
pub fn client_ip(parts: &Parts) -> String {
    match parts.extensions.get::<crate::server::edge::ClientAddress>() {
        Some(client) => client.ip.map(|ip| ip.to_string()).unwrap_or_default(),
        None => parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string())
            .unwrap_or_default(),
    }
}

/// Whether the browser reached us over TLS (directly, or through a trusted
/// proxy that says so), so the cookie must be `Secure`.
pub fn over_tls(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts
            .extensions
            .get::<crate::server::edge::ClientAddress>()
            .is_some_and(|client| client.over_tls)
}

/// A session extractor: `$caller` is whoever the session in cookie
/// `$cookie` belongs to, as `$lookup` finds it. `Option<$caller>` asks
/// whether there is one; `$caller` alone is a 401 without a live session.
macro_rules! session_extractor {
    ($caller:ty, $cookie:expr, $lookup:path, $persona:expr) => {
        impl<S> OptionalFromRequestParts<S> for $caller
        where
            AppState: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = ServiceError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                let Some(token) = cookie_value(parts, $cookie) else {
                    return Ok(None);
                };
                let app = AppState::from_ref(state);
                if !app.has_persona($persona) {
                    return Err(not_served_here(&app, $persona));
                }
                // Found already for this request (a page render and the
                // server functions it calls): not looked up again.
                if let Some(caller) = parts.extensions.get::<$caller>() {
                    return Ok(Some(caller.clone()));
                }
                $lookup(&app, &token, &client_ip(parts)).await
            }
        }

        impl<S> FromRequestParts<S> for $caller
        where
            AppState: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = ServiceError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                <$caller as OptionalFromRequestParts<S>>::from_request_parts(parts, state)
                    .await?
                    .ok_or(ServiceError::Unauthenticated)
            }
        }
    };
}

session_extractor!(
    Caller,
    SESSION_COOKIE,
    sessions::admin_session,
    Persona::Administration
);
session_extractor!(
    SponsorCaller,
    SPONSOR_COOKIE,
    sessions::sponsor_session,
    Persona::PolicyService
);

/// A session's request on a node without the persona that serves it.
fn not_served_here(app: &AppState, persona: Persona) -> ServiceError {
    ServiceError::Unavailable(format!(
        "Node {} does not have the {} persona: use a node that has it (Administration > System > Deployment lists them).",
        app.config.node_name,
        persona.label()
    ))
}

/// Whoever sends a request without signing in: a guest on a portal, or
/// someone signing in. Where it comes from, and whether over TLS.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub client_ip: String,
    pub over_tls: bool,
    /// The admin and sponsor session tokens the request carries, if any
    /// (sign-out ends them).
    pub admin_token: Option<String>,
    pub sponsor_token: Option<String>,
    /// The device cookie's id, if well-formed.
    pub device: Option<String>,
    /// The host the request named (`Host`, or HTTP/2's authority), for
    /// links back to this console.
    pub host: String,
}

impl Visitor {
    /// This console as the visitor reached it (`https://host`), unless
    /// the deployment names its public origins (the first is used).
    pub fn console_url(&self, edge: &crate::server::edge::EdgeConfig) -> String {
        edge.public_origins.first().cloned().unwrap_or_else(|| {
            format!(
                "{}://{}",
                if self.over_tls { "https" } else { "http" },
                self.host
            )
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor {
            client_ip: client_ip(parts),
            over_tls: over_tls(parts),
            admin_token: cookie_value(parts, SESSION_COOKIE),
            sponsor_token: cookie_value(parts, SPONSOR_COOKIE),
            device: cookie_value(parts, DEVICE_COOKIE).filter(|id| is_device_id(id)),
            host: parts
                .headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| parts.uri.authority().map(|a| a.to_string()))
                .filter(|host| {
                    host.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                    })
                })
                .unwrap_or_else(|| "localhost".to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_runs_at_most_one_per_core_at_once() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4 * hashing_permits() + 3)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(hashing(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (1..=hashing_permits()).contains(&peak),
            "{peak} hashes ran at once on {} cores",
            hashing_permits()
        );
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
        let cookie = session_cookie(SESSION_COOKIE, "abc", false);
        let text = cookie.to_str().unwrap();
        assert!(
            text.contains("HttpOnly")
                && text.contains("SameSite=Strict")
                && !text.contains("Secure")
        );
        let secure = session_cookie(SESSION_COOKIE, "abc", true);
        let parsed = Cookie::parse(secure.to_str().unwrap().to_string()).unwrap();
        assert_eq!(parsed.secure(), Some(true));
        assert!(secure.to_str().unwrap().contains("; Secure"));
        let cleared = clearing_cookie(SESSION_COOKIE, false);
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
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
        assert_eq!(
            cookie_value(&parts, SESSION_COOKIE).as_deref(),
            Some("tok123")
        );
        assert_eq!(token_hash("tok123").len(), 64);
    }
}
