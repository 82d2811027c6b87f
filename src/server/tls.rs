//! Whom the console trusts on outbound TLS: the system's root certificates
//! plus the CA certificates imported on Administration > System >
//! Certificates > Trusted Certificates with the infrastructure trust role,
//! and nothing else. One rustls configuration serves both the token request
//! (reqwest) and the SMTP STARTTLS upgrade, so they can never disagree.

use rustls::client::ClientConfig;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::CertificateDer;
use std::error::Error as StdError;
use std::sync::{Arc, OnceLock};

/// The operating system's roots, read once: reading them parses every file
/// in /etc/ssl/certs.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that trusts the system roots and `imported`.
pub fn client_config(imported: &[Vec<u8>]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    roots.add_parsable_certificates(imported.iter().map(|der| CertificateDer::from(der.clone())));
    let config = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Why a peer's certificate was refused, in words an admin can act on, if
/// the error (or anything it wraps) is a certificate error.
pub fn certificate_problem(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(rustls::Error::InvalidCertificate(problem)) =
            err.downcast_ref::<rustls::Error>()
        {
            return Some(describe(problem));
        }
        // An io::Error's source() skips the error it wraps; step into it.
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    None
}

fn describe(problem: &CertificateError) -> String {
    match problem {
        CertificateError::UnknownIssuer => {
            "PKIX path building failed: unable to find a valid certification path to the issuing CA"
                .into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "the server's certificate does not name this host".into()
        }
        CertificateError::Revoked => "the server's certificate is revoked".into(),
        CertificateError::BadSignature => "the certificate's signature is invalid".into(),
        other => format!("certificate rejected: {other:?}"),
    }
}
