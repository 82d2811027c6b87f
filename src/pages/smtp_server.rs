//! Administration > System > Settings > SMTP Server.
//!
//! Save is enabled only after a Test Connection of exactly the values on
//! screen passed; any edit disables it again (and the server checks the
//! same rule on its own).

use crate::api::smtp::{
    OAuthCertificateInfo, SmtpPage, discard_next_client_secret, discard_next_oauth_certificate,
    generate_next_oauth_certificate, generate_oauth_certificate, get_smtp_settings,
    save_smtp_settings, stage_next_client_secret, switch_to_next_client_secret,
    switch_to_next_oauth_certificate, test_next_client_secret, test_next_oauth_certificate,
    test_smtp_connection, upload_next_oauth_certificate, upload_oauth_certificate,
};
use crate::components::{
    Banner, BannerKind, CopyButton, DiagnosisPanel, Field, LeftNav, PageHeader, PemDownload,
    Switch, load, submitted_form_data, use_can,
};
use crate::domain::connection_test::{ConnectionTestReport, StepStatus};
use crate::domain::exchange::{
    OBJECT_ID_NOTE, graph_setup_script, parse_enterprise_object_id, setup_script,
};
use crate::domain::smtp::{
    AuthorityUrl, ClientId, Cloud, NextSecretForm, SmtpSettingsForm, StoredSecrets, TenantId,
    graph_scope,
};
use crate::domain::transcript::{Direction, to_text};
use crate::domain::{Access, EmailAddress, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos::web_sys::FormData;
use leptos_meta::Title;

const INTRO: &str = "Configure a Simple Mail Transfer Protocol (SMTP) server to send email notifications for alarms, to enable sponsors to send email notification to guests with their login credentials and password reset instructions, and to enable guests to automatically receive their login credentials after they successfully register themselves and with actions to take before their guest accounts expire.";

#[component]
pub fn SmtpServerPage() -> impl IntoView {
    let page = load(|| (), |_| get_smtp_settings());
    let limits = load(|| (), |_| crate::api::limits::get_sending_limits());
    view! {
        <Title text="SMTP Server" />
        <LeftNav>
            <PageHeader title="SMTP Server Settings" subtitle=INTRO />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <SmtpEditor page /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match limits.await {
                        Ok(pacing) => view! { <crate::pages::sending_limits::SendingLimitsSection pacing /> }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
            <crate::pages::sender_pool::SenderPoolSection pacing=limits />
        </LeftNav>
    }
}

/// One signal per field of the form.
#[derive(Clone, Copy)]
struct FormSignals {
    smtp_server: RwSignal<String>,
    smtp_port: RwSignal<String>,
    connection_timeout: RwSignal<String>,
    use_tls: RwSignal<bool>,
    use_authentication: RwSignal<bool>,
    auth_type: RwSignal<String>,
    username: RwSignal<String>,
    password: RwSignal<String>,
    cloud: RwSignal<String>,
    custom_authority: RwSignal<String>,
    client_id: RwSignal<String>,
    tenant_id: RwSignal<String>,
    credential: RwSignal<String>,
    client_secret: RwSignal<String>,
    secret_expiry: RwSignal<String>,
    certificate_id: RwSignal<String>,
    transport: RwSignal<String>,
    graph_endpoint: RwSignal<String>,
}

impl FormSignals {
    fn new(form: &SmtpSettingsForm) -> Self {
        FormSignals {
            smtp_server: RwSignal::new(form.smtp_server.clone()),
            smtp_port: RwSignal::new(form.smtp_port.clone()),
            connection_timeout: RwSignal::new(form.connection_timeout.clone()),
            use_tls: RwSignal::new(form.use_tls),
            use_authentication: RwSignal::new(form.use_authentication),
            auth_type: RwSignal::new(form.auth_type.clone()),
            username: RwSignal::new(form.username.clone()),
            password: RwSignal::new(String::new()),
            cloud: RwSignal::new(form.cloud.clone()),
            custom_authority: RwSignal::new(form.custom_authority.clone()),
            client_id: RwSignal::new(form.client_id.clone()),
            tenant_id: RwSignal::new(form.tenant_id.clone()),
            credential: RwSignal::new(if form.credential.is_empty() {
                "secret".into()
            } else {
                form.credential.clone()
            }),
            client_secret: RwSignal::new(String::new()),
            secret_expiry: RwSignal::new(form.secret_expiry.clone()),
            certificate_id: RwSignal::new(form.certificate_id.clone()),
            transport: RwSignal::new(if form.transport.is_empty() {
                "smtp".into()
            } else {
                form.transport.clone()
            }),
            graph_endpoint: RwSignal::new(form.graph_endpoint.clone()),
        }
    }

    /// The values on screen (tracked: a closure reading this re-runs on any edit).
    fn form(&self) -> SmtpSettingsForm {
        SmtpSettingsForm {
            smtp_server: self.smtp_server.get(),
            smtp_port: self.smtp_port.get(),
            connection_timeout: self.connection_timeout.get(),
            use_tls: self.use_tls.get(),
            use_authentication: self.use_authentication.get(),
            auth_type: self.auth_type.get(),
            username: self.username.get(),
            password: self.password.get(),
            cloud: self.cloud.get(),
            custom_authority: self.custom_authority.get(),
            client_id: self.client_id.get(),
            tenant_id: self.tenant_id.get(),
            credential: self.credential.get(),
            client_secret: self.client_secret.get(),
            secret_expiry: self.secret_expiry.get(),
            certificate_id: self.certificate_id.get(),
            transport: self.transport.get(),
            graph_endpoint: self.graph_endpoint.get(),
        }
    }
}

fn cloud_of(code: &str, custom: &str) -> Option<Cloud> {
    match code {
        "us_government" => Some(Cloud::UsGovernment),
        "china" => Some(Cloud::China),
        "custom" => AuthorityUrl::parse("custom_authority", custom)
            .ok()
            .map(Cloud::Custom),
        _ => Some(Cloud::Global),
    }
}

const CLOUDS: [(&str, &str); 4] = [
    ("global", "Global (login.microsoftonline.com)"),
    ("us_government", "US Government (login.microsoftonline.us)"),
    (
        "china",
        "China, operated by 21Vianet (login.partner.microsoftonline.cn)",
    ),
    ("custom", "Custom authority URL"),
];

#[component]
fn SmtpEditor(page: SmtpPage) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let f = FormSignals::new(&page.form);
    let password_set = RwSignal::new(page.password_set);
    let secret_set = RwSignal::new(page.client_secret_set);
    let next_secret_set = RwSignal::new(page.next_secret_set);
    let next_secret_expiry = RwSignal::new(page.next_secret_expiry.clone());
    let certificate = RwSignal::new(page.certificate.clone());
    // The certificate the saved settings sign with: a next one replaces it.
    let saved_certificate = RwSignal::new(saved_certificate_of(&page));
    let next_certificate = RwSignal::new(page.next_certificate.clone());
    let credential_missing = RwSignal::new(page.credential_missing);
    let client_error = RwSignal::new(None::<FieldError>);
    let tested_form = RwSignal::new(None::<SmtpSettingsForm>);
    let test_action = Action::new(|form: &SmtpSettingsForm| test_smtp_connection(form.clone()));
    let save_action = Action::new(|form: &SmtpSettingsForm| save_smtp_settings(form.clone()));
    let saved_form = RwSignal::new(None::<SmtpSettingsForm>);

    let stored = move || StoredSecrets {
        password: password_set.get(),
        client_secret: secret_set.get(),
        certificate: certificate
            .get()
            .is_some_and(|c| c.id.to_string() == f.certificate_id.get()),
    };
    let report = move || test_action.value().get().and_then(|r| r.ok());
    let test_error = move || test_action.value().get().and_then(|r| r.err());
    let save_error = move || save_action.value().get().and_then(|r| r.err());
    // Save only for a passed test of exactly the values now on screen.
    let save_allowed = move || {
        can_change.get()
            && !save_action.pending().get()
            // A running test has not passed yet, whatever the last one said.
            && !test_action.pending().get()
            && report().is_some_and(|r| r.passed())
            && tested_form.get().as_ref() == Some(&f.form())
    };

    Effect::new(move |_| {
        if let Some(Ok(page)) = save_action.value().get() {
            password_set.set(page.password_set);
            secret_set.set(page.client_secret_set);
            f.password.set(String::new());
            f.client_secret.set(String::new());
            saved_certificate.set(saved_certificate_of(&page));
            next_certificate.set(page.next_certificate.clone());
            credential_missing.set(page.credential_missing);
            saved_form.set(Some(untrack(|| f.form())));
        }
    });
    // The "saved" banner stays until the next edit.
    let saved_message = move || {
        (saved_form.get().as_ref() == Some(&f.form()))
            .then_some("The SMTP server settings were saved.")
    };

    let error_for = move |field: &'static str| {
        Signal::derive(move || {
            client_error
                .get()
                .filter(|e| e.field == field)
                .map(|e| e.message)
                .or_else(|| test_error().and_then(|e| e.field_message(field)))
                .or_else(|| save_error().and_then(|e| e.field_message(field)))
        })
    };
    let run_test = move |_| {
        let form = f.form();
        match form.validate(stored()) {
            Ok(_) => {
                client_error.set(None);
                tested_form.set(Some(form.clone()));
                test_action.dispatch(form);
            }
            Err(error) => client_error.set(Some(error)),
        }
    };
    let run_save = move |_| {
        if save_allowed() {
            save_action.dispatch(f.form());
        }
    };
    let on_cloud = move |code: String| {
        let previous = cloud_of(&f.cloud.get_untracked(), "").and_then(|c| c.default_smtp_host());
        f.cloud.set(code.clone());
        if let Some(host) = cloud_of(&code, "").and_then(|c| c.default_smtp_host()) {
            let current = f.smtp_server.get_untracked();
            if current.trim().is_empty() || Some(current.trim()) == previous {
                f.smtp_server.set(host.to_string());
            }
            f.smtp_port.set("587".into());
            f.use_tls.set(true);
        }
    };
    let oauth = move || f.use_authentication.get() && f.auth_type.get() == "oauth";
    let password_auth = move || f.use_authentication.get() && f.auth_type.get() == "password";
    // Graph needs no SMTP server, port or STARTTLS.
    let graph = move || oauth() && f.transport.get() == "graph";
    let endpoint = move || {
        let tenant = f.tenant_id.get();
        let tenant = if tenant.trim().is_empty() {
            "{tenant}".to_string()
        } else {
            tenant.trim().to_string()
        };
        match cloud_of(&f.cloud.get(), &f.custom_authority.get()) {
            Some(cloud) => format!("{}/{tenant}/oauth2/v2.0/token", cloud.authority()),
            None => format!("{{authority}}/{tenant}/oauth2/v2.0/token"),
        }
    };
    let cloud_on_screen =
        move || cloud_of(&f.cloud.get(), &f.custom_authority.get()).unwrap_or(Cloud::Global);
    let graph_root = move || {
        let typed = f.graph_endpoint.get();
        if typed.trim().is_empty() {
            cloud_on_screen().graph_root()
        } else {
            typed.trim().trim_end_matches('/').to_string()
        }
    };
    let scope = move || {
        if graph() {
            graph_scope(&cloud_on_screen(), &graph_root())
        } else {
            cloud_on_screen().scope().to_string()
        }
    };
    let banner = move || {
        client_error
            .get()
            .is_none()
            .then(|| test_error().or_else(save_error).and_then(|e| e.banner()))
            .flatten()
    };
    let updated = page
        .updated_by
        .clone()
        .zip(page.updated_at)
        .map(|(by, at)| format!("Last saved by {by} at {}.", crate::pages::format_time(at)));

    view! {
        {move || banner().map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        {move || saved_message().map(|text| view! { <Banner kind=BannerKind::Success>{text}</Banner> })}
        {move || credential_missing.get().then(|| view! {
            <Banner kind=BannerKind::Warning>
                "The saved OAuth settings have no client secret or certificate: backups leave them out, so after a restore they must be entered again. Enter it, run Test Connection and Save; mail waits in the queue until then."
            </Banner>
        })}
        {move || (!can_change.get()).then(|| view! {
            <Banner kind=BannerKind::Info>"Your admin group can view these settings but not change them."</Banner>
        })}
        <div class="settings-form smtp-form">
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"SMTP Server Settings"</legend>
                <Show when=move || graph()>
                    <p class="hint wide-hint graph-note">"Mail goes through Microsoft Graph (sendMail) over HTTPS: no SMTP server, port or STARTTLS is used."</p>
                </Show>
                <Show when=move || !graph()>
                <Field label="SMTP Server" for_id="smtp-server" required=true error=error_for("smtp_server")
                    hint="Host name or IP address; smtp.office365.com for Exchange Online.">
                    <input id="smtp-server" type="text" maxlength="253" autocomplete="off"
                        prop:value=f.smtp_server on:input=move |ev| f.smtp_server.set(event_target_value(&ev)) />
                </Field>
                <Field label="SMTP Port" for_id="smtp-port" required=true error=error_for("smtp_port")
                    hint="1-65535; 587 with STARTTLS for Exchange Online.">
                    <input id="smtp-port" type="text" inputmode="numeric" maxlength="5" class="short"
                        prop:value=f.smtp_port on:input=move |ev| f.smtp_port.set(event_target_value(&ev)) />
                </Field>
                </Show>
                <Field label="Connection Timeout" for_id="smtp-timeout" required=true error=error_for("connection_timeout")
                    hint="Seconds (1-300) for the whole test: token, connection and SMTP dialogue.">
                    <input id="smtp-timeout" type="text" inputmode="numeric" maxlength="3" class="short"
                        prop:value=f.connection_timeout on:input=move |ev| f.connection_timeout.set(event_target_value(&ev)) />
                </Field>
            </fieldset>
            <Show when=move || !graph()>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Encryption settings"</legend>
                <Switch id="smtp-use-tls" label="Use TLS/SSL Encryption" checked=f.use_tls />
            </fieldset>
            </Show>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Authentication Settings"</legend>
                <Switch id="smtp-use-auth" label="Use Authentication Settings" checked=f.use_authentication />
                <Show when=move || f.use_authentication.get()>
                    <Choice label="Authentication Type" name="auth_type" value=f.auth_type
                        options=&[("password", "Password Based Authentication"), ("oauth", "MS Exchange Online OAuth")] />
                </Show>
                <Show when=password_auth>
                    <Field label="Username" for_id="smtp-username" required=true error=error_for("username")>
                        <input id="smtp-username" type="text" maxlength="256" autocomplete="off"
                            prop:value=f.username on:input=move |ev| f.username.set(event_target_value(&ev)) />
                    </Field>
                    <Field label="Password" for_id="smtp-password" required=true error=error_for("password")
                        hint="Write-only: leave blank to keep the stored password.">
                        <input id="smtp-password" type="password" autocomplete="new-password"
                            placeholder=move || if password_set.get() { "•••••••• (set)" } else { "" }
                            prop:value=f.password on:input=move |ev| f.password.set(event_target_value(&ev)) />
                    </Field>
                </Show>
                <Show when=oauth>
                    <Choice label="Transport" name="transport" value=f.transport
                        options=&[("smtp", "SMTP AUTH (XOAUTH2)"), ("graph", "Microsoft Graph (sendMail)")]
                        error=error_for("transport")
                        hint="Graph sends where the tenant turned SMTP AUTH off (535 5.7.139); the app needs Mail.Send instead of SMTP.SendAsApp." />
                    <Field label="Cloud" for_id="smtp-cloud" required=true error=error_for("cloud")
                        hint="Sets the authority, the scope and the default SMTP host together.">
                        <select id="smtp-cloud" on:change=move |ev| on_cloud(event_target_value(&ev))>
                            {CLOUDS.into_iter().map(|(code, label)| view! {
                                <option value=code selected=move || f.cloud.get() == code>{label}</option>
                            }).collect_view()}
                        </select>
                    </Field>
                    <Show when=move || f.cloud.get() == "custom">
                        <Field label="Authority URL" for_id="smtp-authority" required=true error=error_for("custom_authority")
                            hint="https://host[:port][/path]; plain http only for a loopback host.">
                            <input id="smtp-authority" type="text" maxlength="512" autocomplete="off"
                                prop:value=f.custom_authority on:input=move |ev| f.custom_authority.set(event_target_value(&ev)) />
                        </Field>
                    </Show>
                    <Show when=move || graph()>
                        <Field label="Graph Endpoint" for_id="smtp-graph-endpoint" error=error_for("graph_endpoint")
                            hint="Blank: the cloud's own. US Government DoD: https://dod-graph.microsoft.us.">
                            <input id="smtp-graph-endpoint" type="text" maxlength="512" autocomplete="off" spellcheck="false"
                                placeholder=move || cloud_on_screen().graph_root()
                                prop:value=f.graph_endpoint on:input=move |ev| f.graph_endpoint.set(event_target_value(&ev)) />
                        </Field>
                    </Show>
                    <Field label="Username" for_id="smtp-mailbox" required=true error=error_for("username")
                        hint="The Exchange Online mailbox that sends; the From address must be this mailbox.">
                        <input id="smtp-mailbox" type="text" inputmode="email" maxlength="254" autocomplete="off"
                            prop:value=f.username on:input=move |ev| f.username.set(event_target_value(&ev)) />
                    </Field>
                    <Field label="Client ID" for_id="smtp-client-id" required=true error=error_for("client_id")
                        hint="Entra ID > App registrations > (app) > Application (client) ID.">
                        <input id="smtp-client-id" type="text" maxlength="36" autocomplete="off" spellcheck="false"
                            prop:value=f.client_id on:input=move |ev| f.client_id.set(event_target_value(&ev)) />
                    </Field>
                    <Field label="Tenant ID" for_id="smtp-tenant-id" required=true error=error_for("tenant_id")
                        hint="Directory (tenant) ID, or a verified domain of the tenant.">
                        <input id="smtp-tenant-id" type="text" maxlength="253" autocomplete="off" spellcheck="false"
                            prop:value=f.tenant_id on:input=move |ev| f.tenant_id.set(event_target_value(&ev)) />
                    </Field>
                    <Choice label="Credential" name="credential" value=f.credential
                        options=&[("secret", "Use a client secret"), ("certificate", "Use a certificate (private key kept in this console)")]
                        error=error_for("credential") />
                    <Show when=move || f.credential.get() == "certificate">
                        <CertificatePanel f certificate />
                    </Show>
                    <Show when=move || f.credential.get() != "certificate">
                    <Field label="Client Secret" for_id="smtp-client-secret" required=true error=error_for("client_secret")
                        hint="The secret's Value (not its Secret ID). Write-only: leave blank to keep the stored secret.">
                        <input id="smtp-client-secret" type="password" autocomplete="new-password"
                            placeholder=move || if secret_set.get() { "•••••••• (set)" } else { "" }
                            prop:value=f.client_secret on:input=move |ev| f.client_secret.set(event_target_value(&ev)) />
                        {move || secret_set.get().then(|| view! {
                            <p class="secret-state"><span class="badge ok">"Secret set"</span>
                                {move || { let e = f.secret_expiry.get(); (!e.is_empty()).then(|| format!(" expires {e}")) }}
                            </p>
                        })}
                    </Field>
                    <Field label="Expiry Date" for_id="smtp-secret-expiry" required=true error=error_for("secret_expiry")
                        hint="When the client secret expires (YYYY-MM-DD); alarms warn before it does.">
                        <input id="smtp-secret-expiry" type="date" class="short"
                            prop:value=f.secret_expiry on:input=move |ev| f.secret_expiry.set(event_target_value(&ev)) />
                    </Field>
                    </Show>
                    <Show when=move || graph()>
                        <Field label="Graph sendMail API" for_id="smtp-graph-api">
                            <input id="smtp-graph-api" type="text" readonly
                                prop:value=move || format!("{}/v1.0/users/{}/sendMail", graph_root(), f.username.get().trim()) />
                        </Field>
                    </Show>
                    <Field label="OAuth Token Endpoint API" for_id="smtp-endpoint">
                        <input id="smtp-endpoint" type="text" readonly prop:value=endpoint />
                    </Field>
                    <Field label="Scope" for_id="smtp-scope">
                        <input id="smtp-scope" type="text" readonly prop:value=scope />
                    </Field>
                </Show>
            </fieldset>
            <div class="form-actions">
                <button type="button" class="btn" disabled=move || !can_change.get() || test_action.pending().get()
                    on:click=run_test>
                    {move || if test_action.pending().get() { "Testing…" } else { "Test Connection" }}
                </button>
                <button type="button" class="btn primary" disabled=move || !save_allowed() on:click=run_save>
                    {move || if save_action.pending().get() { "Saving…" } else { "Save" }}
                </button>
                <span class="form-note">
                    {move || if save_allowed() {
                        "Test passed for these values: they can be saved."
                    } else {
                        "Save is enabled after a successful Test Connection of the values on screen."
                    }}
                </span>
            </div>
            {updated.map(|text| view! { <p class="hint saved-by">{text}</p> })}
        </div>
        {move || report().map(|report| view! { <TestResult report /> })}
        <Show when=move || oauth() && f.credential.get() != "certificate" && secret_set.get()>
            <NextSecretPanel f secret_set next_secret_set next_secret_expiry />
        </Show>
        <Show when=move || oauth() && f.credential.get() == "certificate" && saved_certificate.get().is_some()>
            <NextCertificatePanel f certificate saved_certificate next_certificate />
        </Show>
        <Show when=oauth>
            <ExchangeHelper f />
        </Show>
    }
}

/// The certificate the saved settings sign with, if they use one.
fn saved_certificate_of(page: &SmtpPage) -> Option<i64> {
    page.certificate
        .as_ref()
        .filter(|_| page.form.credential == "certificate")
        .map(|c| c.id)
}

/// A labelled group of radio buttons bound to one value.
#[component]
fn Choice(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    options: &'static [(&'static str, &'static str)],
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="field" role="radiogroup" aria-label=label>
            <span class="radio-label">{label}</span>
            <div class="control radios">
                {options.iter().map(|&(code, text)| view! {
                    <label class="radio">
                        <input type="radio" name=name value=code
                            prop:checked=move || value.get() == code
                            on:change=move |_| value.set(code.to_string()) />
                        {text}
                    </label>
                }).collect_view()}
                {move || error.and_then(|e| e.get()).map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                {hint.map(|h| view! { <p class="hint">{h}</p> })}
            </div>
        </div>
    }
}

/// Next Client Secret: entered before the current one expires, tested
/// (token only or every rung), staged in the vault, and made current by
/// Switch Now after a passed test, or by delivery itself when Entra ID
/// refuses the current one. Write-only, like the current secret.
#[component]
fn NextSecretPanel(
    f: FormSignals,
    secret_set: RwSignal<bool>,
    next_secret_set: RwSignal<bool>,
    next_secret_expiry: RwSignal<String>,
) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let value = RwSignal::new(String::new());
    let expiry = RwSignal::new(next_secret_expiry.get_untracked());
    let form = move || NextSecretForm {
        next_client_secret: value.get(),
        next_secret_expiry: expiry.get(),
    };
    let client_error = RwSignal::new(None::<FieldError>);
    let test_action = Action::new(|(form, whole): &(NextSecretForm, bool)| {
        test_next_client_secret(form.clone(), *whole)
    });
    let stage_action = Action::new(|form: &NextSecretForm| stage_next_client_secret(form.clone()));
    let switch_action = Action::new(|_: &()| switch_to_next_client_secret());
    let discard_action = Action::new(|_: &()| discard_next_client_secret());
    let message = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<crate::api::ApiError>);
    // What the server said after each action: the page's new state.
    let apply = move |page: SmtpPage, text: &str| {
        secret_set.set(page.client_secret_set);
        next_secret_set.set(page.next_secret_set);
        next_secret_expiry.set(page.next_secret_expiry.clone());
        f.secret_expiry.set(page.form.secret_expiry.clone());
        value.set(String::new());
        expiry.set(page.next_secret_expiry);
        error.set(None);
        message.set(Some(text.to_string()));
    };
    Effect::new(move |_| match stage_action.value().get() {
        Some(Ok(page)) => apply(page, "The next client secret is staged."),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match switch_action.value().get() {
        Some(Ok(page)) => apply(
            page,
            "Switched: the next client secret is now the current one.",
        ),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match discard_action.value().get() {
        Some(Ok(page)) => apply(page, "The staged next client secret was discarded."),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let report = move || test_action.value().get().and_then(|r| r.ok());
    let test_error = move || test_action.value().get().and_then(|r| r.err());
    let checked = move || match form().validate(next_secret_set.get_untracked()) {
        Ok(_) => {
            client_error.set(None);
            true
        }
        Err(e) => {
            client_error.set(Some(e));
            false
        }
    };
    let run_test = move |whole: bool| {
        if checked() {
            message.set(None);
            test_action.dispatch((form(), whole));
        }
    };
    let error_for = move |field: &'static str| {
        Signal::derive(move || {
            client_error
                .get()
                .filter(|e| e.field == field)
                .map(|e| e.message)
                .or_else(|| test_error().and_then(|e| e.field_message(field)))
                .or_else(|| error.get().and_then(|e| e.field_message(field)))
        })
    };
    let banner = move || error.get().or_else(test_error).and_then(|e| e.banner());
    let busy = move || {
        test_action.pending().get()
            || stage_action.pending().get()
            || switch_action.pending().get()
            || discard_action.pending().get()
    };
    // Switch Now follows a passed test of the staged secret (the value
    // field blank: the test used the staged one).
    let switch_allowed = move || {
        can_change.get()
            && next_secret_set.get()
            && value.get().is_empty()
            && report().is_some_and(|r| r.passed())
    };
    view! {
        <section class="helper next-secret" aria-label="Next client secret">
            <h2>"Next Client Secret"</h2>
            <p class="hint wide-hint">"Enter the app's next secret before the current one expires. Stage keeps it sealed beside the current one; Switch Now makes it current after a passed test, and delivery switches to it by itself if Entra ID refuses the current secret as invalid or expired (AADSTS7000215, AADSTS7000222)."</p>
            {move || next_secret_set.get().then(|| view! {
                <p class="secret-state"><span class="badge ok">"Next secret staged"</span>
                    {move || { let e = next_secret_expiry.get(); (!e.is_empty()).then(|| format!(" expires {e}")) }}
                </p>
            })}
            {move || banner().map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            {move || message.get().map(|text| view! { <Banner kind=BannerKind::Success>{text}</Banner> })}
            <fieldset class="next-secret-fields" disabled=move || !can_change.get()>
                <Field label="Next Client Secret" for_id="smtp-next-secret" error=error_for("next_client_secret")
                    hint="The new secret's Value. Write-only: blank keeps the staged one.">
                    <input id="smtp-next-secret" type="password" autocomplete="new-password"
                        placeholder=move || if next_secret_set.get() { "•••••••• (staged)" } else { "" }
                        prop:value=value on:input=move |ev| value.set(event_target_value(&ev)) />
                </Field>
                <Field label="Next Secret Expiry Date" for_id="smtp-next-expiry" error=error_for("next_secret_expiry")
                    hint="YYYY-MM-DD, as Entra ID shows for the new secret.">
                    <input id="smtp-next-expiry" type="date" class="short"
                        prop:value=expiry on:input=move |ev| expiry.set(event_target_value(&ev)) />
                </Field>
            </fieldset>
            <div class="form-actions">
                <button type="button" class="btn" disabled=move || !can_change.get() || busy()
                    on:click=move |_| run_test(false)>"Test Token with Next Secret"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || busy()
                    on:click=move |_| run_test(true)>"Full Test with Next Secret"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || busy()
                    on:click=move |_| { if checked() { message.set(None); stage_action.dispatch(form()); } }>"Stage"</button>
                <button type="button" class="btn primary" disabled=move || !switch_allowed() || busy()
                    on:click=move |_| { switch_action.dispatch(()); }>"Switch Now"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || !next_secret_set.get() || busy()
                    on:click=move |_| { discard_action.dispatch(()); }>"Discard"</button>
            </div>
            {move || report().map(|report| view! {
                <TestResult report label="Next secret test result" title="Test with Next Secret" />
            })}
        </section>
    }
}

/// The Test Connection ladder, the diagnosis of the failing rung, and the transcript.
#[component]
fn TestResult(
    report: ConnectionTestReport,
    #[prop(default = "Test Connection result")] label: &'static str,
    #[prop(default = "Test Connection")] title: &'static str,
) -> impl IntoView {
    let passed = report.passed();
    let transcript_text = to_text(&report.transcript);
    view! {
        <section class="test-result" aria-label=label>
            <h2>{title}
                <span class="total">{format!("{} ms", report.total_millis)}</span>
            </h2>
            {if passed {
                view! { <Banner kind=BannerKind::Success>{report.summary.clone()}</Banner> }.into_any()
            } else {
                view! { <Banner kind=BannerKind::Error>{report.summary.clone()}</Banner> }.into_any()
            }}
            <ol class="ladder">
                {report.steps.iter().map(|step| {
                    let (class, mark) = match step.status {
                        StepStatus::Passed => ("rung passed", "✓"),
                        StepStatus::Failed => ("rung failed", "✕"),
                        StepStatus::NotRun => ("rung not-run", "–"),
                    };
                    let duration = match step.status {
                        StepStatus::NotRun => "not run".to_string(),
                        _ => format!("{} ms", step.millis),
                    };
                    view! {
                        <li class=class>
                            <span class="mark" aria-hidden="true">{mark}</span>
                            <span class="rung-name">{step.step.label()}</span>
                            <span class="rung-detail">{step.detail.clone()}</span>
                            <span class="rung-time">{duration}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            {report.diagnosis.clone().map(|diagnosis| view! { <DiagnosisPanel diagnosis /> })}
            {report.token_via_proxy.then(|| view! { <p class="hint">"The token request went through the configured proxy."</p> })}
            <details class="transcript">
                <summary>"Transcript (secrets masked)"</summary>
                <div class="transcript-actions"><CopyButton text=transcript_text.clone() label="Copy transcript" /></div>
                <pre>
                    {report.transcript.iter().map(|line| {
                        let class = match line.direction {
                            Direction::Sent => "sent",
                            Direction::Received => "received",
                            Direction::Note => "note",
                        };
                        let prefix = match line.direction {
                            Direction::Sent => "C: ",
                            Direction::Received => "S: ",
                            Direction::Note => "-- ",
                        };
                        view! { <span class=class>{format!("{prefix}{}\n", line.text)}</span> }
                    }).collect_view()}
                </pre>
            </details>
        </section>
    }
}

/// The PowerShell an Exchange admin runs so the app may send as the mailbox.
#[component]
fn ExchangeHelper(f: FormSignals) -> impl IntoView {
    let object_id = RwSignal::new(String::new());
    let script = move || -> Result<String, String> {
        let client = ClientId::parse("client_id", &f.client_id.get())
            .map_err(|_| "Enter a valid Client ID above.".to_string())?;
        let tenant = TenantId::parse("tenant_id", &f.tenant_id.get())
            .map_err(|_| "Enter a valid Tenant ID above.".to_string())?;
        let mailbox = EmailAddress::parse("username", &f.username.get())
            .map_err(|_| "Enter the mailbox (Username) above.".to_string())?;
        let object =
            parse_enterprise_object_id("object_id", &object_id.get()).map_err(|e| e.message)?;
        Ok(if f.transport.get() == "graph" {
            graph_setup_script(&client, &object, &mailbox, &tenant)
        } else {
            setup_script(&client, &object, &mailbox, &tenant)
        })
    };
    view! {
        <section class="helper" aria-label="Exchange set-up helper">
            <h2>"Exchange Online set-up helper"</h2>
            <p class="hint wide-hint">{move || if f.transport.get() == "graph" {
                "Exchange must grant the Entra app Mail.Send on this mailbox (and only on it) before Graph sends as it. An Exchange administrator runs these lines once."
            } else {
                "Exchange must know the Entra app before it accepts its tokens for this mailbox. An Exchange administrator runs these lines once."
            }}</p>
            <Field label="Enterprise Application Object ID" for_id="exchange-object-id" hint=OBJECT_ID_NOTE>
                <input id="exchange-object-id" type="text" maxlength="36" autocomplete="off" spellcheck="false"
                    prop:value=object_id on:input=move |ev| object_id.set(event_target_value(&ev)) />
            </Field>
            {move || match script() {
                Ok(text) => view! {
                    <div class="script">
                        <div class="transcript-actions"><CopyButton text=text.clone() label="Copy script" /></div>
                        <pre aria-label="PowerShell script">{text}</pre>
                    </div>
                }.into_any(),
                Err(missing) => view! { <p class="hint script-missing">{missing}</p> }.into_any(),
            }}
        </section>
    }
}

/// The certificate credential: the one the form names, with buttons to
/// generate a new key pair here or upload one made elsewhere.
#[component]
fn CertificatePanel(
    f: FormSignals,
    certificate: RwSignal<Option<OAuthCertificateInfo>>,
) -> impl IntoView {
    let generate = Action::new(|_: &()| generate_oauth_certificate());
    let upload = Action::new_local(|data: &FormData| upload_oauth_certificate(data.clone().into()));
    let uploading = RwSignal::new(false);
    Effect::new(move |_| {
        let made = generate.value().get().and_then(|r| r.ok());
        if let Some(made) = made {
            f.certificate_id.set(made.id.to_string());
            certificate.set(Some(made));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(made)) = upload.value().get() {
            f.certificate_id.set(made.id.to_string());
            certificate.set(Some(made));
            uploading.set(false);
        }
    });
    let error = move || {
        generate
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| upload.value().get().and_then(|r| r.err()))
    };
    let on_upload = Callback::new(move |data: FormData| {
        upload.dispatch_local(data);
    });
    let current = move || {
        certificate
            .get()
            .filter(|c| c.id.to_string() == f.certificate_id.get())
    };
    view! {
        <div class="certificate-panel" aria-label="Certificate credential" role="group">
            {move || match current() {
                Some(cert) => view! { <CertificateFacts cert file_name="mailroom-smtp-oauth.pem" /> }.into_any(),
                None => view! { <p class="hint wide-hint">"No certificate yet: generate a key pair here, or upload a certificate and its private key."</p> }.into_any(),
            }}
            {move || error().map(|e| view! {
                <p class="field-error" role="alert">{e.field_message("certificate").or_else(|| e.field_message("private_key")).unwrap_or_else(|| e.to_string())}</p>
            })}
            <div class="transcript-actions">
                <button type="button" class="btn" disabled=move || generate.pending().get()
                    on:click=move |_| { generate.dispatch(()); }>
                    {move || if generate.pending().get() { "Generating…" } else { "Generate key pair and certificate" }}
                </button>
                <button type="button" class="btn" on:click=move |_| uploading.update(|u| *u = !*u)>"Upload certificate and key"</button>
            </div>
            <Show when=move || uploading.get()>
                <KeyAndCertificateUpload id_prefix="oauth" on_upload pending=upload.pending() />
            </Show>
        </div>
    }
}

/// A certificate credential's public facts, and the certificate itself to
/// download or copy for the app registration.
#[component]
fn CertificateFacts(cert: OAuthCertificateInfo, file_name: &'static str) -> impl IntoView {
    view! {
        <dl class="facts">
            <dt>"Subject"</dt><dd>{cert.subject.clone()}</dd>
            <dt>"Valid to"</dt><dd>{format_time(cert.not_after)}</dd>
            <dt>"x5t#S256"</dt><dd class="mono">{cert.x5t_s256.clone()}</dd>
            <dt>"SHA-256"</dt><dd class="mono">{cert.sha256.clone()}</dd>
            <dt>"Origin"</dt><dd>{if cert.origin == "generated" { "Generated in this console" } else { "Uploaded" }}</dd>
        </dl>
        <p class="hint wide-hint">"Upload this certificate to Entra ID > App registrations > (app) > Certificates & secrets > Certificates. The private key stays in this console's vault."</p>
        <div class="transcript-actions">
            <PemDownload pem=cert.pem.clone() file_name label="Download certificate" />
            <CopyButton text=cert.pem label="Copy certificate" />
        </div>
    }
}

/// The form to upload a certificate made elsewhere with its private key.
#[component]
fn KeyAndCertificateUpload(
    id_prefix: &'static str,
    on_upload: Callback<FormData>,
    #[prop(into)] pending: Signal<bool>,
) -> impl IntoView {
    let cert_id = format!("{id_prefix}-cert-file");
    let key_id = format!("{id_prefix}-key-file");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        if let Some(data) = submitted_form_data(&ev) {
            on_upload.run(data);
        }
    };
    view! {
        <form class="upload-form" on:submit=submit>
            <Field label="Certificate" for_id=cert_id.clone() hint="PEM or DER.">
                <input id=cert_id name="certificate" type="file" accept=".pem,.crt,.cer,.der" />
            </Field>
            <Field label="Private Key" for_id=key_id.clone() hint="Unencrypted RSA key in PEM (PKCS#8 or PKCS#1).">
                <input id=key_id name="private_key" type="file" accept=".pem,.key" />
            </Field>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || pending.get()>"Upload"</button>
            </div>
        </form>
    }
}

/// Next Certificate: generated here or uploaded ahead of time (staged at
/// once: Entra ID accepts it only after the admin uploads it to the app
/// registration), tested (token only or every rung), and made current by
/// Switch Now after a passed test, or by delivery itself when Entra ID
/// refuses the current certificate.
#[component]
fn NextCertificatePanel(
    f: FormSignals,
    certificate: RwSignal<Option<OAuthCertificateInfo>>,
    saved_certificate: RwSignal<Option<i64>>,
    next_certificate: RwSignal<Option<OAuthCertificateInfo>>,
) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let generate_action = Action::new(|_: &()| generate_next_oauth_certificate());
    let test_action = Action::new(|whole: &bool| test_next_oauth_certificate(*whole));
    let upload_action =
        Action::new_local(|data: &FormData| upload_next_oauth_certificate(data.clone().into()));
    let switch_action = Action::new(|_: &()| switch_to_next_oauth_certificate());
    let discard_action = Action::new(|_: &()| discard_next_oauth_certificate());
    let uploading = RwSignal::new(false);
    let message = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<crate::api::ApiError>);
    // What the server said after each action: the page's new state.
    let apply = move |page: SmtpPage, text: &str| {
        if let Some(current) = page.certificate.clone() {
            f.certificate_id.set(current.id.to_string());
            certificate.set(Some(current));
        }
        saved_certificate.set(saved_certificate_of(&page));
        next_certificate.set(page.next_certificate);
        // A test proved the certificate staged then, not this one.
        test_action.value().set(None);
        uploading.set(false);
        error.set(None);
        message.set(Some(text.to_string()));
    };
    let outcome =
        move |result: Option<Result<SmtpPage, crate::api::ApiError>>, text: &str| match result {
            Some(Ok(page)) => apply(page, text),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        };
    Effect::new(move |_| {
        outcome(
            generate_action.value().get(),
            "A next certificate was generated and staged: upload it to the app registration, then test it.",
        )
    });
    Effect::new(move |_| {
        outcome(
            upload_action.value().get(),
            "The uploaded certificate is staged as the next one: upload it to the app registration too, then test it.",
        )
    });
    Effect::new(move |_| {
        outcome(
            switch_action.value().get(),
            "Switched: the next certificate is now the certificate credential.",
        )
    });
    Effect::new(move |_| {
        outcome(
            discard_action.value().get(),
            "The staged next certificate was discarded with its private key.",
        )
    });
    let report = move || test_action.value().get().and_then(|r| r.ok());
    let test_error = move || test_action.value().get().and_then(|r| r.err());
    let banner = move || {
        error.get().or_else(test_error).map(|e| {
            e.field_message("certificate")
                .or_else(|| e.field_message("private_key"))
                .unwrap_or_else(|| e.to_string())
        })
    };
    let busy = move || {
        generate_action.pending().get()
            || upload_action.pending().get()
            || test_action.pending().get()
            || switch_action.pending().get()
            || discard_action.pending().get()
    };
    let staged = move || next_certificate.get().is_some();
    // Switch Now follows a passed test of the certificate staged now.
    let switch_allowed =
        move || can_change.get() && staged() && report().is_some_and(|r| r.passed());
    let run_test = move |whole: bool| {
        message.set(None);
        error.set(None);
        test_action.dispatch(whole);
    };
    let on_upload = Callback::new(move |data: FormData| {
        message.set(None);
        upload_action.dispatch_local(data);
    });
    view! {
        <section class="helper next-secret next-certificate" aria-label="Next certificate">
            <h2>"Next Certificate"</h2>
            <p class="hint wide-hint">"Generate or upload the certificate that replaces the current one before it expires, and upload it to the app registration in Entra ID beside the current one. Switch Now makes it current after a passed test, and delivery switches to it by itself if Entra ID refuses the current certificate (AADSTS700027: removed from the app, or expired)."</p>
            {move || match next_certificate.get() {
                Some(cert) => view! {
                    <p class="secret-state"><span class="badge ok">"Next certificate staged"</span></p>
                    <CertificateFacts cert file_name="mailroom-smtp-oauth-next.pem" />
                }.into_any(),
                None => view! { <p class="hint wide-hint">"No next certificate is staged."</p> }.into_any(),
            }}
            {move || banner().map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            {move || message.get().map(|text| view! { <Banner kind=BannerKind::Success>{text}</Banner> })}
            <div class="form-actions">
                <button type="button" class="btn" disabled=move || !can_change.get() || busy()
                    on:click=move |_| { message.set(None); generate_action.dispatch(()); }>
                    {move || if generate_action.pending().get() { "Generating…" } else { "Generate Next Certificate" }}
                </button>
                <button type="button" class="btn" disabled=move || !can_change.get() || busy()
                    on:click=move |_| uploading.update(|u| *u = !*u)>"Upload Next Certificate"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || !staged() || busy()
                    on:click=move |_| run_test(false)>"Test Token with Next Certificate"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || !staged() || busy()
                    on:click=move |_| run_test(true)>"Full Test with Next Certificate"</button>
                <button type="button" class="btn primary" disabled=move || !switch_allowed() || busy()
                    on:click=move |_| { switch_action.dispatch(()); }>"Switch Now"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || !staged() || busy()
                    on:click=move |_| { discard_action.dispatch(()); }>"Discard"</button>
            </div>
            <Show when=move || uploading.get()>
                <KeyAndCertificateUpload id_prefix="next-oauth" on_upload pending=upload_action.pending() />
            </Show>
            {move || report().map(|report| view! {
                <TestResult report label="Next certificate test result" title="Test with Next Certificate" />
            })}
        </section>
    }
}
