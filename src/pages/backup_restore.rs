//! Administration > System > Backup & Restore.

use crate::api::backup::{
    BackupFile, BackupPage, RestoreFromRepository, RestoreSummary, SaveBackupSchedule, StartBackup,
    get_backup_page, list_backup_files, restore_uploaded_backup,
};
use crate::components::menu::REPOSITORY;
use crate::components::{
    Banner, BannerKind, ConfirmBar, Field, LeftNav, PageHeader, Switch, check_before_post,
    field_error, load, submitted_form_data, use_can,
};
use crate::domain::backup::{BackupRun, Frequency, RunStatus, WEEKDAYS};
use crate::domain::{Access, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos::web_sys::FormData;
use leptos_meta::Title;

#[component]
pub fn BackupRestorePage() -> impl IntoView {
    let start = ServerAction::<StartBackup>::new();
    let save_schedule = ServerAction::<SaveBackupSchedule>::new();
    // The forms are read again only after a change went through, so that
    // a refused one keeps what the admin typed; the history is also read
    // again while a run is under way.
    let saved = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(start.value().get(), Some(Ok(_))) {
            saved.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if matches!(save_schedule.value().get(), Some(Ok(_))) {
            saved.update(|n| *n += 1);
        }
    });
    let tick = RwSignal::new(0u32);
    let page = load(move || saved.get(), |_| get_backup_page());
    let history = load(move || (saved.get(), tick.get()), |_| get_backup_page());
    let running = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(page)) = history.get() {
            running.set(page.running());
        }
    });
    // A run that ends changes what the forms offer (the new file is there
    // to restore): they are read again then.
    let was_running = StoredValue::new(false);
    Effect::new(move |_| {
        let now = running.get();
        if was_running.get_value() && !now {
            saved.update(|n| *n += 1);
        }
        was_running.set_value(now);
    });
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if running.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_millis(700),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <Title text="Backup & Restore" />
        <LeftNav>
            <PageHeader title="Backup & Restore" subtitle="A configuration backup holds every setting, admin, guest type, portal, sponsor and guest account, encrypted with the Encryption Key you type. The OAuth client secret and certificate are never in it: enter them again after a restore." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! {
                            <BackupNow page=page.clone() start running />
                            <ScheduleBackup page=page.clone() save=save_schedule />
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    history.await.ok().map(|now| view! { <History runs=now.runs /> })
                                })}
                            </Transition>
                            <Restore page />
                        }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn BackupNow(
    page: BackupPage,
    start: ServerAction<StartBackup>,
    running: RwSignal<bool>,
) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || start.value().get().and_then(|r| r.err()));
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: StartBackup| data.form.validate())
    };
    let busy = move || running.get() || start.pending().get();
    let no_repository = page.repositories.is_empty();
    view! {
        <section class="backup-section" aria-label="Configuration Data Backup">
            <h2>"Configuration Data Backup"</h2>
            {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            {no_repository.then(|| view! {
                <Banner kind=BannerKind::Info>
                    "No repository yet: add one under "
                    <a href=REPOSITORY>"Maintenance > Repository"</a>
                    " first."
                </Banner>
            })}
            <ActionForm action=start attr:class="settings-form" on:submit:capture=on_submit>
                <fieldset class="form-section" disabled=move || !can_change.get() || busy()>
                    <Field label="Backup Name" for_id="backup-name" required=true error=error_for("name")
                        hint="The file is NAME-CFG-YYMMDD-HHMM.mrbak.">
                        <input id="backup-name" name="form[name]" type="text" maxlength="64" value="mailroom" />
                    </Field>
                    <Field label="Repository Name" for_id="backup-repository" required=true error=error_for("repository")>
                        <select id="backup-repository" name="form[repository]">
                            {page.repositories.iter().map(|r| view! { <option value=r.name.clone()>{r.name.clone()}</option> }).collect_view()}
                        </select>
                    </Field>
                    <Field label="Encryption Key" for_id="backup-key" required=true error=error_for("encryption_key")
                        hint="At least 8 characters. It is not stored: without it the backup cannot be restored.">
                        <input id="backup-key" name="form[encryption_key]" type="password" autocomplete="new-password" />
                    </Field>
                    <Field label="Re-Enter Encryption Key" for_id="backup-key-again" required=true error=error_for("confirm_key")>
                        <input id="backup-key-again" name="form[confirm_key]" type="password" autocomplete="new-password" />
                    </Field>
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="btn primary" disabled=move || !can_change.get() || no_repository || busy()>
                        {move || if busy() { "Backing up…" } else { "Backup Now" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn Progress(run: BackupRun) -> impl IntoView {
    let percent = run.percent.min(100);
    view! {
        <div class="backup-progress" role="status" aria-label="Backup progress">
            <p>{format!("{} {}: {} ({percent}%)", run.kind.label(), run.file_name, run.step)}</p>
            <progress max="100" value=percent.to_string()>{format!("{percent}%")}</progress>
        </div>
    }
}

fn size_text(bytes: u64) -> String {
    match bytes {
        0 => "—".to_string(),
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[component]
fn History(runs: Vec<BackupRun>) -> impl IntoView {
    let count = runs.len();
    view! {
        <section class="backup-section" aria-label="Backup History">
            <h2>"Backup and Restore History"</h2>
            {runs.iter().find(|r| r.status == RunStatus::Running).cloned().map(|run| view! { <Progress run /> })}
            <div class="table-scroll">
            <table class="data-table">
                <thead>
                    <tr>
                        <th>"Type"</th>
                        <th>"File"</th>
                        <th>"Repository"</th>
                        <th>"Started"</th>
                        <th>"Duration"</th>
                        <th>"Size"</th>
                        <th>"Status"</th>
                        <th>"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    {runs.into_iter().map(|run| {
                        let status_class = match run.status {
                            RunStatus::Succeeded => "status enabled",
                            RunStatus::Failed => "status failed",
                            RunStatus::Running => "status pending",
                        };
                        let details = match run.status {
                            RunStatus::Failed => run.message.clone(),
                            RunStatus::Running => format!("{} ({}%)", run.step, run.percent),
                            RunStatus::Succeeded => format!("by {}", run.started_by),
                        };
                        view! {
                            <tr>
                                <td>{run.kind.label()}</td>
                                <td class="mono">{run.file_name.clone()}</td>
                                <td>{run.repository.clone()}</td>
                                <td>{format_time(run.started_at)}</td>
                                <td>{run.duration_seconds().map(|s| format!("{s} s")).unwrap_or_else(|| "—".into())}</td>
                                <td>{size_text(run.size)}</td>
                                <td><span class=status_class>{run.status.label()}</span></td>
                                <td>{details}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
                <tfoot>
                    <tr><td colspan="8">{if count == 0 { "No backup or restore has run yet.".to_string() } else { format!("{count} run(s), newest first") }}</td></tr>
                </tfoot>
            </table>
            </div>
        </section>
    }
}

#[component]
fn Restore(page: BackupPage) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let first = page
        .repositories
        .first()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let repository = RwSignal::new(first);
    let files = load(
        move || repository.get(),
        |name| async move {
            if name.is_empty() {
                Ok(Vec::new())
            } else {
                list_backup_files(name).await
            }
        },
    );
    let chosen = RwSignal::new(None::<String>);
    let key = RwSignal::new(String::new());
    let confirming = RwSignal::new(false);
    let restore = ServerAction::<RestoreFromRepository>::new();
    let upload = Action::new_local(|data: &FormData| restore_uploaded_backup(data.clone().into()));
    let restore_error = Signal::derive(move || restore.value().get().and_then(|r| r.err()));
    let upload_error = Signal::derive(move || upload.value().get().and_then(|r| r.err()));
    let no_error = RwSignal::new(None::<FieldError>);
    let on_upload = move |ev: leptos::ev::SubmitEvent| {
        if let Some(data) = submitted_form_data(&ev) {
            upload.dispatch_local(data);
        }
    };
    let done = move || {
        restore
            .value()
            .get()
            .and_then(|r| r.ok())
            .or_else(|| upload.value().get().and_then(|r| r.ok()))
    };
    view! {
        <section class="backup-section" aria-label="Restore">
            <h2>"Restore Configuration"</h2>
            {move || done().map(|summary| view! { <Restored summary /> })}
            {move || restore_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <div class="settings-form">
                <Field label="Repository Name" for_id="restore-repository">
                    <select id="restore-repository" on:change=move |ev| { chosen.set(None); repository.set(event_target_value(&ev)); }>
                        {page.repositories.iter().map(|r| view! { <option value=r.name.clone()>{r.name.clone()}</option> }).collect_view()}
                    </select>
                </Field>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match files.await {
                        Ok(list) => view! { <FileTable files=list chosen /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
            <div class="settings-form">
                <Field label="Encryption Key" for_id="restore-key" required=true error=field_error(no_error, restore_error, "encryption_key")
                    hint="The key typed when the backup was taken.">
                    <input id="restore-key" type="password" autocomplete="off" prop:value=move || key.get()
                        on:input=move |ev| key.set(event_target_value(&ev)) />
                </Field>
                {move || restore_error.get().and_then(|e| e.field_message("file")).map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                <div class="form-actions">
                    <button type="button" class="btn primary"
                        disabled=move || !can_change.get() || chosen.get().is_none() || restore.pending().get()
                        on:click=move |_| confirming.set(true)>
                        {move || if restore.pending().get() { "Restoring…" } else { "Restore" }}
                    </button>
                </div>
            </div>
            <Show when=move || confirming.get()>
                <ConfirmBar label="Confirm restore" confirm="Restore"
                    question=Signal::derive(move || format!("Replace the whole configuration with '{}'? Every admin and sponsor is signed out, and the SMTP OAuth client secret or certificate must be entered again. Mail waits until then.", chosen.get().unwrap_or_default()))
                    on_confirm=move |_| {
                        confirming.set(false);
                        if let Some(file_name) = chosen.get_untracked() {
                            restore.dispatch(RestoreFromRepository {
                                repository: repository.get_untracked(),
                                file_name,
                                encryption_key: key.get_untracked(),
                            });
                        }
                    }
                    on_cancel=move |_| confirming.set(false) />
            </Show>
            <h3>"Restore from a file"</h3>
            {move || upload_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <form class="settings-form" method="post" action="/api/upload_restore_backup" enctype="multipart/form-data" on:submit=on_upload>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <Field label="Backup File" for_id="restore-file" required=true error=field_error(no_error, upload_error, "file")>
                        <input id="restore-file" name="file" type="file" accept=".mrbak" />
                    </Field>
                    <Field label="Encryption Key" for_id="restore-file-key" required=true error=field_error(no_error, upload_error, "encryption_key")>
                        <input id="restore-file-key" name="encryption_key" type="password" autocomplete="off" />
                    </Field>
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="btn" disabled=move || !can_change.get() || upload.pending().get()>
                        {move || if upload.pending().get() { "Restoring…" } else { "Upload and Restore" }}
                    </button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn FileTable(files: Vec<BackupFile>, chosen: RwSignal<Option<String>>) -> impl IntoView {
    let count = files.len();
    view! {
        <div class="table-scroll">
        <table class="data-table">
            <thead>
                <tr>
                    <th class="check"></th>
                    <th>"Backup File"</th>
                    <th>"Date"</th>
                    <th>"Size"</th>
                </tr>
            </thead>
            <tbody>
                {files.into_iter().map(|file| {
                    let name = file.file_name.clone();
                    let is_chosen = {
                        let name = name.clone();
                        move || chosen.get().as_deref() == Some(name.as_str())
                    };
                    let row_selected = is_chosen.clone();
                    view! {
                        <tr class:selected=row_selected>
                            <td class="check">
                                <input type="radio" name="backup-file" aria-label=format!("Select {}", file.file_name)
                                    prop:checked=is_chosen on:change=move |_| chosen.set(Some(name.clone())) />
                            </td>
                            <td class="mono">{file.file_name.clone()}</td>
                            <td>{format_time(file.modified_at)}</td>
                            <td>{size_text(file.size)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr><td colspan="4">{if count == 0 { "No backup files in this repository.".to_string() } else { format!("{count} backup file(s)") }}</td></tr>
            </tfoot>
        </table>
        </div>
    }
}

#[component]
fn Restored(summary: RestoreSummary) -> impl IntoView {
    view! {
        <Banner kind=BannerKind::Success>
            {format!("Restored {} tables ({} rows) and {} secrets from {}. Every session ended: ", summary.tables, summary.rows, summary.secrets, summary.file_name)}
            <a href="/login">"sign in again"</a>
            ", then enter the SMTP OAuth client secret (or certificate) on the SMTP Server page, run Test Connection and Save. Mail waits until then."
        </Banner>
    }
}

#[component]
fn ScheduleBackup(page: BackupPage, save: ServerAction<SaveBackupSchedule>) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || save.value().get().and_then(|r| r.err()));
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveBackupSchedule| {
            data.form.validate()
        })
    };
    let view_now = page.schedule.clone();
    let form = view_now.form.clone();
    let frequency = RwSignal::new(form.frequency.clone());
    let enabled = RwSignal::new(form.enabled == "true");
    let key_set = view_now.key_set;
    // Read again each time the weekly or monthly field is shown.
    let weekday_now = StoredValue::new(form.weekday.clone());
    let month_day_now = StoredValue::new(form.month_day.clone());
    view! {
        <section class="backup-section" aria-label="Schedule Backup">
            <h2>"Schedule Backup"</h2>
            {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <Banner kind=BannerKind::Success>"The backup schedule was saved."</Banner> })}
            <p class="hint schedule-next">{match view_now.next_run_at {
                Some(at) => format!("Next scheduled backup: {}.", format_time(at)),
                None => "Scheduled backups are off.".to_string(),
            }}</p>
            <ActionForm action=save attr:class="settings-form" on:submit:capture=on_submit>
                <fieldset class="form-section" disabled=move || !can_change.get()>
                    <Switch id="schedule-enabled" name="form[enabled]" label="Run configuration backups on this schedule" checked=enabled />
                    <Field label="Backup Name" for_id="schedule-name" required=true error=error_for("name")>
                        <input id="schedule-name" name="form[name]" type="text" maxlength="64" value=form.name.clone() />
                    </Field>
                    <Field label="Repository Name" for_id="schedule-repository" required=true error=error_for("repository")>
                        <select id="schedule-repository" name="form[repository]">
                            {page.repositories.iter().map(|r| {
                                let selected = r.name == form.repository;
                                view! { <option value=r.name.clone() selected=selected>{r.name.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </Field>
                    <Field label="Frequency" for_id="schedule-frequency" required=true error=error_for("frequency")>
                        <select id="schedule-frequency" name="form[frequency]" on:change=move |ev| frequency.set(event_target_value(&ev))>
                            {Frequency::ALL.into_iter().map(|f| view! {
                                <option value=f.as_str() selected=f.as_str() == form.frequency>{f.label()}</option>
                            }).collect_view()}
                        </select>
                    </Field>
                    <Field label="At (UTC)" for_id="schedule-time" required=true error=error_for("time")
                        hint="24-hour time, UTC, such as 02:00.">
                        <input id="schedule-time" name="form[time]" type="text" maxlength="5" class="short" value=form.time.clone() />
                    </Field>
                    <Show when=move || frequency.get() == "weekly">
                        <Field label="Day of Week" for_id="schedule-weekday" error=error_for("weekday")>
                            <select id="schedule-weekday" name="form[weekday]">
                                {WEEKDAYS.iter().enumerate().map(|(i, day)| {
                                    let value = i.to_string();
                                    let selected = weekday_now.with_value(|now| *now == value);
                                    view! { <option value=value selected=selected>{*day}</option> }
                                }).collect_view()}
                            </select>
                        </Field>
                    </Show>
                    <Show when=move || frequency.get() == "monthly">
                        <Field label="Day of Month" for_id="schedule-month-day" error=error_for("month_day")
                            hint="1 to 28, so that every month has it.">
                            <input id="schedule-month-day" name="form[month_day]" type="text" inputmode="numeric" maxlength="2" class="short" value=month_day_now.get_value() />
                        </Field>
                    </Show>
                    <Field label="Keep the last" for_id="schedule-keep" required=true error=error_for("keep_last")
                        hint="Backups of this schedule kept in the repository; older ones are deleted after each success. 0 keeps them all.">
                        <input id="schedule-keep" name="form[keep_last]" type="text" inputmode="numeric" maxlength="3" class="short" value=form.keep_last.clone() />
                    </Field>
                    <Field label="Encryption Key" for_id="schedule-key" error=error_for("encryption_key")
                        hint="Kept in the vault for scheduled backups; write-only: leave blank to keep the stored key.">
                        <input id="schedule-key" name="form[encryption_key]" type="password" autocomplete="new-password"
                            placeholder=if key_set { "•••••••• (set)" } else { "" } />
                    </Field>
                    <Field label="Re-Enter Encryption Key" for_id="schedule-key-again" error=error_for("confirm_key")>
                        <input id="schedule-key-again" name="form[confirm_key]" type="password" autocomplete="new-password" />
                    </Field>
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="btn primary" disabled=move || !can_change.get() || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save Schedule" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}
