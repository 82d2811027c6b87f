//! Sending limits and each mailbox's pacing state. Times are unix ms.

use super::Dialect;
use super::codec::Flag;
use crate::domain::limits::SendingLimits;
use sqlx::{AnyExecutor, AnyPool};

const DAY_MS: i64 = 86_400_000;

pub async fn limits(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<SendingLimits>> {
    let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT max_connections, messages_per_minute, recipients_per_day, recipients_per_message \
         FROM sending_limits WHERE id = 1",
    )
    .fetch_optional(db)
    .await?;
    let number = |v: i64| u32::try_from(v).unwrap_or(0);
    Ok(row.map(|(c, m, d, r)| SendingLimits {
        max_connections: number(c),
        messages_per_minute: number(m),
        recipients_per_day: number(d),
        recipients_per_message: number(r),
    }))
}

pub async fn put_limits(
    db: impl AnyExecutor<'_>,
    limits: &SendingLimits,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sending_limits (id, max_connections, messages_per_minute, recipients_per_day, \
         recipients_per_message, updated_at, updated_by) VALUES (1, $1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET max_connections = excluded.max_connections, \
         messages_per_minute = excluded.messages_per_minute, \
         recipients_per_day = excluded.recipients_per_day, \
         recipients_per_message = excluded.recipients_per_message, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(i64::from(limits.max_connections))
    .bind(i64::from(limits.messages_per_minute))
    .bind(i64::from(limits.recipients_per_day))
    .bind(i64::from(limits.recipients_per_message))
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether a message may go now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    Go,
    /// Not before `until`: the pace (a short wait) or a quota (a long one).
    Wait {
        until: i64,
        quota: bool,
        reason: String,
    },
}

/// Takes the mailbox's next release for a message to `recipients`
/// recipients, or says when to ask again. One write transaction, so every
/// worker (and a restarted console) shares the same pace and count.
pub async fn reserve(
    db: &AnyPool,
    mailbox: &str,
    limits: &SendingLimits,
    recipients: i64,
    now: i64,
) -> sqlx::Result<Release> {
    let mut tx = super::begin_write(db).await?;
    // The mailbox's row is the lock that makes concurrent reservations (of
    // this node's workers or of other nodes) take turns.
    sqlx::query(
        "INSERT INTO mailbox_pacing (mailbox, next_release_ms) VALUES ($1, 0) \
         ON CONFLICT (mailbox) DO NOTHING",
    )
    .bind(mailbox)
    .execute(&mut *tx)
    .await?;
    let pacing: Option<(i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT next_release_ms, paused_until_ms, pause_reason FROM mailbox_pacing \
         WHERE mailbox = $1 {}",
        Dialect::of(db).for_update()
    ))
    .bind(mailbox)
    .fetch_optional(&mut *tx)
    .await?;
    let (next_release, paused_until, pause_reason) = pacing.unwrap_or((0, 0, String::new()));
    if paused_until > now {
        return Ok(Release::Wait {
            until: paused_until,
            quota: true,
            reason: pause_reason,
        });
    }
    if limits.recipients_per_day > 0 {
        let daily = i64::from(limits.recipients_per_day);
        let sends: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT at_ms, recipients FROM mailbox_sends WHERE mailbox = $1 AND at_ms > $2 ORDER BY at_ms",
        )
        .bind(mailbox)
        .bind(now - DAY_MS)
        .fetch_all(&mut *tx)
        .await?;
        let mut used: i64 = sends.iter().map(|(_, n)| n).sum();
        if used + recipients > daily {
            // When enough of the window's oldest sends have rolled out.
            let mut until = now + DAY_MS;
            for (at, n) in &sends {
                used -= n;
                if used + recipients <= daily {
                    until = at + DAY_MS + 1;
                    break;
                }
            }
            return Ok(Release::Wait {
                until,
                quota: true,
                reason: format!(
                    "the mailbox's {daily} recipients a day are used up (rolling 24 hours)"
                ),
            });
        }
    }
    let mut new_next = next_release;
    if let Some(interval) = limits.interval_ms() {
        if now < next_release {
            return Ok(Release::Wait {
                until: next_release,
                quota: false,
                reason: format!("paced at {} messages a minute", limits.messages_per_minute),
            });
        }
        new_next = now + interval;
    }
    sqlx::query(
        "INSERT INTO mailbox_pacing (mailbox, next_release_ms) VALUES ($1, $2) \
         ON CONFLICT (mailbox) DO UPDATE SET next_release_ms = excluded.next_release_ms",
    )
    .bind(mailbox)
    .bind(new_next)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO mailbox_sends (mailbox, at_ms, recipients) VALUES ($1, $2, $3)")
        .bind(mailbox)
        .bind(now)
        .bind(recipients)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM mailbox_sends WHERE mailbox = $1 AND at_ms <= $2")
        .bind(mailbox)
        .bind(now - DAY_MS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Release::Go)
}

/// Pauses the mailbox until `until` (the server said its quota is used).
pub async fn pause(
    db: impl AnyExecutor<'_>,
    mailbox: &str,
    until: i64,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mailbox_pacing (mailbox, next_release_ms, paused_until_ms, pause_reason) \
         VALUES ($1, 0, $2, $3) ON CONFLICT (mailbox) DO UPDATE SET \
         paused_until_ms = CASE WHEN excluded.paused_until_ms > mailbox_pacing.paused_until_ms \
         THEN excluded.paused_until_ms ELSE mailbox_pacing.paused_until_ms END, \
         pause_reason = excluded.pause_reason",
    )
    .bind(mailbox)
    .bind(until)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}

/// When the oldest send of the rolling 24 hours leaves it (the earliest a
/// server-side daily quota can free up), or `None` with no sends.
pub async fn window_frees_at(
    db: impl AnyExecutor<'_>,
    mailbox: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(at_ms) FROM mailbox_sends WHERE mailbox = $1 AND at_ms > $2",
    )
    .bind(mailbox)
    .bind(now - DAY_MS)
    .fetch_one(db)
    .await?;
    Ok(oldest.map(|at| at + DAY_MS + 1))
}

/// (messages in the last minute, recipients in the last 24 hours,
/// paused until, pause reason) for the Mail Queue.
pub async fn usage(
    db: &mut sqlx::AnyConnection,
    mailbox: &str,
    now: i64,
) -> sqlx::Result<(i64, i64, Option<i64>, String)> {
    // One statement (the pause as scalar subqueries): the SMTP Server page
    // reads this for every mailbox, and each statement is a round trip to
    // the database connection's thread.
    let (minute, day, paused, reason): (i64, i64, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN at_ms > $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(recipients), 0) AS BIGINT), \
         (SELECT paused_until_ms FROM mailbox_pacing WHERE mailbox = $2 AND paused_until_ms > $4), \
         (SELECT pause_reason FROM mailbox_pacing WHERE mailbox = $2 AND paused_until_ms > $4) \
         FROM mailbox_sends WHERE mailbox = $2 AND at_ms > $3",
    )
    .bind(now - 60_000)
    .bind(mailbox)
    .bind(now - DAY_MS)
    .bind(now)
    .fetch_one(db)
    .await?;
    // Both subqueries share one condition: no pause, no reason.
    Ok((minute, day, paused, reason.unwrap_or_default()))
}

/// The sender pool: each further mailbox and whether it takes bulk mail.
pub async fn sender_mailboxes(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<(String, bool)>> {
    let rows: Vec<(String, Flag)> =
        sqlx::query_as("SELECT mailbox, enabled FROM sender_mailboxes ORDER BY mailbox")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(mailbox, enabled)| (mailbox, enabled.into()))
        .collect())
}

/// Adds a mailbox to the pool; false when it is there already.
pub async fn add_sender_mailbox(
    db: impl AnyExecutor<'_>,
    mailbox: &str,
    now: i64,
    by: &str,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO sender_mailboxes (mailbox, enabled, added_at, added_by) VALUES ($1, TRUE, $2, $3) \
         ON CONFLICT (mailbox) DO NOTHING",
    )
    .bind(mailbox)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Turns a pool mailbox on or off; false when it is not in the pool.
pub async fn enable_sender_mailbox(
    db: impl AnyExecutor<'_>,
    mailbox: &str,
    enabled: bool,
) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("UPDATE sender_mailboxes SET enabled = $1 WHERE mailbox = $2")
            .bind(enabled)
            .bind(mailbox)
            .execute(db)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn remove_sender_mailbox(db: impl AnyExecutor<'_>, mailbox: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM sender_mailboxes WHERE mailbox = $1")
            .bind(mailbox)
            .execute(db)
            .await?
            .rows_affected()
            == 1,
    )
}
