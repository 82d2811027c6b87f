//! The cryptography of system certificates: keys, self-signed certificates
//! and signing requests (rcgen), reading what an admin uploads (PEM or DER
//! chains; PKCS#8, encrypted PKCS#8 and PKCS#1 keys; PKCS#12 bundles), the
//! checks before a certificate is served (key match, dates, names, chain)
//! and the PKCS#12 export. Every function here is CPU work: callers run it
//! off the async runtime.

use crate::domain::Secret;
use crate::domain::system_certificate::{KeyType, SubjectFields};
use base64::Engine;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Most bytes a certificate, key or bundle file may have.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// More PBKDF2 rounds than this in an uploaded key or bundle is refused: an
/// upload must not keep a core busy for minutes.
const MAX_KDF_ROUNDS: u32 = 2_000_000;

/// A certificate's facts, as the table and the checks read them.
#[derive(Debug, Clone)]
pub struct Facts {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    /// `DNS:name` or `IP:address`.
    pub sans: Vec<String>,
    pub key_type: String,
    pub sha256: String,
    pub self_signed: bool,
    /// The raw public key (the SubjectPublicKeyInfo's bit string).
    pub public_key: Vec<u8>,
}

/// Reads a DER certificate's facts.
pub fn facts(der: &[u8]) -> Result<Facts, String> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::public_key::PublicKey;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| "The file is not an X.509 certificate in PEM or DER form.".to_string())?;
    let mut sans = Vec::new();
    if let Ok(Some(extension)) = cert.subject_alternative_name() {
        for name in &extension.value.general_names {
            match name {
                GeneralName::DNSName(dns) => sans.push(format!("DNS:{}", dns.to_ascii_lowercase())),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_of(bytes) {
                        sans.push(format!("IP:{ip}"));
                    }
                }
                _ => {}
            }
        }
    }
    let key_type = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(ec)) => format!("ECDSA P-{}", ec.key_size()),
        Ok(_) => "Other".into(),
        Err(_) => "Unknown".into(),
    };
    let validity = cert.validity();
    Ok(Facts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string(),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        sans,
        key_type,
        sha256: hex::encode(Sha256::digest(der)),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
    })
}

fn ip_of(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// One `-----BEGIN label-----` block of a PEM file.
struct PemBlock {
    label: String,
    der: Vec<u8>,
    /// RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`): OpenSSL's legacy
    /// encrypted keys.
    legacy_encrypted: bool,
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Every PEM block of `bytes`, in order; a block whose body is not base64
/// is an error.
fn pem_blocks(bytes: &[u8]) -> Result<Vec<PemBlock>, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut blocks = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].trim().to_string();
        let body_and_more = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_and_more.find(&end_marker) else {
            return Err(format!("The PEM block '{label}' has no END line."));
        };
        let body = &body_and_more[..end];
        let mut legacy_encrypted = false;
        let mut base64_text = String::new();
        for line in body.lines().map(str::trim) {
            if line.contains(':') {
                legacy_encrypted |= line.starts_with("Proc-Type:") && line.contains("ENCRYPTED");
                continue;
            }
            base64_text.push_str(line);
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(base64_text.as_bytes())
            .map_err(|_| format!("The PEM block '{label}' is not valid base64."))?;
        blocks.push(PemBlock {
            label,
            der,
            legacy_encrypted,
        });
        rest = &body_and_more[end + end_marker.len()..];
    }
    Ok(blocks)
}

/// The certificates of a PEM file (every CERTIFICATE block, the server's
/// first) or a DER file (one certificate).
pub fn read_chain(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes.is_empty() {
        return Err("Choose a certificate file (PEM or DER).".into());
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err("The file is too large for a certificate chain (256 KiB at most).".into());
    }
    let chain: Vec<Vec<u8>> = if looks_like_pem(bytes) {
        pem_blocks(bytes)?
            .into_iter()
            .filter(|b| b.label == "CERTIFICATE")
            .map(|b| b.der)
            .collect()
    } else {
        vec![bytes.to_vec()]
    };
    if chain.is_empty() {
        return Err(
            "The file has no PEM CERTIFICATE block (a private key or a CSR goes elsewhere).".into(),
        );
    }
    for der in &chain {
        facts(der)?;
    }
    Ok(chain)
}

/// Why a private key could not be read: the password field's message, or
/// the key file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    File(String),
    Password(String),
}

impl KeyError {
    pub fn field(&self) -> &'static str {
        match self {
            KeyError::File(_) => "private_key",
            KeyError::Password(_) => "password",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            KeyError::File(m) | KeyError::Password(m) => m,
        }
    }
}

/// A private key file (PEM or DER: PKCS#8, encrypted PKCS#8 with
/// `password`, or PKCS#1 RSA) as an unencrypted PKCS#8 PEM that signs.
pub fn read_private_key(bytes: &[u8], password: &Secret) -> Result<Secret, KeyError> {
    if bytes.is_empty() {
        return Err(KeyError::File("Choose the private key file.".into()));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(KeyError::File("The key file is too large.".into()));
    }
    let pkcs8: Zeroizing<Vec<u8>> = if looks_like_pem(bytes) {
        let blocks = pem_blocks(bytes).map_err(KeyError::File)?;
        let Some(block) = blocks.into_iter().find(|b| b.label.contains("PRIVATE KEY")) else {
            return Err(KeyError::File(
                "The file has no PEM PRIVATE KEY block.".into(),
            ));
        };
        let der = Zeroizing::new(block.der);
        match block.label.as_str() {
            "PRIVATE KEY" => der,
            "ENCRYPTED PRIVATE KEY" => decrypt_pkcs8(&der, password)?,
            "RSA PRIVATE KEY" if block.legacy_encrypted => {
                return Err(KeyError::File(
                    "This key uses OpenSSL's legacy PEM encryption: convert it with `openssl pkcs8 -topk8 -in key.pem -out key-pkcs8.pem` and import that."
                        .into(),
                ));
            }
            "RSA PRIVATE KEY" => pkcs1_to_pkcs8(&der)?,
            "EC PRIVATE KEY" => {
                return Err(KeyError::File(
                    "This is a SEC1 EC key: convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-pkcs8.pem` and import that."
                        .into(),
                ));
            }
            other => {
                return Err(KeyError::File(format!(
                    "A '{other}' block is not a private key this console reads (PKCS#8 or PKCS#1)."
                )));
            }
        }
    } else {
        let der = bytes;
        if pkcs8::PrivateKeyInfo::try_from(der).is_ok() {
            Zeroizing::new(der.to_vec())
        } else if pkcs8::EncryptedPrivateKeyInfo::try_from(der).is_ok() {
            decrypt_pkcs8(der, password)?
        } else {
            pkcs1_to_pkcs8(der).map_err(|_| {
                KeyError::File(
                    "The file is not a private key in PEM or DER form (PKCS#8 or PKCS#1).".into(),
                )
            })?
        }
    };
    signing_key(&pkcs8).map_err(KeyError::File)?;
    Ok(pkcs8_pem(&pkcs8))
}

fn decrypt_pkcs8(der: &[u8], password: &Secret) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der)
        .map_err(|_| KeyError::File("The encrypted private key cannot be read.".into()))?;
    if password.expose().is_empty() {
        return Err(KeyError::Password(
            "This private key is encrypted: enter its password.".into(),
        ));
    }
    if let pkcs8::pkcs5::EncryptionScheme::Pbes2(params) = &info.encryption_algorithm {
        let too_costly = match &params.kdf {
            pkcs8::pkcs5::pbes2::Kdf::Pbkdf2(p) => p.iteration_count > MAX_KDF_ROUNDS,
            pkcs8::pkcs5::pbes2::Kdf::Scrypt(p) => {
                p.cost_parameter > 1 << 16 || p.block_size > 8 || p.parallelization > 2
            }
            _ => false,
        };
        if too_costly {
            return Err(KeyError::File(
                "The key's encryption asks for more key-derivation work than this console allows: export it again with default settings."
                    .into(),
            ));
        }
    }
    let document = info.decrypt(password.expose().as_bytes()).map_err(|_| {
        KeyError::Password("The password does not decrypt this private key.".into())
    })?;
    Ok(Zeroizing::new(document.as_bytes().to_vec()))
}

fn pkcs1_to_pkcs8(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::from_pkcs1_der(der)
        .map_err(|_| KeyError::File("The RSA private key cannot be read.".into()))?;
    let document = key
        .to_pkcs8_der()
        .map_err(|_| KeyError::File("The RSA private key cannot be read.".into()))?;
    Ok(Zeroizing::new(document.as_bytes().to_vec()))
}

fn pkcs8_pem(der: &[u8]) -> Secret {
    let body = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Secret::new(pem)
}

/// The key as rcgen signs with it (ECDSA P-256/P-384, RSA 2048+).
fn signing_key(pkcs8: &[u8]) -> Result<rcgen::KeyPair, String> {
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.to_vec());
    rcgen::KeyPair::try_from(&der).map_err(|_| {
        "The private key is not one this console can use (ECDSA P-256 or P-384, or RSA of 2048 bits or more).".to_string()
    })
}

fn pkcs8_der_of(key_pem: &Secret) -> Result<Zeroizing<Vec<u8>>, String> {
    let blocks = pem_blocks(key_pem.expose().as_bytes())?;
    blocks
        .into_iter()
        .find(|b| b.label == "PRIVATE KEY")
        .map(|b| Zeroizing::new(b.der))
        .ok_or_else(|| "The stored key is not PKCS#8.".to_string())
}

/// The raw public key of a PKCS#8 PEM key, to compare with a certificate's.
pub fn public_key_of(key_pem: &Secret) -> Result<Vec<u8>, String> {
    let der = pkcs8_der_of(key_pem)?;
    let key = signing_key(&der)?;
    Ok(rcgen::PublicKeyData::der_bytes(&key).to_vec())
}

/// A PKCS#12 bundle's chain (the key's certificate first) and its key.
pub fn read_pkcs12(bytes: &[u8], password: &Secret) -> Result<(Vec<Vec<u8>>, Secret), KeyError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(KeyError::File("The bundle is too large.".into()));
    }
    let store = p12_keystore::KeyStore::from_pkcs12(
        bytes,
        password.expose(),
        p12_keystore::Pkcs12ImportPolicy::Strict,
    )
    .map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => {
            KeyError::Password("The password does not open this PKCS#12 bundle.".into())
        }
        p12_keystore::error::Error::Pkcs5Error(_) => {
            KeyError::Password("The password does not decrypt this PKCS#12 bundle.".into())
        }
        p12_keystore::error::Error::InvalidParameters => KeyError::File(
            "The bundle asks for more key-derivation work than this console allows.".into(),
        ),
        _ => KeyError::File(
            "The file is not a PKCS#12 bundle (.p12, .pfx) this console can read.".into(),
        ),
    })?;
    let Some((_, chain)) = store.private_key_chain() else {
        return Err(KeyError::File(
            "The bundle has no private key with its certificate.".into(),
        ));
    };
    let certs: Vec<Vec<u8>> = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
    if certs.is_empty() {
        return Err(KeyError::File(
            "The bundle's key has no certificate.".into(),
        ));
    }
    let der = Zeroizing::new(chain.key().as_der().to_vec());
    signing_key(&der).map_err(KeyError::File)?;
    Ok((certs, pkcs8_pem(&der)))
}

/// The certificate chain and key as a PKCS#12 bundle encrypted with
/// `password` (PBES2 with AES-256 and HMAC-SHA256, which OpenSSL 3 and
/// Windows read).
pub fn to_pkcs12(
    chain: &[Vec<u8>],
    key_pem: &Secret,
    friendly_name: &str,
    password: &Secret,
) -> Result<Vec<u8>, String> {
    let der = pkcs8_der_of(key_pem)?;
    let key = p12_keystore::PrivateKey::from_der(&der).map_err(|e| e.to_string())?;
    let certs = chain
        .iter()
        .map(|c| p12_keystore::Certificate::from_der(c).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let local_key_id = Sha256::digest(chain.first().map_or(&[][..], |c| c)).to_vec();
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        friendly_name,
        p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
            local_key_id,
            key,
            certs,
        )),
    );
    store
        .writer(password.expose())
        .write()
        .map_err(|e| e.to_string())
}

/// A new private key of `key_type`, PKCS#8 PEM.
pub fn generate_key(key_type: KeyType) -> Result<Secret, String> {
    let pem = match key_type {
        KeyType::EcdsaP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| e.to_string())?
            .serialize_pem(),
        KeyType::EcdsaP384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)
            .map_err(|e| e.to_string())?
            .serialize_pem(),
        KeyType::Rsa2048 | KeyType::Rsa4096 => {
            use rsa::pkcs8::{EncodePrivateKey, LineEnding};
            let bits = if key_type == KeyType::Rsa2048 {
                2048
            } else {
                4096
            };
            let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits)
                .map_err(|e| e.to_string())?;
            key.to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| e.to_string())?
                .to_string()
        }
    };
    Ok(Secret::new(pem))
}

/// The certificate parameters of a Generate form: subject, SANs (IP
/// addresses as IP SANs), server authentication, `days` from `now`.
pub fn certificate_params(
    subject: &SubjectFields,
    sans: &[String],
    now: time::OffsetDateTime,
    days: i64,
) -> Result<rcgen::CertificateParams, String> {
    let mut params = rcgen::CertificateParams::new(sans.to_vec())
        .map_err(|_| "A subject alternative name is not a valid DNS name or IP address.")?;
    let mut name = rcgen::DistinguishedName::new();
    for (kind, value) in [
        (rcgen::DnType::CommonName, &subject.common_name),
        (
            rcgen::DnType::OrganizationalUnitName,
            &subject.organizational_unit,
        ),
        (rcgen::DnType::OrganizationName, &subject.organization),
        (rcgen::DnType::LocalityName, &subject.locality),
        (rcgen::DnType::StateOrProvinceName, &subject.state),
        (rcgen::DnType::CountryName, &subject.country),
    ] {
        if !value.trim().is_empty() {
            name.push(kind, value.trim());
        }
    }
    params.distinguished_name = name;
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(days);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

/// A self-signed certificate (PEM) for `params` with `key_pem`.
pub fn self_signed(params: &rcgen::CertificateParams, key_pem: &Secret) -> Result<String, String> {
    let key = signing_key(&pkcs8_der_of(key_pem)?)?;
    params
        .clone()
        .self_signed(&key)
        .map(|c| c.pem())
        .map_err(|e| e.to_string())
}

/// A certificate signing request (PEM) for `params` with `key_pem`.
pub fn signing_request(
    params: &rcgen::CertificateParams,
    key_pem: &Secret,
) -> Result<String, String> {
    let key = signing_key(&pkcs8_der_of(key_pem)?)?;
    params
        .serialize_request(&key)
        .and_then(|csr| csr.pem())
        .map_err(|e| e.to_string())
}

/// The chain as PEM text.
pub fn chain_pem(chain: &[Vec<u8>]) -> String {
    chain
        .iter()
        .map(|der| crate::server::certs::to_pem(der))
        .collect()
}

/// Whether `sans` name the node: one of `names` (host names or IP
/// addresses) equals a SAN, or falls under a `*.` wildcard SAN.
pub fn names_node(sans: &[String], names: &[String]) -> bool {
    sans.iter().any(|san| {
        let value = san
            .strip_prefix("DNS:")
            .or_else(|| san.strip_prefix("IP:"))
            .unwrap_or(san)
            .to_ascii_lowercase();
        names.iter().any(|name| {
            let name = name.to_ascii_lowercase();
            if name == value {
                return true;
            }
            match value.strip_prefix("*.") {
                Some(domain) => name
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == domain),
                None => false,
            }
        })
    })
}

/// Checks that the chain leads from its first certificate to `anchors`
/// (the Trusted Certificates store and the system roots), as a browser
/// would; returns the path's subjects, leaf first, ending with the anchor.
pub fn verify_chain(
    chain: &[Vec<u8>],
    anchors: &[Vec<u8>],
    now: i64,
) -> Result<Vec<String>, String> {
    let Some(leaf) = chain.first() else {
        return Err("The file has no certificate.".into());
    };
    let leaf_facts = facts(leaf)?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(anchors.iter().map(|der| CertificateDer::from(der.clone())));
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        crate::server::tls::crypto_provider(),
    )
    .build()
    .map_err(|_| {
        "No CA certificate is trusted yet: import the issuing CA on Trusted Certificates first."
            .to_string()
    })?;
    let name = leaf_facts
        .sans
        .iter()
        .find_map(|san| {
            let value = san.strip_prefix("DNS:").or_else(|| san.strip_prefix("IP:"))?;
            ServerName::try_from(value.replace("*.", "wildcard.")).ok()
        })
        .ok_or_else(|| {
            "The certificate has no subject alternative name: browsers refuse a server certificate without one.".to_string()
        })?;
    let intermediates: Vec<CertificateDer<'static>> = chain[1..]
        .iter()
        .map(|der| CertificateDer::from(der.clone()))
        .collect();
    use rustls::client::danger::ServerCertVerifier;
    verifier
        .verify_server_cert(
            &CertificateDer::from(leaf.clone()),
            &intermediates,
            &name,
            &[],
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.max(0) as u64)),
        )
        .map_err(|e| match e {
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                format!(
                    "The chain of '{}' does not lead to a trusted CA: import the issuing CA (and any intermediate) on Trusted Certificates, or include the intermediates in the file.",
                    leaf_facts.subject
                )
            }
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired) => {
                "A certificate of the chain has expired.".into()
            }
            other => format!("The chain cannot be verified: {other}."),
        })?;
    // The path as a client builds it: the file's certificates, then the
    // anchor that issued the last one.
    let mut path: Vec<String> = chain
        .iter()
        .filter_map(|der| facts(der).ok().map(|f| f.subject))
        .collect();
    let last_issuer = chain
        .last()
        .and_then(|der| facts(der).ok())
        .map(|f| f.issuer)
        .unwrap_or_default();
    if path.last() != Some(&last_issuer) {
        path.push(last_issuer);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    fn subject(cn: &str) -> SubjectFields {
        SubjectFields {
            common_name: cn.into(),
            ..Default::default()
        }
    }

    #[test]
    fn generated_keys_sign_and_the_certificate_carries_the_names() {
        for key_type in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048] {
            let key = generate_key(key_type).unwrap();
            let params = certificate_params(
                &subject("node1"),
                &["node1.example.com".into(), "10.0.0.5".into()],
                now(),
                365,
            )
            .unwrap();
            let pem = self_signed(&params, &key).unwrap();
            let chain = read_chain(pem.as_bytes()).unwrap();
            let facts = facts(&chain[0]).unwrap();
            assert_eq!(facts.sans, vec!["DNS:node1.example.com", "IP:10.0.0.5"]);
            assert!(facts.self_signed);
            assert_eq!(facts.public_key, public_key_of(&key).unwrap());
            assert!(facts.subject.contains("CN=node1"), "{}", facts.subject);
            let expected = match key_type {
                KeyType::EcdsaP256 => "ECDSA P-256",
                KeyType::EcdsaP384 => "ECDSA P-384",
                _ => "RSA 2048",
            };
            assert_eq!(facts.key_type, expected);
            let csr = signing_request(&params, &key).unwrap();
            assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        }
    }

    #[test]
    fn keys_read_from_pkcs8_pkcs1_and_encrypted_pkcs8() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
        let key = generate_key(KeyType::Rsa2048).unwrap();
        let expected = public_key_of(&key).unwrap();
        let rsa_key = rsa::RsaPrivateKey::from_pkcs8_pem(key.expose()).unwrap();
        let none = Secret::new(String::new());
        // PKCS#8 PEM and DER, PKCS#1 PEM and DER.
        let pkcs1_pem = rsa_key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let pkcs1_der = rsa_key.to_pkcs1_der().unwrap();
        let pkcs8_der = rsa_key.to_pkcs8_der().unwrap();
        for bytes in [
            key.expose().as_bytes().to_vec(),
            pkcs1_pem.as_bytes().to_vec(),
            pkcs1_der.as_bytes().to_vec(),
            pkcs8_der.as_bytes().to_vec(),
        ] {
            let read = read_private_key(&bytes, &none).unwrap();
            assert_eq!(public_key_of(&read).unwrap(), expected);
        }
        // Encrypted PKCS#8: the password decrypts it; none or a wrong one
        // is the password field's message.
        // As `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it.
        let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(
            2048,
            b"saltsalt",
            b"0123456789abcdef",
        )
        .unwrap();
        let encrypted = pkcs8::PrivateKeyInfo::try_from(pkcs8_der.as_bytes())
            .unwrap()
            .encrypt_with_params(params, "s3cret!")
            .unwrap()
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .unwrap();
        let read =
            read_private_key(encrypted.as_bytes(), &Secret::new("s3cret!".to_string())).unwrap();
        assert_eq!(public_key_of(&read).unwrap(), expected);
        let missing = read_private_key(encrypted.as_bytes(), &none).unwrap_err();
        assert_eq!(missing.field(), "password");
        let wrong =
            read_private_key(encrypted.as_bytes(), &Secret::new("wrong".to_string())).unwrap_err();
        assert_eq!(
            wrong,
            KeyError::Password("The password does not decrypt this private key.".into())
        );
    }

    #[test]
    fn garbage_keys_and_legacy_formats_get_a_reason() {
        let none = Secret::new(String::new());
        assert_eq!(
            read_private_key(b"", &none).unwrap_err().field(),
            "private_key"
        );
        assert!(
            read_private_key(b"hello", &none)
                .unwrap_err()
                .message()
                .contains("not a private key")
        );
        let sec1 = b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";
        assert!(
            read_private_key(sec1, &none)
                .unwrap_err()
                .message()
                .contains("openssl pkcs8 -topk8")
        );
        let legacy = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nMIIB\n-----END RSA PRIVATE KEY-----\n";
        assert!(
            read_private_key(legacy, &none)
                .unwrap_err()
                .message()
                .contains("legacy PEM encryption")
        );
        assert!(
            read_chain(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(read_pkcs12(b"not a bundle", &none).is_err());
    }

    #[test]
    fn pkcs12_round_trips_with_its_password_only() {
        let key = generate_key(KeyType::EcdsaP256).unwrap();
        let params = certificate_params(&subject("n"), &["n.example".into()], now(), 30).unwrap();
        let chain = read_chain(self_signed(&params, &key).unwrap().as_bytes()).unwrap();
        let password = Secret::new("export-pass".to_string());
        let bundle = to_pkcs12(&chain, &key, "n", &password).unwrap();
        assert!(
            !bundle
                .windows(20)
                .any(|w| key.expose().as_bytes().windows(20).any(|k| k == w)),
            "the key is not in clear in the bundle"
        );
        let (read_chain_back, read_key) = read_pkcs12(&bundle, &password).unwrap();
        assert_eq!(read_chain_back, chain);
        assert_eq!(
            public_key_of(&read_key).unwrap(),
            public_key_of(&key).unwrap()
        );
        let wrong = read_pkcs12(&bundle, &Secret::new("nope".to_string())).unwrap_err();
        assert_eq!(wrong.field(), "password");
    }

    #[test]
    fn names_and_wildcards_match_one_label() {
        let sans = vec!["DNS:*.example.com".to_string(), "IP:10.0.0.1".to_string()];
        assert!(names_node(&sans, &["ise1.example.com".into()]));
        assert!(names_node(&sans, &["10.0.0.1".into()]));
        assert!(!names_node(&sans, &["a.b.example.com".into()]));
        assert!(!names_node(&sans, &["example.com".into()]));
        assert!(names_node(&["DNS:Node1".into()], &["node1".into()]));
    }

    #[test]
    fn a_chain_verifies_only_to_a_trusted_anchor() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Test Root CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = generate_key(KeyType::EcdsaP256).unwrap();
        let leaf_key = signing_key(&pkcs8_der_of(&key).unwrap()).unwrap();
        let params =
            certificate_params(&subject("node1"), &["node1.example.com".into()], now(), 90)
                .unwrap();
        let leaf = params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
        let chain = vec![leaf.der().to_vec()];
        let at = now().unix_timestamp();
        let path = verify_chain(&chain, &[ca.der().to_vec()], at).unwrap();
        assert_eq!(path.len(), 2);
        assert!(path[1].contains("Test Root CA"));
        let refused = verify_chain(&chain, &[], at).unwrap_err();
        assert!(refused.contains("Trusted Certificates"), "{refused}");
    }
}
