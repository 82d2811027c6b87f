//! The SMTP Server page's Sending Limits section, and the Mail Queue's
//! view of the paced mailbox (rate, what waits, when it should be out).

use crate::api::limits::SaveSendingLimits;
use crate::components::{Banner, BannerKind, Field, check_before_post, field_error, use_can};
use crate::domain::limits::PacingView;
use crate::domain::{Access, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;

fn limit_text(value: u32, unit: &str) -> String {
    if value == 0 {
        "no limit".into()
    } else {
        format!("{value} {unit}")
    }
}

#[component]
pub fn SendingLimitsSection(pacing: PacingView) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let action = ServerAction::<SaveSendingLimits>::new();
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveSendingLimits| {
            data.form.validate()
        })
    };
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let origin = if pacing.saved {
        "Saved for this mailbox."
    } else if pacing.limits.is_limited() {
        "Not saved yet: Exchange Online's limits apply, as the SMTP Server signs in to a Microsoft cloud."
    } else {
        "Not saved yet: no limits apply to a plain SMTP relay."
    };
    let form = pacing.limits.form();
    view! {
        <section class="form-section sending-limits" aria-label="Sending limits">
            <h2 class="section-title">"Sending Limits"</h2>
            <p class="hint wide-hint">
                "Exchange Online allows each sending mailbox 3 concurrent SMTP connections, 30 messages a minute, 10,000 recipients a day and 500 recipients a message. Mailroom paces itself under these so the server never refuses it; test emails, alarms and reminders go ahead of bulk guest mail. 0 means no limit. "
                {origin}
            </p>
            {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            {move || matches!(action.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The sending limits were saved."</Banner> })}
            <ActionForm action=action attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <Field label="Max concurrent connections" for_id="limit-connections" error=error_for("max_connections")>
                        <input id="limit-connections" name="form[max_connections]" type="number" min="0" max="32" class="short" value=form.max_connections.clone() />
                    </Field>
                    <Field label="Messages per minute" for_id="limit-rate" error=error_for("messages_per_minute")>
                        <input id="limit-rate" name="form[messages_per_minute]" type="number" min="0" class="short" value=form.messages_per_minute.clone() />
                    </Field>
                    <Field label="Recipients per 24 hours" for_id="limit-daily" error=error_for("recipients_per_day")>
                        <input id="limit-daily" name="form[recipients_per_day]" type="number" min="0" class="short" value=form.recipients_per_day.clone() />
                    </Field>
                    <Field label="Recipients per message" for_id="limit-per-message" error=error_for("recipients_per_message")
                        hint="Every email the console sends has one recipient; the limit is kept for messages to many.">
                        <input id="limit-per-message" name="form[recipients_per_message]" type="number" min="0" class="short" value=form.recipients_per_message.clone() />
                    </Field>
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="btn" disabled=move || !can_change.get() || action.pending().get()>
                        {move || if action.pending().get() { "Saving…" } else { "Apply Sending Limits" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

/// The paced mailbox on the Mail Queue page.
#[component]
pub fn PacingPanel(view: PacingView) -> impl IntoView {
    let limits = view.limits;
    let eta = match (view.waiting, view.eta_ms) {
        (0, _) => "Nothing waiting".to_string(),
        (_, Some(eta)) => format_time(eta / 1000),
        (_, None) => "As fast as the pool sends".to_string(),
    };
    let today = if limits.recipients_per_day > 0 {
        format!("{} of {}", view.recipients_today, limits.recipients_per_day)
    } else {
        "no limit".to_string()
    };
    let mailbox = if view.mailbox.is_empty() {
        "(no SMTP server saved)".to_string()
    } else {
        view.mailbox.clone()
    };
    let pooled: Vec<_> = view.pool.iter().filter(|m| m.sending).cloned().collect();
    let lanes = 1 + pooled.len() as u32;
    let pace = if lanes > 1 && limits.messages_per_minute > 0 {
        format!(
            "{} a minute each ({} together for guest mail)",
            limits.messages_per_minute,
            limits.spread(lanes).messages_per_minute
        )
    } else {
        limit_text(limits.messages_per_minute, "a minute")
    };
    view! {
        <section class="pacing" aria-label="Sending mailbox">
            <div class="pacing-item"><span class="count-label">"Mailbox"</span><span class="pacing-value">{mailbox}</span></div>
            <div class="pacing-item"><span class="count-label">"Pace"</span><span class="pacing-value" data-testid="pace">{pace}</span></div>
            <div class="pacing-item"><span class="count-label">"Sent last minute"</span><span class="pacing-value">{view.sent_last_minute}</span></div>
            <div class="pacing-item"><span class="count-label">"Connections"</span><span class="pacing-value">{limit_text(limits.max_connections, "at most")}</span></div>
            <div class="pacing-item"><span class="count-label">"Waiting"</span><span class="pacing-value" data-testid="waiting">{view.waiting}</span></div>
            <div class="pacing-item"><span class="count-label">"All sent by"</span><span class="pacing-value" data-testid="eta">{eta}</span></div>
            <div class="pacing-item"><span class="count-label">"Recipients, 24 h"</span><span class="pacing-value">{today}</span></div>
        </section>
        {(!pooled.is_empty()).then(|| view! {
            <table class="data-table compact" aria-label="Sender pool">
                <thead><tr><th>"Sender pool mailbox"</th><th class="num">"Sent last minute"</th><th class="num">"Recipients, 24 h"</th><th>"State"</th></tr></thead>
                <tbody>
                    {pooled.into_iter().map(|m| {
                        let state = match m.paused_until_ms {
                            Some(until) => format!("Resting until {}: {}", format_time(until / 1000), m.pause_reason),
                            None => "Sending".to_string(),
                        };
                        view! { <tr><td>{m.mailbox}</td><td class="num">{m.sent_last_minute}</td><td class="num">{m.recipients_today}</td><td>{state}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
        })}
        {view.paused_until_ms.map(|until| view! {
            <Banner kind=BannerKind::Warning>{format!("Sending is paused until {}: {}. Messages stay queued; none becomes a dead letter for this.", format_time(until / 1000), view.pause_reason)}</Banner>
        })}
    }
}
