use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <main class="login-screen">
            <div class="login-card">
                <h1>"Page not found"</h1>
                <p>"There is no console page at this address."</p>
                <a href="/" class="btn primary">"Go to the dashboard"</a>
            </div>
        </main>
    }
}
