//! Work Centers > Guest Access > Portals & Components > Guest Portals: the
//! list, and a portal's editor with its two ISE tabs: Portal Behavior and
//! Flow Settings, and Portal Page Customization > Notifications > Email
//! (template, live preview, Send Test Email).

use crate::api::ApiError;
use crate::api::portals::{
    PortalPage, PortalSummary, SaveGuestPortal, get_guest_portal, list_guest_portals, public_path,
    send_portal_test_email,
};
use crate::components::menu::GUEST_PORTALS;
use crate::components::{
    AddLanguage, Banner, BannerKind, Field, LeftNav, PageHeader, Switch, TestEmailOutcome,
    check_before_post, field_error, load, use_can,
};
use crate::domain::language::{ENGLISH, SHIPPED, display_name, normalize_tag};
use crate::domain::portal::{
    APPROVAL_EMAIL_FIELDS, DENIAL_EMAIL_FIELDS, EmailTemplate, PortalTranslation,
};
use crate::domain::template::{Placeholder, SampleValues, unknown_message};
use crate::domain::{Access, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn GuestPortalsPage() -> impl IntoView {
    let portals = load(|| (), |_| list_guest_portals());
    view! {
        <Title text="Guest Portals" />
        <LeftNav>
            <PageHeader title="Guest Portals" subtitle="The portals guests use to get access: who may register, the guest type they get, and the email that brings their credentials." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match portals.await {
                        Ok(rows) => view! { <PortalTable rows /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn PortalTable(rows: Vec<PortalSummary>) -> impl IntoView {
    view! {
        <table class="data-table" aria-label="Guest portals">
            <thead>
                <tr>
                    <th>"Portal Name"</th>
                    <th>"Description"</th>
                    <th>"Guest Type"</th>
                    <th>"Credentials by Email"</th>
                    <th>"Portal Test URL"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let url = public_path(row.id);
                    view! {
                        <tr>
                            <td><a href=format!("{GUEST_PORTALS}/{}", row.id)>{row.name}</a></td>
                            <td>{row.description}</td>
                            <td>{row.guest_type}</td>
                            <td>{if row.email_credentials { "Yes" } else { "No" }}</td>
                            <td><a href=url.clone() target="_blank" rel="noopener">{url.clone()}</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn EditGuestPortalPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let portal = load(id, |id| async move {
        match id {
            Some(id) => get_guest_portal(id).await,
            None => Err(ApiError::Rejected(
                "This address does not name a guest portal.".into(),
            )),
        }
    });
    view! {
        <Title text="Guest Portal" />
        <LeftNav>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match portal.await {
                        Ok(page) => view! { <PortalEditor page /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

/// The whole portal is one form: the hidden tab's fields still post.
#[component]
fn PortalEditor(page: PortalPage) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let query = use_query_map();
    let customizing = move || query.read().get("tab").as_deref() == Some("customization");
    let action = ServerAction::<SaveGuestPortal>::new();
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let form = page.form.clone();
    let require_aup = RwSignal::new(form.require_aup);
    let email_credentials = RwSignal::new(form.email_credentials);
    let show_credentials = RwSignal::new(form.show_credentials);
    let subject = RwSignal::new(form.email.subject.clone());
    let text = RwSignal::new(form.email.text.clone());
    let html = RwSignal::new(form.email.html.clone());
    let require_approval = RwSignal::new(form.require_approval);
    let approval_sign_in = RwSignal::new(form.approval_sign_in);
    let approver = RwSignal::new(form.approver.clone());
    let approval_subject = RwSignal::new(form.approval_email.subject.clone());
    let approval_text = RwSignal::new(form.approval_email.text.clone());
    let approval_html = RwSignal::new(form.approval_email.html.clone());
    let denial_subject = RwSignal::new(form.denial_email.subject.clone());
    let denial_text = RwSignal::new(form.denial_email.text.clone());
    let denial_html = RwSignal::new(form.denial_email.html.clone());
    let template = move || EmailTemplate {
        subject: subject.get(),
        text: text.get(),
        html: html.get(),
    };
    // Every language's texts, English (the portal's own fields) first. The
    // editors show the language being edited; the others wait here.
    let texts = RwSignal::new(
        std::iter::once(PortalTranslation {
            language: ENGLISH.into(),
            email: form.email.clone(),
            approval_email: form.approval_email.clone(),
            denial_email: form.denial_email.clone(),
        })
        .chain(form.translations.iter().cloned())
        .collect::<Vec<_>>(),
    );
    let editing = RwSignal::new(ENGLISH.to_string());
    let editors = [
        (subject, text, html),
        (approval_subject, approval_text, approval_html),
        (denial_subject, denial_text, denial_html),
    ];
    let in_editors = move || PortalTranslation {
        language: editing.get(),
        email: read_editor(editors[0]),
        approval_email: read_editor(editors[1]),
        denial_email: read_editor(editors[2]),
    };
    // What each language posts: the editors' for the one shown.
    let posted = move || -> Vec<PortalTranslation> {
        let shown = in_editors();
        texts
            .get()
            .into_iter()
            .map(|t| {
                if t.language == shown.language {
                    shown.clone()
                } else {
                    t
                }
            })
            .collect()
    };
    let switch_to = move |language: String| {
        let shown = in_editors();
        texts.update(|all| {
            if let Some(slot) = all.iter_mut().find(|t| t.language == shown.language) {
                *slot = shown;
            }
        });
        let next = texts.with_untracked(|all| all.iter().find(|t| t.language == language).cloned());
        if let Some(next) = next {
            for (editor, template) in
                editors
                    .into_iter()
                    .zip([next.email, next.approval_email, next.denial_email])
            {
                editor.0.set(template.subject);
                editor.1.set(template.text);
                editor.2.set(template.html);
            }
            editing.set(language);
        }
    };
    let editing_signal = Signal::derive(move || editing.get());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveGuestPortal| {
            data.form.validate()
        })
    };
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let base = format!("{GUEST_PORTALS}/{}", page.id);
    let behavior_href = base.clone();
    let customization_href = format!("{base}?tab=customization");
    let guest_type_id = form.guest_type_id.clone();
    view! {
        <header class="page-header">
            <h1>{format!("Guest Portal {}", form.name)}</h1>
            <p class="subtitle">
                "Guests register at "
                <a href=public_path(page.id) target="_blank" rel="noopener">{public_path(page.id)}</a>
            </p>
        </header>
        <nav class="sub-tabs" aria-label="Portal settings">
            <a href=behavior_href class:active=move || !customizing() aria-current=move || (!customizing()).then_some("page")>"Portal Behavior and Flow Settings"</a>
            <a href=customization_href class:active=customizing aria-current=move || customizing().then_some("page")>"Portal Page Customization"</a>
        </nav>
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || matches!(action.value().get(), Some(Ok(_))).then(|| view! { <Banner kind=BannerKind::Success>"The guest portal was saved."</Banner> })}
        <ActionForm action=action attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
            <input type="hidden" name="id" value=page.id />
            <div hidden=customizing>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <legend>"Portal Settings"</legend>
                    <Field label="Portal name" for_id="portal-name" required=true error=error_for("name")>
                        <input id="portal-name" name="form[name]" type="text" maxlength="256" value=form.name.clone() />
                    </Field>
                    <Field label="Description" for_id="portal-description" error=error_for("description")>
                        <input id="portal-description" name="form[description]" type="text" maxlength="256" value=form.description.clone() />
                    </Field>
                    <Field label="Employees using this portal as guests inherit login options from" for_id="portal-guest-type" required=true error=error_for("guest_type_id")
                        hint="The guest type of self-registered accounts: their access lasts its default duration.">
                        <select id="portal-guest-type" name="form[guest_type_id]">
                            {page.guest_types.iter().map(|(id, name)| {
                                let value = id.to_string();
                                let selected = value == guest_type_id;
                                view! { <option value=value selected=selected>{name.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </Field>
                </fieldset>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <legend>"Self-Registration Page Settings"</legend>
                    <Field label="Registrations per hour from one address" for_id="portal-rate" required=true error=error_for("max_per_hour")
                        hint="More from the same network address within an hour are refused.">
                        <input id="portal-rate" name="form[max_per_hour]" type="text" inputmode="numeric" class="short" value=form.max_per_hour.clone() />
                    </Field>
                    <Field label="Only allow guests with an email address from" for_id="portal-allowed" error=error_for("allowed_domains")
                        hint="One domain per line; subdomains are included. Empty allows every domain.">
                        <textarea id="portal-allowed" name="form[allowed_domains]" rows="3">{form.allowed_domains.clone()}</textarea>
                    </Field>
                    <Field label="Do not allow guests with an email address from" for_id="portal-blocked" error=error_for("blocked_domains")>
                        <textarea id="portal-blocked" name="form[blocked_domains]" rows="3">{form.blocked_domains.clone()}</textarea>
                    </Field>
                    <Switch id="portal-require-aup" name="form[require_aup]" label="Include an AUP: guests must accept it to register" checked=require_aup />
                    <Field label="Acceptable Use Policy" for_id="portal-aup" error=error_for("aup_text")>
                        <textarea id="portal-aup" name="form[aup_text]" rows="4">{form.aup_text.clone()}</textarea>
                    </Field>
                </fieldset>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <legend>"Self-Registration Success Page Settings"</legend>
                    <Switch id="portal-email-credentials" name="form[email_credentials]" label="Send credential notification automatically using email" checked=email_credentials />
                    <Switch id="portal-show-credentials" name="form[show_credentials]" label="Include username and password on the Self-Registration Success page" checked=show_credentials />
                </fieldset>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <legend>"Registration Form Settings"</legend>
                    <Switch id="portal-require-approval" name="form[require_approval]" label="Require self-registered guests to be approved" checked=require_approval />
                    <Field label="Email approval request to" for_id="portal-approver" error=error_for("approver")
                        hint="The guest's account waits in Pending Approval; the approver gets an email with Approve and Deny links, and the guest gets its credentials once approved.">
                        <select id="portal-approver" name="form[approver]" on:change=move |ev| approver.set(event_target_value(&ev))>
                            <option value="person_visited" selected=form.approver != "listed">"the person being visited (a sponsor's email address)"</option>
                            <option value="listed" selected=form.approver == "listed">"specific sponsor email addresses"</option>
                        </select>
                    </Field>
                    <Field label="Sponsor email addresses" for_id="portal-approver-emails" error=error_for("approver_emails")
                        hint="One per line; each receives the approval request when specific addresses are chosen.">
                        <textarea id="portal-approver-emails" name="form[approver_emails]" rows="3"
                            class:muted=move || approver.get() != "listed">{form.approver_emails.clone()}</textarea>
                    </Field>
                    <Field label="Approve/Deny links are valid for (minutes)" for_id="portal-approval-minutes" error=error_for("approval_link_minutes")>
                        <input id="portal-approval-minutes" name="form[approval_link_minutes]" type="text" inputmode="numeric" class="short" value=form.approval_link_minutes.clone() />
                    </Field>
                    <Switch id="portal-approval-sign-in" name="form[approval_sign_in]" label="Require sponsor to provide credentials for authentication" checked=approval_sign_in />
                    <p class="hint">"The Approve and Deny links then open the sponsor portal's sign-in, and the sponsor decides under its own name and group permission."</p>
                    <Field label="Deny requests not handled within (hours)" for_id="portal-deny-after" error=error_for("approval_deny_after_hours")
                        hint="A request that nobody approves or denies in this time ends Denied, and the guest is told.">
                        <input id="portal-deny-after" name="form[approval_deny_after_hours]" type="text" inputmode="numeric" class="short" value=form.approval_deny_after_hours.clone() />
                    </Field>
                </fieldset>
            </div>
            <div hidden=move || !customizing()>
                <LanguagePanel texts editing switch_to=Callback::new(switch_to) error_for can_change
                    default_language=form.default_language.clone() time_zone=form.time_zone.clone()
                    node_time_zone=page.node_time_zone.clone() />
                {move || posted_fields(posted())}
                <EmailCustomization subject text html error_for can_change language=editing_signal key="email" legend="Notifications > Email" name="Email"
                    fields=["email_subject", "email_text", "email_html"]
                    labels=["Email subject", "Email body (text)", "Email body (HTML)"]
                    placeholders=&Placeholder::GUEST />
                <EmailCustomization subject=approval_subject text=approval_text html=approval_html error_for can_change language=editing_signal
                    key="approval_email" legend="Notifications > Approval Request Email" name="Approval request"
                    fields=APPROVAL_EMAIL_FIELDS
                    labels=["Approval request subject", "Approval request body (text)", "Approval request body (HTML)"]
                    placeholders=&Placeholder::ALL />
                <EmailCustomization subject=denial_subject text=denial_text html=denial_html error_for can_change language=editing_signal
                    key="denial_email" legend="Notifications > Denial Email" name="Denial notice"
                    fields=DENIAL_EMAIL_FIELDS
                    labels=["Denial subject", "Denial body (text)", "Denial body (HTML)"]
                    placeholders=&Placeholder::GUEST />
            </div>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
                <a href=GUEST_PORTALS class="btn">"Close"</a>
            </div>
        </ActionForm>
        <div hidden=move || !customizing()>
            <TestEmailPanel template=Signal::derive(template) language=editing_signal can_change />
        </div>
    }
}

/// Notifications > Email: the template fields beside a preview rendered
/// with sample values as the admin types.
#[component]
fn EmailCustomization(
    subject: RwSignal<String>,
    text: RwSignal<String>,
    html: RwSignal<String>,
    error_for: impl Fn(&'static str) -> Signal<Option<String>> + Copy + Send + Sync + 'static,
    can_change: Signal<bool>,
    /// The language shown: its sample dates in the preview; the server's
    /// field errors are the English texts'.
    language: Signal<String>,
    /// Which of the portal's emails: `email` (the credentials),
    /// `approval_email` or `denial_email`; names the form's fields.
    key: &'static str,
    legend: &'static str,
    /// What the preview pane is named after: `Email`, `Approval request`…
    name: &'static str,
    /// The form's fields (subject, text, HTML), for their errors.
    fields: [&'static str; 3],
    /// The three fields' labels.
    labels: [&'static str; 3],
    placeholders: &'static [Placeholder],
) -> impl IntoView {
    let template = move || EmailTemplate {
        subject: subject.get(),
        text: text.get(),
        html: html.get(),
    };
    let rendered =
        Memo::new(move |_| template().render(&SampleValues::in_language(&language.get())));
    // Unknown placeholders are flagged as they are typed, per field.
    let flagged = move |field: &'static str| {
        Signal::derive(move || {
            let server = (language.get() == ENGLISH)
                .then(|| error_for(field).get())
                .flatten();
            server.or_else(|| {
                template()
                    .unknown_placeholders_as(fields)
                    .into_iter()
                    .find(|(f, _)| *f == field)
                    .map(|(_, unknown)| unknown_message(&unknown))
            })
        })
    };
    let placeholders = placeholders
        .iter()
        .map(|p| view! { <li><code>{p.token()}</code>" "{p.label()}</li> })
        .collect_view();
    let id = move |part: &str| format!("portal-{}-{part}", key.replace('_', "-"));
    // The credentials email keeps the short test ids the suite knows.
    let testid = move |part: &str| {
        if key == "email" {
            format!("preview-{part}")
        } else {
            format!("{key}-preview-{part}")
        }
    };
    let initial = (
        subject.get_untracked(),
        text.get_untracked(),
        html.get_untracked(),
    );
    view! {
        <div class="template-editor">
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>{legend}</legend>
                <Field label=labels[0] for_id=id("subject") required=true error=flagged(fields[0])>
                    <input id=id("subject") type="text" maxlength="256" value=initial.0
                        prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev)) />
                </Field>
                <Field label=labels[1] for_id=id("text") required=true error=flagged(fields[1])>
                    <textarea id=id("text") rows="9"
                        prop:value=text on:input=move |ev| text.set(event_target_value(&ev))>{initial.1}</textarea>
                </Field>
                <Field label=labels[2] for_id=id("html") error=flagged(fields[2])
                    hint="Your HTML is sent as written; every value put in place of a placeholder is HTML-escaped.">
                    <textarea id=id("html") rows="9" class="code"
                        prop:value=html on:input=move |ev| html.set(event_target_value(&ev))>{initial.2}</textarea>
                </Field>
                <details class="placeholders">
                    <summary>"Placeholders"</summary>
                    <ul>{placeholders}</ul>
                </details>
            </fieldset>
            <section class="preview-pane" aria-label=format!("{name} preview")>
                <h2>"Preview"</h2>
                <p class="preview-note">{move || format!("With sample guest values, in {}.", display_name(&language.get()))}</p>
                <dl class="preview-headers">
                    <dt>"Subject"</dt>
                    <dd data-testid=testid("subject")>{move || rendered.get().subject}</dd>
                </dl>
                // One frame whose document follows the template. Without
                // allow-scripts nothing in it runs: the admin's HTML is shown.
                <iframe class="preview-html" title=if key == "email" { "HTML preview".to_string() } else { format!("{name} HTML preview") } sandbox="allow-same-origin"
                    hidden=move || rendered.get().html.is_none()
                    srcdoc=move || rendered.get().html.unwrap_or_default()></iframe>
                <pre class="preview-text" data-testid=testid("text")>{move || rendered.get().text}</pre>
            </section>
        </div>
    }
}

/// Settings > Send Test Email.
#[component]
fn TestEmailPanel(
    template: Signal<EmailTemplate>,
    language: Signal<String>,
    can_change: Signal<bool>,
) -> impl IntoView {
    let to = RwSignal::new(String::new());
    let send = Action::new(|(email, to, language): &(EmailTemplate, String, String)| {
        send_portal_test_email(email.clone(), to.clone(), Some(language.clone()))
    });
    let to_error = move || {
        send.value().get().and_then(|r| r.err()).and_then(|e| {
            e.field_message("test_to").or_else(|| {
                ["email_subject", "email_text", "email_html"]
                    .iter()
                    .find_map(|f| e.field_message(f))
            })
        })
    };
    view! {
        <section class="panel test-email" aria-label="Send Test Email">
            <h2>"Settings > Send Test Email"</h2>
            <form class="inline-form" on:submit=move |ev| {
                ev.prevent_default();
                send.dispatch((template.get_untracked(), to.get_untracked(), language.get_untracked()));
            }>
                <Field label="Send test email to" for_id="portal-test-to" error=Signal::derive(to_error)
                    hint="The credentials email as it stands now, in the language being edited, with sample values, from the Guest Email Settings' From address, through the mail queue.">
                    <input id="portal-test-to" type="email" prop:value=to on:input=move |ev| to.set(event_target_value(&ev)) />
                </Field>
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || send.pending().get()>
                    {move || if send.pending().get() { "Sending…" } else { "Send" }}
                </button>
            </form>
            {move || send.value().get().map(|result| view! { <TestEmailOutcome result /> })}
        </section>
    }
}

fn read_editor(
    (subject, text, html): (RwSignal<String>, RwSignal<String>, RwSignal<String>),
) -> EmailTemplate {
    EmailTemplate {
        subject: subject.get(),
        text: text.get(),
        html: html.get(),
    }
}

/// The form's fields for every language's texts: English's are the
/// portal's own fields, the others `translations[i]`.
fn posted_fields(all: Vec<PortalTranslation>) -> impl IntoView {
    let mut others = 0;
    all.into_iter()
        .map(|t| {
            let base = if t.language == ENGLISH {
                "form".to_string()
            } else {
                let base = format!("form[translations][{others}]");
                others += 1;
                base
            };
            let language = (t.language != ENGLISH).then(|| {
                view! { <input type="hidden" name=format!("{base}[language]") value=t.language.clone() /> }
            });
            let parts = [
                ("email", t.email),
                ("approval_email", t.approval_email),
                ("denial_email", t.denial_email),
            ]
            .into_iter()
            .map(|(key, template)| {
                view! {
                    <input type="hidden" name=format!("{base}[{key}][subject]") value=template.subject />
                    <input type="hidden" name=format!("{base}[{key}][text]") value=template.text />
                    <input type="hidden" name=format!("{base}[{key}][html]") value=template.html />
                }
            })
            .collect_view();
            view! { {language} {parts} }
        })
        .collect_view()
}

/// Portal Page Customization > Languages: the language being edited, adding
/// and removing one, the default language and the emails' time zone.
#[component]
fn LanguagePanel(
    texts: RwSignal<Vec<PortalTranslation>>,
    editing: RwSignal<String>,
    switch_to: Callback<String>,
    error_for: impl Fn(&'static str) -> Signal<Option<String>> + Copy + Send + Sync + 'static,
    can_change: Signal<bool>,
    default_language: String,
    time_zone: String,
    node_time_zone: String,
) -> impl IntoView {
    let new_tag = RwSignal::new(String::new());
    let add_error = RwSignal::new(None::<String>);
    let default_language = RwSignal::new(default_language);
    let languages =
        move || texts.with(|all| all.iter().map(|t| t.language.clone()).collect::<Vec<_>>());
    let add = move || match normalize_tag("new_language", &new_tag.get_untracked()) {
        Err(error) => add_error.set(Some(error.message)),
        Ok(tag) => {
            add_error.set(None);
            if !languages().contains(&tag) {
                texts.update(|all| all.push(PortalTranslation::shipped(&tag)));
            }
            new_tag.set(String::new());
            switch_to.run(tag);
        }
    };
    let remove = move |_| {
        let gone = editing.get_untracked();
        switch_to.run(ENGLISH.to_string());
        texts.update(|all| all.retain(|t| t.language != gone));
        if default_language.get_untracked() == gone {
            default_language.set(ENGLISH.to_string());
        }
    };
    let translations_error = error_for("translations");
    let zone_error = error_for("time_zone");
    view! {
        <fieldset class="form-section languages" disabled=move || !can_change.get()>
            <legend>"Languages"</legend>
            <div class="field" class:has-error=move || translations_error.get().is_some()>
                <label for="portal-language">"Language being edited"</label>
                <div class="control">
                    <div class="inline-controls">
                        <select id="portal-language" prop:value=move || editing.get()
                            on:change=move |ev| switch_to.run(event_target_value(&ev))>
                            {move || languages().into_iter().map(|tag| {
                                let label = format!("{} ({tag})", display_name(&tag));
                                view! { <option value=tag.clone() selected=move || editing.get() == tag>{label}</option> }
                            }).collect_view()}
                        </select>
                        {move || (!SHIPPED.contains(&editing.get().as_str())).then(|| view! {
                            <button type="button" class="btn small" on:click=remove>"Remove This Language"</button>
                        })}
                    </div>
                    <p class="hint">"Guests get their emails in their notification language; a language without texts here gets the default language's. English and Spanish ship with Mailroom."</p>
                    {move || translations_error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </div>
            </div>
            <AddLanguage id="portal-new-language" tag=new_tag error=add_error on_add=Callback::new(move |_| add())
                hint="By its language tag; its texts start as a copy of the English ones to translate." />
            <Field label="Default language" for_id="portal-default-language" error=error_for("default_language")
                hint="For guests whose language has no texts here.">
                <select id="portal-default-language" name="form[default_language]" prop:value=move || default_language.get()
                    on:change=move |ev| default_language.set(event_target_value(&ev))>
                    {move || languages().into_iter().map(|tag| {
                        let label = display_name(&tag);
                        view! { <option value=tag.clone() selected=move || default_language.get() == tag>{label}</option> }
                    }).collect_view()}
                </select>
            </Field>
            <div class="field" class:has-error=move || zone_error.get().is_some()>
                <label for="portal-time-zone">"Time zone of the emails' dates"</label>
                <div class="control">
                    <input id="portal-time-zone" name="form[time_zone]" type="text" maxlength="64" value=time_zone placeholder=node_time_zone.clone() />
                    <p class="hint">{format!("An IANA time zone such as Europe/Madrid. Empty: this node's ({node_time_zone}).")}</p>
                    {move || zone_error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </div>
            </div>
        </fieldset>
    }
}
