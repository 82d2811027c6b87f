use crate::api::auth::{ChangeExpiredPassword, Login, PASSWORD_EXPIRED};
use crate::components::{Banner, BannerKind};
use crate::domain::AdminPassword;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let change = ServerAction::<ChangeExpiredPassword>::new();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = move || {
        login
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| e.to_string())
    };
    // The password was right but too old: ask for a new one, ISE-style.
    let expired = move || error().as_deref() == Some(PASSWORD_EXPIRED);
    let change_error = move |field: &'static str| {
        change
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.field_message(field))
    };
    let change_banner = move || {
        change
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.banner())
    };
    view! {
        <Title text="Sign In" />
        <main class="login-screen">
            <div class="login-card">
                <div class="login-brand">
                    <span class="brand-mark large" aria-hidden="true">"✉"</span>
                    <div>
                        <h1>"Mailroom"</h1>
                        <p>"Identity Services Email Console"</p>
                    </div>
                </div>
                <div hidden=expired>
                    <ActionForm action=login attr:class="login-form">
                        {move || error().filter(|_| !expired()).map(|e| view! { <Banner kind=BannerKind::Error>{e}</Banner> })}
                        <label for="username">"Username"</label>
                        <input id="username" name="username" type="text" autocomplete="username" required autofocus
                            on:input=move |ev| username.set(event_target_value(&ev)) />
                        <label for="password">"Password"</label>
                        <input id="password" name="password" type="password" autocomplete="current-password" required
                            on:input=move |ev| password.set(event_target_value(&ev)) />
                        <button type="submit" class="btn primary wide" disabled=move || login.pending().get()>
                            {move || if login.pending().get() { "Signing in…" } else { "Login" }}
                        </button>
                    </ActionForm>
                </div>
                {move || expired().then(|| view! {
                    <ActionForm action=change attr:class="login-form">
                        <Banner kind=BannerKind::Warning>{PASSWORD_EXPIRED}</Banner>
                        {move || change_banner().map(|e| view! { <Banner kind=BannerKind::Error>{e}</Banner> })}
                        <input type="hidden" name="username" prop:value=username />
                        <input type="hidden" name="password" prop:value=password />
                        <label for="new-password">"New password"</label>
                        <input id="new-password" name="new_password" type="password" autocomplete="new-password" required />
                        {move || change_error("new_password").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                        <label for="confirm-password">"Confirm new password"</label>
                        <input id="confirm-password" name="confirm_password" type="password" autocomplete="new-password" required />
                        {move || change_error("confirm_password").map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                        <p class="hint">{AdminPassword::RULES}</p>
                        <button type="submit" class="btn primary wide" disabled=move || change.pending().get()>
                            {move || if change.pending().get() { "Changing…" } else { "Change password and sign in" }}
                        </button>
                    </ActionForm>
                })}
                <p class="login-foot">"Sessions end after a period of inactivity. Sign-in attempts are throttled."</p>
            </div>
        </main>
    }
}
