//! Administration > System > Maintenance > Repository.

use crate::api::backup::{
    DeleteRepository, Repository, SaveRepository, ValidateRepository, Validation, list_repositories,
};
use crate::components::{
    Banner, BannerKind, ConfirmBar, Field, LeftNav, PageHeader, check_before_post, field_error,
    use_can,
};
use crate::domain::backup::{DISK, RepositoryForm};
use crate::domain::{Access, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let listed = Resource::new(|| (), |_| list_repositories());
    view! {
        <Title text="Repository" />
        <LeftNav>
            <PageHeader title="Repository List" subtitle="Where configuration backups are written and restored from. A DISK repository is a folder under this node's local disk; Validate writes, lists, reads back and deletes a probe file." />
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
                on:click=move |_| { if let Some(name) = selected.get_untracked() { validate.dispatch(ValidateRepository { name }); } }>
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
                            <td>"—"</td>
                            <td class="mono">{repo.path.clone()}</td>
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
        {move || validate.value().get().and_then(|r| r.ok()).map(|v| view! { <ValidationReport validation=v /> })}
        {move || editing.get().map(|repo| view! { <RepositoryEditor repo save on_cancel=move || editing.set(None) /> })}
    }
}

#[component]
fn ValidationReport(validation: Validation) -> impl IntoView {
    let passed = validation.passed();
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
    let form = repo
        .map(|r| RepositoryForm {
            original_name: r.name.clone(),
            name: r.name,
            protocol: r.protocol,
            path: r.path,
        })
        .unwrap_or_else(|| RepositoryForm {
            protocol: DISK.into(),
            path: "/".into(),
            ..Default::default()
        });
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
                    <select id="repository-protocol" name="form[protocol]">
                        <option value=DISK selected=true>"DISK"</option>
                    </select>
                </Field>
            </fieldset>
            <fieldset class="form-section">
                <legend>"Location"</legend>
                <Field label="Path" for_id="repository-path" required=true error=error_for("path")
                    hint="A folder under this node's local disk (MAILROOM_LOCALDISK), such as /backups; it is made on the first backup.">
                    <input id="repository-path" name="form[path]" type="text" maxlength="255" value=form.path.clone() />
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
