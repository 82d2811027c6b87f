//! The outbox and its delivery attempts. Times are unix milliseconds.

use super::DbExecutor;
use super::codec::Stored;
use crate::domain::mail::{
    AttemptRow, BULK_PRIORITY, MailKind, MailStatus, PRIORITIES, QueueCounts, QueueRow, Recipients,
};
use sqlx::{AnyExecutor, AnyPool, FromRow};
use std::collections::HashSet;

pub struct NewMail<'a> {
    pub kind: MailKind,
    pub sender: &'a str,
    pub recipients: &'a [String],
    pub subject: &'a str,
    pub message_id: &'a str,
    pub created_by: &'a str,
}

pub async fn insert(db: impl AnyExecutor<'_>, mail: &NewMail<'_>, now: i64) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO outbox (kind, persona, sender, recipients, subject, message_id, status, \
         attempts, next_attempt_at, created_by, created_at, updated_at, priority) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(mail.kind)
    .bind(mail.kind.persona().as_str())
    .bind(mail.sender)
    .bind(Recipients::new(mail.recipients.to_vec()))
    .bind(mail.subject)
    .bind(mail.message_id)
    .bind(now)
    .bind(mail.created_by)
    .bind(now)
    .bind(now)
    .bind(mail.kind.priority())
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// A row a worker has claimed, with what it needs to send it. Read from a
/// JSON array in the fields' order, or from a row.
#[derive(Debug, Clone, FromRow, serde::Deserialize)]
pub struct Claimed {
    pub id: i64,
    #[serde(deserialize_with = "stored")]
    pub kind: MailKind,
    pub sender: String,
    #[serde(deserialize_with = "stored")]
    pub recipients: Recipients,
    pub subject: String,
    pub message_id: String,
    /// Including the attempt being made now.
    pub attempts: i64,
}

/// A column read from a JSON text of rows in its stored form.
fn stored<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    Stored<T>: serde::Deserialize<'de>,
{
    <Stored<T> as serde::Deserialize>::deserialize(d).map(|stored| stored.0)
}

/// Leases up to `limit` due rows to `owner` until `lease_until`, counting
/// the attempt. Due means queued or retrying with its time come, or leased
/// to a worker whose lease has run out. Each kind is read from its index
/// and stops at `limit`, so a claim costs the same with 100 or 100,000 rows
/// waiting. SQLite runs one writer at a time and the claim is one write
/// transaction, so two workers never claim the same row; on PostgreSQL the
/// inner SELECTs take `FOR UPDATE SKIP LOCKED` for the same effect without
/// blocking.
///
/// The rows are read as one JSON text (`super::json_rows`), not returned by
/// the UPDATE: four statements cost less than hundreds of wake-ups.
pub async fn claim(
    db: &AnyPool,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> sqlx::Result<Vec<Claimed>> {
    let dialect = super::Dialect::of(db);
    let mut tx = super::begin_write(db).await?;
    let (due,): (String,) = sqlx::query_as(&format!(
        "SELECT {} FROM outbox WHERE id IN ({})",
        dialect.json_rows("id, kind, sender, recipients, subject, message_id, attempts + 1"),
        due_ids(dialect, "$1", "$2", "")
    ))
    .bind(now)
    .bind(limit)
    .fetch_one(&mut *tx)
    .await?;
    let mut rows: Vec<Claimed> = super::json_rows(&due)?;
    if rows.is_empty() {
        return Ok(rows);
    }
    rows.sort_by_key(|row| row.id);
    let ids = super::json_param(&rows.iter().map(|row| row.id).collect::<Vec<_>>())?;
    sqlx::query(&format!(
        "UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2, \
         attempts = attempts + 1, updated_at = $3 WHERE id IN ({})",
        dialect.int_list("$4")
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(ids)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The ids of up to `limit` due rows that also match `filter` (empty, or
/// `AND` and a condition), by priority and then due time, the time being
/// `now`; both are placeholders. On PostgreSQL the rows are locked and
/// rows another transaction holds are skipped, so nodes claiming at the
/// same moment take different rows without waiting for each other.
fn due_ids(dialect: super::Dialect, now: &str, limit: &str, filter: &str) -> String {
    let skip_locked = dialect.skip_locked();
    let lease_index = dialect.indexed_by("outbox_lease");
    format!(
        "SELECT id FROM ( \
           SELECT id, priority, next_attempt_at AS due FROM (SELECT id, priority, next_attempt_at \
             FROM outbox WHERE status = 'queued' AND next_attempt_at <= {now} {filter} \
             ORDER BY priority, next_attempt_at LIMIT {limit} {skip_locked}) AS queued \
           UNION ALL SELECT id, priority, next_attempt_at FROM (SELECT id, priority, next_attempt_at \
             FROM outbox WHERE status = 'retrying' AND next_attempt_at <= {now} {filter} \
             ORDER BY priority, next_attempt_at LIMIT {limit} {skip_locked}) AS retrying \
           UNION ALL SELECT id, priority, lease_until FROM (SELECT id, priority, lease_until \
             FROM outbox {lease_index} WHERE status = 'sending' AND lease_until < {now} {filter} \
             ORDER BY lease_until LIMIT {limit} {skip_locked}) AS expired \
           ) AS due ORDER BY priority, due, id LIMIT {limit}"
    )
}

/// Leases the next due row a sending mailbox's lane may take, by priority:
/// with `lane` empty, the SMTP Server page's mailbox, which takes any row
/// not From a pool mailbox; else that pool mailbox, which takes rows From
/// itself and bulk guest mail (`BULK_PRIORITY`) From no other pool mailbox.
pub async fn claim_for_lane(
    db: impl DbExecutor<'_>,
    owner: &str,
    now: i64,
    lease_until: i64,
    lane: &str,
    pool: &[String],
) -> sqlx::Result<Option<Claimed>> {
    let dialect = db.dialect();
    let pool = super::json_param(pool)?;
    let takes = format!(
        "(lower(sender) NOT IN ({}) AND ($6 = '' OR priority = $7) \
         OR ($6 <> '' AND lower(sender) = $6))",
        dialect.text_list("$5")
    );
    sqlx::query_as(&format!(
        "UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2, \
         attempts = attempts + 1, updated_at = $3 WHERE id IN ({}) \
         RETURNING id, kind, sender, recipients, subject, message_id, attempts",
        due_ids(dialect, "$3", "$4", &format!("AND {takes}"))
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(1)
    .bind(pool)
    .bind(lane)
    .bind(BULK_PRIORITY)
    .fetch_optional(db)
    .await
}

/// Gives a claimed row back without counting the attempt: its mailbox is
/// paused until `until` (a quota), and the row waits, queued, until then.
pub async fn defer(
    db: impl AnyExecutor<'_>,
    id: i64,
    owner: &str,
    until: i64,
    reason: &str,
    now: i64,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE outbox SET status = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, lease_owner = NULL, \
         lease_until = NULL, next_attempt_at = $1, last_reply = $2, updated_at = $3 \
         WHERE id = $4 AND lease_owner = $5 AND status = 'sending'",
    )
    .bind(until)
    .bind(reason)
    .bind(now)
    .bind(id)
    .bind(owner)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Messages not yet delivered that go before or with message `last`: its
/// own and earlier bulk mail, and anything that takes priority over it.
pub async fn waiting_through(db: impl AnyExecutor<'_>, last: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'retrying', 'sending') \
         AND (id <= $1 OR priority < $2)",
    )
    .bind(last)
    .bind(BULK_PRIORITY)
    .fetch_one(db)
    .await
}

/// Messages not yet delivered: queued, retrying or being sent.
pub async fn waiting(db: impl AnyExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'retrying', 'sending')",
    )
    .fetch_one(db)
    .await
}

/// When the next row falls due (a waiting retry, or a lease running out).
/// One lookup per status and priority (0 to 2, `MailKind::priority`), each
/// the first entry of its stretch of `outbox_priority_due`; leases from
/// `outbox_lease`, which holds only the rows being sent (SQLite would
/// rather walk every one of them in `outbox_priority_due`).
pub async fn next_due(db: impl DbExecutor<'_>) -> sqlx::Result<Option<i64>> {
    let sql = match db.dialect() {
        super::Dialect::Sqlite => &*NEXT_DUE_SQLITE,
        super::Dialect::Postgres => &*NEXT_DUE_POSTGRES,
    };
    let (due,): (Option<i64>,) = sqlx::query_as(sql.as_str()).fetch_one(db).await?;
    Ok(due)
}

static NEXT_DUE_SQLITE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| next_due_sql(super::Dialect::Sqlite));
static NEXT_DUE_POSTGRES: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| next_due_sql(super::Dialect::Postgres));

fn next_due_sql(dialect: super::Dialect) -> String {
    let firsts: Vec<String> = ["queued", "retrying"]
        .iter()
        .flat_map(|status| {
            PRIORITIES.iter().map(move |priority| {
                format!(
                    "SELECT MIN(next_attempt_at) AS t FROM outbox \
                     WHERE status = '{status}' AND priority = {priority}"
                )
            })
        })
        .collect();
    format!(
        "SELECT MIN(t) FROM ({} UNION ALL SELECT MIN(lease_until) FROM outbox \
         {} WHERE status = 'sending') AS firsts",
        firsts.join(" UNION ALL "),
        dialect.indexed_by("outbox_lease")
    )
}

/// Makes the rows leased by owners whose names start with `owner_prefix`
/// due now: the node's earlier processes at start (`node/`), a process
/// leaving cleanly or found disconnected by the PRIMARY (its instance).
/// Other nodes' leases are theirs until they run out. `None` takes back
/// every lease (SQLite: one node).
pub async fn release_leases(
    db: impl AnyExecutor<'_>,
    owner_prefix: Option<&str>,
    now: i64,
) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "UPDATE outbox SET status = 'queued', lease_owner = NULL, lease_until = NULL, \
         next_attempt_at = $1, updated_at = $1 WHERE status = 'sending' \
         AND ($2 IS NULL OR substr(lease_owner, 1, length($2)) = $2)",
    )
    .bind(now)
    .bind(owner_prefix)
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// The result of one attempt.
pub struct Settled<'a> {
    pub id: i64,
    pub status: MailStatus,
    pub reply: &'a str,
    pub diagnosis_json: Option<&'a str>,
    pub next_attempt_at: i64,
    pub now: i64,
    /// The attempt's number, start (unix ms) and duration, for its history row.
    pub attempt: i64,
    pub started_at: i64,
    pub millis: i64,
    /// "sent", "retry" or "dead".
    pub outcome: &'a str,
    /// The pool mailbox that sent it From itself, shown as its sender.
    pub sent_from: Option<&'a str>,
}

/// Records a batch of attempts in three statements, whatever its size,
/// within the caller's write transaction: which rows `owner` still holds
/// the lease on (a worker whose lease ran out and was re-claimed writes
/// nothing), their new state, and the attempt history. Returns the ids
/// that were recorded.
pub async fn settle_all(
    tx: &mut sqlx::AnyConnection,
    owner: &str,
    batch: &[Settled<'_>],
) -> sqlx::Result<HashSet<i64>> {
    if batch.is_empty() {
        return Ok(HashSet::new());
    }
    // Which rows this worker still holds, as one row of text: rows cross
    // from SQLite's thread one at a time, each a wake-up. The caller's
    // write transaction (and on PostgreSQL the row locks) keeps the answer
    // true until the UPDATE.
    let dialect = super::Dialect::of_connection(tx);
    let ids = super::json_param(&batch.iter().map(|row| row.id).collect::<Vec<_>>())?;
    let (held,): (String,) = sqlx::query_as(&format!(
        "SELECT {} FROM (SELECT id FROM outbox WHERE id IN ({}) \
           AND status = 'sending' AND lease_owner = $2 {}) AS held",
        dialect.json_rows("id"),
        dialect.int_list("$1"),
        dialect.for_update()
    ))
    .bind(&ids)
    .bind(owner)
    .fetch_one(&mut *tx)
    .await?;
    let recorded: HashSet<i64> = super::json_rows::<(i64,)>(&held)?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let kept: Vec<serde_json::Value> = batch
        .iter()
        .filter(|r| recorded.contains(&r.id))
        .map(|r| {
            serde_json::json!([
                r.id,
                r.status.as_str(),
                r.reply,
                r.diagnosis_json,
                r.next_attempt_at,
                r.now,
                r.sent_from,
                r.attempt,
                r.started_at,
                r.millis,
                r.outcome
            ])
        })
        .collect();
    if kept.is_empty() {
        return Ok(recorded);
    }
    // One parameter, so the database prepares the two statements once.
    let kept = super::json_param(&kept)?;
    let rows = dialect.json_elements("$1", "v");
    sqlx::query(&format!(
        "UPDATE outbox SET status = v.value->>1, last_reply = v.value->>2, \
         diagnosis = v.value->>3, next_attempt_at = CAST(v.value->>4 AS BIGINT), \
         lease_owner = NULL, lease_until = NULL, updated_at = CAST(v.value->>5 AS BIGINT), \
         sender = COALESCE(v.value->>6, outbox.sender), \
         sent_at = CASE WHEN v.value->>1 = 'sent' THEN CAST(v.value->>5 AS BIGINT) \
           ELSE outbox.sent_at END \
         FROM {rows} WHERE outbox.id = CAST(v.value->>0 AS BIGINT)"
    ))
    .bind(&kept)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO outbox_attempts (outbox_id, attempt, started_at, millis, outcome, reply) \
         SELECT CAST(v.value->>0 AS BIGINT), CAST(v.value->>7 AS BIGINT), \
         CAST(v.value->>8 AS BIGINT), CAST(v.value->>9 AS BIGINT), v.value->>10, v.value->>2 \
         FROM {rows}"
    ))
    .bind(&kept)
    .execute(&mut *tx)
    .await?;
    Ok(recorded)
}

/// Messages held because Entra ID refused the credential (their last reply
/// is its AADSTS code) or because none was stored become due now: the
/// settings they waited for changed.
pub async fn release_credential_holds(db: impl AnyExecutor<'_>, now: i64) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "UPDATE outbox SET next_attempt_at = $1, updated_at = $1 \
         WHERE status = 'retrying' AND next_attempt_at > $1 \
         AND (last_reply LIKE 'AADSTS%' OR last_reply LIKE $2)",
    )
    .bind(now)
    .bind(format!("{}%", crate::domain::diagnosis::CREDENTIAL_MISSING))
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// Puts a dead letter back in the queue, due now, with a fresh attempt count.
pub async fn requeue_dead(db: impl AnyExecutor<'_>, id: i64, now: i64) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $1, updated_at = $1 \
         WHERE id = $2 AND status = 'dead'",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn discard_dead(db: impl AnyExecutor<'_>, id: i64, now: i64) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE outbox SET status = 'discarded', updated_at = $1 WHERE id = $2 AND status = 'dead'",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn counts(db: impl AnyExecutor<'_>) -> sqlx::Result<QueueCounts> {
    let rows: Vec<(MailStatus, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            .fetch_all(db)
            .await?;
    let mut counts = QueueCounts::default();
    for (status, count) in rows {
        counts.add(status, count);
    }
    Ok(counts)
}

/// Counts by status of the messages `ids` that `created_by` queued (a
/// sponsor's batch: others' messages are not counted).
pub async fn statuses_created_by(
    db: impl DbExecutor<'_>,
    ids: &[i64],
    created_by: &str,
) -> sqlx::Result<QueueCounts> {
    let mut counts = QueueCounts::default();
    if ids.is_empty() {
        return Ok(counts);
    }
    let sql = format!(
        "SELECT status, COUNT(*) FROM outbox WHERE created_by = $1 AND id IN ({}) GROUP BY status",
        db.dialect().int_list("$2")
    );
    let query = sqlx::query_as::<_, (MailStatus, i64)>(&sql)
        .bind(created_by)
        .bind(super::json_param(ids)?);
    for (status, count) in query.fetch_all(db).await? {
        counts.add(status, count);
    }
    Ok(counts)
}

/// The Mail Queue table's filter; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<MailStatus>,
    pub kind: Option<MailKind>,
    /// Substring of a recipient address.
    pub recipient: String,
    /// Substring of the subject.
    pub subject: String,
}

#[derive(FromRow)]
struct RowRecord {
    id: i64,
    kind: MailKind,
    recipients: String,
    subject: String,
    status: MailStatus,
    attempts: i64,
    last_reply: Option<String>,
    created_at: i64,
    updated_at: i64,
    next_attempt_at: i64,
}

impl RowRecord {
    fn into_row(self) -> QueueRow {
        let status = self.status;
        QueueRow {
            id: self.id,
            kind: self.kind,
            recipients: self.recipients,
            subject: self.subject,
            status,
            attempts: self.attempts,
            last_reply: self.last_reply,
            created_at: self.created_at,
            updated_at: self.updated_at,
            next_attempt_at: matches!(status, MailStatus::Queued | MailStatus::Retrying)
                .then_some(self.next_attempt_at),
        }
    }
}

const ROW_COLUMNS: &str = "id, kind, recipients, subject, status, attempts, last_reply, \
                           created_at, updated_at, next_attempt_at";

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// One page of the table, newest first, and how many rows match in all.
pub async fn page(
    db: &sqlx::AnyPool,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<QueueRow>, i64)> {
    // Matched on lower case: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    let where_clause = "WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2) \
         AND ($3 = '%%' OR lower(recipients) LIKE $3 ESCAPE '\\') \
         AND ($4 = '%%' OR lower(subject) LIKE $4 ESCAPE '\\')";
    let status = filter.status;
    let kind = filter.kind;
    let recipient = escape_like(&filter.recipient.trim().to_lowercase());
    let subject = escape_like(&filter.subject.trim().to_lowercase());
    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM outbox {where_clause}"))
        .bind(status)
        .bind(kind)
        .bind(&recipient)
        .bind(&subject)
        .fetch_one(db)
        .await?;
    let records: Vec<RowRecord> = sqlx::query_as(&format!(
        "SELECT {ROW_COLUMNS} FROM outbox {where_clause} ORDER BY id DESC LIMIT $5 OFFSET $6"
    ))
    .bind(status)
    .bind(kind)
    .bind(&recipient)
    .bind(&subject)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    Ok((
        records.into_iter().map(RowRecord::into_row).collect(),
        total,
    ))
}

pub struct Detail {
    pub row: QueueRow,
    pub sender: String,
    pub message_id: String,
    pub created_by: String,
    pub diagnosis_json: Option<String>,
}

pub async fn get(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<Detail>> {
    #[derive(FromRow)]
    struct Extra {
        sender: String,
        message_id: String,
        created_by: String,
        diagnosis: Option<String>,
        #[sqlx(flatten)]
        row: RowRecord,
    }
    let extra: Option<Extra> = sqlx::query_as(&format!(
        "SELECT sender, message_id, created_by, diagnosis, {ROW_COLUMNS} FROM outbox WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(extra.map(|e| Detail {
        row: e.row.into_row(),
        sender: e.sender,
        message_id: e.message_id,
        created_by: e.created_by,
        diagnosis_json: e.diagnosis,
    }))
}

pub async fn attempts(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Vec<AttemptRow>> {
    let rows: Vec<(i64, i64, i64, String, String)> = sqlx::query_as(
        "SELECT attempt, started_at, millis, outcome, reply FROM outbox_attempts \
         WHERE outbox_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(attempt, started_at, millis, outcome, reply)| AttemptRow {
            attempt,
            started_at,
            millis,
            outcome,
            reply,
        })
        .collect())
}

/// The batch being sent: every message from the oldest one still on its
/// way to the newest, and how many of them are done. None when idle.
pub async fn batch_progress(db: impl AnyExecutor<'_> + Copy) -> sqlx::Result<Option<(i64, i64)>> {
    let (oldest,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(id) FROM outbox WHERE status IN ('queued', 'sending', 'retrying')",
    )
    .fetch_one(db)
    .await?;
    let Some(oldest) = oldest else {
        return Ok(None);
    };
    let (total, done): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status IN ('sent', 'dead', 'discarded') \
         THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM outbox WHERE id >= $1",
    )
    .bind(oldest)
    .fetch_one(db)
    .await?;
    Ok(Some((done, total)))
}
