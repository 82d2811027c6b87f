//! Operations > Alarms, the dashboard's Alarms dashlet, and Administration >
//! System > Settings > Alarm Settings (the catalogue and Alarm Notification).

use super::ApiError;
use crate::domain::alarm::{AlarmSetting, AlarmSettingForm, AlarmView};
use crate::domain::mail::TestEmailResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Alarms, open first then the recently cleared when asked for.
#[server(endpoint = "list_alarms")]
pub async fn list_alarms(include_cleared: bool) -> Result<Vec<AlarmView>, ApiError> {
    use crate::server::{alarms, auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let rows = db::alarms::list(&state.db, include_cleared, 500)
        .await
        .map_err(auth::internal)?;
    Ok(rows.into_iter().filter_map(alarms::view).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmAction {
    Acknowledge,
    Clear,
}

/// Acknowledges or clears the selected open alarms; the number changed.
#[server(endpoint = "act_on_alarms")]
pub async fn act_on_alarms(ids: Vec<i64>, action: AlarmAction) -> Result<u64, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    if ids.is_empty() || ids.len() > 500 {
        return Err(auth::bad_request(ApiError::Rejected(
            "Select 1 to 500 alarms.".into(),
        )));
    }
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    let name = &caller.admin.name;
    let (changed, verb) = match action {
        AlarmAction::Acknowledge => (
            db::alarms::acknowledge(&mut *tx, &ids, now, name).await,
            "acknowledge",
        ),
        AlarmAction::Clear => (db::alarms::clear(&mut *tx, &ids, now, name).await, "clear"),
    };
    let changed = changed.map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        verb,
        "Alarms",
        &format!("{changed} alarm(s)"),
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(changed)
}

/// One catalogue row as Alarm Settings shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmSettingRow {
    pub setting: AlarmSetting,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmSettingsPage {
    pub rows: Vec<AlarmSettingRow>,
    /// The saved Alarm Notification sender ("" when none).
    pub sender: String,
    /// The SMTP mailbox, when the SMTP Server page signs in with OAuth.
    pub oauth_mailbox: Option<String>,
    /// How many admins receive alarm emails.
    pub recipients: usize,
}

#[server(endpoint = "get_alarm_settings")]
pub async fn get_alarm_settings() -> Result<AlarmSettingsPage, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let settings = db::alarms::settings(&state.db)
        .await
        .map_err(auth::internal)?;
    let rows = settings
        .into_iter()
        .map(|setting| {
            let definition = setting.code.definition();
            AlarmSettingRow {
                name: definition.name.into(),
                description: definition.description.into(),
                setting,
            }
        })
        .collect();
    let sender = db::alarms::sender(&state.db)
        .await
        .map_err(auth::internal)?
        .unwrap_or_default();
    let oauth_mailbox = db::smtp::get(&state.db)
        .await
        .map_err(auth::internal)?
        .filter(|smtp| smtp.use_authentication && smtp.auth_type == "oauth")
        .map(|smtp| smtp.username);
    let recipients = db::alarms::recipients(&state.db)
        .await
        .map_err(auth::internal)?
        .len();
    Ok(AlarmSettingsPage {
        rows,
        sender,
        oauth_mailbox,
        recipients,
    })
}

#[server(endpoint = "save_alarm_setting")]
pub async fn save_alarm_setting(code: String, form: AlarmSettingForm) -> Result<(), ApiError> {
    use crate::domain::alarm::AlarmCode;
    use crate::server::clock::unix;
    use crate::server::{alarms, auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let code = AlarmCode::parse(&code)
        .ok_or_else(|| auth::bad_request(ApiError::Rejected("There is no such alarm.".into())))?;
    let setting = form.validate(code).map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    db::alarms::put_setting(&mut *tx, &setting, now, &caller.admin.name)
        .await
        .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "update",
        "Alarm Settings",
        code.definition().name,
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    // New thresholds apply at once.
    alarms::check_soon(&state);
    Ok(())
}

#[server(endpoint = "save_alarm_sender")]
pub async fn save_alarm_sender(sender: String) -> Result<(), ApiError> {
    use crate::domain::EmailAddress;
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let sender = EmailAddress::parse("sender", &sender).map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    db::alarms::put_sender(&mut *tx, sender.as_str(), now, &caller.admin.name)
        .await
        .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "update",
        "Alarm Notification",
        "sender",
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(())
}

/// Sends a test alarm email from the saved sender and waits for the reply.
#[server(endpoint = "send_test_alarm_email")]
pub async fn send_test_alarm_email(to: String) -> Result<TestEmailResult, ApiError> {
    use crate::domain::mail::MailKind;
    use crate::server::{alarms, auth};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let sender = alarms::alarm_sender(&state)
        .await
        .map_err(auth::internal)?
        .ok_or_else(|| {
            auth::bad_request(ApiError::Rejected(
                "Save a From address on Alarm Notification first.".into(),
            ))
        })?;
    let mail = alarms::test_alarm_email(&state, sender.clone());
    super::mail::send_and_wait(
        &state,
        &caller.admin.name,
        super::mail::TestSend {
            kind: MailKind::Alarm,
            to_field: "to",
            to: &to,
            sender: Some(sender),
            subject: mail.subject,
            text: mail.text,
            html: None,
        },
    )
    .await
}
