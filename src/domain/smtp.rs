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
        let labels_ok = super::email::is_host_name(name);
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
    /// The tenant's GUID, when it was given as one (a domain has none to compare).
    pub fn guid(&self) -> Option<&str> {
        parse_guid(&self.0).map(|_| self.0.as_str())
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

    /// Microsoft Graph's service root in this cloud (US Government L4;
    /// its DoD cloud, `https://dod-graph.microsoft.us`, is typed as the
    /// Graph endpoint). A custom authority serves Graph at its own root
    /// unless another endpoint is given.
    pub fn graph_root(&self) -> String {
        match self {
            Cloud::Global => "https://graph.microsoft.com".into(),
            Cloud::UsGovernment => "https://graph.microsoft.us".into(),
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn".into(),
            Cloud::Custom(url) => url.as_str().into(),
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

/// How mail leaves with OAuth: Exchange's SMTP submission port with AUTH
/// XOAUTH2, or Microsoft Graph's `sendMail` over HTTPS (for tenants where
/// SMTP AUTH is turned off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailTransport {
    Smtp,
    Graph {
        /// The service root, such as `https://graph.microsoft.com`.
        endpoint: String,
    },
}

impl MailTransport {
    pub fn label(&self) -> &'static str {
        match self {
            MailTransport::Smtp => "SMTP AUTH (XOAUTH2)",
            MailTransport::Graph { .. } => "Microsoft Graph (sendMail)",
        }
    }
}

/// The token scope for Graph: the `.default` scope on the Graph root's own
/// domain, as national clouds require. A custom authority (a test or
/// sovereign endpoint) asks for the global one, as it does for Exchange.
pub fn graph_scope(cloud: &Cloud, endpoint: &str) -> String {
    match cloud {
        Cloud::Custom(_) => "https://graph.microsoft.com/.default".into(),
        _ => format!("{}/.default", endpoint.trim_end_matches('/')),
    }
}

/// A certificate credential: public facts only, and the certificate itself
/// (PEM) for upload to the Entra app. Its private key never leaves the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthCertificateInfo {
    pub id: i64,
    pub subject: String,
    /// Hex SHA-256 of the certificate (Entra shows the SHA-1 thumbprint; both identify it).
    pub sha256: String,
    pub x5t_s256: String,
    pub not_before: i64,
    pub not_after: i64,
    pub origin: String,
    pub pem: String,
}

/// The page's values. Secrets are never sent: only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpPage {
    pub form: SmtpSettingsForm,
    pub password_set: bool,
    pub client_secret_set: bool,
    /// The certificate credential the saved settings name, if any.
    pub certificate: Option<OAuthCertificateInfo>,
    /// Whether a next client secret is staged, and its expiry date.
    pub next_secret_set: bool,
    pub next_secret_expiry: String,
    /// The certificate staged to replace the certificate credential.
    pub next_certificate: Option<OAuthCertificateInfo>,
    /// Saved OAuth settings without their client secret or certificate
    /// (restored from a backup): mail waits until it is entered again.
    pub credential_missing: bool,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

/// The Next Client Secret section as posted. The value is write-only:
/// blank keeps the staged one.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NextSecretForm {
    pub next_client_secret: String,
    pub next_secret_expiry: String,
}

impl fmt::Debug for NextSecretForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextSecretForm")
            .field(
                "next_client_secret",
                &if self.next_client_secret.is_empty() {
                    ""
                } else {
                    "********"
                },
            )
            .field("next_secret_expiry", &self.next_secret_expiry)
            .finish()
    }
}

/// A next client secret: a new value (or the staged one) and its expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct NextSecret {
    pub new_value: Option<String>,
    pub expiry: Date,
}

impl fmt::Debug for NextSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextSecret")
            .field("new_value", &new_secret_marker(&self.new_value))
            .field("expiry", &self.expiry)
            .finish()
    }
}

impl NextSecretForm {
    /// `staged`: whether a next secret is already in the vault.
    pub fn validate(&self, staged: bool) -> Result<NextSecret, FieldError> {
        let field = "next_client_secret";
        reject_line_breaks(field, &self.next_client_secret)?;
        let new_value =
            (!self.next_client_secret.is_empty()).then(|| self.next_client_secret.clone());
        if new_value.is_none() && !staged {
            return Err(FieldError::new(
                field,
                "Enter the next client secret's value (Entra ID > Certificates & secrets > New client secret).",
            ));
        }
        if new_value.as_ref().is_some_and(|v| v.trim() != v) {
            return Err(FieldError::new(
                field,
                "The secret starts or ends with a space: paste the value exactly.",
            ));
        }
        Ok(NextSecret {
            new_value,
            expiry: Date::parse("next_secret_expiry", &self.next_secret_expiry)?,
        })
    }
}

pub const SAVE_NEEDS_TEST: &str = "Run Test Connection with these values first: the configuration can only be saved after a successful test.";

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

/// A calendar date as `YYYY-MM-DD` (the secret's expiry date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let message = || FieldError::new(field, "Enter the date as YYYY-MM-DD.");
        let parts: Vec<&str> = raw.trim().split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(message());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(message());
        }
        let (year, month, day): (u16, u8, u8) = (
            y.parse().map_err(|_| message())?,
            m.parse().map_err(|_| message())?,
            d.parse().map_err(|_| message())?,
        );
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(FieldError::new(field, "There is no such month.")),
        };
        if !(2000..=2199).contains(&year) || day == 0 || day > days_in_month {
            return Err(FieldError::new(field, "There is no such date."));
        }
        Ok(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The SMTP Server page as posted. Secret fields are write-only: blank
/// means "keep the stored one".
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettingsForm {
    pub smtp_server: String,
    pub smtp_port: String,
    pub connection_timeout: String,
    pub use_tls: bool,
    pub use_authentication: bool,
    /// "password" or "oauth".
    pub auth_type: String,
    pub username: String,
    pub password: String,
    /// "global", "us_government", "china" or "custom".
    pub cloud: String,
    pub custom_authority: String,
    pub client_id: String,
    pub tenant_id: String,
    /// "secret" or "certificate".
    pub credential: String,
    pub client_secret: String,
    pub secret_expiry: String,
    /// The certificate credential to use (its ID), when `credential` is "certificate".
    pub certificate_id: String,
    /// With OAuth: "smtp" (AUTH XOAUTH2) or "graph" (Microsoft Graph sendMail).
    pub transport: String,
    /// The Graph service root; blank means the cloud's own.
    pub graph_endpoint: String,
}

/// Masks the secret fields, so a logged form never shows them.
impl fmt::Debug for SmtpSettingsForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |value: &str| if value.is_empty() { "" } else { "********" };
        f.debug_struct("SmtpSettingsForm")
            .field("smtp_server", &self.smtp_server)
            .field("smtp_port", &self.smtp_port)
            .field("connection_timeout", &self.connection_timeout)
            .field("use_tls", &self.use_tls)
            .field("use_authentication", &self.use_authentication)
            .field("auth_type", &self.auth_type)
            .field("username", &self.username)
            .field("password", &masked(&self.password))
            .field("cloud", &self.cloud)
            .field("custom_authority", &self.custom_authority)
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("credential", &self.credential)
            .field("client_secret", &masked(&self.client_secret))
            .field("secret_expiry", &self.secret_expiry)
            .field("certificate_id", &self.certificate_id)
            .field("transport", &self.transport)
            .field("graph_endpoint", &self.graph_endpoint)
            .finish()
    }
}

/// What is already stored, which decides whether a blank secret is allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredSecrets {
    pub password: bool,
    pub client_secret: bool,
    /// The certificate the form names exists, with its private key.
    pub certificate: bool,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OAuthCredential {
    /// The new secret value, or `None` to keep the stored one.
    Secret {
        new_value: Option<String>,
        expiry: Date,
    },
    Certificate {
        id: i64,
    },
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SmtpAuth {
    None,
    Password {
        username: String,
        new_password: Option<String>,
    },
    OAuth {
        mailbox: super::EmailAddress,
        cloud: Cloud,
        client_id: ClientId,
        tenant_id: TenantId,
        credential: OAuthCredential,
        transport: MailTransport,
    },
}

/// Shows whether a new secret was given, never its value.
fn new_secret_marker(value: &Option<String>) -> &'static str {
    if value.is_some() {
        "Some(********)"
    } else {
        "None"
    }
}

impl fmt::Debug for OAuthCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OAuthCredential::Secret { new_value, expiry } => f
                .debug_struct("Secret")
                .field("new_value", &new_secret_marker(new_value))
                .field("expiry", expiry)
                .finish(),
            OAuthCredential::Certificate { id } => write!(f, "Certificate({id})"),
        }
    }
}

impl fmt::Debug for SmtpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpAuth::None => f.write_str("None"),
            SmtpAuth::Password {
                username,
                new_password,
            } => f
                .debug_struct("Password")
                .field("username", username)
                .field("new_password", &new_secret_marker(new_password))
                .finish(),
            SmtpAuth::OAuth {
                mailbox,
                cloud,
                client_id,
                tenant_id,
                credential,
                transport,
            } => f
                .debug_struct("OAuth")
                .field("mailbox", mailbox)
                .field("cloud", cloud)
                .field("client_id", client_id)
                .field("tenant_id", tenant_id)
                .field("credential", credential)
                .field("transport", transport)
                .finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpSettings {
    pub host: SmtpHost,
    pub port: SmtpPort,
    pub timeout: ConnectionTimeout,
    pub use_tls: bool,
    pub auth: SmtpAuth,
}

impl SmtpSettingsForm {
    /// Checks every field, in the browser and again on the server.
    pub fn validate(&self, stored: StoredSecrets) -> Result<SmtpSettings, FieldError> {
        let host = SmtpHost::parse("smtp_server", &self.smtp_server)?;
        let port = SmtpPort::parse("smtp_port", &self.smtp_port)?;
        let timeout = ConnectionTimeout::parse("connection_timeout", &self.connection_timeout)?;
        let auth = if !self.use_authentication {
            SmtpAuth::None
        } else {
            match self.auth_type.as_str() {
                "password" => {
                    reject_line_breaks("username", &self.username)?;
                    let username = self.username.trim();
                    if username.is_empty() || username.len() > 256 {
                        return Err(FieldError::new(
                            "username",
                            "Enter the SMTP user name (at most 256 characters).",
                        ));
                    }
                    reject_line_breaks("password", &self.password)?;
                    let new_password = (!self.password.is_empty()).then(|| self.password.clone());
                    if new_password.is_none() && !stored.password {
                        return Err(FieldError::new("password", "Enter the password."));
                    }
                    SmtpAuth::Password {
                        username: username.to_string(),
                        new_password,
                    }
                }
                "oauth" => {
                    let mailbox = super::EmailAddress::parse("username", &self.username).map_err(|_| {
                        FieldError::new("username", "Enter the full Exchange Online mailbox address that sends, such as noreply@contoso.com.")
                    })?;
                    let cloud = match self.cloud.as_str() {
                        "global" | "" => Cloud::Global,
                        "us_government" => Cloud::UsGovernment,
                        "china" => Cloud::China,
                        "custom" => Cloud::Custom(AuthorityUrl::parse(
                            "custom_authority",
                            &self.custom_authority,
                        )?),
                        _ => return Err(FieldError::new("cloud", "Choose a cloud.")),
                    };
                    let client_id = ClientId::parse("client_id", &self.client_id)?;
                    let tenant_id = TenantId::parse("tenant_id", &self.tenant_id)?;
                    let credential = match self.credential.as_str() {
                        "secret" | "" => {
                            reject_line_breaks("client_secret", &self.client_secret)?;
                            let new_value = (!self.client_secret.is_empty())
                                .then(|| self.client_secret.clone());
                            if new_value.is_none() && !stored.client_secret {
                                return Err(FieldError::new(
                                    "client_secret",
                                    "Enter the client secret's value.",
                                ));
                            }
                            if new_value.as_ref().is_some_and(|v| v.trim() != v) {
                                return Err(FieldError::new(
                                    "client_secret",
                                    "The secret starts or ends with a space: paste the value exactly.",
                                ));
                            }
                            OAuthCredential::Secret {
                                new_value,
                                expiry: Date::parse("secret_expiry", &self.secret_expiry)?,
                            }
                        }
                        "certificate" => {
                            let id = self
                                .certificate_id
                                .trim()
                                .parse::<i64>()
                                .ok()
                                .filter(|id| *id > 0);
                            match id {
                                Some(id) if stored.certificate => {
                                    OAuthCredential::Certificate { id }
                                }
                                _ => {
                                    return Err(FieldError::new(
                                        "credential",
                                        "Generate or upload a certificate first.",
                                    ));
                                }
                            }
                        }
                        _ => {
                            return Err(FieldError::new(
                                "credential",
                                "Choose a client secret or a certificate.",
                            ));
                        }
                    };
                    let transport = match self.transport.as_str() {
                        "smtp" | "" => MailTransport::Smtp,
                        "graph" => {
                            let endpoint = if self.graph_endpoint.trim().is_empty() {
                                cloud.graph_root()
                            } else {
                                AuthorityUrl::parse("graph_endpoint", &self.graph_endpoint)
                                    .map_err(|_| {
                                        FieldError::new(
                                            "graph_endpoint",
                                            "Enter Microsoft Graph's address as https://host, such as https://dod-graph.microsoft.us, or leave it blank for the cloud's own.",
                                        )
                                    })?
                                    .as_str()
                                    .to_string()
                            };
                            MailTransport::Graph { endpoint }
                        }
                        _ => {
                            return Err(FieldError::new(
                                "transport",
                                "Choose SMTP AUTH (XOAUTH2) or Microsoft Graph (sendMail).",
                            ));
                        }
                    };
                    SmtpAuth::OAuth {
                        mailbox,
                        cloud,
                        client_id,
                        tenant_id,
                        credential,
                        transport,
                    }
                }
                _ => {
                    return Err(FieldError::new(
                        "auth_type",
                        "Choose Password-based or MS Exchange Online OAuth.",
                    ));
                }
            }
        };
        Ok(SmtpSettings {
            host,
            port,
            timeout,
            use_tls: self.use_tls,
            auth,
        })
    }
}

impl SmtpSettings {
    /// The Graph service root, when mail goes through Microsoft Graph.
    pub fn graph_endpoint(&self) -> Option<&str> {
        match &self.auth {
            SmtpAuth::OAuth {
                transport: MailTransport::Graph { endpoint },
                ..
            } => Some(endpoint),
            _ => None,
        }
    }

    /// The certificate credential's certificate, when they use one.
    pub fn certificate_id(&self) -> Option<i64> {
        match &self.auth {
            SmtpAuth::OAuth {
                credential: OAuthCredential::Certificate { id },
                ..
            } => Some(*id),
            _ => None,
        }
    }

    /// The same settings signing with certificate `id` instead: how a
    /// staged next certificate is tried. `None` unless they use the
    /// certificate credential.
    pub fn with_certificate(&self, id: i64) -> Option<SmtpSettings> {
        let mut changed = self.clone();
        match &mut changed.auth {
            SmtpAuth::OAuth {
                credential: OAuthCredential::Certificate { id: current },
                ..
            } => *current = id,
            _ => return None,
        }
        Some(changed)
    }

    /// The OAuth token's scope: Graph's or Exchange Online's.
    pub fn token_scope(&self) -> Option<String> {
        let SmtpAuth::OAuth {
            cloud, transport, ..
        } = &self.auth
        else {
            return None;
        };
        Some(match transport {
            MailTransport::Smtp => cloud.scope().to_string(),
            MailTransport::Graph { endpoint } => graph_scope(cloud, endpoint),
        })
    }

    /// Every value a Test Connection depends on, secrets excluded, in one
    /// canonical string. The server binds a successful test to this plus
    /// the secret's identity, and refuses a save whose values differ.
    pub fn fingerprint(&self) -> String {
        let auth = match &self.auth {
            SmtpAuth::None => "none".to_string(),
            SmtpAuth::Password { username, .. } => format!("password|{username}"),
            SmtpAuth::OAuth {
                mailbox,
                cloud,
                client_id,
                tenant_id,
                credential,
                transport,
            } => {
                let credential = match credential {
                    OAuthCredential::Secret { expiry, .. } => format!("secret|{expiry}"),
                    OAuthCredential::Certificate { id } => format!("certificate|{id}"),
                };
                let transport = match transport {
                    MailTransport::Smtp => String::new(),
                    MailTransport::Graph { endpoint } => format!("|graph|{endpoint}"),
                };
                format!(
                    "oauth|{}|{}|{}|{}|{credential}{transport}",
                    mailbox.as_str(),
                    cloud.authority(),
                    client_id.as_str(),
                    tenant_id.as_str()
                )
            }
        };
        format!(
            "{}|{}|{}|{}|{auth}",
            self.host,
            self.port.get(),
            self.timeout.seconds(),
            self.use_tls
        )
    }
}

#[cfg(test)]
mod form_tests {
    use super::*;

    fn oauth_form() -> SmtpSettingsForm {
        SmtpSettingsForm {
            smtp_server: "smtp.office365.com".into(),
            smtp_port: "587".into(),
            connection_timeout: "60".into(),
            use_tls: true,
            use_authentication: true,
            auth_type: "oauth".into(),
            username: "noreply@contoso.com".into(),
            cloud: "global".into(),
            client_id: "1b2c3d4e-0000-4000-8000-00000000abcd".into(),
            tenant_id: "contoso.onmicrosoft.com".into(),
            credential: "secret".into(),
            client_secret: "Abc~defGhi.jkl_123".into(),
            secret_expiry: "2027-06-30".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_oauth_form_validates() {
        let settings = oauth_form().validate(StoredSecrets::default()).unwrap();
        let SmtpAuth::OAuth {
            credential, cloud, ..
        } = &settings.auth
        else {
            panic!("oauth expected")
        };
        assert_eq!(cloud, &Cloud::Global);
        assert_eq!(
            credential,
            &OAuthCredential::Secret {
                new_value: Some("Abc~defGhi.jkl_123".into()),
                expiry: Date {
                    year: 2027,
                    month: 6,
                    day: 30
                }
            }
        );
    }

    #[test]
    fn a_blank_secret_keeps_the_stored_one_only_if_there_is_one() {
        let mut form = oauth_form();
        form.client_secret.clear();
        assert_eq!(
            form.validate(StoredSecrets::default()).unwrap_err().field,
            "client_secret"
        );
        let stored = StoredSecrets {
            client_secret: true,
            ..Default::default()
        };
        let settings = form.validate(stored).unwrap();
        assert!(matches!(
            settings.auth,
            SmtpAuth::OAuth {
                credential: OAuthCredential::Secret {
                    new_value: None,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = fn(&mut SmtpSettingsForm);
        let cases: [(&str, Change); 10] = [
            ("smtp_server", |f| f.smtp_server = "smtp server".into()),
            ("smtp_port", |f| f.smtp_port = "0".into()),
            ("connection_timeout", |f| {
                f.connection_timeout = "301".into()
            }),
            ("username", |f| f.username = "noreply".into()),
            ("client_id", |f| f.client_id = "contoso".into()),
            ("tenant_id", |f| f.tenant_id = "contoso".into()),
            ("custom_authority", |f| {
                f.cloud = "custom".into();
                f.custom_authority = "http://login.example.net".into();
            }),
            ("secret_expiry", |f| f.secret_expiry = "2027-02-30".into()),
            ("client_secret", |f| f.client_secret = " padded ".into()),
            ("credential", |f| f.credential = "certificate".into()),
        ];
        for (field, change) in cases {
            let mut form = oauth_form();
            change(&mut form);
            assert_eq!(
                form.validate(StoredSecrets::default()).unwrap_err().field,
                field
            );
        }
    }

    #[test]
    fn password_auth_and_no_auth() {
        let mut form = oauth_form();
        form.auth_type = "password".into();
        form.username = "relay-user".into();
        form.password = "p@ss".into();
        assert!(matches!(
            form.validate(StoredSecrets::default()).unwrap().auth,
            SmtpAuth::Password { .. }
        ));
        form.use_authentication = false;
        assert_eq!(
            form.validate(StoredSecrets::default()).unwrap().auth,
            SmtpAuth::None
        );
    }

    #[test]
    fn the_fingerprint_changes_with_any_tested_value_but_not_with_the_secret() {
        let base = oauth_form()
            .validate(StoredSecrets::default())
            .unwrap()
            .fingerprint();
        let mut other_secret = oauth_form();
        other_secret.client_secret = "another-value".into();
        assert_eq!(
            other_secret
                .validate(StoredSecrets::default())
                .unwrap()
                .fingerprint(),
            base
        );
        assert!(!base.contains("Abc~def"), "no secret in the fingerprint");
        let mut other_port = oauth_form();
        other_port.smtp_port = "25".into();
        assert_ne!(
            other_port
                .validate(StoredSecrets::default())
                .unwrap()
                .fingerprint(),
            base
        );
        let mut other_tenant = oauth_form();
        other_tenant.tenant_id = "fabrikam.onmicrosoft.com".into();
        assert_ne!(
            other_tenant
                .validate(StoredSecrets::default())
                .unwrap()
                .fingerprint(),
            base
        );
    }

    #[test]
    fn graph_takes_the_clouds_root_or_a_typed_one_and_its_own_scope() {
        let mut form = oauth_form();
        form.transport = "graph".into();
        let settings = form.validate(StoredSecrets::default()).unwrap();
        assert_eq!(
            settings.graph_endpoint(),
            Some("https://graph.microsoft.com")
        );
        assert_eq!(
            settings.token_scope().as_deref(),
            Some("https://graph.microsoft.com/.default")
        );
        form.cloud = "us_government".into();
        form.graph_endpoint = "https://dod-graph.microsoft.us/".into();
        let dod = form.validate(StoredSecrets::default()).unwrap();
        assert_eq!(dod.graph_endpoint(), Some("https://dod-graph.microsoft.us"));
        assert_eq!(
            dod.token_scope().as_deref(),
            Some("https://dod-graph.microsoft.us/.default")
        );
        form.cloud = "china".into();
        form.graph_endpoint.clear();
        assert_eq!(
            form.validate(StoredSecrets::default())
                .unwrap()
                .graph_endpoint(),
            Some("https://microsoftgraph.chinacloudapi.cn")
        );
        // A test authority serves Graph too, with the global scope.
        form.cloud = "custom".into();
        form.custom_authority = "http://127.0.0.1:8443".into();
        let custom = form.validate(StoredSecrets::default()).unwrap();
        assert_eq!(custom.graph_endpoint(), Some("http://127.0.0.1:8443"));
        assert_eq!(
            custom.token_scope().as_deref(),
            Some("https://graph.microsoft.com/.default")
        );
        form.graph_endpoint = "http://graph.example.net".into();
        assert_eq!(
            form.validate(StoredSecrets::default()).unwrap_err().field,
            "graph_endpoint"
        );
        form.transport = "carrier-pigeon".into();
        assert_eq!(
            form.validate(StoredSecrets::default()).unwrap_err().field,
            "transport"
        );
    }

    #[test]
    fn the_transport_is_part_of_what_a_test_proved() {
        let smtp = oauth_form().validate(StoredSecrets::default()).unwrap();
        let mut form = oauth_form();
        form.transport = "graph".into();
        let graph = form.validate(StoredSecrets::default()).unwrap();
        assert_ne!(smtp.fingerprint(), graph.fingerprint());
        assert_eq!(
            smtp.token_scope().as_deref(),
            Some("https://outlook.office365.com/.default")
        );
        assert_eq!(smtp.graph_endpoint(), None);
    }

    #[test]
    fn a_next_secret_needs_a_value_unless_one_is_staged_and_a_real_date() {
        let form = NextSecretForm {
            next_client_secret: "Next~Value".into(),
            next_secret_expiry: "2028-01-31".into(),
        };
        let next = form.validate(false).unwrap();
        assert_eq!(next.new_value.as_deref(), Some("Next~Value"));
        assert_eq!(next.expiry.to_string(), "2028-01-31");
        assert!(!format!("{form:?}").contains("Next~Value"), "masked");
        let blank = NextSecretForm {
            next_client_secret: String::new(),
            ..form.clone()
        };
        assert_eq!(
            blank.validate(false).unwrap_err().field,
            "next_client_secret"
        );
        assert_eq!(blank.validate(true).unwrap().new_value, None);
        let padded = NextSecretForm {
            next_client_secret: " Next~Value".into(),
            ..form.clone()
        };
        assert_eq!(
            padded.validate(true).unwrap_err().field,
            "next_client_secret"
        );
        let no_date = NextSecretForm {
            next_secret_expiry: "2028-02-30".into(),
            ..form
        };
        assert_eq!(
            no_date.validate(true).unwrap_err().field,
            "next_secret_expiry"
        );
    }

    #[test]
    fn dates_are_real_calendar_dates() {
        assert_eq!(
            Date::parse("d", "2028-02-29").unwrap().to_string(),
            "2028-02-29"
        );
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "27-01-01",
            "2027/01/01",
            "",
            "2027-1-1",
        ] {
            assert!(Date::parse("d", bad).is_err(), "{bad:?}");
        }
    }
}
