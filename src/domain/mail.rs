//! Outgoing mail as the outbox and the Mail Queue page see it: what kind of
//! email it is, which persona sends it, where it is in its life, and the
//! retry rule that decides when it is tried again.

use crate::domain::diagnosis::Diagnosis;
use serde::{Deserialize, Serialize};

/// Where a message is in its life. `Queued` and `Retrying` are due for a
/// worker; `Sending` is leased to one; the other three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailStatus {
    Queued,
    Sending,
    Retrying,
    Sent,
    Dead,
    Discarded,
}

impl MailStatus {
    pub const ALL: [MailStatus; 6] = [
        MailStatus::Queued,
        MailStatus::Sending,
        MailStatus::Retrying,
        MailStatus::Sent,
        MailStatus::Dead,
        MailStatus::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Queued => "queued",
            MailStatus::Sending => "sending",
            MailStatus::Retrying => "retrying",
            MailStatus::Sent => "sent",
            MailStatus::Dead => "dead",
            MailStatus::Discarded => "discarded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MailStatus::Queued => "Queued",
            MailStatus::Sending => "Sending",
            MailStatus::Retrying => "Retry pending",
            MailStatus::Sent => "Sent",
            MailStatus::Dead => "Dead letter",
            MailStatus::Discarded => "Discarded",
        }
    }

    pub fn parse(text: &str) -> Option<MailStatus> {
        MailStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            MailStatus::Sent | MailStatus::Dead | MailStatus::Discarded
        )
    }
}

/// The outbox's priorities, lower first (`MailKind::priority`; the claim
/// queries order and filter by them).
pub const URGENT_PRIORITY: i64 = 0;
pub const SPONSOR_PRIORITY: i64 = 1;
pub const BULK_PRIORITY: i64 = 2;
pub const PRIORITIES: [i64; 3] = [URGENT_PRIORITY, SPONSOR_PRIORITY, BULK_PRIORITY];

/// A message's recipients: at least one address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Recipients(Vec<String>);

impl Recipients {
    pub fn new(addresses: Vec<String>) -> Self {
        Recipients(addresses)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

/// What the email is for; decides its persona and the log it is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailKind {
    TestEmail,
    GuestCredentials,
    GuestExpiryNotice,
    SponsorNotice,
    Alarm,
    PasswordReminder,
    /// A self-registered guest's request was denied.
    GuestDenial,
}

impl MailKind {
    pub const ALL: [MailKind; 7] = [
        MailKind::TestEmail,
        MailKind::GuestCredentials,
        MailKind::GuestExpiryNotice,
        MailKind::SponsorNotice,
        MailKind::Alarm,
        MailKind::PasswordReminder,
        MailKind::GuestDenial,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::TestEmail => "test",
            MailKind::GuestCredentials => "guest-credentials",
            MailKind::GuestExpiryNotice => "guest-expiry",
            MailKind::SponsorNotice => "sponsor-notice",
            MailKind::Alarm => "alarm",
            MailKind::PasswordReminder => "password-reminder",
            MailKind::GuestDenial => "guest-denial",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MailKind::TestEmail => "Test email",
            MailKind::GuestCredentials => "Guest credentials",
            MailKind::GuestExpiryNotice => "Guest expiration notice",
            MailKind::SponsorNotice => "Sponsor notification",
            MailKind::Alarm => "Alarm",
            MailKind::PasswordReminder => "Password expiration reminder",
            MailKind::GuestDenial => "Guest request denied",
        }
    }

    pub fn parse(text: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The ISE persona that sends this kind of email (SPEC, "Who sends which email").
    pub fn persona(self) -> Persona {
        match self {
            MailKind::GuestExpiryNotice | MailKind::PasswordReminder => Persona::Pan,
            MailKind::Alarm => Persona::MnT,
            MailKind::TestEmail
            | MailKind::GuestCredentials
            | MailKind::SponsorNotice
            | MailKind::GuestDenial => Persona::Psn,
        }
    }

    /// Who goes first when a mailbox is paced: what an admin waits for
    /// (test emails, alarms, password reminders), then sponsors' notices,
    /// then bulk guest mail. Lower goes first.
    pub fn priority(self) -> i64 {
        match self {
            MailKind::TestEmail | MailKind::Alarm | MailKind::PasswordReminder => URGENT_PRIORITY,
            MailKind::SponsorNotice => SPONSOR_PRIORITY,
            MailKind::GuestCredentials | MailKind::GuestExpiryNotice | MailKind::GuestDenial => {
                BULK_PRIORITY
            }
        }
    }

    /// Bulk guest mail, which the sender pool's mailboxes share.
    pub fn is_bulk(self) -> bool {
        self.priority() == BULK_PRIORITY
    }

    /// Guest emails are logged to guest.log like ISE's guest components.
    pub fn is_guest_mail(self) -> bool {
        matches!(
            self,
            MailKind::GuestCredentials
                | MailKind::GuestExpiryNotice
                | MailKind::SponsorNotice
                | MailKind::GuestDenial
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Persona {
    Pan,
    MnT,
    Psn,
}

impl Persona {
    pub fn as_str(self) -> &'static str {
        match self {
            Persona::Pan => "PAN",
            Persona::MnT => "MnT",
            Persona::Psn => "PSN",
        }
    }
}

/// When a failed attempt is tried again: exponential backoff from `base_ms`,
/// capped at `max_ms`, with "equal jitter" (half fixed, half random) so a
/// burst of failures does not come back as a burst; never sooner than the
/// server's Retry-After. After `max_attempts` attempts the message is dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_ms: u64,
    pub max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_ms: 30_000,
            max_ms: 60 * 60 * 1000,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based); `jitter` is
    /// a random number in [0, 1).
    pub fn delay_ms(&self, attempt: u32, retry_after_ms: Option<u64>, jitter: f64) -> u64 {
        let doublings = attempt.saturating_sub(1).min(30);
        let exponential = self
            .base_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_ms);
        let half = exponential / 2;
        let jittered = half + (half as f64 * jitter.clamp(0.0, 1.0)) as u64;
        jittered.max(retry_after_ms.unwrap_or(0))
    }

    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }
}

/// Counts by status for the Mail Queue page's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    pub queued: i64,
    pub sending: i64,
    pub retrying: i64,
    pub sent: i64,
    pub dead: i64,
    pub discarded: i64,
}

impl QueueCounts {
    pub fn get(&self, status: MailStatus) -> i64 {
        match status {
            MailStatus::Queued => self.queued,
            MailStatus::Sending => self.sending,
            MailStatus::Retrying => self.retrying,
            MailStatus::Sent => self.sent,
            MailStatus::Dead => self.dead,
            MailStatus::Discarded => self.discarded,
        }
    }

    pub fn add(&mut self, status: MailStatus, count: i64) {
        let slot = match status {
            MailStatus::Queued => &mut self.queued,
            MailStatus::Sending => &mut self.sending,
            MailStatus::Retrying => &mut self.retrying,
            MailStatus::Sent => &mut self.sent,
            MailStatus::Dead => &mut self.dead,
            MailStatus::Discarded => &mut self.discarded,
        };
        *slot += count;
    }

    /// Messages still on their way (a batch is "in progress" while any are).
    pub fn pending(&self) -> i64 {
        self.queued + self.sending + self.retrying
    }
}

/// One line of the Mail Queue table. Times are unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRow {
    pub id: i64,
    pub kind: MailKind,
    pub recipients: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i64,
    pub last_reply: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub next_attempt_at: Option<i64>,
}

/// One delivery attempt, for the message detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRow {
    pub attempt: i64,
    pub started_at: i64,
    pub millis: i64,
    /// "sent", "retry" or "dead".
    pub outcome: String,
    pub reply: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailDetail {
    pub row: QueueRow,
    pub sender: String,
    pub message_id: String,
    pub persona: Persona,
    pub created_by: String,
    pub diagnosis: Option<Diagnosis>,
    pub attempts: Vec<AttemptRow>,
    /// The body is kept (encrypted) until the message is delivered or discarded.
    pub body_kept: bool,
}

/// What "Send Test Email" reports once the first attempt is over (or the
/// connection timeout has passed, whichever is first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestEmailResult {
    pub mail_id: i64,
    pub message_id: String,
    pub status: MailStatus,
    pub reply: Option<String>,
    pub diagnosis: Option<Diagnosis>,
    pub millis: i64,
    /// When the outbox tries again, if the first attempt failed temporarily.
    pub next_attempt_at: Option<i64>,
}

/// Rows per page of the Mail Queue table.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailQueuePage {
    pub counts: QueueCounts,
    pub rows: Vec<QueueRow>,
    /// Rows matching the filter, over all pages.
    pub total: i64,
    /// 1-based.
    pub page: i64,
    pub page_size: i64,
    /// (done, total) of the batch being sent, while one is.
    pub batch: Option<(i64, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_equal_jitter_and_a_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_ms: 1000,
            max_ms: 10_000,
        };
        assert_eq!(policy.delay_ms(1, None, 0.0), 500);
        assert_eq!(policy.delay_ms(1, None, 0.999_999), 999);
        assert_eq!(policy.delay_ms(2, None, 0.0), 1000);
        assert_eq!(policy.delay_ms(3, None, 1.0), 4000);
        assert_eq!(policy.delay_ms(10, None, 1.0), 10_000, "capped");
        assert_eq!(policy.delay_ms(u32::MAX, None, 0.0), 5000, "no overflow");
    }

    #[test]
    fn retry_after_is_a_floor() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_ms: 1000,
            max_ms: 10_000,
        };
        assert_eq!(policy.delay_ms(1, Some(30_000), 0.5), 30_000);
        assert_eq!(policy.delay_ms(4, Some(10), 0.0), 4000);
        assert!(!policy.exhausted(4));
        assert!(policy.exhausted(5));
    }

    #[test]
    fn names_round_trip_and_personas_follow_the_spec() {
        for status in MailStatus::ALL {
            assert_eq!(MailStatus::parse(status.as_str()), Some(status));
        }
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MailKind::Alarm.persona(), Persona::MnT);
        assert_eq!(MailKind::GuestExpiryNotice.persona(), Persona::Pan);
        assert_eq!(MailKind::GuestCredentials.persona(), Persona::Psn);
        assert!(MailStatus::Dead.is_final() && !MailStatus::Retrying.is_final());
    }
}
