//! Work Centers > Guest Access > Settings > Guest Email Settings: whether
//! guests get email, and the From address it goes out with. Pure: checked
//! the same way in the browser and on the server.

use super::language::LocalTime;
use super::template::{self, Placeholder};
use super::{EmailAddress, FieldError};
use serde::{Deserialize, Serialize};

/// ISE's default "From" address.
pub const DEFAULT_FROM: &str = "donotreply@example.com";

/// The form as posted. A checkbox that is not ticked is absent from the
/// post, so every field defaults to empty/false; ISE's defaults for a node
/// that never saved the page are `GuestEmailForm::ise_defaults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuestEmailForm {
    /// Enable email notifications to guests.
    pub enabled: bool,
    pub default_from: String,
    /// Use the sponsor's email address as From (when the guest has a sponsor)
    /// rather than always the default.
    pub from_sponsor: bool,
}

impl GuestEmailForm {
    /// Notifications on, from the default address. Exchange Online sends
    /// only as the signed-in mailbox, so "always the default" is the choice
    /// that works there.
    pub fn ise_defaults() -> Self {
        GuestEmailForm {
            enabled: true,
            default_from: DEFAULT_FROM.into(),
            from_sponsor: false,
        }
    }

    pub fn validate(&self) -> Result<GuestEmailSettings, FieldError> {
        Ok(GuestEmailSettings {
            enabled: self.enabled,
            default_from: EmailAddress::parse("default_from", &self.default_from)?,
            from_sponsor: self.from_sponsor,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestEmailSettings {
    pub enabled: bool,
    pub default_from: EmailAddress,
    pub from_sponsor: bool,
}

impl GuestEmailSettings {
    /// The From address of a guest's email: the sponsor's when the
    /// settings say so and the guest has a sponsor with an address.
    pub fn sender(&self, sponsor_email: Option<&str>) -> String {
        match sponsor_email {
            Some(sponsor) if self.from_sponsor && !sponsor.trim().is_empty() => {
                sponsor.trim().to_string()
            }
            _ => self.default_from.as_str().to_string(),
        }
    }
}

/// What goes wrong with these From settings when the SMTP Server page signs
/// in to Exchange Online as `oauth_mailbox`: Exchange refuses any other
/// sender (554 5.2.252 SendAsDenied) unless that mailbox has Send As
/// permission on it.
pub fn sender_warning(form: &GuestEmailForm, oauth_mailbox: Option<&str>) -> Option<String> {
    let mailbox = oauth_mailbox?.trim();
    if !form.enabled || mailbox.is_empty() {
        return None;
    }
    if form.from_sponsor {
        return Some(format!(
            "Exchange Online sends only as {mailbox}, the mailbox on the SMTP Server page: a sponsor's own address is refused with 554 5.2.252 SendAsDenied unless {mailbox} has Send As permission on it. Choose \"Always use the default From address\" and set it to {mailbox}."
        ));
    }
    // An address that does not parse gets its field error instead.
    let from = EmailAddress::parse("default_from", &form.default_from).ok()?;
    let from = from.as_str();
    (!from.eq_ignore_ascii_case(mailbox)).then(|| {
        format!(
            "Exchange Online sends only as {mailbox}, the mailbox on the SMTP Server page: mail from {from} is refused with 554 5.2.252 SendAsDenied unless {mailbox} has Send As permission on it. Set the default From address to {mailbox}."
        )
    })
}

/// ISE's guest account states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GuestState {
    /// Created, not yet signed in.
    Created,
    Active,
    PendingApproval,
    Suspended,
    Expired,
    Denied,
}

impl GuestState {
    pub const ALL: [GuestState; 6] = [
        GuestState::Created,
        GuestState::Active,
        GuestState::PendingApproval,
        GuestState::Suspended,
        GuestState::Expired,
        GuestState::Denied,
    ];

    /// The stored form, which is also ISE's label.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestState::Created => "Created",
            GuestState::Active => "Active",
            GuestState::PendingApproval => "Pending Approval",
            GuestState::Suspended => "Suspended",
            GuestState::Expired => "Expired",
            GuestState::Denied => "Denied",
        }
    }

    pub fn parse(value: &str) -> Option<GuestState> {
        GuestState::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// ISE resends credentials only to accounts that may still sign in
    /// with them.
    pub fn may_resend(self) -> bool {
        matches!(self, GuestState::Created | GuestState::Active)
    }
}

/// What a guest's emails are rendered with. The password is present only
/// while it may be sent (credentials); notices carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestDetails {
    pub username: String,
    pub password: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub sponsor_name: String,
    pub person_visited: String,
    pub portal_name: String,
    pub valid_from: i64,
    pub valid_until: i64,
    /// The start and end written in the guest's language and the portal's
    /// time zone; None writes them in UTC.
    pub dates: Option<GuestDates>,
}

/// How a guest's start and end are written (each with the zone's offset
/// at that moment: one may be in summer time and the other not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestDates {
    pub from: LocalTime,
    pub until: LocalTime,
}

impl GuestDetails {
    fn date(&self, at: i64, local: impl Fn(&GuestDates) -> &LocalTime) -> String {
        match &self.dates {
            Some(dates) => local(dates).format(at),
            None => template::format_utc(at),
        }
    }
}

impl template::Values for GuestDetails {
    fn value(&self, placeholder: Placeholder) -> String {
        match placeholder {
            Placeholder::Username => self.username.clone(),
            Placeholder::Password => self
                .password
                .clone()
                .unwrap_or_else(|| "(not shown)".into()),
            Placeholder::FirstName => self.first_name.clone(),
            Placeholder::LastName => self.last_name.clone(),
            Placeholder::EmailAddress => self.email.clone(),
            Placeholder::Company => self.company.clone(),
            Placeholder::SponsorName => self.sponsor_name.clone(),
            Placeholder::PersonBeingVisited => self.person_visited.clone(),
            Placeholder::PortalName => self.portal_name.clone(),
            Placeholder::StartDateTime => self.date(self.valid_from, |d| &d.from),
            Placeholder::EndDateTime => self.date(self.valid_until, |d| &d.until),
            Placeholder::ApproveLink | Placeholder::DenyLink => String::new(),
        }
    }
}

/// A guest's details with the links of its approval request.
pub struct ApprovalRequest<'a> {
    pub guest: &'a GuestDetails,
    pub approve_link: String,
    pub deny_link: String,
}

impl template::Values for ApprovalRequest<'_> {
    fn value(&self, placeholder: Placeholder) -> String {
        match placeholder {
            Placeholder::ApproveLink => self.approve_link.clone(),
            Placeholder::DenyLink => self.deny_link.clone(),
            other => self.guest.value(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestEmailPage {
    pub form: GuestEmailForm,
    /// The mailbox the SMTP Server page signs in to Exchange Online as,
    /// when it uses OAuth: the only sender Exchange accepts.
    pub oauth_mailbox: Option<String>,
}

/// A self-registered guest waiting for approval, as its Approve or Deny
/// link shows it to the approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingGuest {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub person_visited: String,
    pub portal: String,
}

/// Where the Approve and Deny links point, under the console's address.
pub const APPROVAL_LINK_PATH: &str = "/sponsor/approval";

/// What an Approve or Deny link opens: the guest and one button, or why
/// the link can no longer act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalLink {
    pub approve: bool,
    /// Why nothing can be done with this link any more, if so.
    pub closed: Option<String>,
    /// Shown while the link still works, or once it has (not for an
    /// unknown link).
    pub guest: Option<PendingGuest>,
    /// The link requires a sponsor's credentials and none is signed in:
    /// the page sends the approver to the sponsor portal's sign-in.
    pub sign_in: bool,
}

/// What approving or denying did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDone {
    pub approved: bool,
    pub guest: PendingGuest,
    /// The credentials email or the denial notice was queued to the guest.
    pub emailed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAILBOX: &str = "noreply@contoso.onmicrosoft.com";

    #[test]
    fn the_default_from_must_be_an_address() {
        let mut form = GuestEmailForm::ise_defaults();
        assert!(form.validate().is_ok());
        form.default_from = "not an address".into();
        assert_eq!(form.validate().unwrap_err().field, "default_from");
        form.default_from = "a@b.example\r\nBcc: x@y.example".into();
        assert!(form.validate().is_err(), "no header injection");
    }

    #[test]
    fn the_sender_is_the_sponsor_only_when_chosen_and_known() {
        let mut settings = GuestEmailForm::ise_defaults().validate().unwrap();
        assert_eq!(settings.sender(Some("sponsor@contoso.com")), DEFAULT_FROM);
        settings.from_sponsor = true;
        assert_eq!(
            settings.sender(Some("sponsor@contoso.com")),
            "sponsor@contoso.com"
        );
        assert_eq!(
            settings.sender(None),
            DEFAULT_FROM,
            "self-registered guests"
        );
        assert_eq!(settings.sender(Some(" ")), DEFAULT_FROM);
    }

    #[test]
    fn exchange_oauth_warns_about_any_other_sender() {
        let mut form = GuestEmailForm::ise_defaults();
        assert!(sender_warning(&form, None).is_none(), "not OAuth");
        let warning = sender_warning(&form, Some(MAILBOX)).unwrap();
        assert!(warning.contains("554 5.2.252") && warning.contains(DEFAULT_FROM));
        form.default_from = "NoReply@Contoso.onmicrosoft.com".into();
        assert!(
            sender_warning(&form, Some(MAILBOX)).is_none(),
            "same mailbox"
        );
        form.from_sponsor = true;
        assert!(
            sender_warning(&form, Some(MAILBOX))
                .unwrap()
                .contains("sponsor")
        );
        form.enabled = false;
        assert!(
            sender_warning(&form, Some(MAILBOX)).is_none(),
            "no guest email"
        );
    }
}
