//! The Self-Registered Guest Portal as guests see it: no admin sign-in.

use crate::api::ApiError;
use crate::api::portals::{
    GuestChangePassword, GuestLogin, PublicPortal, RegisterGuest, Registered, get_public_portal,
};
use crate::components::{Banner, BannerKind, check_before_post, load};
use crate::domain::FieldError;
use crate::domain::language::{LocalTime, PortalWords, display_name, fill, portal_words};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn SelfRegistrationPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let portal = load(id, |id| async move {
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
    // The page speaks the language chosen for the emails.
    let language = RwSignal::new(portal.language.clone());
    let words = move || portal_words(&language.get());
    let client_error = RwSignal::new(None::<FieldError>);
    let require_aup = portal.require_aup;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: RegisterGuest| {
            data.form.validate(require_aup)
        })
    };
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let error_for = move |field: &'static str| {
        crate::components::field_error(client_error, server_error, field)
    };
    let field = move |id: &'static str,
                      label: fn(&PortalWords) -> &'static str,
                      kind: &'static str,
                      autocomplete: &'static str| {
        let error = error_for(id);
        view! {
            <div class="field" class:has-error=move || error.get().is_some()>
                <label for=format!("guest-{id}")>{move || label(words())}</label>
                <input id=format!("guest-{id}") name=format!("form[{id}]") type=kind autocomplete=autocomplete maxlength="254" />
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            </div>
        }
    };
    let aup_error = error_for("accept_aup");
    view! {
        {move || match action.value().get() {
            Some(Ok(registered)) => view! { <Success registered portal=portal.id language=language.get_untracked() /> }.into_any(),
            _ => {
                let portal = portal.clone();
                view! {
                <h1>{portal.name.clone()}</h1>
                <p class="lead">{move || words().lead}</p>
                {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
                <ActionForm action=action attr:class="portal-form" attr:novalidate=true on:submit:capture=on_submit>
                    <input type="hidden" name="portal" value=portal.id />
                    {(portal.languages.len() > 1).then(|| view! {
                        <div class="field">
                            <label for="guest-language">{move || words().language}</label>
                            <select id="guest-language" name="form[language]" on:change=move |ev| language.set(event_target_value(&ev))>
                                {portal.languages.iter().map(|tag| {
                                    let selected = *tag == portal.language;
                                    view! { <option value=tag.clone() selected=selected>{display_name(tag)}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                    })}
                    {field("first_name", |w| w.first_name, "text", "given-name")}
                    {field("last_name", |w| w.last_name, "text", "family-name")}
                    {field("email", |w| w.email, "email", "email")}
                    {field("company", |w| w.company, "text", "organization")}
                    {field("person_visited", |w| w.person_visited, "text", "off")}
                    {portal.require_aup.then(move || view! {
                        <div class="field" class:has-error=move || aup_error.get().is_some()>
                            <label>{move || words().aup}</label>
                            <div class="aup" tabindex="0">{portal.aup_text.clone()}</div>
                            <label class="aup-accept">
                                <input type="checkbox" name="form[accept_aup]" value="true" />
                                {move || words().agree}
                            </label>
                            {move || aup_error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        </div>
                    })}
                    <button type="submit" class="btn primary wide" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { words().registering } else { words().register }}
                    </button>
                </ActionForm>
                <p class="login-foot">
                    {move || words().have_account}
                    <a href=format!("/portal/{}/login", portal.id)>{move || words().sign_in}</a>
                    {move || words().limited}
                </p>
                }
                .into_any()
            }
        }}
    }
}

/// ISE's Self-Registration Success page.
#[component]
fn Success(registered: Registered, portal: i64, language: String) -> impl IntoView {
    let words = portal_words(&language);
    if registered.pending_approval {
        return view! {
            <h1>{words.request_sent}</h1>
            <Banner kind=BannerKind::Success>{words.waiting}</Banner>
            <p class="lead">{words.waiting_lead}</p>
        }
        .into_any();
    }
    let until = LocalTime {
        language: language.clone(),
        ..LocalTime::default()
    }
    .format(registered.valid_until);
    view! {
        <h1>{words.account_created}</h1>
        <p class="lead">{fill(words.valid_until, &until)}</p>
        <Banner kind=BannerKind::Success>{words.registered}</Banner>
        <dl class="credentials" aria-label="Your credentials">
            <dt>{words.username}</dt>
            <dd>{registered.username.clone()}</dd>
            {registered.password.map(|password| view! {
                <dt>{words.password}</dt>
                <dd>{password}</dd>
            })}
        </dl>
        {match registered.emailed_to {
            Some(to) => view! { <p>{fill(words.sent_to, &to)}</p> }.into_any(),
            None => view! { <p>{words.keep}</p> }.into_any(),
        }}
        <a class="btn primary wide" href=format!("/portal/{portal}/login?lang={language}")>{words.sign_in_now}</a>
    }
    .into_any()
}

/// The portal's sign-in for guests, and the change of password after it,
/// in the language the guest chose (`?lang=`) or its browser prefers.
#[component]
pub fn GuestLoginPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    };
    let portal = load(id, |id| async move {
        match id {
            Some(id) => get_public_portal(id).await.ok(),
            None => None,
        }
    });
    view! {
        <Title text="Guest Sign In" />
        <main class="portal-screen">
            <div class="portal-card">
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let offered = portal.await;
                        let chosen = query.read_untracked().get("lang").filter(|lang| {
                            offered.as_ref().is_some_and(|p| p.languages.contains(lang))
                        });
                        let language = chosen
                            .or_else(|| offered.map(|p| p.language))
                            .unwrap_or_else(|| crate::domain::language::ENGLISH.to_string());
                        view! { <GuestLogin id=id().unwrap_or_default() language /> }
                    })}
                </Transition>
            </div>
        </main>
    }
}

#[component]
fn GuestLogin(id: i64, language: String) -> impl IntoView {
    let words = portal_words(&language);
    let login = ServerAction::<GuestLogin>::new();
    let change = ServerAction::<GuestChangePassword>::new();
    let change_error = move |field: &'static str| {
        move || {
            change
                .value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field_message(field))
        }
    };
    let login_error = move || {
        login
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let dates = LocalTime {
        language,
        ..LocalTime::default()
    };
    move || {
        match login.value().get() {
        Some(Ok(signed_in)) => view! {
            <h1>{words.welcome}</h1>
            <p class="lead">
                {fill(words.signed_in_as, &signed_in.username)}" "
                {fill(words.valid_until, &dates.format(signed_in.valid_until))}
            </p>
            {move || match change.value().get() {
                Some(Ok(())) => Some(view! { <Banner kind=BannerKind::Success>{words.password_changed}</Banner> }.into_any()),
                Some(Err(e)) => e.banner().map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> }.into_any()),
                None => None,
            }}
            <ActionForm action=change attr:class="portal-form">
                <h2>{words.change_password}</h2>
                <input type="hidden" name="portal" value=id />
                <input type="hidden" name="username" value=signed_in.username.clone() />
                <div class="field">
                    <label for="guest-current">{words.current_password}</label>
                    <input id="guest-current" name="current" type="password" autocomplete="current-password" required />
                </div>
                <div class="field">
                    <label for="guest-new">{words.new_password}</label>
                    <input id="guest-new" name="new_password" type="password" autocomplete="new-password" required />
                    {move || change_error("new_password")().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </div>
                <div class="field">
                    <label for="guest-confirm">{words.confirm_password}</label>
                    <input id="guest-confirm" name="confirm" type="password" autocomplete="new-password" required />
                    {move || change_error("confirm")().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </div>
                <button type="submit" class="btn primary wide" disabled=move || change.pending().get()>{words.change_password}</button>
            </ActionForm>
        }
        .into_any(),
        _ => view! {
            <h1>{words.sign_in_title}</h1>
            <p class="lead">{words.sign_in_lead}</p>
            {move || login_error().map(|e| view! { <Banner kind=BannerKind::Error>{e}</Banner> })}
            <ActionForm action=login attr:class="portal-form">
                <input type="hidden" name="portal" value=id />
                <div class="field">
                    <label for="guest-username">{words.username}</label>
                    <input id="guest-username" name="username" type="text" autocomplete="username" required />
                </div>
                <div class="field">
                    <label for="guest-password">{words.password}</label>
                    <input id="guest-password" name="password" type="password" autocomplete="current-password" required />
                </div>
                <button type="submit" class="btn primary wide" disabled=move || login.pending().get()>{words.sign_on}</button>
            </ActionForm>
            <p class="login-foot">
                {words.no_account}
                <a href=format!("/portal/{id}/self-registration")>{words.register_link}</a>
            </p>
        }
        .into_any(),
    }
    }
}
