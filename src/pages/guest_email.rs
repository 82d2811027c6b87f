//! Work Centers > Guest Access > Settings > Guest Email Settings.

use crate::api::guest::{GuestEmailPage, SaveGuestEmailSettings, get_guest_email_settings};
use crate::components::{
    Banner, BannerKind, Field, LeftNav, PageHeader, Switch, check_before_post, field_error, load,
    use_can,
};
use crate::domain::guest::{GuestEmailForm, sender_warning};
use crate::domain::{Access, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn GuestEmailPage() -> impl IntoView {
    let page = load(|| (), |_| get_guest_email_settings());
    view! {
        <Title text="Guest Email Settings" />
        <LeftNav>
            <PageHeader title="Guest Email Settings" subtitle="Whether guests receive their credentials and notices by email, and the From address those emails carry." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <GuestEmailEditor page /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn GuestEmailEditor(page: GuestEmailPage) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let action = ServerAction::<SaveGuestEmailSettings>::new();
    let enabled = RwSignal::new(page.form.enabled);
    let default_from = RwSignal::new(page.form.default_from.clone());
    let from_sponsor = RwSignal::new(page.form.from_sponsor);
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let oauth_mailbox = page.oauth_mailbox.clone();
    // Recomputed as the admin types, with the same rule the server uses.
    let warning = Signal::derive(move || {
        let form = GuestEmailForm {
            enabled: enabled.get(),
            default_from: default_from.get(),
            from_sponsor: from_sponsor.get(),
        };
        sender_warning(&form, oauth_mailbox.as_deref())
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveGuestEmailSettings| {
            data.form.validate()
        })
    };
    let from_error = field_error(client_error, server_error, "default_from");
    view! {
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || matches!(action.value().get(), Some(Ok(_))).then(|| view! { <Banner kind=BannerKind::Success>"The guest email settings were saved."</Banner> })}
        <ActionForm action=action attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Email Notifications"</legend>
                <Switch id="guest-email-enabled" name="form[enabled]" label="Enable email notifications to guests" checked=enabled />
                <Field label="Default \"From\" email address" for_id="guest-email-from" required=true error=from_error
                    hint="Guests' credentials and notices come from this address. With Exchange Online OAuth it must be the SMTP Server page's mailbox.">
                    <input id="guest-email-from" name="form[default_from]" type="email" maxlength="254"
                        prop:value=default_from value=page.form.default_from.clone()
                        on:input=move |ev| default_from.set(event_target_value(&ev)) />
                </Field>
                <div class="field">
                    <span class="radio-label">"\"From\" address"</span>
                    <div class="control radios" role="radiogroup" aria-label="From address">
                        <label class="radio">
                            <input type="radio" name="form[from_sponsor]" value="true" checked=page.form.from_sponsor
                                on:change=move |_| from_sponsor.set(true) />
                            "Use sponsor's email address for \"From\" address (if sponsored)"
                        </label>
                        <label class="radio">
                            <input type="radio" name="form[from_sponsor]" value="false" checked=!page.form.from_sponsor
                                on:change=move |_| from_sponsor.set(false) />
                            "Always use the default \"From\" email address"
                        </label>
                    </div>
                </div>
                {move || warning.get().map(|text| view! { <Banner kind=BannerKind::Warning>{text}</Banner> })}
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
        </ActionForm>
    }
}
