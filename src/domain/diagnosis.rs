//! What went wrong, where, and what to do about it: the troubleshooting table
//! of the SPEC as data. Token-endpoint errors are matched on their AADSTS
//! codes, SMTP replies on their enhanced status codes, never on prose.

use serde::{Deserialize, Serialize};

/// The rungs of the Test Connection ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Token,
    TokenClaims,
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    /// AUTH XOAUTH2 (the name predates the password mechanisms; kept so
    /// that stored diagnoses still read).
    Auth,
    AuthPlain,
    AuthLogin,
    MailFrom,
    RcptTo,
    Data,
    Quit,
    /// Microsoft Graph's `POST /users/{mailbox}/sendMail`.
    GraphSend,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Token => "Acquire OAuth token",
            Step::TokenClaims => "Check token claims",
            Step::Connect => "TCP connect",
            Step::Greeting => "Server greeting",
            Step::Ehlo => "EHLO",
            Step::StartTls => "STARTTLS",
            Step::Auth => "AUTH XOAUTH2",
            Step::AuthPlain => "AUTH PLAIN",
            Step::AuthLogin => "AUTH LOGIN",
            Step::MailFrom => "MAIL FROM",
            Step::RcptTo => "RCPT TO",
            Step::Data => "DATA",
            Step::Quit => "QUIT",
            Step::GraphSend => "Graph sendMail",
        }
    }
}

impl Step {
    /// Any of the AUTH rungs, whatever the mechanism.
    pub fn is_auth(self) -> bool {
        matches!(self, Step::Auth | Step::AuthPlain | Step::AuthLogin)
    }

    /// Signing in with a user name and password (PLAIN or LOGIN).
    pub fn is_password_auth(self) -> bool {
        matches!(self, Step::AuthPlain | Step::AuthLogin)
    }
}

/// A failure explained: which step, a short code, what happened, the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub step: Step,
    /// `AADSTS7000215`, `535 5.7.3`, `connect-timeout`...
    pub code: String,
    pub message: String,
    pub hint: String,
    /// Whether retrying the same request later may succeed.
    pub temporary: bool,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The server's Retry-After, when it sent one.
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
}

impl Diagnosis {
    fn new(
        step: Step,
        code: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
        temporary: bool,
    ) -> Self {
        Diagnosis {
            step,
            code: code.into(),
            message: message.into(),
            hint: hint.into(),
            temporary,
            trace_id: None,
            correlation_id: None,
            retry_after_seconds: None,
        }
    }
}

/// Entra ID's error body: `{error, error_description, error_codes[], timestamp, trace_id, correlation_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenErrorBody {
    pub error: String,
    pub error_description: String,
    pub error_codes: Vec<u32>,
    pub timestamp: String,
    pub trace_id: String,
    pub correlation_id: String,
}

impl std::fmt::Display for TokenErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, first_line(&self.error_description))
    }
}

/// Explains a failed token request from its HTTP status and (if any) body.
pub fn token_failure(
    status: u16,
    body: Option<&TokenErrorBody>,
    retry_after_seconds: Option<u64>,
) -> Diagnosis {
    let codes = body.map(|b| b.error_codes.as_slice()).unwrap_or_default();
    let has = |code: u32| codes.contains(&code);
    let mut diagnosis = if has(90002) || has(900023) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "Invalid Tenant ID or OAuth endpoint: Entra ID does not know this tenant.",
            "Copy the Directory (tenant) ID from the app registration's Overview page, or use a verified domain of the tenant, and check the Cloud setting.",
            false,
        )
    } else if has(90038) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "The tenant belongs to another Microsoft cloud than the one selected.",
            "Choose the tenant's Cloud (US Government or China, operated by 21Vianet) so the matching authority and SMTP host are used.",
            false,
        )
    } else if has(700016) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "Application (Client ID) not found in this tenant.",
            "Check the Client ID against the app registration's Application (client) ID, and that the app is registered in this tenant (or consented to it).",
            false,
        )
    } else if has(7000215) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "Invalid Client Secret.",
            "Paste the secret's Value, shown once when the secret is created, not its Secret ID. If the value is lost, create a new client secret.",
            false,
        )
    } else if has(7000222) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "The client secret has expired.",
            "In Entra ID > App registrations > Certificates & secrets, create a new client secret, then enter its value and its new expiry date here.",
            false,
        )
    } else if has(700027) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "Entra ID does not accept the certificate that signed the client assertion.",
            "Upload this console's certificate (Download certificate) to the app registration's Certificates & secrets > Certificates, or generate a new one and upload that.",
            false,
        )
    } else if has(700024) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "The client assertion is outside its valid time range.",
            "Check the node's clock (NTP): Entra rejects assertions from a clock that is off by minutes.",
            false,
        )
    } else if has(70011) {
        Diagnosis::new(
            Step::Token,
            aadsts(codes),
            "Invalid scope.",
            "The scope must be https://outlook.office365.com/.default for SMTP AUTH or https://graph.microsoft.com/.default for Graph (or the national cloud's own).",
            false,
        )
    } else if status == 429 || status == 503 {
        let wait = retry_after_seconds
            .map_or_else(|| "a little while".to_string(), |s| format!("{s} seconds"));
        Diagnosis::new(
            Step::Token,
            format!("HTTP {status}"),
            if status == 429 {
                "The token endpoint is throttling requests."
            } else {
                "The token endpoint is temporarily unavailable."
            },
            format!("Nothing is wrong with the settings: retry after {wait}."),
            true,
        )
    } else {
        let description = body
            .map(|b| first_line(&b.error_description))
            .filter(|d| !d.is_empty());
        Diagnosis::new(
            Step::Token,
            if codes.is_empty() {
                format!("HTTP {status}")
            } else {
                aadsts(codes)
            },
            description.unwrap_or_else(|| format!("The token endpoint answered HTTP {status}.")),
            "Check the Client ID, Tenant ID, secret or certificate, and the Cloud setting.",
            status >= 500,
        )
    };
    diagnosis.retry_after_seconds = retry_after_seconds.filter(|_| status == 429 || status == 503);
    if let Some(body) = body {
        diagnosis.trace_id = Some(body.trace_id.clone()).filter(|t| !t.is_empty());
        diagnosis.correlation_id = Some(body.correlation_id.clone()).filter(|c| !c.is_empty());
    }
    diagnosis
}

fn aadsts(codes: &[u32]) -> String {
    codes
        .first()
        .map_or_else(|| "AADSTS".to_string(), |code| format!("AADSTS{code}"))
}

/// Graph's error body: `{"error": {"code", "message", "innerError":
/// {"request-id", "client-request-id", "date"}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GraphErrorBody {
    pub error: GraphError,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GraphError {
    pub code: String,
    pub message: String,
    #[serde(rename = "innerError")]
    pub inner_error: GraphInnerError,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GraphInnerError {
    #[serde(rename = "request-id")]
    pub request_id: Option<String>,
    #[serde(rename = "client-request-id")]
    pub client_request_id: Option<String>,
}

/// What Graph's refusal of a `sendMail` means, with the fix. Matched on
/// the status and Graph's error code, never on the prose.
pub fn graph_refusal(
    status: u16,
    body: Option<&GraphErrorBody>,
    retry_after: Option<u64>,
    mailbox: &str,
    app: &str,
) -> Diagnosis {
    let error = body.map(|b| b.error.clone()).unwrap_or_default();
    let said = if error.code.is_empty() {
        format!("Microsoft Graph answered HTTP {status}.")
    } else {
        format!(
            "Microsoft Graph answered HTTP {status} {}: {}",
            error.code,
            error.message.trim()
        )
    };
    let code = if error.code.is_empty() {
        format!("graph-{status}")
    } else {
        format!("{status} {}", error.code)
    };
    let (hint, temporary) = match (status, error.code.as_str()) {
        (_, "MailboxNotEnabledForRESTAPI" | "MailboxNotSupportedForRESTAPI") => (
            format!("{mailbox} is not an Exchange Online mailbox Graph can send from (inactive, soft-deleted, on premises, or without an Exchange Online licence). Use a licensed cloud mailbox, or SMTP AUTH (XOAUTH2) for an on-premises one."),
            false,
        ),
        (_, "ErrorSendAsDenied") => (
            format!("Graph sends as the mailbox in the address only: the message's From must be {mailbox} (Guest Email Settings > Default \"From\" address), or grant that mailbox Send As on the From address."),
            false,
        ),
        (404, _) | (_, "ErrorInvalidUser" | "ResourceNotFound" | "MailboxNotFound") => (
            format!("There is no mailbox {mailbox} in this tenant: check the mailbox address (the UPN or primary SMTP address of a licensed user or shared mailbox) and the Tenant ID."),
            false,
        ),
        (403, _) => (
            format!("The app may not send as {mailbox}. Either the Mail.Send application permission is missing (Entra ID > App registrations > API permissions > Microsoft Graph > Application permissions > Mail.Send, then Grant admin consent), or the mailbox is outside the app's scope: in Exchange Online PowerShell, New-ManagementRoleAssignment -App {app} -Role \"Application Mail.Send\" -CustomResourceScope <scope containing {mailbox}> (RBAC for Applications), or add the mailbox to the group of New-ApplicationAccessPolicy -AppId {app} -AccessRight RestrictAccess. Test-ServicePrincipalAuthorization -Identity {app} -Resource {mailbox} shows which applies."),
            false,
        ),
        (401, _) => (
            "Graph refused the access token: check that the scope is the cloud's Graph .default scope and the Tenant ID is the mailbox's tenant.".to_string(),
            false,
        ),
        (413, _) | (_, "ErrorMessageSizeExceeded") => (
            "The message is larger than the mailbox may send (Graph's MIME limit is 4 MB per request): make it smaller.".to_string(),
            false,
        ),
        (429, _) => (
            "Graph is throttling this mailbox (at most 4 concurrent requests and 10,000 recipients a day per mailbox): the message waits for Retry-After and is sent again.".to_string(),
            true,
        ),
        (500..=599, _) => (
            "Microsoft Graph is unavailable for now: the message is sent again later.".to_string(),
            true,
        ),
        _ => (
            "Graph refused the message: see its error code in Microsoft Graph's documentation.".to_string(),
            false,
        ),
    };
    let mut diagnosis = Diagnosis::new(Step::GraphSend, code, said, hint, temporary);
    diagnosis.retry_after_seconds = retry_after;
    diagnosis.trace_id = error.inner_error.request_id;
    diagnosis.correlation_id = error.inner_error.client_request_id;
    diagnosis
}

pub fn graph_unreachable(detail: &str, via_proxy: bool) -> Diagnosis {
    Diagnosis::new(
        Step::GraphSend,
        "graph-unreachable",
        format!("Cannot reach Microsoft Graph: {detail}."),
        if via_proxy {
            "The request went through the configured proxy: check the proxy's address, credentials and that it allows Graph's host."
        } else {
            "Check DNS and the firewall for outbound HTTPS to Graph, or configure the proxy (Administration > System > Settings > Proxy) if outbound HTTPS must go through one."
        },
        true,
    )
}

/// Entra's descriptions start with the useful sentence; the rest repeats the IDs.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

pub fn token_endpoint_unreachable(detail: &str, via_proxy: bool) -> Diagnosis {
    Diagnosis::new(
        Step::Token,
        "token-endpoint-unreachable",
        format!("Cannot reach the OAuth token endpoint: {detail}."),
        if via_proxy {
            "The request went through the configured proxy: check the proxy's address, credentials and that it allows the authority's host."
        } else {
            "Check DNS and the firewall, or configure the proxy (Administration > System > Settings > Proxy) if outbound HTTPS must go through one."
        },
        true,
    )
}

pub fn connect_timeout(host: &str, port: u16, seconds: u32) -> Diagnosis {
    Diagnosis::new(
        Step::Connect,
        "connect-timeout",
        format!(
            "Couldn't connect to host {host}, port {port}: the connection timed out after {seconds} s."
        ),
        "Check that a firewall or proxy allows outbound connections to this host and port (587 for Exchange Online), and fix the proxy configuration.",
        true,
    )
}

pub fn dns_failure(host: &str) -> Diagnosis {
    Diagnosis::new(
        Step::Connect,
        "dns",
        format!("The host name {host} could not be resolved."),
        "Check the SMTP Server spelling (smtp.office365.com for Exchange Online) and the node's DNS servers.",
        true,
    )
}

/// Why a server's certificate was refused, as the TLS library found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateFault {
    /// No path to a trusted CA ("PKIX path building failed").
    UnknownIssuer,
    /// Past its notAfter, with that time (unix seconds) when known.
    Expired {
        not_after: Option<i64>,
    },
    /// Before its notBefore, with that time (unix seconds) when known.
    NotValidYet {
        not_before: Option<i64>,
    },
    /// The certificate is for other names: the DNS names and addresses it
    /// carries (its subject alternative names).
    NameMismatch {
        presented: Vec<String>,
    },
    Revoked,
    BadSignature,
    Other(String),
}

impl CertificateFault {
    /// The problem in a few words, for transcripts and logs.
    pub fn describe(&self) -> String {
        match self {
            CertificateFault::UnknownIssuer => {
                "PKIX path building failed: unable to find a valid certification path to the issuing CA".into()
            }
            CertificateFault::Expired { not_after } => match not_after {
                Some(t) => format!("the server's certificate expired on {}", day(*t)),
                None => "the server's certificate has expired".into(),
            },
            CertificateFault::NotValidYet { not_before } => match not_before {
                Some(t) => format!("the server's certificate is not valid until {}", day(*t)),
                None => "the server's certificate is not valid yet".into(),
            },
            CertificateFault::NameMismatch { presented } if presented.is_empty() => {
                "the server's certificate does not name this host (it carries no DNS names)".into()
            }
            CertificateFault::NameMismatch { presented } => format!(
                "the server's certificate does not name this host; it names {}",
                presented.join(", ")
            ),
            CertificateFault::Revoked => "the server's certificate is revoked".into(),
            CertificateFault::BadSignature => "the certificate's signature is invalid".into(),
            CertificateFault::Other(detail) => format!("certificate rejected: {detail}"),
        }
    }
}

/// `2026-12-06 14:03 UTC`.
fn day(unix: i64) -> String {
    crate::domain::template::format_utc(unix)
}

/// The server's certificate was refused during the TLS handshake: each
/// fault has its own fix, and only an unknown issuer is fixed by trusting a CA.
pub fn certificate_rejected(step: Step, host: &str, fault: &CertificateFault) -> Diagnosis {
    let problem = fault.describe();
    let (code, message, hint) = match fault {
        CertificateFault::NameMismatch { presented } => {
            let names: Vec<&str> = presented
                .iter()
                .map(String::as_str)
                .filter(|n| !n.starts_with("*."))
                .collect();
            let use_one = match (step, names.as_slice()) {
                (Step::Token, _) => "Check the Cloud and its authority URL: the token endpoint's name must be one the certificate carries.".to_string(),
                (Step::GraphSend, _) => "Check the Cloud and the Graph endpoint: Graph's host name must be one the certificate carries.".to_string(),
                (_, []) if presented.is_empty() => "The certificate carries no host names, so no SMTP Server value can match it: the server's operator must install a certificate issued for its name (for Exchange Online, use smtp.office365.com).".to_string(),
                (_, []) => format!("Enter in SMTP Server a host name covered by the certificate's names ({}); for Exchange Online, use smtp.office365.com.", presented.join(", ")),
                (_, names) => format!("Enter one of the names the certificate carries in SMTP Server ({}); for Exchange Online, use smtp.office365.com. Importing a CA will not help: the certificate is trusted, it is issued for other names.", names.join(", ")),
            };
            (
                "certificate-name-mismatch",
                format!("The certificate presented by {host} is not issued for {host}: {problem}."),
                use_one,
            )
        }
        CertificateFault::Expired { .. } => (
            "certificate-expired",
            format!("The certificate presented by {host} has expired: {problem}."),
            "The server's operator must renew its certificate; trusting a CA will not help. If the date looks wrong, check this node's clock (NTP).".to_string(),
        ),
        CertificateFault::NotValidYet { .. } => (
            "certificate-not-yet-valid",
            format!("The certificate presented by {host} is not valid yet: {problem}."),
            "Check this node's clock and time zone (NTP): a clock that runs behind sees new certificates as not yet valid. Otherwise the server's certificate was issued with a start date in the future and its operator must replace it.".to_string(),
        ),
        CertificateFault::Revoked => (
            "certificate-revoked",
            format!("The certificate presented by {host} has been revoked."),
            "The server's operator must install a new certificate; until then this server cannot be trusted.".to_string(),
        ),
        CertificateFault::UnknownIssuer
        | CertificateFault::BadSignature
        | CertificateFault::Other(_) => (
            "untrusted-certificate",
            format!("The certificate chain presented by {host} is not trusted ({problem})."),
            "Import the issuing CA in Administration > System > Certificates > Trusted Certificates with the role \"Trust for authentication within the console and client-server communication (infrastructure)\".".to_string(),
        ),
    };
    Diagnosis::new(step, code, message, hint, false)
}

/// The server accepted the connection but stopped answering within the
/// connection timeout (a greeting that never comes, a stalled TLS handshake).
pub fn step_timeout(step: Step, host: &str, seconds: u32) -> Diagnosis {
    Diagnosis::new(
        step,
        "timeout",
        format!(
            "{host} stopped answering at {}: no reply within the {seconds} s connection timeout.",
            step.label()
        ),
        "The server or something in between (a proxy or firewall inspecting SMTP) holds the connection open without answering. Check the port (587 with STARTTLS for Exchange Online) and any SMTP inspection on the way.",
        true,
    )
}

/// The TCP connection was refused or dropped before SMTP started.
pub fn connection_failed(host: &str, port: u16, detail: &str) -> Diagnosis {
    Diagnosis::new(
        Step::Connect,
        "connect-failed",
        format!("Couldn't connect to host {host}, port {port}: {detail}."),
        "Check the SMTP Server and SMTP Port (587 for Exchange Online), and that a firewall allows the connection.",
        true,
    )
}

/// The connection broke in the middle of a step.
pub fn connection_lost(step: Step, host: &str, detail: &str) -> Diagnosis {
    Diagnosis::new(
        step,
        "connection-lost",
        format!(
            "The connection to {host} broke at {}: {detail}.",
            step.label()
        ),
        "Temporary network trouble or a device in between closing SMTP connections: try again, and check SMTP inspection on firewalls.",
        true,
    )
}

/// STARTTLS was required but the server does not offer it.
pub fn starttls_unavailable(host: &str) -> Diagnosis {
    Diagnosis::new(
        Step::StartTls,
        "no-starttls",
        format!("{host} does not offer STARTTLS on this port."),
        "Use port 587 for Exchange Online, or turn off Use TLS/SSL Encryption only for a relay that has no TLS.",
        false,
    )
}

/// The console could not read what it needs to send (database or vault trouble).
pub fn settings_unreadable(detail: &str) -> Diagnosis {
    Diagnosis::new(
        Step::Connect,
        "internal",
        format!("The console could not read the mail settings or message: {detail}."),
        "See the server log; the message is retried.",
        true,
    )
}

/// Every connection the mailbox's Sending Limits allow stayed open (on this
/// node or others of the deployment) for as long as a message waits.
pub fn connections_in_use(mailbox: &str, allowed: usize) -> Diagnosis {
    Diagnosis::new(
        Step::Connect,
        "connections-in-use",
        format!(
            "All {allowed} connections that Sending Limits allow for {mailbox} stayed in use by the deployment's nodes, so no new connection was opened."
        ),
        "Nothing to do if mail is flowing: the message is retried. If it persists, check Administration > System > Deployment for a node that holds connections without sending.",
        true,
    )
}

/// Code of [`oauth_credential_missing`]: mail held for it is released when
/// the credential is saved, as for Entra's refusals.
pub const CREDENTIAL_MISSING: &str = "credential-missing";

/// The saved OAuth settings have no client secret or certificate (a
/// restored backup leaves them out): no token can be asked for. The
/// message waits; it is not the message's fault.
pub fn oauth_credential_missing(certificate: bool) -> Diagnosis {
    let (what, how) = if certificate {
        (
            "certificate credential (with its private key)",
            "generate or upload a certificate, upload it to the app registration",
        )
    } else {
        (
            "client secret",
            "enter the app's client secret and its expiry date",
        )
    };
    Diagnosis::new(
        Step::Token,
        CREDENTIAL_MISSING,
        format!(
            "The SMTP OAuth settings have no {what}: it is not kept in backups, so after a restore it must be entered again."
        ),
        format!(
            "On Administration > System > Settings > SMTP Server, {how}, run Test Connection and Save: the waiting mail goes at once."
        ),
        false,
    )
}

/// A message was queued while no SMTP server is configured.
pub fn smtp_not_configured() -> Diagnosis {
    Diagnosis::new(
        Step::Connect,
        "not-configured",
        "No SMTP server is configured, so the message cannot be sent.",
        "Configure Administration > System > Settings > SMTP Server, then Retry the message from Operations > Mail Queue.",
        false,
    )
}

/// The message itself cannot be sent (an address that does not parse).
pub fn message_unsendable(detail: &str) -> Diagnosis {
    Diagnosis::new(
        Step::MailFrom,
        "message-invalid",
        format!("The message cannot be sent as written: {detail}."),
        "Correct the sender or recipient address where the message was created, then queue it again.",
        false,
    )
}

/// The SMTP client gave up before the server said no (no usable AUTH mechanism...).
pub fn smtp_client_refused(host: &str, detail: &str) -> Diagnosis {
    Diagnosis::new(
        Step::Auth,
        "client",
        format!("The session with {host} could not go on: {detail}."),
        "Check Use TLS/SSL Encryption (Exchange Online offers AUTH XOAUTH2 only after STARTTLS on 587) and the authentication type.",
        false,
    )
}

/// Password authentication is selected, but the server offers neither
/// AUTH PLAIN nor AUTH LOGIN (Exchange Online may offer only XOAUTH2).
pub fn no_password_mechanism(host: &str, offers_xoauth2: bool) -> Diagnosis {
    Diagnosis::new(
        Step::AuthPlain,
        "no-password-auth",
        format!(
            "{host} offers no way to sign in with a password (neither AUTH PLAIN nor AUTH LOGIN)."
        ),
        if offers_xoauth2 {
            "The server offers AUTH XOAUTH2 only: choose MS Exchange Online OAuth under Authentication on this page."
        } else {
            "Turn on Use TLS/SSL Encryption (servers offer AUTH only after STARTTLS), or choose the authentication the server offers."
        },
        false,
    )
}

/// The token endpoint answered 200 with something that is not a token.
pub fn token_response_unreadable(detail: &str) -> Diagnosis {
    Diagnosis::new(
        Step::Token,
        "token-response",
        format!("The token endpoint answered, but not with an access token: {detail}."),
        "Check the Cloud / authority setting: the URL must be an Entra ID (Azure AD) v2.0 token endpoint.",
        false,
    )
}

/// Explains an SMTP reply at a step.
pub fn smtp_reply(step: Step, code: u16, text: &str) -> Diagnosis {
    let enhanced = enhanced_code(text);
    let label = match &enhanced {
        Some(enhanced) => format!("{code} {enhanced}"),
        None => code.to_string(),
    };
    let text_line = first_line(text);
    let is = |e: &str| enhanced.as_deref() == Some(e);
    let password = step.is_password_auth();
    let (message, hint, temporary): (String, &str, bool) = if code == 535
        && is("5.7.139")
        && password
    {
        (
            format!("Exchange Online no longer accepts a password here ({code} {text_line})."),
            "Choose MS Exchange Online OAuth under Authentication on this page (Administration > System > Settings > SMTP Server): register an app in Entra ID, grant it SMTP.SendAsApp, and enter its Client ID, Tenant ID and client secret or certificate. A password will not work again.",
            false,
        )
    } else if code == 535 && is("5.7.139") {
        (
            format!(
                "SMTP AUTH is disabled for the tenant or for this mailbox ({code} {text_line})."
            ),
            "Enable Authenticated SMTP for the mailbox in Exchange Online PowerShell (Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false), and check the tenant-wide setting (Set-TransportConfig -SmtpClientAuthenticationDisabled $false, or leave the mailbox setting to override it).",
            false,
        )
    } else if code == 535 && is("5.7.3") && password {
        (
            format!("The server refused the user name and password ({code} {text_line})."),
            "Check the Username and Password. If the server is Exchange Online, a password is refused when SMTP AUTH is off for the mailbox and whenever basic authentication is retired: choose MS Exchange Online OAuth under Authentication on this page instead.",
            false,
        )
    } else if code == 535 && is("5.7.3") {
        (
            "Invalid email address: Exchange rejected the token for this mailbox (535 5.7.3 Authentication unsuccessful).".into(),
            "Register the app in Exchange with New-ServicePrincipal using the Enterprise Application's Object ID, and grant it FullAccess with Add-MailboxPermission on this mailbox; the Username must be that mailbox.",
            false,
        )
    } else if step.is_auth() && (code == 504 || code == 538) {
        // Exchange answers 504 5.7.4 to AUTH before STARTTLS; other servers
        // say 504 without an enhanced code, or 538 "STARTTLS first".
        (
            format!(
                "The server does not offer {} here ({code} {text_line}).",
                step.label()
            ),
            "Turn on Use TLS/SSL Encryption: Exchange Online offers AUTH only after STARTTLS on port 587.",
            false,
        )
    } else if (code == 554 && is("5.2.252")) || (code == 550 && is("5.7.60")) {
        (
            "The From address differs from the authenticated mailbox (SendAsDenied).".into(),
            "Send from the mailbox in Username, or grant that mailbox Send As permission on the From address.",
            false,
        )
    } else if code == 554 && is("5.2.0") && text.contains("SubmissionQuotaExceeded") {
        (
            "The sending mailbox has used up its 10,000 recipients for the last 24 hours.".into(),
            "Wait until the 24-hour window frees up, or add another sender mailbox.",
            true,
        )
    } else if code == 554 && is("5.2.2") {
        (
            "The sending mailbox is full (often its Sent Items).".into(),
            "Apply a retention policy to the mailbox's Sent Items, or free space in it.",
            false,
        )
    } else if code == 432 && is("4.3.2") {
        (
            "Too many concurrent connections for this mailbox (Exchange allows 3).".into(),
            "Temporary: the message is retried with fewer connections.",
            true,
        )
    } else if step == Step::RcptTo && (500..600).contains(&code) {
        (
            format!("The server refused the recipient: {code} {text_line}"),
            "Correct the recipient's email address where it was entered (the guest's or admin's record), then send again: retrying the same address will not help.",
            false,
        )
    } else if code == 421 {
        (
            format!("The server is busy or closing the connection: {text_line}"),
            "Temporary: the message is retried later.",
            true,
        )
    } else {
        let temporary = (400..500).contains(&code);
        (
            format!(
                "The server answered {code} at {}: {text_line}",
                step.label()
            ),
            if temporary {
                "Temporary: retry later."
            } else {
                "Permanent: check the settings this step uses."
            },
            temporary,
        )
    };
    Diagnosis::new(step, label, message, hint, temporary)
}

/// The RFC 3463 enhanced status code that starts a reply's text, if any.
pub fn enhanced_code(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    let parts: Vec<&str> = first.split('.').collect();
    let ok = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()));
    ok.then(|| first.to_string())
}

/// The command a refusal most likely concerns, given the command it
/// answered: a reply to the message itself can be about its sender or its
/// recipients (Exchange checks them there), and "530 5.7.57 not
/// authenticated" at MAIL FROM is about signing in: `signed_in_with` is
/// the AUTH rung the session used, if it signed in.
pub fn refused_step(answered: Step, code: u16, reply: &str, signed_in_with: Option<Step>) -> Step {
    let guessed = match step_of_reply(code, reply) {
        Step::Auth => match signed_in_with {
            Some(auth) => auth,
            None => return answered,
        },
        guessed => guessed,
    };
    match (answered, guessed) {
        (Step::Data, guessed) => guessed,
        (Step::MailFrom | Step::RcptTo, auth) if auth.is_auth() => auth,
        (step, _) => step,
    }
}

/// Which command a refusal to the message most likely concerns: the reply
/// tells (RFC 3463: X.1.7/X.1.8 are about the sender, other X.1
/// and X.2 codes about a recipient's address or mailbox).
fn step_of_reply(code: u16, text: &str) -> Step {
    if matches!(code, 504 | 530 | 534 | 535 | 538) {
        return Step::Auth;
    }
    let enhanced = enhanced_code(text).unwrap_or_default();
    let mut parts = enhanced.split('.').skip(1);
    match (parts.next(), parts.next()) {
        (Some("1"), Some("7" | "8")) => Step::MailFrom,
        (Some("1"), _) => Step::RcptTo,
        (Some("2"), Some(detail)) if detail != "252" => Step::RcptTo,
        _ => Step::Data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: u32) -> TokenErrorBody {
        TokenErrorBody {
            error: "invalid_client".into(),
            error_description: format!(
                "AADSTS{code}: Something.\r\nTrace ID: abc\r\nCorrelation ID: def"
            ),
            error_codes: vec![code],
            trace_id: "7d1f-trace".into(),
            correlation_id: "0a9e-correlation".into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_aadsts_code_in_the_table_has_its_own_message() {
        let cases = [
            (90002, "Invalid Tenant ID or OAuth endpoint"),
            (900023, "Invalid Tenant ID or OAuth endpoint"),
            (90038, "another Microsoft cloud"),
            (700016, "Application (Client ID) not found"),
            (7000215, "Invalid Client Secret"),
            (7000222, "client secret has expired"),
            (70011, "Invalid scope"),
        ];
        for (code, expected) in cases {
            let d = token_failure(400, Some(&body(code)), None);
            assert!(d.message.contains(expected), "{code}: {}", d.message);
            assert_eq!(d.code, format!("AADSTS{code}"));
            assert_eq!(d.trace_id.as_deref(), Some("7d1f-trace"));
            assert_eq!(d.correlation_id.as_deref(), Some("0a9e-correlation"));
            assert!(!d.temporary);
        }
        assert!(
            token_failure(401, Some(&body(7000215)), None)
                .hint
                .contains("not its Secret ID")
        );
    }

    #[test]
    fn throttling_is_temporary_and_names_the_wait() {
        let d = token_failure(429, None, Some(17));
        assert!(d.temporary);
        assert!(d.hint.contains("17 seconds"));
        assert!(
            token_failure(503, None, None)
                .message
                .contains("temporarily unavailable")
        );
    }

    #[test]
    fn an_unknown_error_keeps_entras_first_sentence() {
        let d = token_failure(400, Some(&body(50034)), None);
        assert_eq!(d.message, "AADSTS50034: Something.");
        assert_eq!(d.code, "AADSTS50034");
    }

    #[test]
    fn smtp_replies_are_matched_on_enhanced_codes() {
        let d = smtp_reply(
            Step::Auth,
            535,
            "5.7.3 Authentication unsuccessful [SN4PR0501CA0054.namprd05.prod.outlook.com]",
        );
        assert_eq!(d.code, "535 5.7.3");
        assert!(d.message.starts_with("Invalid email address"));
        assert!(d.hint.contains("New-ServicePrincipal"));
        let d = smtp_reply(
            Step::Auth,
            535,
            "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
        );
        assert!(d.message.contains("SMTP AUTH is disabled"));
        assert!(
            smtp_reply(Step::Auth, 504, "5.7.4 Unrecognized authentication type")
                .hint
                .contains("STARTTLS")
        );
        assert!(
            smtp_reply(Step::Data, 554, "5.2.252 SendAsDenied; user@x not allowed")
                .message
                .contains("SendAsDenied")
        );
        let quota = smtp_reply(
            Step::RcptTo,
            554,
            "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
        );
        assert!(quota.temporary && quota.message.contains("10,000"));
        assert!(
            smtp_reply(Step::Data, 554, "5.2.2 mailbox full")
                .hint
                .contains("retention")
        );
        assert!(
            smtp_reply(
                Step::MailFrom,
                432,
                "4.3.2 Concurrent connections limit exceeded"
            )
            .temporary
        );
        assert!(smtp_reply(Step::Greeting, 421, "4.3.2 Service not available").temporary);
        let other = smtp_reply(Step::RcptTo, 550, "5.1.1 User unknown");
        assert!(!other.temporary && other.message.contains("550"));
    }

    #[test]
    fn a_refused_recipient_points_at_the_address() {
        let d = smtp_reply(
            Step::RcptTo,
            550,
            "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        );
        assert_eq!(d.code, "550 5.1.10");
        assert!(d.message.contains("refused the recipient"), "{d:?}");
        assert!(d.hint.contains("recipient's email address") && !d.temporary);
        // A full sending mailbox stays its own diagnosis at any step.
        let full = smtp_reply(Step::RcptTo, 554, "5.2.2 mailbox full");
        assert!(full.message.contains("sending mailbox is full"), "{full:?}");
    }

    #[test]
    fn a_refused_password_points_at_oauth_and_a_refused_token_at_the_mailbox() {
        let basic_off = "5.7.139 Authentication unsuccessful, basic authentication is disabled. [AM0PR02CA0123.eurprd02.prod.outlook.com]";
        for step in [Step::AuthLogin, Step::AuthPlain] {
            let d = smtp_reply(step, 535, basic_off);
            assert_eq!(d.code, "535 5.7.139");
            assert!(d.message.contains("no longer accepts a password"), "{d:?}");
            assert!(
                d.message.contains("basic authentication is disabled"),
                "{d:?}"
            );
            assert!(d.hint.contains("MS Exchange Online OAuth"), "{d:?}");
            assert!(!d.temporary);
        }
        let d = smtp_reply(
            Step::Auth,
            535,
            "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.",
        );
        assert!(d.message.contains("SMTP AUTH is disabled"), "{d:?}");
        assert!(d.hint.contains("-SmtpClientAuthenticationDisabled $false"));
        assert!(d.hint.contains("Set-TransportConfig"));
        let d = smtp_reply(Step::AuthLogin, 535, "5.7.3 Authentication unsuccessful");
        assert_eq!(d.code, "535 5.7.3");
        assert!(d.message.contains("user name and password"), "{d:?}");
        assert!(
            d.hint.contains("MS Exchange Online OAuth") && !d.hint.contains("New-ServicePrincipal")
        );
        assert_eq!(Step::AuthLogin.label(), "AUTH LOGIN");
        assert_eq!(Step::AuthPlain.label(), "AUTH PLAIN");
        assert!(
            smtp_reply(
                Step::AuthLogin,
                504,
                "5.7.4 Unrecognized authentication type"
            )
            .message
            .contains("AUTH LOGIN")
        );
    }

    #[test]
    fn each_certificate_fault_has_its_own_fix() {
        let host = "mail.example.net";
        let d = certificate_rejected(
            Step::StartTls,
            host,
            &CertificateFault::NameMismatch {
                presented: vec!["smtp.example.com".into(), "*.example.com".into()],
            },
        );
        assert_eq!(d.code, "certificate-name-mismatch");
        assert!(
            d.message.contains("smtp.example.com, *.example.com"),
            "{d:?}"
        );
        assert!(d.hint.contains("(smtp.example.com)") && d.hint.contains("SMTP Server"));
        assert!(!d.hint.contains("Import the issuing CA"), "{d:?}");
        let expired = certificate_rejected(
            Step::StartTls,
            host,
            &CertificateFault::Expired {
                not_after: Some(1_700_000_000),
            },
        );
        assert_eq!(expired.code, "certificate-expired");
        assert!(expired.message.contains("2023-11-14"), "{expired:?}");
        assert!(expired.hint.contains("renew"));
        let early = certificate_rejected(
            Step::StartTls,
            host,
            &CertificateFault::NotValidYet { not_before: None },
        );
        assert_eq!(early.code, "certificate-not-yet-valid");
        assert!(early.hint.contains("clock"));
        let codes: std::collections::HashSet<_> = [&d, &expired, &early]
            .iter()
            .map(|d| d.code.clone())
            .chain([
                certificate_rejected(Step::StartTls, host, &CertificateFault::UnknownIssuer).code,
            ])
            .collect();
        assert_eq!(codes.len(), 4);
    }

    #[test]
    fn enhanced_codes_are_parsed_strictly() {
        assert_eq!(
            enhanced_code("5.7.139 Authentication").as_deref(),
            Some("5.7.139")
        );
        assert_eq!(enhanced_code("Authentication unsuccessful"), None);
        assert_eq!(enhanced_code("5.7 short"), None);
        assert_eq!(enhanced_code(""), None);
    }

    #[test]
    fn transport_failures_say_what_to_check() {
        assert!(
            connect_timeout("smtp.office365.com", 587, 60)
                .message
                .contains("timed out after 60 s")
        );
        assert!(
            dns_failure("smtp.office365.con")
                .message
                .contains("could not be resolved")
        );
        assert!(
            certificate_rejected(
                Step::StartTls,
                "smtp.example.com",
                &CertificateFault::UnknownIssuer
            )
            .hint
            .contains("Trusted Certificates")
        );
        assert!(
            token_endpoint_unreachable("connection refused", true)
                .hint
                .contains("proxy")
        );
    }

    #[test]
    fn a_refusal_is_placed_at_the_command_it_answered() {
        assert_eq!(
            step_of_reply(535, "5.7.3 Authentication unsuccessful"),
            Step::Auth
        );
        assert_eq!(
            step_of_reply(550, "5.1.10 RESOLVER.ADR.RecipientNotFound"),
            Step::RcptTo
        );
        assert_eq!(
            step_of_reply(550, "5.1.8 Access denied, bad outbound sender"),
            Step::MailFrom
        );
        assert_eq!(step_of_reply(552, "5.2.2 Mailbox full"), Step::RcptTo);
        assert_eq!(step_of_reply(554, "5.2.252 SendAsDenied"), Step::Data);
        assert_eq!(step_of_reply(554, "Transaction failed"), Step::Data);
    }

    #[test]
    fn a_refusal_to_the_message_is_placed_by_its_reply_elsewhere_by_its_command() {
        assert_eq!(
            refused_step(
                Step::Data,
                550,
                "5.1.10 RESOLVER.ADR.RecipientNotFound",
                Some(Step::Auth)
            ),
            Step::RcptTo
        );
        assert_eq!(
            refused_step(
                Step::MailFrom,
                530,
                "5.7.57 Client not authenticated",
                Some(Step::Auth)
            ),
            Step::Auth
        );
        // Named after the mechanism the session signed in with, and left at
        // the command when it did not sign in at all.
        assert_eq!(
            refused_step(
                Step::Data,
                535,
                "5.7.3 Authentication unsuccessful",
                Some(Step::AuthLogin)
            ),
            Step::AuthLogin
        );
        assert_eq!(
            refused_step(Step::MailFrom, 530, "5.7.57 Client not authenticated", None),
            Step::MailFrom
        );
        assert_eq!(
            refused_step(Step::RcptTo, 550, "5.1.8 bad outbound sender", None),
            Step::RcptTo
        );
    }

    fn graph_body(code: &str) -> GraphErrorBody {
        serde_json::from_str(&format!(
            r#"{{"error":{{"code":"{code}","message":"Refused.","innerError":{{"request-id":"r-1","client-request-id":"c-1","date":"2026-12-07T10:00:00"}}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn graph_refusals_are_told_apart_by_status_and_code() {
        let mailbox = "noreply@contoso.com";
        let app = "1b2c3d4e-0000-4000-8000-00000000abcd";
        let refused = |status, code: &str, retry| {
            graph_refusal(status, Some(&graph_body(code)), retry, mailbox, app)
        };
        let denied = refused(403, "ErrorAccessDenied", None);
        assert_eq!(denied.code, "403 ErrorAccessDenied");
        assert!(!denied.temporary);
        assert!(denied.hint.contains(app) && denied.hint.contains(mailbox));
        assert_eq!(denied.trace_id.as_deref(), Some("r-1"));
        assert_eq!(denied.correlation_id.as_deref(), Some("c-1"));
        // Matched on the code before the status: a 404 is not always "no mailbox".
        assert!(
            refused(404, "MailboxNotEnabledForRESTAPI", None)
                .hint
                .contains("on premises")
        );
        assert!(
            refused(404, "ErrorInvalidUser", None)
                .hint
                .contains("no mailbox")
        );
        assert!(
            refused(403, "ErrorSendAsDenied", None)
                .hint
                .contains("From must be")
        );
        assert!(refused(413, "", None).hint.contains("4 MB"));
        assert!(
            refused(401, "InvalidAuthenticationToken", None)
                .hint
                .contains("scope")
        );
        let throttled = refused(429, "ApplicationThrottled", Some(9));
        assert!(throttled.temporary);
        assert_eq!(throttled.retry_after_seconds, Some(9));
        for status in [500, 502, 503, 504] {
            assert!(
                refused(status, "ServiceNotAvailable", None).temporary,
                "{status}"
            );
        }
        // A body that is not Graph's still gets a code and the status.
        let bare = graph_refusal(502, None, None, mailbox, app);
        assert_eq!(bare.code, "graph-502");
        assert!(bare.message.contains("HTTP 502"));
        assert_eq!(bare.step, Step::GraphSend);
    }
}
