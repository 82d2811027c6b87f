//! The SMTP Server page's values as domain types: parsed once, the same way
//! in the browser and on the server. Pure: no IO.

use super::{FieldError, reject_line_breaks};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// An SMTP server: a DNS host name (FQDN) or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpHost(String);

impl SmtpHost {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        reject_line_breaks(field, raw)?;
        let value = raw.trim();
        if value.is_empty() {
            return Err(FieldError::new(
                field,
                "Enter the SMTP server's host name or IP address.",
            ));
        }
        let unbracketed = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(value);
        if unbracketed.parse::<IpAddr>().is_ok() {
            return Ok(SmtpHost(unbracketed.to_string()));
        }
        let name = value.strip_suffix('.').unwrap_or(value);
        let labels_ok = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        // An all-numeric dotted name is a mistyped IPv4 address, not a host.
        let looks_numeric = name
            .split('.')
            .all(|label| label.chars().all(|c| c.is_ascii_digit()));
        if !labels_ok || looks_numeric {
            return Err(FieldError::new(
                field,
                "Enter a host name such as smtp.office365.com, or an IPv4 or IPv6 address.",
            ));
        }
        Ok(SmtpHost(name.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SmtpHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a whole number in `range`, with a message naming the range.
fn number_in(
    field: &str,
    raw: &str,
    range: std::ops::RangeInclusive<u32>,
    what: &str,
) -> Result<u32, FieldError> {
    let message = || {
        FieldError::new(
            field,
            format!(
                "{what} must be a whole number from {} to {}.",
                range.start(),
                range.end()
            ),
        )
    };
    let value: u32 = raw.trim().parse().map_err(|_| message())?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(message())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpPort(u16);

impl SmtpPort {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let port = number_in(field, raw, 1..=65_535, "The port")?;
        Ok(SmtpPort(u16::try_from(port).expect("range checked")))
    }
    pub fn get(self) -> u16 {
        self.0
    }
}

/// Connection timeout in seconds, 1-300 (ISE's default is 60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTimeout(u32);

impl ConnectionTimeout {
    pub const DEFAULT: ConnectionTimeout = ConnectionTimeout(60);

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Ok(ConnectionTimeout(number_in(
            field,
            raw,
            1..=300,
            "The connection timeout",
        )?))
    }
    pub fn seconds(self) -> u32 {
        self.0
    }
}

/// A GUID in its 8-4-4-4-12 hex form, stored lower-case.
fn parse_guid(raw: &str) -> Option<String> {
    let value = raw.trim();
    let groups: Vec<&str> = value.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()));
    shape_ok.then(|| value.to_ascii_lowercase())
}

/// The Entra application (client) ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        reject_line_breaks(field, raw)?;
        parse_guid(raw).map(ClientId).ok_or_else(|| {
            FieldError::new(
                field,
                "Enter the Application (client) ID from the app's Overview page in Entra ID: a GUID such as 1b2c3d4e-0000-4000-8000-00000000abcd.",
            )
        })
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The Directory (tenant) ID: a GUID or a verified domain of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        reject_line_breaks(field, raw)?;
        if let Some(guid) = parse_guid(raw) {
            return Ok(TenantId(guid));
        }
        let value = raw.trim().to_ascii_lowercase();
        // "common" and "organizations" are not tenants: client credentials need a real one.
        if super::email::is_domain_name(&value) {
            return Ok(TenantId(value));
        }
        Err(FieldError::new(
            field,
            "Enter the Directory (tenant) ID, a GUID, or a verified domain of the tenant such as contoso.onmicrosoft.com.",
        ))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The OAuth authority's base URL: `https://host[:port][/path]`, no query.
/// Plain http is accepted only for loopback hosts, which tests use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityUrl(String);

impl AuthorityUrl {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        reject_line_breaks(field, raw)?;
        let value = raw.trim().trim_end_matches('/');
        let invalid = |why: &str| {
            Err(FieldError::new(
                field,
                format!("Enter the authority as https://host[/path] ({why})."),
            ))
        };
        let (scheme, rest) = match value.split_once("://") {
            Some(parts) => parts,
            None => return invalid("it must start with https://"),
        };
        if rest.contains(['?', '#', '@', ' ']) {
            return invalid("no query, fragment, user name or spaces");
        }
        let authority = rest.split('/').next().unwrap_or_default();
        let host = if let Some(bracketed) = authority.strip_prefix('[') {
            bracketed.split(']').next().unwrap_or_default()
        } else {
            authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host)
        };
        if host.is_empty() {
            return invalid("a host is missing");
        }
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => return invalid("plain http is allowed only for a loopback test server"),
            _ => return invalid("it must start with https://"),
        }
        Ok(AuthorityUrl(format!(
            "{}://{rest}",
            scheme.to_ascii_lowercase()
        )))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Which Microsoft cloud the tenant lives in: it sets the authority, the
/// scope and the default SMTP host together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cloud {
    Global,
    UsGovernment,
    China,
    Custom(AuthorityUrl),
}

impl Cloud {
    pub fn label(&self) -> &'static str {
        match self {
            Cloud::Global => "Global (login.microsoftonline.com)",
            Cloud::UsGovernment => "US Government (login.microsoftonline.us)",
            Cloud::China => "China, operated by 21Vianet (login.partner.microsoftonline.cn)",
            Cloud::Custom(_) => "Custom authority URL",
        }
    }

    pub fn authority(&self) -> String {
        match self {
            Cloud::Global => "https://login.microsoftonline.com".into(),
            Cloud::UsGovernment => "https://login.microsoftonline.us".into(),
            Cloud::China => "https://login.partner.microsoftonline.cn".into(),
            Cloud::Custom(url) => url.as_str().into(),
        }
    }

    /// The Exchange Online resource's `.default` scope in this cloud. A
    /// custom authority (a test or sovereign endpoint) uses the global one.
    pub fn scope(&self) -> &'static str {
        match self {
            Cloud::UsGovernment => "https://outlook.office365.us/.default",
            Cloud::China => "https://partner.outlook.cn/.default",
            Cloud::Global | Cloud::Custom(_) => "https://outlook.office365.com/.default",
        }
    }

    pub fn default_smtp_host(&self) -> Option<&'static str> {
        match self {
            Cloud::Global => Some("smtp.office365.com"),
            Cloud::UsGovernment => Some("smtp.office365.us"),
            Cloud::China => Some("smtp.partner.outlook.cn"),
            Cloud::Custom(_) => None,
        }
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`: the read-only "OAuth Token
    /// Endpoint API" field.
    pub fn token_endpoint(&self, tenant: &TenantId) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority(), tenant.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_names_and_addresses() {
        assert_eq!(
            SmtpHost::parse("host", " SMTP.Office365.com. ")
                .unwrap()
                .as_str(),
            "smtp.office365.com"
        );
        assert_eq!(
            SmtpHost::parse("host", "10.0.0.25").unwrap().as_str(),
            "10.0.0.25"
        );
        assert_eq!(SmtpHost::parse("host", "[::1]").unwrap().as_str(), "::1");
        assert_eq!(
            SmtpHost::parse("host", "localhost").unwrap().as_str(),
            "localhost"
        );
        for bad in [
            "",
            "smtp server",
            "smtp_office.com",
            "300.1.1.1",
            "-bad.example.com",
            "host\r\nEHLO x",
            "a..b",
        ] {
            assert_eq!(
                SmtpHost::parse("host", bad).unwrap_err().field,
                "host",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ports_and_timeouts_have_ranges() {
        assert_eq!(SmtpPort::parse("port", "587").unwrap().get(), 587);
        assert_eq!(
            ConnectionTimeout::parse("timeout", "300")
                .unwrap()
                .seconds(),
            300
        );
        for bad in ["0", "65536", "-1", "25x", ""] {
            assert!(SmtpPort::parse("port", bad).is_err(), "{bad:?}");
        }
        let err = ConnectionTimeout::parse("timeout", "301").unwrap_err();
        assert_eq!(
            err.message,
            "The connection timeout must be a whole number from 1 to 300."
        );
        assert_eq!(ConnectionTimeout::DEFAULT.seconds(), 60);
    }

    #[test]
    fn client_and_tenant_ids() {
        let id = ClientId::parse("client_id", " 1B2C3D4E-0000-4000-8000-00000000ABCD ").unwrap();
        assert_eq!(id.as_str(), "1b2c3d4e-0000-4000-8000-00000000abcd");
        assert!(ClientId::parse("client_id", "1b2c3d4e00004000800000000000abcd").is_err());
        assert!(ClientId::parse("client_id", "contoso.onmicrosoft.com").is_err());
        assert!(TenantId::parse("tenant_id", "contoso.onmicrosoft.com").is_ok());
        assert!(TenantId::parse("tenant_id", "72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        for bad in ["", "contoso", "common\n", "not a tenant"] {
            assert!(TenantId::parse("tenant_id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn authorities_must_be_https_except_on_loopback() {
        assert!(AuthorityUrl::parse("authority", "https://login.example.net/").is_ok());
        assert!(AuthorityUrl::parse("authority", "http://127.0.0.1:8443").is_ok());
        assert!(AuthorityUrl::parse("authority", "http://localhost:9000/entra").is_ok());
        assert!(AuthorityUrl::parse("authority", "http://[::1]:9000").is_ok());
        for bad in [
            "http://login.example.net",
            "ftp://x",
            "login.example.net",
            "https://",
            "https://a@b",
            "https://x/?q=1",
        ] {
            assert!(AuthorityUrl::parse("authority", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clouds_set_authority_scope_and_host_together() {
        let tenant = TenantId::parse("tenant_id", "contoso.onmicrosoft.com").unwrap();
        assert_eq!(
            Cloud::Global.token_endpoint(&tenant),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            Cloud::Global.scope(),
            "https://outlook.office365.com/.default"
        );
        assert_eq!(
            Cloud::UsGovernment.default_smtp_host(),
            Some("smtp.office365.us")
        );
        assert_eq!(
            Cloud::China.authority(),
            "https://login.partner.microsoftonline.cn"
        );
        let custom =
            Cloud::Custom(AuthorityUrl::parse("authority", "http://127.0.0.1:8443/").unwrap());
        assert_eq!(
            custom.token_endpoint(&tenant),
            "http://127.0.0.1:8443/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(custom.default_smtp_host(), None);
    }
}
