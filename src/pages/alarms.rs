//! Operations > Alarms > All Alarms, the dashboard's Alarms dashlet, and
//! Administration > System > Settings > Alarm Settings with its two tabs.

use crate::api::alarms::{
    AlarmAction, AlarmSettingRow, AlarmSettingsPage, SaveAlarmSender, SaveAlarmSetting,
    act_on_alarms, get_alarm_settings, list_alarms, send_test_alarm_email,
};
use crate::components::menu::ALARM_SETTINGS;
use crate::components::{
    Banner, BannerKind, ConfirmBar, Field, LeftNav, PageHeader, Switch, TestEmailOutcome,
    field_error, load, use_can,
};
use crate::domain::alarm::{AlarmView, Severity, format_days};
use crate::domain::{Access, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeSet;

fn severity_badge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("severity {}", severity.as_str())>{severity.label()}</span> }
}

/// The alarms table with its Acknowledge and Clear buttons.
#[component]
fn AlarmList(#[prop(into)] include_cleared: Signal<bool>) -> impl IntoView {
    let can_act = use_can(Access::ChangeSystemSettings);
    let act =
        Action::new(|(ids, action): &(Vec<i64>, AlarmAction)| act_on_alarms(ids.clone(), *action));
    let alarms = load(
        move || (act.version().get(), include_cleared.get()),
        |(_, cleared)| list_alarms(cleared),
    );
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(act.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
        }
    });
    let run = move |action| {
        act.dispatch((selected.get_untracked().into_iter().collect(), action));
    };
    view! {
        {move || act.value().get().map(|result| match result {
            Ok(count) => view! { <Banner kind=BannerKind::Success>{format!("{count} alarm(s) updated.")}</Banner> }.into_any(),
            Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
        })}
        <div class="toolbar" role="toolbar" aria-label="Alarm actions">
            <button type="button" class="btn" disabled=move || !can_act.get() || selected.get().is_empty() || act.pending().get()
                on:click=move |_| run(AlarmAction::Acknowledge)>"✓ Acknowledge"</button>
            <button type="button" class="btn" disabled=move || !can_act.get() || selected.get().is_empty() || act.pending().get()
                on:click=move |_| confirming.set(true)>"✕ Clear"</button>
            <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
        </div>
        {move || confirming.get().then(|| view! {
            <ConfirmBar label="Confirm clear" confirm="Clear"
                question=Signal::derive(move || format!("Clear {} alarm(s)? A condition that persists raises its alarm again.", selected.get().len()))
                on_confirm=move |_| { confirming.set(false); run(AlarmAction::Clear); }
                on_cancel=move |_| confirming.set(false) />
        })}
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match alarms.await {
                    Ok(rows) if rows.is_empty() => view! { <p class="empty" data-testid="no-alarms">"No alarms. Everything the console watches is healthy."</p> }.into_any(),
                    Ok(rows) => view! { <AlarmTable rows selected /> }.into_any(),
                    Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AlarmTable(rows: Vec<AlarmView>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    let open_ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.cleared_at.is_none())
        .map(|r| r.id)
        .collect();
    let toggle_ids = open_ids.clone();
    let all_checked =
        move || !open_ids.is_empty() && open_ids.iter().all(|id| selected.get().contains(id));
    view! {
        <table class="data-table alarms" aria-label="Alarms">
            <thead>
                <tr>
                    <th class="check">
                        <input type="checkbox" aria-label="Select all alarms" prop:checked=all_checked
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.set(if on { toggle_ids.iter().copied().collect() } else { BTreeSet::new() });
                            } />
                    </th>
                    <th>"Severity"</th>
                    <th>"Name"</th>
                    <th>"Occurrences"</th>
                    <th>"Last Occurred"</th>
                    <th>"Status"</th>
                    <th>"Details and Suggested Action"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let id = row.id;
                    let open = row.cleared_at.is_none();
                    let status = row.status();
                    let label = format!("Select {}", row.name);
                    let title = format!("{}\n\n{}", row.details, row.action);
                    view! {
                        <tr class:selected=move || selected.get().contains(&id) class:cleared=!open class:unacknowledged=open && row.acknowledged_by.is_none()>
                            <td class="check">
                                {open.then(|| view! {
                                    <input type="checkbox" aria-label=label prop:checked=move || selected.get().contains(&id)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                        } />
                                })}
                            </td>
                            <td>{severity_badge(row.severity)}</td>
                            <td title=title>{row.name.clone()}</td>
                            <td class="number">{row.occurrences}</td>
                            <td>{format_time(row.last_at)}</td>
                            <td>{status}</td>
                            <td class="alarm-details">
                                <p>{row.details.clone()}</p>
                                <p class="hint">{format!("Suggested action: {}", row.action)}</p>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn AlarmsPage() -> impl IntoView {
    let include_cleared = RwSignal::new(false);
    view! {
        <Title text="Alarms" />
        <LeftNav>
            <PageHeader title="Alarms" subtitle="Conditions the console has seen that need an admin: expiring credentials, token and connection failures, undelivered email. Each alarm clears itself when its condition goes away." />
            <label class="inline-check">
                <input type="checkbox" prop:checked=include_cleared on:change=move |ev| include_cleared.set(event_target_checked(&ev)) />
                "Show cleared alarms"
            </label>
            <AlarmList include_cleared />
            <p class="hint">{"Thresholds, severities and alarm emails are set on "}<a href=ALARM_SETTINGS>"Alarm Settings"</a>"."</p>
        </LeftNav>
    }
}

#[component]
pub fn AlarmSettingsPage() -> impl IntoView {
    let query = use_query_map();
    let notification = move || query.read().get("tab").as_deref() == Some("notification");
    let version = RwSignal::new(0u32);
    let page = load(move || version.get(), |_| get_alarm_settings());
    view! {
        <Title text="Alarm Settings" />
        <LeftNav>
            <PageHeader title="Alarm Settings" subtitle="Which alarms the console raises, how severe they are, when they are emailed, and who receives them." />
            <nav class="sub-tabs" aria-label="Alarm settings">
                <a href=ALARM_SETTINGS class:active=move || !notification() aria-current=move || (!notification()).then_some("page")>"Alarm Configuration"</a>
                <a href=format!("{ALARM_SETTINGS}?tab=notification") class:active=notification aria-current=move || notification().then_some("page")>"Alarm Notification"</a>
            </nav>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) if notification() => view! { <AlarmNotification page /> }.into_any(),
                        Ok(page) => view! { <AlarmCatalogue rows=page.rows version /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn AlarmCatalogue(rows: Vec<AlarmSettingRow>, version: RwSignal<u32>) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let editing = RwSignal::new(None::<AlarmSettingRow>);
    let table_rows = rows.clone();
    view! {
        <table class="data-table" aria-label="Alarm catalogue">
            <thead>
                <tr>
                    <th>"Alarm Name"</th>
                    <th>"Severity"</th>
                    <th>"Enabled"</th>
                    <th>"Send Email"</th>
                    <th>"Suppress Repeats"</th>
                    <th>"Thresholds (days before expiry)"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {table_rows.into_iter().map(|row| {
                    let s = row.setting.clone();
                    let thresholds = if s.code.has_thresholds() {
                        format!("Warning: {} · Critical: {}", or_none(&s.warning_days), or_none(&s.critical_days))
                    } else {
                        "—".into()
                    };
                    let edit_row = row.clone();
                    let label = format!("Edit {}", row.name);
                    view! {
                        <tr>
                            <td title=row.description.clone()>{row.name.clone()}</td>
                            <td>{severity_badge(s.severity)}</td>
                            <td><span class="status" class:enabled=s.enabled class:disabled=!s.enabled>{if s.enabled { "Enabled" } else { "Disabled" }}</span></td>
                            <td>{if s.send_email { "Yes" } else { "No" }}</td>
                            <td>{if s.suppress_hours == 0 { "Off".to_string() } else { format!("{} h", s.suppress_hours) }}</td>
                            <td>{thresholds}</td>
                            <td><button type="button" class="btn small" aria-label=label disabled=move || !can_change.get()
                                on:click=move |_| editing.set(Some(edit_row.clone()))>"✎ Edit"</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {move || editing.get().map(|row| view! { <AlarmSettingEditor row editing version /> })}
    }
}

fn or_none(days: &[u32]) -> String {
    if days.is_empty() {
        "none".into()
    } else {
        format_days(days)
    }
}

#[component]
fn AlarmSettingEditor(
    row: AlarmSettingRow,
    editing: RwSignal<Option<AlarmSettingRow>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let action = ServerAction::<SaveAlarmSetting>::new();
    let no_client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            editing.set(None);
            version.update(|v| *v += 1);
        }
    });
    let s = row.setting.clone();
    let error_for = move |field: &'static str| field_error(no_client_error, server_error, field);
    let enabled = RwSignal::new(s.enabled);
    let send_email = RwSignal::new(s.send_email);
    let severity = s.severity;
    view! {
        <ActionForm action=action attr:class="settings-form alarm-editor" attr:novalidate=true>
            <input type="hidden" name="code" value=s.code.as_str() />
            <fieldset class="form-section">
                <legend>{format!("Edit: {}", row.name)}</legend>
                <p class="hint">{row.description.clone()}</p>
                {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
                <Switch id="alarm-enabled" name="form[enabled]" label="Enabled" checked=enabled />
                <Field label="Severity" for_id="alarm-severity" error=error_for("severity")>
                    <select id="alarm-severity" name="form[severity]">
                        {Severity::ALL.into_iter().map(|option| view! {
                            <option value=option.as_str() selected=option == severity>{option.label()}</option>
                        }).collect_view()}
                    </select>
                </Field>
                <Switch id="alarm-send-email" name="form[send_email]" label="Send email to admins who include system alarms" checked=send_email />
                <Field label="Suppress repeats for (hours)" for_id="alarm-suppress" error=error_for("suppress_hours")
                    hint="A condition that keeps occurring is emailed again only after this many hours (0: every time). A nearer expiry threshold is always emailed.">
                    <input id="alarm-suppress" name="form[suppress_hours]" type="number" min="0" max="720" value=s.suppress_hours.to_string() />
                </Field>
                {s.code.has_thresholds().then(|| view! {
                    <Field label="Warning at (days before expiry)" for_id="alarm-warning-days" error=error_for("warning_days")
                        hint="Comma-separated, e.g. 30, 15. The alarm is raised again at each threshold.">
                        <input id="alarm-warning-days" name="form[warning_days]" type="text" maxlength="40" value=format_days(&s.warning_days) />
                    </Field>
                    <Field label="Critical at (days before expiry)" for_id="alarm-critical-days" error=error_for("critical_days")>
                        <input id="alarm-critical-days" name="form[critical_days]" type="text" maxlength="40" value=format_days(&s.critical_days) />
                    </Field>
                })}
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class="btn" on:click=move |_| editing.set(None)>"Cancel"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn AlarmNotification(page: AlarmSettingsPage) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let action = ServerAction::<SaveAlarmSender>::new();
    let no_client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let sender = RwSignal::new(page.sender.clone());
    let oauth_mailbox = page.oauth_mailbox.clone();
    let warning = Signal::derive(move || {
        let sender = sender.get();
        match &oauth_mailbox {
            Some(mailbox)
                if !sender.trim().is_empty() && !sender.trim().eq_ignore_ascii_case(mailbox) =>
            {
                Some(format!(
                    "Exchange Online accepts mail only from the mailbox the SMTP Server page signs in as ({mailbox}): alarm emails from {} will be refused with 554 5.2.252 SendAsDenied.",
                    sender.trim()
                ))
            }
            _ => None,
        }
    });
    let test_to = RwSignal::new(String::new());
    let test_send = Action::new(|to: &String| send_test_alarm_email(to.clone()));
    let test_error = Signal::derive(move || test_send.value().get().and_then(|r| r.err()));
    let recipients = page.recipients;
    view! {
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || matches!(action.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The alarm notification settings were saved."</Banner> })}
        <ActionForm action=action attr:class="settings-form" attr:novalidate=true>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Alarm Notification"</legend>
                <Field label="Enter sender email address" for_id="alarm-sender" required=true error=field_error(no_client_error, server_error, "sender")
                    hint="The From address of alarm emails and password expiration reminders.">
                    <input id="alarm-sender" name="sender" type="email" maxlength="254" value=page.sender.clone()
                        prop:value=sender on:input=move |ev| sender.set(event_target_value(&ev)) />
                </Field>
                {move || warning.get().map(|text| view! { <Banner kind=BannerKind::Warning>{text}</Banner> })}
                <p class="hint" data-testid="alarm-recipients">{format!(
                    "Alarm emails go to every enabled admin user with \"Include system alarms in emails\" and an email address: {recipients} now. Set it on Administration > System > Admin Access > Administrators."
                )}</p>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
        </ActionForm>
        <section class="form-section">
            <h2 class="section-title">"Send Test Alarm Email"</h2>
            <div class="field">
                <label for="alarm-test-to">"Send test alarm email to"</label>
                <div class="control">
                    <span class="inline-controls">
                        <input id="alarm-test-to" type="email" prop:value=test_to on:input=move |ev| test_to.set(event_target_value(&ev)) />
                        <button type="button" class="btn" disabled=move || !can_change.get() || test_send.pending().get()
                            on:click=move |_| { test_send.dispatch(test_to.get_untracked()); }>
                            {move || if test_send.pending().get() { "Sending…" } else { "Send Test Email" }}
                        </button>
                    </span>
                    {move || test_error.get().and_then(|e| e.field_message("to")).map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                    <p class="hint">"Sends a sample alarm email from the saved sender through the mail queue and shows the server's reply."</p>
                </div>
            </div>
            {move || test_send.value().get().map(|result| view! { <TestEmailOutcome result /> })}
        </section>
    }
}
