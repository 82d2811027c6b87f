//! The SMTP Server page's Sender Pool: further mailboxes of the same app
//! that share the bulk guest mail, each under its own sending limits.

use crate::api::ApiError;
use crate::api::limits::{
    AddSenderMailbox, enable_sender_mailbox, get_sending_limits, remove_sender_mailbox,
    send_pool_test_email,
};
use crate::components::Loaded;
use crate::components::diagnosis::TestEmailOutcome;
use crate::components::{
    Banner, BannerKind, ConfirmBar, Field, check_before_post, field_error, use_can,
};
use crate::domain::limits::{MailboxUsage, PacingView};
use crate::domain::{Access, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;

const INTRO: &str = "Further Exchange Online mailboxes the same app may send as: give the app each mailbox's permission as for the SMTP Server's own. Bulk guest notifications (credentials and expiry notices) spread across the enabled ones, each under the sending limits above, and go From the mailbox that sends them. Test emails, alarms, reminders and sponsor notices go from the SMTP Server's mailbox.";

/// `pacing` is the page's load of the sending limits (one load serves both
/// sections); after a change here the pool is loaded again by itself.
#[component]
pub fn SenderPoolSection(pacing: Loaded<Result<PacingView, ApiError>>) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let add = ServerAction::<AddSenderMailbox>::new();
    let enable =
        Action::new(|(mailbox, on): &(String, bool)| enable_sender_mailbox(mailbox.clone(), *on));
    let remove = Action::new(|mailbox: &String| remove_sender_mailbox(mailbox.clone()));
    let test = Action::new(|(mailbox, to): &(String, String)| {
        send_pool_test_email(mailbox.clone(), to.clone())
    });
    let reload = Action::new(|_: &()| get_sending_limits());
    Effect::new(move |before: Option<(usize, usize, usize, usize)>| {
        let versions = (
            add.version().get(),
            enable.version().get(),
            remove.version().get(),
            test.version().get(),
        );
        if before.is_some_and(|before| before != versions) {
            reload.dispatch(());
        }
        versions
    });
    let failure = move || {
        enable
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| remove.value().get().and_then(|r| r.err()))
    };
    view! {
        <section class="form-section sender-pool" aria-label="Sender pool">
            <h2 class="section-title">"Sender Pool"</h2>
            <p class="hint wide-hint">{INTRO}</p>
            {move || failure().map(|e| view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> })}
            {move || matches!(remove.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The mailbox left the pool."</Banner> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let reloaded = reload.value().get();
                    Suspend::new(async move {
                        let pool = match reloaded {
                            Some(pool) => pool,
                            None => pacing.await,
                        };
                        match pool {
                            Ok(view) => {
                                let choices: Vec<String> = view
                                    .pool
                                    .iter()
                                    .filter(|usage| usage.enabled)
                                    .map(|usage| usage.mailbox.clone())
                                    .collect();
                                view! {
                                    <PoolTable view can_change enable remove />
                                    <AddMailboxForm add can_change />
                                    <PoolTestEmail choices test can_change />
                                }
                                .into_any()
                            }
                            Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

fn usage_status(usage: &MailboxUsage, oauth: bool) -> (&'static str, String) {
    if let Some(until) = usage.paused_until_ms {
        return (
            "disabled",
            format!(
                "Resting until {}: {}",
                format_time(until / 1000),
                usage.pause_reason
            ),
        );
    }
    match (usage.enabled, oauth) {
        (true, true) => ("enabled", "Sending".into()),
        (true, false) => ("disabled", "Idle: needs OAuth 2.0".into()),
        (false, _) => ("disabled", "Disabled".into()),
    }
}

#[component]
fn PoolTable(
    view: PacingView,
    can_change: Signal<bool>,
    enable: Action<(String, bool), Result<(), crate::api::ApiError>>,
    remove: Action<String, Result<(), crate::api::ApiError>>,
) -> impl IntoView {
    let confirming = RwSignal::new(None::<String>);
    let oauth = view.oauth;
    let main = if view.mailbox.is_empty() {
        "(no SMTP server saved)".to_string()
    } else {
        view.mailbox.clone()
    };
    let main_status = match view.paused_until_ms {
        Some(until) => format!(
            "Resting until {}: {}",
            format_time(until / 1000),
            view.pause_reason
        ),
        None => "Sending (SMTP Server's mailbox)".into(),
    };
    let empty = view.pool.is_empty();
    view! {
        {(!oauth).then(|| view! {
            <Banner kind=BannerKind::Info>"A sender pool needs the SMTP Server to sign in with OAuth 2.0: one app token then serves every mailbox the app has permission on."</Banner>
        })}
        <table class="data-table" aria-label="Sending mailboxes">
            <thead>
                <tr>
                    <th>"Mailbox"</th>
                    <th>"Status"</th>
                    <th class="num">"Sent last minute"</th>
                    <th class="num">"Recipients, 24 h"</th>
                    <th>"Actions"</th>
                </tr>
            </thead>
            <tbody>
                <tr>
                    <td>{main}</td>
                    <td><span class="status enabled">{main_status}</span></td>
                    <td class="num">{view.sent_last_minute}</td>
                    <td class="num">{view.recipients_today}</td>
                    <td></td>
                </tr>
                {view.pool.into_iter().map(|usage| {
                    let (class, status) = usage_status(&usage, oauth);
                    let mailbox = usage.mailbox.clone();
                    let (toggle_mailbox, remove_mailbox) = (mailbox.clone(), mailbox.clone());
                    let enabled = usage.enabled;
                    view! {
                        <tr>
                            <td>{usage.mailbox.clone()}</td>
                            <td><span class=format!("status {class}")>{status}</span></td>
                            <td class="num">{usage.sent_last_minute}</td>
                            <td class="num">{usage.recipients_today}</td>
                            <td class="row-actions">
                                <button type="button" class="btn small" aria-label=format!("{} {mailbox}", if enabled { "Disable" } else { "Enable" })
                                    disabled=move || !can_change.get() || enable.pending().get()
                                    on:click=move |_| { enable.dispatch((toggle_mailbox.clone(), !enabled)); }>
                                    {if enabled { "Disable" } else { "Enable" }}
                                </button>
                                <button type="button" class="btn small" aria-label=format!("Remove {mailbox}")
                                    disabled=move || !can_change.get() || remove.pending().get()
                                    on:click=move |_| confirming.set(Some(remove_mailbox.clone()))>"Remove"</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {empty.then(|| view! { <p class="empty">"No further mailboxes: every message goes from the SMTP Server's mailbox."</p> })}
        {move || confirming.get().map(|mailbox| {
            let question = format!("Remove {mailbox} from the sender pool? Its share of waiting guest mail goes to the other mailboxes.");
            view! {
                <ConfirmBar label="Confirm remove" confirm="Remove" question
                    on_confirm=move |_| {
                        confirming.set(None);
                        remove.dispatch(mailbox.clone());
                    }
                    on_cancel=move |_| confirming.set(None) />
            }
        })}
    }
}

#[component]
fn AddMailboxForm(add: ServerAction<AddSenderMailbox>, can_change: Signal<bool>) -> impl IntoView {
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || add.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        // The pool and the SMTP mailbox are checked on the server; the
        // address here.
        check_before_post(&ev, client_error, |data: AddSenderMailbox| {
            data.form.validate("", &[]).map(|_| ())
        })
    };
    view! {
        {move || matches!(add.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The mailbox joined the pool."</Banner> })}
        <ActionForm action=add attr:class="settings-form inline-form" attr:novalidate=true on:submit:capture=on_submit>
            <Field label="Add mailbox" for_id="pool-mailbox" error=field_error(client_error, server_error, "mailbox")>
                <input id="pool-mailbox" name="form[mailbox]" type="email" maxlength="254" placeholder="guests2@contoso.com" disabled=move || !can_change.get() />
            </Field>
            <button type="submit" class="btn" disabled=move || !can_change.get() || add.pending().get()>
                {move || if add.pending().get() { "Adding…" } else { "Add Mailbox" }}
            </button>
        </ActionForm>
    }
}

/// A test email From one pool mailbox, signed in as it: the check that
/// the app has its permission.
#[component]
fn PoolTestEmail(
    choices: Vec<String>,
    test: Action<
        (String, String),
        Result<crate::domain::mail::TestEmailResult, crate::api::ApiError>,
    >,
    can_change: Signal<bool>,
) -> impl IntoView {
    let mailbox = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let error_on = move |field: &'static str| {
        Signal::derive(move || {
            test.value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field_message(field))
        })
    };
    view! {
        // Drawn again when the pool reloads after a send: kept open then.
        <details class="panel test-email" open=test.value().get_untracked().is_some()>
            <summary>"Send Test Email from a Pool Mailbox"</summary>
            <form class="inline-form" on:submit=move |ev| {
                ev.prevent_default();
                test.dispatch((mailbox.get_untracked(), to.get_untracked()));
            }>
                <Field label="From" for_id="pool-test-from" error=error_on("pool_mailbox")>
                    <select id="pool-test-from" on:change=move |ev| mailbox.set(event_target_value(&ev))>
                        <option value="">"Choose a mailbox"</option>
                        {choices.into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                    </select>
                </Field>
                <Field label="To" for_id="pool-test-to" error=error_on("pool_to")>
                    <input id="pool-test-to" type="email" prop:value=to on:input=move |ev| to.set(event_target_value(&ev)) />
                </Field>
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || test.pending().get()>
                    {move || if test.pending().get() { "Sending…" } else { "Send" }}
                </button>
            </form>
            {move || test.value().get().map(|result| view! { <TestEmailOutcome result /> })}
        </details>
    }
}
