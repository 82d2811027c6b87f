use crate::api::auth::{ChangeExpiredPassword, Login, PASSWORD_EXPIRED};
use crate::components::{Banner, BannerKind};
use crate::domain::AdminPassword;
use leptos::prelude::*;
use leptos_meta::Title;

/// Where an admin whose password has expired chooses a new one.
pub const CHANGE_EXPIRED_PASSWORD: &str = "/login/expired-password";

/// The sign-in card: the product's (or the sponsor portal's) name over a
/// form, and a line under it.
#[component]
pub fn LoginCard(
    #[prop(default = "login-screen")] screen_class: &'static str,
    #[prop(default = "Mailroom")] title: &'static str,
    #[prop(default = "Identity Services Email Console")] tagline: &'static str,
    #[prop(default = "Sessions end after a period of inactivity. Sign-in attempts are throttled.")]
    foot: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <main class=screen_class>
            <div class="login-card">
                <div class="login-brand">
                    <span class="brand-mark large" aria-hidden="true">"✉"</span>
                    <div>
                        <h1>{title}</h1>
                        <p>{tagline}</p>
                    </div>
                </div>
                {children()}
                <p class="login-foot">{foot}</p>
            </div>
        </main>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    // Where the console sent the browser from, to return there (checked
    // again on the server).
    let next = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("next")
        .unwrap_or_default();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Sign In" />
        <LoginCard>
            <ActionForm action=login attr:class="login-form">
                {move || error().map(|e| {
                    // The password was right but too old: a new one first, ISE-style.
                    if e == PASSWORD_EXPIRED {
                        view! {
                            <Banner kind=BannerKind::Warning>{e}</Banner>
                            <a class="btn primary wide" href=CHANGE_EXPIRED_PASSWORD>"Choose a new password"</a>
                        }.into_any()
                    } else {
                        view! { <Banner kind=BannerKind::Error>{e}</Banner> }.into_any()
                    }
                })}
                <input type="hidden" name="next" value=next />
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" required autofocus />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <button type="submit" class="btn primary wide" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Login" }}
                </button>
            </ActionForm>
        </LoginCard>
    }
}

/// A lazy page: its form is loaded only by those who need it.
#[component]
pub fn ChangeExpiredPasswordPage() -> impl IntoView {
    let change = ServerAction::<ChangeExpiredPassword>::new();
    let failure = move || change.value().get().and_then(|r| r.err());
    let field = move |name: &'static str| failure().and_then(|e| e.field_message(name));
    view! {
        <Title text="Change Password" />
        <LoginCard>
            <ActionForm action=change attr:class="login-form">
                <Banner kind=BannerKind::Warning>{PASSWORD_EXPIRED}</Banner>
                {move || failure().and_then(|e| e.banner()).map(|e| view! { <Banner kind=BannerKind::Error>{e}</Banner> })}
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" required />
                <label for="password">"Current password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <label for="new-password">"New password"</label>
                <input id="new-password" name="new_password" type="password" autocomplete="new-password" required />
                {move || field("new_password").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                <label for="confirm-password">"Confirm new password"</label>
                <input id="confirm-password" name="confirm_password" type="password" autocomplete="new-password" required />
                {move || field("confirm_password").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                <p class="hint">{AdminPassword::RULES}</p>
                <button type="submit" class="btn primary wide" disabled=move || change.pending().get()>
                    {move || if change.pending().get() { "Changing…" } else { "Change password and sign in" }}
                </button>
            </ActionForm>
        </LoginCard>
    }
}
