//! Alarm settings, the notification sender and raised alarms.

use crate::domain::alarm::{AlarmCode, AlarmSetting, Severity, format_days, parse_days};
use sqlx::{FromRow, SqliteExecutor};

#[derive(FromRow)]
struct SettingRow {
    code: String,
    enabled: bool,
    severity: String,
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
pub async fn ensure_catalogue(db: impl SqliteExecutor<'_> + Copy, now: i64) -> sqlx::Result<()> {
    for code in AlarmCode::ALL {
        let default = AlarmSetting::default_for(code);
        sqlx::query(
            "INSERT OR IGNORE INTO alarm_settings (code, enabled, severity, send_email, \
             suppress_hours, warning_days, critical_days, updated_at, updated_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'system')",
        )
        .bind(code.as_str())
        .bind(default.enabled)
        .bind(default.severity.as_str())
        .bind(default.send_email)
        .bind(default.suppress_hours)
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
pub async fn settings(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<AlarmSetting>> {
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

pub async fn setting(db: impl SqliteExecutor<'_>, code: AlarmCode) -> sqlx::Result<AlarmSetting> {
    let row: Option<SettingRow> = sqlx::query_as(
        "SELECT code, enabled, severity, send_email, suppress_hours, warning_days, critical_days \
         FROM alarm_settings WHERE code = ?",
    )
    .bind(code.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row
        .and_then(SettingRow::setting)
        .unwrap_or_else(|| AlarmSetting::default_for(code)))
}

pub async fn put_setting(
    db: impl SqliteExecutor<'_>,
    setting: &AlarmSetting,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO alarm_settings (code, enabled, severity, send_email, suppress_hours, \
         warning_days, critical_days, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (code) DO UPDATE SET enabled = excluded.enabled, severity = excluded.severity, \
         send_email = excluded.send_email, suppress_hours = excluded.suppress_hours, \
         warning_days = excluded.warning_days, critical_days = excluded.critical_days, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(setting.code.as_str())
    .bind(setting.enabled)
    .bind(setting.severity.as_str())
    .bind(setting.send_email)
    .bind(setting.suppress_hours)
    .bind(format_days(&setting.warning_days))
    .bind(format_days(&setting.critical_days))
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

/// The Alarm Notification sender, if one was saved.
pub async fn sender(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT sender FROM alarm_notification WHERE id = 1")
        .fetch_optional(db)
        .await
}

pub async fn put_sender(
    db: impl SqliteExecutor<'_>,
    sender: &str,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO alarm_notification (id, sender, updated_at, updated_by) VALUES (1, ?, ?, ?) \
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
    db: impl SqliteExecutor<'_>,
    code: AlarmCode,
    subject: &str,
) -> sqlx::Result<Option<AlarmRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE code = ? AND subject = ? AND cleared_at IS NULL"
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
    db: impl SqliteExecutor<'_>,
    alarm: &NewAlarm<'_>,
    now: i64,
    emailed: bool,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO alarms (code, subject, severity, threshold, details, occurrences, first_at, \
         last_at, last_emailed_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id",
    )
    .bind(alarm.code.as_str())
    .bind(alarm.subject)
    .bind(alarm.severity.as_str())
    .bind(alarm.threshold)
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
    db: impl SqliteExecutor<'_>,
    id: i64,
    alarm: &NewAlarm<'_>,
    now: i64,
    emailed: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE alarms SET occurrences = occurrences + 1, last_at = ?, severity = ?, \
         threshold = ?, details = ?, acknowledged_at = NULL, acknowledged_by = NULL, \
         last_emailed_at = CASE WHEN ? THEN ? ELSE last_emailed_at END WHERE id = ?",
    )
    .bind(now)
    .bind(alarm.severity.as_str())
    .bind(alarm.threshold)
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
    db: impl SqliteExecutor<'_>,
    code: AlarmCode,
    keep: &[String],
    now: i64,
) -> sqlx::Result<u64> {
    let keep = serde_json::to_string(keep).unwrap_or_else(|_| "[]".into());
    Ok(sqlx::query(
        "UPDATE alarms SET cleared_at = ?, cleared_by = 'system' WHERE code = ? \
         AND cleared_at IS NULL AND subject NOT IN (SELECT value FROM json_each(?))",
    )
    .bind(now)
    .bind(code.as_str())
    .bind(keep)
    .execute(db)
    .await?
    .rows_affected())
}

/// Open and recently cleared alarms, newest first.
pub async fn list(
    db: impl SqliteExecutor<'_>,
    include_cleared: bool,
    limit: i64,
) -> sqlx::Result<Vec<AlarmRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE (? OR cleared_at IS NULL) \
         ORDER BY cleared_at IS NOT NULL, last_at DESC, id DESC LIMIT ?"
    ))
    .bind(include_cleared)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn acknowledge(
    db: impl SqliteExecutor<'_>,
    ids: &[i64],
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    mark_open(db, "acknowledged", ids, now, by).await
}

pub async fn clear(
    db: impl SqliteExecutor<'_>,
    ids: &[i64],
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    mark_open(db, "cleared", ids, now, by).await
}

/// Sets `{mark}_at` and `{mark}_by` on the open alarms among `ids`.
async fn mark_open(
    db: impl SqliteExecutor<'_>,
    mark: &'static str,
    ids: &[i64],
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    Ok(sqlx::query(&format!(
        "UPDATE alarms SET {mark}_at = ?, {mark}_by = ? \
         WHERE id IN (SELECT value FROM json_each(?)) AND cleared_at IS NULL"
    ))
    .bind(now)
    .bind(by)
    .bind(ids)
    .execute(db)
    .await?
    .rows_affected())
}

/// Addresses of the enabled admins who opted in to alarm emails.
pub async fn recipients(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT email FROM admins WHERE enabled = 1 AND include_alarm_emails = 1 \
         AND email IS NOT NULL AND email != '' ORDER BY id",
    )
    .fetch_all(db)
    .await
}
