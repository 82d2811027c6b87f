//! Administration > System > Certificates > Trusted Certificates.

use crate::api::certificates::{
    TRUST_INFRASTRUCTURE, TrustedCertificate, delete_trusted_certificates,
    import_trusted_certificate, list_trusted_certificates,
};
use crate::components::menu::TRUSTED_CERTIFICATES;
use crate::components::{
    Banner, BannerKind, ConfirmBar, CopyButton, Field, LeftNav, PageHeader, PemDownload, load,
    submitted_form_data, use_can,
};
use crate::domain::Access;
use crate::pages::{format_day, format_time};
use leptos::prelude::*;
use leptos::web_sys::FormData;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use std::collections::BTreeSet;

#[component]
pub fn TrustedCertificatesPage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let query = use_query_map();
    let imported = move || query.read().get("imported");
    let delete_action = Action::new(|ids: &Vec<i64>| delete_trusted_certificates(ids.clone()));
    let certificates = load(
        move || delete_action.version().get(),
        |_| list_trusted_certificates(),
    );
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let viewing = RwSignal::new(None::<i64>);
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(delete_action.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
            viewing.set(None);
        }
    });
    view! {
        <Title text="Trusted Certificates" />
        <LeftNav>
            <PageHeader title="Trusted Certificates" subtitle="CA certificates this node trusts, besides the operating system's, for outbound TLS: the SMTP server's STARTTLS and the OAuth token endpoint." />
            {move || imported().map(|name| view! { <Banner kind=BannerKind::Success>{format!("Certificate '{name}' was imported.")}</Banner> })}
            {move || match delete_action.value().get() {
                Some(Ok(n)) => Some(view! { <Banner kind=BannerKind::Success>{format!("{n} certificate(s) deleted.")}</Banner> }.into_any()),
                Some(Err(e)) => Some(view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            <div class="toolbar" role="toolbar" aria-label="Trusted certificate actions">
                <button type="button" class="btn" disabled=move || selected.get().len() != 1
                    on:click=move |_| viewing.set(selected.get_untracked().into_iter().next())>"View"</button>
                {move || if can_change.get() {
                    view! { <a href=format!("{TRUSTED_CERTIFICATES}/import") class="btn">"Import"</a> }.into_any()
                } else {
                    view! { <button type="button" class="btn" disabled>"Import"</button> }.into_any()
                }}
                <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_empty()
                    on:click=move |_| confirming.set(true)>"Delete"</button>
                <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
            </div>
            <Show when=move || confirming.get()>
                <ConfirmBar label="Confirm delete" confirm="Delete"
                    question=Signal::derive(move || format!("Delete {} certificate(s)? Connections to servers whose chain relies on them will fail.", selected.get().len()))
                    on_confirm=move |_| {
                        confirming.set(false);
                        delete_action.dispatch(selected.get_untracked().into_iter().collect());
                    }
                    on_cancel=move |_| confirming.set(false) />
            </Show>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match certificates.await {
                        Ok(rows) => view! { <CertificateTable rows=rows.clone() selected /> {move || viewing.get().and_then(|id| rows.iter().find(|c| c.id == id).cloned()).map(|cert| view! { <CertificateDetail cert /> })} }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn CertificateTable(
    rows: Vec<TrustedCertificate>,
    selected: RwSignal<BTreeSet<i64>>,
) -> impl IntoView {
    let count = rows.len();
    view! {
        <div class="table-scroll">
        <table class="data-table">
            <thead>
                <tr>
                    <th class="check"></th>
                    <th>"Friendly Name"</th>
                    <th>"Status"</th>
                    <th>"Trusted For"</th>
                    <th>"Serial Number"</th>
                    <th>"Issued To"</th>
                    <th>"Issued By"</th>
                    <th>"Valid From"</th>
                    <th>"Expiration Date"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|cert| {
                    let id = cert.id;
                    let checked = move || selected.get().contains(&id);
                    view! {
                        <tr class:selected=checked>
                            <td class="check">
                                <input type="checkbox" aria-label=format!("Select {}", cert.friendly_name)
                                    prop:checked=checked
                                    on:change=move |ev| selected.update(|s| { if event_target_checked(&ev) { s.insert(id); } else { s.remove(&id); } }) />
                            </td>
                            <td>{cert.friendly_name.clone()}</td>
                            <td><span class="status enabled">"Enabled"</span></td>
                            <td>{if cert.trust_infrastructure { "Infrastructure" } else { "—" }}</td>
                            <td class="mono serial">{cert.serial.clone()}</td>
                            <td>{cert.subject.clone()}</td>
                            <td>{cert.issuer.clone()}</td>
                            <td>{format_day(cert.not_before)}</td>
                            <td>{format_day(cert.not_after)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr><td colspan="9">{if count == 0 { "No certificates imported: only the operating system's roots are trusted.".to_string() } else { format!("{count} certificate(s)") }}</td></tr>
            </tfoot>
        </table>
        </div>
    }
}

#[component]
fn CertificateDetail(cert: TrustedCertificate) -> impl IntoView {
    view! {
        <section class="cert-detail" aria-label="Certificate details">
            <h2>{cert.friendly_name.clone()}</h2>
            <dl class="facts">
                <dt>"Issued To"</dt><dd>{cert.subject.clone()}</dd>
                <dt>"Issued By"</dt><dd>{cert.issuer.clone()}</dd>
                <dt>"Serial Number"</dt><dd class="mono">{cert.serial.clone()}</dd>
                <dt>"Valid From"</dt><dd>{format_time(cert.not_before)}</dd>
                <dt>"Valid To"</dt><dd>{format_time(cert.not_after)}</dd>
                <dt>"SHA-256"</dt><dd class="mono">{cert.sha256.clone()}</dd>
                <dt>"Trusted For"</dt><dd>{if cert.trust_infrastructure { TRUST_INFRASTRUCTURE } else { "Not trusted for outbound TLS" }}</dd>
                <dt>"Description"</dt><dd>{cert.description.clone()}</dd>
                <dt>"Imported"</dt><dd>{format!("{} by {}", format_time(cert.added_at), cert.added_by)}</dd>
            </dl>
            <div class="transcript-actions">
                <CopyButton text=cert.pem.clone() label="Copy PEM" />
                <PemDownload pem=cert.pem.clone() file_name="certificate.pem" label="Download PEM" />
            </div>
            <pre class="pem">{cert.pem.clone()}</pre>
        </section>
    }
}

#[component]
pub fn ImportCertificatePage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let import =
        Action::new_local(|data: &FormData| import_trusted_certificate(data.clone().into()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(cert)) = import.value().get() {
            let name = cert.friendly_name.replace(['&', '#', '?', '%'], " ");
            navigate(
                &format!("{TRUSTED_CERTIFICATES}?imported={name}"),
                Default::default(),
            );
        }
    });
    let error = move || import.value().get().and_then(|r| r.err());
    let field_error = move |field: &'static str| {
        Signal::derive(move || error().and_then(|e| e.field_message(field)))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if let Some(data) = submitted_form_data(&ev) {
            import.dispatch_local(data);
        }
    };
    view! {
        <Title text="Import Trusted Certificate" />
        <LeftNav>
            <PageHeader title="Import a new Certificate into the Certificate Store" />
            {move || error().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <form class="settings-form" method="post" action="/api/upload_trusted_certificate" enctype="multipart/form-data" on:submit=on_submit>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <legend>"Certificate"</legend>
                    <Field label="Certificate File" for_id="cert-file" required=true error=field_error("certificate")
                        hint="A CA certificate in PEM (.pem, .crt) or DER (.der, .cer) form.">
                        <input id="cert-file" name="certificate" type="file" accept=".pem,.crt,.cer,.der" />
                    </Field>
                    <Field label="Friendly Name" for_id="cert-name" error=field_error("friendly_name")
                        hint="Leave blank to use the certificate's subject.">
                        <input id="cert-name" name="friendly_name" type="text" maxlength="256" />
                    </Field>
                    <div class="field checkbox-field">
                        <span></span>
                        <label class="checkbox">
                            <input id="cert-trust-infra" name="trust_infrastructure" type="checkbox" value="true" checked=true />
                            {TRUST_INFRASTRUCTURE}
                        </label>
                    </div>
                    <Field label="Description" for_id="cert-description" error=field_error("description")>
                        <input id="cert-description" name="description" type="text" maxlength="256" />
                    </Field>
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="btn primary" disabled=move || !can_change.get() || import.pending().get()>
                        {move || if import.pending().get() { "Importing…" } else { "Submit" }}
                    </button>
                    <a href=TRUSTED_CERTIFICATES class="btn">"Cancel"</a>
                </div>
            </form>
        </LeftNav>
    }
}
