//! Sign-in throttling per user name and per client IP. After a few failures
//! each further attempt must wait, doubling up to a cap; a success clears the
//! user's count. Unknown and known user names are throttled alike, so the
//! throttle does not reveal which names exist.

use std::collections::HashMap;
use std::sync::Mutex;
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

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_at: i64,
    locked_until: i64,
}

#[derive(Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// Seconds to wait before another attempt for any of `keys`, if any.
    pub fn wait(&self, keys: &[&str], now: i64) -> Option<i64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|key| entries.get(*key))
            .map(|f| f.locked_until - now)
            .filter(|wait| *wait > 0)
            .max()
    }

    pub fn record_failure(&self, key: &str, policy: ThrottlePolicy, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the map small: drop entries whose window has passed.
        if entries.len() > 10_000 {
            entries.retain(|_, f| now - f.last_at < policy.window.as_secs() as i64);
        }
        let entry = entries.entry(key.to_string()).or_insert(Failures {
            count: 0,
            last_at: now,
            locked_until: 0,
        });
        if now - entry.last_at > policy.window.as_secs() as i64 {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last_at = now;
        if entry.count >= policy.free_failures {
            let doublings = (entry.count - policy.free_failures).min(16);
            let delay = (policy.first_delay.as_secs() << doublings).min(policy.max_delay.as_secs());
            entry.locked_until = now + delay as i64;
        }
    }

    pub fn clear(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
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

    #[test]
    fn locks_after_free_failures_and_doubles() {
        let throttle = LoginThrottle::default();
        let key = user_key("Admin");
        for _ in 0..4 {
            throttle.record_failure(&key, PER_USER, 100);
        }
        assert_eq!(throttle.wait(&[&key], 100), None, "four failures are free");
        throttle.record_failure(&key, PER_USER, 100);
        assert_eq!(throttle.wait(&[&key], 100), Some(30));
        throttle.record_failure(&key, PER_USER, 131);
        assert_eq!(throttle.wait(&[&key], 131), Some(60));
        assert_eq!(
            throttle.wait(&[&user_key("admin")], 131),
            Some(60),
            "names are case-insensitive"
        );
        throttle.clear(&key);
        assert_eq!(throttle.wait(&[&key], 131), None);
    }

    #[test]
    fn delay_is_capped_and_old_failures_expire() {
        let throttle = LoginThrottle::default();
        let key = ip_key("10.0.0.1");
        for _ in 0..60 {
            throttle.record_failure(&key, PER_IP, 0);
        }
        assert_eq!(throttle.wait(&[&key], 0), Some(15 * 60));
        throttle.record_failure(&key, PER_IP, 10_000);
        assert_eq!(
            throttle.wait(&[&key], 10_000),
            None,
            "the window passed, the count restarted"
        );
    }
}
