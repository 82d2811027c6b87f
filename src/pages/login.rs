use crate::api::auth::Login;
use crate::components::{Banner, BannerKind};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| e.to_string())
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
                <ActionForm action=login attr:class="login-form">
                    {move || error().map(|e| view! { <Banner kind=BannerKind::Error>{e}</Banner> })}
                    <label for="username">"Username"</label>
                    <input id="username" name="username" type="text" autocomplete="username" required autofocus />
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required />
                    <button type="submit" class="btn primary wide" disabled=move || login.pending().get()>
                        {move || if login.pending().get() { "Signing in…" } else { "Login" }}
                    </button>
                </ActionForm>
                <p class="login-foot">"Sessions end after a period of inactivity. Sign-in attempts are throttled."</p>
            </div>
        </main>
    }
}
