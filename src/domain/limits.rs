//! Exchange Online's sending limits per mailbox, and how Mailroom paces
//! itself under them.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// The limits of the mailbox the SMTP Server page signs in as. 0: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendingLimits {
    pub max_connections: u32,
    pub messages_per_minute: u32,
    pub recipients_per_day: u32,
    pub recipients_per_message: u32,
}

impl SendingLimits {
    /// Exchange Online's: 3 concurrent SMTP AUTH connections, 30 messages a
    /// minute, 10,000 recipients a day, 500 recipients a message.
    pub const EXCHANGE_ONLINE: SendingLimits = SendingLimits {
        max_connections: 3,
        messages_per_minute: 30,
        recipients_per_day: 10_000,
        recipients_per_message: 500,
    };

    pub const UNLIMITED: SendingLimits = SendingLimits {
        max_connections: 0,
        messages_per_minute: 0,
        recipients_per_day: 0,
        recipients_per_message: 0,
    };

    /// Whether any release must be paced or counted.
    pub fn is_limited(&self) -> bool {
        *self != SendingLimits::UNLIMITED
    }

    /// The spacing between releases, with 1% to spare so that the
    /// server's receive times (a little jittered) stay under its limit.
    pub fn interval_ms(&self) -> Option<i64> {
        (self.messages_per_minute > 0).then(|| {
            (60_000 * 101 / 100 + i64::from(self.messages_per_minute) - 1)
                / i64::from(self.messages_per_minute)
        })
    }

    /// Seconds `remaining` messages take at this pace (none when unpaced).
    pub fn eta_seconds(&self, remaining: i64) -> Option<i64> {
        self.interval_ms()
            .map(|ms| (remaining.max(0) * ms + 999) / 1000)
    }

    /// The limits of `lanes` mailboxes sending side by side (the sender
    /// pool): bulk mail goes that many times as fast and as far a day.
    pub fn spread(&self, lanes: u32) -> SendingLimits {
        let lanes = lanes.max(1);
        SendingLimits {
            max_connections: self.max_connections.saturating_mul(lanes),
            messages_per_minute: self.messages_per_minute.saturating_mul(lanes),
            recipients_per_day: self.recipients_per_day.saturating_mul(lanes),
            recipients_per_message: self.recipients_per_message,
        }
    }

    pub fn form(&self) -> SendingLimitsForm {
        SendingLimitsForm {
            max_connections: self.max_connections.to_string(),
            messages_per_minute: self.messages_per_minute.to_string(),
            recipients_per_day: self.recipients_per_day.to_string(),
            recipients_per_message: self.recipients_per_message.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SendingLimitsForm {
    pub max_connections: String,
    pub messages_per_minute: String,
    pub recipients_per_day: String,
    pub recipients_per_message: String,
}

impl SendingLimitsForm {
    pub fn validate(&self) -> Result<SendingLimits, FieldError> {
        let number = |field: &str, value: &str, max: u32| {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(|| {
                    FieldError::new(
                        field,
                        format!("Enter a whole number from 0 (no limit) to {max}."),
                    )
                })
        };
        Ok(SendingLimits {
            max_connections: number("max_connections", &self.max_connections, 32)?,
            messages_per_minute: number("messages_per_minute", &self.messages_per_minute, 100_000)?,
            recipients_per_day: number("recipients_per_day", &self.recipients_per_day, 10_000_000)?,
            recipients_per_message: number(
                "recipients_per_message",
                &self.recipients_per_message,
                10_000,
            )?,
        })
    }
}

/// The most further mailboxes the sender pool takes.
pub const MAX_POOL_MAILBOXES: usize = 20;

/// A further sending mailbox to add to the sender pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SenderMailboxForm {
    pub mailbox: String,
}

impl SenderMailboxForm {
    /// The mailbox, lower-cased; refused when it is the SMTP Server page's
    /// own (`primary`), already pooled, or one too many.
    pub fn validate(&self, primary: &str, pooled: &[String]) -> Result<String, FieldError> {
        let address = super::EmailAddress::parse("mailbox", &self.mailbox).map_err(|_| {
            FieldError::new(
                "mailbox",
                "Enter the full address of an Exchange Online mailbox, such as guests2@contoso.com.",
            )
        })?;
        let mailbox = address.as_str().to_ascii_lowercase();
        if mailbox == primary.to_ascii_lowercase() {
            return Err(FieldError::new(
                "mailbox",
                "This is the SMTP Server's own mailbox; it always sends.",
            ));
        }
        if pooled.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)) {
            return Err(FieldError::new(
                "mailbox",
                "This mailbox is in the pool already.",
            ));
        }
        if pooled.len() >= MAX_POOL_MAILBOXES {
            return Err(FieldError::new(
                "mailbox",
                format!("The pool takes at most {MAX_POOL_MAILBOXES} further mailboxes."),
            ));
        }
        Ok(mailbox)
    }
}

/// One sending mailbox's use of its limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxUsage {
    pub mailbox: String,
    /// Whether it sends: the SMTP Server's mailbox always does; a pool
    /// mailbox when enabled (and the SMTP server signs in with OAuth).
    pub sending: bool,
    pub enabled: bool,
    pub sent_last_minute: i64,
    pub recipients_today: i64,
    pub paused_until_ms: Option<i64>,
    pub pause_reason: String,
}

/// A mailbox's pacing as the Mail Queue and the sponsor portal show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacingView {
    pub mailbox: String,
    /// Whether the SMTP server signs in with OAuth, which a sender pool needs.
    pub oauth: bool,
    /// The further mailboxes of the sender pool, enabled or not.
    pub pool: Vec<MailboxUsage>,
    pub limits: SendingLimits,
    /// Whether the limits were saved, or are the cloud's defaults.
    pub saved: bool,
    /// Messages released in the last minute.
    pub sent_last_minute: i64,
    /// Recipients in the rolling 24 hours.
    pub recipients_today: i64,
    /// Messages waiting (queued, retrying, being sent).
    pub waiting: i64,
    /// When the waiting messages should all be out (unix ms), if paced;
    /// bulk mail spread over every sending mailbox.
    pub eta_ms: Option<i64>,
    /// Paused after the server's quota signal, until (unix ms), and why.
    pub paused_until_ms: Option<i64>,
    pub pause_reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_pacing_spaces_messages_just_over_two_seconds() {
        let limits = SendingLimits::EXCHANGE_ONLINE;
        assert_eq!(limits.interval_ms(), Some(2020));
        assert_eq!(limits.eta_seconds(30), Some(61));
        assert_eq!(SendingLimits::UNLIMITED.interval_ms(), None);
        assert!(!SendingLimits::UNLIMITED.is_limited());
    }

    #[test]
    fn limits_are_whole_numbers_in_range() {
        let mut form = SendingLimits::EXCHANGE_ONLINE.form();
        assert_eq!(form.validate().unwrap(), SendingLimits::EXCHANGE_ONLINE);
        form.max_connections = "33".into();
        assert_eq!(form.validate().unwrap_err().field, "max_connections");
        form.max_connections = "3".into();
        form.messages_per_minute = "-1".into();
        assert_eq!(form.validate().unwrap_err().field, "messages_per_minute");
    }

    #[test]
    fn a_pool_of_three_sends_three_times_as_fast() {
        let three = SendingLimits::EXCHANGE_ONLINE.spread(3);
        assert_eq!(three.messages_per_minute, 90);
        assert_eq!(three.recipients_per_day, 30_000);
        assert_eq!(three.recipients_per_message, 500);
        assert_eq!(SendingLimits::UNLIMITED.spread(3), SendingLimits::UNLIMITED);
        assert_eq!(
            SendingLimits::EXCHANGE_ONLINE.spread(0),
            SendingLimits::EXCHANGE_ONLINE
        );
    }

    #[test]
    fn a_pool_mailbox_is_a_new_full_address() {
        let form = |m: &str| SenderMailboxForm { mailbox: m.into() };
        let pooled = vec!["guests1@contoso.com".to_string()];
        let primary = "noreply@contoso.com";
        assert_eq!(
            form(" Guests2@Contoso.com ")
                .validate(primary, &pooled)
                .unwrap(),
            "guests2@contoso.com"
        );
        for bad in ["guests2", "", "NoReply@contoso.com", "GUESTS1@contoso.com"] {
            let error = form(bad).validate(primary, &pooled).unwrap_err();
            assert_eq!(error.field, "mailbox", "{bad}");
        }
        let full: Vec<String> = (0..MAX_POOL_MAILBOXES)
            .map(|n| format!("g{n}@contoso.com"))
            .collect();
        assert!(
            form("new@contoso.com")
                .validate(primary, &full)
                .unwrap_err()
                .message
                .contains("at most")
        );
    }
}
