//! Administration > System > Maintenance > Repository.

use crate::api::backup::{
    AcceptHostKey, DeleteRepository, Repository, SaveRepository, ValidateRepository, Validation,
    list_repositories,
};
use crate::components::{
    Banner, BannerKind, ConfirmBar, Field, LeftNav, PageHeader, check_before_post, field_error,
    load, use_can,
};
use crate::domain::backup::{AUTH_KEY, AUTH_PASSWORD, DISK, RepositoryForm, SFTP};
use crate::domain::{Access, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let listed = load(|| (), |_| list_repositories());
    view! {
        <Title text="Repository" />
        <LeftNav>
            <PageHeader title="Repository List" subtitle="Where configuration backups are written and restored from. A DISK repository is a folder under this node's local disk; an SFTP repository is a folder on an SSH server whose host key you accept. Validate writes, lists, reads back and deletes a probe file." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match listed.await {
                        Ok(rows) => view! { <RepositoryList initial=rows /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn RepositoryList(initial: Vec<Repository>) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let rows = RwSignal::new(initial);
    let selected = RwSignal::new(None::<String>);
    // None: no editor; Some(None): adding; Some(Some(r)): editing r.
    let editing = RwSignal::new(None::<Option<Repository>>);
    let confirming = RwSignal::new(false);
    let save = ServerAction::<SaveRepository>::new();
    let delete = ServerAction::<DeleteRepository>::new();
    let validate = ServerAction::<ValidateRepository>::new();
    let accept = ServerAction::<AcceptHostKey>::new();
    // The last report, from Validate or from accepting a host key.
    let report = RwSignal::new(None::<Validation>);
    Effect::new(move |_| {
        if let Some(Ok(validation)) = validate.value().get() {
            report.set(Some(validation));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(validation)) = accept.value().get() {
            report.set(Some(validation));
            // The accepted key shows in the list.
            listed_again(rows);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(list)) = save.value().get() {
            rows.set(list);
            editing.set(None);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(list)) = delete.value().get() {
            rows.set(list);
            selected.set(None);
        }
    });
    let chosen = move || {
        selected
            .get()
            .and_then(|name| rows.get().into_iter().find(|r| r.name == name))
    };
    let refused = move || {
        delete
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| validate.value().get().and_then(|r| r.err()))
            .or_else(|| accept.value().get().and_then(|r| r.err()))
    };
    view! {
        {move || refused().map(|e| view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> })}
        {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <Banner kind=BannerKind::Success>"The repository was saved."</Banner> })}
        {move || matches!(delete.value().get(), Some(Ok(_))).then(|| view! { <Banner kind=BannerKind::Success>"The repository was deleted. Its backup files stay on the disk."</Banner> })}
        <div class="toolbar" role="toolbar" aria-label="Repository actions">
            <button type="button" class="btn" disabled=move || !can_change.get()
                on:click=move |_| editing.set(Some(None))>"Add"</button>
            <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_none()
                on:click=move |_| editing.set(Some(chosen()))>"Edit"</button>
            <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_none() || validate.pending().get()
                on:click=move |_| { if let Some(name) = selected.get_untracked() { report.set(None); validate.dispatch(ValidateRepository { name }); } }>
                {move || if validate.pending().get() { "Validating…" } else { "Validate" }}
            </button>
            <button type="button" class="btn" disabled=move || !can_change.get() || selected.get().is_none()
                on:click=move |_| confirming.set(true)>"Delete"</button>
            <span class="toolbar-count">{move || format!("Selected {}", usize::from(selected.get().is_some()))}</span>
        </div>
        <Show when=move || confirming.get()>
            <ConfirmBar label="Confirm delete" confirm="Delete"
                question=Signal::derive(move || format!("Delete the repository '{}'? Its backup files stay in the folder.", selected.get().unwrap_or_default()))
                on_confirm=move |_| {
                    confirming.set(false);
                    if let Some(name) = selected.get_untracked() {
                        delete.dispatch(DeleteRepository { name });
                    }
                }
                on_cancel=move |_| confirming.set(false) />
        </Show>
        <div class="table-scroll">
        <table class="data-table">
            <thead>
                <tr>
                    <th class="check"></th>
                    <th>"Name"</th>
                    <th>"Protocol"</th>
                    <th>"Server"</th>
                    <th>"Path"</th>
                    <th>"Changed"</th>
                </tr>
            </thead>
            <tbody>
                {move || rows.get().into_iter().map(|repo| {
                    let name = repo.name.clone();
                    let is_selected = {
                        let name = name.clone();
                        move || selected.get().as_deref() == Some(name.as_str())
                    };
                    let row_selected = is_selected.clone();
                    view! {
                        <tr class:selected=row_selected>
                            <td class="check">
                                <input type="radio" name="repository-choice" aria-label=format!("Select {}", repo.name)
                                    prop:checked=is_selected
                                    on:change=move |_| selected.set(Some(name.clone())) />
                            </td>
                            <td>{repo.name.clone()}</td>
                            <td>{repo.protocol.clone()}</td>
                            <td>{server_cell(&repo)}</td>
                            <td class="mono">{if repo.protocol == SFTP && repo.path.is_empty() { "~".to_string() } else { repo.path.clone() }}</td>
                            <td>{format!("{} by {}", format_time(repo.updated_at), repo.updated_by)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr><td colspan="6">{move || match rows.get().len() {
                    0 => "No repositories yet: add one to take backups from Backup & Restore.".to_string(),
                    1 => "1 repository".to_string(),
                    n => format!("{n} repositories"),
                }}</td></tr>
            </tfoot>
        </table>
        </div>
        {move || report.get().map(|v| view! { <ValidationReport validation=v accept /> })}
        {move || editing.get().map(|repo| view! { <RepositoryEditor repo save on_cancel=move || editing.set(None) /> })}
    }
}

/// The list read again (after a host key was accepted).
fn listed_again(rows: RwSignal<Vec<Repository>>) {
    leptos::task::spawn_local(async move {
        if let Ok(list) = list_repositories().await {
            rows.set(list);
        }
    });
}

/// DISK: none. SFTP: the account and server, and whether its host key is
/// accepted.
fn server_cell(repo: &Repository) -> impl IntoView + use<> {
    (repo.protocol == SFTP).then(|| {
        let key = match &repo.host_key {
            Some(key) => format!("host key {} {}", key.algorithm, key.fingerprint),
            None => "host key not accepted yet: Validate".to_string(),
        };
        view! {
            <span class="mono">{format!("{}@{}:{}", repo.username, repo.host, repo.port)}</span>
            <span class="cell-note" class:warning=repo.host_key.is_none()>{key}</span>
        }
    })
}

#[component]
fn ValidationReport(validation: Validation, accept: ServerAction<AcceptHostKey>) -> impl IntoView {
    let passed = validation.passed();
    let repository = validation.repository.clone();
    let offer = validation.host_key.clone().map(|offer| {
        let fingerprint = offer.presented.fingerprint.clone();
        let name = repository.clone();
        let changed = offer.pinned.is_some();
        view! {
            <div class="host-key-offer" class:changed=changed role="group" aria-label="Host key">
                <h3>{if changed { "The server's host key has changed" } else { "Accept the server's host key" }}</h3>
                {offer.pinned.map(|pinned| view! {
                    <p>"Accepted before: " <span class="mono">{format!("{} {}", pinned.algorithm, pinned.fingerprint)}</span></p>
                })}
                <p>"Presented now: " <span class="mono fingerprint">{format!("{} {}", offer.presented.algorithm, offer.presented.fingerprint)}</span></p>
                <p class="hint">{if changed {
                    "Accept the new key only if the server was rebuilt or its key replaced on purpose: otherwise someone may be intercepting the connection. Until then nothing is sent to it."
                } else {
                    "Compare it with the fingerprint the server itself prints (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server). Once accepted, the repository talks to this server only; a server presenting another key is refused."
                }}</p>
                <button type="button" class="btn primary" disabled=move || accept.pending().get()
                    on:click=move |_| { accept.dispatch(AcceptHostKey { name: name.clone(), fingerprint: fingerprint.clone() }); }>
                    {move || if accept.pending().get() { "Accepting…" } else if changed { "Accept the New Host Key" } else { "Accept Host Key" }}
                </button>
            </div>
        }
    });
    view! {
        <section class="cert-detail" aria-label="Validation">
            <h2>{format!("Validate '{}'", validation.repository)}</h2>
            {if passed {
                view! { <Banner kind=BannerKind::Success>"The repository works: the probe file was written, listed, read back and deleted."</Banner> }.into_any()
            } else {
                view! { <Banner kind=BannerKind::Error>"The repository failed a step: backups cannot be written to it until this is fixed."</Banner> }.into_any()
            }}
            <ol class="ladder">
                {validation.steps.into_iter().map(|step| {
                    let (class, mark, outcome) = if step.passed {
                        ("rung passed", "✓", "passed")
                    } else {
                        ("rung failed", "✕", "failed")
                    };
                    view! {
                        <li class=class>
                            <span class="mark" aria-hidden="true">{mark}</span>
                            <span class="rung-name">{step.step}</span>
                            <span class="rung-detail">{step.detail}</span>
                            <span class="rung-time">{outcome}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            {offer}
        </section>
    }
}

#[component]
fn RepositoryEditor(
    repo: Option<Repository>,
    save: ServerAction<SaveRepository>,
    on_cancel: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || save.value().get().and_then(|r| r.err()));
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveRepository| {
            data.form.validate()
        })
    };
    let credential_set = repo.as_ref().is_some_and(|r| r.credential_set);
    let form = repo
        .map(|r| RepositoryForm {
            original_name: r.name.clone(),
            name: r.name,
            port: if r.protocol == SFTP {
                r.port.to_string()
            } else {
                "22".into()
            },
            protocol: r.protocol,
            path: r.path,
            host: r.host,
            username: r.username,
            auth: r.auth,
            ..Default::default()
        })
        .unwrap_or_else(|| RepositoryForm {
            protocol: DISK.into(),
            path: "/".into(),
            port: "22".into(),
            ..Default::default()
        });
    let protocol = RwSignal::new(form.protocol.clone());
    let auth = RwSignal::new(if form.auth == AUTH_KEY {
        AUTH_KEY.to_string()
    } else {
        AUTH_PASSWORD.to_string()
    });
    let sftp = move || protocol.get() == SFTP;
    let kept = if credential_set {
        "Stored; leave blank to keep it."
    } else {
        ""
    };
    let stored = StoredValue::new(form.clone());
    let title = if form.original_name.is_empty() {
        "Add Repository"
    } else {
        "Edit Repository"
    };
    view! {
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        <ActionForm action=save attr:class="settings-form" on:submit:capture=on_submit>
            <input type="hidden" name="form[original_name]" value=form.original_name.clone() />
            <fieldset class="form-section">
                <legend>{title}</legend>
                <Field label="Repository Name" for_id="repository-name" required=true error=error_for("name")
                    hint="Letters, digits, '-' and '_'. Backup & Restore and the command line name it.">
                    <input id="repository-name" name="form[name]" type="text" maxlength="80" value=form.name.clone() />
                </Field>
                <Field label="Protocol" for_id="repository-protocol" required=true error=error_for("protocol")>
                    <select id="repository-protocol" name="form[protocol]"
                        on:change=move |ev| protocol.set(event_target_value(&ev))>
                        <option value=DISK selected=form.protocol != SFTP>"DISK"</option>
                        <option value=SFTP selected=form.protocol == SFTP>"SFTP"</option>
                    </select>
                </Field>
            </fieldset>
            <Show when=sftp>
                <fieldset class="form-section">
                    <legend>"Server"</legend>
                    <Field label="Server Name" for_id="repository-host" required=true error=error_for("host")
                        hint="The SFTP server's host name or IP address.">
                        <input id="repository-host" name="form[host]" type="text" maxlength="253" value=stored.with_value(|f| f.host.clone()) />
                    </Field>
                    <Field label="Port" for_id="repository-port" required=true error=error_for("port")>
                        <input id="repository-port" name="form[port]" type="text" inputmode="numeric" maxlength="5" value=stored.with_value(|f| f.port.clone()) />
                    </Field>
                    <Field label="User Name" for_id="repository-username" required=true error=error_for("username")>
                        <input id="repository-username" name="form[username]" type="text" maxlength="64" autocomplete="off" value=stored.with_value(|f| f.username.clone()) />
                    </Field>
                    <Field label="Authentication" for_id="repository-auth" required=true error=error_for("auth")>
                        <select id="repository-auth" name="form[auth]" on:change=move |ev| auth.set(event_target_value(&ev))>
                            <option value=AUTH_PASSWORD selected=auth.get_untracked() == AUTH_PASSWORD>"Password"</option>
                            <option value=AUTH_KEY selected=auth.get_untracked() == AUTH_KEY>"Private key"</option>
                        </select>
                    </Field>
                    <Show when=move || auth.get() == AUTH_PASSWORD
                        fallback=move || view! {
                            <Field label="Private Key" for_id="repository-private-key" required=true error=error_for("private_key")
                                hint="An unencrypted OpenSSH or PKCS#8 key (PEM) whose public half is in the account's ~/.ssh/authorized_keys. Kept encrypted in the vault; never shown again.">
                                <textarea id="repository-private-key" name="form[private_key]" rows="6" class="mono" autocomplete="off" spellcheck="false" placeholder=kept></textarea>
                            </Field>
                        }>
                        <Field label="Password" for_id="repository-password" required=true error=error_for("password")
                            hint="Kept encrypted in the vault; never shown again.">
                            <input id="repository-password" name="form[password]" type="password" autocomplete="new-password" placeholder=kept />
                        </Field>
                    </Show>
                </fieldset>
            </Show>
            <fieldset class="form-section">
                <legend>"Location"</legend>
                <Field label="Path" for_id="repository-path" required=true error=error_for("path")>
                    <input id="repository-path" name="form[path]" type="text" maxlength="255" value=form.path.clone() />
                    <p class="hint">{move || if sftp() {
                        "A folder on the server: absolute (/srv/backups) or under the account's home (backups, or blank for the home). It is made on the first backup."
                    } else {
                        "A folder under this node's local disk (MAILROOM_LOCALDISK), such as /backups; it is made on the first backup."
                    }}</p>
                </Field>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Submit" }}
                </button>
                <button type="button" class="btn" on:click=move |_| on_cancel()>"Cancel"</button>
            </div>
        </ActionForm>
    }
}
