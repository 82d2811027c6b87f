//! Password expiry (the PAN persona's job): reminders before a password's
//! lifetime ends, then internal users disabled and admins made to choose a
//! new password at their next sign-in.

use crate::domain::mail::MailKind;
use crate::domain::password_policy::{PasswordPolicy, PolicyScope, render_reminder};
use crate::domain::template::format_utc;
use crate::server::AppState;
use crate::server::db;
use crate::server::mail::Outgoing;

const DAY: i64 = 86_400;
const JOB: &str = "PasswordExpiryJob";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReminderRun {
    pub reminders: usize,
    pub disabled_users: Vec<String>,
}

/// Whether an admin's password (set at `changed_at`) has outlived the
/// admin password policy at `now`.
pub fn admin_password_expired(policy: &PasswordPolicy, changed_at: i64, now: i64) -> bool {
    policy.expires_at(changed_at).is_some_and(|at| now >= at)
}

/// One run over both policies. Each password gets each threshold's
/// reminder once: the mark is written in the transaction that queues the
/// email. A run that comes late (the console was off) sends only the
/// nearest threshold's reminder.
pub async fn run_reminder_job(state: &AppState) -> anyhow::Result<ReminderRun> {
    let now = state.now();
    let mut run = ReminderRun::default();
    for scope in [PolicyScope::Admin, PolicyScope::User] {
        let policy = db::identities::policy(&state.db, scope).await?;
        if !policy.lifetime_enabled {
            continue;
        }
        let lifetime = i64::from(policy.lifetime_days) * DAY;
        if let Some(furthest) = policy.reminder_days.iter().max() {
            let changed_before = now - lifetime + i64::from(*furthest) * DAY;
            let holders = db::identities::holders_due(&state.db, scope, changed_before).await?;
            let sender = crate::server::alarms::alarm_sender(state).await?;
            let mut queued = Vec::new();
            let mut tx = db::begin_write(&state.db).await?;
            for holder in &holders {
                let expires_at = holder.password_changed_at + lifetime;
                let seconds_left = expires_at - now;
                if seconds_left <= 0 {
                    continue;
                }
                let days_left = (seconds_left + DAY - 1) / DAY;
                let Some(threshold) = policy
                    .reminder_days
                    .iter()
                    .filter(|d| i64::from(**d) >= days_left)
                    .min()
                else {
                    continue;
                };
                let Some(sender) = sender.clone() else {
                    continue;
                };
                if !db::identities::mark_reminder(&mut *tx, scope, holder, *threshold, now).await? {
                    continue;
                }
                let days = u32::try_from(days_left).unwrap_or(u32::MAX);
                let date = format_utc(expires_at);
                let mail = Outgoing {
                    kind: MailKind::PasswordReminder,
                    sender,
                    recipients: vec![holder.email.clone()],
                    subject: render_reminder(&policy.reminder_subject, &holder.name, days, &date)
                        .replace(['\r', '\n'], " "),
                    text: render_reminder(&policy.reminder_text, &holder.name, days, &date),
                    html: None,
                    created_by: JOB.into(),
                    language: None,
                };
                queued.extend(
                    state
                        .mailer
                        .enqueue(&mut tx, &state.vault, &mail, state.now_ms())
                        .await?,
                );
                tracing::info!(
                    target: "admin-access",
                    "{JOB}: password expiration reminder for {} '{}' ({days} days left)",
                    scope.as_str(),
                    holder.name
                );
            }
            tx.commit().await?;
            run.reminders += queued.len();
            state.mailer.submitted(&queued);
            if sender.is_none() && !holders.is_empty() {
                tracing::warn!(target: "admin-access", "{JOB}: no reminder sent: set the From address on Alarm Settings > Alarm Notification");
            }
        }
        if scope == PolicyScope::User {
            let disabled = db::identities::disable_expired_users(&state.db, now - lifetime).await?;
            for name in &disabled {
                tracing::warn!(target: "admin-access", "{JOB}: internal user '{name}' disabled: the password expired");
            }
            run.disabled_users.extend(disabled);
        }
    }
    Ok(run)
}
