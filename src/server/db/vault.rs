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

/// The records of one purpose among `record_ids`, in one statement.
pub async fn get_many(
    db: impl SqliteExecutor<'_>,
    purpose: &str,
    record_ids: &[String],
) -> sqlx::Result<Vec<SealedRow>> {
    if record_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; record_ids.len()].join(", ");
    let sql = format!(
        "SELECT purpose, record_id, nonce, ciphertext FROM vault_secrets \
         WHERE purpose = ? AND record_id IN ({marks})"
    );
    let mut query = sqlx::query_as(&sql).bind(purpose);
    for id in record_ids {
        query = query.bind(id);
    }
    query.fetch_all(db).await
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

/// Deletes the given records of one purpose in one statement.
pub async fn delete_many(
    db: impl SqliteExecutor<'_>,
    purpose: &str,
    record_ids: &[String],
) -> sqlx::Result<u64> {
    if record_ids.is_empty() {
        return Ok(0);
    }
    let marks = vec!["?"; record_ids.len()].join(", ");
    let sql = format!("DELETE FROM vault_secrets WHERE purpose = ? AND record_id IN ({marks})");
    let mut delete = sqlx::query(&sql).bind(purpose);
    for id in record_ids {
        delete = delete.bind(id);
    }
    Ok(delete.execute(db).await?.rows_affected())
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
