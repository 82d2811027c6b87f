use crate::domain::guest::{GuestDetails, GuestState};
use sqlx::{FromRow, SqliteExecutor};

pub struct NewGuest<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub state: GuestState,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub company: &'a str,
    pub person_visited: &'a str,
    pub guest_type_id: i64,
    pub valid_from: i64,
    pub valid_until: i64,
    pub sponsor: Option<&'a str>,
    pub sponsor_email: Option<&'a str>,
    pub portal: &'a str,
    /// The client address of a self-registration.
    pub registered_ip: Option<&'a str>,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    guest: &NewGuest<'_>,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO guest_accounts (username, password_hash, state, first_name, last_name, email, \
         company, person_visited, guest_type_id, valid_from, valid_until, sponsor, sponsor_email, \
         portal, registered_ip, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(guest.username)
    .bind(guest.password_hash)
    .bind(guest.state.as_str())
    .bind(guest.first_name)
    .bind(guest.last_name)
    .bind(guest.email)
    .bind(guest.company)
    .bind(guest.person_visited)
    .bind(guest.guest_type_id)
    .bind(guest.valid_from)
    .bind(guest.valid_until)
    .bind(guest.sponsor)
    .bind(guest.sponsor_email)
    .bind(guest.portal)
    .bind(guest.registered_ip)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct GuestRow {
    pub id: i64,
    pub username: String,
    pub state: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub person_visited: String,
    pub guest_type_id: i64,
    pub valid_from: i64,
    pub valid_until: i64,
    pub sponsor: Option<String>,
    pub sponsor_email: Option<String>,
    pub portal: String,
    pub expiry_notice_at: Option<i64>,
}

impl GuestRow {
    pub fn state(&self) -> Option<GuestState> {
        GuestState::parse(&self.state)
    }

    /// The template values, without a password.
    pub fn details(&self) -> GuestDetails {
        GuestDetails {
            username: self.username.clone(),
            password: None,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            company: self.company.clone(),
            sponsor_name: self.sponsor.clone().unwrap_or_default(),
            person_visited: self.person_visited.clone(),
            portal_name: self.portal.clone(),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        }
    }
}

const COLUMNS: &str = "g.id, g.username, g.state, g.first_name, g.last_name, g.email, g.company, \
     g.person_visited, g.guest_type_id, g.valid_from, g.valid_until, g.sponsor, g.sponsor_email, \
     g.portal, g.expiry_notice_at";

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<GuestRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guest_accounts g WHERE g.id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A guest whose expiration notice is due, with its guest type's text.
#[derive(Debug, Clone, FromRow)]
pub struct DueNotice {
    #[sqlx(flatten)]
    pub guest: GuestRow,
    pub notify_subject: String,
    pub notify_text: String,
}

/// Live accounts with an email address whose guest type's notice window
/// has opened at `now` and that have not had their notice. Accounts
/// already past their end get none: they are expired instead.
pub async fn due_notices(
    db: impl SqliteExecutor<'_>,
    now: i64,
    limit: i64,
) -> sqlx::Result<Vec<DueNotice>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, t.notify_subject, t.notify_text \
         FROM guest_accounts g JOIN guest_types t ON t.id = g.guest_type_id \
         WHERE g.state IN ('Created', 'Active') AND g.valid_until > ?1 \
         AND g.expiry_notice_at IS NULL AND g.email <> '' AND t.notify_enabled = 1 \
         AND g.valid_until - t.notify_advance * (CASE t.notify_unit WHEN 'days' THEN 86400 \
             WHEN 'hours' THEN 3600 ELSE 60 END) <= ?1 \
         ORDER BY g.valid_until LIMIT ?2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Records that the notice was queued; false when another run already did
/// (the caller then rolls its transaction back and queues nothing).
pub async fn mark_notice_sent(
    db: impl SqliteExecutor<'_>,
    id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE guest_accounts SET expiry_notice_at = ?, updated_at = ? \
         WHERE id = ? AND expiry_notice_at IS NULL",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Expires every account whose access has ended; returns their ids.
pub async fn expire_ended(db: impl SqliteExecutor<'_>, now: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE guest_accounts SET state = 'Expired', updated_at = ?1 \
         WHERE state IN ('Created', 'Active', 'Suspended', 'Pending Approval') AND valid_until <= ?1 \
         RETURNING id",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

pub async fn username_taken(db: impl SqliteExecutor<'_>, username: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM guest_accounts WHERE username = ?)")
        .bind(username)
        .fetch_one(db)
        .await
}

/// Self-registrations from `ip` since `since` (unix seconds).
pub async fn registrations_from(
    db: impl SqliteExecutor<'_>,
    ip: &str,
    since: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM guest_accounts WHERE registered_ip = ? AND created_at >= ?",
    )
    .bind(ip)
    .bind(since)
    .fetch_one(db)
    .await
}
