//! The Approve and Deny links of guests waiting in Pending Approval.

use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct LinkRow {
    pub guest_id: i64,
    pub action: String,
    pub approver: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The sponsor must sign in to the sponsor portal to use it.
    #[sqlx(try_from = "super::codec::Flag")]
    pub sign_in: bool,
}

/// Who a link was sent to: the addresses, comma-separated.
pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub guest_id: i64,
    pub action: &'a str,
    pub approver: &'a str,
    pub sign_in: bool,
    pub expires_at: i64,
}

pub async fn insert(db: impl AnyExecutor<'_>, link: &NewLink<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO guest_approval_links (token_hash, guest_id, action, approver, expires_at, \
         created_at, sign_in) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(link.token_hash)
    .bind(link.guest_id)
    .bind(link.action)
    .bind(link.approver)
    .bind(link.expires_at)
    .bind(now)
    .bind(link.sign_in)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: impl AnyExecutor<'_>, token_hash: &str) -> sqlx::Result<Option<LinkRow>> {
    sqlx::query_as(
        "SELECT guest_id, action, approver, expires_at, used_at, sign_in FROM guest_approval_links \
         WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Spends every link of the link's guest at once, provided that this link
/// is still unused and unexpired: false when it no longer is (another
/// click, or a sponsor on the portal, came first).
pub async fn spend(db: impl AnyExecutor<'_>, token_hash: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE guest_approval_links SET used_at = $1 WHERE used_at IS NULL AND guest_id = \
         (SELECT guest_id FROM guest_approval_links WHERE token_hash = $2 AND used_at IS NULL \
          AND expires_at > $1)",
    )
    .bind(now)
    .bind(token_hash)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Spends the links of a guest a sponsor handled another way.
pub async fn spend_for_guest(
    db: impl AnyExecutor<'_>,
    guest_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE guest_approval_links SET used_at = $1 WHERE guest_id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(guest_id)
    .execute(db)
    .await?;
    Ok(())
}

/// The addresses each pending guest's request went to (comma-separated),
/// for the sponsors that see only the requests assigned to them.
pub async fn approvers_of_pending(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT DISTINCT l.guest_id, l.approver FROM guest_approval_links l \
         JOIN guest_accounts g ON g.id = l.guest_id WHERE g.state = 'Pending Approval'",
    )
    .fetch_all(db)
    .await
}
