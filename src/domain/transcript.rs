//! The redacted transcript of a Test Connection: the SMTP dialogue and the
//! token request as an admin may copy them into a ticket, with every bearer
//! token, client secret, assertion and password masked.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Sent,
    Received,
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub direction: Direction,
    pub text: String,
}

pub const MASK: &str = "********";

/// Form fields of a token request whose values are secret.
const SECRET_FORM_FIELDS: [&str; 3] = ["client_secret", "client_assertion", "password"];

/// Masks an SMTP command line before it is recorded: the argument of AUTH
/// (XOAUTH2 carries the bearer token, PLAIN and LOGIN the password) and any
/// continuation line of an AUTH exchange (`in_auth`).
pub fn redact_smtp_command(line: &str, in_auth: bool) -> String {
    if in_auth {
        return MASK.to_string();
    }
    let mut words = line.splitn(3, ' ');
    let verb = words.next().unwrap_or_default();
    if verb.eq_ignore_ascii_case("AUTH") {
        return match words.next() {
            Some(mechanism) if words.next().is_some() => format!("AUTH {mechanism} {MASK}"),
            Some(mechanism) => format!("AUTH {mechanism}"),
            None => "AUTH".to_string(),
        };
    }
    line.to_string()
}

/// Masks the secret fields of a form-encoded token request body.
pub fn redact_form_body(body: &str) -> String {
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_FORM_FIELDS.contains(&name) => format!("{name}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Masks `access_token` (and any refresh token) in a token response body.
pub fn redact_token_response(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) => {
            for key in ["access_token", "refresh_token", "id_token"] {
                if let Some(value) = map.get_mut(key) {
                    *value = serde_json::Value::String(MASK.into());
                }
            }
            serde_json::Value::Object(map).to_string()
        }
        // Not JSON: keep only its length, it might hold anything.
        _ => format!("<{} bytes, not JSON>", body.len()),
    }
}

/// The transcript as plain text for the Copy button.
pub fn to_text(lines: &[TranscriptLine]) -> String {
    lines
        .iter()
        .map(|line| {
            let prefix = match line.direction {
                Direction::Sent => "C: ",
                Direction::Received => "S: ",
                Direction::Note => "-- ",
            };
            format!("{prefix}{}", line.text)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_arguments_and_continuations_are_masked() {
        assert_eq!(
            redact_smtp_command(
                "AUTH XOAUTH2 dXNlcj1ub3JlcGx5QGNvbnRvc28uY29tAWF1dGg9QmVhcmVy",
                false
            ),
            "AUTH XOAUTH2 ********"
        );
        assert_eq!(
            redact_smtp_command("auth plain AGFkbWluAHNlY3JldA==", false),
            "AUTH plain ********"
        );
        assert_eq!(redact_smtp_command("AUTH LOGIN", false), "AUTH LOGIN");
        assert_eq!(redact_smtp_command("c2VjcmV0", true), MASK);
        assert_eq!(
            redact_smtp_command("MAIL FROM:<noreply@contoso.com>", false),
            "MAIL FROM:<noreply@contoso.com>"
        );
    }

    #[test]
    fn token_request_and_response_secrets_are_masked() {
        let body = "client_id=1b2c&client_secret=abc%7E123&scope=https%3A%2F%2Foutlook.office365.com%2F.default&grant_type=client_credentials";
        let redacted = redact_form_body(body);
        assert!(!redacted.contains("abc%7E123"));
        assert!(redacted.contains("client_secret=********") && redacted.contains("client_id=1b2c"));
        let response =
            r#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAi.secret.sig"}"#;
        let masked = redact_token_response(response);
        assert!(!masked.contains("eyJ0eXAi") && masked.contains("3599"));
        assert_eq!(
            redact_token_response("eyJ0eXAi.secret.sig"),
            "<19 bytes, not JSON>"
        );
    }

    #[test]
    fn text_form_marks_who_spoke() {
        let lines = [
            TranscriptLine {
                direction: Direction::Received,
                text: "220 ready".into(),
            },
            TranscriptLine {
                direction: Direction::Sent,
                text: "EHLO ise-pan-01".into(),
            },
            TranscriptLine {
                direction: Direction::Note,
                text: "TLS 1.3 established".into(),
            },
        ];
        assert_eq!(
            to_text(&lines),
            "S: 220 ready\nC: EHLO ise-pan-01\n-- TLS 1.3 established"
        );
    }
}
