//! Administration > System > Certificates > System Certificates and
//! Certificate Signing Requests, as the pages show them and as their forms
//! send them. The private keys never leave the server.

use serde::{Deserialize, Serialize};

/// The key a generated certificate or CSR gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KeyType {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa4096,
}

impl KeyType {
    pub const ALL: [KeyType; 4] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa2048,
        KeyType::Rsa4096,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::EcdsaP384 => "ECDSA P-384",
            KeyType::Rsa2048 => "RSA 2048",
            KeyType::Rsa4096 => "RSA 4096",
        }
    }

    pub fn parse(value: &str) -> Option<KeyType> {
        KeyType::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// Where a certificate stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateStatus {
    Active,
    /// Expires within 30 days.
    Expiring,
    Expired,
    NotYetValid,
}

impl CertificateStatus {
    pub fn at(valid_from: i64, valid_to: i64, now: i64) -> CertificateStatus {
        if valid_to <= now {
            CertificateStatus::Expired
        } else if valid_from > now {
            CertificateStatus::NotYetValid
        } else if valid_to - now <= 30 * 86_400 {
            CertificateStatus::Expiring
        } else {
            CertificateStatus::Active
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CertificateStatus::Active => "Active",
            CertificateStatus::Expiring => "Expiring soon",
            CertificateStatus::Expired => "Expired",
            CertificateStatus::NotYetValid => "Not yet valid",
        }
    }

    /// The class of the page's status badge.
    pub fn badge(self) -> &'static str {
        match self {
            CertificateStatus::Active => "status enabled",
            CertificateStatus::Expiring => "status warning",
            CertificateStatus::Expired | CertificateStatus::NotYetValid => "status disabled",
        }
    }
}

/// A system certificate of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemCertificate {
    pub id: i64,
    pub node: String,
    pub friendly_name: String,
    pub used_by_admin: bool,
    pub used_by_portal: bool,
    pub issued_to: String,
    pub issued_by: String,
    pub serial: String,
    pub valid_from: i64,
    pub valid_to: i64,
    pub status: CertificateStatus,
    /// Subject alternative names, as `DNS:` or `IP:` entries.
    pub sans: Vec<String>,
    pub key_type: String,
    pub sha256: String,
    pub self_signed: bool,
    /// The certificate and its chain, PEM (public).
    pub certificate_pem: String,
    pub created_at: i64,
    pub created_by: String,
}

impl SystemCertificate {
    /// "Admin, Portal", or "Not in use".
    pub fn used_by(&self) -> String {
        used_by_label(self.used_by_admin, self.used_by_portal)
    }
}

pub fn used_by_label(admin: bool, portal: bool) -> String {
    match (admin, portal) {
        (true, true) => "Admin, Portal".into(),
        (true, false) => "Admin".into(),
        (false, true) => "Portal".into(),
        (false, false) => "Not in use".into(),
    }
}

/// A pending certificate signing request: its key waits in the vault
/// until the CA-signed certificate is bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningRequest {
    pub id: i64,
    pub node: String,
    pub friendly_name: String,
    pub subject: String,
    pub sans: Vec<String>,
    pub key_type: String,
    pub used_by_admin: bool,
    pub used_by_portal: bool,
    pub csr_pem: String,
    pub created_at: i64,
    pub created_by: String,
}

/// The subject fields of the Generate forms (ISE's names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SubjectFields {
    pub common_name: String,
    pub organizational_unit: String,
    pub organization: String,
    pub locality: String,
    pub state: String,
    /// Two letters.
    pub country: String,
}

/// Generate Self Signed Certificate, or Generate Certificate Signing
/// Request (then `validity_days` is not used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CertificateRequestForm {
    pub node: String,
    pub friendly_name: String,
    pub subject: SubjectFields,
    /// Names separated by commas, spaces or lines; IP addresses become IP SANs.
    pub sans: String,
    pub key_type: KeyType,
    pub validity_days: String,
    pub used_by_admin: bool,
    pub used_by_portal: bool,
}

/// Edit: the friendly name and usages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEdit {
    pub id: i64,
    pub friendly_name: String,
    pub used_by_admin: bool,
    pub used_by_portal: bool,
}

/// What the System Certificates pages need besides the list: the nodes and
/// the names a new certificate of this node should carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateDefaults {
    pub this_node: String,
    pub nodes: Vec<String>,
    pub default_sans: Vec<String>,
}

/// A certificate and key export: PKCS#12, base64, encrypted with the
/// export password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pkcs12Export {
    pub file_name: String,
    pub base64: String,
}

/// A friendly name as a file name: letters, digits, `-` and `_`.
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if stem.is_empty() {
        "certificate".into()
    } else {
        stem
    }
}

/// Splits the SAN field into names.
pub fn split_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in text
        .split([',', ' ', '\n', '\r', '\t', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let name = name.to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_dates() {
        let day = 86_400;
        assert_eq!(
            CertificateStatus::at(0, 100 * day, day),
            CertificateStatus::Active
        );
        assert_eq!(
            CertificateStatus::at(0, 20 * day, day),
            CertificateStatus::Expiring
        );
        assert_eq!(
            CertificateStatus::at(0, day, day),
            CertificateStatus::Expired
        );
        assert_eq!(
            CertificateStatus::at(2 * day, 90 * day, day),
            CertificateStatus::NotYetValid
        );
    }

    #[test]
    fn names_split_on_any_separator_once_each() {
        assert_eq!(
            split_names(" A.example.com, b.example.com\n127.0.0.1;a.example.com "),
            vec!["a.example.com", "b.example.com", "127.0.0.1"]
        );
        assert!(split_names(" ,\n").is_empty());
    }
}
