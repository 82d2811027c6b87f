//! Operations > Alarms, the dashboard's Alarms dashlet, and Administration >
//! System > Settings > Alarm Settings (the catalogue and Alarm Notification).

use super::ApiError;
pub use crate::domain::alarm::{AlarmAction, AlarmSettingRow, AlarmSettingsPage};
use crate::domain::alarm::{AlarmSettingForm, AlarmView};
use crate::domain::mail::TestEmailResult;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, alarms};

/// Alarms, open first then the recently cleared when asked for.
#[server(endpoint = "list_alarms")]
pub async fn list_alarms(include_cleared: bool) -> Result<Vec<AlarmView>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    alarms::list(&state, &caller, include_cleared)
        .await
        .map_err(super::failed)
}

/// Acknowledges or clears the selected open alarms; the number changed.
#[server(endpoint = "act_on_alarms")]
pub async fn act_on_alarms(ids: Vec<i64>, action: AlarmAction) -> Result<u64, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    alarms::act(&state, &caller, &ids, action)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "get_alarm_settings")]
pub async fn get_alarm_settings() -> Result<AlarmSettingsPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    alarms::settings(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_alarm_setting")]
pub async fn save_alarm_setting(code: String, form: AlarmSettingForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    alarms::save_setting(&state, &caller, &code, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_alarm_sender")]
pub async fn save_alarm_sender(sender: String) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    alarms::save_sender(&state, &caller, &sender)
        .await
        .map_err(super::failed)
}

/// Sends a test alarm email from the saved sender and waits for the reply.
#[server(endpoint = "send_test_alarm_email")]
pub async fn send_test_alarm_email(to: String) -> Result<TestEmailResult, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    alarms::send_test_email(&state, &caller, &to)
        .await
        .map_err(super::failed)
}
