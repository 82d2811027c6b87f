//! Sign-in throttling that protects without letting an attacker lock the
//! owner out (OWASP's "device cookie" approach). Failures are counted per
//! client address, per (user, client), and per user from clients the user
//! has not signed in from before; a browser that has signed in as the user
//! (it holds the device cookie) is throttled only on its own failures.
//! Past a policy's free failures each attempt must wait, doubling up to a
//! cap. Unknown and known user names are throttled alike, so the throttle
//! does not reveal which names exist.

use crate::server::db;
use sqlx::AnyPool;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub free_failures: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

/// One user from one client address (without the device cookie).
pub const PER_USER_CLIENT: ThrottlePolicy = ThrottlePolicy {
    free_failures: 5,
    first_delay: Duration::from_secs(30),
    max_delay: Duration::from_secs(15 * 60),
    window: Duration::from_secs(30 * 60),
};

/// One user from every client without its device cookie: a spray from
/// many addresses slows to a few guesses an hour, while the owner's own
/// browser is not held up at all.
pub const PER_USER_UNTRUSTED: ThrottlePolicy = ThrottlePolicy {
    free_failures: 10,
    first_delay: Duration::from_secs(10),
    max_delay: Duration::from_secs(5 * 60),
    window: Duration::from_secs(30 * 60),
};

/// One browser holding the device cookie for the user.
pub const PER_DEVICE: ThrottlePolicy = ThrottlePolicy {
    free_failures: 5,
    first_delay: Duration::from_secs(30),
    max_delay: Duration::from_secs(15 * 60),
    window: Duration::from_secs(30 * 60),
};

/// One client address, whatever the user names (a spray of names).
pub const PER_IP: ThrottlePolicy = ThrottlePolicy {
    free_failures: 20,
    first_delay: Duration::from_secs(30),
    max_delay: Duration::from_secs(15 * 60),
    window: Duration::from_secs(30 * 60),
};

/// The longest window: failures older than it are swept.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(30 * 60);

/// How long a browser stays trusted for a user without signing in as it.
pub const DEVICE_TRUST: Duration = Duration::from_secs(365 * 86_400);

/// A key's failures as stored (`db::sign_in_failures`), shared by every
/// node of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last_at: i64,
    pub locked_until: i64,
}

impl Failures {
    /// The count after one more failure at `now`, and until when the key
    /// is locked: the window restarts the count; past the free failures
    /// each one doubles the wait, up to the cap.
    pub fn after_failure(self, policy: ThrottlePolicy, now: i64) -> Failures {
        let count = if now - self.last_at > policy.window.as_secs() as i64 {
            1
        } else {
            self.count.saturating_add(1)
        };
        let locked_until = if count >= policy.free_failures {
            let doublings = (count - policy.free_failures).min(16);
            let delay = (policy.first_delay.as_secs() << doublings).min(policy.max_delay.as_secs());
            now + delay as i64
        } else {
            self.locked_until
        };
        Failures {
            count,
            last_at: now,
            locked_until,
        }
    }
}

/// Seconds to wait before another attempt, while any of `keys` is locked.
pub async fn wait(db: &AnyPool, keys: &[String], now: i64) -> sqlx::Result<Option<i64>> {
    let until = db::sign_in_failures::locked_until(db, keys).await?;
    Ok(until.map(|until| until - now).filter(|wait| *wait > 0))
}

pub fn user_key(name: &str) -> String {
    format!("user:{}", name.trim().to_lowercase())
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// The key of `user_key` from one client address.
pub fn user_client_key(user_key: &str, ip: &str) -> String {
    format!("{user_key}|ip:{ip}")
}

/// The key of `user_key` from one trusted browser (its hashed id).
pub fn device_key(user_key: &str, device_hash: &str) -> String {
    format!(
        "{user_key}|device:{}",
        &device_hash[..device_hash.len().min(16)]
    )
}

/// A throttle key as the log and audit name it: "admin 'root' from
/// 192.0.2.7", "sponsor 'sam' from clients it has not signed in from".
pub fn describe(key: &str) -> String {
    if let Some(ip) = key.strip_prefix("ip:") {
        return format!("every user from {ip}");
    }
    let (user, scope) = key.split_once('|').unwrap_or((key, ""));
    let (kind, name) = match user.split_once("user:") {
        Some(("sponsor:", name)) => ("sponsor", name),
        Some(("guest:", name)) => ("guest", name),
        Some((_, name)) => ("admin", name),
        None => ("user", user),
    };
    let name = name.replace(['\r', '\n'], " ");
    match scope.split_once(':') {
        Some(("ip", ip)) => format!("{kind} '{name}' from {ip}"),
        Some(("device", _)) => format!("{kind} '{name}' on a browser it signed in from before"),
        _ => format!("{kind} '{name}' from clients it has not signed in from"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(mut failures: Failures, policy: ThrottlePolicy, at: i64, times: u32) -> Failures {
        for _ in 0..times {
            failures = failures.after_failure(policy, at);
        }
        failures
    }

    const NONE: Failures = Failures {
        count: 0,
        last_at: 0,
        locked_until: 0,
    };

    #[test]
    fn locks_after_free_failures_and_doubles() {
        let four = fail(NONE, PER_USER_CLIENT, 100, 4);
        assert_eq!(four.locked_until, 0, "four failures are free");
        let five = four.after_failure(PER_USER_CLIENT, 100);
        assert_eq!(five.locked_until, 130);
        let six = five.after_failure(PER_USER_CLIENT, 131);
        assert_eq!(six.locked_until, 191);
        assert_eq!(
            user_key("Admin"),
            user_key(" admin"),
            "names are case-insensitive"
        );
    }

    #[test]
    fn keys_are_described_for_the_log() {
        let user = format!("sponsor:{}", user_key("Sam"));
        assert_eq!(
            describe(&user_client_key(&user, "192.0.2.7")),
            "sponsor 'sam' from 192.0.2.7"
        );
        assert_eq!(
            describe(&user_key("root")),
            "admin 'root' from clients it has not signed in from"
        );
        assert_eq!(
            describe(&device_key(&user_key("root"), "abcdef0123456789abcdef")),
            "admin 'root' on a browser it signed in from before"
        );
        assert_eq!(describe(&ip_key("::1")), "every user from ::1");
    }

    #[test]
    fn delay_is_capped_and_old_failures_expire() {
        let many = fail(NONE, PER_IP, 0, 60);
        assert_eq!(many.locked_until, 15 * 60);
        let later = many.after_failure(PER_IP, 10_000);
        assert_eq!(later.count, 1, "the window passed, the count restarted");
        assert!(later.locked_until < 10_000);
    }
}
