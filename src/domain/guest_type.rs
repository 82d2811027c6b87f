//! Work Centers > Guest Access > Portals & Components > Guest Types: how
//! long a guest's access may last and when the guest is warned that it
//! ends. Pure: the edit page and the server check with the same rules.

use super::language::{display_name, normalize_tag};
use super::template;
use super::{FieldError, reject_line_breaks};
use serde::{Deserialize, Serialize};

pub const DEFAULT_NOTICE_TEXT: &str = "Your account is going to expire in 3 days. Please notify your sponsor to extend your account now to avoid any delays.";
pub const DEFAULT_NOTICE_SUBJECT: &str = "Your guest account is going to expire";
/// ISE's cap on a guest type's maximum account duration.
pub const MAX_DAYS: u32 = 999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TimeUnit {
    #[default]
    Days,
    Hours,
    Minutes,
}

impl TimeUnit {
    pub const ALL: [TimeUnit; 3] = [TimeUnit::Days, TimeUnit::Hours, TimeUnit::Minutes];

    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Hours => "hours",
            TimeUnit::Minutes => "minutes",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TimeUnit::Days => "Days",
            TimeUnit::Hours => "Hours",
            TimeUnit::Minutes => "Minutes",
        }
    }

    pub fn parse(value: &str) -> Option<TimeUnit> {
        TimeUnit::ALL.into_iter().find(|u| u.as_str() == value)
    }

    pub fn seconds(self) -> i64 {
        match self {
            TimeUnit::Days => 86_400,
            TimeUnit::Hours => 3_600,
            TimeUnit::Minutes => 60,
        }
    }
}

/// The edit form as posted: numbers arrive as text so that "abc" gets a
/// message next to its field instead of a failed request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuestTypeForm {
    pub name: String,
    pub description: String,
    pub max_days: String,
    pub default_days: String,
    pub notify_enabled: bool,
    pub notify_advance: String,
    pub notify_unit: String,
    pub notify_subject: String,
    pub notify_text: String,
    /// The notice in other languages than English.
    pub notice_translations: Vec<NoticeTranslation>,
}

/// The expiration notice in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoticeTranslation {
    pub language: String,
    pub subject: String,
    pub text: String,
}

impl NoticeTranslation {
    /// The notice Mailroom ships for `language`, else the English default
    /// to translate from.
    pub fn shipped(language: &str) -> NoticeTranslation {
        let (subject, text) = super::language::shipped_expiry_notice(language)
            .unwrap_or((DEFAULT_NOTICE_SUBJECT, DEFAULT_NOTICE_TEXT));
        NoticeTranslation {
            language: language.to_string(),
            subject: subject.into(),
            text: text.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestType {
    pub name: String,
    pub description: String,
    /// The longest access a sponsor may give.
    pub max_days: u32,
    /// The access a new account gets unless the sponsor chooses otherwise.
    pub default_days: u32,
    pub notice: ExpiryNotice,
    /// Every language but English, sorted by tag.
    pub notice_translations: Vec<NoticeTranslation>,
}

/// The account expiration notification. Kept while disabled, so turning it
/// back on restores the admin's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryNotice {
    pub enabled: bool,
    pub advance: u32,
    pub unit: TimeUnit,
    pub subject: String,
    pub text: String,
}

impl ExpiryNotice {
    pub fn advance_seconds(&self) -> i64 {
        i64::from(self.advance) * self.unit.seconds()
    }
}

impl GuestType {
    /// ISE's three default guest types.
    pub fn ise_defaults() -> Vec<GuestType> {
        let make = |name: &str, description: &str, max_days, default_days| GuestType {
            name: name.into(),
            description: description.into(),
            max_days,
            default_days,
            notice: ExpiryNotice {
                enabled: false,
                advance: 3,
                unit: TimeUnit::Days,
                subject: DEFAULT_NOTICE_SUBJECT.into(),
                text: DEFAULT_NOTICE_TEXT.into(),
            },
            notice_translations: vec![NoticeTranslation::shipped(super::language::SPANISH)],
        };
        vec![
            make(
                "Contractor (default)",
                "Default settings for contractor accounts: access for up to a year.",
                365,
                90,
            ),
            make(
                "Daily (default)",
                "Default settings for daily visitors: access for 1 to 5 days.",
                5,
                1,
            ),
            make(
                "Weekly (default)",
                "Default settings for weekly visitors: access for up to 14 days.",
                14,
                7,
            ),
        ]
    }

    pub fn to_form(&self) -> GuestTypeForm {
        GuestTypeForm {
            name: self.name.clone(),
            description: self.description.clone(),
            max_days: self.max_days.to_string(),
            default_days: self.default_days.to_string(),
            notify_enabled: self.notice.enabled,
            notify_advance: self.notice.advance.to_string(),
            notify_unit: self.notice.unit.as_str().into(),
            notify_subject: self.notice.subject.clone(),
            notify_text: self.notice.text.clone(),
            notice_translations: self.notice_translations.clone(),
        }
    }
}

fn whole_number(field: &str, raw: &str, min: u32, max: u32) -> Result<u32, FieldError> {
    match raw.trim().parse::<u32>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(FieldError::new(
            field,
            format!("Enter a whole number from {min} to {max}."),
        )),
    }
}

fn no_unknown_placeholders(field: &str, text: &str) -> Result<(), FieldError> {
    let unknown = template::unknown_placeholders(text);
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(FieldError::new(field, template::unknown_message(&unknown)))
    }
}

impl GuestTypeForm {
    pub fn validate(&self) -> Result<GuestType, FieldError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "Enter a guest type name."));
        }
        if name.chars().count() > 64 {
            return Err(FieldError::new("name", "Use at most 64 characters."));
        }
        reject_line_breaks("name", name)?;
        let description = self.description.trim();
        if description.chars().count() > 256 {
            return Err(FieldError::new(
                "description",
                "Use at most 256 characters.",
            ));
        }
        let max_days = whole_number("max_days", &self.max_days, 1, MAX_DAYS)?;
        let default_days = whole_number("default_days", &self.default_days, 1, MAX_DAYS)?;
        if default_days > max_days {
            return Err(FieldError::new(
                "default_days",
                format!(
                    "The default duration cannot be longer than the maximum ({max_days} days)."
                ),
            ));
        }
        let unit = TimeUnit::parse(&self.notify_unit)
            .ok_or_else(|| FieldError::new("notify_unit", "Choose Days, Hours or Minutes."))?;
        let advance = whole_number("notify_advance", &self.notify_advance, 1, 999)?;
        if self.notify_enabled
            && i64::from(advance) * unit.seconds() >= i64::from(max_days) * 86_400
        {
            return Err(FieldError::new(
                "notify_advance",
                format!(
                    "Send the notice less than the maximum account duration ({max_days} days) before the end."
                ),
            ));
        }
        let subject = self.notify_subject.trim();
        reject_line_breaks("notify_subject", subject)?;
        if subject.chars().count() > 256 {
            return Err(FieldError::new(
                "notify_subject",
                "Use at most 256 characters.",
            ));
        }
        no_unknown_placeholders("notify_subject", subject)?;
        let text = self.notify_text.trim();
        if self.notify_enabled && (text.is_empty() || subject.is_empty()) {
            let field = if subject.is_empty() {
                "notify_subject"
            } else {
                "notify_text"
            };
            return Err(FieldError::new(
                field,
                "Enter the notification's subject and text, or turn the notification off.",
            ));
        }
        if text.chars().count() > 2000 {
            return Err(FieldError::new(
                "notify_text",
                "Use at most 2,000 characters.",
            ));
        }
        no_unknown_placeholders("notify_text", text)?;
        let notice_translations = self.validate_translations()?;
        Ok(GuestType {
            name: name.into(),
            description: description.into(),
            max_days,
            default_days,
            notice: ExpiryNotice {
                enabled: self.notify_enabled,
                advance,
                unit,
                subject: subject.into(),
                text: text.into(),
            },
            notice_translations,
        })
    }

    fn validate_translations(&self) -> Result<Vec<NoticeTranslation>, FieldError> {
        let mut out: Vec<NoticeTranslation> = Vec::new();
        for translation in &self.notice_translations {
            let language = normalize_tag("notice_translations", &translation.language)?;
            if language == super::language::ENGLISH {
                continue;
            }
            let name = display_name(&language);
            let refuse = |message: String| {
                FieldError::new("notice_translations", format!("{name}: {message}"))
            };
            if out.iter().any(|t| t.language == language) {
                return Err(refuse("listed twice.".into()));
            }
            let (subject, text) = (translation.subject.trim(), translation.text.trim());
            if subject.is_empty() || text.is_empty() {
                return Err(refuse(
                    "enter the notification's subject and text, or remove the language.".into(),
                ));
            }
            if subject.contains(['\r', '\n']) {
                return Err(refuse("the subject cannot have line breaks.".into()));
            }
            if subject.chars().count() > 256 || text.chars().count() > 2000 {
                return Err(refuse(
                    "use at most 256 characters in the subject and 2,000 in the text.".into(),
                ));
            }
            for part in [subject, text] {
                let unknown = template::unknown_placeholders(part);
                if !unknown.is_empty() {
                    return Err(refuse(template::unknown_message(&unknown)));
                }
            }
            out.push(NoticeTranslation {
                language,
                subject: subject.into(),
                text: text.into(),
            });
        }
        if out.len() + 1 > super::language::MAX_LANGUAGES {
            return Err(FieldError::new(
                "notice_translations",
                format!("Keep at most {} languages.", super::language::MAX_LANGUAGES),
            ));
        }
        out.sort_by(|a, b| a.language.cmp(&b.language));
        Ok(out)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestTypeSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub max_days: u32,
    pub default_days: u32,
    pub notice_enabled: bool,
    pub notice_advance: u32,
    pub notice_unit: TimeUnit,
    /// Guest accounts of this type: a type in use cannot be deleted.
    pub accounts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestTypeEdit {
    pub id: i64,
    pub form: GuestTypeForm,
    pub updated_by: String,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contractor() -> GuestTypeForm {
        GuestType::ise_defaults().remove(0).to_form()
    }

    #[test]
    fn the_ise_defaults_are_valid() {
        for guest_type in GuestType::ise_defaults() {
            assert_eq!(guest_type.to_form().validate().unwrap(), guest_type);
        }
        let contractor = contractor().validate().unwrap();
        assert_eq!((contractor.max_days, contractor.default_days), (365, 90));
        assert_eq!(contractor.notice.advance_seconds(), 3 * 86_400);
    }

    #[test]
    fn numbers_get_field_errors() {
        let mut form = contractor();
        form.max_days = "abc".into();
        assert_eq!(form.validate().unwrap_err().field, "max_days");
        form.max_days = "1000".into();
        assert_eq!(form.validate().unwrap_err().field, "max_days");
        let mut form = contractor();
        form.default_days = "400".into();
        let error = form.validate().unwrap_err();
        assert_eq!(error.field, "default_days");
        assert!(error.message.contains("365"));
        let mut form = contractor();
        form.notify_unit = "weeks".into();
        assert_eq!(form.validate().unwrap_err().field, "notify_unit");
    }

    #[test]
    fn the_notice_must_fit_in_the_access_and_name_real_placeholders() {
        let mut form = contractor();
        form.notify_enabled = true;
        form.max_days = "3".into();
        form.default_days = "1".into();
        assert_eq!(form.validate().unwrap_err().field, "notify_advance");
        form.notify_unit = "hours".into();
        assert!(form.validate().is_ok());
        form.notify_text = "Bye $ui_first_name$, ends $ui_end_date$".into();
        let error = form.validate().unwrap_err();
        assert_eq!(error.field, "notify_text");
        assert!(error.message.contains("$ui_end_date$"));
        form.notify_text = String::new();
        assert_eq!(form.validate().unwrap_err().field, "notify_text");
        form.notify_enabled = false;
        assert!(form.validate().is_ok(), "a disabled notice may be empty");
    }

    #[test]
    fn names_are_required_and_single_line() {
        let mut form = contractor();
        form.name = "  ".into();
        assert_eq!(form.validate().unwrap_err().field, "name");
        form.name = "a\nb".into();
        assert_eq!(form.validate().unwrap_err().field, "name");
        let mut form = contractor();
        form.notify_subject = "Hi\r\nBcc: x@y".into();
        assert_eq!(form.validate().unwrap_err().field, "notify_subject");
    }
}
