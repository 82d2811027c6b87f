//! Administration > System > Admin Access > Administrators > Admin Users.

use crate::api::ApiError;
use crate::api::admins::{AdminSummary, SaveAdmin, get_admin, list_admins, set_admins_status};
use crate::components::menu::ADMINISTRATORS;
use crate::components::{
    Banner, BannerKind, Field, LeftNav, PageHeader, check_before_post, field_error, load, use_can,
};
use crate::domain::{Access, AdminPassword, AdminStatus, FieldError, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use std::collections::BTreeSet;

#[component]
pub fn AdministratorsPage() -> impl IntoView {
    let can_manage = use_can(Access::ManageAdmins);
    let query = use_query_map();
    let saved = move || query.read().get("saved");
    let status_action =
        Action::new(|(ids, enabled): &(Vec<i64>, bool)| set_admins_status(ids.clone(), *enabled));
    let admins = load(move || status_action.version().get(), |_| list_admins());
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    Effect::new(move |_| {
        if matches!(status_action.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
        }
    });
    let change_status = move |enabled: bool| {
        let ids: Vec<i64> = selected.get_untracked().into_iter().collect();
        status_action.dispatch((ids, enabled));
    };
    let one_selected = move || {
        let set = selected.get();
        (set.len() == 1).then(|| set.into_iter().next()).flatten()
    };
    view! {
        <Title text="Administrators" />
        <LeftNav>
            <PageHeader title="Administrators" subtitle="Admin users who sign in to this console, their admin group and whether they receive system alarm emails." />
            {move || saved().map(|name| view! { <Banner kind=BannerKind::Success>{format!("Admin user '{name}' was saved.")}</Banner> })}
            {move || match status_action.value().get() {
                Some(Ok(count)) => Some(view! { <Banner kind=BannerKind::Success>{format!("Status changed for {count} admin user(s).")}</Banner> }.into_any()),
                Some(Err(error)) => Some(view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            {move || (!can_manage.get()).then(|| view! {
                <Banner kind=BannerKind::Info>"Your admin group can view admin users but not change them."</Banner>
            })}
            <div class="toolbar" role="toolbar" aria-label="Admin user actions">
                {move || match (one_selected(), can_manage.get()) {
                    (Some(id), true) => view! { <a href=format!("{ADMINISTRATORS}/{id}") class="btn">"✎ Edit"</a> }.into_any(),
                    _ => view! { <button type="button" class="btn" disabled>"✎ Edit"</button> }.into_any(),
                }}
                {move || if can_manage.get() {
                    view! { <a href=format!("{ADMINISTRATORS}/new") class="btn">"+ Add"</a> }.into_any()
                } else {
                    view! { <button type="button" class="btn" disabled>"+ Add"</button> }.into_any()
                }}
                <button type="button" class="btn" disabled=move || !can_manage.get() || selected.get().is_empty() || status_action.pending().get()
                    on:click=move |_| change_status(true)>"Enable"</button>
                <button type="button" class="btn" disabled=move || !can_manage.get() || selected.get().is_empty() || status_action.pending().get()
                    on:click=move |_| change_status(false)>"Disable"</button>
                <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match admins.await {
                        Ok(rows) => view! { <AdminTable rows selected /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn AdminTable(rows: Vec<AdminSummary>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    let all_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let count = rows.len();
    let all_for_toggle = all_ids.clone();
    let all_checked =
        move || !all_ids.is_empty() && all_ids.iter().all(|id| selected.get().contains(id));
    view! {
        <table class="data-table" aria-label="Admin users">
            <thead>
                <tr>
                    <th class="check">
                        <input type="checkbox" aria-label="Select all admin users" prop:checked=all_checked
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.set(if on { all_for_toggle.iter().copied().collect() } else { BTreeSet::new() });
                            } />
                    </th>
                    <th>"Status"</th>
                    <th>"Name"</th>
                    <th>"Description"</th>
                    <th>"First Name"</th>
                    <th>"Last Name"</th>
                    <th>"Email Address"</th>
                    <th>"Admin Groups"</th>
                    <th>"System Alarm Emails"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let id = row.id;
                    let label = format!("Select {}", row.name);
                    view! {
                        <tr class:selected=move || selected.get().contains(&id)>
                            <td class="check">
                                <input type="checkbox" aria-label=label prop:checked=move || selected.get().contains(&id)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        selected.update(|set| { if on { set.insert(id); } else { set.remove(&id); } });
                                    } />
                            </td>
                            <td>
                                <span class=if row.status == AdminStatus::Enabled { "status enabled" } else { "status disabled" }>
                                    {row.status.label()}
                                </span>
                            </td>
                            <td>
                                <a href=format!("{ADMINISTRATORS}/{id}")>{row.name.clone()}</a>
                                {row.is_self.then(|| view! { <span class="tag">"you"</span> })}
                            </td>
                            <td>{row.description}</td>
                            <td>{row.first_name}</td>
                            <td>{row.last_name}</td>
                            <td>{row.email}</td>
                            <td>{row.role.label()}</td>
                            <td>{if row.include_alarm_emails { "Yes" } else { "No" }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot><tr><td colspan="9">{format!("{count} admin user(s)")}</td></tr></tfoot>
        </table>
    }
}

#[component]
pub fn NewAdministratorPage() -> impl IntoView {
    view! {
        <Title text="New Administrator" />
        <LeftNav>
            <PageHeader title="New Administrator" />
            <AdminEditor initial=None />
        </LeftNav>
    }
}

#[component]
pub fn EditAdministratorPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let admin = load(id, |id| async move {
        match id {
            Some(id) => get_admin(id).await,
            None => Err(ApiError::Rejected(
                "This address does not name an admin user.".into(),
            )),
        }
    });
    view! {
        <Title text="Edit Administrator" />
        <LeftNav>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match admin.await {
                        Ok(row) => view! {
                            <header class="page-header"><h1>{format!("Admin User {}", row.name)}</h1></header>
                            <AdminEditor initial=Some(row) />
                        }
                        .into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

/// The admin user form posting to `save_admin`: a new user when `initial`
/// is `None`, else the given one. The browser checks the form with the
/// server's own rules before posting, and shows each message by its field.
#[component]
fn AdminEditor(initial: Option<AdminSummary>) -> impl IntoView {
    let action = ServerAction::<SaveAdmin>::new();
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveAdmin| {
            data.form.validate(data.id.is_none())
        })
    };
    let id = initial.as_ref().map(|admin| admin.id.to_string());
    view! {
        <ActionForm action=action attr:class="settings-form" on:submit:capture=on_submit>
            {id.map(|id| view! { <input type="hidden" name="id" value=id /> })}
            <AdminFields initial client_error server_error pending=action.pending().into() />
        </ActionForm>
    }
}

/// The admin user form, shared by New and Edit. Field names follow the
/// server function's `form` argument.
#[component]
fn AdminFields(
    initial: Option<AdminSummary>,
    client_error: RwSignal<Option<FieldError>>,
    server_error: Signal<Option<ApiError>>,
    pending: Signal<bool>,
) -> impl IntoView {
    let can_manage = use_can(Access::ManageAdmins);
    let creating = initial.is_none();
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let banner = move || server_error.get().and_then(|e| e.banner());
    let value = initial.clone().unwrap_or(AdminSummary {
        id: 0,
        name: String::new(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        description: String::new(),
        role: Role::ReadOnlyAdmin,
        status: AdminStatus::Enabled,
        include_alarm_emails: false,
        is_self: false,
    });
    let role = value.role;
    let status = value.status;
    view! {
        {move || banner().map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || (!can_manage.get()).then(|| view! {
            <Banner kind=BannerKind::Info>"Your admin group can view this admin user but not change it."</Banner>
        })}
        <fieldset class="form-section" disabled=move || !can_manage.get()>
            <legend>"Admin User"</legend>
            <Field label="Name" for_id="admin-name" required=true error=error_for("name")>
                <input id="admin-name" name="form[name]" type="text" value=value.name.clone() readonly=!creating maxlength="64" />
            </Field>
            <Field label="Status" for_id="admin-status" error=error_for("status")>
                <select id="admin-status" name="form[status]">
                    <option value="enabled" selected=status == AdminStatus::Enabled>"Enabled"</option>
                    <option value="disabled" selected=status == AdminStatus::Disabled>"Disabled"</option>
                </select>
            </Field>
            <Field label="Email" for_id="admin-email" error=error_for("email")>
                <input id="admin-email" name="form[email]" type="text" inputmode="email" value=value.email.clone() maxlength="254" />
            </Field>
            <div class="field checkbox-field">
                <span></span>
                <label class="checkbox">
                    <input id="admin-alarms" name="form[include_alarm_emails]" type="checkbox" value="true" checked=value.include_alarm_emails />
                    "Include system alarms in emails"
                </label>
            </div>
        </fieldset>
        <fieldset class="form-section" disabled=move || !can_manage.get()>
            <legend>"Password"</legend>
            <Field label="Password" for_id="admin-password" required=creating error=error_for("password")
                hint=if creating { AdminPassword::RULES } else { "Leave blank to keep the current password." }>
                <input id="admin-password" name="form[password]" type="password" autocomplete="new-password" />
            </Field>
            <Field label="Re-Enter Password" for_id="admin-password-confirm" required=creating error=error_for("password_confirm")>
                <input id="admin-password-confirm" name="form[password_confirm]" type="password" autocomplete="new-password" />
            </Field>
        </fieldset>
        <fieldset class="form-section" disabled=move || !can_manage.get()>
            <legend>"User Information"</legend>
            <Field label="First Name" for_id="admin-first-name" error=error_for("first_name")>
                <input id="admin-first-name" name="form[first_name]" type="text" value=value.first_name.clone() maxlength="64" />
            </Field>
            <Field label="Last Name" for_id="admin-last-name" error=error_for("last_name")>
                <input id="admin-last-name" name="form[last_name]" type="text" value=value.last_name.clone() maxlength="64" />
            </Field>
        </fieldset>
        <fieldset class="form-section" disabled=move || !can_manage.get()>
            <legend>"Account Options"</legend>
            <Field label="Description" for_id="admin-description" error=error_for("description")>
                <input id="admin-description" name="form[description]" type="text" value=value.description.clone() maxlength="256" />
            </Field>
        </fieldset>
        <fieldset class="form-section" disabled=move || !can_manage.get()>
            <legend>"Admin Groups"</legend>
            <Field label="Admin Group" for_id="admin-role" required=true error=error_for("role")
                hint="Super Admin manages everything including admin users; System Admin changes system settings; Read Only Admin only views.">
                <select id="admin-role" name="form[role]">
                    {Role::ALL.into_iter().map(|r| view! {
                        <option value=r.as_str() selected=r == role>{r.label()}</option>
                    }).collect_view()}
                </select>
            </Field>
        </fieldset>
        <div class="form-actions">
            <button type="submit" class="btn primary" disabled=move || !can_manage.get() || pending.get()>
                {move || if pending.get() { "Saving…" } else if creating { "Submit" } else { "Save" }}
            </button>
            <a href=ADMINISTRATORS class="btn">"Cancel"</a>
        </div>
    }
}
