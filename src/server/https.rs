//! The HTTPS listener (rustls, TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by
//! ALPN) with the node's system certificate, which a resolver hands to
//! each handshake so that a new certificate takes effect without a
//! restart; the certificate generated on first start; and the plain HTTP
//! listener's mode (serve, or redirect to HTTPS).

use crate::domain::Secret;
use crate::server::AppState;
use crate::server::db;
use crate::server::pki;
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

pub const HTTPS_ADDR_ENV: &str = "MAILROOM_HTTPS_ADDR";
pub const HTTP_MODE_ENV: &str = "MAILROOM_HTTP_MODE";
pub const TLS_SANS_ENV: &str = "MAILROOM_TLS_SANS";
pub const DEFAULT_HTTPS_ADDR: &str = "127.0.0.1:3443";

/// HTTP/2 streams one connection may have open at once.
const MAX_CONCURRENT_STREAMS: u32 = 1000;

/// The vault purpose of system certificates' private keys.
pub const KEY_PURPOSE: &str = "system-certificate-key";

/// A request that arrived over this node's own TLS listener.
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// What the plain HTTP listener does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMode {
    /// Serves the whole console (the default on a loopback address).
    Serve,
    /// Answers every request with a redirect to the HTTPS address.
    Redirect,
}

impl HttpMode {
    /// `MAILROOM_HTTP_MODE`, or by default: serve on loopback, else redirect.
    pub fn from_env(http_addr: SocketAddr) -> anyhow::Result<HttpMode> {
        match std::env::var(HTTP_MODE_ENV).ok().as_deref().map(str::trim) {
            None | Some("") => Ok(if http_addr.ip().is_loopback() {
                HttpMode::Serve
            } else {
                HttpMode::Redirect
            }),
            Some("serve") => Ok(HttpMode::Serve),
            Some("redirect") => Ok(HttpMode::Redirect),
            Some(other) => {
                anyhow::bail!("{HTTP_MODE_ENV}: '{other}' is neither serve nor redirect")
            }
        }
    }
}

/// `MAILROOM_HTTPS_ADDR`, or 127.0.0.1:3443.
pub fn https_addr_from_env() -> anyhow::Result<SocketAddr> {
    let text = std::env::var(HTTPS_ADDR_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_HTTPS_ADDR.into());
    text.trim().parse().map_err(|_| {
        anyhow::anyhow!("{HTTPS_ADDR_ENV}: '{text}' is not an address such as 0.0.0.0:443")
    })
}

/// The certificates each handshake gets: this node's Admin certificate,
/// or its Portal certificate when that is another one and the browser
/// asked (SNI) for a name only the Portal certificate carries. Replaced in
/// place when an admin binds or assigns another one: the next handshake
/// presents it, without a restart.
#[derive(Debug, Default)]
pub struct CertificateResolver(RwLock<Option<Arc<Served>>>);

#[derive(Debug)]
pub struct Served {
    pub admin: Arc<CertifiedKey>,
    admin_names: Vec<String>,
    portal: Option<(Arc<CertifiedKey>, Vec<String>)>,
}

impl Served {
    pub fn admin_only(admin: Arc<CertifiedKey>) -> Served {
        Served {
            admin,
            admin_names: Vec::new(),
            portal: None,
        }
    }
}

impl CertificateResolver {
    pub fn new(key: Arc<CertifiedKey>) -> Self {
        CertificateResolver(RwLock::new(Some(Arc::new(Served::admin_only(key)))))
    }

    pub fn replace(&self, key: Arc<CertifiedKey>) {
        self.set(Served::admin_only(key));
    }

    pub fn set(&self, served: Served) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(served));
    }

    /// Whether this process serves HTTPS (the command line and some tests
    /// do not).
    pub fn is_serving(&self) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// What a handshake asking for `server_name` gets.
    pub fn for_name(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let served = self.0.read().unwrap_or_else(|e| e.into_inner()).clone()?;
        if let (Some(name), Some((portal, names))) = (server_name, &served.portal) {
            let asked = [name.to_string()];
            if pki::names_node(names, &asked) && !pki::names_node(&served.admin_names, &asked) {
                return Some(portal.clone());
            }
        }
        Some(served.admin.clone())
    }
}

impl ResolvesServerCert for CertificateResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.for_name(hello.server_name())
    }
}

/// A certificate chain (PEM) and its private key (PKCS#8 PEM) as rustls
/// serves them.
pub fn certified_key(chain_pem: &str, key_pem: &Secret) -> anyhow::Result<CertifiedKey> {
    use rustls_pki_types::pem::PemObject;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("the certificate chain is not PEM: {e}"))?;
    anyhow::ensure!(!chain.is_empty(), "the certificate chain is empty");
    let key = PrivateKeyDer::from_pem_slice(key_pem.expose().as_bytes())
        .map_err(|e| anyhow::anyhow!("the private key is not PEM: {e}"))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| anyhow::anyhow!("the private key cannot sign: {e}"))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| anyhow::anyhow!("the private key does not belong to the certificate: {e}"))?;
    Ok(certified)
}

/// The names a generated certificate carries: the node's host name,
/// `localhost`, the loopback addresses and `MAILROOM_TLS_SANS`.
pub fn default_sans(host_name: &str) -> Vec<String> {
    let mut sans = vec![
        host_name.to_string(),
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ];
    if let Ok(extra) = std::env::var(TLS_SANS_ENV) {
        sans.extend(
            extra
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }
    let mut unique = Vec::new();
    for san in sans {
        if !san.is_empty() && !unique.contains(&san) {
            unique.push(san);
        }
    }
    unique
}

/// A self-signed ECDSA P-256 certificate for `common_name` and `sans`,
/// valid a year from `now` (ISE's default): its chain PEM and key PEM.
pub fn self_signed(
    common_name: &str,
    sans: &[String],
    now: time::OffsetDateTime,
) -> anyhow::Result<(String, Secret)> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(sans.to_vec())?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, common_name);
    name.push(rcgen::DnType::OrganizationName, "Mailroom");
    params.distinguished_name = name;
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(365);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.self_signed(&key)?;
    Ok((certificate.pem(), Secret::new(key.serialize_pem())))
}

/// Generates (self-signed) and stores this node's first certificate, for
/// the Admin and Portal usages, when the node has none for Admin yet: the
/// key sealed in the vault.
pub async fn ensure_node_certificate(state: &AppState) -> anyhow::Result<()> {
    let node = state.config.node_name.clone();
    if db::system_certificates::admin_certificate(&state.db, &node)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let sans = default_sans(&host_name(&node));
    let now = state.clock.now();
    let common_name = node.clone();
    let (chain, key) =
        tokio::task::spawn_blocking(move || self_signed(&common_name, &sans, now)).await??;
    let info = crate::server::certs::parse(chain.as_bytes(), now.unix_timestamp())
        .map_err(|e| anyhow::anyhow!("the generated certificate: {e}"))?;
    let mut tx = db::begin_write(&state.db).await?;
    let id = db::system_certificates::insert(
        &mut *tx,
        &db::system_certificates::NewSystemCertificate {
            node: &node,
            friendly_name: "Default self-signed server certificate",
            used_by_admin: true,
            used_by_portal: true,
            certificate_pem: &chain,
            issued_to: &info.subject,
            issued_by: &info.issuer,
            valid_from: info.not_before,
            valid_to: info.not_after,
            created_by: "system",
        },
        now.unix_timestamp(),
    )
    .await?;
    state
        .vault
        .put_in(
            &mut *tx,
            KEY_PURPOSE,
            &id.to_string(),
            &key,
            now.unix_timestamp(),
        )
        .await?;
    tx.commit().await?;
    tracing::info!(target: "system", "generated a self-signed server certificate for {node}");
    Ok(())
}

/// This machine's host name (`/etc/hostname`), or `fallback`.
pub fn host_name(fallback: &str) -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

/// The certificates this node serves, from the database: its Admin
/// certificate and, when another, its Portal certificate.
pub async fn served_certificates(state: &AppState) -> anyhow::Result<Served> {
    let node = &state.config.node_name;
    let admin = db::system_certificates::admin_certificate(&state.db, node)
        .await?
        .ok_or_else(|| anyhow::anyhow!("node '{node}' has no certificate for the Admin usage"))?;
    let portal = db::system_certificates::portal_certificate(&state.db, node).await?;
    let mut served = Served::admin_only(Arc::new(row_key(state, &admin).await?));
    served.admin_names = names_of(&admin.certificate_pem);
    if let Some(portal) = portal.filter(|p| p.id != admin.id) {
        let key = row_key(state, &portal).await?;
        served.portal = Some((Arc::new(key), names_of(&portal.certificate_pem)));
    }
    Ok(served)
}

async fn row_key(
    state: &AppState,
    row: &db::system_certificates::SystemCertificateRow,
) -> anyhow::Result<CertifiedKey> {
    let key = state
        .vault
        .get(KEY_PURPOSE, &row.id.to_string())
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the private key of system certificate '{}' is missing from the vault",
                row.friendly_name
            )
        })?;
    certified_key(&row.certificate_pem, &key)
}

fn names_of(chain_pem: &str) -> Vec<String> {
    pki::read_chain(chain_pem.as_bytes())
        .ok()
        .and_then(|chain| chain.first().and_then(|leaf| pki::facts(leaf).ok()))
        .map(|facts| facts.sans)
        .unwrap_or_default()
}

/// Reads this node's certificates again and serves them from the next
/// handshake on; a failure keeps the current ones and is logged.
pub async fn reload(state: &AppState) {
    if !state.tls.is_serving() {
        return;
    }
    match served_certificates(state).await {
        Ok(served) => state.tls.set(served),
        Err(e) => {
            tracing::error!(target: "system", "the system certificates could not be loaded, the current ones stay in use: {e:#}")
        }
    }
}

/// The TLS settings: TLS 1.3 and 1.2 only, HTTP/2 and HTTP/1.1 by ALPN.
pub fn server_config(resolver: Arc<CertificateResolver>) -> anyhow::Result<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
    .with_no_client_auth()
    .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `app` over TLS on `listener` until `stop` completes. Each
/// connection gets TCP_NODELAY, ten seconds to finish its handshake, and
/// the peer address and `OverTls` in every request's extensions.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    accept_until(listener, stop, "HTTPS", move |tcp, peer| {
        let acceptor = acceptor.clone();
        let app = app.clone();
        async move {
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp));
            match handshake.await {
                Ok(Ok(tls)) => serve_connection(tls, peer, app, true).await,
                Ok(Err(e)) => {
                    tracing::debug!(target: "system", "TLS handshake with {peer} failed: {e}")
                }
                Err(_) => {}
            }
        }
    })
    .await
}

/// Serves `app` over plain HTTP on `listener` until `stop` completes, as
/// `serve_tls` does over TLS.
pub async fn serve_plain(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) {
    accept_until(listener, stop, "HTTP", move |tcp, peer| {
        serve_connection(tcp, peer, app.clone(), false)
    })
    .await
}

/// Accepts connections on `listener` until `stop` completes, each with
/// TCP_NODELAY (without it a response written in pieces waits for the
/// client's delayed ACK, about 40 ms), and runs `handle` on its own task.
async fn accept_until<F, Fut>(
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()>,
    what: &str,
    handle: F,
) where
    F: Fn(tokio::net::TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::debug!(target: "system", "{what} accept failed: {e}");
                    // Out of file descriptors: give the others a moment.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(handle(tcp, peer));
    }
}

/// One connection, plain or TLS: the peer address (and `OverTls`) in every
/// request, HTTP/1.1 header names as ISE spells them (scripts read
/// `headers['Location']` and `X-CSRF-Token` case-sensitively), and HTTP/2
/// with room for a console page's lazy chunks.
async fn serve_connection<I>(io: I, peer: SocketAddr, app: Router, over_tls: bool)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;
    let service = app.map_request(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if over_tls {
            request.extensions_mut().insert(OverTls);
        }
        request
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().title_case_headers(true);
    // A cold console page asks for over 200 lazy chunks at once: at
    // hyper's default of 200 concurrent streams Chromium queued the rest,
    // and a throttled load stalled every time (it can still stall now and
    // then: BENCHMARKS.md).
    builder
        .http2()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    let served = builder
        .serve_connection_with_upgrades(
            TokioIo::new(IseHeaderCase(io)),
            TowerToHyperService::new(service),
        )
        .await;
    if let Err(e) = served {
        let what = if over_tls { "HTTPS" } else { "HTTP" };
        tracing::debug!(target: "system", "{what} connection from {peer} ended: {e}");
    }
}

/// A connection whose HTTP/1.1 answers spell `X-CSRF-Token` as ISE does:
/// hyper writes header names in title case (`X-Csrf-Token`), and
/// `ciscoisesdk` looks the token up in a plain, case-sensitive dict. The
/// same length, so it is a substitution in the bytes written.
struct IseHeaderCase<T>(T);

const TITLE_CASED: &[u8] = b"\r\nX-Csrf-Token:";
const ISE_CASED: &[u8] = b"\r\nX-CSRF-Token:";

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for IseHeaderCase<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for IseHeaderCase<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let found = buf
            .windows(TITLE_CASED.len())
            .position(|window| window == TITLE_CASED);
        match found {
            None => std::pin::Pin::new(&mut self.0).poll_write(cx, buf),
            Some(at) => {
                let mut fixed = buf.to_vec();
                fixed[at..at + ISE_CASED.len()].copy_from_slice(ISE_CASED);
                std::pin::Pin::new(&mut self.0).poll_write(cx, &fixed)
            }
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The plain HTTP listener in redirect mode: every request goes to the
/// same path and query on the HTTPS port of the host the browser used.
pub fn redirect_router(https: SocketAddr) -> Router {
    Router::new()
        .fallback(move |request: Request| async move { redirect_to_https(&request, https) })
}

fn redirect_to_https(request: &Request, https: SocketAddr) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(host_without_port)
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| match https.ip() {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        });
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let port = if https.port() == 443 {
        String::new()
    } else {
        format!(":{}", https.port())
    };
    let location = format!("https://{host}{port}{path}");
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// `host` of `host[:port]` (`[v6]` kept in brackets); nothing for a value
/// that is not a plain host.
fn host_without_port(authority: &str) -> String {
    let authority = authority.trim();
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default().to_string()
    };
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    if plain { host } else { String::new() }
}
