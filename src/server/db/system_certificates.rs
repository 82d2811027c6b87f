//! System certificates: the certificates this deployment's nodes serve
//! HTTPS with (their private keys sealed in the vault, `https::KEY_PURPOSE`).

use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct SystemCertificateRow {
    pub id: i64,
    pub node: String,
    pub friendly_name: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub used_by_admin: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub used_by_portal: bool,
    /// The certificate and its chain, PEM.
    pub certificate_pem: String,
    pub issued_to: String,
    pub issued_by: String,
    pub valid_from: i64,
    pub valid_to: i64,
}

pub struct NewSystemCertificate<'a> {
    pub node: &'a str,
    pub friendly_name: &'a str,
    pub used_by_admin: bool,
    pub used_by_portal: bool,
    pub certificate_pem: &'a str,
    pub issued_to: &'a str,
    pub issued_by: &'a str,
    pub valid_from: i64,
    pub valid_to: i64,
}

const COLUMNS: &str = "id, node, friendly_name, used_by_admin, used_by_portal, certificate_pem, issued_to, issued_by, valid_from, valid_to";

/// The certificate `node` serves the admin console with, if any.
pub async fn admin_certificate(
    db: impl AnyExecutor<'_>,
    node: &str,
) -> sqlx::Result<Option<SystemCertificateRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM system_certificates WHERE node = $1 AND used_by_admin = TRUE ORDER BY id DESC LIMIT 1"
    ))
    .bind(node)
    .fetch_optional(db)
    .await
}

pub async fn insert(
    db: impl AnyExecutor<'_>,
    row: &NewSystemCertificate<'_>,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO system_certificates (node, friendly_name, used_by_admin, used_by_portal, certificate_pem, \
         issued_to, issued_by, valid_from, valid_to, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(row.node)
    .bind(row.friendly_name)
    .bind(row.used_by_admin)
    .bind(row.used_by_portal)
    .bind(row.certificate_pem)
    .bind(row.issued_to)
    .bind(row.issued_by)
    .bind(row.valid_from)
    .bind(row.valid_to)
    .bind(now)
    .fetch_one(db)
    .await
}
