//! Operations > Alarms, and Administration > System > Settings > Alarm
//! Settings (the catalogue and Alarm Notification).

use super::mail_queue::{TestSend, send_and_wait};
use super::{Caller, ServiceError, audit};
use crate::domain::alarm::{
    AlarmAction, AlarmCode, AlarmSettingForm, AlarmSettingRow, AlarmSettingsPage, AlarmView,
};
use crate::domain::mail::{MailKind, TestEmailResult};
use crate::domain::{Access, EmailAddress};
use crate::server::AppState;
use crate::server::{alarms, db};

/// Alarms, open first, then the recently cleared when asked for.
pub async fn list(
    app: &AppState,
    caller: &Caller,
    include_cleared: bool,
) -> Result<Vec<AlarmView>, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::alarms::list(&app.db, include_cleared, 500).await?;
    Ok(rows.into_iter().filter_map(alarms::view).collect())
}

/// Acknowledges or clears the selected open alarms; how many changed.
pub async fn act(
    app: &AppState,
    caller: &Caller,
    ids: &[i64],
    action: AlarmAction,
) -> Result<u64, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    if ids.is_empty() || ids.len() > 500 {
        return Err(ServiceError::Conflict("Select 1 to 500 alarms.".into()));
    }
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let (changed, verb) = match action {
        AlarmAction::Acknowledge => (
            db::alarms::acknowledge(&mut *tx, ids, now, &caller.name).await?,
            "acknowledge",
        ),
        AlarmAction::Clear => (
            db::alarms::clear(&mut *tx, ids, now, &caller.name).await?,
            "clear",
        ),
    };
    audit(
        &mut tx,
        caller,
        now,
        verb,
        "Alarms",
        &format!("{changed} alarm(s)"),
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

pub async fn settings(app: &AppState, caller: &Caller) -> Result<AlarmSettingsPage, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::alarms::settings(&app.db)
        .await?
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
    let sender = db::alarms::sender(&app.db).await?.unwrap_or_default();
    let oauth_mailbox = db::smtp::oauth_mailbox(&app.db).await?;
    let recipients = db::alarms::recipients(&app.db).await?.len();
    Ok(AlarmSettingsPage {
        rows,
        sender,
        oauth_mailbox,
        recipients,
    })
}

/// Saves one catalogue row; new thresholds apply at once.
pub async fn save_setting(
    app: &AppState,
    caller: &Caller,
    code: &str,
    form: &AlarmSettingForm,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let code = AlarmCode::parse(code)
        .ok_or_else(|| ServiceError::NotFound("There is no such alarm.".into()))?;
    let setting = form.validate(code)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::alarms::put_setting(&mut *tx, &setting, now, &caller.name).await?;
    audit(
        &mut tx,
        caller,
        now,
        "update",
        "Alarm Settings",
        code.definition().name,
    )
    .await?;
    tx.commit().await?;
    alarms::check_soon(app);
    Ok(())
}

/// Alarm Notification's From address.
pub async fn save_sender(
    app: &AppState,
    caller: &Caller,
    sender: &str,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let sender = EmailAddress::parse("sender", sender)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::alarms::put_sender(&mut *tx, sender.as_str(), now, &caller.name).await?;
    audit(
        &mut tx,
        caller,
        now,
        "update",
        "Alarm Notification",
        "sender",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a test alarm email from the saved sender and waits for the reply.
pub async fn send_test_email(
    app: &AppState,
    caller: &Caller,
    to: &str,
) -> Result<TestEmailResult, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let sender = alarms::alarm_sender(app).await?.ok_or_else(|| {
        ServiceError::Unavailable("Save a From address on Alarm Notification first.".into())
    })?;
    let mail = alarms::test_alarm_email(app, sender.clone());
    send_and_wait(
        app,
        caller,
        TestSend {
            kind: MailKind::Alarm,
            to_field: "to",
            to,
            sender: Some(sender),
            subject: mail.subject,
            text: mail.text,
            html: None,
            language: None,
        },
    )
    .await
}
