//! Administration > System > Settings > API Settings: the ERS API's
//! switch and ISE's CSRF option.

use crate::api::api_settings::{ApiSettingsPage, SaveApiSettings, get_api_settings};
use crate::components::{Banner, BannerKind, LeftNav, PageHeader, Switch, load, use_can};
use crate::domain::Access;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApiSettingsPage() -> impl IntoView {
    let page = load(|| (), |_| get_api_settings());
    view! {
        <Title text="API Settings" />
        <LeftNav>
            <PageHeader title="API Settings" subtitle="The External RESTful Services (ERS) API that scripts, kiosks and Cisco's ciscoisesdk use to manage guests and read the guest email settings." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <ApiSettingsEditor page /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn ApiSettingsEditor(page: ApiSettingsPage) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let action = ServerAction::<SaveApiSettings>::new();
    let ers_enabled = RwSignal::new(page.settings.ers_enabled);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let saved = Signal::derive(move || action.value().get().and_then(|r| r.ok()));
    // Known in the browser only: set after hydration, so both renders agree.
    let origin = RwSignal::new(String::new());
    Effect::new(move |_| origin.set(window_origin()));
    let changed_by = move || {
        let (by, at) = match saved.get() {
            Some(page) => (page.updated_by, page.updated_at),
            None => (page.updated_by.clone(), page.updated_at),
        };
        (!by.is_empty()).then(|| {
            format!(
                "Last changed by {by} on {}.",
                crate::domain::template::format_utc(at)
            )
        })
    };
    view! {
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || saved.get().map(|page| view! {
            <Banner kind=BannerKind::Success>
                {if page.settings.ers_enabled { "The API settings were saved: the ERS API answers." } else { "The API settings were saved: the ERS API is off." }}
            </Banner>
        })}
        <ActionForm action=action attr:class="settings-form" attr:novalidate=true>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"API Service Settings for Primary Administration Node"</legend>
                <Switch id="api-ers" name="form[ers_enabled]" label="ERS (Read/Write)" checked=ers_enabled />
                <div class="field">
                    <span></span>
                    <p class="hint">
                        "Off by default, as in ISE. Starting the console with MAILROOM_ERS=on switches it on for scripted set-ups. "
                        "Admins with the ERS Admin role read and write, ERS Operator reads, and Super Admin may do both; other admins are refused."
                    </p>
                </div>
            </fieldset>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Security"</legend>
                <div class="field">
                    <span class="radio-label">"CSRF Check"</span>
                    <div class="control radios" role="radiogroup" aria-label="CSRF check">
                        <label class="radio">
                            <input type="radio" name="form[csrf_enabled]" value="true" checked=page.settings.csrf_enabled />
                            "Enable CSRF Check for Enhanced Security"
                        </label>
                        <label class="radio">
                            <input type="radio" name="form[csrf_enabled]" value="false" checked=!page.settings.csrf_enabled />
                            "Disable CSRF for ERS Request (compatible with ERS clients older than ISE 2.3)"
                        </label>
                        <p class="hint">"With the check on, every write must carry the X-CSRF-Token that GET /ers/config/endpoint/versioninfo returns when asked with \"X-CSRF-Token: fetch\" (ciscoisesdk: uses_csrf_token=True)."</p>
                    </div>
                </div>
            </fieldset>
            <section class="form-section api-reference">
                <h3>"Where the API answers"</h3>
                <dl class="facts">
                    <dt>"Base URL"</dt><dd><code>{move || format!("{}/ers/config/", origin.get())}</code></dd>
                    <dt>"Authentication"</dt><dd>"HTTP Basic, an admin's name and password, on every request"</dd>
                    <dt>"Resources"</dt><dd><code>"guestuser, guesttype, guestsmtpnotificationsettings, sponsorportal, selfregportal, sponsorgroup"</code></dd>
                    <dt>"Description"</dt><dd><a href="/ers/openapi.json">"OpenAPI document"</a></dd>
                </dl>
                <p class="hint wide-hint">"ciscoisesdk: IdentityServicesEngineAPI(username=..., password=..., base_url=\""{move || origin.get()}"\", uses_api_gateway=True, version=\"3.3_patch_1\")"</p>
                {changed_by}
            </section>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
        </ActionForm>
    }
}

/// The console's origin as the browser sees it (empty while rendering on
/// the server, where a relative base would do).
fn window_origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window()
            .location()
            .origin()
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}
