//! Microsoft Graph's `sendMail` as a mail transport: the message the outbox
//! already builds, as MIME in base64 (so its Message-ID, headers and both
//! parts are kept), posted with the app's Graph token over reqwest with the
//! console's trust store and proxy.

use crate::domain::Secret;
use crate::domain::diagnosis::{
    Diagnosis, GraphErrorBody, Step, certificate_rejected, graph_refusal, graph_unreachable,
};
use crate::domain::transcript::{Direction, MASK, TranscriptLine};
use crate::server::oauth::client::{HttpSetup, build_http_client, host_of, root_cause};
use crate::server::tls;
use base64::Engine;
use std::time::Duration;

/// Graph accepts at most this many concurrent requests per mailbox.
pub const CONCURRENT_REQUESTS_PER_MAILBOX: usize = 4;

/// One HTTP client for one Graph endpoint: built once per settings change,
/// so that messages reuse its connections.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    endpoint: String,
    host: String,
    via_proxy: bool,
    timeout: Duration,
}

/// One `sendMail` as it happened.
pub struct GraphExchange {
    /// Graph's reply on success: `202 Accepted` and its request ID.
    pub result: Result<String, Box<Diagnosis>>,
    pub transcript: Vec<TranscriptLine>,
    /// The HTTP status, when Graph answered at all.
    pub status: Option<u16>,
}

impl GraphClient {
    pub fn new(setup: &HttpSetup, endpoint: &str) -> Result<Self, Box<Diagnosis>> {
        let host = host_of(endpoint);
        let via_proxy = setup.via_proxy(&host);
        let http = build_http_client(setup, via_proxy)
            .map_err(|detail| Box::new(graph_unreachable(&detail, via_proxy)))?;
        Ok(GraphClient {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            host,
            via_proxy,
            timeout: setup.timeout,
        })
    }

    pub fn via_proxy(&self) -> bool {
        self.via_proxy
    }

    /// `POST {endpoint}/v1.0/users/{mailbox}/sendMail` with the message as
    /// base64 MIME. `app` (the client ID) only goes into a refusal's fix.
    pub async fn send_mail(
        &self,
        mailbox: &str,
        token: &Secret,
        mime: &[u8],
        app: &str,
    ) -> GraphExchange {
        let mut transcript = Vec::new();
        let mut url = match reqwest::Url::parse(&self.endpoint) {
            Ok(url) => url,
            Err(e) => {
                return GraphExchange {
                    result: Err(Box::new(graph_unreachable(
                        &format!("{}: {e}", self.endpoint),
                        false,
                    ))),
                    transcript,
                    status: None,
                };
            }
        };
        if let Ok(mut segments) = url.path_segments_mut() {
            // The mailbox is one escaped segment, whatever it contains.
            segments
                .pop_if_empty()
                .extend(["v1.0", "users", mailbox, "sendMail"]);
        }
        let body = base64::engine::general_purpose::STANDARD.encode(mime);
        transcript.push(note(format!(
            "POST {url}{}",
            if self.via_proxy {
                " (through the proxy)"
            } else {
                ""
            }
        )));
        transcript.push(TranscriptLine {
            direction: Direction::Sent,
            text: format!(
                "Authorization: Bearer {MASK}; Content-Type: text/plain; the message as base64 MIME ({} bytes)",
                body.len()
            ),
        });
        let response = self
            .http
            .post(url)
            .bearer_auth(token.expose())
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                let diagnosis = self.unreachable(&error);
                return GraphExchange {
                    result: Err(Box::new(diagnosis)),
                    transcript,
                    status: None,
                };
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("request-id");
        let retry_after = header("retry-after").and_then(|v| v.trim().parse().ok());
        let text = response.text().await.unwrap_or_default();
        transcript.push(TranscriptLine {
            direction: Direction::Received,
            text: format!(
                "HTTP {status} {}",
                text.chars().take(2000).collect::<String>()
            )
            .trim_end()
            .to_string(),
        });
        let result = if (200..300).contains(&status) {
            Ok(match request_id {
                Some(id) => format!("{status} Accepted (request-id {id})"),
                None => format!("{status} Accepted"),
            })
        } else {
            let body = serde_json::from_str::<GraphErrorBody>(&text).ok();
            let mut diagnosis = graph_refusal(status, body.as_ref(), retry_after, mailbox, app);
            if diagnosis.trace_id.is_none() {
                diagnosis.trace_id = request_id;
            }
            Err(Box::new(diagnosis))
        };
        GraphExchange {
            result,
            transcript,
            status: Some(status),
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> Diagnosis {
        let host = &self.host;
        match tls::certificate_problem(error) {
            Some(fault) => certificate_rejected(Step::GraphSend, host, &fault),
            None if error.is_timeout() => graph_unreachable(
                &format!("no answer from {host} within {} s", self.timeout.as_secs()),
                self.via_proxy,
            ),
            None => graph_unreachable(&format!("{host}: {}", root_cause(error)), self.via_proxy),
        }
    }
}

fn note(text: String) -> TranscriptLine {
    TranscriptLine {
        direction: Direction::Note,
        text,
    }
}
