//! Guest email templates in ISE's `$name$` placeholder style. Pure, so the
//! portal page's live preview and the server render with the same rules.

use serde::{Deserialize, Serialize};

/// The placeholders a guest email may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Placeholder {
    Username,
    Password,
    FirstName,
    LastName,
    EmailAddress,
    Company,
    SponsorName,
    PersonBeingVisited,
    PortalName,
    StartDateTime,
    EndDateTime,
    /// The approval request's links (empty in any other email).
    ApproveLink,
    DenyLink,
}

impl Placeholder {
    pub const ALL: [Placeholder; 13] = [
        Placeholder::Username,
        Placeholder::Password,
        Placeholder::FirstName,
        Placeholder::LastName,
        Placeholder::EmailAddress,
        Placeholder::Company,
        Placeholder::SponsorName,
        Placeholder::PersonBeingVisited,
        Placeholder::PortalName,
        Placeholder::StartDateTime,
        Placeholder::EndDateTime,
        Placeholder::ApproveLink,
        Placeholder::DenyLink,
    ];

    /// The placeholders of a guest's own emails (credentials, notices).
    pub const GUEST: [Placeholder; 11] = [
        Placeholder::Username,
        Placeholder::Password,
        Placeholder::FirstName,
        Placeholder::LastName,
        Placeholder::EmailAddress,
        Placeholder::Company,
        Placeholder::SponsorName,
        Placeholder::PersonBeingVisited,
        Placeholder::PortalName,
        Placeholder::StartDateTime,
        Placeholder::EndDateTime,
    ];

    /// The name between the dollar signs.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Username => "ui_user_name",
            Placeholder::Password => "ui_password",
            Placeholder::FirstName => "ui_first_name",
            Placeholder::LastName => "ui_last_name",
            Placeholder::EmailAddress => "ui_email_address",
            Placeholder::Company => "ui_company",
            Placeholder::SponsorName => "ui_sponsor_name",
            Placeholder::PersonBeingVisited => "ui_person_visited",
            Placeholder::PortalName => "ui_portal_name",
            Placeholder::StartDateTime => "ui_start_date_time",
            Placeholder::EndDateTime => "ui_end_date_time",
            Placeholder::ApproveLink => "ui_approve_link",
            Placeholder::DenyLink => "ui_deny_link",
        }
    }

    pub fn token(self) -> String {
        format!("${}$", self.name())
    }

    pub fn label(self) -> &'static str {
        match self {
            Placeholder::Username => "Username",
            Placeholder::Password => "Password",
            Placeholder::FirstName => "First name",
            Placeholder::LastName => "Last name",
            Placeholder::EmailAddress => "Email address",
            Placeholder::Company => "Company",
            Placeholder::SponsorName => "Sponsor name",
            Placeholder::PersonBeingVisited => "Person being visited",
            Placeholder::PortalName => "Portal name",
            Placeholder::StartDateTime => "Start of access",
            Placeholder::EndDateTime => "End of access",
            Placeholder::ApproveLink => "Approve link",
            Placeholder::DenyLink => "Deny link",
        }
    }

    pub fn parse(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The values one email is rendered with.
pub trait Values {
    fn value(&self, placeholder: Placeholder) -> String;
}

/// What the preview pane and the test email show in place of a real guest.
pub struct SampleValues;

impl Values for SampleValues {
    fn value(&self, placeholder: Placeholder) -> String {
        match placeholder {
            Placeholder::Username => "jsmith42",
            Placeholder::Password => "Kx7#mQ2p",
            Placeholder::FirstName => "John",
            Placeholder::LastName => "Smith",
            Placeholder::EmailAddress => "john.smith@example.com",
            Placeholder::Company => "Smith & Sons <Consulting>",
            Placeholder::SponsorName => "Alice Sponsor",
            Placeholder::PersonBeingVisited => "alice@contoso.com",
            Placeholder::PortalName => "Self-Registered Guest Portal (default)",
            Placeholder::StartDateTime => "2026-11-29 09:00 UTC",
            Placeholder::EndDateTime => "2026-11-30 09:00 UTC",
            Placeholder::ApproveLink => {
                "https://mailroom.example.com/sponsor/approval/sample-approve"
            }
            Placeholder::DenyLink => "https://mailroom.example.com/sponsor/approval/sample-deny",
        }
        .to_string()
    }
}

impl SampleValues {
    /// The sample values with dates written in `language`.
    pub fn in_language(language: &str) -> SampleIn {
        SampleIn {
            language: language.to_string(),
        }
    }
}

/// The sample values in one language, for its preview and test email.
pub struct SampleIn {
    pub language: String,
}

/// The sample guest's access: 2026-11-29 09:00 to 2026-11-30 09:00 UTC.
const SAMPLE_START: i64 = 1_795_942_800;
const SAMPLE_END: i64 = SAMPLE_START + 86_400;

impl Values for SampleIn {
    fn value(&self, placeholder: Placeholder) -> String {
        let local = super::language::LocalTime {
            language: self.language.clone(),
            offset_seconds: 0,
            zone: "UTC".into(),
        };
        match placeholder {
            Placeholder::StartDateTime => local.format(SAMPLE_START),
            Placeholder::EndDateTime => local.format(SAMPLE_END),
            other => SampleValues.value(other),
        }
    }
}

enum Piece<'a> {
    Text(&'a str),
    Known(Placeholder),
    Unknown(&'a str),
}

/// A `$name$` is a placeholder when the name is 1-40 letters, digits or
/// underscores; any other dollar sign is literal text (prices, "$5").
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let closes = after[name_len..].starts_with('$');
        if closes && (1..=40).contains(&name_len) {
            let name = &after[..name_len];
            out.push(Piece::Text(&rest[..start]));
            out.push(match Placeholder::parse(name) {
                Some(known) => Piece::Known(known),
                None => Piece::Unknown(&rest[start..start + name_len + 2]),
            });
            rest = &after[name_len + 1..];
        } else {
            out.push(Piece::Text(&rest[..=start]));
            rest = after;
        }
    }
    out.push(Piece::Text(rest));
    out
}

/// The `$name$` tokens in `text` that are not known placeholders, in order
/// of first appearance.
pub fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut unknown: Vec<String> = Vec::new();
    for piece in pieces(text) {
        if let Piece::Unknown(token) = piece
            && !unknown.iter().any(|seen| seen == token)
        {
            unknown.push(token.to_string());
        }
    }
    unknown
}

/// The message for a template that names unknown placeholders.
pub fn unknown_message(unknown: &[String]) -> String {
    let known: Vec<String> = Placeholder::ALL.iter().map(|p| p.token()).collect();
    format!(
        "Unknown placeholder {}. Use one of {}.",
        unknown.join(", "),
        known.join(", ")
    )
}

pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How substituted values are written into the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A header line: line breaks in a value become spaces, so a guest's
    /// name cannot add headers.
    Subject,
    Text,
    /// The admin's HTML is kept; every value is HTML-escaped.
    Html,
}

/// Renders `template`, leaving unknown placeholders as they were written.
pub fn render(template: &str, values: &impl Values, part: Part) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Unknown(token) => out.push_str(token),
            Piece::Known(placeholder) => {
                let value = values.value(placeholder);
                match part {
                    Part::Subject => out.push_str(&value.replace(['\r', '\n'], " ")),
                    Part::Text => out.push_str(&value),
                    Part::Html => out.push_str(&escape_html(&value)),
                }
            }
        }
    }
    if part == Part::Subject {
        out = out.replace(['\r', '\n'], " ");
    }
    out
}

/// A Unix time as "YYYY-MM-DD HH:MM UTC", the form guests' emails and the
/// guest pages use. Pure arithmetic, so the browser formats the same way.
pub fn format_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let seconds = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm): no time crate in the browser build.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_placeholders_are_substituted_and_others_kept() {
        let text = "Hi $ui_first_name$, costs $5 or $$; $ui_nope$ and $ui_user_name$.";
        assert_eq!(
            render(text, &SampleValues, Part::Text),
            "Hi John, costs $5 or $$; $ui_nope$ and jsmith42."
        );
        assert_eq!(unknown_placeholders(text), vec!["$ui_nope$"]);
        assert_eq!(
            unknown_placeholders("$a$ $a$ $b$ $ui_password$"),
            vec!["$a$", "$b$"]
        );
        assert!(unknown_placeholders("no placeholders, just $ signs $").is_empty());
    }

    #[test]
    fn every_placeholder_round_trips_its_name() {
        for placeholder in Placeholder::ALL {
            assert_eq!(Placeholder::parse(placeholder.name()), Some(placeholder));
            assert!(unknown_placeholders(&placeholder.token()).is_empty());
        }
    }

    #[test]
    fn html_escapes_values_but_not_the_template() {
        let html = render("<b>$ui_company$</b>", &SampleValues, Part::Html);
        assert_eq!(html, "<b>Smith &amp; Sons &lt;Consulting&gt;</b>");
        assert_eq!(
            render("$ui_company$", &SampleValues, Part::Text),
            "Smith & Sons <Consulting>"
        );
    }

    struct Evil;
    impl Values for Evil {
        fn value(&self, _: Placeholder) -> String {
            "x\r\nBcc: victim@example.com".into()
        }
    }

    #[test]
    fn a_subject_never_carries_a_line_break() {
        let subject = render("Welcome $ui_first_name$\n", &Evil, Part::Subject);
        assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    }

    #[test]
    fn dates_format_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_772_009_854), "2026-02-25 08:57 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59 UTC");
    }
}
