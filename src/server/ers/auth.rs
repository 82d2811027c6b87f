//! Who calls: Basic credentials on every request (no cookies, no
//! redirects), checked as a console sign-in attempt (same throttle), and
//! ISE's optional CSRF token for writes.

use super::ErsError;
use crate::domain::{Access, Secret};
use crate::server::AppState;
use crate::server::service::sessions::{self, Client, SignInRefusal};
use crate::server::service::sponsors::SponsorCaller;
use crate::server::service::{Caller, ServiceError};
use base64::Engine;
use http::{HeaderMap, Method, StatusCode, header};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A verified pair of credentials is trusted this long without hashing
/// the password again (while the admin's stored hash stays the same).
const VERIFIED_FOR: Duration = Duration::from_secs(60);
/// The same wrong credentials again within this window (the SDK retries a
/// 401 once) are refused without counting another failure.
const SAME_FAILURE: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 4096;
/// How long a CSRF token is good for.
const CSRF_LIFETIME: i64 = 24 * 3600;
const CSRF_KEY_PURPOSE: &str = "ers-csrf-key";

struct Verified {
    admin_id: i64,
    password_hash: String,
    until: Instant,
}

#[derive(Default)]
struct Memory {
    verified: HashMap<[u8; 32], Verified>,
    failed: HashMap<[u8; 32], Instant>,
}

fn memory() -> &'static Mutex<Memory> {
    static MEMORY: OnceLock<Mutex<Memory>> = OnceLock::new();
    MEMORY.get_or_init(Mutex::default)
}

/// The credentials' fingerprint in memory: keyed with a random value of
/// this process, so that it says nothing outside it.
fn fingerprint(name: &str, password: &str) -> [u8; 32] {
    static SALT: OnceLock<String> = OnceLock::new();
    let salt = SALT.get_or_init(crate::server::auth::random_token);
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

const ASK_FOR_CREDENTIALS: &str =
    "Send the Basic credentials of an admin with the ERS Admin, ERS Operator or Super Admin role.";

/// The admin the request's Basic credentials name, with an ERS role.
pub async fn caller(
    app: &AppState,
    headers: &HeaderMap,
    client_ip: &str,
) -> Result<(Caller, Option<SponsorCaller>), ErsError> {
    let Some((name, password)) = credentials(headers) else {
        return Err(ErsError::unauthorized(ASK_FOR_CREDENTIALS));
    };
    let key = fingerprint(&name, &password);
    let now = Instant::now();
    let remembered = {
        let memory = memory().lock().unwrap_or_else(|p| p.into_inner());
        if memory
            .failed
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < SAME_FAILURE)
        {
            return Err(ErsError::unauthorized(
                crate::domain::admin::INVALID_CREDENTIALS,
            ));
        }
        memory
            .verified
            .get(&key)
            .filter(|v| v.until > now)
            .map(|v| (v.admin_id, v.password_hash.clone()))
    };
    let caller = match remembered {
        Some((admin_id, hash)) => match still_valid(app, admin_id, &hash, client_ip).await? {
            Some(caller) => caller,
            None => verify(app, &name, &password, client_ip, key).await?,
        },
        None if sessions::is_sponsor_name(app, &name).await? => {
            let sponsor = verify_sponsor(app, &name, &password, client_ip, key).await?;
            let caller = Caller {
                name: sponsor.user.username.clone(),
                // Reads only, whatever the group allows: the guest
                // operations check the group's permissions instead.
                role: crate::domain::Role::ErsOperator,
                admin_id: None,
                client_ip: client_ip.to_string(),
                via_api: true,
            };
            return Ok((caller, Some(sponsor)));
        }
        None => verify(app, &name, &password, client_ip, key).await?,
    };
    if !caller.role.allows(Access::ErsRead) {
        tracing::warn!(target: "admin-access", user = %caller.name, "ERS request refused: role {} has no API access", caller.role.label());
        return Err(ErsError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Admin '{}' is a {}: only ERS Admin, ERS Operator and Super Admin may use the ERS API.",
                caller.name,
                caller.role.label()
            ),
            "Forbidden",
        ));
    }
    Ok((caller, None))
}

/// A sponsor's credentials, checked as the sponsor portal's sign-in (not
/// remembered: sponsors call the API rarely).
async fn verify_sponsor(
    app: &AppState,
    name: &str,
    password: &str,
    client_ip: &str,
    key: [u8; 32],
) -> Result<SponsorCaller, ErsError> {
    let client = Client {
        ip: client_ip.to_string(),
        device: None,
    };
    match sessions::api_sponsor(app, name, &Secret::new(password.to_string()), &client).await {
        Ok(sponsor) => Ok(sponsor),
        Err(SignInRefusal::Invalid) => {
            memory()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .failed
                .insert(key, Instant::now());
            Err(ErsError::unauthorized(
                crate::domain::admin::INVALID_CREDENTIALS,
            ))
        }
        Err(SignInRefusal::Other(ServiceError::Throttled(message))) => {
            Err(ErsError::unauthorized(message))
        }
        Err(SignInRefusal::PasswordExpired) => Err(ErsError::unauthorized(
            "The password has expired: sign in to the sponsor portal to change it.",
        )),
        Err(SignInRefusal::Other(error)) => Err(error.into()),
    }
}

/// The remembered admin, if it is still enabled with the same password.
async fn still_valid(
    app: &AppState,
    admin_id: i64,
    hash: &str,
    client_ip: &str,
) -> Result<Option<Caller>, ErsError> {
    let Some(admin) = crate::server::db::admins::by_id(&app.db, admin_id).await? else {
        return Ok(None);
    };
    if !admin.enabled || admin.password_hash != hash {
        return Ok(None);
    }
    Ok(Some(Caller {
        name: admin.name,
        role: admin.role,
        admin_id: Some(admin.id),
        client_ip: client_ip.to_string(),
        via_api: true,
    }))
}

async fn verify(
    app: &AppState,
    name: &str,
    password: &str,
    client_ip: &str,
    key: [u8; 32],
) -> Result<Caller, ErsError> {
    let client = Client {
        ip: client_ip.to_string(),
        device: None,
    };
    let result = sessions::api_caller(app, name, &Secret::new(password.to_string()), &client).await;
    // The stored hash the credentials were verified against: a change of
    // password (or of the admin) ends the remembering.
    let verified_hash = match &result {
        Ok(Caller {
            admin_id: Some(id), ..
        }) => crate::server::db::admins::by_id(&app.db, *id)
            .await?
            .map(|a| (a.id, a.password_hash)),
        _ => None,
    };
    let mut memory = memory().lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if memory.verified.len() + memory.failed.len() > MAX_ENTRIES {
        memory.verified.retain(|_, v| v.until > now);
        memory
            .failed
            .retain(|_, at| now.duration_since(*at) < SAME_FAILURE);
        if memory.verified.len() + memory.failed.len() > MAX_ENTRIES {
            *memory = Memory::default();
        }
    }
    match result {
        Ok(caller) => {
            memory.failed.remove(&key);
            if let Some((admin_id, password_hash)) = verified_hash {
                memory.verified.insert(
                    key,
                    Verified {
                        admin_id,
                        password_hash,
                        until: now + VERIFIED_FOR,
                    },
                );
            }
            Ok(caller)
        }
        Err(SignInRefusal::Invalid) => {
            memory.failed.insert(key, now);
            Err(ErsError::unauthorized(
                crate::domain::admin::INVALID_CREDENTIALS,
            ))
        }
        Err(SignInRefusal::PasswordExpired) => Err(ErsError::unauthorized(
            "The password has expired: sign in to the console to change it.",
        )),
        // Locked out: still a 401 (the SDK would wait forever on a 429).
        Err(SignInRefusal::Other(ServiceError::Throttled(message))) => {
            Err(ErsError::unauthorized(message))
        }
        Err(SignInRefusal::Other(error)) => Err(error.into()),
    }
}

/// ISE's CSRF check, when API Settings turns it on: a GET with
/// `X-CSRF-Token: fetch` gets a token (returned here, for the answer's
/// header); every write must carry a valid one.
pub async fn csrf(
    app: &AppState,
    caller: &Caller,
    method: &Method,
    headers: &HeaderMap,
    enabled: bool,
) -> Result<Option<String>, ErsError> {
    if !enabled {
        return Ok(None);
    }
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let now = app.now();
    if *method == Method::GET {
        if sent.is_some_and(|s| s.eq_ignore_ascii_case("fetch")) {
            return Ok(Some(token(app, caller, now + CSRF_LIFETIME).await?));
        }
        return Ok(None);
    }
    let valid = match sent.and_then(|s| s.split_once('.')) {
        Some((expiry, _)) => match expiry.parse::<i64>() {
            Ok(expiry) if expiry > now => {
                let expected = token(app, caller, expiry).await?;
                sent.is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()))
            }
            _ => false,
        },
        None => false,
    };
    if valid {
        Ok(None)
    } else {
        Err(ErsError::new(
            StatusCode::FORBIDDEN,
            "CSRF token missing or invalid: fetch one with GET /ers/config/endpoint/versioninfo and the header X-CSRF-Token: fetch, then send it on every write.",
            "CSRF",
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `expiry.mac`, the mac over the admin and expiry with the deployment's
/// CSRF key (kept in the vault, so that every node accepts it).
async fn token(app: &AppState, caller: &Caller, expiry: i64) -> Result<String, ErsError> {
    let key = match app
        .vault
        .get(CSRF_KEY_PURPOSE, "1")
        .await
        .map_err(ServiceError::from)?
    {
        Some(key) => key,
        None => {
            let key = Secret::new(crate::server::auth::random_token());
            app.vault
                .put(CSRF_KEY_PURPOSE, "1", &key, app.now())
                .await
                .map_err(ServiceError::from)?;
            key
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(key.expose().as_bytes());
    hasher.update([0]);
    hasher.update(caller.admin_id.unwrap_or_default().to_string().as_bytes());
    hasher.update([0]);
    hasher.update(expiry.to_string().as_bytes());
    Ok(format!("{expiry}.{}", hex::encode(hasher.finalize())))
}
