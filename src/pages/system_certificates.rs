//! Administration > System > Certificates > System Certificates and
//! Certificate Signing Requests, as ISE lays them out: one table per node,
//! Generate Self Signed Certificate, Import, Edit, Export, Delete; CSRs
//! generated, downloaded and bound to the CA-signed certificate.

use crate::api::ApiError;
use crate::api::system_certificates::{
    AddedCertificate, CertificateDefaults, CertificateEdit, GenerateSelfSignedCertificate,
    GenerateSigningRequest, KeyType, SigningRequest, SystemCertificate, bind_certificate,
    delete_signing_requests, delete_system_certificates, edit_system_certificate,
    export_system_certificate_key, import_system_certificate, list_signing_requests,
    list_system_certificates, system_certificate_defaults,
};
use crate::components::menu::{CERTIFICATE_SIGNING_REQUESTS, SYSTEM_CERTIFICATES};
use crate::components::{
    Banner, BannerKind, ConfirmBar, CopyButton, Field, LeftNav, PageHeader, PemDownload, load,
    submitted_form_data, use_can,
};
use crate::domain::Access;
use crate::domain::system_certificate::{file_stem, used_by_label};
use crate::pages::{format_day, format_time};
use leptos::prelude::*;
use leptos::web_sys::FormData;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use std::collections::BTreeSet;

fn error_view(e: ApiError) -> AnyView {
    view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any()
}

/// A navigation message in the query string (`?done=...`) shown as a
/// success banner.
fn done_banner() -> impl IntoView {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("done")
            .map(|text| view! { <Banner kind=BannerKind::Success>{text}</Banner> })
    }
}

fn done_url(base: &str, text: &str) -> String {
    format!("{base}?done={}", crate::domain::percent_encode(text))
}

#[component]
pub fn SystemCertificatesPage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let delete_action = Action::new(|ids: &Vec<i64>| delete_system_certificates(ids.clone()));
    let edit_action = Action::new(|edit: &CertificateEdit| edit_system_certificate(edit.clone()));
    let certificates = load(
        move || (delete_action.version().get(), edit_action.version().get()),
        |_| list_system_certificates(),
    );
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let panel = RwSignal::new(Panel::None);
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(delete_action.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
            panel.set(Panel::None);
        }
    });
    Effect::new(move |_| {
        if matches!(edit_action.value().get(), Some(Ok(_))) {
            panel.set(Panel::None);
        }
    });
    let one = move || {
        let s = selected.get();
        (s.len() == 1).then(|| s.into_iter().next()).flatten()
    };
    view! {
        <Title text="System Certificates" />
        <LeftNav>
            <PageHeader title="System Certificates" subtitle="The certificates each node presents over HTTPS: Admin for this console, Portal for the guest and sponsor portals. A change takes effect on the next connection, without a restart." />
            {done_banner()}
            {move || match delete_action.value().get() {
                Some(Ok(n)) => Some(view! { <Banner kind=BannerKind::Success>{format!("{n} certificate(s) deleted.")}</Banner> }.into_any()),
                Some(Err(e)) => Some(error_view(e)),
                None => None,
            }}
            {move || match edit_action.value().get() {
                Some(Ok(cert)) => Some(view! { <Banner kind=BannerKind::Success>{format!("'{}' was saved: used by {}.", cert.friendly_name, cert.used_by())}</Banner> }.into_any()),
                _ => None,
            }}
            <div class="toolbar" role="toolbar" aria-label="System certificate actions">
                <button type="button" class="btn" disabled=move || one().is_none()
                    on:click=move |_| panel.set(one().map_or(Panel::None, Panel::View))>"View"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || one().is_none()
                    on:click=move |_| panel.set(one().map_or(Panel::None, Panel::Edit))>"Edit"</button>
                {move || if can_change.get() {
                    view! {
                        <a href=format!("{SYSTEM_CERTIFICATES}/generate") class="btn">"Generate Self Signed Certificate"</a>
                        <a href=format!("{SYSTEM_CERTIFICATES}/import") class="btn">"Import"</a>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" class="btn" disabled>"Generate Self Signed Certificate"</button>
                        <button type="button" class="btn" disabled>"Import"</button>
                    }.into_any()
                }}
                <button type="button" class="btn" disabled=move || one().is_none()
                    on:click=move |_| panel.set(one().map_or(Panel::None, Panel::Export))>"Export"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_empty()
                    on:click=move |_| confirming.set(true)>"Delete"</button>
                <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
            </div>
            <Show when=move || confirming.get()>
                <ConfirmBar label="Confirm delete" confirm="Delete"
                    question=Signal::derive(move || format!("Delete {} certificate(s) and their private keys? This cannot be undone.", selected.get().len()))
                    on_confirm=move |_| {
                        confirming.set(false);
                        delete_action.dispatch(selected.get_untracked().into_iter().collect());
                    }
                    on_cancel=move |_| confirming.set(false) />
            </Show>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match certificates.await {
                        Ok(rows) => {
                            let for_panel = rows.clone();
                            view! {
                                <NodeTables rows selected />
                                {move || {
                                    let chosen = |id: i64| for_panel.iter().find(|c| c.id == id).cloned();
                                    match panel.get() {
                                        Panel::None => None,
                                        Panel::View(id) => chosen(id).map(|cert| view! { <CertificateDetail cert /> }.into_any()),
                                        Panel::Edit(id) => chosen(id).map(|cert| view! { <EditPanel cert action=edit_action on_cancel=move || panel.set(Panel::None) /> }.into_any()),
                                        Panel::Export(id) => chosen(id).map(|cert| view! { <ExportPanel cert can_export_key=can_change /> }.into_any()),
                                    }
                                }}
                            }.into_any()
                        }
                        Err(e) => error_view(e),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    None,
    View(i64),
    Edit(i64),
    Export(i64),
}

#[component]
fn NodeTables(rows: Vec<SystemCertificate>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    let mut nodes: Vec<String> = Vec::new();
    for row in &rows {
        if !nodes.contains(&row.node) {
            nodes.push(row.node.clone());
        }
    }
    let empty = rows.is_empty();
    view! {
        {empty.then(|| view! { <p class="empty">"No system certificates yet: each node generates a self-signed one on its first start."</p> })}
        {nodes.into_iter().map(|node| {
            let mine: Vec<SystemCertificate> = rows.iter().filter(|r| r.node == node).cloned().collect();
            view! {
                <section class="node-certificates" aria-label=format!("Certificates of {node}")>
                    <h2 class="table-title">{node.clone()}</h2>
                    <div class="table-scroll">
                    <table class="data-table">
                        <thead>
                            <tr>
                                <th class="check"></th>
                                <th>"Friendly Name"</th>
                                <th>"Used By"</th>
                                <th>"Issued To"</th>
                                <th>"Issued By"</th>
                                <th>"Valid From"</th>
                                <th>"Expiration Date"</th>
                                <th>"Status"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {mine.into_iter().map(|cert| {
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
                                        <td>{if cert.used_by_admin || cert.used_by_portal {
                                            view! { <span class="usage">{cert.used_by()}</span> }.into_any()
                                        } else {
                                            view! { <span class="muted">"Not in use"</span> }.into_any()
                                        }}</td>
                                        <td>{cert.issued_to.clone()}</td>
                                        <td>{if cert.self_signed { format!("{} (self-signed)", cert.issued_by) } else { cert.issued_by.clone() }}</td>
                                        <td>{format_day(cert.valid_from)}</td>
                                        <td>{format_day(cert.valid_to)}</td>
                                        <td><span class=cert.status.badge()>{cert.status.label()}</span></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                </section>
            }
        }).collect_view()}
    }
}

#[component]
fn CertificateDetail(cert: SystemCertificate) -> impl IntoView {
    let file_name = format!("{}.pem", file_stem(&cert.friendly_name));
    view! {
        <section class="cert-detail" aria-label="Certificate details">
            <h2>{cert.friendly_name.clone()}</h2>
            <dl class="facts">
                <dt>"Node"</dt><dd>{cert.node.clone()}</dd>
                <dt>"Used By"</dt><dd>{cert.used_by()}</dd>
                <dt>"Issued To"</dt><dd>{cert.issued_to.clone()}</dd>
                <dt>"Issued By"</dt><dd>{cert.issued_by.clone()}</dd>
                <dt>"Subject Alternative Names"</dt><dd>{cert.sans.join(", ")}</dd>
                <dt>"Key"</dt><dd>{cert.key_type.clone()}</dd>
                <dt>"Serial Number"</dt><dd class="mono">{cert.serial.clone()}</dd>
                <dt>"Valid From"</dt><dd>{format_time(cert.valid_from)}</dd>
                <dt>"Valid To"</dt><dd>{format_time(cert.valid_to)}</dd>
                <dt>"SHA-256"</dt><dd class="mono">{cert.sha256.clone()}</dd>
                <dt>"Added"</dt><dd>{format!("{} by {}", format_time(cert.created_at), cert.created_by)}</dd>
            </dl>
            <div class="transcript-actions">
                <CopyButton text=cert.certificate_pem.clone() label="Copy PEM" />
                <PemDownload pem=cert.certificate_pem.clone() file_name label="Download PEM" />
            </div>
            <pre class="pem">{cert.certificate_pem.clone()}</pre>
        </section>
    }
}

#[component]
fn EditPanel(
    cert: SystemCertificate,
    action: Action<CertificateEdit, Result<SystemCertificate, ApiError>>,
    on_cancel: impl Fn() + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let name = RwSignal::new(cert.friendly_name.clone());
    let admin = RwSignal::new(cert.used_by_admin);
    let portal = RwSignal::new(cert.used_by_portal);
    let id = cert.id;
    let error = move || action.value().get().and_then(|r| r.err());
    let field_error = move |field: &'static str| {
        Signal::derive(move || error().and_then(|e| e.field_message(field)))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(CertificateEdit {
            id,
            friendly_name: name.get_untracked(),
            used_by_admin: admin.get_untracked(),
            used_by_portal: portal.get_untracked(),
        });
    };
    view! {
        <section class="cert-detail" aria-label="Edit certificate">
            <h2>{format!("Edit: {}", cert.friendly_name)}</h2>
            {move || error().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <form class="settings-form" on:submit=on_submit>
                <Field label="Friendly Name" for_id="edit-name" required=true error=field_error("friendly_name")>
                    <input id="edit-name" type="text" maxlength="256" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                </Field>
                <div class="field">
                    <span class="label">"Usage"</span>
                    <div class="control">
                        <label class="checkbox"><input id="edit-admin" type="checkbox" prop:checked=admin on:change=move |ev| admin.set(event_target_checked(&ev)) />"Admin: the console's HTTPS"</label>
                        <label class="checkbox"><input id="edit-portal" type="checkbox" prop:checked=portal on:change=move |ev| portal.set(event_target_checked(&ev)) />"Portal: guest and sponsor portals"</label>
                        <p class="hint">"A usage moves here from the node's other certificate; the next connection gets this one."</p>
                        {move || field_error("used_by_admin").get().or_else(|| field_error("used_by_portal").get()).map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                    </div>
                </div>
                <div class="form-actions">
                    <button type="submit" class="btn primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                    <button type="button" class="btn" on:click=move |_| on_cancel()>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn ExportPanel(cert: SystemCertificate, can_export_key: Signal<bool>) -> impl IntoView {
    let with_key = RwSignal::new(false);
    let admin_password = RwSignal::new(String::new());
    let export_password = RwSignal::new(String::new());
    let confirm_password = RwSignal::new(String::new());
    let id = cert.id;
    let export = Action::new(move |_: &()| {
        export_system_certificate_key(
            id,
            admin_password.get_untracked(),
            export_password.get_untracked(),
            confirm_password.get_untracked(),
        )
    });
    let error = move || export.value().get().and_then(|r| r.err());
    let field_error = move |field: &'static str| {
        Signal::derive(move || error().and_then(|e| e.field_message(field)))
    };
    let file_name = format!("{}.pem", file_stem(&cert.friendly_name));
    view! {
        <section class="cert-detail" aria-label="Export certificate">
            <h2>{format!("Export: {}", cert.friendly_name)}</h2>
            <div class="field">
                <span class="label">"Export"</span>
                <div class="control">
                    <label class="checkbox"><input type="radio" name="export-kind" prop:checked=move || !with_key.get() on:change=move |_| with_key.set(false) />"Export Certificate Only"</label>
                    <label class="checkbox"><input id="export-with-key" type="radio" name="export-kind" disabled=move || !can_export_key.get() prop:checked=with_key on:change=move |_| with_key.set(true) />"Export Certificate and Private Key (PKCS#12)"</label>
                </div>
            </div>
            <Show when=move || !with_key.get()>
                <div class="form-actions">
                    <PemDownload pem=cert.certificate_pem.clone() file_name=file_name.clone() label="Download certificate (PEM)" />
                </div>
            </Show>
            <Show when=move || with_key.get()>
                {move || error().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
                <form class="settings-form" on:submit=move |ev| { ev.prevent_default(); export.dispatch(()); }>
                    <Field label="Your admin password" for_id="export-admin-password" required=true error=field_error("admin_password")
                        hint="Exporting a private key asks who you are again.">
                        <input id="export-admin-password" type="password" autocomplete="current-password" on:input=move |ev| admin_password.set(event_target_value(&ev)) />
                    </Field>
                    <Field label="Export password" for_id="export-password" required=true error=field_error("export_password")
                        hint="Encrypts the key in the file (AES-256); at least 8 characters.">
                        <input id="export-password" type="password" autocomplete="new-password" on:input=move |ev| export_password.set(event_target_value(&ev)) />
                    </Field>
                    <Field label="Confirm export password" for_id="export-confirm" required=true error=field_error("confirm_password")>
                        <input id="export-confirm" type="password" autocomplete="new-password" on:input=move |ev| confirm_password.set(event_target_value(&ev)) />
                    </Field>
                    <div class="form-actions">
                        <button type="submit" class="btn primary" disabled=move || export.pending().get()>
                            {move || if export.pending().get() { "Exporting…" } else { "Export" }}
                        </button>
                        {move || match export.value().get() {
                            Some(Ok(bundle)) => Some(view! {
                                <a class="btn" href=format!("data:application/x-pkcs12;base64,{}", bundle.base64) download=bundle.file_name.clone()>
                                    {format!("Download {}", bundle.file_name)}
                                </a>
                            }),
                            _ => None,
                        }}
                    </div>
                </form>
            </Show>
        </section>
    }
}

/// The subject, names, key and usage fields of both Generate forms, and
/// their buttons.
#[component]
fn RequestFields(
    defaults: CertificateDefaults,
    error_for: impl Fn(&'static str) -> Signal<Option<String>> + Copy + Send + Sync + 'static,
    with_validity: bool,
    pending: Signal<bool>,
    submit_label: &'static str,
    cancel_href: &'static str,
) -> impl IntoView {
    let sans = defaults.default_sans.join(", ");
    let this_node = defaults.this_node.clone();
    view! {
        <fieldset class="form-section">
            <legend>"Node and Usage"</legend>
            <Field label="Node" for_id="cert-node" error=error_for("node")>
                <select id="cert-node" name="form[node]">
                    {defaults.nodes.iter().map(|n| view! { <option value=n.clone() selected=*n == this_node>{n.clone()}</option> }).collect_view()}
                </select>
            </Field>
            <Field label="Friendly Name" for_id="cert-friendly-name" error=error_for("friendly_name")
                hint="Leave blank to use the Common Name.">
                <input id="cert-friendly-name" name="form[friendly_name]" type="text" maxlength="256" />
            </Field>
            <div class="field">
                <span class="label">"Usage"</span>
                <div class="control">
                    <label class="checkbox"><input id="cert-admin" name="form[used_by_admin]" type="checkbox" value="true" />"Admin: the console's HTTPS"</label>
                    <label class="checkbox"><input id="cert-portal" name="form[used_by_portal]" type="checkbox" value="true" />"Portal: guest and sponsor portals"</label>
                    <p class="hint">"Leave both unticked to assign the certificate later with Edit."</p>
                </div>
            </div>
        </fieldset>
        <fieldset class="form-section">
            <legend>"Subject"</legend>
            <Field label="Common Name (CN)" for_id="cert-cn" required=true error=error_for("common_name")>
                <input id="cert-cn" name="form[subject][common_name]" type="text" maxlength="64" value=defaults.default_sans.first().cloned().unwrap_or_default() />
            </Field>
            <Field label="Organizational Unit (OU)" for_id="cert-ou" error=error_for("organizational_unit")>
                <input id="cert-ou" name="form[subject][organizational_unit]" type="text" maxlength="64" />
            </Field>
            <Field label="Organization (O)" for_id="cert-o" error=error_for("organization")>
                <input id="cert-o" name="form[subject][organization]" type="text" maxlength="64" />
            </Field>
            <Field label="City (L)" for_id="cert-l" error=error_for("locality")>
                <input id="cert-l" name="form[subject][locality]" type="text" maxlength="128" />
            </Field>
            <Field label="State (ST)" for_id="cert-st" error=error_for("state")>
                <input id="cert-st" name="form[subject][state]" type="text" maxlength="128" />
            </Field>
            <Field label="Country (C)" for_id="cert-c" error=error_for("country")>
                <input id="cert-c" name="form[subject][country]" type="text" maxlength="2" class="short" />
            </Field>
            <Field label="Subject Alternative Name (SAN)" for_id="cert-sans" required=true error=error_for("sans")
                hint="DNS names (a leading *. for a wildcard) and IP addresses, separated by commas or lines. Browsers check these names.">
                <textarea id="cert-sans" name="form[sans]" rows="3">{sans}</textarea>
            </Field>
        </fieldset>
        <fieldset class="form-section">
            <legend>"Key"</legend>
            <Field label="Key Type" for_id="cert-key-type" error=error_for("key_type")>
                <select id="cert-key-type" name="form[key_type]">
                    {KeyType::ALL.into_iter().map(|k| view! { <option value=format!("{k:?}") selected=k == KeyType::default()>{k.label()}</option> }).collect_view()}
                </select>
            </Field>
            {with_validity.then(|| view! {
                <Field label="Expiration TTL (days)" for_id="cert-days" error=error_for("validity_days")
                    hint="1 to 1825 days (five years).">
                    <input id="cert-days" name="form[validity_days]" type="text" inputmode="numeric" class="short" value="365" />
                </Field>
            })}
        </fieldset>
        <div class="form-actions">
            <button type="submit" class="btn primary" disabled=move || pending.get()>
                {move || if pending.get() { "Generating…" } else { submit_label }}
            </button>
            <a href=cancel_href class="btn">"Cancel"</a>
        </div>
    }
}

#[component]
pub fn GenerateSelfSignedPage() -> impl IntoView {
    let defaults = load(|| (), |_| system_certificate_defaults());
    let action = ServerAction::<GenerateSelfSignedCertificate>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(cert)) = action.value().get() {
            navigate(
                &done_url(
                    SYSTEM_CERTIFICATES,
                    &format!(
                        "Generated '{}' (used by: {}).",
                        cert.friendly_name,
                        cert.used_by()
                    ),
                ),
                Default::default(),
            );
        }
    });
    let error = move || action.value().get().and_then(|r| r.err());
    let error_for = move |field: &'static str| {
        Signal::derive(move || error().and_then(|e| e.field_message(field)))
    };
    view! {
        <Title text="Generate Self Signed Certificate" />
        <LeftNav>
            <PageHeader title="Generate Self Signed Certificate" subtitle="A certificate signed by its own key: browsers warn until it is trusted. For production, generate a CSR and bind the CA-signed certificate." />
            {move || error().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match defaults.await {
                        Ok(defaults) => view! {
                            <ActionForm action=action attr:class="settings-form">
                                <RequestFields defaults error_for with_validity=true pending=action.pending().into()
                                    submit_label="Submit" cancel_href=SYSTEM_CERTIFICATES />
                            </ActionForm>
                        }.into_any(),
                        Err(e) => error_view(e),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
pub fn ImportSystemCertificatePage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let defaults = load(|| (), |_| system_certificate_defaults());
    let import =
        Action::new_local(|data: &FormData| import_system_certificate(data.clone().into()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(added)) = import.value().get() {
            navigate(&added_url(&added, "Imported"), Default::default());
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
        <Title text="Import System Certificate" />
        <LeftNav>
            <PageHeader title="Import Server Certificate" subtitle="A certificate with its private key, or a PKCS#12 bundle. A CA-signed certificate's chain must lead to a CA on Trusted Certificates." />
            {move || error().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <form class="settings-form" method="post" action="/api/upload_system_certificate" enctype="multipart/form-data" on:submit=on_submit>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <legend>"Certificate"</legend>
                    <Field label="Select Node" for_id="import-node" error=field_error("node")>
                        <Transition fallback=|| view! { <select id="import-node" name="node"></select> }>
                            {move || Suspend::new(async move {
                                let defaults = defaults.await.ok();
                                let this_node = defaults.as_ref().map(|d| d.this_node.clone()).unwrap_or_default();
                                let nodes = defaults.map(|d| d.nodes).unwrap_or_default();
                                view! {
                                    <select id="import-node" name="node">
                                        {nodes.into_iter().map(|n| view! { <option value=n.clone() selected=n == this_node>{n.clone()}</option> }).collect_view()}
                                    </select>
                                }
                            })}
                        </Transition>
                    </Field>
                    <Field label="Certificate File" for_id="import-cert" required=true error=field_error("certificate")
                        hint="PEM or DER, with the intermediates after the server's certificate; or a PKCS#12 bundle (.p12, .pfx) holding the key.">
                        <input id="import-cert" name="certificate" type="file" accept=".pem,.crt,.cer,.der,.p12,.pfx" />
                    </Field>
                    <Field label="Private Key File" for_id="import-key" error=field_error("private_key")
                        hint="PKCS#8 or PKCS#1 (RSA), PEM or DER; not needed with a PKCS#12 bundle.">
                        <input id="import-key" name="private_key" type="file" accept=".pem,.key,.der" />
                    </Field>
                    <Field label="Password" for_id="import-password" error=field_error("password")
                        hint="The encrypted key's or the bundle's password.">
                        <input id="import-password" name="password" type="password" autocomplete="off" />
                    </Field>
                    <Field label="Friendly Name" for_id="import-name" error=field_error("friendly_name")
                        hint="Leave blank to use the certificate's subject.">
                        <input id="import-name" name="friendly_name" type="text" maxlength="256" />
                    </Field>
                    <div class="field">
                        <span class="label">"Usage"</span>
                        <div class="control">
                            <label class="checkbox"><input id="import-admin" name="used_by_admin" type="checkbox" value="true" />"Admin: the console's HTTPS"</label>
                            <label class="checkbox"><input id="import-portal" name="used_by_portal" type="checkbox" value="true" />"Portal: guest and sponsor portals"</label>
                        </div>
                    </div>
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="btn primary" disabled=move || !can_change.get() || import.pending().get()>
                        {move || if import.pending().get() { "Importing…" } else { "Submit" }}
                    </button>
                    <a href=SYSTEM_CERTIFICATES class="btn">"Cancel"</a>
                </div>
            </form>
        </LeftNav>
    }
}

fn added_url(added: &AddedCertificate, verb: &str) -> String {
    done_url(
        SYSTEM_CERTIFICATES,
        &format!(
            "{verb} '{}' (used by: {}). Chain: {}.",
            added.certificate.friendly_name,
            added.certificate.used_by(),
            added.path.join(" ← ")
        ),
    )
}

#[component]
pub fn SigningRequestsPage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let delete_action = Action::new(|ids: &Vec<i64>| delete_signing_requests(ids.clone()));
    let requests = load(
        move || delete_action.version().get(),
        |_| list_signing_requests(),
    );
    let query = use_query_map();
    let shown: Option<i64> = query
        .read_untracked()
        .get("view")
        .and_then(|v| v.parse().ok());
    let selected = RwSignal::new(shown.into_iter().collect::<BTreeSet<i64>>());
    let viewing = RwSignal::new(shown);
    let confirming = RwSignal::new(false);
    let navigate = use_navigate();
    let one = move || {
        let s = selected.get();
        (s.len() == 1).then(|| s.into_iter().next()).flatten()
    };
    Effect::new(move |_| {
        if matches!(delete_action.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
            viewing.set(None);
        }
    });
    view! {
        <Title text="Certificate Signing Requests" />
        <LeftNav>
            <PageHeader title="Certificate Signing Requests" subtitle="Requests waiting for your CA. Download a request, have the CA sign it, then Bind Certificate: the key never leaves the console." />
            {done_banner()}
            {move || match delete_action.value().get() {
                Some(Ok(n)) => Some(view! { <Banner kind=BannerKind::Success>{format!("{n} signing request(s) deleted.")}</Banner> }.into_any()),
                Some(Err(e)) => Some(error_view(e)),
                None => None,
            }}
            <div class="toolbar" role="toolbar" aria-label="Signing request actions">
                {move || if can_change.get() {
                    view! { <a href=format!("{CERTIFICATE_SIGNING_REQUESTS}/generate") class="btn">"Generate Certificate Signing Requests (CSR)"</a> }.into_any()
                } else {
                    view! { <button type="button" class="btn" disabled>"Generate Certificate Signing Requests (CSR)"</button> }.into_any()
                }}
                <button type="button" class="btn" disabled=move || one().is_none()
                    on:click=move |_| viewing.set(one())>"View"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || one().is_none()
                    on:click=move |_| if let Some(id) = one() { navigate(&format!("{CERTIFICATE_SIGNING_REQUESTS}/bind?id={id}"), Default::default()) }>"Bind Certificate"</button>
                <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_empty()
                    on:click=move |_| confirming.set(true)>"Delete"</button>
                <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
            </div>
            <Show when=move || confirming.get()>
                <ConfirmBar label="Confirm delete" confirm="Delete"
                    question=Signal::derive(move || format!("Delete {} signing request(s) and their keys? A certificate the CA issues for them can then not be bound.", selected.get().len()))
                    on_confirm=move |_| {
                        confirming.set(false);
                        delete_action.dispatch(selected.get_untracked().into_iter().collect());
                    }
                    on_cancel=move |_| confirming.set(false) />
            </Show>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match requests.await {
                        Ok(rows) => {
                            let for_detail = rows.clone();
                            view! {
                                <RequestTable rows selected />
                                {move || viewing.get().and_then(|id| for_detail.iter().find(|r| r.id == id).cloned()).map(|request| view! { <RequestDetail request /> })}
                            }.into_any()
                        }
                        Err(e) => error_view(e),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn RequestTable(rows: Vec<SigningRequest>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    let count = rows.len();
    view! {
        <div class="table-scroll">
        <table class="data-table">
            <thead>
                <tr>
                    <th class="check"></th>
                    <th>"Friendly Name"</th>
                    <th>"Certificate Subject"</th>
                    <th>"Key Type"</th>
                    <th>"Used By"</th>
                    <th>"Requested By"</th>
                    <th>"Timestamp"</th>
                    <th>"Host"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|request| {
                    let id = request.id;
                    let checked = move || selected.get().contains(&id);
                    view! {
                        <tr class:selected=checked>
                            <td class="check">
                                <input type="checkbox" aria-label=format!("Select {}", request.friendly_name)
                                    prop:checked=checked
                                    on:change=move |ev| selected.update(|s| { if event_target_checked(&ev) { s.insert(id); } else { s.remove(&id); } }) />
                            </td>
                            <td>{request.friendly_name.clone()}</td>
                            <td>{request.subject.clone()}</td>
                            <td>{request.key_type.clone()}</td>
                            <td>{used_by_label(request.used_by_admin, request.used_by_portal)}</td>
                            <td>{request.created_by.clone()}</td>
                            <td>{format_time(request.created_at)}</td>
                            <td>{request.node.clone()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr><td colspan="8">{if count == 0 { "No signing requests are waiting.".to_string() } else { format!("{count} request(s)") }}</td></tr>
            </tfoot>
        </table>
        </div>
    }
}

#[component]
fn RequestDetail(request: SigningRequest) -> impl IntoView {
    let file_name = format!("{}.csr.pem", file_stem(&request.friendly_name));
    view! {
        <section class="cert-detail" aria-label="Signing request details">
            <h2>{request.friendly_name.clone()}</h2>
            <dl class="facts">
                <dt>"Subject"</dt><dd>{request.subject.clone()}</dd>
                <dt>"Subject Alternative Names"</dt><dd>{request.sans.join(", ")}</dd>
                <dt>"Key"</dt><dd>{request.key_type.clone()}</dd>
                <dt>"Node"</dt><dd>{request.node.clone()}</dd>
            </dl>
            <div class="transcript-actions">
                <CopyButton text=request.csr_pem.clone() label="Copy CSR" />
                <PemDownload pem=request.csr_pem.clone() file_name label="Export (download CSR)" />
            </div>
            <pre class="pem">{request.csr_pem.clone()}</pre>
        </section>
    }
}

#[component]
pub fn GenerateSigningRequestPage() -> impl IntoView {
    let defaults = load(|| (), |_| system_certificate_defaults());
    let action = ServerAction::<GenerateSigningRequest>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(request)) = action.value().get() {
            let done = done_url(
                CERTIFICATE_SIGNING_REQUESTS,
                &format!(
                    "The signing request '{}' was generated. Download it, have your CA sign it, then Bind Certificate.",
                    request.friendly_name
                ),
            );
            navigate(&format!("{done}&view={}", request.id), Default::default());
        }
    });
    let error = move || action.value().get().and_then(|r| r.err());
    let error_for = move |field: &'static str| {
        Signal::derive(move || error().and_then(|e| e.field_message(field)))
    };
    view! {
        <Title text="Generate Certificate Signing Request" />
        <LeftNav>
            <PageHeader title="Certificate Signing Request" subtitle="The key is generated and sealed in this console's vault; only the request goes to your CA." />
            {move || error().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match defaults.await {
                            Ok(defaults) => view! {
                                <ActionForm action=action attr:class="settings-form">
                                    <RequestFields defaults error_for with_validity=false pending=action.pending().into()
                                        submit_label="Generate" cancel_href=CERTIFICATE_SIGNING_REQUESTS />
                                </ActionForm>
                            }.into_any(),
                            Err(e) => error_view(e),
                        }
                    })}
                </Transition>
        </LeftNav>
    }
}

#[component]
pub fn BindCertificatePage() -> impl IntoView {
    let query = use_query_map();
    let request_id = move || query.read().get("id").unwrap_or_default();
    let requests = load(|| (), |_| list_signing_requests());
    let bind = Action::new_local(|data: &FormData| bind_certificate(data.clone().into()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(added)) = bind.value().get() {
            navigate(&added_url(&added, "Bound"), Default::default());
        }
    });
    let error = move || bind.value().get().and_then(|r| r.err());
    let field_error = move |field: &'static str| {
        Signal::derive(move || error().and_then(|e| e.field_message(field)))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if let Some(data) = submitted_form_data(&ev) {
            bind.dispatch_local(data);
        }
    };
    view! {
        <Title text="Bind CA Signed Certificate" />
        <LeftNav>
            <PageHeader title="Bind CA Signed Certificate" subtitle="The certificate your CA issued for the request, with its intermediates. Its public key must be the request's, and its chain must lead to a CA on Trusted Certificates." />
            {move || error().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let id: i64 = request_id().parse().unwrap_or(0);
                    match requests.await {
                        Ok(rows) => match rows.into_iter().find(|r| r.id == id) {
                            Some(request) => view! {
                                <dl class="facts request-facts">
                                    <dt>"Request"</dt><dd>{request.friendly_name.clone()}</dd>
                                    <dt>"Subject"</dt><dd>{request.subject.clone()}</dd>
                                    <dt>"Node"</dt><dd>{request.node.clone()}</dd>
                                    <dt>"Usage"</dt><dd>{used_by_label(request.used_by_admin, request.used_by_portal)}</dd>
                                </dl>
                                <form class="settings-form" method="post" action="/api/upload_bound_certificate" enctype="multipart/form-data" on:submit=on_submit>
                                    <input type="hidden" name="request_id" value=request.id.to_string() />
                                    <fieldset class="form-section">
                                        <legend>"CA-Signed Certificate"</legend>
                                        <Field label="Certificate File" for_id="bind-cert" required=true error=field_error("certificate")
                                            hint="PEM (with the intermediates after it) or DER.">
                                            <input id="bind-cert" name="certificate" type="file" accept=".pem,.crt,.cer,.der" />
                                        </Field>
                                        <Field label="Friendly Name" for_id="bind-name" error=field_error("friendly_name")
                                            hint="Leave blank to keep the request's name.">
                                            <input id="bind-name" name="friendly_name" type="text" maxlength="256" />
                                        </Field>
                                    </fieldset>
                                    <div class="form-actions">
                                        <button type="submit" class="btn primary" disabled=move || bind.pending().get()>
                                            {move || if bind.pending().get() { "Binding…" } else { "Submit" }}
                                        </button>
                                        <a href=CERTIFICATE_SIGNING_REQUESTS class="btn">"Cancel"</a>
                                    </div>
                                </form>
                            }.into_any(),
                            None => view! {
                                <Banner kind=BannerKind::Error>"This signing request no longer exists: it was bound or deleted."</Banner>
                                <a href=CERTIFICATE_SIGNING_REQUESTS class="btn">"Certificate Signing Requests"</a>
                            }.into_any(),
                        },
                        Err(e) => error_view(e),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}
