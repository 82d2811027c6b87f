//! Work Centers > Guest Access > Portals & Components > Guest Types: the
//! list, and the editor with the account expiration notification.

use crate::api::ApiError;
use crate::api::guest_types::{
    GuestTypeEdit, GuestTypeSummary, SaveGuestType, delete_guest_types, get_guest_type,
    list_guest_types, send_test_expiry_notice,
};
use crate::components::menu::GUEST_TYPES;
use crate::components::{
    AddLanguage, Banner, BannerKind, ConfirmBar, Field, LeftNav, PageHeader, Switch,
    TestEmailOutcome, check_before_post, field_error, load, use_can,
};
use crate::domain::guest_type::NoticeTranslation;
use crate::domain::guest_type::{GuestType, GuestTypeForm, TimeUnit};
use crate::domain::language::{ENGLISH, SHIPPED, display_name, normalize_tag};
use crate::domain::template::Placeholder;
use crate::domain::{Access, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use std::collections::BTreeSet;

#[component]
pub fn GuestTypesPage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let query = use_query_map();
    let saved = move || query.read().get("saved");
    let delete = Action::new(|ids: &Vec<i64>| delete_guest_types(ids.clone()));
    let types = load(move || delete.version().get(), |_| list_guest_types());
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
        }
    });
    let one_selected = move || {
        let set = selected.get();
        (set.len() == 1).then(|| set.into_iter().next()).flatten()
    };
    view! {
        <Title text="Guest Types" />
        <LeftNav>
            <PageHeader title="Guest Types" subtitle="How long each kind of guest may have access, and when guests are warned that their account is about to expire." />
            {move || saved().map(|name| view! { <Banner kind=BannerKind::Success>{format!("Guest type '{name}' was saved.")}</Banner> })}
            {move || match delete.value().get() {
                Some(Ok(count)) => Some(view! { <Banner kind=BannerKind::Success>{format!("Deleted {count} guest type(s).")}</Banner> }.into_any()),
                Some(Err(error)) => Some(view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            <div class="toolbar" role="toolbar" aria-label="Guest type actions">
                {move || match (one_selected(), can_change.get()) {
                    (Some(id), true) => view! { <a href=format!("{GUEST_TYPES}/{id}") class="btn">"✎ Edit"</a> }.into_any(),
                    _ => view! { <button type="button" class="btn" disabled>"✎ Edit"</button> }.into_any(),
                }}
                {move || if can_change.get() {
                    view! { <a href=format!("{GUEST_TYPES}/new") class="btn">"+ Create"</a> }.into_any()
                } else {
                    view! { <button type="button" class="btn" disabled>"+ Create"</button> }.into_any()
                }}
                <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_empty() || delete.pending().get()
                    on:click=move |_| confirming.set(true)>"✕ Delete"</button>
                <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
            </div>
            {move || confirming.get().then(|| view! {
                <ConfirmBar label="Confirm delete" confirm="Delete"
                    question=Signal::derive(move || format!("Delete {} guest type(s)? This cannot be undone.", selected.get().len()))
                    on_confirm=move |_| {
                        confirming.set(false);
                        delete.dispatch(selected.get_untracked().into_iter().collect());
                    }
                    on_cancel=move |_| confirming.set(false) />
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match types.await {
                        Ok(rows) => view! { <GuestTypeTable rows selected /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

fn notice_summary(row: &GuestTypeSummary) -> String {
    if row.notice_enabled {
        format!(
            "{} {} before",
            row.notice_advance,
            row.notice_unit.label().to_lowercase()
        )
    } else {
        "Off".into()
    }
}

fn days(count: u32) -> String {
    if count == 1 {
        "1 day".into()
    } else {
        format!("{count} days")
    }
}

#[component]
fn GuestTypeTable(rows: Vec<GuestTypeSummary>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    let all_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let all_for_toggle = all_ids.clone();
    let all_checked =
        move || !all_ids.is_empty() && all_ids.iter().all(|id| selected.get().contains(id));
    let count = rows.len();
    view! {
        <table class="data-table" aria-label="Guest types">
            <thead>
                <tr>
                    <th class="check">
                        <input type="checkbox" aria-label="Select all guest types" prop:checked=all_checked
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.set(if on { all_for_toggle.iter().copied().collect() } else { BTreeSet::new() });
                            } />
                    </th>
                    <th>"Guest Type"</th>
                    <th>"Description"</th>
                    <th>"Maximum Access"</th>
                    <th>"Default Access"</th>
                    <th>"Expiration Notification"</th>
                    <th>"Guest Accounts"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let id = row.id;
                    let label = format!("Select {}", row.name);
                    let notice = notice_summary(&row);
                    view! {
                        <tr class:selected=move || selected.get().contains(&id)>
                            <td class="check">
                                <input type="checkbox" aria-label=label prop:checked=move || selected.get().contains(&id)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        selected.update(|set| { if on { set.insert(id); } else { set.remove(&id); } });
                                    } />
                            </td>
                            <td><a href=format!("{GUEST_TYPES}/{id}")>{row.name.clone()}</a></td>
                            <td>{row.description}</td>
                            <td>{days(row.max_days)}</td>
                            <td>{days(row.default_days)}</td>
                            <td>{notice}</td>
                            <td>{row.accounts}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot><tr><td colspan="7">{format!("{count} guest type(s)")}</td></tr></tfoot>
        </table>
    }
}

#[component]
pub fn NewGuestTypePage() -> impl IntoView {
    let mut form = GuestType::ise_defaults().remove(1).to_form();
    form.name = String::new();
    form.description = String::new();
    view! {
        <Title text="New Guest Type" />
        <LeftNav>
            <PageHeader title="New Guest Type" />
            <GuestTypeEditor id=None form />
        </LeftNav>
    }
}

#[component]
pub fn EditGuestTypePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let guest_type = load(id, |id| async move {
        match id {
            Some(id) => get_guest_type(id).await,
            None => Err(ApiError::Rejected(
                "This address does not name a guest type.".into(),
            )),
        }
    });
    view! {
        <Title text="Edit Guest Type" />
        <LeftNav>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match guest_type.await {
                        Ok(GuestTypeEdit { id, form, .. }) => view! {
                            <header class="page-header"><h1>{format!("Guest Type {}", form.name)}</h1></header>
                            <GuestTypeEditor id=Some(id) form />
                        }
                        .into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

/// The editor posting to `save_guest_type`. Every field is a signal, so the
/// browser checks with the server's rules and "Send test email" sends the
/// notification as it stands, saved or not.
#[component]
fn GuestTypeEditor(id: Option<i64>, form: GuestTypeForm) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let action = ServerAction::<SaveGuestType>::new();
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let name = RwSignal::new(form.name.clone());
    let description = RwSignal::new(form.description.clone());
    let max_days = RwSignal::new(form.max_days.clone());
    let default_days = RwSignal::new(form.default_days.clone());
    let notify_enabled = RwSignal::new(form.notify_enabled);
    let notify_advance = RwSignal::new(form.notify_advance.clone());
    let notify_unit = RwSignal::new(form.notify_unit.clone());
    let notify_subject = RwSignal::new(form.notify_subject.clone());
    let notify_text = RwSignal::new(form.notify_text.clone());
    // The notice in other languages: which (the fields re-render only
    // when one is added or removed) and their texts as typed.
    let notice_languages = RwSignal::new(
        form.notice_translations
            .iter()
            .map(|t| t.language.clone())
            .collect::<Vec<_>>(),
    );
    let notice_texts = RwSignal::new(form.notice_translations.clone());
    let new_language = RwSignal::new(String::new());
    let new_language_error = RwSignal::new(None::<String>);
    let current = move || GuestTypeForm {
        name: name.get(),
        description: description.get(),
        max_days: max_days.get(),
        default_days: default_days.get(),
        notify_enabled: notify_enabled.get(),
        notify_advance: notify_advance.get(),
        notify_unit: notify_unit.get(),
        notify_subject: notify_subject.get(),
        notify_text: notify_text.get(),
        notice_translations: notice_texts.get(),
    };
    let add_language = move || match normalize_tag("new_language", &new_language.get_untracked()) {
        Err(error) => new_language_error.set(Some(error.message)),
        Ok(tag) => {
            new_language_error.set(None);
            new_language.set(String::new());
            if tag != ENGLISH && !notice_languages.get_untracked().contains(&tag) {
                notice_texts.update(|all| all.push(NoticeTranslation::shipped(&tag)));
                notice_languages.update(|all| all.push(tag));
            }
        }
    };
    let edit_notice = move |tag: &str, subject: Option<String>, text: Option<String>| {
        notice_texts.update(|all| {
            if let Some(t) = all.iter_mut().find(|t| t.language == tag) {
                if let Some(subject) = subject {
                    t.subject = subject;
                }
                if let Some(text) = text {
                    t.text = text;
                }
            }
        })
    };
    // A message about a field goes once the admin edits the form again.
    Effect::new(move |_| {
        let _ = current();
        client_error.set(None);
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveGuestType| {
            data.form.validate()
        })
    };
    let test_to = RwSignal::new(String::new());
    let test_send = Action::new(|(form, to): &(GuestTypeForm, String)| {
        send_test_expiry_notice(form.clone(), to.clone())
    });
    let test_error = Signal::derive(move || test_send.value().get().and_then(|r| r.err()));
    let no_client_error = RwSignal::new(None::<FieldError>);
    let error_for = move |field: &'static str| {
        let from_test = field_error(no_client_error, test_error, field);
        let from_save = field_error(client_error, server_error, field);
        Signal::derive(move || from_save.get().or_else(|| from_test.get()))
    };
    let placeholders: Vec<String> = Placeholder::GUEST.iter().map(|p| p.token()).collect();
    let placeholders = placeholders.join(" ");
    let unit = form.notify_unit.clone();
    view! {
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        <ActionForm action=action attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
            {id.map(|id| view! { <input type="hidden" name="id" value=id /> })}
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Guest Type"</legend>
                <Field label="Guest type name" for_id="guest-type-name" required=true error=error_for("name")>
                    <input id="guest-type-name" name="form[name]" type="text" maxlength="64" value=form.name.clone()
                        prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                </Field>
                <Field label="Description" for_id="guest-type-description" error=error_for("description")>
                    <input id="guest-type-description" name="form[description]" type="text" maxlength="256" value=form.description.clone()
                        prop:value=description on:input=move |ev| description.set(event_target_value(&ev)) />
                </Field>
            </fieldset>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Maximum Access Time"</legend>
                <Field label="Maximum account duration (days)" for_id="guest-type-max" required=true error=error_for("max_days")
                    hint="Sponsors cannot give this guest type longer access (1 to 999 days).">
                    <input id="guest-type-max" name="form[max_days]" type="text" inputmode="numeric" class="short" value=form.max_days.clone()
                        prop:value=max_days on:input=move |ev| max_days.set(event_target_value(&ev)) />
                </Field>
                <Field label="Default duration (days)" for_id="guest-type-default" required=true error=error_for("default_days")
                    hint="The access a new account gets unless its sponsor chooses otherwise.">
                    <input id="guest-type-default" name="form[default_days]" type="text" inputmode="numeric" class="short" value=form.default_days.clone()
                        prop:value=default_days on:input=move |ev| default_days.set(event_target_value(&ev)) />
                </Field>
            </fieldset>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Account Expiration Notification"</legend>
                <Switch id="guest-type-notify" name="form[notify_enabled]" label="Send account expiration notification" checked=notify_enabled />
                <Field label="Send before account expires" for_id="guest-type-advance" required=true error=Signal::derive(move || error_for("notify_advance").get().or_else(|| error_for("notify_unit").get()))>
                    <span class="inline-controls">
                        <input id="guest-type-advance" name="form[notify_advance]" type="text" inputmode="numeric" class="short" value=form.notify_advance.clone()
                            prop:value=notify_advance on:input=move |ev| notify_advance.set(event_target_value(&ev)) />
                        <select id="guest-type-unit" name="form[notify_unit]" aria-label="Unit"
                            on:change=move |ev| notify_unit.set(event_target_value(&ev))>
                            {TimeUnit::ALL.into_iter().map(|u| view! {
                                <option value=u.as_str() selected=u.as_str() == unit>{u.label()}</option>
                            }).collect_view()}
                        </select>
                    </span>
                </Field>
                <Field label="Email subject" for_id="guest-type-subject" error=error_for("notify_subject")>
                    <input id="guest-type-subject" name="form[notify_subject]" type="text" maxlength="256" value=form.notify_subject.clone()
                        prop:value=notify_subject on:input=move |ev| notify_subject.set(event_target_value(&ev)) />
                </Field>
                <Field label="Message text" for_id="guest-type-text" error=error_for("notify_text")>
                    <textarea id="guest-type-text" name="form[notify_text]" rows="4" maxlength="2000"
                        prop:value=notify_text on:input=move |ev| notify_text.set(event_target_value(&ev))>{form.notify_text.clone()}</textarea>
                    <p class="hint">{format!("Placeholders: {placeholders}")}</p>
                </Field>
                <div class="notice-translations" role="group" aria-label="The notification in other languages">
                    <p class="hint">"Guests whose notification language is another get the notice in it (else in their portal's default language, else in English). Spanish ships with Mailroom."</p>
                    {move || notice_languages.get().into_iter().enumerate().map(|(i, tag)| {
                        let initial = notice_texts
                            .with_untracked(|all| all.iter().find(|t| t.language == tag).cloned())
                            .unwrap_or_else(|| NoticeTranslation::shipped(&tag));
                        let name = display_name(&tag);
                        let key = tag.to_lowercase();
                        let (for_subject, for_text, for_remove) = (tag.clone(), tag.clone(), tag.clone());
                        view! {
                            <div class="notice-translation" role="group" aria-label=format!("Notification in {name}")>
                                <input type="hidden" name=format!("form[notice_translations][{i}][language]") value=tag.clone() />
                                <div class="field">
                                    <label for=format!("notice-{key}-subject")>{format!("Subject in {name}")}</label>
                                    <div class="control">
                                        <input id=format!("notice-{key}-subject") name=format!("form[notice_translations][{i}][subject]") type="text" maxlength="256"
                                            value=initial.subject on:input=move |ev| edit_notice(&for_subject, Some(event_target_value(&ev)), None) />
                                    </div>
                                </div>
                                <div class="field">
                                    <label for=format!("notice-{key}-text")>{format!("Text in {name}")}</label>
                                    <div class="control">
                                        <textarea id=format!("notice-{key}-text") name=format!("form[notice_translations][{i}][text]") rows="3" maxlength="2000"
                                            on:input=move |ev| edit_notice(&for_text, None, Some(event_target_value(&ev)))>{initial.text}</textarea>
                                        {(!SHIPPED.contains(&tag.as_str())).then(|| view! {
                                            <button type="button" class="btn small" on:click=move |_| {
                                                notice_texts.update(|all| all.retain(|t| t.language != for_remove));
                                                notice_languages.update(|all| all.retain(|t| *t != for_remove));
                                            }>{format!("Remove {name}")}</button>
                                        })}
                                    </div>
                                </div>
                            </div>
                        }
                    }).collect_view()}
                    <AddLanguage id="notice-new-language" tag=new_language on_add=Callback::new(move |_| add_language())
                        error=Signal::derive(move || new_language_error.get().or_else(|| error_for("notice_translations").get())) />
                </div>
                <div class="field">
                    <label for="guest-type-test-to">"Send test email to me at"</label>
                    <div class="control">
                        <span class="inline-controls">
                            <input id="guest-type-test-to" type="email" prop:value=test_to on:input=move |ev| test_to.set(event_target_value(&ev)) />
                            <button type="button" class="btn" disabled=move || !can_change.get() || test_send.pending().get()
                                on:click=move |_| { test_send.dispatch((current(), test_to.get_untracked())); }>
                                {move || if test_send.pending().get() { "Sending…" } else { "Send test email" }}
                            </button>
                        </span>
                        {move || error_for("test_to").get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                        <p class="hint">"Sends the notification as it stands now, with sample guest values, from the Guest Email Settings' From address."</p>
                    </div>
                </div>
                {move || test_send.value().get().map(|result| view! { <TestEmailOutcome result /> })}
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
                <a href=GUEST_TYPES class="btn">"Cancel"</a>
            </div>
        </ActionForm>
    }
}
