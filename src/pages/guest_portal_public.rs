//! The Self-Registered Guest Portal as guests see it: no admin sign-in.

use crate::api::ApiError;
use crate::api::portals::{PublicPortal, RegisterGuest, Registered, get_public_portal};
use crate::components::{Banner, BannerKind};
use crate::domain::FieldError;
use crate::domain::template::format_utc;
use leptos::form::FromFormData;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn SelfRegistrationPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let portal = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_public_portal(id).await,
            None => Err(ApiError::Rejected(
                "This guest portal does not exist.".into(),
            )),
        }
    });
    view! {
        <Title text="Guest Registration" />
        <main class="portal-screen">
            <div class="portal-card">
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match portal.await {
                            Ok(portal) => view! { <Registration portal /> }.into_any(),
                            Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </main>
    }
}

#[component]
fn Registration(portal: PublicPortal) -> impl IntoView {
    let action = ServerAction::<RegisterGuest>::new();
    let client_error = RwSignal::new(None::<FieldError>);
    let require_aup = portal.require_aup;
    let on_submit = move |ev: leptos::ev::SubmitEvent| match RegisterGuest::from_event(&ev) {
        Ok(data) => match data.form.validate(require_aup) {
            Ok(_) => client_error.set(None),
            Err(error) => {
                ev.prevent_default();
                client_error.set(Some(error));
            }
        },
        Err(_) => client_error.set(None),
    };
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let error_for = move |field: &'static str| {
        crate::components::field_error(client_error, server_error, field)
    };
    let field = move |id: &'static str,
                      label: &'static str,
                      kind: &'static str,
                      autocomplete: &'static str| {
        let error = error_for(id);
        view! {
            <div class="field" class:has-error=move || error.get().is_some()>
                <label for=format!("guest-{id}")>{label}</label>
                <input id=format!("guest-{id}") name=format!("form[{id}]") type=kind autocomplete=autocomplete maxlength="254" />
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            </div>
        }
    };
    let aup_error = error_for("accept_aup");
    view! {
        {move || match action.value().get() {
            Some(Ok(registered)) => view! { <Success registered /> }.into_any(),
            _ => {
                let portal = portal.clone();
                view! {
                <h1>{portal.name.clone()}</h1>
                <p class="lead">"Register for guest access. Your username and password are created for you."</p>
                {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
                <ActionForm action=action attr:class="portal-form" attr:novalidate=true on:submit:capture=on_submit>
                    <input type="hidden" name="portal" value=portal.id />
                    {field("first_name", "First name", "text", "given-name")}
                    {field("last_name", "Last name", "text", "family-name")}
                    {field("email", "Email address", "email", "email")}
                    {field("company", "Company", "text", "organization")}
                    {field("person_visited", "Person being visited (email)", "text", "off")}
                    {portal.require_aup.then(move || view! {
                        <div class="field" class:has-error=move || aup_error.get().is_some()>
                            <label>"Acceptable Use Policy"</label>
                            <div class="aup" tabindex="0">{portal.aup_text.clone()}</div>
                            <label class="aup-accept">
                                <input type="checkbox" name="form[accept_aup]" value="true" />
                                "I agree to the terms and conditions"
                            </label>
                            {move || aup_error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        </div>
                    })}
                    <button type="submit" class="btn primary wide" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Registering…" } else { "Register" }}
                    </button>
                </ActionForm>
                <p class="login-foot">"Registrations are limited per network. Your details are kept for your sponsor and the network team."</p>
                }
                .into_any()
            }
        }}
    }
}

/// ISE's Self-Registration Success page.
#[component]
fn Success(registered: Registered) -> impl IntoView {
    view! {
        <h1>"Account created"</h1>
        <p class="lead">{format!("Your guest access is valid until {}.", format_utc(registered.valid_until))}</p>
        <Banner kind=BannerKind::Success>"You are registered."</Banner>
        <dl class="credentials" aria-label="Your credentials">
            <dt>"Username"</dt>
            <dd>{registered.username.clone()}</dd>
            {registered.password.map(|password| view! {
                <dt>"Password"</dt>
                <dd>{password}</dd>
            })}
        </dl>
        {match registered.emailed_to {
            Some(to) => view! { <p>{format!("Your credentials were sent to {to}.")}</p> }.into_any(),
            None => view! { <p>"Keep these credentials: they are not sent by email."</p> }.into_any(),
        }}
    }
}
