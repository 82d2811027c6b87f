//! Whom the console trusts on outbound TLS: the system's root certificates
//! plus the CA certificates imported on Administration > System >
//! Certificates > Trusted Certificates with the infrastructure trust role,
//! and nothing else. One rustls configuration serves both the token request
//! (reqwest) and the SMTP STARTTLS upgrade, so they can never disagree.

use crate::domain::diagnosis::CertificateFault;
use rustls::client::ClientConfig;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::CertificateDer;
use std::error::Error as StdError;
use std::sync::{Arc, OnceLock};

/// The operating system's roots, read once: reading them parses every file
/// in /etc/ssl/certs.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
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

/// Why a peer's certificate was refused, if the error (or anything it
/// wraps) is a certificate error.
pub fn certificate_problem(error: &(dyn StdError + 'static)) -> Option<CertificateFault> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(rustls::Error::InvalidCertificate(problem)) =
            err.downcast_ref::<rustls::Error>()
        {
            return Some(fault(problem));
        }
        // An io::Error's source() skips the error it wraps; step into it.
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    None
}

fn fault(problem: &CertificateError) -> CertificateFault {
    let unix = |t: &rustls_pki_types::UnixTime| i64::try_from(t.as_secs()).ok();
    match problem {
        CertificateError::UnknownIssuer => CertificateFault::UnknownIssuer,
        CertificateError::Expired => CertificateFault::Expired { not_after: None },
        CertificateError::ExpiredContext { not_after, .. } => CertificateFault::Expired {
            not_after: unix(not_after),
        },
        CertificateError::NotValidYet => CertificateFault::NotValidYet { not_before: None },
        CertificateError::NotValidYetContext { not_before, .. } => CertificateFault::NotValidYet {
            not_before: unix(not_before),
        },
        CertificateError::NotValidForName => CertificateFault::NameMismatch {
            presented: Vec::new(),
        },
        CertificateError::NotValidForNameContext { presented, .. } => {
            CertificateFault::NameMismatch {
                presented: presented.iter().filter_map(|n| presented_name(n)).collect(),
            }
        }
        CertificateError::Revoked => CertificateFault::Revoked,
        CertificateError::BadSignature => CertificateFault::BadSignature,
        other => CertificateFault::Other(format!("{other:?}")),
    }
}

/// The name in the TLS library's rendering of a subject alternative name,
/// `DnsName("smtp.example.com")` or `IpAddress(192.0.2.1)`; other kinds
/// (URIs, directory names) cannot be typed into SMTP Server.
fn presented_name(rendered: &str) -> Option<String> {
    let inner = |prefix: &str| {
        rendered
            .strip_prefix(prefix)?
            .strip_suffix(')')
            .map(|name| name.trim_matches('"').to_string())
    };
    inner("DnsName(").or_else(|| inner("IpAddress("))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_names_are_read_from_the_tls_librarys_rendering() {
        assert_eq!(
            presented_name("DnsName(\"smtp.example.com\")").as_deref(),
            Some("smtp.example.com")
        );
        assert_eq!(
            presented_name("IpAddress(192.0.2.1)").as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(presented_name("UniformResourceIdentifier(\"x\")"), None);
        assert_eq!(presented_name("DirectoryName"), None);
    }
}
