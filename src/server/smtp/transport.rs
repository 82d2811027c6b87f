//! lettre's TLS parameters on the console's trust store, a one-message
//! XOAUTH2 transport, and how a session signs in.

use crate::domain::Secret;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::time::Duration;

/// TLS parameters for `host`: the system roots plus the imported CAs.
pub fn tls_parameters(
    host: &str,
    imported: &[Vec<u8>],
) -> Result<TlsParameters, lettre::transport::smtp::Error> {
    let mut builder =
        TlsParameters::builder(host.to_string()).certificate_store(CertificateStore::Default);
    for der in imported {
        builder = builder.add_root_certificate(Certificate::from_der(der.clone())?);
    }
    builder.build_rustls()
}

pub struct Endpoint<'a> {
    pub host: &'a str,
    pub port: u16,
    pub timeout: Duration,
    /// STARTTLS required (the connection fails rather than go on in clear).
    pub starttls: Option<TlsParameters>,
    pub hello_name: &'a str,
}

/// A transport that signs in with `AUTH XOAUTH2` as `mailbox` with `token`.
pub fn xoauth2(
    endpoint: Endpoint<'_>,
    mailbox: &str,
    token: &Secret,
) -> AsyncSmtpTransport<Tokio1Executor> {
    builder(endpoint)
        .credentials(Credentials::new(
            mailbox.to_string(),
            token.expose().to_string(),
        ))
        .authentication(vec![Mechanism::Xoauth2])
        .build()
}

/// How a session signs in.
pub enum Login<'a> {
    None,
    Password {
        username: &'a str,
        password: &'a Secret,
    },
    XOAuth2 {
        mailbox: &'a str,
        token: &'a Secret,
    },
}

fn builder(endpoint: Endpoint<'_>) -> lettre::transport::smtp::AsyncSmtpTransportBuilder {
    let tls = match endpoint.starttls {
        Some(params) => Tls::Required(params),
        None => Tls::None,
    };
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host)
        .port(endpoint.port)
        .timeout(Some(endpoint.timeout))
        .hello_name(lettre::transport::smtp::extension::ClientId::Domain(
            endpoint.hello_name.to_string(),
        ))
        .tls(tls)
}
