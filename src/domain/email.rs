use super::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A single mailbox address (`local@domain`), parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        let invalid = |why: &str| {
            Err(FieldError::new(
                field,
                format!("Enter a valid email address ({why})."),
            ))
        };
        if value.is_empty() {
            return Err(FieldError::new(field, "Enter an email address."));
        }
        if value.len() > 254 {
            return invalid("at most 254 characters");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("no spaces or line breaks");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return invalid("name@domain");
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return invalid("name@domain");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return invalid("dots may not start, end or repeat in the name");
        }
        if local.chars().any(|c| "<>()[]\\,;:\"".contains(c)) {
            return invalid("the name has a character that is not allowed");
        }
        if !is_domain_name(domain) {
            return invalid("the domain is not a valid host name");
        }
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A DNS name of at most 253 characters whose labels are all valid.
pub fn is_host_name(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

/// A DNS name with at least two labels (a mail domain, a tenant domain).
pub fn is_domain_name(domain: &str) -> bool {
    domain.contains('.') && is_host_name(domain)
}

/// One DNS label: 1-63 letters, digits and inner hyphens.
fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EmailAddress::parse("email", &value).map_err(|e| e.message)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        let parsed = EmailAddress::parse("email", " No-Reply@Contoso.COM ").unwrap();
        assert_eq!(parsed.as_str(), "No-Reply@contoso.com");
        assert!(EmailAddress::parse("email", "a.b+tag@mail.example.org").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses_with_a_message_for_the_field() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@exa_mple.com",
            "a..b@example.com",
            "x@example.com\r\nBcc: y@example.com",
            "a@-example.com",
        ] {
            let err = EmailAddress::parse("email", bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
            assert!(!err.message.is_empty());
        }
    }
}
