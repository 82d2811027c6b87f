use super::Role;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A validation failure tied to the form field that caused it, so the page
/// can show the message next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// An admin user name: 1-64 characters, starting with a letter, then
/// letters, digits, `.`, `_` or `-` (ISE's admin name rules, simplified).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdminName(String);

impl AdminName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        crate::domain::reject_line_breaks(field, raw)?;
        let value = raw.trim();
        if value.is_empty() {
            return Err(FieldError::new(field, "Enter a name."));
        }
        if value.chars().count() > 64 {
            return Err(FieldError::new(
                field,
                "The name may have at most 64 characters.",
            ));
        }
        let mut chars = value.chars();
        let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !first_is_letter || !chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            return Err(FieldError::new(
                field,
                "Start with a letter and use only letters, digits, '.', '_' or '-'.",
            ));
        }
        Ok(AdminName(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdminName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminStatus {
    Enabled,
    Disabled,
}

impl AdminStatus {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "enabled" => Some(AdminStatus::Enabled),
            "disabled" => Some(AdminStatus::Disabled),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AdminStatus::Enabled => "enabled",
            AdminStatus::Disabled => "disabled",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            AdminStatus::Enabled => "Enabled",
            AdminStatus::Disabled => "Disabled",
        }
    }
}

/// The admin password policy: 8-127 characters with a lower-case letter, an
/// upper-case letter and a digit, no line breaks, not containing the user name.
pub struct AdminPassword;

impl AdminPassword {
    pub const RULES: &'static str = "8 to 127 characters, with a lower-case letter (a-z), an upper-case letter (A-Z) and a digit, not containing the admin name.";

    pub fn check(field: &str, password: &str, name: &str) -> Result<(), FieldError> {
        let chars = password.chars().count();
        let ok = (8..=127).contains(&chars)
            && password.chars().any(|c| c.is_ascii_lowercase())
            && password.chars().any(|c| c.is_ascii_uppercase())
            && password.chars().any(|c| c.is_ascii_digit())
            && !password.chars().any(|c| c.is_control())
            && (name.is_empty()
                || !password
                    .to_ascii_lowercase()
                    .contains(&name.to_ascii_lowercase()));
        if ok {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                format!("The password must have {}", Self::RULES),
            ))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSummary {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub description: String,
    pub role: Role,
    pub status: AdminStatus,
    pub include_alarm_emails: bool,
    /// The row is the caller's own account.
    pub is_self: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: i64,
    pub admin: String,
    pub client_ip: String,
    pub action: String,
    pub target: String,
    pub changed_fields: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub node: String,
    pub version: String,
    pub personas: String,
    pub admins_enabled: usize,
    pub admins_total: usize,
    pub recent_changes: Vec<AuditEntry>,
    /// Open alarms, newest first, in plain text: the dashboard is in the
    /// bundle every page loads, so it carries no alarm types or actions.
    pub alarms: Vec<DashboardAlarm>,
    /// The signed-in admin's sign-in before this session's, and the failed
    /// attempts since (`None` for a first sign-in).
    #[serde(default)]
    pub previous_sign_in: Option<PreviousSignIn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardAlarm {
    /// "critical", "warning" or "info", for the badge's class.
    pub severity: String,
    pub severity_label: String,
    pub name: String,
    pub occurrences: i64,
    pub last_at: i64,
    pub status: String,
}

pub const LAST_SUPER_ADMIN: &str = "At least one enabled Super Admin must remain.";

/// The signed-in admin as the pages see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInAdmin {
    pub name: String,
    pub role: Role,
    pub node: String,
    pub version: String,
}

/// The sign-in before the current one and the failed attempts since, shown
/// to the admin after signing in (ISE's last login details). Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSignIn {
    /// 0: never signed in before.
    pub at: i64,
    pub from: String,
    pub failed_attempts: u32,
    pub last_failed_at: i64,
    pub last_failed_from: String,
}

pub const INVALID_CREDENTIALS: &str = "Invalid username or password. Try again.";

pub const PASSWORD_EXPIRED: &str = "Your password has expired. Choose a new password to sign in.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_names_follow_the_rules() {
        assert_eq!(
            AdminName::parse("name", " ops.admin_2 ").unwrap().as_str(),
            "ops.admin_2"
        );
        for bad in ["", "2admin", "ad min", "admin\n", "a;b", &"a".repeat(65)] {
            assert_eq!(
                AdminName::parse("name", bad).unwrap_err().field,
                "name",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn password_policy() {
        assert!(AdminPassword::check("password", "Str0ngPassw0rd", "admin").is_ok());
        for bad in [
            "short1A",
            "alllowercase1",
            "ALLUPPER1",
            "NoDigitsHere",
            "Admin12345x",
            "Line\nBreak1A",
        ] {
            assert!(
                AdminPassword::check("password", bad, "admin").is_err(),
                "{bad:?}"
            );
        }
    }
}

/// The admin user form as posted, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminForm {
    pub name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub description: String,
    pub role: String,
    pub status: String,
    pub include_alarm_emails: bool,
    pub password: String,
    pub password_confirm: String,
}

/// A validated admin form. The password is optional when editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAdmin {
    pub name: AdminName,
    pub email: Option<crate::domain::EmailAddress>,
    pub first_name: String,
    pub last_name: String,
    pub description: String,
    pub role: crate::domain::Role,
    pub status: AdminStatus,
    pub include_alarm_emails: bool,
    pub password: Option<String>,
}

impl AdminForm {
    /// Checks every field, the same way in the browser and on the server.
    /// `creating` makes the password mandatory.
    pub fn validate(&self, creating: bool) -> Result<ValidAdmin, FieldError> {
        let name = AdminName::parse("name", &self.name)?;
        let email = match self.email.trim() {
            "" if self.include_alarm_emails => {
                return Err(FieldError::new(
                    "email",
                    "Enter an email address to receive system alarm emails.",
                ));
            }
            "" => None,
            raw => Some(crate::domain::EmailAddress::parse("email", raw)?),
        };
        let mut text = Vec::new();
        for (field, value, max) in [
            ("first_name", &self.first_name, 64),
            ("last_name", &self.last_name, 64),
            ("description", &self.description, 256),
        ] {
            crate::domain::reject_line_breaks(field, value)?;
            if value.trim().chars().count() > max {
                return Err(FieldError::new(field, format!("At most {max} characters.")));
            }
            text.push(value.trim().to_string());
        }
        let role = crate::domain::Role::parse(&self.role)
            .ok_or_else(|| FieldError::new("role", "Choose an admin group."))?;
        let status = AdminStatus::parse(&self.status)
            .ok_or_else(|| FieldError::new("status", "Choose Enabled or Disabled."))?;
        let password = if self.password.is_empty() && self.password_confirm.is_empty() && !creating
        {
            None
        } else {
            if self.password.is_empty() {
                return Err(FieldError::new("password", "Enter a password."));
            }
            AdminPassword::check("password", &self.password, name.as_str())?;
            if self.password != self.password_confirm {
                return Err(FieldError::new(
                    "password_confirm",
                    "The passwords do not match.",
                ));
            }
            Some(self.password.clone())
        };
        let [first_name, last_name, description] =
            <[String; 3]>::try_from(text).expect("three text fields");
        Ok(ValidAdmin {
            name,
            email,
            first_name,
            last_name,
            description,
            role,
            status,
            include_alarm_emails: self.include_alarm_emails,
            password,
        })
    }
}

#[cfg(test)]
mod form_tests {
    use super::*;

    fn form() -> AdminForm {
        AdminForm {
            name: "auditor".into(),
            email: "auditor@example.com".into(),
            role: "read_only_admin".into(),
            status: "enabled".into(),
            password: "Aud1torPass".into(),
            password_confirm: "Aud1torPass".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_form_validates() {
        let valid = form().validate(true).unwrap();
        assert_eq!(valid.role, crate::domain::Role::ReadOnlyAdmin);
        assert_eq!(valid.password.as_deref(), Some("Aud1torPass"));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut AdminForm)>;
        let cases: Vec<(&str, Change)> = vec![
            ("name", Box::new(|f| f.name = "9lives".into())),
            ("email", Box::new(|f| f.email = "not-an-address".into())),
            (
                "email",
                Box::new(|f| {
                    f.email.clear();
                    f.include_alarm_emails = true;
                }),
            ),
            ("first_name", Box::new(|f| f.first_name = "A\r\nB".into())),
            ("role", Box::new(|f| f.role = "root".into())),
            ("status", Box::new(|f| f.status = "maybe".into())),
            ("password", Box::new(|f| f.password = "weak".into())),
            (
                "password_confirm",
                Box::new(|f| f.password_confirm = "Different1".into()),
            ),
        ];
        for (field, change) in cases {
            let mut f = form();
            change(&mut f);
            assert_eq!(f.validate(true).unwrap_err().field, field);
        }
    }

    #[test]
    fn password_is_optional_only_when_editing() {
        let mut f = form();
        f.password.clear();
        f.password_confirm.clear();
        assert_eq!(f.validate(true).unwrap_err().field, "password");
        assert_eq!(f.validate(false).unwrap().password, None);
    }
}
