//! The client-credentials token request to Entra ID, with the `oauth2`
//! crate over reqwest + rustls. The HTTP call goes through a small adapter
//! that keeps what `oauth2` hides (status, Retry-After, the raw body), so a
//! failure can be explained from Entra's own error codes and IDs.

use super::cache::FetchedToken;
use crate::domain::Secret;
use crate::domain::diagnosis::{
    Diagnosis, Step, TokenErrorBody, certificate_rejected, token_endpoint_unreachable,
    token_failure, token_response_unreadable,
};
use crate::domain::transcript::{
    Direction, TranscriptLine, redact_form_body, redact_token_response,
};
use crate::server::tls;
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenResponse,
};
use oauth2::{
    AuthType, Client, ClientId, ClientSecret, EndpointNotSet, RequestTokenError, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use rustls::ClientConfig;
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl oauth2::ErrorResponse for TokenErrorBody {}

type EntraClient = Client<
    TokenErrorBody,
    BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    oauth2::EndpointSet,
>;

/// How the app proves who it is.
pub enum TokenCredential {
    /// The client secret's value; sent form-encoded in the body.
    Secret(Secret),
    /// A signed client assertion JWT (certificate credential).
    Assertion(Secret),
}

pub struct TokenRequest {
    pub token_url: String,
    pub client_id: String,
    pub scope: String,
    pub credential: TokenCredential,
}

/// Outbound HTTP proxy for the token endpoint.
#[derive(Clone)]
pub struct ProxyConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Hosts and domains reached directly.
    pub bypass: Vec<String>,
}

impl ProxyConfig {
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// Whether a request to `host` skips the proxy: an exact entry, or a
    /// domain entry (`example.com`, `.example.com`, `*.example.com`) that
    /// the host is inside.
    pub fn bypasses(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.bypass.iter().any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            let domain = entry.trim_start_matches("*.").trim_start_matches('.');
            entry == "*" || host == domain || host.ends_with(&format!(".{domain}"))
        })
    }
}

/// Everything the HTTP client needs besides the request.
#[derive(Clone)]
pub struct HttpSetup {
    pub tls: Arc<ClientConfig>,
    pub proxy: Option<ProxyConfig>,
    pub timeout: Duration,
}

impl HttpSetup {
    /// Whether a request to `host` goes through the configured proxy.
    pub fn via_proxy(&self, host: &str) -> bool {
        self.proxy.as_ref().is_some_and(|p| !p.bypasses(host))
    }
}

/// One token request as it happened.
pub struct TokenExchange {
    pub result: Result<FetchedToken, Box<Diagnosis>>,
    pub transcript: Vec<TranscriptLine>,
    /// Whether the request went through the proxy.
    pub via_proxy: bool,
}

#[derive(Default)]
struct Captured {
    status: Option<u16>,
    retry_after: Option<u64>,
    body: String,
}

pub(crate) fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

pub(crate) fn build_http_client(
    setup: &HttpSetup,
    via_proxy: bool,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls((*setup.tls).clone())
        .timeout(setup.timeout)
        .connect_timeout(setup.timeout)
        // Entra never redirects a token request; following one could leak the secret.
        .redirect(reqwest::redirect::Policy::none());
    builder = match (&setup.proxy, via_proxy) {
        (Some(proxy), true) => {
            let mut p = reqwest::Proxy::all(proxy.url()).map_err(|e| e.to_string())?;
            if let Some(user) = &proxy.username {
                let password = proxy.password.as_ref().map(Secret::expose).unwrap_or("");
                p = p.basic_auth(user, password);
            }
            builder.proxy(p)
        }
        _ => builder.no_proxy(),
    };
    builder.build().map_err(|e| e.to_string())
}

/// The innermost cause of an error, which names what actually failed
/// ("Connection refused", "failed to lookup address").
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Requests a token. Never panics and never returns the secret: the
/// transcript carries the request and response with every secret masked.
pub async fn request_token(setup: &HttpSetup, request: TokenRequest) -> TokenExchange {
    let host = host_of(&request.token_url);
    let via_proxy = setup.via_proxy(&host);
    let mut transcript = vec![TranscriptLine {
        direction: Direction::Note,
        text: match (&setup.proxy, via_proxy) {
            (Some(proxy), true) => {
                format!("POST {} (through proxy {})", request.token_url, proxy.url())
            }
            _ => format!("POST {}", request.token_url),
        },
    }];
    let fail = |transcript: Vec<TranscriptLine>, diagnosis: Diagnosis| TokenExchange {
        result: Err(Box::new(diagnosis)),
        transcript,
        via_proxy,
    };

    let http = match build_http_client(setup, via_proxy) {
        Ok(http) => http,
        Err(detail) => return fail(transcript, token_endpoint_unreachable(&detail, via_proxy)),
    };
    let token_url = match TokenUrl::new(request.token_url.clone()) {
        Ok(url) => url,
        Err(e) => {
            return fail(
                transcript,
                token_endpoint_unreachable(&e.to_string(), false),
            );
        }
    };
    let mut client: EntraClient = Client::new(ClientId::new(request.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url);
    let assertion = match request.credential {
        TokenCredential::Secret(secret) => {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
            None
        }
        TokenCredential::Assertion(jwt) => Some(jwt),
    };
    let mut exchange = client
        .exchange_client_credentials()
        .add_scope(Scope::new(request.scope.clone()));
    if let Some(jwt) = &assertion {
        exchange = exchange
            .add_extra_param(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .add_extra_param("client_assertion", jwt.expose().to_string());
    }

    let captured = Arc::new(Mutex::new(Captured::default()));
    let sent_body = Arc::new(Mutex::new(String::new()));
    let send = {
        let captured = captured.clone();
        let sent_body = sent_body.clone();
        move |req: oauth2::HttpRequest| {
            let http = http.clone();
            let captured = captured.clone();
            let sent_body = sent_body.clone();
            async move {
                let (parts, body) = req.into_parts();
                if let Ok(mut sent) = sent_body.lock() {
                    *sent = redact_form_body(&String::from_utf8_lossy(&body));
                }
                let response = http
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await?;
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = response.bytes().await?;
                if let Ok(mut c) = captured.lock() {
                    c.status = Some(status.as_u16());
                    c.retry_after = headers
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse().ok());
                    c.body = String::from_utf8_lossy(&bytes).into_owned();
                }
                let mut builder = oauth2::http::Response::builder().status(status);
                for (name, value) in &headers {
                    builder = builder.header(name, value);
                }
                Ok::<_, reqwest::Error>(builder.body(bytes.to_vec()).unwrap_or_default())
            }
        }
    };
    let result = exchange.request_async(&send).await;

    if let Ok(sent) = sent_body.lock()
        && !sent.is_empty()
    {
        transcript.push(TranscriptLine {
            direction: Direction::Sent,
            text: sent.clone(),
        });
    }
    let captured = std::mem::take(&mut *captured.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(status) = captured.status {
        transcript.push(TranscriptLine {
            direction: Direction::Received,
            text: format!("HTTP {status} {}", redact_token_response(&captured.body)),
        });
    }

    match result {
        Ok(token) => {
            let expires_in = token
                .expires_in()
                .map(|d| time::Duration::seconds(d.as_secs() as i64))
                .unwrap_or(time::Duration::hours(1));
            TokenExchange {
                result: Ok(FetchedToken {
                    access_token: Secret::new(token.access_token().secret().clone()),
                    expires_in,
                    shared: false,
                }),
                transcript,
                via_proxy,
            }
        }
        Err(RequestTokenError::Request(error)) => {
            let diagnosis = match tls::certificate_problem(&error) {
                Some(fault) => {
                    let mut d = certificate_rejected(Step::Token, &host, &fault);
                    d.message = format!("Error acquiring token: {} ({host}).", fault.describe());
                    d
                }
                None if error.is_timeout() => token_endpoint_unreachable(
                    &format!("no answer from {host} within {} s", setup.timeout.as_secs()),
                    via_proxy,
                ),
                None => token_endpoint_unreachable(
                    &format!("{host}: {}", root_cause(&error)),
                    via_proxy,
                ),
            };
            fail(transcript, diagnosis)
        }
        Err(other) => {
            let diagnosis = match captured.status {
                Some(status) if !(200..300).contains(&status) => {
                    let body = serde_json::from_str::<TokenErrorBody>(&captured.body).ok();
                    token_failure(status, body.as_ref(), captured.retry_after)
                }
                _ => token_response_unreadable(&match other {
                    RequestTokenError::Parse(e, _) => e.to_string(),
                    RequestTokenError::Other(text) => text,
                    _ => "unexpected response".to_string(),
                }),
            };
            fail(transcript, diagnosis)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_bypass_matches_hosts_and_domains() {
        let proxy = ProxyConfig {
            host: "proxy.corp".into(),
            port: 3128,
            username: None,
            password: None,
            bypass: vec!["localhost".into(), ".corp.example".into(), "*.lab".into()],
        };
        assert!(proxy.bypasses("localhost"));
        assert!(proxy.bypasses("mail.corp.example"));
        assert!(proxy.bypasses("corp.example"));
        assert!(proxy.bypasses("a.b.lab"));
        assert!(!proxy.bypasses("login.microsoftonline.com"));
        assert!(!proxy.bypasses("notcorp.example"));
    }
}
