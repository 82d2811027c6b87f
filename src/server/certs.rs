//! Reading an uploaded CA certificate (PEM or DER) for the Trusted
//! Certificates store, with clear messages for what cannot be trusted.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct ParsedCertificate {
    pub der: Vec<u8>,
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
}

const MAX_BYTES: usize = 64 * 1024;

/// Parses the first certificate of a PEM file, or a DER file, and refuses
/// one that has expired or is not valid yet at `now`.
pub fn parse(bytes: &[u8], now: i64) -> Result<ParsedCertificate, String> {
    if bytes.is_empty() {
        return Err("Choose a certificate file (PEM or DER).".into());
    }
    if bytes.len() > MAX_BYTES {
        return Err("The file is too large for a certificate (64 KiB at most).".into());
    }
    let der = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        CertificateDer::from_pem_slice(bytes)
            .map_err(|_| {
                "The file has no PEM CERTIFICATE block (a private key or a CSR cannot be trusted)."
                    .to_string()
            })?
            .to_vec()
    } else {
        bytes.to_vec()
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|_| "The file is not an X.509 certificate in PEM or DER form.".to_string())?;
    let validity = cert.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    if not_after < now {
        return Err(format!(
            "This certificate expired on {}: import the CA's current certificate.",
            day(not_after)
        ));
    }
    if not_before > now {
        return Err(format!(
            "This certificate is not valid until {}: check the node's clock or import it later.",
            day(not_before)
        ));
    }
    Ok(ParsedCertificate {
        sha256: hex::encode(Sha256::digest(&der)),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string(),
        not_before,
        not_after,
        is_ca: cert.is_ca(),
        der,
    })
}

fn day(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// The certificate as PEM text, for View and download.
pub fn to_pem(der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(not_before: time::OffsetDateTime, not_after: time::OffsetDateTime) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["ca.example".into()]).unwrap();
        params.not_before = not_before;
        params.not_after = not_after;
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn pem_and_der_read_the_same_and_validity_is_checked() {
        let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let der = self_signed(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        );
        let from_der = parse(&der, now.unix_timestamp()).unwrap();
        let from_pem = parse(to_pem(&der).as_bytes(), now.unix_timestamp()).unwrap();
        assert_eq!(from_der.sha256, from_pem.sha256);
        assert_eq!(from_der.der, der);

        let expired = self_signed(
            now - time::Duration::days(60),
            now - time::Duration::days(2),
        );
        let message = parse(&expired, now.unix_timestamp()).unwrap_err();
        assert!(
            message.starts_with("This certificate expired on 2027-01-1"),
            "{message}"
        );
        let future = self_signed(
            now + time::Duration::days(2),
            now + time::Duration::days(60),
        );
        assert!(
            parse(&future, now.unix_timestamp())
                .unwrap_err()
                .contains("not valid until")
        );
    }

    #[test]
    fn garbage_and_keys_are_refused_with_a_reason() {
        assert!(parse(b"", 0).unwrap_err().contains("Choose"));
        assert!(parse(b"hello", 0).unwrap_err().contains("not an X.509"));
        let key = b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
        assert!(parse(key, 0).unwrap_err().contains("no PEM CERTIFICATE"));
    }
}
