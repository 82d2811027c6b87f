//! Password lifetime and expiry reminders, for admins (Admin Access >
//! Authentication > Password Policy) and internal network users (Identity
//! Management > Settings > User Password Policy).

use super::alarm::{format_days, parse_days};
use super::{EmailAddress, FieldError, reject_line_breaks};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyScope {
    Admin,
    User,
}

impl PolicyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyScope::Admin => "admin",
            PolicyScope::User => "user",
        }
    }
}

pub const DEFAULT_REMINDER_SUBJECT: &str = "Your password expires in $days$ days";
pub const DEFAULT_REMINDER_TEXT: &str = "Hello $username$,\n\nYour password expires on $expiry_date$ ($days$ days from now). Change it before then to keep your access.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub scope: PolicyScope,
    pub lifetime_enabled: bool,
    pub lifetime_days: u32,
    /// Days before expiry at which a reminder is emailed, largest first.
    pub reminder_days: Vec<u32>,
    pub reminder_subject: String,
    pub reminder_text: String,
}

impl PasswordPolicy {
    /// ISE's defaults: admin passwords last 45 days with a reminder 30 days
    /// before; internal users 60 days. Both start switched off, so a new
    /// console never locks out its bootstrap admin unasked.
    pub fn default_for(scope: PolicyScope) -> Self {
        PasswordPolicy {
            scope,
            lifetime_enabled: false,
            lifetime_days: match scope {
                PolicyScope::Admin => 45,
                PolicyScope::User => 60,
            },
            reminder_days: vec![30, 7, 1],
            reminder_subject: DEFAULT_REMINDER_SUBJECT.into(),
            reminder_text: DEFAULT_REMINDER_TEXT.into(),
        }
    }

    /// When a password set at `changed_at` (Unix seconds) expires.
    pub fn expires_at(&self, changed_at: i64) -> Option<i64> {
        self.lifetime_enabled
            .then(|| changed_at + i64::from(self.lifetime_days) * 86_400)
    }

    pub fn form(&self) -> PasswordPolicyForm {
        PasswordPolicyForm {
            lifetime_enabled: self.lifetime_enabled,
            lifetime_days: self.lifetime_days.to_string(),
            reminder_days: format_days(&self.reminder_days),
            reminder_subject: self.reminder_subject.clone(),
            reminder_text: self.reminder_text.clone(),
        }
    }
}

/// Fills `$username$`, `$days$` and `$expiry_date$`.
pub fn render_reminder(template: &str, username: &str, days: u32, expiry_date: &str) -> String {
    template
        .replace("$username$", username)
        .replace("$days$", &days.to_string())
        .replace("$expiry_date$", expiry_date)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicyForm {
    pub lifetime_enabled: bool,
    pub lifetime_days: String,
    pub reminder_days: String,
    pub reminder_subject: String,
    pub reminder_text: String,
}

impl PasswordPolicyForm {
    pub fn validate(&self, scope: PolicyScope) -> Result<PasswordPolicy, FieldError> {
        let lifetime_days = self
            .lifetime_days
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| {
                FieldError::new("lifetime_days", "Enter a number of days from 1 to 3650.")
            })?;
        let reminder_days = parse_days("reminder_days", &self.reminder_days)?;
        if let Some(day) = reminder_days.iter().find(|d| **d >= lifetime_days) {
            return Err(FieldError::new(
                "reminder_days",
                format!(
                    "A reminder {day} days before expiry comes before the password's {lifetime_days}-day lifetime starts."
                ),
            ));
        }
        let subject = self.reminder_subject.trim();
        reject_line_breaks("reminder_subject", subject)?;
        if subject.is_empty() || subject.chars().count() > 200 {
            return Err(FieldError::new(
                "reminder_subject",
                "Enter a subject of 1 to 200 characters.",
            ));
        }
        if self.reminder_text.trim().is_empty() || self.reminder_text.chars().count() > 4000 {
            return Err(FieldError::new(
                "reminder_text",
                "Enter a text of 1 to 4000 characters.",
            ));
        }
        Ok(PasswordPolicy {
            scope,
            lifetime_enabled: self.lifetime_enabled,
            lifetime_days,
            reminder_days,
            reminder_subject: subject.to_string(),
            reminder_text: self.reminder_text.clone(),
        })
    }
}

/// Administration > Identity Management > Identities > Users: a new user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InternalUserForm {
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password: String,
}

pub struct ValidUser {
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

impl InternalUserForm {
    pub fn validate(&self) -> Result<ValidUser, FieldError> {
        let name = self.name.trim();
        if name.is_empty()
            || name.chars().count() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(FieldError::new(
                "name",
                "1 to 64 characters: letters, digits and . _ - @",
            ));
        }
        let email = EmailAddress::parse("email", &self.email)?;
        for (field, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            reject_line_breaks(field, value)?;
            if value.chars().count() > 64 {
                return Err(FieldError::new(field, "At most 64 characters."));
            }
        }
        super::AdminPassword::check("password", &self.password, name)?;
        Ok(ValidUser {
            name: name.to_string(),
            email: email.as_str().to_string(),
            first_name: self.first_name.trim().to_string(),
            last_name: self.last_name.trim().to_string(),
        })
    }
}

/// An internal user as the Users table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalUserView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub enabled: bool,
    pub password_changed_at: i64,
    /// When the password expires under the current policy, if it does.
    pub password_expires_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reminder_cannot_come_before_the_lifetime() {
        let mut form = PasswordPolicy::default_for(PolicyScope::Admin).form();
        form.lifetime_enabled = true;
        assert_eq!(
            form.validate(PolicyScope::Admin).unwrap().reminder_days,
            vec![30, 7, 1]
        );
        form.lifetime_days = "20".into();
        assert_eq!(
            form.validate(PolicyScope::Admin).unwrap_err().field,
            "reminder_days"
        );
        form.lifetime_days = "0".into();
        assert_eq!(
            form.validate(PolicyScope::Admin).unwrap_err().field,
            "lifetime_days"
        );
    }

    #[test]
    fn the_reminder_fills_its_placeholders() {
        assert_eq!(
            render_reminder(DEFAULT_REMINDER_SUBJECT, "ann", 7, "2026-12-06"),
            "Your password expires in 7 days"
        );
        assert!(
            render_reminder(DEFAULT_REMINDER_TEXT, "ann", 7, "2026-12-06")
                .contains("Hello ann,\n\nYour password expires on 2026-12-06")
        );
    }
}
