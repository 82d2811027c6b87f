//! Administration > System > Settings > Proxy: the HTTP proxy that the token
//! requests go through. Pure: parsed the same way in the browser and on the
//! server.

use super::smtp::{SmtpHost, SmtpPort};
use super::{FieldError, reject_line_breaks};
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyForm {
    pub host: String,
    pub port: String,
    pub username: String,
    /// Write-only: blank keeps the stored password.
    pub password: String,
    /// Hosts and domains reached directly, separated by commas or lines.
    pub bypass: String,
}

impl std::fmt::Debug for ProxyForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyForm")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "********"
                },
            )
            .field("bypass", &self.bypass)
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum ProxySettings {
    /// No proxy: everything goes out directly.
    Direct,
    Proxy {
        host: SmtpHost,
        port: SmtpPort,
        username: Option<String>,
        new_password: Option<String>,
        bypass: Vec<String>,
    },
}

impl std::fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxySettings::Direct => f.write_str("Direct"),
            ProxySettings::Proxy {
                host,
                port,
                username,
                new_password,
                bypass,
            } => f
                .debug_struct("Proxy")
                .field("host", host)
                .field("port", port)
                .field("username", username)
                .field("new_password", &new_password.as_ref().map(|_| "********"))
                .field("bypass", bypass)
                .finish(),
        }
    }
}

/// One bypass entry: a host name, a domain (optionally `*.` or `.` first), or an IP address.
fn parse_bypass_entry(entry: &str) -> Result<String, FieldError> {
    let bare = entry
        .strip_prefix("*.")
        .or_else(|| entry.strip_prefix('.'))
        .unwrap_or(entry);
    SmtpHost::parse("bypass", bare)
        .map(|_| entry.to_ascii_lowercase())
        .map_err(|_| {
            FieldError::new(
                "bypass",
                format!(
                    "\"{entry}\" is not a host name, domain (such as .corp.example) or IP address."
                ),
            )
        })
}

impl ProxyForm {
    pub fn validate(&self) -> Result<ProxySettings, FieldError> {
        if self.host.trim().is_empty() {
            return Ok(ProxySettings::Direct);
        }
        let host = SmtpHost::parse("host", &self.host)
            .map_err(|_| FieldError::new("host", "Enter the proxy's host name or IP address."))?;
        let port = SmtpPort::parse("port", &self.port)?;
        reject_line_breaks("username", &self.username)?;
        reject_line_breaks("password", &self.password)?;
        let username = self.username.trim();
        if username.len() > 256 || username.contains(':') {
            return Err(FieldError::new(
                "username",
                "The user name must be at most 256 characters and contain no colon.",
            ));
        }
        let bypass = self
            .bypass
            .split([',', '\n', '\r', ' '])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(parse_bypass_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProxySettings::Proxy {
            host,
            port,
            username: (!username.is_empty()).then(|| username.to_string()),
            new_password: (!self.password.is_empty()).then(|| self.password.clone()),
            bypass,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyPage {
    pub form: ProxyForm,
    pub password_set: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_host_means_no_proxy() {
        assert_eq!(ProxyForm::default().validate(), Ok(ProxySettings::Direct));
    }

    #[test]
    fn host_port_and_bypass_entries_are_checked() {
        let form = ProxyForm {
            host: "proxy.corp.example".into(),
            port: "3128".into(),
            bypass: "localhost, .corp.example\n*.lab.example 10.0.0.5".into(),
            ..Default::default()
        };
        let ProxySettings::Proxy { bypass, port, .. } = form.validate().unwrap() else {
            panic!("a proxy")
        };
        assert_eq!(port.get(), 3128);
        assert_eq!(
            bypass,
            ["localhost", ".corp.example", "*.lab.example", "10.0.0.5"]
        );
        let bad = ProxyForm {
            bypass: "ok.example, not a host!".into(),
            ..form.clone()
        };
        assert_eq!(bad.validate().unwrap_err().field, "bypass");
        let no_port = ProxyForm {
            port: "0".into(),
            ..form
        };
        assert_eq!(no_port.validate().unwrap_err().field, "port");
    }
}
