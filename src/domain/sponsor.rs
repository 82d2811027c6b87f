//! Sponsors: their groups' permissions, what they may do to a guest
//! account in which state (ISE's rules), and the forms that create guests.
//! Pure: the sponsor portal and the server share it.

use super::guest::GuestState;
use super::portal::{Registration, RegistrationForm};
use super::{FieldError, reject_line_breaks};
use serde::{Deserialize, Serialize};

/// The most accounts one request creates (ISE's import limit).
pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ManageScope {
    #[default]
    Own,
    Group,
    All,
}

impl ManageScope {
    pub const ALL: [ManageScope; 3] = [ManageScope::Own, ManageScope::Group, ManageScope::All];

    pub fn as_str(self) -> &'static str {
        match self {
            ManageScope::Own => "own",
            ManageScope::Group => "group",
            ManageScope::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ManageScope::Own => "Only accounts sponsored by the user",
            ManageScope::Group => "Accounts sponsored by members of this sponsor group",
            ManageScope::All => "All guest accounts",
        }
    }

    pub fn parse(value: &str) -> Option<ManageScope> {
        ManageScope::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// Which pending self-registrations a sponsor group's members may see and
/// decide (ISE's two options under "Approve and view requests from
/// self-registering guests").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ApproveScope {
    /// Any pending accounts.
    Any,
    /// Only pending accounts assigned to this sponsor: it is the person
    /// being visited, or one of the addresses the request went to.
    #[default]
    Assigned,
}

impl ApproveScope {
    pub const ALL: [ApproveScope; 2] = [ApproveScope::Any, ApproveScope::Assigned];

    pub fn as_str(self) -> &'static str {
        match self {
            ApproveScope::Any => "any",
            ApproveScope::Assigned => "assigned",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ApproveScope::Any => "Any pending accounts",
            ApproveScope::Assigned => "Only pending accounts assigned to this sponsor",
        }
    }

    pub fn parse(value: &str) -> Option<ApproveScope> {
        ApproveScope::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// What a sponsor group's members may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SponsorPermissions {
    pub can_create: bool,
    pub scope: ManageScope,
    pub can_resend: bool,
    pub can_reset: bool,
    pub can_extend: bool,
    /// Suspend and reinstate.
    pub can_suspend: bool,
    pub can_delete: bool,
    /// "Access Cisco ISE guest accounts using the programmatic interface
    /// (Guest REST API)": the ERS `guestuser` endpoints, within the scope.
    pub can_use_api: bool,
    /// "Approve and view requests from self-registering guests".
    pub can_approve: bool,
    pub approve_scope: ApproveScope,
}

/// The Manage Accounts actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GuestAction {
    Resend,
    ResetPassword,
    Extend,
    Suspend,
    Reinstate,
    Delete,
}

impl GuestAction {
    pub const ALL: [GuestAction; 6] = [
        GuestAction::Resend,
        GuestAction::ResetPassword,
        GuestAction::Extend,
        GuestAction::Suspend,
        GuestAction::Reinstate,
        GuestAction::Delete,
    ];

    pub fn label(self) -> &'static str {
        match self {
            GuestAction::Resend => "Resend",
            GuestAction::ResetPassword => "Reset Password",
            GuestAction::Extend => "Extend",
            GuestAction::Suspend => "Suspend",
            GuestAction::Reinstate => "Reinstate",
            GuestAction::Delete => "Delete",
        }
    }

    /// The past tense for the result banner.
    pub fn done(self) -> &'static str {
        match self {
            GuestAction::Resend => "Credentials resent to",
            GuestAction::ResetPassword => "New password sent to",
            GuestAction::Extend => "Extended",
            GuestAction::Suspend => "Suspended",
            GuestAction::Reinstate => "Reinstated",
            GuestAction::Delete => "Deleted",
        }
    }

    pub fn permitted(self, permissions: &SponsorPermissions) -> bool {
        match self {
            GuestAction::Resend => permissions.can_resend,
            GuestAction::ResetPassword => permissions.can_reset,
            GuestAction::Extend => permissions.can_extend,
            GuestAction::Suspend | GuestAction::Reinstate => permissions.can_suspend,
            GuestAction::Delete => permissions.can_delete,
        }
    }

    /// ISE's rule for this action on an account in `state`; the message
    /// says what to do instead.
    pub fn check(
        self,
        state: GuestState,
        password_changed: bool,
        has_email: bool,
    ) -> Result<(), String> {
        let sends = matches!(self, GuestAction::Resend | GuestAction::ResetPassword);
        if sends && !state.may_resend() {
            return Err(format!(
                "{} is possible only for Created or Active accounts; this account is {}.",
                self.label(),
                state.as_str()
            ));
        }
        if self == GuestAction::Resend && password_changed {
            return Err(
                "The guest has changed the password, so the original credentials are no longer valid: use Reset Password to send new ones."
                    .into(),
            );
        }
        if sends && !has_email {
            return Err("The guest has no email address to send credentials to.".into());
        }
        match self {
            GuestAction::Suspend if !state.may_resend() => Err(format!(
                "Only Created or Active accounts can be suspended; this account is {}.",
                state.as_str()
            )),
            GuestAction::Reinstate if state != GuestState::Suspended => Err(format!(
                "Only Suspended accounts can be reinstated; this account is {}.",
                state.as_str()
            )),
            GuestAction::Extend
                if matches!(state, GuestState::Denied | GuestState::PendingApproval) =>
            {
                Err(format!("A {} account cannot be extended.", state.as_str()))
            }
            _ => Ok(()),
        }
    }
}

/// Adding a sponsor user (Sponsor Groups > Members).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SponsorUserForm {
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub password: String,
    pub group_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSponsorUser {
    pub username: String,
    pub full_name: String,
    pub email: super::EmailAddress,
    pub group_id: i64,
}

impl SponsorUserForm {
    /// Sponsor users follow the admins' name and password rules.
    pub fn validate(&self) -> Result<ValidSponsorUser, FieldError> {
        let username = super::AdminName::parse("username", &self.username)?;
        super::AdminPassword::check("password", &self.password, username.as_str())?;
        let full_name = self.full_name.trim();
        reject_line_breaks("full_name", full_name)?;
        if full_name.chars().count() > 128 {
            return Err(FieldError::new("full_name", "Use at most 128 characters."));
        }
        Ok(ValidSponsorUser {
            username: username.as_str().to_string(),
            full_name: full_name.into(),
            email: super::EmailAddress::parse("email", &self.email)?,
            group_id: self
                .group_id
                .trim()
                .parse()
                .map_err(|_| FieldError::new("group_id", "Choose a sponsor group."))?,
        })
    }
}

/// What one Manage Accounts action did, guest by guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionReport {
    /// User names the action was applied to.
    pub done: Vec<String>,
    /// (user name, why not) for the others.
    pub refused: Vec<(String, String)>,
    /// The credentials emails queued (Resend, Reset Password), for the
    /// progress bar.
    #[serde(default)]
    pub mail_ids: Vec<i64>,
}

/// How long new accounts last, checked against their guest type.
pub fn access_days(raw: &str, max_days: u32) -> Result<u32, FieldError> {
    match raw.trim().parse::<u32>() {
        Ok(days) if (1..=max_days).contains(&days) => Ok(days),
        _ => Err(FieldError::new(
            "duration_days",
            format!(
                "Enter a whole number of days from 1 to {max_days} (this guest type's maximum)."
            ),
        )),
    }
}

/// Create Accounts > Known guests: one guest with an address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KnownGuestForm {
    pub guest: RegistrationForm,
    pub guest_type_id: String,
    pub duration_days: String,
}

/// Create Accounts > Random: `count` accounts named `prefix` + number,
/// without addresses (their credentials are shown to the sponsor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RandomGuestsForm {
    pub count: String,
    pub prefix: String,
    pub company: String,
    pub guest_type_id: String,
    pub duration_days: String,
    /// The guests' notification language; empty: the portal's default.
    pub language: String,
}

/// Create Accounts > Import: a CSV file's text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportGuestsForm {
    pub csv: String,
    pub guest_type_id: String,
    pub duration_days: String,
    /// For the lines whose Notification Language column is empty or absent.
    pub language: String,
}

pub fn guest_type_id(raw: &str) -> Result<i64, FieldError> {
    raw.trim()
        .parse()
        .map_err(|_| FieldError::new("guest_type_id", "Choose a guest type."))
}

impl RandomGuestsForm {
    /// The count and the username prefix.
    pub fn validate(&self) -> Result<(usize, String), FieldError> {
        let count = match self.count.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_BATCH).contains(&n) => n,
            _ => {
                return Err(FieldError::new(
                    "count",
                    format!("Enter a number of accounts from 1 to {MAX_BATCH}."),
                ));
            }
        };
        let prefix = self.prefix.trim().to_lowercase();
        if prefix.is_empty()
            || prefix.len() > 20
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(FieldError::new(
                "prefix",
                "Use 1 to 20 letters, digits, dots, dashes or underscores.",
            ));
        }
        reject_line_breaks("company", &self.company)?;
        Ok((count, prefix))
    }
}

/// Splits one CSV line, honouring double quotes ("a, b" and "" inside).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// The guests in a CSV import. The header names the columns (ISE's
/// template: First Name, Last Name, Email Address, Company, Person Being
/// Visited; any order, case-insensitive). Every line must be valid, or the
/// error names the first bad one.
pub fn parse_guest_csv(text: &str) -> Result<Vec<Registration>, FieldError> {
    let error = |message: String| FieldError::new("csv", message);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(error(
            "The file is empty: it needs a header line and one line per guest.".into(),
        ));
    };
    let columns: Vec<String> = csv_fields(header.trim_start_matches('\u{feff}'))
        .iter()
        .map(|c| c.trim().to_lowercase().replace(['_', ' '], ""))
        .collect();
    let find = |names: &[&str]| columns.iter().position(|c| names.contains(&c.as_str()));
    let Some(email) = find(&["email", "emailaddress"]) else {
        return Err(error(
            "The header must name an Email Address column (First Name, Last Name, Email Address, Company, Person Being Visited)."
                .into(),
        ));
    };
    let first = find(&["firstname"]);
    let last = find(&["lastname"]);
    let company = find(&["company"]);
    let visited = find(&["personbeingvisited", "personvisited"]);
    let language = find(&["notificationlanguage", "language"]);
    let mut guests = Vec::new();
    for (index, line) in lines {
        let fields = csv_fields(line);
        let get = |column: Option<usize>| {
            column
                .and_then(|c| fields.get(c))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let form = RegistrationForm {
            first_name: get(first),
            last_name: get(last),
            email: get(Some(email)),
            company: get(company),
            person_visited: get(visited),
            accept_aup: true,
            language: get(language),
        };
        let guest = form
            .validate(false)
            .map_err(|e| error(format!("Line {}: {} ({})", index + 1, e.message, e.field)))?;
        guests.push(guest);
        if guests.len() > MAX_BATCH {
            return Err(error(format!(
                "Import at most {MAX_BATCH} guests at a time."
            )));
        }
    }
    if guests.is_empty() {
        return Err(error("The file has a header but no guests.".into()));
    }
    Ok(guests)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestTypeChoice {
    pub id: i64,
    pub name: String,
    pub default_days: u32,
    pub max_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorInfo {
    pub username: String,
    pub full_name: String,
    pub group: String,
    pub permissions: SponsorPermissions,
    pub guest_types: Vec<GuestTypeChoice>,
    /// The languages the guests' emails can be written in (tags).
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedGuest {
    pub id: i64,
    pub username: String,
    /// Shown to the sponsor only when no email carries it.
    pub password: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedBatch {
    pub guests: Vec<CreatedGuest>,
    /// The credentials emails, for the progress bar.
    pub mail_ids: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryProgress {
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
    /// The mailbox's pace (messages a minute; 0: not paced).
    pub per_minute: u32,
    /// Seconds until the batch's last email should go, when paced: it
    /// waits behind what was queued before it and what goes first.
    pub eta_seconds: Option<i64>,
    /// The mailbox is paused (its quota) until then, unix ms.
    pub paused_until_ms: Option<i64>,
}

/// What the mailbox can still send, shown before a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBudget {
    /// Messages a minute (0: not paced).
    pub per_minute: u32,
    /// Recipients left in the rolling 24 hours, when the day is limited.
    pub recipients_left: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsoredGuest {
    pub id: i64,
    pub username: String,
    pub state: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub guest_type: String,
    pub valid_until: i64,
    pub sponsor: String,
    /// The last credentials email's status label, if one was sent.
    pub delivery: Option<String>,
    pub delivery_reply: Option<String>,
    /// The notification language's tag; empty: the portal's default.
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsoredPage {
    pub rows: Vec<SponsoredGuest>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// A self-registration waiting for a sponsor (Pending Accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAccount {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub person_visited: String,
    pub guest_type: String,
    pub portal: String,
    /// When the guest registered, unix seconds.
    pub requested_at: i64,
    /// When the request ends Denied if nobody decides it.
    pub deny_at: Option<i64>,
}

pub const SPONSOR_HOME: &str = "/sponsor";

pub const SPONSOR_LOGIN: &str = "/sponsor/login";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorGroupSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub permissions: SponsorPermissions,
    pub members: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorUserSummary {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorGroupsPage {
    pub groups: Vec<SponsorGroupSummary>,
    pub users: Vec<SponsorUserSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resend_follows_ises_rule() {
        let resend = GuestAction::Resend;
        assert!(resend.check(GuestState::Created, false, true).is_ok());
        assert!(resend.check(GuestState::Active, false, true).is_ok());
        for state in [
            GuestState::Suspended,
            GuestState::Expired,
            GuestState::Denied,
            GuestState::PendingApproval,
        ] {
            let refusal = resend.check(state, false, true).unwrap_err();
            assert!(
                refusal.contains("only for Created or Active") && refusal.contains(state.as_str())
            );
        }
        let changed = resend.check(GuestState::Active, true, true).unwrap_err();
        assert!(changed.contains("Reset Password"), "{changed}");
        assert!(
            GuestAction::ResetPassword
                .check(GuestState::Active, true, true)
                .is_ok()
        );
        assert!(resend.check(GuestState::Created, false, false).is_err());
    }

    #[test]
    fn suspend_and_reinstate_follow_the_state() {
        assert!(
            GuestAction::Suspend
                .check(GuestState::Active, false, true)
                .is_ok()
        );
        assert!(
            GuestAction::Suspend
                .check(GuestState::Expired, false, true)
                .is_err()
        );
        assert!(
            GuestAction::Reinstate
                .check(GuestState::Suspended, false, true)
                .is_ok()
        );
        assert!(
            GuestAction::Reinstate
                .check(GuestState::Active, false, true)
                .is_err()
        );
        assert!(
            GuestAction::Delete
                .check(GuestState::Denied, false, false)
                .is_ok()
        );
    }

    #[test]
    fn permissions_gate_each_action() {
        let mut permissions = SponsorPermissions {
            can_suspend: true,
            ..SponsorPermissions::default()
        };
        assert!(GuestAction::Reinstate.permitted(&permissions));
        assert!(!GuestAction::Resend.permitted(&permissions));
        permissions.can_resend = true;
        assert!(GuestAction::Resend.permitted(&permissions));
        assert!(!GuestAction::Delete.permitted(&permissions));
    }

    #[test]
    fn csv_import_reads_ises_columns_in_any_order() {
        let csv = "\u{feff}Email Address,First Name,Last Name,Company\n\
                   ann@example.com,Ann,Lee,\"Lee, Sons & \"\"Co\"\"\"\n\
                   \n\
                   bob@example.com,Bob,Ray,\n";
        let guests = parse_guest_csv(csv).unwrap();
        assert_eq!(guests.len(), 2);
        assert_eq!(guests[0].company, "Lee, Sons & \"Co\"");
        assert_eq!(guests[1].email.as_str(), "bob@example.com");
        let languages = parse_guest_csv(
            "First Name,Last Name,Email Address,Notification Language\n\
             Ana,Ruiz,ana@example.com,ES-mx\nBo,Li,bo@example.com,\n",
        )
        .unwrap();
        assert_eq!(languages[0].language, "es-MX");
        assert_eq!(languages[1].language, "");
        let bad_language = parse_guest_csv("email,language\nana@example.com,spanish").unwrap_err();
        assert!(
            bad_language.message.starts_with("Line 2:"),
            "{}",
            bad_language.message
        );
        let bad = parse_guest_csv(
            "email,first_name,last_name\nann@example.com,Ann,Lee\nnot-an-address,B,C",
        )
        .unwrap_err();
        assert!(bad.message.starts_with("Line 3:"), "{}", bad.message);
        assert!(parse_guest_csv("first,last\nA,B").is_err());
        assert!(parse_guest_csv("email\n").is_err());
    }

    #[test]
    fn durations_and_random_batches_are_bounded() {
        assert_eq!(access_days("5", 5).unwrap(), 5);
        assert_eq!(access_days("6", 5).unwrap_err().field, "duration_days");
        let mut form = RandomGuestsForm {
            count: "50".into(),
            prefix: "Conf".into(),
            ..RandomGuestsForm::default()
        };
        assert_eq!(form.validate().unwrap(), (50, "conf".to_string()));
        form.count = "1001".into();
        assert_eq!(form.validate().unwrap_err().field, "count");
        form.count = "2".into();
        form.prefix = "a b".into();
        assert_eq!(form.validate().unwrap_err().field, "prefix");
    }
}
