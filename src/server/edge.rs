//! The console's edge: who a request comes from (believing proxies only
//! from `MAILROOM_TRUSTED_PROXIES`), whether a state-changing request comes
//! from the console's own pages (`MAILROOM_PUBLIC_ORIGIN`), and requests
//! refused before any handler reads them (too big, undecodable uploads).

use crate::server::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

pub const PUBLIC_ORIGIN_ENV: &str = "MAILROOM_PUBLIC_ORIGIN";
pub const TRUSTED_PROXIES_ENV: &str = "MAILROOM_TRUSTED_PROXIES";

/// The largest request body the console reads (uploads included).
pub const MAX_BODY_BYTES: u64 = 2 * 1024 * 1024;

/// Server functions whose arguments come as `multipart/form-data` have
/// endpoints named `upload_…` (tests/architecture.rs holds them to it):
/// their decoder needs the boundary, so a request without one is refused.
pub const UPLOAD_PREFIX: &str = "/api/upload_";

fn is_multipart_endpoint(path: &str) -> bool {
    path.starts_with(UPLOAD_PREFIX)
}

#[derive(Debug, Clone, Default)]
pub struct EdgeConfig {
    /// Origins (`scheme://host[:port]`) whose pages may change state. Empty:
    /// the origin the request was addressed to (its `Host`).
    pub public_origins: Vec<String>,
    /// Proxies whose `Forwarded` / `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl EdgeConfig {
    pub fn from_env() -> anyhow::Result<EdgeConfig> {
        let origins = std::env::var(PUBLIC_ORIGIN_ENV).unwrap_or_default();
        let proxies = std::env::var(TRUSTED_PROXIES_ENV).unwrap_or_default();
        EdgeConfig::parse(&origins, &proxies).map_err(|e| anyhow::anyhow!(e))
    }

    /// Both lists are comma- or space-separated; a bad entry is an error
    /// naming it, so a typo is found at start rather than as refusals.
    pub fn parse(origins: &str, proxies: &str) -> Result<EdgeConfig, String> {
        let entries = |text: &str| -> Vec<String> {
            text.split([',', ' '])
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect()
        };
        let public_origins = entries(origins)
            .iter()
            .map(|origin| {
                normalize_origin(origin).ok_or_else(|| {
                    format!("{PUBLIC_ORIGIN_ENV}: '{origin}' is not an origin such as https://mailroom.example.com or http://10.0.0.5:3000")
                })
            })
            .collect::<Result<_, _>>()?;
        let trusted_proxies = entries(proxies)
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("{TRUSTED_PROXIES_ENV}: '{entry}' is not an address or CIDR such as 10.0.0.0/8")
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(EdgeConfig {
            public_origins,
            trusted_proxies,
        })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

/// IPv4 addresses that arrive mapped into IPv6 compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `scheme://host[:port]`, lower case, without the scheme's default port;
/// `None` for anything else (a path, another scheme, `null`).
pub fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https")
        || authority.is_empty()
        || authority.contains(['/', '?', '#', '@', ' '])
    {
        return None;
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(format!("{scheme}://{authority}"))
}

/// Where a request comes from, as the edge established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress {
    pub ip: Option<IpAddr>,
    /// The browser reached the console over TLS (directly, or through a
    /// trusted proxy that says so).
    pub over_tls: bool,
}

impl ClientAddress {
    /// The client's address; from a trusted proxy, the nearest address its
    /// forwarding headers name that is not itself a trusted proxy.
    pub fn of(config: &EdgeConfig, peer: Option<IpAddr>, headers: &HeaderMap) -> ClientAddress {
        let Some(peer) = peer.map(canonical) else {
            return ClientAddress {
                ip: None,
                over_tls: false,
            };
        };
        if !config.trusts(peer) {
            return ClientAddress {
                ip: Some(peer),
                over_tls: false,
            };
        }
        let hops = forwarded_hops(headers);
        // Right to left: the proxies appended in the order they were
        // passed; the first untrusted one is who the last proxy served.
        let mut client = peer;
        let mut proto = None;
        for hop in hops.iter().rev() {
            let Some(ip) = hop.ip else { break };
            client = canonical(ip);
            proto = hop.proto.clone().or(proto);
            if !config.trusts(client) {
                break;
            }
        }
        let proto = proto.or_else(|| {
            headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(|v| v.trim().to_ascii_lowercase())
        });
        ClientAddress {
            ip: Some(client),
            over_tls: proto.as_deref() == Some("https"),
        }
    }
}

struct Hop {
    ip: Option<IpAddr>,
    proto: Option<String>,
}

/// The hops of `Forwarded` (RFC 7239) if present, else of `X-Forwarded-For`.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Hop> {
    let joined = |name: header::HeaderName| -> Option<String> {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    if let Some(forwarded) = joined(header::FORWARDED) {
        return forwarded
            .split(',')
            .map(|element| {
                let mut hop = Hop {
                    ip: None,
                    proto: None,
                };
                for pair in element.split(';') {
                    let Some((key, value)) = pair.split_once('=') else {
                        continue;
                    };
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "for" => hop.ip = parse_node(value),
                        "proto" => hop.proto = Some(value.to_ascii_lowercase()),
                        _ => {}
                    }
                }
                hop
            })
            .collect();
    }
    joined(header::HeaderName::from_static("x-forwarded-for"))
        .map(|list| {
            list.split(',')
                .map(|value| Hop {
                    ip: parse_node(value.trim()),
                    proto: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `[2001:db8::1]:4711`, `2001:db8::1`. `unknown` and obfuscated names are
/// not addresses.
fn parse_node(value: &str) -> Option<IpAddr> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    value
        .strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|inner| inner.parse().ok())
}

/// Why a state-changing request is refused as cross-origin, if it is.
pub fn cross_origin_refusal(
    config: &EdgeConfig,
    method: &Method,
    headers: &HeaderMap,
    authority: Option<&str>,
) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let own = |origin: &str| -> bool {
        let Some(origin) = normalize_origin(origin) else {
            return false;
        };
        if config.public_origins.is_empty() {
            // HTTP/2 names the host in the request's authority, not `Host`.
            let host = header_text("host")
                .or(authority)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let authority = origin.split_once("://").map_or("", |(_, a)| a);
            authority == host
                || format!("{authority}:80") == host
                || format!("{authority}:443") == host
        } else {
            config.public_origins.contains(&origin)
        }
    };
    if let Some(origin) = header_text("origin") {
        return (!own(origin)).then(|| format!("Origin {origin} is not this console's"));
    }
    if let Some(site) = header_text("sec-fetch-site") {
        return (!matches!(site, "same-origin" | "none"))
            .then(|| format!("Sec-Fetch-Site is {site}"));
    }
    if let Some(referer) = header_text("referer") {
        let origin = referer
            .split_once("://")
            .map(|(scheme, rest)| {
                format!(
                    "{scheme}://{}",
                    rest.split(['/', '?', '#']).next().unwrap_or("")
                )
            })
            .unwrap_or_default();
        return (!own(&origin)).then(|| format!("Referer {origin} is not this console's"));
    }
    // Browsers send Origin or Sec-Fetch-Site with every state-changing
    // request; one with neither is a script or a command-line client, which
    // a hostile page cannot drive with the admin's cookies.
    None
}

/// Whether a multipart upload names its boundary (the decoder needs it).
fn has_multipart_boundary(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| multer::parse_boundary(ct).is_ok())
}

fn refuse(status: StatusCode, message: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        message,
    )
        .into_response()
}

/// The edge's checks, before any handler: the client's address, then
/// cross-origin, oversized and undecodable requests refused with one log
/// line each.
pub async fn guard(
    State(app): State<AppState>,
    mut request: Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let over_own_tls = request
        .extensions()
        .get::<crate::server::https::OverTls>()
        .is_some();
    let mut client = ClientAddress::of(&app.config.edge, peer, request.headers());
    client.over_tls |= over_own_tls;
    let who = client
        .ip
        .map_or_else(|| "an unknown address".into(), |ip| ip.to_string());
    let path = request.uri().path().to_string();
    let authority = request.uri().authority().map(|a| a.as_str().to_string());
    if let Some(why) = cross_origin_refusal(
        &app.config.edge,
        request.method(),
        request.headers(),
        authority.as_deref(),
    ) {
        tracing::warn!(target: "admin-access", "refused a cross-origin {} {path} from {who}: {why}", request.method());
        return refuse(
            StatusCode::FORBIDDEN,
            "Refused: this request did not come from the console's own pages.".into(),
        );
    }
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > MAX_BODY_BYTES) {
        tracing::warn!(target: "admin-access", "refused a {}-byte request to {path} from {who}: over the limit", declared_length.unwrap_or_default());
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request is larger than {} MB.",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        );
    }
    if request.method() == Method::POST
        && is_multipart_endpoint(&path)
        && !has_multipart_boundary(request.headers())
    {
        tracing::warn!(target: "admin-access", "refused an upload to {path} from {who}: not multipart/form-data with a boundary");
        return refuse(
            StatusCode::BAD_REQUEST,
            "Upload the form as multipart/form-data with a boundary.".into(),
        );
    }
    request.extensions_mut().insert(client);
    let mut response = next.run(request).await;
    if over_own_tls {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            http::HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn origins_are_normalized_and_bad_ones_named() {
        assert_eq!(
            normalize_origin("HTTPS://Mail.Example.com:443/").as_deref(),
            Some("https://mail.example.com")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(normalize_origin("null"), None);
        assert_eq!(normalize_origin("ftp://x"), None);
        let error = EdgeConfig::parse("mail.example.com", "").unwrap_err();
        assert!(error.contains("'mail.example.com'"), "{error}");
        let error = EdgeConfig::parse("", "10.0.0.0/33").unwrap_err();
        assert!(error.contains("'10.0.0.0/33'"), "{error}");
    }

    #[test]
    fn state_changes_must_come_from_the_own_origin() {
        let config = EdgeConfig::default();
        let refused = |pairs: &[(&str, &str)]| {
            cross_origin_refusal(&config, &Method::POST, &headers(pairs), None).is_some()
        };
        let host = ("host", "127.0.0.1:3000");
        assert!(!refused(&[host, ("origin", "http://127.0.0.1:3000")]));
        assert!(
            refused(&[host, ("origin", "http://127.0.0.1:4000")]),
            "another port is another origin"
        );
        assert!(refused(&[host, ("origin", "http://evil.example")]));
        assert!(refused(&[host, ("origin", "null")]));
        assert!(refused(&[host, ("sec-fetch-site", "same-site")]));
        assert!(!refused(&[host, ("sec-fetch-site", "same-origin")]));
        assert!(refused(&[host, ("referer", "http://evil.example/form")]));
        assert!(!refused(&[
            host,
            ("referer", "http://127.0.0.1:3000/admin")
        ]));
        assert!(!refused(&[host]), "no browser headers: not a browser");
        assert!(
            cross_origin_refusal(
                &config,
                &Method::POST,
                &headers(&[("origin", "https://127.0.0.1:3443")]),
                Some("127.0.0.1:3443")
            )
            .is_none(),
            "HTTP/2 names the host in the authority"
        );
        assert!(
            cross_origin_refusal(
                &config,
                &Method::GET,
                &headers(&[host, ("origin", "http://evil.example")]),
                None
            )
            .is_none(),
            "reads are not state changes"
        );
        let configured = EdgeConfig::parse("https://mail.example.com", "").unwrap();
        let check = |pairs: &[(&str, &str)]| {
            cross_origin_refusal(&configured, &Method::POST, &headers(pairs), None).is_some()
        };
        assert!(!check(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://mail.example.com")
        ]));
        assert!(check(&[
            ("host", "mail.example.com"),
            ("origin", "http://mail.example.com")
        ]));
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies() {
        let config = EdgeConfig::parse("", "10.0.0.0/8").unwrap();
        let forged = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        let direct = ClientAddress::of(&config, Some("198.51.100.7".parse().unwrap()), &forged);
        assert_eq!(direct.ip, Some("198.51.100.7".parse().unwrap()));
        assert!(!direct.over_tls);
        let proxied = ClientAddress::of(&config, Some("10.1.2.3".parse().unwrap()), &forged);
        assert_eq!(proxied.ip, Some("203.0.113.9".parse().unwrap()));
        assert!(proxied.over_tls);
        // A client's own forged entry on the left is not believed: the
        // nearest untrusted hop is.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        let proxied = ClientAddress::of(&config, Some("10.1.2.3".parse().unwrap()), &chain);
        assert_eq!(proxied.ip, Some("203.0.113.9".parse().unwrap()));
        let rfc = headers(&[(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        let proxied = ClientAddress::of(&config, Some("::ffff:10.1.2.3".parse().unwrap()), &rfc);
        assert_eq!(proxied.ip, Some("2001:db8::7".parse().unwrap()));
        assert!(proxied.over_tls);
    }
}
