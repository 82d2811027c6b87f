//! Administration > System > Admin Access > Password Policy, Administration >
//! Identity Management > Settings > User Password Policy, and Identity
//! Management > Identities > Users.

use crate::api::identities::{
    CreateInternalUser, SavePasswordPolicy, delete_internal_users, get_password_policy,
    list_internal_users,
};
use crate::components::menu::ALARM_SETTINGS;
use crate::components::{
    Banner, BannerKind, ConfirmBar, Field, LeftNav, PageHeader, Switch, check_before_post,
    field_error, load, use_can,
};
use crate::domain::password_policy::{InternalUserView, PasswordPolicyForm, PolicyScope};
use crate::domain::{Access, AdminPassword, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;
use std::collections::BTreeSet;

#[component]
pub fn AdminPasswordPolicyPage() -> impl IntoView {
    view! {
        <Title text="Password Policy" />
        <LeftNav>
            <PageHeader title="Password Policy" subtitle="How long admin passwords last and when admins are reminded by email to change theirs." />
            <PolicyLoader scope=PolicyScope::Admin />
        </LeftNav>
    }
}

#[component]
pub fn UserPasswordPolicyPage() -> impl IntoView {
    view! {
        <Title text="User Password Policy" />
        <LeftNav>
            <PageHeader title="User Password Policy" subtitle="How long internal network users' passwords last and when the users are reminded by email." />
            <PolicyLoader scope=PolicyScope::User />
        </LeftNav>
    }
}

#[component]
fn PolicyLoader(scope: PolicyScope) -> impl IntoView {
    let policy = load(|| (), move |_| get_password_policy(scope));
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match policy.await {
                    Ok(form) => view! { <PolicyEditor scope form /> }.into_any(),
                    Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PolicyEditor(scope: PolicyScope, form: PasswordPolicyForm) -> impl IntoView {
    let can_change = use_can(match scope {
        PolicyScope::Admin => Access::ManageAdmins,
        PolicyScope::User => Access::ChangeSystemSettings,
    });
    let action = ServerAction::<SavePasswordPolicy>::new();
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SavePasswordPolicy| {
            data.form.validate(data.scope)
        })
    };
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let enabled = RwSignal::new(form.lifetime_enabled);
    let (lifetime_label, lifetime_hint, reminder_hint) = match scope {
        PolicyScope::Admin => (
            "Administrator passwords expire after (days)",
            "When it runs out, the admin must choose a new password at the next sign-in.",
            "Comma-separated, e.g. 30, 7, 1: admins with an email address get one reminder at each.",
        ),
        PolicyScope::User => (
            "Disable the user account if the password is not changed within (days)",
            "When it runs out, the user account is disabled.",
            "Comma-separated, e.g. 30, 7, 1: users with an email address get one reminder at each.",
        ),
    };
    let scope_value = match scope {
        PolicyScope::Admin => "Admin",
        PolicyScope::User => "User",
    };
    view! {
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || matches!(action.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The password policy was saved."</Banner> })}
        <ActionForm action=action attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
            <input type="hidden" name="scope" value=scope_value />
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Password Lifetime"</legend>
                <Switch id="policy-enabled" name="form[lifetime_enabled]" label="Passwords expire" checked=enabled />
                <Field label=lifetime_label for_id="policy-lifetime" required=true error=error_for("lifetime_days")
                    hint=lifetime_hint>
                    <input id="policy-lifetime" name="form[lifetime_days]" type="number" min="1" max="3650" value=form.lifetime_days.clone() />
                </Field>
                <Field label="Send an email reminder (days before expiry)" for_id="policy-reminders" error=error_for("reminder_days")
                    hint=reminder_hint>
                    <input id="policy-reminders" name="form[reminder_days]" type="text" maxlength="40" value=form.reminder_days.clone() />
                </Field>
            </fieldset>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Reminder Email"</legend>
                <Field label="Subject" for_id="policy-subject" required=true error=error_for("reminder_subject")>
                    <input id="policy-subject" name="form[reminder_subject]" type="text" maxlength="200" value=form.reminder_subject.clone() />
                </Field>
                <Field label="Text" for_id="policy-text" required=true error=error_for("reminder_text")
                    hint="Placeholders: $username$ $days$ $expiry_date$">
                    <textarea id="policy-text" name="form[reminder_text]" rows="5" maxlength="4000">{form.reminder_text.clone()}</textarea>
                </Field>
                <p class="hint">{"Reminders come from the sender set on "}<a href=format!("{ALARM_SETTINGS}?tab=notification")>"Alarm Settings > Alarm Notification"</a>"."</p>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let create = ServerAction::<CreateInternalUser>::new();
    let delete = Action::new(|ids: &Vec<i64>| delete_internal_users(ids.clone()));
    let users = load(
        move || (create.version().get(), delete.version().get()),
        |_| list_internal_users(),
    );
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let confirming = RwSignal::new(false);
    let adding = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(()))) {
            adding.set(false);
        }
    });
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
        }
    });
    view! {
        <Title text="Network Access Users" />
        <LeftNav>
            <PageHeader title="Network Access Users" subtitle="Internal users, with the date their password was set and when it expires under the User Password Policy." />
            {move || matches!(create.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The user was created."</Banner> })}
            {move || match delete.value().get() {
                Some(Ok(count)) => Some(view! { <Banner kind=BannerKind::Success>{format!("Deleted {count} user(s).")}</Banner> }.into_any()),
                Some(Err(error)) => Some(view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            <div class="toolbar" role="toolbar" aria-label="User actions">
                <button type="button" class="btn" disabled=move || !can_change.get() on:click=move |_| adding.set(true)>"+ Add"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_empty() || delete.pending().get()
                    on:click=move |_| confirming.set(true)>"✕ Delete"</button>
                <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
            </div>
            {move || confirming.get().then(|| view! {
                <ConfirmBar label="Confirm delete" confirm="Delete"
                    question=Signal::derive(move || format!("Delete {} user(s)? This cannot be undone.", selected.get().len()))
                    on_confirm=move |_| {
                        confirming.set(false);
                        delete.dispatch(selected.get_untracked().into_iter().collect());
                    }
                    on_cancel=move |_| confirming.set(false) />
            })}
            {move || adding.get().then(|| view! { <NewUserForm create adding /> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(rows) if rows.is_empty() => view! { <p class="empty">"No internal users yet."</p> }.into_any(),
                        Ok(rows) => view! { <UserTable rows selected /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn NewUserForm(create: ServerAction<CreateInternalUser>, adding: RwSignal<bool>) -> impl IntoView {
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: CreateInternalUser| {
            data.form.validate()
        })
    };
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    view! {
        <ActionForm action=create attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
            <fieldset class="form-section">
                <legend>"New Network Access User"</legend>
                {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
                <Field label="Name" for_id="user-name" required=true error=error_for("name")>
                    <input id="user-name" name="form[name]" type="text" maxlength="64" autocomplete="off" />
                </Field>
                <Field label="Email" for_id="user-email" required=true error=error_for("email")
                    hint="Password expiration reminders go here.">
                    <input id="user-email" name="form[email]" type="email" maxlength="254" />
                </Field>
                <Field label="First name" for_id="user-first" error=error_for("first_name")>
                    <input id="user-first" name="form[first_name]" type="text" maxlength="64" />
                </Field>
                <Field label="Last name" for_id="user-last" error=error_for("last_name")>
                    <input id="user-last" name="form[last_name]" type="text" maxlength="64" />
                </Field>
                <Field label="Login password" for_id="user-password" required=true error=error_for("password")
                    hint=AdminPassword::RULES>
                    <input id="user-password" name="form[password]" type="password" maxlength="127" autocomplete="new-password" />
                </Field>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Saving…" } else { "Submit" }}
                </button>
                <button type="button" class="btn" on:click=move |_| adding.set(false)>"Cancel"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn UserTable(rows: Vec<InternalUserView>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    view! {
        <table class="data-table" aria-label="Network access users">
            <thead>
                <tr>
                    <th class="check"></th>
                    <th>"Status"</th>
                    <th>"Name"</th>
                    <th>"Email"</th>
                    <th>"First Name"</th>
                    <th>"Last Name"</th>
                    <th>"Password Set"</th>
                    <th>"Password Expires"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|user| {
                    let id = user.id;
                    let label = format!("Select {}", user.name);
                    view! {
                        <tr class:selected=move || selected.get().contains(&id)>
                            <td class="check">
                                <input type="checkbox" aria-label=label prop:checked=move || selected.get().contains(&id)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                    } />
                            </td>
                            <td><span class="status" class:enabled=user.enabled class:disabled=!user.enabled>{if user.enabled { "Enabled" } else { "Disabled" }}</span></td>
                            <td>{user.name.clone()}</td>
                            <td>{user.email.clone()}</td>
                            <td>{user.first_name.clone()}</td>
                            <td>{user.last_name.clone()}</td>
                            <td>{format_time(user.password_changed_at)}</td>
                            <td>{user.password_expires_at.map(format_time).unwrap_or_else(|| "Never".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
