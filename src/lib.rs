#![recursion_limit = "512"]
//! Mailroom: an ISE-style admin console for the email a network-access
//! system sends, over Exchange Online with OAuth 2.0.

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes: the page's chunk is loaded before hydration starts. The
    // marker for end-to-end tests is set once hydration has finished, so
    // clicks after it appears run client code.
    let Some(body) = leptos::prelude::document().body() else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let owner = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        owner.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
