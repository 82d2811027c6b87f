//! The certificate credential: an RSA key pair whose private key stays in
//! the vault, a certificate the admin uploads to the Entra app, and the
//! client assertion JWT (PS256, `x5t#S256`) that replaces the client secret.

use crate::domain::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

/// A key pair ready to store: the private key (PKCS#8 PEM, for the vault)
/// and the certificate (DER, public).
pub struct KeyAndCertificate {
    pub private_key_pem: Secret,
    pub certificate_der: Vec<u8>,
}

/// Lifetime of a certificate the console generates: Entra accepts up to
/// several years; two keeps rotation a routine.
const GENERATED_DAYS: i64 = 730;
/// Entra accepts assertions valid for at most 10 minutes.
const ASSERTION_SECONDS: i64 = 600;

/// Generates a 2048-bit RSA key and a self-signed certificate for it.
pub fn generate(common_name: &str, now: time::OffsetDateTime) -> Result<KeyAndCertificate, String> {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(|e| e.to_string())?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    let key_pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| e.to_string())?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, common_name);
    name.push(rcgen::DnType::OrganizationName, "Mailroom");
    params.distinguished_name = name;
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(GENERATED_DAYS);
    let certificate = params.self_signed(&key_pair).map_err(|e| e.to_string())?;
    Ok(KeyAndCertificate {
        private_key_pem: Secret::new(pem.as_str()),
        certificate_der: certificate.der().to_vec(),
    })
}

/// Reads an uploaded private key (PKCS#8 or PKCS#1 PEM) and checks that it
/// belongs to the certificate. Returns the key as PKCS#8 PEM.
pub fn key_for_certificate(key_pem: &str, certificate_der: &[u8]) -> Result<Secret, String> {
    let key = RsaPrivateKey::from_pkcs8_pem(key_pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(key_pem))
        .map_err(|_| {
            "The key file is not an unencrypted RSA private key in PEM form (PKCS#8 or PKCS#1)."
                .to_string()
        })?;
    let (_, cert) = x509_parser::parse_x509_certificate(certificate_der)
        .map_err(|_| "The certificate file is not an X.509 certificate.".to_string())?;
    let public = RsaPublicKey::from_public_key_der(cert.public_key().raw).map_err(|_| {
        "The certificate does not hold an RSA public key: Entra assertions need RSA.".to_string()
    })?;
    if public != key.to_public_key() {
        return Err("The private key does not belong to this certificate.".into());
    }
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok(Secret::new(pem.as_str()))
}

/// `x5t#S256`: the base64url SHA-256 of the certificate's DER.
pub fn x5t_s256(certificate_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(certificate_der))
}

fn random_guid() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The signed client assertion for a token request to `token_url`.
pub fn client_assertion(
    private_key_pem: &Secret,
    certificate_der: &[u8],
    client_id: &str,
    token_url: &str,
    now: i64,
) -> Result<Secret, String> {
    let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem.expose())
        .map_err(|_| "the stored private key cannot be read".to_string())?;
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let signer = RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| e.to_string())?;
    let header = serde_json::json!({
        "alg": "PS256",
        "typ": "JWT",
        "x5t#S256": x5t_s256(certificate_der),
    });
    let claims = serde_json::json!({
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": random_guid(),
        "nbf": now,
        "iat": now,
        "exp": now + ASSERTION_SECONDS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; signer.public().modulus_len()];
    signer
        .sign(
            &RSA_PSS_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| "signing the client assertion failed".to_string())?;
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};

    #[test]
    fn the_assertion_names_the_certificate_and_verifies_with_its_key() {
        let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let pair = generate("Mailroom SMTP OAuth", now).unwrap();
        let jwt = client_assertion(
            &pair.private_key_pem,
            &pair.certificate_der,
            "1b2c3d4e-0000-4000-8000-00000000abcd",
            "https://login.microsoftonline.com/t/oauth2/v2.0/token",
            now.unix_timestamp(),
        )
        .unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["x5t#S256"], x5t_s256(&pair.certificate_der));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], claims["sub"]);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
            600
        );

        // The signature verifies with the certificate's public key.
        let (_, cert) = x509_parser::parse_x509_certificate(&pair.certificate_der).unwrap();
        let public = cert.public_key().subject_public_key.data.to_vec();
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("a valid PS256 signature");

        // The key matches its certificate, and not another one.
        assert!(key_for_certificate(pair.private_key_pem.expose(), &pair.certificate_der).is_ok());
        let other = generate("Other", now).unwrap();
        assert_eq!(
            key_for_certificate(other.private_key_pem.expose(), &pair.certificate_der).unwrap_err(),
            "The private key does not belong to this certificate."
        );
    }
}
