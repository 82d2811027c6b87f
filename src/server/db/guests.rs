use super::DbExecutor;
use crate::domain::guest::{GuestDetails, GuestState};
use crate::domain::mail::MailStatus;
use sqlx::{AnyExecutor, FromRow};

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
    /// The sponsor user and its group, for the sponsor portal's scopes.
    pub sponsor_id: Option<i64>,
    pub sponsor_group_id: Option<i64>,
    pub extras: &'a crate::server::guests::GuestExtras,
    /// A pending account not decided by then ends Denied.
    pub approval_deadline: Option<i64>,
    /// The notification language; empty: the portal's default.
    pub language: &'a str,
}

pub async fn insert(db: impl AnyExecutor<'_>, guest: &NewGuest<'_>, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO guest_accounts (username, password_hash, state, first_name, last_name, email, \
         company, person_visited, guest_type_id, valid_from, valid_until, sponsor, sponsor_email, \
         portal, registered_ip, sponsor_id, sponsor_group_id, created_at, updated_at, \
         phone, location, reason_for_visit, description, approval_deadline, language) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, $22, $23, $24, $25) RETURNING id",
    )
    .bind(guest.username)
    .bind(guest.password_hash)
    .bind(guest.state)
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
    .bind(guest.sponsor_id)
    .bind(guest.sponsor_group_id)
    .bind(now)
    .bind(now)
    .bind(&guest.extras.phone)
    .bind(&guest.extras.location)
    .bind(&guest.extras.reason_for_visit)
    .bind(&guest.extras.description)
    .bind(guest.approval_deadline)
    .bind(guest.language)
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct GuestRow {
    pub id: i64,
    pub username: String,
    pub state: GuestState,
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
    pub language: String,
}

impl GuestRow {
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
            dates: None,
        }
    }
}

const COLUMNS: &str = "g.id, g.username, g.state, g.first_name, g.last_name, g.email, g.company, \
     g.person_visited, g.guest_type_id, g.valid_from, g.valid_until, g.sponsor, g.sponsor_email, \
     g.portal, g.expiry_notice_at, g.language";

pub async fn get(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<GuestRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guest_accounts g WHERE g.id = $1"
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
    db: impl AnyExecutor<'_>,
    now: i64,
    limit: i64,
) -> sqlx::Result<Vec<DueNotice>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, t.notify_subject, t.notify_text \
         FROM guest_accounts g JOIN guest_types t ON t.id = g.guest_type_id \
         WHERE g.state IN ('Created', 'Active') AND g.valid_until > $1 \
         AND g.expiry_notice_at IS NULL AND g.email <> '' AND t.notify_enabled = TRUE \
         AND g.valid_until - t.notify_advance * (CASE t.notify_unit WHEN 'days' THEN 86400 \
             WHEN 'hours' THEN 3600 ELSE 60 END) <= $1 \
         ORDER BY g.valid_until LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Records that the notice was queued; false when another run already did
/// (the caller then rolls its transaction back and queues nothing).
pub async fn mark_notice_sent(db: impl AnyExecutor<'_>, id: i64, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE guest_accounts SET expiry_notice_at = $1, updated_at = $2 \
         WHERE id = $3 AND expiry_notice_at IS NULL",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Expires every account whose access has ended; returns their ids.
pub async fn expire_ended(db: impl AnyExecutor<'_>, now: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE guest_accounts SET state = 'Expired', updated_at = $1 \
         WHERE state IN ('Created', 'Active', 'Suspended') AND valid_until <= $1 \
         RETURNING id",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

pub async fn username_taken(db: impl AnyExecutor<'_>, username: &str) -> sqlx::Result<bool> {
    let taken: super::codec::Flag = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM guest_accounts WHERE lower(username) = lower($1))",
    )
    .bind(username)
    .fetch_one(db)
    .await?;
    Ok(taken.into())
}

/// Self-registrations from `ip` since `since` (unix seconds).
pub async fn registrations_from(
    db: impl AnyExecutor<'_>,
    ip: &str,
    since: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM guest_accounts WHERE registered_ip = $1 AND created_at >= $2",
    )
    .bind(ip)
    .bind(since)
    .fetch_one(db)
    .await
}

pub async fn set_last_mail(db: impl AnyExecutor<'_>, id: i64, mail_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE guest_accounts SET last_mail_id = $1 WHERE id = $2")
        .bind(mail_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Whose accounts a sponsor sees.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    All,
    Group(i64),
    Own(i64),
}

impl Scope {
    /// The condition, with its id as parameter `slot`.
    fn clause(self, slot: &str) -> (String, Option<i64>) {
        match self {
            Scope::All => ("1 = 1".into(), None),
            Scope::Group(id) => (format!("g.sponsor_group_id = {slot}"), Some(id)),
            Scope::Own(id) => (format!("g.sponsor_id = {slot}"), Some(id)),
        }
    }
}

/// A row of the sponsor portal's Manage Accounts table.
#[derive(Debug, Clone, FromRow)]
pub struct ManagedRow {
    pub id: i64,
    pub username: String,
    pub state: GuestState,
    #[sqlx(try_from = "super::codec::Flag")]
    pub password_changed: bool,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub guest_type_id: i64,
    pub guest_type: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub sponsor: Option<String>,
    pub sponsor_email: Option<String>,
    pub portal: String,
    pub mail_status: Option<MailStatus>,
    pub mail_reply: Option<String>,
    pub language: String,
}

const MANAGED: &str = "SELECT g.id, g.username, g.state, g.password_changed, g.first_name, g.last_name, \
     g.email, g.company, g.guest_type_id, t.name AS guest_type, g.valid_from, g.valid_until, g.sponsor, \
     g.sponsor_email, g.portal, o.status AS mail_status, o.last_reply AS mail_reply, g.language \
     FROM guest_accounts g JOIN guest_types t ON t.id = g.guest_type_id \
     LEFT JOIN outbox o ON o.id = g.last_mail_id";

/// One page of the accounts in `scope`, newest first, filtered by a search
/// over username, names, email and company, and by state; with the total.
pub async fn managed_page(
    db: &sqlx::AnyPool,
    scope: Scope,
    search: &str,
    state: Option<GuestState>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ManagedRow>, i64)> {
    let (scope_sql, scope_id) = scope.clause("$3");
    // Matched on lower case: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    let pattern = format!(
        "%{}%",
        search
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let like = |column: &str| format!("lower({column}) LIKE $1 ESCAPE '\\'");
    let filter = format!(
        "WHERE {scope_sql} AND ($1 = '%%' OR {} OR {} OR {} OR {} OR {}) \
         AND ($2 IS NULL OR g.state = $2)",
        like("g.username"),
        like("g.email"),
        like("g.first_name"),
        like("g.last_name"),
        like("g.company"),
    );
    let rows_sql = format!("{MANAGED} {filter} ORDER BY g.id DESC LIMIT $4 OFFSET $5");
    let count_sql = format!("SELECT COUNT(*) FROM guest_accounts g {filter}");
    let rows = sqlx::query_as(&rows_sql)
        .bind(&pattern)
        .bind(state)
        .bind(scope_id.unwrap_or(0))
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
    let total = sqlx::query_scalar(&count_sql)
        .bind(&pattern)
        .bind(state)
        .bind(scope_id.unwrap_or(0))
        .fetch_one(db)
        .await?;
    Ok((rows, total))
}

/// The accounts among `ids` that `scope` may touch.
pub async fn managed_by_ids(
    db: impl DbExecutor<'_>,
    scope: Scope,
    ids: &[i64],
) -> sqlx::Result<Vec<ManagedRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (scope_sql, scope_id) = scope.clause("$2");
    let sql = format!(
        "{MANAGED} WHERE {scope_sql} AND g.id IN ({}) ORDER BY g.id",
        db.dialect().int_list("$1")
    );
    sqlx::query_as(&sql)
        .bind(super::json_param(ids)?)
        .bind(scope_id.unwrap_or(0))
        .fetch_all(db)
        .await
}

pub async fn set_state(
    db: impl AnyExecutor<'_>,
    id: i64,
    state: GuestState,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE guest_accounts SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(state)
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Approves a pending account: Created, its access from `valid_from` to
/// `valid_until`. False when it is no longer pending (someone else decided
/// first: the conditional update makes the race harmless).
pub async fn start_access(
    db: impl AnyExecutor<'_>,
    id: i64,
    valid_from: i64,
    valid_until: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE guest_accounts SET state = 'Created', valid_from = $1, valid_until = $2, \
         expiry_notice_at = NULL, approval_deadline = NULL, updated_at = $3 \
         WHERE id = $4 AND state = 'Pending Approval'",
    )
    .bind(valid_from)
    .bind(valid_until)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Denies a pending account; false when it is no longer pending.
pub async fn deny_pending(db: impl AnyExecutor<'_>, id: i64, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE guest_accounts SET state = 'Denied', approval_deadline = NULL, updated_at = $1 \
         WHERE id = $2 AND state = 'Pending Approval'",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pending accounts nobody decided in time: past the portal's limit, or
/// past the end of the access they asked for.
pub async fn unhandled_pending(
    db: impl AnyExecutor<'_>,
    now: i64,
    limit: i64,
) -> sqlx::Result<Vec<GuestRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guest_accounts g WHERE g.state = 'Pending Approval' \
         AND (g.approval_deadline <= $1 OR g.valid_until <= $1) ORDER BY g.id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The accounts waiting for approval, oldest first, at most `limit`.
pub async fn pending(db: impl AnyExecutor<'_>, limit: i64) -> sqlx::Result<Vec<PendingRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, g.created_at, g.approval_deadline, t.name AS guest_type \
         FROM guest_accounts g JOIN guest_types t ON t.id = g.guest_type_id \
         WHERE g.state = 'Pending Approval' ORDER BY g.created_at, g.id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A pending account with when it asked and until when it may wait.
#[derive(Debug, Clone, FromRow)]
pub struct PendingRow {
    #[sqlx(flatten)]
    pub guest: GuestRow,
    pub created_at: i64,
    pub approval_deadline: Option<i64>,
    pub guest_type: String,
}

/// The guest's notification language.
pub async fn set_language(
    db: impl AnyExecutor<'_>,
    id: i64,
    language: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE guest_accounts SET language = $1, updated_at = $2 WHERE id = $3")
        .bind(language)
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A new end of access; the expiration notice is due again for it.
pub async fn extend(
    db: impl AnyExecutor<'_>,
    id: i64,
    valid_until: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE guest_accounts SET valid_until = $1, expiry_notice_at = NULL, updated_at = $2, \
         state = CASE WHEN state = 'Expired' THEN 'Created' ELSE state END WHERE id = $3",
    )
    .bind(valid_until)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_password(
    db: impl AnyExecutor<'_>,
    id: i64,
    password_hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE guest_accounts SET password_hash = $1, password_changed = FALSE, updated_at = $2 WHERE id = $3",
    )
    .bind(password_hash)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM guest_accounts WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A guest and its password hash, for sign-in.
pub async fn credentials(
    db: impl AnyExecutor<'_>,
    username: &str,
) -> sqlx::Result<Option<(GuestRow, String)>> {
    #[derive(FromRow)]
    struct WithHash {
        #[sqlx(flatten)]
        guest: GuestRow,
        password_hash: String,
    }
    let row: Option<WithHash> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, g.password_hash FROM guest_accounts g WHERE lower(g.username) = lower($1)"
    ))
    .bind(username)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.guest, r.password_hash)))
}

/// The guest chose this password: Resend no longer applies.
pub async fn set_changed_password(
    db: impl AnyExecutor<'_>,
    id: i64,
    password_hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE guest_accounts SET password_hash = $1, password_changed = TRUE, updated_at = $2 WHERE id = $3",
    )
    .bind(password_hash)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}
