//! Failed sign-ins by throttle key (`throttle::user_key`, `throttle::ip_key`).

use super::Dialect;
use crate::server::throttle::{Failures, ThrottlePolicy};
use sqlx::{AnyExecutor, AnyPool};

/// The latest time until which any of `keys` is locked.
pub async fn locked_until(db: &AnyPool, keys: &[String]) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(&format!(
        "SELECT MAX(locked_until) FROM sign_in_failures WHERE throttle_key IN ({})",
        Dialect::of(db).text_list("$1")
    ))
    .bind(super::json_param(keys)?)
    .fetch_one(db)
    .await
}

/// Counts one more failure for `key` under `policy`, in one write
/// transaction: two nodes counting at once both count. The counts before
/// and after.
pub async fn record(
    db: &AnyPool,
    key: &str,
    policy: ThrottlePolicy,
    now: i64,
) -> sqlx::Result<(Failures, Failures)> {
    let mut tx = super::begin_write(db).await?;
    sqlx::query(
        "INSERT INTO sign_in_failures (throttle_key, count, last_at, locked_until) VALUES ($1, 0, $2, 0) \
         ON CONFLICT (throttle_key) DO NOTHING",
    )
    .bind(key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (count, last_at, locked_until): (i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT count, last_at, locked_until FROM sign_in_failures WHERE throttle_key = $1 {}",
        Dialect::of(db).for_update()
    ))
    .bind(key)
    .fetch_one(&mut *tx)
    .await?;
    let before = Failures {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        last_at,
        locked_until,
    };
    let after = before.after_failure(policy, now);
    let lock_started = after.locked_until > now && before.locked_until <= now;
    sqlx::query(&format!(
        "UPDATE sign_in_failures SET count = $1, last_at = $2, locked_until = $3{} WHERE throttle_key = $4",
        if lock_started { ", lock_announced = 1" } else { "" }
    ))
    .bind(i64::from(after.count))
    .bind(after.last_at)
    .bind(after.locked_until)
    .bind(key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((before, after))
}

/// Locks whose start was logged and that have ended by `now`, each taken
/// by one node only (so each end is logged once): key and end time.
pub async fn take_ended_locks(db: &AnyPool, now: i64) -> sqlx::Result<Vec<(String, i64)>> {
    let ended: Vec<(String, i64)> = sqlx::query_as(
        "SELECT throttle_key, locked_until FROM sign_in_failures WHERE lock_announced = 1 AND locked_until <= $1",
    )
    .bind(now)
    .fetch_all(db)
    .await?;
    let mut taken = Vec::new();
    for (key, until) in ended {
        let claimed = sqlx::query(
            "UPDATE sign_in_failures SET lock_announced = 0 WHERE throttle_key = $1 AND lock_announced = 1 AND locked_until = $2",
        )
        .bind(&key)
        .bind(until)
        .execute(db)
        .await?
        .rows_affected();
        if claimed == 1 {
            taken.push((key, until));
        }
    }
    Ok(taken)
}

pub async fn clear(db: impl AnyExecutor<'_>, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE throttle_key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets failures older than `before` whose lock has ended (and whose
/// end has been logged).
pub async fn forget_before(db: impl AnyExecutor<'_>, before: i64, now: i64) -> sqlx::Result<u64> {
    let deleted =
        sqlx::query("DELETE FROM sign_in_failures WHERE last_at < $1 AND locked_until <= $2 AND lock_announced = 0")
            .bind(before)
            .bind(now)
            .execute(db)
            .await?;
    Ok(deleted.rows_affected())
}
