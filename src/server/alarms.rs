//! Raising, repeating and clearing alarms, and emailing them to the admins
//! who opted in (the MnT persona's job). Code paths that see a condition
//! call `raise`; the periodic `run_check` looks at expiry dates and clears
//! what no longer holds.

use crate::domain::alarm::{AlarmCode, AlarmSetting, AlarmView, Severity};
use crate::domain::mail::MailKind;
use crate::domain::template::format_utc;
use crate::server::AppState;
use crate::server::db;
use crate::server::db::alarms::{AlarmRow, NewAlarm};
use crate::server::mail::Outgoing;
use std::time::Duration;

const DAY: i64 = 86_400;
const JOB: &str = "AlarmJob";

/// A condition seen now.
#[derive(Debug, Clone)]
pub struct Condition {
    pub code: AlarmCode,
    /// What it is about; one open alarm per code and subject.
    pub subject: String,
    pub details: String,
    /// For countdown alarms: the days left, which pick the threshold.
    pub days_left: Option<i64>,
}

impl Condition {
    pub fn event(code: AlarmCode, details: impl Into<String>) -> Self {
        Condition {
            code,
            subject: String::new(),
            details: details.into(),
            days_left: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// The alarm is disabled, or a countdown alarm already at this threshold.
    Unchanged,
    New,
    Again,
}

/// Raises the alarm or counts another occurrence of it, and queues its
/// email in the same transaction, so neither a restart nor two nodes at
/// once send it twice. A countdown alarm changes only when it reaches a
/// nearer threshold; an event alarm emails again only after its
/// suppression window.
pub async fn raise(state: &AppState, condition: &Condition) -> anyhow::Result<Raised> {
    let now = state.now();
    let mut tx = db::begin_write(&state.db).await?;
    let setting = db::alarms::setting_locked(&mut tx, condition.code).await?;
    if !setting.enabled {
        return Ok(Raised::Unchanged);
    }
    let (severity, threshold) = match condition.days_left {
        Some(days) => match setting.threshold_for(days) {
            Some((threshold, severity)) => (severity, Some(threshold)),
            None => return Ok(Raised::Unchanged),
        },
        None => (setting.severity, None),
    };
    let alarm = NewAlarm {
        code: condition.code,
        subject: &condition.subject,
        severity,
        threshold,
        details: &condition.details,
    };
    let open = db::alarms::open_one(&mut *tx, condition.code, &condition.subject).await?;
    let (raised, email) = match &open {
        None => (true, setting.send_email),
        Some(row) => match (threshold, row.threshold) {
            (Some(new), Some(old)) if i64::from(new) >= old => return Ok(Raised::Unchanged),
            // A nearer threshold is news: always emailed.
            (Some(_), _) => (false, setting.send_email),
            (None, _) => {
                let quiet_until = row
                    .last_emailed_at
                    .map(|at| at + i64::from(setting.suppress_hours) * 3600);
                (
                    false,
                    setting.send_email && quiet_until.is_none_or(|until| now >= until),
                )
            }
        },
    };
    let mut queued = Vec::new();
    if email {
        let recipients = db::alarms::recipients(&mut *tx).await?;
        let sender = alarm_sender(state).await?;
        match sender {
            Some(sender) if !recipients.is_empty() => {
                let occurrences = open.as_ref().map_or(1, |row| row.occurrences + 1);
                let mail = alarm_email(state, &setting, &alarm, occurrences, now, sender);
                for recipient in recipients {
                    let mail = Outgoing {
                        recipients: vec![recipient],
                        ..mail.clone()
                    };
                    queued.extend(
                        state
                            .mailer
                            .enqueue(&mut tx, &state.vault, &mail, state.now_ms())
                            .await?,
                    );
                }
            }
            Some(_) => {}
            None => tracing::warn!(
                target: "alarms",
                "no alarm email sent: set the From address on Alarm Settings > Alarm Notification"
            ),
        }
    }
    let emailed = !queued.is_empty();
    match &open {
        None => {
            db::alarms::insert(&mut *tx, &alarm, now, emailed).await?;
        }
        Some(row) => db::alarms::occurred_again(&mut *tx, row.id, &alarm, now, emailed).await?,
    }
    tx.commit().await?;
    state.mailer.submitted(&queued);
    tracing::warn!(
        target: "alarms",
        "Alarm {}: {} [{}] {}{}",
        if raised { "raised" } else { "occurred again" },
        condition.code.definition().name,
        severity.label(),
        condition.details,
        if emailed { "; emailed to the opted-in admins" } else { "" }
    );
    Ok(if raised { Raised::New } else { Raised::Again })
}

/// A message went through: the token and connection alarms clear, and
/// the dead-letter alarm too once no dead letter is left.
pub async fn delivery_works(state: &AppState) -> anyhow::Result<()> {
    clear(state, AlarmCode::TokenAcquisitionFailed).await?;
    clear(state, AlarmCode::SmtpUnreachable).await?;
    clear(state, AlarmCode::SendingQuotaExceeded).await?;
    clear(state, AlarmCode::MailboxFull).await?;
    dead_letters_changed(state).await
}

/// After a dead letter is sent again or discarded: with none left, the
/// "Email delivery failed" alarm clears.
pub async fn dead_letters_changed(state: &AppState) -> anyhow::Result<()> {
    if db::outbox::counts(&state.db).await?.dead == 0 {
        clear(state, AlarmCode::DeliveryFailed).await?;
    }
    Ok(())
}

/// Clears the open alarms of `code` (all subjects): the condition is gone.
pub async fn clear(state: &AppState, code: AlarmCode) -> anyhow::Result<u64> {
    let now = state.now();
    let cleared = db::alarms::clear_except(&state.db, code, &[], now).await?;
    if cleared > 0 {
        tracing::info!(target: "alarms", "Alarm cleared: {} (the condition is gone)", code.definition().name);
    }
    Ok(cleared)
}

/// The From address of alarm emails and password reminders: the one saved
/// on Alarm Notification, else the SMTP mailbox.
pub async fn alarm_sender(state: &AppState) -> anyhow::Result<Option<String>> {
    if let Some(sender) = db::alarms::sender(&state.db).await?
        && !sender.is_empty()
    {
        return Ok(Some(sender));
    }
    Ok(db::smtp::get(&state.db)
        .await?
        .map(|smtp| smtp.username)
        .filter(|name| name.contains('@')))
}

fn alarm_email(
    state: &AppState,
    setting: &AlarmSetting,
    alarm: &NewAlarm<'_>,
    occurrences: i64,
    now: i64,
    sender: String,
) -> Outgoing {
    let definition = alarm.code.definition();
    let text = format!(
        "Alarm Name:\n{}\n\nSeverity:\n{}\n\nDetails:\n{}\n\nDescription:\n{}\n\nSuggested Actions:\n{}\n\nOccurrences:\n{}\n\nServer:\n{}\n\nTime Stamp:\n{}\n\nAlarm settings: {}\n",
        definition.name,
        alarm.severity.label(),
        alarm.details,
        definition.description,
        definition.action,
        occurrences,
        state.config.node_name,
        format_utc(now),
        if setting.suppress_hours > 0 {
            format!(
                "repeats are emailed at most every {} hours",
                setting.suppress_hours
            )
        } else {
            "every occurrence is emailed".into()
        }
    );
    Outgoing {
        kind: MailKind::Alarm,
        sender,
        recipients: Vec::new(),
        subject: format!(
            "Mailroom Alarm : {} : {}",
            alarm.severity.label(),
            definition.name
        ),
        text,
        html: None,
        created_by: JOB.into(),
        language: None,
    }
}

/// A test alarm email, as Alarm Notification's test send delivers it.
pub fn test_alarm_email(state: &AppState, sender: String) -> Outgoing {
    let setting = AlarmSetting::default_for(AlarmCode::SecretExpiring);
    let now = state.now();
    let alarm = NewAlarm {
        code: AlarmCode::SecretExpiring,
        subject: "",
        severity: Severity::Info,
        threshold: None,
        details: "This is a test alarm email from Alarm Settings > Alarm Notification.",
    };
    Outgoing {
        subject: "Mailroom Alarm : Info : Test alarm email".into(),
        ..alarm_email(state, &setting, &alarm, 1, now, sender)
    }
}

/// `YYYY-MM-DD` as the Unix time of its midnight (UTC): a secret is
/// treated as gone from the start of its expiry date.
pub fn date_start(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// Whole days until `at`, rounded up (0 or less once it has passed).
fn days_until(at: i64, now: i64) -> i64 {
    (at - now).div_euclid(DAY) + i64::from((at - now).rem_euclid(DAY) != 0)
}

/// What the periodic check found, for tests and the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub raised: usize,
    pub cleared: u64,
}

/// Looks at every expiry date the console knows (the client secret, the
/// certificate credential, the trusted certificates), raises what is due
/// and clears alarms whose condition is gone (a renewed secret).
pub async fn run_check(state: &AppState) -> anyhow::Result<CheckRun> {
    let now = state.now();
    let mut conditions: Vec<Condition> = Vec::new();
    let mut expiry = |code_soon, code_gone, subject: String, what: &str, at: i64| {
        let days_left = days_until(at, now);
        if days_left <= 0 {
            conditions.push(Condition {
                code: code_gone,
                subject,
                details: format!("{what} expired on {}.", format_utc(at)),
                days_left: None,
            });
        } else {
            conditions.push(Condition {
                code: code_soon,
                subject,
                details: format!(
                    "{what} expires on {} ({days_left} days left).",
                    format_utc(at)
                ),
                days_left: Some(days_left),
            });
        }
    };
    if let Some(smtp) = db::smtp::get(&state.db).await? {
        let oauth = smtp.use_authentication && smtp.auth_type == "oauth";
        if oauth && smtp.credential == "certificate" {
            let next_until = match smtp.next_certificate_id {
                Some(id) => db::oauth_certificates::get(&state.db, id)
                    .await?
                    .map(|next| next.not_after),
                None => None,
            };
            if let Some(id) = smtp.certificate_id
                && let Some(cert) = db::oauth_certificates::get(&state.db, id).await?
            {
                // A staged next certificate that outlives the current one
                // takes over by itself, as a next secret does.
                if next_until.is_some_and(|next| next > cert.not_after) && cert.not_after > now {
                    tracing::debug!(target: "alarms", "the certificate credential expires {}, a later next certificate is staged", cert.not_after);
                } else {
                    expiry(
                        AlarmCode::CertificateCredentialExpiring,
                        AlarmCode::CertificateCredentialExpired,
                        format!("certificate:{}", cert.sha256),
                        &format!("The certificate credential {}", cert.subject),
                        cert.not_after,
                    );
                }
            }
        } else if oauth && let Some(at) = date_start(&smtp.secret_expiry) {
            // A staged next secret that outlives the current one takes
            // over by itself: no need to warn before the current expires.
            let covered = date_start(&smtp.next_secret_expiry).is_some_and(|next| next > at);
            if covered && at > now {
                tracing::debug!(target: "alarms", "the client secret expires {}, a later next secret is staged", smtp.secret_expiry);
            } else {
                expiry(
                    AlarmCode::SecretExpiring,
                    AlarmCode::SecretExpired,
                    format!("secret:{}", smtp.secret_expiry.trim()),
                    &format!("The client secret of app {}", smtp.client_id),
                    at,
                );
            }
        }
    }
    for cert in db::certificates::list(&state.db).await? {
        let days_left = days_until(cert.not_after, now);
        conditions.push(Condition {
            code: AlarmCode::TrustedCertificateExpiring,
            subject: format!("trusted:{}", cert.sha256),
            details: if days_left <= 0 {
                format!(
                    "The trusted certificate '{}' expired on {}.",
                    cert.friendly_name,
                    format_utc(cert.not_after)
                )
            } else {
                format!(
                    "The trusted certificate '{}' expires on {} ({days_left} days left).",
                    cert.friendly_name,
                    format_utc(cert.not_after)
                )
            },
            days_left: Some(days_left),
        });
    }
    // Only certificates a node serves can break a browser's connection.
    for cert in db::system_certificates::list(&state.db).await? {
        if !(cert.used_by_admin || cert.used_by_portal) {
            continue;
        }
        let days_left = days_until(cert.valid_to, now);
        let what = format!(
            "The system certificate '{}' of node {} (used by {})",
            cert.friendly_name,
            cert.node,
            crate::domain::system_certificate::used_by_label(
                cert.used_by_admin,
                cert.used_by_portal
            )
        );
        conditions.push(Condition {
            code: AlarmCode::SystemCertificateExpiring,
            subject: format!("system:{}:{}", cert.node, cert.id),
            details: if days_left <= 0 {
                format!("{what} expired on {}.", format_utc(cert.valid_to))
            } else {
                format!(
                    "{what} expires on {} ({days_left} days left).",
                    format_utc(cert.valid_to)
                )
            },
            days_left: Some(days_left),
        });
    }
    let mut run = CheckRun::default();
    let settings = db::alarms::settings(&state.db).await?;
    for code in [
        AlarmCode::SecretExpiring,
        AlarmCode::SecretExpired,
        AlarmCode::CertificateCredentialExpiring,
        AlarmCode::CertificateCredentialExpired,
        AlarmCode::TrustedCertificateExpiring,
        AlarmCode::SystemCertificateExpiring,
    ] {
        let setting = settings.iter().find(|s| s.code == code);
        // Only conditions past a threshold are alarms; the rest clear.
        let current: Vec<&Condition> = conditions
            .iter()
            .filter(|c| c.code == code)
            .filter(|c| match (c.days_left, setting) {
                (Some(days), Some(setting)) => setting.threshold_for(days).is_some(),
                _ => true,
            })
            .collect();
        let keep: Vec<String> = current.iter().map(|c| c.subject.clone()).collect();
        run.cleared += db::alarms::clear_except(&state.db, code, &keep, now).await?;
        for condition in current {
            if raise(state, condition).await? != Raised::Unchanged {
                run.raised += 1;
            }
        }
    }
    if run.cleared > 0 {
        tracing::info!(target: "alarms", "{} alarm(s) cleared: their condition is gone", run.cleared);
    }
    Ok(run)
}

/// Runs the check now, off the caller's path (after settings change).
pub fn check_soon(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = run_check(&state).await {
            tracing::error!(target: "alarms", "alarm check failed: {error:#}");
        }
    });
}

/// Runs the expiry check and the password job every
/// `MAILROOM_ALARM_JOB_INTERVAL_SECS` seconds (default one hour: each is
/// idempotent, so running more often than daily only makes it timelier).
pub fn spawn_scheduler(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = std::env::var("MAILROOM_ALARM_JOB_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|secs| *secs > 0)
        .unwrap_or(3600);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(every));
        loop {
            ticks.tick().await;
            // One node of a deployment runs the jobs (the PRIMARY).
            if !crate::server::deployment::runs_jobs(&state).await {
                continue;
            }
            if let Err(error) = run_check(&state).await {
                tracing::error!(target: "alarms", "alarm check failed: {error:#}");
            }
            if let Err(error) = crate::server::passwords::run_reminder_job(&state).await {
                tracing::error!(target: "admin-access", "PasswordExpiryJob failed: {error:#}");
            }
        }
    })
}

pub fn view(row: AlarmRow) -> Option<AlarmView> {
    let code = AlarmCode::parse(&row.code)?;
    let definition = code.definition();
    Some(AlarmView {
        id: row.id,
        code,
        name: definition.name.to_string(),
        severity: Severity::parse(&row.severity).unwrap_or(definition.severity),
        details: row.details,
        action: definition.action.to_string(),
        occurrences: row.occurrences,
        first_at: row.first_at,
        last_at: row.last_at,
        acknowledged_by: row.acknowledged_by,
        cleared_at: row.cleared_at,
        cleared_by: row.cleared_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_up_to_the_expiry() {
        assert_eq!(days_until(10 * DAY, 0), 10);
        assert_eq!(days_until(10 * DAY, 1), 10);
        assert_eq!(days_until(10 * DAY, 10 * DAY), 0);
        assert_eq!(days_until(10 * DAY, 11 * DAY), -1);
        assert_eq!(date_start("1970-01-02"), Some(DAY));
        assert_eq!(date_start("2027-02-30"), None);
        assert_eq!(date_start("soon"), None);
    }
}
