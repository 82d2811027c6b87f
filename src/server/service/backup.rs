//! Administration > System > Backup & Restore and Maintenance > Repository:
//! configuration backups taken now or on a schedule into a repository (a
//! folder under the node's local disk, or on an SFTP server whose host key
//! the admin accepted) with their progress and history, and restores from
//! a repository or an uploaded file. Changes are for Super Admins and System
//! Admins, audited with the file's name and never the key.

use super::{Caller, ServiceError, audit};
use crate::domain::alarm::AlarmCode;
use crate::domain::backup::{
    AUTH_KEY, BackupFile, BackupNowForm, BackupPage, BackupRun, DISK, Frequency, HostKey,
    LAST_MONTH_DAY, MIN_KEY_LENGTH, Repository, RepositoryForm, RunKind, RunStatus, SFTP, Schedule,
    ScheduleForm, ScheduleView, Validation, ValidationStep,
};
use crate::domain::{Access, Secret};
use crate::server::backup::{self, OpenError, Restored};
use crate::server::db::backup_runs::NewRun;
use crate::server::db::backup_schedule::ScheduleRow;
use crate::server::db::repositories::RepositoryRow;
use crate::server::repository::{Credential, Disk, OpenRefused, Repo, Sftp};
use crate::server::{AppState, db};
use crate::server::{alarms, settings};
use std::path::{Path, PathBuf};

/// The vault purpose of an SFTP repository's password or private key, by
/// repository name. Node configuration: never carried by a backup.
pub const REPOSITORY_CREDENTIAL: &str = "repository.credential";
use std::time::Instant;

/// What Backup Now wrote.
#[derive(Debug, Clone)]
pub struct BackupTaken {
    pub path: PathBuf,
    pub file_name: String,
    pub size: u64,
    pub millis: u64,
}

fn check_name(name: &str) -> Result<(), ServiceError> {
    Ok(crate::domain::backup::check_backup_name(name)?)
}

fn check_key(key: &Secret) -> Result<(), ServiceError> {
    if key.expose().chars().count() < MIN_KEY_LENGTH {
        return Err(ServiceError::invalid(
            "encryption_key",
            format!(
                "Enter an Encryption Key of at least {MIN_KEY_LENGTH} characters; it is needed to restore the backup and is not stored."
            ),
        ));
    }
    Ok(())
}

/// Why a repository refused the file, in the admin's terms.
fn write_refused(location: &str, error: &std::io::Error) -> ServiceError {
    use std::io::ErrorKind;
    let why = match error.kind() {
        ErrorKind::StorageFull => "the repository is full",
        ErrorKind::PermissionDenied => "the repository does not allow writing",
        ErrorKind::ReadOnlyFilesystem => "the repository is read-only",
        ErrorKind::NotFound => "the repository's folder does not exist",
        _ => "the repository refused the file",
    };
    ServiceError::Conflict(format!(
        "The backup could not be written to {location}: {why} ({error}). Nothing was kept."
    ))
}

/// The history row of a run started from the page, moved along its steps.
struct Progress<'a> {
    app: &'a AppState,
    run: Option<i64>,
}

impl Progress<'_> {
    async fn step(&self, step: &str, percent: i64) {
        if let Some(id) = self.run
            && let Err(error) = db::backup_runs::progress(&self.app.db, id, step, percent).await
        {
            tracing::error!(target: "system", "could not record the backup's progress: {error:#}");
        }
    }
}

const READING: &str = "Reading the configuration";
const SEALING: &str = "Compressing and encrypting";
const WRITING: &str = "Writing to the repository";

/// The configuration, without the OAuth credentials, sealed with `key` into
/// `repo` as `NAME-CFG-YYMMDD-HHMM.mrbak` (`file_name`, named when the run
/// started).
async fn take(
    app: &AppState,
    caller: &Caller,
    repo: &Repo,
    name: &str,
    file_name: &str,
    key: &Secret,
    progress: &Progress<'_>,
) -> Result<BackupTaken, ServiceError> {
    let started = Instant::now();
    let now = app.now();
    progress.step(READING, 10).await;
    let contents = backup::dump(app).await?;
    progress.step(SEALING, 40).await;
    let (name_owned, key) = (name.to_string(), key.clone());
    // Argon2id, compression and the write are blocking work.
    let bytes = tokio::task::spawn_blocking(move || {
        backup::seal(&contents, &name_owned, now, key.expose())
    })
    .await??;
    let size = bytes.len() as u64;
    progress.step(WRITING, 75).await;
    let opened = repo.open().await.map_err(|refused| {
        ServiceError::Conflict(format!(
            "The backup could not be written to {}: {refused} Nothing was kept.",
            repo.location()
        ))
    })?;
    let written = opened.write(file_name, bytes).await;
    opened.close().await;
    let path = written.map_err(|error| write_refused(&repo.location(), &error))?;
    let mut tx = db::begin_write(&app.db).await?;
    audit(
        &mut tx,
        caller,
        app.now(),
        "backup",
        "Configuration",
        file_name,
    )
    .await?;
    tx.commit().await?;
    let millis = started.elapsed().as_millis() as u64;
    tracing::info!(target: "system", user = %caller.name, "configuration backup {file_name} written ({size} bytes, {millis} ms)");
    Ok(BackupTaken {
        path,
        file_name: file_name.to_string(),
        size,
        millis,
    })
}

fn backup_file_name(app: &AppState, name: &str) -> Result<String, ServiceError> {
    let at =
        time::OffsetDateTime::from_unix_timestamp(app.now()).map_err(ServiceError::internal)?;
    Ok(backup::file_name(name, at))
}

/// Backup Now from the command line (`mailroom backup --to DIR`): into a
/// folder of the node that must exist.
pub async fn backup_now(
    app: &AppState,
    caller: &Caller,
    dir: &Path,
    name: &str,
    key: &Secret,
) -> Result<BackupTaken, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let name = name.trim();
    check_name(name)?;
    check_key(key)?;
    let file_name = backup_file_name(app, name)?;
    let progress = Progress { app, run: None };
    take(
        app,
        caller,
        &Repo::Disk(Disk::existing(dir)),
        name,
        &file_name,
        key,
        &progress,
    )
    .await
}

fn no_such_repository(name: &str) -> String {
    format!("There is no repository named '{name}'.")
}

/// A repository by name, as the forms send it, with its credential.
async fn repository(
    app: &AppState,
    field: &str,
    name: &str,
) -> Result<(RepositoryRow, Repo), ServiceError> {
    let row = db::repositories::get(&app.db, name.trim())
        .await?
        .ok_or_else(|| ServiceError::invalid(field, no_such_repository(name.trim())))?;
    let repo = if row.protocol == SFTP {
        let secret = app
            .vault
            .get(REPOSITORY_CREDENTIAL, &row.name)
            .await?
            .unwrap_or_else(|| Secret::new(String::new()));
        Repo::Sftp(Sftp {
            host: row.host.clone(),
            port: u16::try_from(row.port).unwrap_or(22),
            username: row.username.clone(),
            credential: if row.auth == AUTH_KEY {
                Credential::PrivateKey(secret)
            } else {
                Credential::Password(secret)
            },
            path: row.path.clone(),
            pinned: row.host_key.clone(),
        })
    } else {
        Repo::Disk(Disk::new(&app.config.local_disk, &row.path))
    };
    Ok((row, repo))
}

fn repository_view(row: RepositoryRow, credential_set: bool) -> Repository {
    let sftp = row.protocol == SFTP;
    Repository {
        path: if sftp {
            row.path
        } else {
            format!("/{}", row.path)
        },
        host: row.host,
        port: if sftp {
            u16::try_from(row.port).unwrap_or(22)
        } else {
            0
        },
        username: row.username,
        auth: row.auth,
        credential_set,
        host_key: HostKey::from_pin(&row.host_key),
        name: row.name,
        protocol: row.protocol,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
    }
}

/// Administration > System > Maintenance > Repository.
pub async fn list_repositories(
    app: &AppState,
    caller: &Caller,
) -> Result<Vec<Repository>, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::repositories::list(&app.db).await?;
    let mut repositories = Vec::with_capacity(rows.len());
    for row in rows {
        let credential_set =
            row.protocol == SFTP && app.vault.contains(REPOSITORY_CREDENTIAL, &row.name).await?;
        repositories.push(repository_view(row, credential_set));
    }
    Ok(repositories)
}

/// Adds a repository, or changes the one `form.original_name` names.
pub async fn save_repository(
    app: &AppState,
    caller: &Caller,
    form: &RepositoryForm,
) -> Result<Vec<Repository>, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let valid = form.validate()?;
    let now = app.now();
    let original = form.original_name.trim();
    let before = if original.is_empty() {
        None
    } else {
        db::repositories::get(&app.db, original).await?
    };
    let sftp = valid.sftp.as_ref();
    let mut row = RepositoryRow {
        name: valid.name.clone(),
        protocol: valid.protocol.to_string(),
        path: valid.path.clone(),
        host: sftp.map(|s| s.host.clone()).unwrap_or_default(),
        port: sftp.map_or(22, |s| i64::from(s.port)),
        username: sftp.map(|s| s.username.clone()).unwrap_or_default(),
        auth: sftp.map(|s| s.auth.to_string()).unwrap_or_default(),
        host_key: String::new(),
        updated_at: now,
        updated_by: caller.name.clone(),
    };
    // The accepted host key belongs to one server: it stays only while the
    // repository still points at it.
    if let Some(before) = &before
        && before.protocol == row.protocol
        && before.host == row.host
        && before.port == row.port
    {
        row.host_key = before.host_key.clone();
    }
    // The stored password or key stays (under the new name) unless a new
    // one is typed; switching between password and key needs the new one.
    let kept_credential = match &before {
        Some(before) if sftp.is_some() && before.auth == row.auth => {
            app.vault.get(REPOSITORY_CREDENTIAL, &before.name).await?
        }
        _ => None,
    };
    let credential = sftp
        .and_then(|s| s.new_credential.clone().map(Secret::new))
        .or(kept_credential);
    if let Some(sftp) = sftp
        && credential.is_none()
    {
        let (field, what) = if sftp.auth == AUTH_KEY {
            ("private_key", "the account's private key")
        } else {
            ("password", "the account's password")
        };
        return Err(ServiceError::invalid(
            field,
            format!("Enter {what}: the repository signs in with it."),
        ));
    }
    let taken = || {
        ServiceError::invalid(
            "name",
            format!("A repository named '{}' already exists.", valid.name),
        )
    };
    let mut tx = db::begin_write(&app.db).await?;
    let renamed_onto_another = original != valid.name
        && db::repositories::get(&mut *tx, &valid.name)
            .await?
            .is_some();
    if renamed_onto_another {
        return Err(taken());
    }
    let action = if original.is_empty() {
        db::repositories::insert(&mut *tx, &row).await?;
        "create"
    } else {
        if !db::repositories::update(&mut *tx, original, &row).await? {
            return Err(ServiceError::NotFound(no_such_repository(original)));
        }
        db::backup_schedule::rename_repository(&mut *tx, original, &row.name).await?;
        db::vault::delete(&mut *tx, REPOSITORY_CREDENTIAL, original).await?;
        "update"
    };
    if let Some(credential) = &credential {
        app.vault
            .put_in(&mut *tx, REPOSITORY_CREDENTIAL, &row.name, credential, now)
            .await?;
    }
    let view = repository_view(row.clone(), credential.is_some());
    let mut changed = format!("{} ({} {})", row.name, row.protocol, view.location());
    if sftp.is_some_and(|s| s.new_credential.is_some()) {
        changed.push_str(if row.auth == AUTH_KEY {
            ", private key"
        } else {
            ", password"
        });
    }
    audit(&mut tx, caller, now, action, "Repository", &changed).await?;
    tx.commit().await?;
    list_repositories(app, caller).await
}

pub async fn delete_repository(
    app: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<Vec<Repository>, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let mut tx = db::begin_write(&app.db).await?;
    let scheduled = db::backup_schedule::get(&mut *tx)
        .await?
        .is_some_and(|schedule| schedule.repository == name.trim());
    if scheduled {
        return Err(ServiceError::Conflict(format!(
            "The backup schedule writes to '{}': choose another repository under Schedule Backup first.",
            name.trim()
        )));
    }
    if !db::repositories::delete(&mut *tx, name.trim()).await? {
        return Err(ServiceError::NotFound(no_such_repository(name.trim())));
    }
    db::vault::delete(&mut *tx, REPOSITORY_CREDENTIAL, name.trim()).await?;
    audit(
        &mut tx,
        caller,
        app.now(),
        "delete",
        "Repository",
        name.trim(),
    )
    .await?;
    tx.commit().await?;
    list_repositories(app, caller).await
}

/// One rung of Validate, recorded; whether it passed.
fn record_step(
    steps: &mut Vec<ValidationStep>,
    step: &str,
    result: Result<String, String>,
) -> bool {
    let passed = result.is_ok();
    steps.push(ValidationStep {
        step: step.to_string(),
        passed,
        detail: result.unwrap_or_else(|why| why),
    });
    passed
}

/// Validate: (for SFTP: connects, checks the host key and signs in, then)
/// writes a probe file, finds it in the listing, reads it back and deletes
/// it, saying which step failed.
pub async fn validate_repository(
    app: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<Validation, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let (row, repo) = repository(app, "repository", name).await?;
    let probe = format!(
        "mailroom-probe-{}.{}",
        &crate::server::auth::random_token()[..12],
        backup::EXTENSION
    );
    const PROBE: &[u8] = b"mailroom repository probe";
    let mut steps = Vec::new();
    let mut host_key = None;
    let opened = match repo.open().await {
        Ok(opened) => {
            if let Repo::Sftp(sftp) = &repo {
                let pinned = HostKey::from_pin(&sftp.pinned)
                    .map(|k| format!("{} {}", k.algorithm, k.fingerprint))
                    .unwrap_or_default();
                record_step(
                    &mut steps,
                    "Connect over SSH",
                    Ok(format!("{}:{} answered", sftp.host, sftp.port)),
                );
                record_step(
                    &mut steps,
                    "Check the host key",
                    Ok(format!("the accepted key: {pinned}")),
                );
                record_step(
                    &mut steps,
                    "Sign in and start SFTP",
                    Ok(format!("signed in as {}", sftp.username)),
                );
            }
            Some(opened)
        }
        Err(refused) => {
            let connected = !matches!(refused, OpenRefused::Connect(_));
            record_step(
                &mut steps,
                "Connect over SSH",
                if connected {
                    Ok(format!("{}:{} answered", row.host, row.port))
                } else {
                    Err(refused.to_string())
                },
            );
            if connected {
                let key_fine = !matches!(refused, OpenRefused::HostKey(_));
                record_step(
                    &mut steps,
                    "Check the host key",
                    if key_fine {
                        Ok("the accepted key".to_string())
                    } else {
                        Err(refused.to_string())
                    },
                );
                if key_fine {
                    record_step(
                        &mut steps,
                        "Sign in and start SFTP",
                        Err(refused.to_string()),
                    );
                }
            }
            if let OpenRefused::HostKey(offer) = refused {
                host_key = Some(offer);
            }
            None
        }
    };
    if let Some(opened) = opened {
        let location = repo.location();
        let wrote = record_step(
            &mut steps,
            "Write a probe file",
            opened
                .write(&probe, PROBE.to_vec())
                .await
                .map(|_| format!("{probe} written in {location}"))
                .map_err(|e| e.to_string()),
        );
        let listed = wrote
            && record_step(
                &mut steps,
                "List the repository",
                match opened.list().await {
                    Ok(files) if files.iter().any(|f| f.file_name == probe) => {
                        Ok(format!("{} file(s), the probe among them", files.len()))
                    }
                    Ok(_) => Err("the probe file is not in the listing".to_string()),
                    Err(error) => Err(error.to_string()),
                },
            );
        if listed {
            record_step(
                &mut steps,
                "Read the probe file back",
                match opened.read(&probe, 1024).await {
                    Ok(bytes) if bytes == PROBE => Ok("the same bytes came back".to_string()),
                    Ok(_) => Err("the probe came back changed".to_string()),
                    Err(error) => Err(error.to_string()),
                },
            );
        }
        if wrote {
            record_step(
                &mut steps,
                "Delete the probe file",
                opened
                    .delete(&probe)
                    .await
                    .map(|()| "deleted".to_string())
                    .map_err(|e| e.to_string()),
            );
        }
        opened.close().await;
    }
    let validation = Validation {
        repository: row.name,
        steps,
        host_key,
    };
    tracing::info!(target: "system", user = %caller.name, "repository {} validated: {}", validation.repository, if validation.passed() { "passed" } else { "failed" });
    Ok(validation)
}

/// Accepts the host key an SFTP server presents, which must be the one the
/// admin was shown (`fingerprint`, `SHA256:…`): the repository then talks
/// to that server only. Replacing an accepted key needs the same step.
pub async fn accept_host_key(
    app: &AppState,
    caller: &Caller,
    name: &str,
    fingerprint: &str,
) -> Result<Validation, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let (row, repo) = repository(app, "repository", name).await?;
    let Repo::Sftp(sftp) = &repo else {
        return Err(ServiceError::Conflict(format!(
            "'{}' is a {DISK} repository: it has no host key.",
            row.name
        )));
    };
    let presented = match sftp.open().await {
        Ok(folder) => {
            folder.close().await;
            return Err(ServiceError::Conflict(format!(
                "The host key of {} is already the accepted one.",
                sftp.host
            )));
        }
        Err(OpenRefused::HostKey(offer)) => offer.presented,
        Err(refused) => return Err(ServiceError::Conflict(refused.to_string())),
    };
    if presented.fingerprint != fingerprint.trim() {
        return Err(ServiceError::Conflict(format!(
            "{} now presents {} {}, not the key you accepted ({}). Nothing was changed: Validate again and compare the fingerprint with the server's own.",
            sftp.host,
            presented.algorithm,
            presented.fingerprint,
            fingerprint.trim()
        )));
    }
    let mut tx = db::begin_write(&app.db).await?;
    if !db::repositories::pin_host_key(&mut *tx, &row.name, &row.host_key, &presented.to_pin())
        .await?
    {
        return Err(ServiceError::Conflict(
            "The repository changed meanwhile: Validate it again.".into(),
        ));
    }
    audit(
        &mut tx,
        caller,
        app.now(),
        "update",
        "Repository",
        &format!(
            "{}: host key {} {} of {}:{} accepted",
            row.name, presented.algorithm, presented.fingerprint, sftp.host, sftp.port
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(target: "system", user = %caller.name, "repository {}: host key {} {} accepted", row.name, presented.algorithm, presented.fingerprint);
    validate_repository(app, caller, &row.name).await
}

fn run_view(row: db::backup_runs::RunRow) -> BackupRun {
    BackupRun {
        id: row.id,
        kind: RunKind::parse(&row.kind),
        name: row.name,
        repository: row.repository,
        file_name: row.file_name,
        status: RunStatus::parse(&row.status),
        step: row.step,
        percent: row.percent.clamp(0, 100) as u8,
        size: row.size.max(0) as u64,
        started_at: row.started_at,
        finished_at: row.finished_at,
        started_by: row.started_by,
        message: row.message,
    }
}

/// The runs the history shows.
const HISTORY: i64 = 50;

/// Administration > System > Backup & Restore.
pub async fn backup_page(app: &AppState, caller: &Caller) -> Result<BackupPage, ServiceError> {
    caller.require(Access::View)?;
    Ok(BackupPage {
        repositories: list_repositories(app, caller).await?,
        schedule: schedule_view(app).await?,
        runs: db::backup_runs::recent(&app.db, HISTORY)
            .await?
            .into_iter()
            .map(run_view)
            .collect(),
    })
}

/// A backup into a repository, checked and recorded as running; the
/// caller then runs it with [`run_recorded`].
struct Started {
    id: i64,
    repo: Repo,
    name: String,
    file_name: String,
    key: Secret,
}

async fn start_recorded(
    app: &AppState,
    caller: &Caller,
    name: &str,
    repository_name: &str,
    key: Secret,
) -> Result<Started, ServiceError> {
    let name = name.trim();
    check_name(name)?;
    check_key(&key)?;
    let (row, repo) = repository(app, "repository", repository_name).await?;
    let running = db::backup_runs::recent(&app.db, HISTORY)
        .await?
        .iter()
        .any(|r| r.status == RunStatus::Running.as_str());
    if running {
        return Err(ServiceError::Conflict(
            "A backup or restore is in progress: wait for it to finish.".into(),
        ));
    }
    let file_name = backup_file_name(app, name)?;
    let id = db::backup_runs::start(
        &app.db,
        &NewRun {
            kind: RunKind::Backup.as_str(),
            name,
            repository: &row.name,
            file_name: &file_name,
            step: READING,
            started_at: app.now(),
            started_by: &caller.name,
            node: &app.config.node_name,
        },
    )
    .await?;
    Ok(Started {
        id,
        repo,
        name: name.to_string(),
        file_name,
        key,
    })
}

/// Takes a started backup and records its outcome in the history.
async fn run_recorded(
    app: &AppState,
    caller: &Caller,
    started: Started,
) -> Result<BackupTaken, ServiceError> {
    let Started {
        id,
        repo,
        name,
        file_name,
        key,
    } = started;
    let progress = Progress { app, run: Some(id) };
    let taken = take(app, caller, &repo, &name, &file_name, &key, &progress).await;
    let (status, size, message) = match &taken {
        Ok(taken) => {
            // A backup that works answers the alarm of one that did not.
            if let Err(error) = alarms::clear(app, AlarmCode::ScheduledBackupFailed).await {
                tracing::error!(target: "alarms", "could not clear the backup alarm: {error:#}");
            }
            (RunStatus::Succeeded, taken.size as i64, String::new())
        }
        Err(error) => {
            tracing::error!(target: "system", user = %caller.name, "configuration backup {file_name} failed: {error}");
            (RunStatus::Failed, 0, error.to_string())
        }
    };
    if let Err(error) =
        db::backup_runs::finish(&app.db, id, status.as_str(), size, app.now(), &message).await
    {
        tracing::error!(target: "system", "could not record the backup's outcome: {error:#}");
    }
    taken
}

/// Backup Now from the page: checked, recorded as running, then taken in
/// the background while the page follows its progress.
pub async fn start_backup(
    app: &AppState,
    caller: &Caller,
    form: &BackupNowForm,
) -> Result<BackupPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    check_name(form.name.trim())?;
    form.validate()?;
    let key = Secret::new(form.encryption_key.clone());
    let started = start_recorded(app, caller, &form.name, &form.repository, key).await?;
    let (app_owned, caller_owned) = (app.clone(), caller.clone());
    tokio::spawn(async move {
        // The outcome is in the history (and the log) for the page to show.
        let _ = run_recorded(&app_owned, &caller_owned, started).await;
    });
    backup_page(app, caller).await
}

/// A backup into a repository, waited for (`mailroom backup --repository`).
pub async fn backup_to_repository(
    app: &AppState,
    caller: &Caller,
    repository_name: &str,
    name: &str,
    key: &Secret,
) -> Result<BackupTaken, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let started = start_recorded(app, caller, name, repository_name, key.clone()).await?;
    run_recorded(app, caller, started).await
}

/// The backup files a repository holds, newest first.
pub async fn backup_files(
    app: &AppState,
    caller: &Caller,
    repository_name: &str,
) -> Result<Vec<BackupFile>, ServiceError> {
    caller.require(Access::View)?;
    let (_, repo) = repository(app, "repository", repository_name).await?;
    let could_not = |why: String| {
        ServiceError::Conflict(format!(
            "The repository {} could not be listed: {why}",
            repo.location()
        ))
    };
    let opened = repo.open().await.map_err(|e| could_not(e.to_string()))?;
    let listed = opened.list().await;
    opened.close().await;
    listed.map_err(|e| could_not(e.to_string()))
}

/// The largest backup file a restore reads (a backup of 10,000 guests is
/// well under a megabyte).
pub const MAX_BACKUP_BYTES: u64 = 16 * 1024 * 1024;

/// Restore from a file in a repository.
pub async fn restore_from_repository(
    app: &AppState,
    caller: &Caller,
    repository_name: &str,
    file_name: &str,
    key: &Secret,
) -> Result<Restored, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let (row, repo) = repository(app, "repository", repository_name).await?;
    let read = match repo.open().await {
        Ok(opened) => {
            let read = opened.read(file_name, MAX_BACKUP_BYTES).await;
            opened.close().await;
            read.map_err(|e| e.to_string())
        }
        Err(refused) => Err(refused.to_string()),
    };
    let bytes = read.map_err(|error| {
        ServiceError::invalid(
            "file",
            format!(
                "The backup '{file_name}' could not be read from {}: {error}",
                row.name
            ),
        )
    })?;
    restore_recorded(app, caller, bytes, file_name, &row.name, key).await
}

/// A restore the history shows, whatever its outcome.
async fn restore_recorded(
    app: &AppState,
    caller: &Caller,
    file: Vec<u8>,
    file_name: &str,
    repository_name: &str,
    key: &Secret,
) -> Result<Restored, ServiceError> {
    // An uploaded file's name is the browser's to choose: only its last
    // part, printable, and not too long, is recorded.
    let file_name: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let file_name = file_name.as_str();
    let name = file_name.split("-CFG-").next().unwrap_or(file_name);
    let id = db::backup_runs::start(
        &app.db,
        &NewRun {
            kind: RunKind::Restore.as_str(),
            name,
            repository: repository_name,
            file_name,
            step: "Restoring the configuration",
            started_at: app.now(),
            started_by: &caller.name,
            node: &app.config.node_name,
        },
    )
    .await?;
    let size = file.len() as i64;
    let restored = apply(app, caller, file, file_name, key).await;
    let (status, message) = match &restored {
        Ok(_) => (RunStatus::Succeeded, String::new()),
        Err(error) => (RunStatus::Failed, error.to_string()),
    };
    db::backup_runs::finish(&app.db, id, status.as_str(), size, app.now(), &message).await?;
    restored
}

/// Restore from a file (uploaded, or named on the command line); the
/// history shows it.
pub async fn restore(
    app: &AppState,
    caller: &Caller,
    file: Vec<u8>,
    file_name: &str,
    key: &Secret,
) -> Result<Restored, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    restore_recorded(app, caller, file, file_name, "file", key).await
}

/// Checks the key, every byte and the schema before anything
/// changes, then replaces the configuration in one transaction. The OAuth
/// client secret or certificate must be entered again afterwards.
async fn apply(
    app: &AppState,
    caller: &Caller,
    file: Vec<u8>,
    file_name: &str,
    key: &Secret,
) -> Result<Restored, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let key = key.clone();
    let opened = tokio::task::spawn_blocking(move || backup::open(&file, key.expose())).await?;
    let (header, contents) = opened.map_err(|error| {
        let field = match error {
            OpenError::WrongKey => "encryption_key",
            _ => "file",
        };
        ServiceError::invalid(field, error.to_string())
    })?;
    let restored = backup::restore(app, &contents, file_name, &caller.name).await?;
    app.mailer.settings_changed();
    if let Err(error) = crate::server::alarms::run_check(app).await {
        tracing::error!(target: "alarms", "alarm check failed: {error:#}");
    }
    tracing::warn!(target: "system", user = %caller.name, "configuration restored from {file_name} (taken {} by Mailroom {}): {} tables, {} rows, {} secrets", header.created_at, header.mailroom_version, restored.tables, restored.rows, restored.secrets);
    Ok(restored)
}

/// The vault purpose of the scheduled backups' Encryption Key. Node
/// configuration: never carried by a backup.
pub const SCHEDULE_KEY: &str = "backup.schedule-key";

/// Who the history and the audit name for a scheduled backup.
const SCHEDULER: &str = "system (schedule)";

fn schedule_of(row: &ScheduleRow) -> Schedule {
    Schedule {
        frequency: Frequency::parse(&row.frequency).unwrap_or(Frequency::Daily),
        at_minute: row.at_minute.clamp(0, 24 * 60 - 1) as u32,
        weekday: row.weekday.clamp(0, 6) as u32,
        month_day: row.month_day.clamp(1, i64::from(LAST_MONTH_DAY)) as u32,
    }
}

async fn schedule_view(app: &AppState) -> Result<ScheduleView, ServiceError> {
    let key_set = app
        .vault
        .contains(SCHEDULE_KEY, settings::SINGLETON)
        .await?;
    let row = db::backup_schedule::get(&app.db).await?;
    Ok(match row {
        None => ScheduleView {
            form: ScheduleForm {
                enabled: "false".into(),
                name: "scheduled".into(),
                frequency: Frequency::Daily.as_str().into(),
                time: "02:00".into(),
                weekday: "6".into(),
                month_day: "1".into(),
                keep_last: "7".into(),
                ..Default::default()
            },
            key_set,
            next_run_at: None,
        },
        Some(row) => ScheduleView {
            next_run_at: row.enabled.then(|| schedule_of(&row).next_due(app.now())),
            form: ScheduleForm {
                enabled: row.enabled.to_string(),
                name: row.name,
                repository: row.repository,
                frequency: row.frequency,
                time: format!("{:02}:{:02}", row.at_minute / 60, row.at_minute % 60),
                weekday: row.weekday.to_string(),
                month_day: row.month_day.to_string(),
                keep_last: row.keep_last.to_string(),
                ..Default::default()
            },
            key_set,
        },
    })
}

/// Schedule Backup: when, where to, how many files to keep, and the key
/// (kept in the vault; blank keeps the stored one). The next due time
/// counts from now: saving never starts a backup for a time already past.
pub async fn save_schedule(
    app: &AppState,
    caller: &Caller,
    form: &ScheduleForm,
) -> Result<BackupPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let valid = form.validate()?;
    let (repository_row, _) = repository(app, "repository", &valid.repository).await?;
    let key_set = app
        .vault
        .contains(SCHEDULE_KEY, settings::SINGLETON)
        .await?;
    if valid.enabled && valid.new_key.is_none() && !key_set {
        return Err(ServiceError::invalid(
            "encryption_key",
            "Enter the Encryption Key scheduled backups are sealed with (it is kept in the vault; restoring needs it).",
        ));
    }
    let now = app.now();
    let schedule = valid.schedule;
    let row = ScheduleRow {
        enabled: valid.enabled,
        name: valid.name.clone(),
        repository: repository_row.name,
        frequency: schedule.frequency.as_str().to_string(),
        at_minute: i64::from(schedule.at_minute),
        weekday: i64::from(schedule.weekday),
        month_day: i64::from(schedule.month_day),
        keep_last: i64::from(valid.keep_last),
        last_due: schedule.latest_due(now),
        updated_at: now,
        updated_by: caller.name.clone(),
    };
    let mut tx = db::begin_write(&app.db).await?;
    db::backup_schedule::put(&mut *tx, &row).await?;
    let mut changed = format!(
        "{} {} at {:02}:{:02} UTC to {}, keep {}",
        if row.enabled { "on" } else { "off" },
        row.frequency,
        row.at_minute / 60,
        row.at_minute % 60,
        row.repository,
        row.keep_last
    );
    if let Some(key) = valid.new_key {
        app.vault
            .put_in(
                &mut *tx,
                SCHEDULE_KEY,
                settings::SINGLETON,
                &Secret::new(key),
                now,
            )
            .await?;
        changed.push_str(", encryption key");
    }
    audit(&mut tx, caller, now, "update", "Backup Schedule", &changed).await?;
    tx.commit().await?;
    backup_page(app, caller).await
}

/// Deletes this schedule's oldest files beyond `keep_last` (0 keeps all);
/// other backups in the repository are left alone.
async fn prune(repo: &Repo, name: &str, keep_last: usize) -> Result<usize, String> {
    if keep_last == 0 {
        return Ok(0);
    }
    let opened = repo.open().await.map_err(|e| e.to_string())?;
    let pruned = async {
        let prefix = format!("{name}-CFG-");
        let ours: Vec<_> = opened
            .list()
            .await?
            .into_iter()
            .filter(|f| f.file_name.starts_with(&prefix))
            .collect();
        let mut deleted = 0;
        for old in ours.iter().skip(keep_last) {
            opened.delete(&old.file_name).await?;
            deleted += 1;
        }
        Ok::<_, std::io::Error>(deleted)
    }
    .await;
    opened.close().await;
    pruned.map_err(|e| e.to_string())
}

/// The scheduled backup, if one is due and no other node took it: taken,
/// its repository pruned, and the alarm raised when it fails (cleared when
/// one succeeds). `None` when nothing was due.
pub async fn run_due_backup(app: &AppState) -> Result<Option<RunStatus>, ServiceError> {
    let Some(row) = db::backup_schedule::get(&app.db).await? else {
        return Ok(None);
    };
    if !row.enabled {
        return Ok(None);
    }
    let due = schedule_of(&row).latest_due(app.now());
    if due <= row.last_due || !db::backup_schedule::claim(&app.db, due).await? {
        return Ok(None);
    }
    let caller = Caller {
        name: SCHEDULER.into(),
        role: crate::domain::Role::SuperAdmin,
        admin_id: None,
        client_ip: String::new(),
        via_api: false,
    };
    let key = app.vault.get(SCHEDULE_KEY, settings::SINGLETON).await?;
    let started = match key {
        Some(key) => start_recorded(app, &caller, &row.name, &row.repository, key).await,
        None => Err(ServiceError::Conflict(
            "No Encryption Key is stored for scheduled backups: enter it under Schedule Backup."
                .into(),
        )),
    };
    let outcome = match started {
        Ok(started) => run_recorded(app, &caller, started).await,
        Err(error) => {
            // Refused before it started: the history says so all the same.
            let id = db::backup_runs::start(
                &app.db,
                &NewRun {
                    kind: RunKind::Backup.as_str(),
                    name: &row.name,
                    repository: &row.repository,
                    file_name: "",
                    step: "Starting",
                    started_at: app.now(),
                    started_by: SCHEDULER,
                    node: &app.config.node_name,
                },
            )
            .await?;
            db::backup_runs::finish(
                &app.db,
                id,
                RunStatus::Failed.as_str(),
                0,
                app.now(),
                &error.to_string(),
            )
            .await?;
            Err(error)
        }
    };
    match outcome {
        Ok(taken) => {
            if let Ok((_, repo)) = repository(app, "repository", &row.repository).await {
                let keep = row.keep_last.max(0) as usize;
                match prune(&repo, &row.name, keep).await {
                    Ok(0) => {}
                    Ok(deleted) => {
                        tracing::info!(target: "system", "scheduled backup {}: {deleted} older file(s) deleted to keep the last {keep}", taken.file_name)
                    }
                    Err(error) => {
                        tracing::warn!(target: "system", "scheduled backup {}: older files could not be deleted: {error}", taken.file_name)
                    }
                }
            }
            Ok(Some(RunStatus::Succeeded))
        }
        Err(error) => {
            let condition = alarms::Condition::event(
                AlarmCode::ScheduledBackupFailed,
                format!(
                    "The scheduled backup '{}' to repository '{}' failed: {error}",
                    row.name, row.repository
                ),
            );
            if let Err(error) = alarms::raise(app, &condition).await {
                tracing::error!(target: "alarms", "could not raise the backup alarm: {error:#}");
            }
            Ok(Some(RunStatus::Failed))
        }
    }
}

/// Runs the scheduled backup when it is due, on the node that runs the
/// deployment's jobs; checked every `MAILROOM_BACKUP_JOB_INTERVAL_SECS`
/// (30 by default).
pub fn spawn_scheduler(app: AppState) -> tokio::task::JoinHandle<()> {
    let every = std::env::var("MAILROOM_BACKUP_JOB_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|secs| *secs > 0)
        .unwrap_or(30);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(every));
        loop {
            ticks.tick().await;
            if !crate::server::deployment::runs_jobs(&app).await {
                continue;
            }
            if let Err(error) = run_due_backup(&app).await {
                tracing::error!(target: "system", "the backup schedule could not run: {error}");
            }
        }
    })
}
