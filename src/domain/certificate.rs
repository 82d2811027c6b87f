//! Administration > System > Certificates > Trusted Certificates, as the page shows them.

use serde::{Deserialize, Serialize};

pub const TRUST_INFRASTRUCTURE: &str =
    "Trust for authentication within the console and client-server communication (infrastructure)";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedCertificate {
    pub id: i64,
    pub friendly_name: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub sha256: String,
    pub trust_infrastructure: bool,
    pub description: String,
    pub added_at: i64,
    pub added_by: String,
    /// The certificate itself, PEM-encoded (public: a CA certificate).
    pub pem: String,
}
