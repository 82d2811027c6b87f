//! Administration > System > Settings > Proxy.

use crate::api::proxy::{ProxyPage, SaveProxySettings, get_proxy_settings};
use crate::components::{
    Banner, BannerKind, Field, LeftNav, PageHeader, check_before_post, field_error, load, use_can,
};
use crate::domain::{Access, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ProxyPage() -> impl IntoView {
    let page = load(|| (), |_| get_proxy_settings());
    view! {
        <Title text="Proxy" />
        <LeftNav>
            <PageHeader title="Proxy Settings" subtitle="The HTTP proxy that requests to the OAuth token endpoint go through. Leave the host blank to connect directly." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <ProxyEditor page /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn ProxyEditor(page: ProxyPage) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let action = ServerAction::<SaveProxySettings>::new();
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let password_set = Signal::derive(move || match action.value().get() {
        Some(Ok(saved)) => saved.password_set,
        _ => page.password_set,
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveProxySettings| {
            data.form.validate()
        })
    };
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let form = page.form.clone();
    view! {
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || matches!(action.value().get(), Some(Ok(_))).then(|| view! { <Banner kind=BannerKind::Success>"The proxy settings were saved."</Banner> })}
        <ActionForm action=action attr:class="settings-form" on:submit:capture=on_submit>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Proxy Address"</legend>
                <Field label="Proxy host server" for_id="proxy-host" error=error_for("host")
                    hint="Host name or IP address of the HTTP proxy.">
                    <input id="proxy-host" name="form[host]" type="text" maxlength="253" value=form.host.clone() />
                </Field>
                <Field label="Proxy port" for_id="proxy-port" error=error_for("port")>
                    <input id="proxy-port" name="form[port]" type="text" inputmode="numeric" maxlength="5" class="short" value=form.port.clone() />
                </Field>
            </fieldset>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Proxy Credentials"</legend>
                <Field label="User name" for_id="proxy-username" error=error_for("username")>
                    <input id="proxy-username" name="form[username]" type="text" maxlength="256" autocomplete="off" value=form.username.clone() />
                </Field>
                <Field label="Password" for_id="proxy-password" error=error_for("password")
                    hint="Write-only: leave blank to keep the stored password.">
                    <input id="proxy-password" name="form[password]" type="password" autocomplete="new-password"
                        placeholder=move || if password_set.get() { "•••••••• (set)" } else { "" } />
                </Field>
            </fieldset>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Bypass proxy for these hosts"</legend>
                <Field label="Hosts and domains" for_id="proxy-bypass" error=error_for("bypass")
                    hint="One per line or comma-separated: host names, domains (.corp.example) or IP addresses.">
                    <textarea id="proxy-bypass" name="form[bypass]" rows="4">{form.bypass.clone()}</textarea>
                </Field>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
        </ActionForm>
    }
}
