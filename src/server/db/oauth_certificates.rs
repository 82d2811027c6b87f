use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct OAuthCertificateRow {
    pub id: i64,
    pub der: Vec<u8>,
    pub sha256: String,
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    /// "generated" or "uploaded".
    pub origin: String,
    pub created_at: i64,
    pub created_by: String,
}

pub async fn get(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<OAuthCertificateRow>> {
    sqlx::query_as(
        "SELECT id, der, sha256, subject, not_before, not_after, origin, created_at, created_by \
         FROM oauth_certificates WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn insert(db: impl AnyExecutor<'_>, row: &OAuthCertificateRow) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO oauth_certificates (der, sha256, subject, not_before, not_after, origin, \
         created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&row.der)
    .bind(&row.sha256)
    .bind(&row.subject)
    .bind(row.not_before)
    .bind(row.not_after)
    .bind(&row.origin)
    .bind(row.created_at)
    .bind(&row.created_by)
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// Certificates the saved settings neither use nor keep staged as the next
/// one, except `keep` (one just generated and not yet saved). Their
/// private keys go with them.
pub async fn unused(db: impl AnyExecutor<'_>, keep: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM oauth_certificates WHERE id != $1 AND id NOT IN \
         (SELECT certificate_id FROM smtp_settings WHERE certificate_id IS NOT NULL) \
         AND id NOT IN (SELECT next_certificate_id FROM smtp_settings \
         WHERE next_certificate_id IS NOT NULL)",
    )
    .bind(keep)
    .fetch_all(db)
    .await
}

pub async fn delete(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM oauth_certificates WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
