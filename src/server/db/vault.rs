use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, Clone, FromRow)]
pub struct SealedRow {
    pub purpose: String,
    pub record_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub async fn upsert(db: impl SqliteExecutor<'_>, row: &SealedRow, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO vault_secrets (purpose, record_id, nonce, ciphertext, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (purpose, record_id) DO UPDATE SET nonce = excluded.nonce, \
         ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
    )
    .bind(&row.purpose)
    .bind(&row.record_id)
    .bind(&row.nonce)
    .bind(&row.ciphertext)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(
    db: impl SqliteExecutor<'_>,
    purpose: &str,
    record_id: &str,
) -> sqlx::Result<Option<SealedRow>> {
    sqlx::query_as("SELECT purpose, record_id, nonce, ciphertext FROM vault_secrets WHERE purpose = ? AND record_id = ?")
        .bind(purpose)
        .bind(record_id)
        .fetch_optional(db)
        .await
}

/// The records of one purpose among `record_ids`, in one statement that
/// returns one row (`super::json_rows`). The blobs travel as hex.
pub async fn get_many(
    db: impl SqliteExecutor<'_>,
    purpose: &str,
    record_ids: &[String],
) -> sqlx::Result<Vec<SealedRow>> {
    if record_ids.is_empty() {
        return Ok(Vec::new());
    }
    let (found,): (String,) = sqlx::query_as(
        "SELECT json_group_array(json_array(record_id, hex(nonce), hex(ciphertext))) \
         FROM vault_secrets WHERE purpose = ?1 AND record_id IN (SELECT value FROM json_each(?2))",
    )
    .bind(purpose)
    .bind(super::json_param(record_ids)?)
    .fetch_one(db)
    .await?;
    let found: Vec<(String, String, String)> = super::json_rows(&found)?;
    let unhex = |text: String| hex::decode(text).map_err(|e| sqlx::Error::Decode(Box::new(e)));
    found
        .into_iter()
        .map(|(record_id, nonce, ciphertext)| {
            Ok(SealedRow {
                purpose: purpose.to_string(),
                record_id,
                nonce: unhex(nonce)?,
                ciphertext: unhex(ciphertext)?,
            })
        })
        .collect()
}

pub async fn all(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<SealedRow>> {
    sqlx::query_as("SELECT purpose, record_id, nonce, ciphertext FROM vault_secrets")
        .fetch_all(db)
        .await
}

pub async fn delete(
    db: impl SqliteExecutor<'_>,
    purpose: &str,
    record_id: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM vault_secrets WHERE purpose = ? AND record_id = ?")
        .bind(purpose)
        .bind(record_id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes the given records of one purpose in one statement, the same
/// text whatever their number, so SQLite prepares it once.
pub async fn delete_many(
    db: impl SqliteExecutor<'_>,
    purpose: &str,
    record_ids: &[String],
) -> sqlx::Result<u64> {
    if record_ids.is_empty() {
        return Ok(0);
    }
    let deleted = sqlx::query(
        "DELETE FROM vault_secrets WHERE purpose = ?1 \
         AND record_id IN (SELECT value FROM json_each(?2))",
    )
    .bind(purpose)
    .bind(super::json_param(record_ids)?)
    .execute(db)
    .await?;
    Ok(deleted.rows_affected())
}

pub async fn key_check(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<(Vec<u8>, Vec<u8>)>> {
    sqlx::query_as("SELECT nonce, ciphertext FROM vault_key_check WHERE id = 1")
        .fetch_optional(db)
        .await
}

pub async fn set_key_check(
    db: impl SqliteExecutor<'_>,
    nonce: &[u8],
    ciphertext: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO vault_key_check (id, nonce, ciphertext) VALUES (1, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
    )
    .bind(nonce)
    .bind(ciphertext)
    .execute(db)
    .await?;
    Ok(())
}
