use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct CertificateRow {
    pub id: i64,
    pub friendly_name: String,
    pub der: Vec<u8>,
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    #[sqlx(try_from = "super::codec::Flag")]
    pub trust_infrastructure: bool,
    pub description: String,
    pub added_at: i64,
    pub added_by: String,
}

const COLUMNS: &str = "id, friendly_name, der, sha256, subject, issuer, serial, not_before, \
    not_after, trust_infrastructure, description, added_at, added_by";

pub async fn list(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<CertificateRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trusted_certificates ORDER BY lower(friendly_name), id"
    ))
    .fetch_all(db)
    .await
}

pub async fn get(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<CertificateRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trusted_certificates WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The DER of every certificate trusted for infrastructure (outbound TLS).
pub async fn infrastructure_ders(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar("SELECT der FROM trusted_certificates WHERE trust_infrastructure = TRUE")
        .fetch_all(db)
        .await
}

pub async fn exists_with_sha256(db: impl AnyExecutor<'_>, sha256: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trusted_certificates WHERE sha256 = $1")
        .bind(sha256)
        .fetch_one(db)
        .await?;
    Ok(n > 0)
}

pub async fn insert(db: impl AnyExecutor<'_>, row: &CertificateRow) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO trusted_certificates (friendly_name, der, sha256, subject, issuer, serial, \
         not_before, not_after, trust_infrastructure, description, added_at, added_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(&row.friendly_name)
    .bind(&row.der)
    .bind(&row.sha256)
    .bind(&row.subject)
    .bind(&row.issuer)
    .bind(&row.serial)
    .bind(row.not_before)
    .bind(row.not_after)
    .bind(row.trust_infrastructure)
    .bind(&row.description)
    .bind(row.added_at)
    .bind(&row.added_by)
    .fetch_one(db)
    .await?;
    Ok(id)
}

pub async fn delete(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM trusted_certificates WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}
