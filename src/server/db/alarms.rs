//! Alarm settings, the notification sender and raised alarms.

use super::DbExecutor;
use crate::domain::alarm::{AlarmCode, AlarmSetting, Severity, format_days, parse_days};
use sqlx::{AnyExecutor, FromRow};

#[derive(FromRow)]
struct SettingRow {
    code: String,
    #[sqlx(try_from = "super::codec::Flag")]
    enabled: bool,
    severity: String,
    #[sqlx(try_from = "super::codec::Flag")]
    send_email: bool,
    suppress_hours: i64,
    warning_days: String,
    critical_days: String,
}

impl SettingRow {
    fn setting(self) -> Option<AlarmSetting> {
        let code = AlarmCode::parse(&self.code)?;
        let fallback = AlarmSetting::default_for(code);
        Some(AlarmSetting {
            code,
            enabled: self.enabled,
            severity: Severity::parse(&self.severity).unwrap_or(fallback.severity),
            send_email: self.send_email,
            suppress_hours: u32::try_from(self.suppress_hours).unwrap_or(fallback.suppress_hours),
            warning_days: parse_days("", &self.warning_days).unwrap_or(fallback.warning_days),
            critical_days: parse_days("", &self.critical_days).unwrap_or(fallback.critical_days),
        })
    }
}

/// Adds the catalogue's entries that have no row yet, with their defaults.
pub async fn ensure_catalogue(db: impl AnyExecutor<'_> + Copy, now: i64) -> sqlx::Result<()> {
    for code in AlarmCode::ALL {
        let default = AlarmSetting::default_for(code);
        sqlx::query(
            "INSERT INTO alarm_settings (code, enabled, severity, send_email, \
             suppress_hours, warning_days, critical_days, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'system') ON CONFLICT DO NOTHING",
        )
        .bind(code.as_str())
        .bind(default.enabled)
        .bind(default.severity.as_str())
        .bind(default.send_email)
        .bind(i64::from(default.suppress_hours))
        .bind(format_days(&default.warning_days))
        .bind(format_days(&default.critical_days))
        .bind(now)
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Every catalogue entry's settings, in catalogue order; defaults for any
/// without a row.
pub async fn settings(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<AlarmSetting>> {
    let rows: Vec<SettingRow> = sqlx::query_as(
        "SELECT code, enabled, severity, send_email, suppress_hours, warning_days, critical_days \
         FROM alarm_settings",
    )
    .fetch_all(db)
    .await?;
    let stored: Vec<AlarmSetting> = rows.into_iter().filter_map(SettingRow::setting).collect();
    Ok(AlarmCode::ALL
        .into_iter()
        .map(|code| {
            stored
                .iter()
                .find(|s| s.code == code)
                .cloned()
                .unwrap_or_else(|| AlarmSetting::default_for(code))
        })
        .collect())
}

/// The alarm's settings, its row locked until the transaction ends: raising
/// an alarm reads whether it is open, then writes, and two raises of the
/// same alarm (two nodes, or two runs) must take turns.
pub async fn setting_locked(
    db: &mut sqlx::AnyConnection,
    code: AlarmCode,
) -> sqlx::Result<AlarmSetting> {
    let row: Option<SettingRow> = sqlx::query_as(&format!(
        "SELECT code, enabled, severity, send_email, suppress_hours, warning_days, critical_days \
         FROM alarm_settings WHERE code = $1 {}",
        super::Dialect::of_connection(db).for_update()
    ))
    .bind(code.as_str())
    .fetch_optional(&mut *db)
    .await?;
    Ok(row
        .and_then(SettingRow::setting)
        .unwrap_or_else(|| AlarmSetting::default_for(code)))
}

pub async fn put_setting(
    db: impl AnyExecutor<'_>,
    setting: &AlarmSetting,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO alarm_settings (code, enabled, severity, send_email, suppress_hours, \
         warning_days, critical_days, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (code) DO UPDATE SET enabled = excluded.enabled, severity = excluded.severity, \
         send_email = excluded.send_email, suppress_hours = excluded.suppress_hours, \
         warning_days = excluded.warning_days, critical_days = excluded.critical_days, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(setting.code.as_str())
    .bind(setting.enabled)
    .bind(setting.severity.as_str())
    .bind(setting.send_email)
    .bind(i64::from(setting.suppress_hours))
    .bind(format_days(&setting.warning_days))
    .bind(format_days(&setting.critical_days))
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

/// The Alarm Notification sender, if one was saved.
pub async fn sender(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT sender FROM alarm_notification WHERE id = 1")
        .fetch_optional(db)
        .await
}

pub async fn put_sender(
    db: impl AnyExecutor<'_>,
    sender: &str,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO alarm_notification (id, sender, updated_at, updated_by) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET sender = excluded.sender, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(sender)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct AlarmRow {
    pub id: i64,
    pub code: String,
    pub subject: String,
    pub severity: String,
    pub threshold: Option<i64>,
    pub details: String,
    pub occurrences: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub last_emailed_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub cleared_at: Option<i64>,
    pub cleared_by: Option<String>,
}

const COLUMNS: &str = "id, code, subject, severity, threshold, details, occurrences, first_at, \
    last_at, last_emailed_at, acknowledged_at, acknowledged_by, cleared_at, cleared_by";

pub async fn open_one(
    db: impl AnyExecutor<'_>,
    code: AlarmCode,
    subject: &str,
) -> sqlx::Result<Option<AlarmRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE code = $1 AND subject = $2 AND cleared_at IS NULL"
    ))
    .bind(code.as_str())
    .bind(subject)
    .fetch_optional(db)
    .await
}

pub struct NewAlarm<'a> {
    pub code: AlarmCode,
    pub subject: &'a str,
    pub severity: Severity,
    pub threshold: Option<u32>,
    pub details: &'a str,
}

pub async fn insert(
    db: impl AnyExecutor<'_>,
    alarm: &NewAlarm<'_>,
    now: i64,
    emailed: bool,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO alarms (code, subject, severity, threshold, details, occurrences, first_at, \
         last_at, last_emailed_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8) RETURNING id",
    )
    .bind(alarm.code.as_str())
    .bind(alarm.subject)
    .bind(alarm.severity.as_str())
    .bind(alarm.threshold.map(i64::from))
    .bind(alarm.details)
    .bind(now)
    .bind(now)
    .bind(emailed.then_some(now))
    .fetch_one(db)
    .await
}

/// Counts one more occurrence of an open alarm. A new occurrence brings it
/// back to the dashboard's unacknowledged list.
pub async fn occurred_again(
    db: impl AnyExecutor<'_>,
    id: i64,
    alarm: &NewAlarm<'_>,
    now: i64,
    emailed: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE alarms SET occurrences = occurrences + 1, last_at = $1, severity = $2, \
         threshold = $3, details = $4, acknowledged_at = NULL, acknowledged_by = NULL, \
         last_emailed_at = CASE WHEN $5 THEN $6 ELSE last_emailed_at END WHERE id = $7",
    )
    .bind(now)
    .bind(alarm.severity.as_str())
    .bind(alarm.threshold.map(i64::from))
    .bind(alarm.details)
    .bind(emailed)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Clears the open alarms of `code` whose subject is not `keep`; returns
/// how many.
pub async fn clear_except(
    db: impl DbExecutor<'_>,
    code: AlarmCode,
    keep: &[String],
    now: i64,
) -> sqlx::Result<u64> {
    let keep = super::json_param(keep)?;
    Ok(sqlx::query(&format!(
        "UPDATE alarms SET cleared_at = $1, cleared_by = 'system' WHERE code = $2 \
         AND cleared_at IS NULL AND subject NOT IN ({})",
        db.dialect().text_list("$3")
    ))
    .bind(now)
    .bind(code.as_str())
    .bind(keep)
    .execute(db)
    .await?
    .rows_affected())
}

/// Open and recently cleared alarms, newest first.
pub async fn list(
    db: impl AnyExecutor<'_>,
    include_cleared: bool,
    limit: i64,
) -> sqlx::Result<Vec<AlarmRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE ($1 OR cleared_at IS NULL) \
         ORDER BY cleared_at IS NOT NULL, last_at DESC, id DESC LIMIT $2"
    ))
    .bind(include_cleared)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn acknowledge(
    db: impl DbExecutor<'_>,
    ids: &[i64],
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    mark_open(db, "acknowledged", ids, now, by).await
}

pub async fn clear(db: impl DbExecutor<'_>, ids: &[i64], now: i64, by: &str) -> sqlx::Result<u64> {
    mark_open(db, "cleared", ids, now, by).await
}

/// Sets `{mark}_at` and `{mark}_by` on the open alarms among `ids`.
async fn mark_open(
    db: impl DbExecutor<'_>,
    mark: &'static str,
    ids: &[i64],
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    let ids = super::json_param(ids)?;
    Ok(sqlx::query(&format!(
        "UPDATE alarms SET {mark}_at = $1, {mark}_by = $2 \
         WHERE id IN ({}) AND cleared_at IS NULL",
        db.dialect().int_list("$3")
    ))
    .bind(now)
    .bind(by)
    .bind(ids)
    .execute(db)
    .await?
    .rows_affected())
}

/// Addresses of the enabled admins who opted in to alarm emails.
pub async fn recipients(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT email FROM admins WHERE enabled = TRUE AND include_alarm_emails = TRUE \
         AND email IS NOT NULL AND email != '' ORDER BY id",
    )
    .fetch_all(db)
    .await
}
