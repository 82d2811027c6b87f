//! The Self-Registered Guest Portal: its behaviour (guest type, who may
//! register, how often, what the guest is told) and its credentials email
//! template, plus the registration form a guest fills in. Pure: the
//! editor's live checks, the public portal and the server share it.

use super::email::is_domain_name;
use super::language::{ENGLISH, GuestEmail, MAX_LANGUAGES, display_name, normalize_tag};
use super::template::{self, Part, Values};
use super::{EmailAddress, FieldError, reject_line_breaks};
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORTAL_NAME: &str = "Self-Registered Guest Portal (default)";
pub const DEFAULT_SUBJECT: &str = "Your guest account credentials";
pub const DEFAULT_TEXT: &str = "Hello $ui_first_name$,

Your guest account for $ui_portal_name$ is ready.

Username: $ui_user_name$
Password: $ui_password$
Valid from $ui_start_date_time$ until $ui_end_date_time$.

Sign in to the guest Wi-Fi with these credentials.";
pub const DEFAULT_HTML: &str = "<p>Hello $ui_first_name$,</p>
<p>Your guest account for <b>$ui_portal_name$</b> is ready.</p>
<table>
<tr><td>Username:</td><td><b>$ui_user_name$</b></td></tr>
<tr><td>Password:</td><td><b>$ui_password$</b></td></tr>
<tr><td>Valid from:</td><td>$ui_start_date_time$</td></tr>
<tr><td>Valid until:</td><td>$ui_end_date_time$</td></tr>
</table>
<p>Sign in to the guest Wi-Fi with these credentials.</p>";
/// The approval request sent to the approver of a self-registered guest.
pub const DEFAULT_APPROVAL_SUBJECT: &str =
    "Guest access request from $ui_first_name$ $ui_last_name$";
pub const DEFAULT_APPROVAL_TEXT: &str = "Hello,

$ui_first_name$ $ui_last_name$ ($ui_email_address$, $ui_company$) registered for guest access on $ui_portal_name$ and is waiting for your approval.

Approve: $ui_approve_link$
Deny: $ui_deny_link$

Each link opens a page that asks you to confirm. The links work once and expire.";
pub const DEFAULT_APPROVAL_HTML: &str = "<p>Hello,</p>
<p><b>$ui_first_name$ $ui_last_name$</b> ($ui_email_address$, $ui_company$) registered for guest access on <b>$ui_portal_name$</b> and is waiting for your approval.</p>
<p><a href=\"$ui_approve_link$\">Approve</a> &nbsp; <a href=\"$ui_deny_link$\">Deny</a></p>
<p>Each link opens a page that asks you to confirm. The links work once and expire.</p>";
/// What a guest whose request was denied receives.
pub const DEFAULT_DENIAL_SUBJECT: &str = "Your guest access request was not approved";
pub const DEFAULT_DENIAL_TEXT: &str = "Hello $ui_first_name$,

Your request for guest access on $ui_portal_name$ was not approved.

Please contact the person you are visiting.";
pub const DEFAULT_DENIAL_HTML: &str = "<p>Hello $ui_first_name$,</p>
<p>Your request for guest access on <b>$ui_portal_name$</b> was not approved.</p>
<p>Please contact the person you are visiting.</p>";
/// How long approve and deny links work by default, as ISE.
pub const DEFAULT_APPROVAL_LINK_MINUTES: u32 = 30;
/// The longest a link may be made to work: a week.
pub const MAX_APPROVAL_LINK_MINUTES: u32 = 7 * 24 * 60;
/// A request nobody approves or denies within this many hours ends Denied.
pub const DEFAULT_DENY_AFTER_HOURS: u32 = 72;
/// The longest a request may wait: 30 days.
pub const MAX_DENY_AFTER_HOURS: u32 = 30 * 24;

pub const DEFAULT_AUP: &str = "You are responsible for maintaining the confidentiality of the password and all activities that occur under your username and password. This service is provided for lawful purposes only.";

/// The credentials email: subject, text and HTML parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailTemplate {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// One rendered email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl EmailTemplate {
    pub fn ise_default() -> Self {
        EmailTemplate {
            subject: DEFAULT_SUBJECT.into(),
            text: DEFAULT_TEXT.into(),
            html: DEFAULT_HTML.into(),
        }
    }

    /// The approval request ISE sends by default.
    pub fn approval_default() -> Self {
        EmailTemplate {
            subject: DEFAULT_APPROVAL_SUBJECT.into(),
            text: DEFAULT_APPROVAL_TEXT.into(),
            html: DEFAULT_APPROVAL_HTML.into(),
        }
    }

    pub fn denial_default() -> Self {
        EmailTemplate {
            subject: DEFAULT_DENIAL_SUBJECT.into(),
            text: DEFAULT_DENIAL_TEXT.into(),
            html: DEFAULT_DENIAL_HTML.into(),
        }
    }

    /// Each part's unknown placeholders, as (field, tokens), for the
    /// editor to flag while the admin types.
    pub fn unknown_placeholders(&self) -> Vec<(&'static str, Vec<String>)> {
        self.unknown_placeholders_as(["email_subject", "email_text", "email_html"])
    }

    /// The same for a template whose fields are named `fields` (subject,
    /// text, HTML).
    pub fn unknown_placeholders_as(
        &self,
        fields: [&'static str; 3],
    ) -> Vec<(&'static str, Vec<String>)> {
        [
            (fields[0], &self.subject),
            (fields[1], &self.text),
            (fields[2], &self.html),
        ]
        .into_iter()
        .map(|(field, text)| (field, template::unknown_placeholders(text)))
        .filter(|(_, unknown)| !unknown.is_empty())
        .collect()
    }

    pub fn validate(&self) -> Result<EmailTemplate, FieldError> {
        self.validate_as(["email_subject", "email_text", "email_html"])
    }

    /// Checks a template whose fields are named `fields` (subject, text,
    /// HTML) on the form.
    pub fn validate_as(&self, fields: [&'static str; 3]) -> Result<EmailTemplate, FieldError> {
        let [subject_field, text_field, html_field] = fields;
        let subject = self.subject.trim();
        if subject.is_empty() {
            return Err(FieldError::new(subject_field, "Enter the email's subject."));
        }
        reject_line_breaks(subject_field, subject)?;
        if subject.chars().count() > 256 {
            return Err(FieldError::new(
                subject_field,
                "Use at most 256 characters.",
            ));
        }
        if self.text.trim().is_empty() {
            return Err(FieldError::new(
                text_field,
                "Enter the text part: mail clients without HTML show it.",
            ));
        }
        if self.text.chars().count() > 10_000 {
            return Err(FieldError::new(
                text_field,
                "Use at most 10,000 characters.",
            ));
        }
        if self.html.chars().count() > 50_000 {
            return Err(FieldError::new(
                html_field,
                "Use at most 50,000 characters.",
            ));
        }
        if let Some((field, unknown)) = self.unknown_placeholders_as(fields).into_iter().next() {
            return Err(FieldError::new(field, template::unknown_message(&unknown)));
        }
        Ok(EmailTemplate {
            subject: subject.into(),
            text: self.text.trim().into(),
            html: self.html.trim().into(),
        })
    }

    /// Renders the three parts; values are HTML-escaped in the HTML part.
    pub fn render(&self, values: &impl Values) -> RenderedEmail {
        RenderedEmail {
            subject: template::render(&self.subject, values, Part::Subject),
            text: template::render(&self.text, values, Part::Text),
            html: (!self.html.trim().is_empty())
                .then(|| template::render(&self.html, values, Part::Html)),
        }
    }
}

/// The portal's settings as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortalForm {
    pub name: String,
    pub description: String,
    /// The id of the guest type new accounts get.
    pub guest_type_id: String,
    /// Registrations accepted from one address per hour.
    pub max_per_hour: String,
    /// One domain per line or comma-separated; empty allows any.
    pub allowed_domains: String,
    pub blocked_domains: String,
    pub require_aup: bool,
    pub aup_text: String,
    /// Send the credentials to the guest by email automatically.
    pub email_credentials: bool,
    /// Show the username and password on the success page.
    pub show_credentials: bool,
    pub email: EmailTemplate,
    /// Registration Form Settings: "Require self-registered guests to be
    /// approved".
    pub require_approval: bool,
    /// `person_visited` or `listed`.
    pub approver: String,
    /// The specific sponsor email addresses, one per line or comma-separated.
    pub approver_emails: String,
    /// Approve/Deny links are valid for this many minutes.
    pub approval_link_minutes: String,
    /// "Require sponsor to provide credentials for authentication": a link
    /// opens the sponsor portal's sign-in first.
    pub approval_sign_in: bool,
    /// Requests not decided within this many hours end Denied.
    pub approval_deny_after_hours: String,
    pub approval_email: EmailTemplate,
    pub denial_email: EmailTemplate,
    /// The language guests whose own has no texts here get (a tag).
    pub default_language: String,
    /// The IANA time zone of the emails' dates; empty: the node's.
    pub time_zone: String,
    /// The emails in every language besides English (whose texts are the
    /// fields above).
    pub translations: Vec<PortalTranslation>,
}

/// A portal's three guest emails in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortalTranslation {
    pub language: String,
    pub email: EmailTemplate,
    pub approval_email: EmailTemplate,
    pub denial_email: EmailTemplate,
}

impl PortalTranslation {
    /// The texts Mailroom ships for `language` (English's for a language
    /// it ships none in, as a start to translate from).
    pub fn shipped(language: &str) -> PortalTranslation {
        let text = |kind: GuestEmail| {
            kind.shipped(language)
                .or_else(|| kind.shipped(ENGLISH))
                .unwrap_or_default()
        };
        PortalTranslation {
            language: language.to_string(),
            email: text(GuestEmail::Credentials),
            approval_email: text(GuestEmail::ApprovalRequest),
            denial_email: text(GuestEmail::Denial),
        }
    }

    pub fn get(&self, kind: GuestEmail) -> &EmailTemplate {
        match kind {
            GuestEmail::Credentials => &self.email,
            GuestEmail::ApprovalRequest => &self.approval_email,
            GuestEmail::Denial => &self.denial_email,
        }
    }
}

/// Who receives a self-registered guest's approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Approver {
    /// The person being visited, whose address the guest typed: it must be
    /// one of the sponsor users'.
    PersonVisited,
    /// Specific sponsor email addresses.
    Listed,
}

impl Approver {
    pub fn as_str(self) -> &'static str {
        match self {
            Approver::PersonVisited => "person_visited",
            Approver::Listed => "listed",
        }
    }

    pub fn parse(text: &str) -> Option<Approver> {
        match text.trim() {
            "" | "person_visited" => Some(Approver::PersonVisited),
            "listed" => Some(Approver::Listed),
            _ => None,
        }
    }
}

/// Whether self-registered guests wait for a sponsor's approval, who is
/// asked, and what the emails say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalSettings {
    pub required: bool,
    pub approver: Approver,
    pub approver_emails: Vec<String>,
    pub link_minutes: u32,
    /// The links ask the sponsor to sign in, and decide as that sponsor.
    pub sign_in: bool,
    pub deny_after_hours: u32,
    pub request_email: EmailTemplate,
    pub denial_email: EmailTemplate,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            required: false,
            approver: Approver::PersonVisited,
            approver_emails: Vec::new(),
            link_minutes: DEFAULT_APPROVAL_LINK_MINUTES,
            sign_in: false,
            deny_after_hours: DEFAULT_DENY_AFTER_HOURS,
            request_email: EmailTemplate::approval_default(),
            denial_email: EmailTemplate::denial_default(),
        }
    }
}

/// The form's fields of the approval request and denial templates.
pub const APPROVAL_EMAIL_FIELDS: [&str; 3] = ["approval_subject", "approval_text", "approval_html"];
pub const DENIAL_EMAIL_FIELDS: [&str; 3] = ["denial_subject", "denial_text", "denial_html"];

impl PortalForm {
    fn validate_approval(&self) -> Result<ApprovalSettings, FieldError> {
        let approver = Approver::parse(&self.approver).ok_or_else(|| {
            FieldError::new("approver", "Choose who receives the approval request.")
        })?;
        let mut approver_emails = Vec::new();
        for token in self.approver_emails.split([',', '\n', '\r', ' ', ';']) {
            let token = token.trim();
            if token.is_empty() {
                continue;
            }
            let address = EmailAddress::parse("approver_emails", token)?;
            if !approver_emails.contains(&address.as_str().to_string()) {
                approver_emails.push(address.as_str().to_string());
            }
        }
        if approver_emails.len() > 50 {
            return Err(FieldError::new(
                "approver_emails",
                "List at most 50 addresses.",
            ));
        }
        if self.require_approval && approver == Approver::Listed && approver_emails.is_empty() {
            return Err(FieldError::new(
                "approver_emails",
                "Enter at least one sponsor email address to send approval requests to.",
            ));
        }
        let link_minutes = match self.approval_link_minutes.trim() {
            "" => DEFAULT_APPROVAL_LINK_MINUTES,
            text => text
                .parse::<u32>()
                .ok()
                .filter(|m| (1..=MAX_APPROVAL_LINK_MINUTES).contains(m))
                .ok_or_else(|| {
                    FieldError::new(
                        "approval_link_minutes",
                        format!(
                            "Enter a whole number of minutes from 1 to {MAX_APPROVAL_LINK_MINUTES} (a week)."
                        ),
                    )
                })?,
        };
        let deny_after_hours = match self.approval_deny_after_hours.trim() {
            "" => DEFAULT_DENY_AFTER_HOURS,
            text => text
                .parse::<u32>()
                .ok()
                .filter(|h| (1..=MAX_DENY_AFTER_HOURS).contains(h))
                .ok_or_else(|| {
                    FieldError::new(
                        "approval_deny_after_hours",
                        format!(
                            "Enter a whole number of hours from 1 to {MAX_DENY_AFTER_HOURS} (30 days)."
                        ),
                    )
                })?,
        };
        Ok(ApprovalSettings {
            required: self.require_approval,
            approver,
            approver_emails,
            link_minutes,
            sign_in: self.approval_sign_in,
            deny_after_hours,
            request_email: or_default(&self.approval_email, EmailTemplate::approval_default)
                .validate_as(APPROVAL_EMAIL_FIELDS)?,
            denial_email: or_default(&self.denial_email, EmailTemplate::denial_default)
                .validate_as(DENIAL_EMAIL_FIELDS)?,
        })
    }
}

/// A template the form left out entirely is the default one; a template
/// the admin emptied part of is refused by its field.
fn or_default(template: &EmailTemplate, default: fn() -> EmailTemplate) -> EmailTemplate {
    if template == &EmailTemplate::default() {
        default()
    } else {
        template.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSettings {
    pub name: String,
    pub description: String,
    pub guest_type_id: i64,
    pub max_per_hour: u32,
    pub allowed_domains: Vec<String>,
    pub blocked_domains: Vec<String>,
    pub require_aup: bool,
    pub aup_text: String,
    pub email_credentials: bool,
    pub show_credentials: bool,
    pub email: EmailTemplate,
    pub approval: ApprovalSettings,
    pub default_language: String,
    /// An IANA name (checked by the server), or empty for the node's.
    pub time_zone: String,
    /// Every language but English, sorted by tag.
    pub translations: Vec<PortalTranslation>,
}

fn domain_list(field: &str, raw: &str) -> Result<Vec<String>, FieldError> {
    let mut domains = Vec::new();
    for token in raw.split([',', '\n', '\r', ' ', ';']) {
        let domain = token.trim().trim_start_matches('@').to_ascii_lowercase();
        if domain.is_empty() {
            continue;
        }
        if !is_domain_name(&domain) {
            return Err(FieldError::new(
                field,
                format!("'{domain}' is not a domain name (for example contoso.com)."),
            ));
        }
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    if domains.len() > 500 {
        return Err(FieldError::new(field, "List at most 500 domains."));
    }
    Ok(domains)
}

/// `domain` is `listed` or one of its subdomains.
fn matches_domain(domain: &str, listed: &str) -> bool {
    domain == listed
        || domain
            .strip_suffix(listed)
            .is_some_and(|rest| rest.ends_with('.'))
}

impl PortalForm {
    pub fn validate(&self) -> Result<PortalSettings, FieldError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "Enter the portal's name."));
        }
        reject_line_breaks("name", name)?;
        if name.chars().count() > 256 {
            return Err(FieldError::new("name", "Use at most 256 characters."));
        }
        let description = self.description.trim();
        if description.chars().count() > 256 {
            return Err(FieldError::new(
                "description",
                "Use at most 256 characters.",
            ));
        }
        let guest_type_id = self
            .guest_type_id
            .trim()
            .parse::<i64>()
            .map_err(|_| FieldError::new("guest_type_id", "Choose a guest type."))?;
        let max_per_hour = match self.max_per_hour.trim().parse::<u32>() {
            Ok(value) if (1..=10_000).contains(&value) => value,
            _ => {
                return Err(FieldError::new(
                    "max_per_hour",
                    "Enter a whole number from 1 to 10000.",
                ));
            }
        };
        let allowed_domains = domain_list("allowed_domains", &self.allowed_domains)?;
        let blocked_domains = domain_list("blocked_domains", &self.blocked_domains)?;
        let aup_text = self.aup_text.trim();
        if self.require_aup && aup_text.is_empty() {
            return Err(FieldError::new(
                "aup_text",
                "Enter the Acceptable Use Policy guests must accept.",
            ));
        }
        if aup_text.chars().count() > 50_000 {
            return Err(FieldError::new(
                "aup_text",
                "Use at most 50,000 characters.",
            ));
        }
        let email = self.email.validate()?;
        let approval = self.validate_approval()?;
        let translations = self.validate_translations()?;
        let default_language = match self.default_language.trim() {
            "" => ENGLISH.to_string(),
            raw => normalize_tag("default_language", raw)?,
        };
        if !super::language::SHIPPED.contains(&default_language.as_str())
            && !translations.iter().any(|t| t.language == default_language)
        {
            return Err(FieldError::new(
                "default_language",
                format!(
                    "Add the {} texts before making it the default language.",
                    display_name(&default_language)
                ),
            ));
        }
        let time_zone = self.time_zone.trim();
        if time_zone.len() > 64
            || !time_zone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
        {
            return Err(FieldError::new(
                "time_zone",
                "Enter an IANA time zone such as Europe/Madrid, or leave it empty for this node's.",
            ));
        }
        Ok(PortalSettings {
            name: name.into(),
            description: description.into(),
            guest_type_id,
            max_per_hour,
            allowed_domains,
            blocked_domains,
            require_aup: self.require_aup,
            aup_text: aup_text.into(),
            email_credentials: self.email_credentials,
            show_credentials: self.show_credentials,
            email,
            approval,
            default_language,
            time_zone: time_zone.to_string(),
            translations,
        })
    }

    fn validate_translations(&self) -> Result<Vec<PortalTranslation>, FieldError> {
        let mut translations: Vec<PortalTranslation> = Vec::new();
        for translation in &self.translations {
            let language = normalize_tag("translations", &translation.language)?;
            if language == ENGLISH {
                // English is the portal's own fields.
                continue;
            }
            if translations.iter().any(|t| t.language == language) {
                return Err(FieldError::new(
                    "translations",
                    format!("{} is listed twice.", display_name(&language)),
                ));
            }
            let shipped = PortalTranslation::shipped(&language);
            let name = display_name(&language);
            let checked = |template: &EmailTemplate,
                           default: &EmailTemplate,
                           what: &str|
             -> Result<EmailTemplate, FieldError> {
                let template = if template == &EmailTemplate::default() {
                    default.clone()
                } else {
                    template.clone()
                };
                template.validate().map_err(|e| {
                    FieldError::new("translations", format!("{name} {what}: {}", e.message))
                })
            };
            translations.push(PortalTranslation {
                email: checked(&translation.email, &shipped.email, "credentials email")?,
                approval_email: checked(
                    &translation.approval_email,
                    &shipped.approval_email,
                    "approval request",
                )?,
                denial_email: checked(
                    &translation.denial_email,
                    &shipped.denial_email,
                    "denial notice",
                )?,
                language,
            });
        }
        if translations.len() + 1 > MAX_LANGUAGES {
            return Err(FieldError::new(
                "translations",
                format!("Keep at most {MAX_LANGUAGES} languages."),
            ));
        }
        translations.sort_by(|a, b| a.language.cmp(&b.language));
        Ok(translations)
    }
}

impl PortalSettings {
    /// The languages this portal has texts in: English first.
    pub fn languages(&self) -> Vec<String> {
        std::iter::once(ENGLISH.to_string())
            .chain(self.translations.iter().map(|t| t.language.clone()))
            .collect()
    }

    /// This portal's `kind` email in `language`: its own texts in that
    /// language (or the language without its region), else those in its
    /// default language, else English. Also the language chosen.
    pub fn email_in(&self, kind: GuestEmail, language: &str) -> (EmailTemplate, String) {
        let english = || match kind {
            GuestEmail::Credentials => self.email.clone(),
            GuestEmail::ApprovalRequest => self.approval.request_email.clone(),
            GuestEmail::Denial => self.approval.denial_email.clone(),
        };
        let wanted = [
            language,
            super::language::primary(language),
            self.default_language.as_str(),
        ];
        for tag in wanted {
            if tag.is_empty() {
                continue;
            }
            if tag == ENGLISH {
                return (english(), ENGLISH.into());
            }
            if let Some(t) = self.translations.iter().find(|t| t.language == tag) {
                return (t.get(kind).clone(), tag.to_string());
            }
        }
        (english(), ENGLISH.into())
    }
    pub fn to_form(&self) -> PortalForm {
        PortalForm {
            name: self.name.clone(),
            description: self.description.clone(),
            guest_type_id: self.guest_type_id.to_string(),
            max_per_hour: self.max_per_hour.to_string(),
            allowed_domains: self.allowed_domains.join("\n"),
            blocked_domains: self.blocked_domains.join("\n"),
            require_aup: self.require_aup,
            aup_text: self.aup_text.clone(),
            email_credentials: self.email_credentials,
            show_credentials: self.show_credentials,
            email: self.email.clone(),
            require_approval: self.approval.required,
            approver: self.approval.approver.as_str().to_string(),
            approver_emails: self.approval.approver_emails.join("\n"),
            approval_link_minutes: self.approval.link_minutes.to_string(),
            approval_sign_in: self.approval.sign_in,
            approval_deny_after_hours: self.approval.deny_after_hours.to_string(),
            approval_email: self.approval.request_email.clone(),
            denial_email: self.approval.denial_email.clone(),
            default_language: self.default_language.clone(),
            time_zone: self.time_zone.clone(),
            translations: self.translations.clone(),
        }
    }

    /// Why a guest with `email` may not register here, if not.
    pub fn refuses_domain(&self, email: &EmailAddress) -> Option<String> {
        let domain = email
            .as_str()
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("");
        if self
            .blocked_domains
            .iter()
            .any(|listed| matches_domain(domain, listed))
        {
            return Some(format!(
                "Email addresses at {domain} cannot register on this portal."
            ));
        }
        if !self.allowed_domains.is_empty()
            && !self
                .allowed_domains
                .iter()
                .any(|listed| matches_domain(domain, listed))
        {
            return Some(format!(
                "This portal accepts email addresses at {} only.",
                self.allowed_domains.join(", ")
            ));
        }
        None
    }
}

/// What a guest fills in on the portal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrationForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub person_visited: String,
    pub accept_aup: bool,
    /// The guest's notification language (a tag); empty: the portal's.
    #[serde(default)]
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub first_name: String,
    pub last_name: String,
    pub email: EmailAddress,
    pub company: String,
    pub person_visited: String,
    /// A normalized tag, or empty.
    pub language: String,
}

fn short_text(field: &str, value: &str, required: Option<&str>) -> Result<String, FieldError> {
    let value = value.trim();
    if let Some(message) = required
        && value.is_empty()
    {
        return Err(FieldError::new(field, message));
    }
    reject_line_breaks(field, value)?;
    if value.chars().count() > 64 {
        return Err(FieldError::new(field, "Use at most 64 characters."));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "Control characters are not allowed.",
        ));
    }
    Ok(value.into())
}

impl RegistrationForm {
    pub fn validate(&self, require_aup: bool) -> Result<Registration, FieldError> {
        let registration = Registration {
            first_name: short_text(
                "first_name",
                &self.first_name,
                Some("Enter your first name."),
            )?,
            last_name: short_text("last_name", &self.last_name, Some("Enter your last name."))?,
            email: EmailAddress::parse("email", &self.email)?,
            company: short_text("company", &self.company, None)?,
            person_visited: short_text("person_visited", &self.person_visited, None)?,
            // A tag, or ISE's English name (a CSV import's column).
            language: match self.language.trim() {
                "" => String::new(),
                raw => super::language::from_ers("language", raw)?,
            },
        };
        if require_aup && !self.accept_aup {
            return Err(FieldError::new(
                "accept_aup",
                "Accept the Acceptable Use Policy to register.",
            ));
        }
        Ok(registration)
    }
}

/// Where guests reach portal `id`.
pub fn public_path(id: i64) -> String {
    format!("/portal/{id}/self-registration")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub guest_type: String,
    pub email_credentials: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalPage {
    pub id: i64,
    pub form: PortalForm,
    /// (id, name) of every guest type, for the select.
    pub guest_types: Vec<(i64, String)>,
    pub updated_by: String,
    pub updated_at: i64,
    /// The node's time zone, used when the portal names none.
    pub node_time_zone: String,
}

/// What the public portal shows before registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPortal {
    pub id: i64,
    pub name: String,
    pub require_aup: bool,
    pub aup_text: String,
    /// The languages the guest may choose for its emails (tags).
    pub languages: Vec<String>,
    /// The one the guest's browser prefers, else the portal's default.
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub username: String,
    /// Present when the portal shows credentials on its success page.
    pub password: Option<String>,
    pub valid_until: i64,
    /// The address the credentials were emailed to, if they were.
    pub emailed_to: Option<String>,
    /// The account waits for a sponsor's approval: the credentials come
    /// by email once it is approved.
    #[serde(default)]
    pub pending_approval: bool,
}

/// A guest signed in on the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestSignedIn {
    pub username: String,
    pub valid_until: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_settings_are_checked_and_default_to_ises_own() {
        let form = PortalForm {
            name: "Lobby".into(),
            guest_type_id: "1".into(),
            max_per_hour: "10".into(),
            email: EmailTemplate::ise_default(),
            ..Default::default()
        };
        let settings = form.validate().unwrap();
        assert_eq!(settings.approval, ApprovalSettings::default());
        assert_eq!(settings.approval.link_minutes, 30);
        assert!(
            settings
                .approval
                .request_email
                .text
                .contains("$ui_approve_link$")
        );
        let listed = PortalForm {
            require_approval: true,
            approver: "listed".into(),
            approver_emails: "desk@contoso.com, desk@contoso.com\nsec@contoso.com".into(),
            approval_link_minutes: "90".into(),
            ..form.clone()
        };
        let approval = listed.validate().unwrap().approval;
        assert_eq!(approval.approver, Approver::Listed);
        assert_eq!(
            approval.approver_emails,
            ["desk@contoso.com", "sec@contoso.com"]
        );
        assert_eq!(approval.link_minutes, 90);
        assert_eq!(
            listed
                .validate()
                .unwrap()
                .to_form()
                .validate()
                .unwrap()
                .approval,
            approval
        );
        for (field, bad) in [
            (
                "approver_emails",
                PortalForm {
                    approver_emails: "".into(),
                    ..listed.clone()
                },
            ),
            (
                "approver_emails",
                PortalForm {
                    approver_emails: "not-an-address".into(),
                    ..listed.clone()
                },
            ),
            (
                "approver",
                PortalForm {
                    approver: "everyone".into(),
                    ..listed.clone()
                },
            ),
            (
                "approval_link_minutes",
                PortalForm {
                    approval_link_minutes: "0".into(),
                    ..listed.clone()
                },
            ),
            (
                "approval_link_minutes",
                PortalForm {
                    approval_link_minutes: "20000".into(),
                    ..listed.clone()
                },
            ),
            (
                "approval_deny_after_hours",
                PortalForm {
                    approval_deny_after_hours: "0".into(),
                    ..listed.clone()
                },
            ),
            (
                "approval_deny_after_hours",
                PortalForm {
                    approval_deny_after_hours: "721".into(),
                    ..listed.clone()
                },
            ),
            (
                "approval_text",
                PortalForm {
                    approval_email: EmailTemplate {
                        text: "Approve: $ui_nope$".into(),
                        ..EmailTemplate::approval_default()
                    },
                    ..listed.clone()
                },
            ),
            (
                "denial_subject",
                PortalForm {
                    denial_email: EmailTemplate {
                        subject: " ".into(),
                        ..EmailTemplate::denial_default()
                    },
                    ..listed.clone()
                },
            ),
        ] {
            assert_eq!(bad.validate().unwrap_err().field, field, "{bad:?}");
        }
    }
    use crate::domain::template::SampleValues;

    fn portal() -> PortalForm {
        PortalForm {
            name: DEFAULT_PORTAL_NAME.into(),
            guest_type_id: "2".into(),
            max_per_hour: "10".into(),
            require_aup: true,
            aup_text: DEFAULT_AUP.into(),
            email_credentials: true,
            show_credentials: true,
            email: EmailTemplate::ise_default(),
            ..PortalForm::default()
        }
    }

    #[test]
    fn the_default_template_renders_every_value_and_escapes_html() {
        let email = EmailTemplate::ise_default().validate().unwrap();
        let rendered = email.render(&SampleValues);
        assert_eq!(rendered.subject, DEFAULT_SUBJECT);
        assert!(
            rendered
                .text
                .contains("Username: jsmith42\nPassword: Kx7#mQ2p")
        );
        let html = rendered.html.unwrap();
        assert!(html.contains("<b>jsmith42</b>"), "{html}");
        let mut with_company = EmailTemplate::ise_default();
        with_company.html = "<p>$ui_company$</p>".into();
        assert_eq!(
            with_company.render(&SampleValues).html.unwrap(),
            "<p>Smith &amp; Sons &lt;Consulting&gt;</p>"
        );
    }

    #[test]
    fn unknown_placeholders_are_flagged_per_part() {
        let mut email = EmailTemplate::ise_default();
        email.html.push_str("$ui_nope$");
        email.subject.push_str(" $ui_what$");
        assert_eq!(
            email.unknown_placeholders(),
            vec![
                ("email_subject", vec!["$ui_what$".to_string()]),
                ("email_html", vec!["$ui_nope$".to_string()])
            ]
        );
        assert_eq!(email.validate().unwrap_err().field, "email_subject");
    }

    #[test]
    fn portal_fields_are_checked() {
        assert!(portal().validate().is_ok());
        let mut form = portal();
        form.max_per_hour = "0".into();
        assert_eq!(form.validate().unwrap_err().field, "max_per_hour");
        let mut form = portal();
        form.allowed_domains = "contoso.com, not a domain".into();
        assert_eq!(form.validate().unwrap_err().field, "allowed_domains");
        let mut form = portal();
        form.aup_text = " ".into();
        assert_eq!(form.validate().unwrap_err().field, "aup_text");
        let mut form = portal();
        form.guest_type_id = "x".into();
        assert_eq!(form.validate().unwrap_err().field, "guest_type_id");
    }

    #[test]
    fn domains_allow_and_block_with_subdomains() {
        let mut form = portal();
        form.allowed_domains = "@Contoso.com\nfabrikam.com".into();
        form.blocked_domains = "bad.contoso.com".into();
        let settings = form.validate().unwrap();
        assert_eq!(settings.allowed_domains, ["contoso.com", "fabrikam.com"]);
        let address = |a: &str| EmailAddress::parse("email", a).unwrap();
        assert!(settings.refuses_domain(&address("a@contoso.com")).is_none());
        assert!(
            settings
                .refuses_domain(&address("a@eu.contoso.com"))
                .is_none()
        );
        assert!(
            settings
                .refuses_domain(&address("a@bad.contoso.com"))
                .is_some()
        );
        assert!(
            settings
                .refuses_domain(&address("a@notcontoso.com"))
                .is_some()
        );
        assert!(settings.refuses_domain(&address("a@gmail.com")).is_some());
    }

    #[test]
    fn a_registration_needs_names_an_address_and_the_aup() {
        let mut form = RegistrationForm {
            first_name: "Ann".into(),
            last_name: "Guest".into(),
            email: "ann@example.com".into(),
            accept_aup: true,
            ..RegistrationForm::default()
        };
        assert!(form.validate(true).is_ok());
        form.accept_aup = false;
        assert_eq!(form.validate(true).unwrap_err().field, "accept_aup");
        assert!(form.validate(false).is_ok());
        form.email = "nope".into();
        assert_eq!(form.validate(false).unwrap_err().field, "email");
        form.email = "ann@example.com".into();
        form.company = "A\r\nB".into();
        assert_eq!(form.validate(false).unwrap_err().field, "company");
        form.company = String::new();
        form.first_name = " ".into();
        assert_eq!(form.validate(false).unwrap_err().field, "first_name");
    }
}
