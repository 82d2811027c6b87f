use super::DbExecutor;
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct SealedRow {
    pub purpose: String,
    pub record_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub async fn upsert(db: impl AnyExecutor<'_>, row: &SealedRow, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO vault_secrets (purpose, record_id, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5) \
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
    db: impl AnyExecutor<'_>,
    purpose: &str,
    record_id: &str,
) -> sqlx::Result<Option<SealedRow>> {
    sqlx::query_as("SELECT purpose, record_id, nonce, ciphertext FROM vault_secrets WHERE purpose = $1 AND record_id = $2")
        .bind(purpose)
        .bind(record_id)
        .fetch_optional(db)
        .await
}

/// Which of `purposes` hold a record `record_id`, in one statement.
pub async fn stored_purposes(
    db: impl AnyExecutor<'_>,
    record_id: &str,
    purposes: &[&str],
) -> sqlx::Result<Vec<String>> {
    if purposes.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..purposes.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT purpose FROM vault_secrets WHERE record_id = $1 AND purpose IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(record_id);
    for purpose in purposes {
        query = query.bind(*purpose);
    }
    Ok(query
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|(purpose,)| purpose)
        .collect())
}

/// The records of one purpose among `record_ids`, in one statement that
/// returns one row (`super::json_rows`). The blobs travel as hex.
pub async fn get_many(
    db: impl DbExecutor<'_>,
    purpose: &str,
    record_ids: &[String],
) -> sqlx::Result<Vec<SealedRow>> {
    if record_ids.is_empty() {
        return Ok(Vec::new());
    }
    let dialect = db.dialect();
    let (found,): (String,) = sqlx::query_as(&format!(
        "SELECT {} FROM vault_secrets WHERE purpose = $1 AND record_id IN ({})",
        dialect.json_rows(&format!(
            "record_id, {}, {}",
            dialect.hex("nonce"),
            dialect.hex("ciphertext")
        )),
        dialect.text_list("$2")
    ))
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

pub async fn all(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<SealedRow>> {
    sqlx::query_as("SELECT purpose, record_id, nonce, ciphertext FROM vault_secrets")
        .fetch_all(db)
        .await
}

pub async fn delete(
    db: impl AnyExecutor<'_>,
    purpose: &str,
    record_id: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM vault_secrets WHERE purpose = $1 AND record_id = $2")
        .bind(purpose)
        .bind(record_id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes the given records of one purpose in one statement, the same
/// text whatever their number, so the database prepares it once.
pub async fn delete_many(
    db: impl DbExecutor<'_>,
    purpose: &str,
    record_ids: &[String],
) -> sqlx::Result<u64> {
    if record_ids.is_empty() {
        return Ok(0);
    }
    let deleted = sqlx::query(&format!(
        "DELETE FROM vault_secrets WHERE purpose = $1 AND record_id IN ({})",
        db.dialect().text_list("$2")
    ))
    .bind(purpose)
    .bind(super::json_param(record_ids)?)
    .execute(db)
    .await?;
    Ok(deleted.rows_affected())
}

pub async fn key_check(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<(Vec<u8>, Vec<u8>)>> {
    sqlx::query_as("SELECT nonce, ciphertext FROM vault_key_check WHERE id = 1")
        .fetch_optional(db)
        .await
}

pub async fn set_key_check(
    db: impl AnyExecutor<'_>,
    nonce: &[u8],
    ciphertext: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO vault_key_check (id, nonce, ciphertext) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
    )
    .bind(nonce)
    .bind(ciphertext)
    .execute(db)
    .await?;
    Ok(())
}

/// Every sealed row of one purpose.
pub async fn all_of(db: impl AnyExecutor<'_>, purpose: &str) -> sqlx::Result<Vec<SealedRow>> {
    sqlx::query_as(
        "SELECT purpose, record_id, nonce, ciphertext FROM vault_secrets WHERE purpose = $1 \
         ORDER BY record_id",
    )
    .bind(purpose)
    .fetch_all(db)
    .await
}

/// Deletes every sealed row of one purpose.
pub async fn delete_purpose(db: impl AnyExecutor<'_>, purpose: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM vault_secrets WHERE purpose = $1")
        .bind(purpose)
        .execute(db)
        .await?
        .rows_affected())
}
