//! Time is injected so that tests (and expiry jobs) can move it.

use std::sync::Mutex;
use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until a test moves it.
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock(Mutex::new(start))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The system clock moved by a fixed offset: `serve --now` in development
/// builds, to see expiry alarms and reminders without waiting for them.
pub struct ShiftedClock(time::Duration);

impl ShiftedClock {
    /// A clock that reads `now` at this instant and runs on from there.
    pub fn starting_at(now: OffsetDateTime) -> Self {
        ShiftedClock(now - OffsetDateTime::now_utc())
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.0
    }
}

/// Seconds since the Unix epoch, the form every timestamp takes in the database.
pub fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Milliseconds since the Unix epoch, for the outbox (retries are sub-second).
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
