//! What the console checks in an access token before it blames SMTP, and
//! the XOAUTH2 string it sends. Pure: the token is only decoded, never
//! verified (the console is its bearer, Exchange is its audience).

use super::diagnosis::{Diagnosis, Step};
use base64::Engine;
use serde::Deserialize;

/// The Exchange Online resource, by URL or by its well-known app ID.
const EXCHANGE_AUDIENCES: [&str; 3] = [
    "https://outlook.office365.com",
    "https://outlook.office.com",
    "00000002-0000-0ff1-ce00-000000000000",
];

/// Microsoft Graph, by URL in each cloud or by its well-known app ID.
const GRAPH_AUDIENCES: [&str; 5] = [
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
    "00000003-0000-0000-c000-000000000000",
];

/// The API a token is for: it decides the audience and the role to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Exchange Online, for AUTH XOAUTH2 (role SMTP.SendAsApp).
    Exchange,
    /// Microsoft Graph, for sendMail (role Mail.Send).
    Graph,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TokenClaims {
    pub aud: String,
    pub tid: String,
    pub roles: Vec<String>,
    pub appid: String,
    pub exp: i64,
}

/// Decodes a JWT's payload without checking its signature.
pub fn decode_claims(token: &str) -> Option<TokenClaims> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Checks that the token is for Exchange, from `tenant_guid` (when known)
/// and carries the `SMTP.SendAsApp` application permission.
pub fn check_claims(
    token: &str,
    tenant_guid: Option<&str>,
    resource: Resource,
) -> Result<TokenClaims, Box<Diagnosis>> {
    let fail = |code: &str, message: String, hint: &str| {
        Box::new(Diagnosis {
            step: Step::TokenClaims,
            code: code.into(),
            message,
            hint: hint.into(),
            temporary: false,
            trace_id: None,
            correlation_id: None,
            retry_after_seconds: None,
        })
    };
    let claims = decode_claims(token).ok_or_else(|| {
        fail(
            "token-not-jwt",
            "The access token is not a readable JWT.".into(),
            "Check that the authority is Entra ID (or the national cloud's) and the scope is the Exchange Online .default scope.",
        )
    })?;
    let audience = claims.aud.trim_end_matches('/');
    let is_graph = GRAPH_AUDIENCES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(audience));
    if resource == Resource::Graph && !is_graph {
        return Err(fail(
            "token-audience",
            format!("The token is for {audience}, not for Microsoft Graph."),
            "Set the scope to https://graph.microsoft.com/.default (the national cloud's Graph scope there).",
        ));
    }
    if resource == Resource::Exchange
        && !EXCHANGE_AUDIENCES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(audience))
        && !audience.ends_with(".office365.us")
        && !audience.ends_with("partner.outlook.cn")
    {
        return Err(fail(
            "token-audience",
            format!("The token is for {audience}, not for Exchange Online."),
            "Set the scope to https://outlook.office365.com/.default (the national cloud's Exchange scope there).",
        ));
    }
    if let Some(expected) = tenant_guid
        && !claims.tid.eq_ignore_ascii_case(expected)
    {
        return Err(fail(
            "token-tenant",
            format!(
                "The token comes from tenant {}, not {expected}.",
                claims.tid
            ),
            "Check the Tenant ID.",
        ));
    }
    if resource == Resource::Graph {
        if !claims.roles.iter().any(|role| role == "Mail.Send") {
            return Err(fail(
                "token-missing-role",
                "The token lacks the Mail.Send application permission, so Graph would answer 403 ErrorAccessDenied."
                    .into(),
                "In Entra ID > App registrations > API permissions, add Microsoft Graph > Application permissions > Mail.Send, then Grant admin consent (limit it to the mailbox with an RBAC for Applications role assignment).",
            ));
        }
        return Ok(claims);
    }
    if !claims.roles.iter().any(|role| role == "SMTP.SendAsApp") {
        return Err(fail(
            "token-missing-role",
            "The token lacks the SMTP.SendAsApp permission, so Exchange would answer 535 5.7.3."
                .into(),
            "In Entra ID > App registrations > API permissions, add Office 365 Exchange Online > Application permissions > SMTP.SendAsApp, then Grant admin consent.",
        ));
    }
    Ok(claims)
}

/// The `AUTH XOAUTH2` initial response:
/// base64("user=" + mailbox + "\x01auth=Bearer " + token + "\x01\x01").
pub fn xoauth2_initial_response(mailbox: &str, token: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("user={mailbox}\x01auth=Bearer {token}\x01\x01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.signature",
            encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            encode(payload)
        )
    }

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn a_good_exchange_token_passes() {
        let token = jwt(&format!(
            r#"{{"aud":"https://outlook.office365.com","tid":"{TENANT}","roles":["SMTP.SendAsApp"],"exp":1}}"#
        ));
        let claims = check_claims(&token, Some(TENANT), Resource::Exchange).unwrap();
        assert_eq!(claims.roles, ["SMTP.SendAsApp"]);
        let by_app_id = jwt(&format!(
            r#"{{"aud":"00000002-0000-0ff1-ce00-000000000000","tid":"{TENANT}","roles":["SMTP.SendAsApp"]}}"#
        ));
        assert!(check_claims(&by_app_id, None, Resource::Exchange).is_ok());
    }

    #[test]
    fn a_missing_role_is_named_before_smtp_says_535() {
        let token = jwt(&format!(
            r#"{{"aud":"https://outlook.office365.com","tid":"{TENANT}","roles":["Mail.Send"]}}"#
        ));
        let d = check_claims(&token, Some(TENANT), Resource::Exchange).unwrap_err();
        assert_eq!(d.code, "token-missing-role");
        assert!(d.hint.contains("Grant admin consent"));
    }

    #[test]
    fn wrong_audience_tenant_or_shape_are_refused() {
        let graph = jwt(&format!(
            r#"{{"aud":"https://graph.microsoft.com","tid":"{TENANT}","roles":["SMTP.SendAsApp"]}}"#
        ));
        assert_eq!(
            check_claims(&graph, None, Resource::Exchange)
                .unwrap_err()
                .code,
            "token-audience"
        );
        let other = jwt(
            r#"{"aud":"https://outlook.office365.com","tid":"00000000-0000-0000-0000-000000000001","roles":["SMTP.SendAsApp"]}"#,
        );
        assert_eq!(
            check_claims(&other, Some(TENANT), Resource::Exchange)
                .unwrap_err()
                .code,
            "token-tenant"
        );
        assert_eq!(
            check_claims("opaque-token", None, Resource::Exchange)
                .unwrap_err()
                .code,
            "token-not-jwt"
        );
    }

    #[test]
    fn xoauth2_string_matches_the_wire_format() {
        let encoded = xoauth2_initial_response("noreply@contoso.com", "eyJ0.abc.def");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            decoded,
            b"user=noreply@contoso.com\x01auth=Bearer eyJ0.abc.def\x01\x01"
        );
    }

    #[test]
    fn a_graph_token_needs_graph_as_audience_and_mail_send() {
        let good = jwt(&format!(
            r#"{{"aud":"https://graph.microsoft.com","tid":"{TENANT}","roles":["Mail.Send"]}}"#
        ));
        assert!(check_claims(&good, Some(TENANT), Resource::Graph).is_ok());
        let exchange = jwt(&format!(
            r#"{{"aud":"https://outlook.office365.com","tid":"{TENANT}","roles":["SMTP.SendAsApp"]}}"#
        ));
        assert_eq!(
            check_claims(&exchange, Some(TENANT), Resource::Graph)
                .unwrap_err()
                .code,
            "token-audience"
        );
        let no_role = jwt(&format!(
            r#"{{"aud":"https://graph.microsoft.us","tid":"{TENANT}","roles":["User.Read.All"]}}"#
        ));
        let refused = check_claims(&no_role, Some(TENANT), Resource::Graph).unwrap_err();
        assert_eq!(refused.code, "token-missing-role");
        assert!(refused.hint.contains("Mail.Send"));
    }
}
