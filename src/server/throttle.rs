//! Sign-in throttling per user name and per client IP. After a few failures
//! each further attempt must wait, doubling up to a cap; a success clears the
//! user's count. Unknown and known user names are throttled alike, so the
//! throttle does not reveal which names exist.

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

pub const PER_USER: ThrottlePolicy = ThrottlePolicy {
    free_failures: 5,
    first_delay: Duration::from_secs(30),
    max_delay: Duration::from_secs(15 * 60),
    window: Duration::from_secs(30 * 60),
};

pub const PER_IP: ThrottlePolicy = ThrottlePolicy {
    free_failures: 20,
    first_delay: Duration::from_secs(30),
    max_delay: Duration::from_secs(15 * 60),
    window: Duration::from_secs(30 * 60),
};

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

/// Seconds to wait before another attempt for the user or the address, if any.
pub async fn wait(
    db: &AnyPool,
    user_key: &str,
    ip_key: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let until = db::sign_in_failures::locked_until(db, user_key, ip_key).await?;
    Ok(until.map(|until| until - now).filter(|wait| *wait > 0))
}

pub async fn record_failure(
    db: &AnyPool,
    key: &str,
    policy: ThrottlePolicy,
    now: i64,
) -> sqlx::Result<()> {
    db::sign_in_failures::record(db, key, policy, now).await
}

pub async fn clear(db: &AnyPool, key: &str) -> sqlx::Result<()> {
    db::sign_in_failures::clear(db, key).await
}

pub fn user_key(name: &str) -> String {
    format!("user:{}", name.trim().to_lowercase())
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
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
        let four = fail(NONE, PER_USER, 100, 4);
        assert_eq!(four.locked_until, 0, "four failures are free");
        let five = four.after_failure(PER_USER, 100);
        assert_eq!(five.locked_until, 130);
        let six = five.after_failure(PER_USER, 131);
        assert_eq!(six.locked_until, 191);
        assert_eq!(
            user_key("Admin"),
            user_key(" admin"),
            "names are case-insensitive"
        );
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
