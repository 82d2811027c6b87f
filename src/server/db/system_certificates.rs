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
    pub created_at: i64,
    pub created_by: String,
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
    pub created_by: &'a str,
}

const COLUMNS: &str = "id, node, friendly_name, used_by_admin, used_by_portal, certificate_pem, issued_to, issued_by, valid_from, valid_to, created_at, created_by";

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

/// The certificate `node` serves the guest and sponsor portals with, if any.
pub async fn portal_certificate(
    db: impl AnyExecutor<'_>,
    node: &str,
) -> sqlx::Result<Option<SystemCertificateRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM system_certificates WHERE node = $1 AND used_by_portal = TRUE ORDER BY id DESC LIMIT 1"
    ))
    .bind(node)
    .fetch_optional(db)
    .await
}

/// Every node's certificates, by node then name.
pub async fn list(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<SystemCertificateRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM system_certificates ORDER BY node, friendly_name, id"
    ))
    .fetch_all(db)
    .await
}

pub async fn get(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<SystemCertificateRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM system_certificates WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn update(
    db: impl AnyExecutor<'_>,
    id: i64,
    friendly_name: &str,
    used_by_admin: bool,
    used_by_portal: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE system_certificates SET friendly_name = $1, used_by_admin = $2, used_by_portal = $3 WHERE id = $4",
    )
    .bind(friendly_name)
    .bind(used_by_admin)
    .bind(used_by_portal)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes the Admin (and or Portal) usage away from `node`'s other
/// certificates: one certificate per usage and node.
pub async fn release_usages(
    conn: &mut sqlx::AnyConnection,
    node: &str,
    except: i64,
    admin: bool,
    portal: bool,
) -> sqlx::Result<()> {
    if admin {
        sqlx::query(
            "UPDATE system_certificates SET used_by_admin = FALSE WHERE node = $1 AND id <> $2",
        )
        .bind(node)
        .bind(except)
        .execute(&mut *conn)
        .await?;
    }
    if portal {
        sqlx::query(
            "UPDATE system_certificates SET used_by_portal = FALSE WHERE node = $1 AND id <> $2",
        )
        .bind(node)
        .bind(except)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn delete(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM system_certificates WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn insert(
    db: impl AnyExecutor<'_>,
    row: &NewSystemCertificate<'_>,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO system_certificates (node, friendly_name, used_by_admin, used_by_portal, certificate_pem, \
         issued_to, issued_by, valid_from, valid_to, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
    .bind(row.created_by)
    .fetch_one(db)
    .await
}

/// A pending certificate signing request (its key is in the vault under
/// `CSR_KEY_PURPOSE`).
#[derive(Debug, Clone, FromRow)]
pub struct SigningRequestRow {
    pub id: i64,
    pub node: String,
    pub friendly_name: String,
    pub subject: String,
    pub sans: String,
    pub key_type: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub used_by_admin: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub used_by_portal: bool,
    pub csr_pem: String,
    pub created_at: i64,
    pub created_by: String,
}

const CSR_COLUMNS: &str = "id, node, friendly_name, subject, sans, key_type, used_by_admin, used_by_portal, csr_pem, created_at, created_by";

pub async fn signing_requests(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<SigningRequestRow>> {
    sqlx::query_as(&format!(
        "SELECT {CSR_COLUMNS} FROM certificate_signing_requests ORDER BY node, id"
    ))
    .fetch_all(db)
    .await
}

pub async fn signing_request(
    db: impl AnyExecutor<'_>,
    id: i64,
) -> sqlx::Result<Option<SigningRequestRow>> {
    sqlx::query_as(&format!(
        "SELECT {CSR_COLUMNS} FROM certificate_signing_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn insert_signing_request(
    db: impl AnyExecutor<'_>,
    row: &SigningRequestRow,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO certificate_signing_requests (node, friendly_name, subject, sans, key_type, \
         used_by_admin, used_by_portal, csr_pem, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&row.node)
    .bind(&row.friendly_name)
    .bind(&row.subject)
    .bind(&row.sans)
    .bind(&row.key_type)
    .bind(row.used_by_admin)
    .bind(row.used_by_portal)
    .bind(&row.csr_pem)
    .bind(row.created_at)
    .bind(&row.created_by)
    .fetch_one(db)
    .await
}

pub async fn delete_signing_request(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM certificate_signing_requests WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
