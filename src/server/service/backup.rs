//! Administration > System > Backup & Restore: a configuration backup taken
//! now into a folder on the node (a DISK repository), and a restore from a
//! backup file, both for Super Admins and System Admins, both audited with
//! the file's name and never the key.

use super::{Caller, ServiceError, audit};
use crate::domain::{Access, Secret};
use crate::server::backup::{self, OpenError, Restored};
use crate::server::{AppState, db};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What Backup Now wrote.
#[derive(Debug, Clone)]
pub struct BackupTaken {
    pub path: PathBuf,
    pub file_name: String,
    pub size: u64,
    pub millis: u64,
}

const MIN_KEY_LENGTH: usize = 8;

fn check_name(name: &str) -> Result<(), ServiceError> {
    let fine = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "name",
            "Enter a backup name of 1 to 64 letters, digits, '-' or '_'.",
        ))
    }
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
fn write_refused(dir: &Path, error: &std::io::Error) -> ServiceError {
    use std::io::ErrorKind;
    let why = match error.kind() {
        ErrorKind::StorageFull => "the repository is full",
        ErrorKind::PermissionDenied => "the repository does not allow writing",
        ErrorKind::ReadOnlyFilesystem => "the repository is read-only",
        ErrorKind::NotFound => "the repository's folder does not exist",
        _ => "the repository refused the file",
    };
    ServiceError::Conflict(format!(
        "The backup could not be written to {}: {why} ({error}). Nothing was kept.",
        dir.display()
    ))
}

/// Backup Now: the configuration, without the OAuth credentials, sealed
/// with `key` into `dir` as `NAME-CFG-YYMMDD-HHMM.mrbak`.
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
    let started = Instant::now();
    let contents = backup::dump(app).await?;
    let now = app.now();
    let at = time::OffsetDateTime::from_unix_timestamp(now).map_err(ServiceError::internal)?;
    let file_name = backup::file_name(name, at);
    let (dir_owned, name_owned, file_owned, key) = (
        dir.to_path_buf(),
        name.to_string(),
        file_name.clone(),
        key.clone(),
    );
    // Argon2id, compression and the write are blocking work.
    let written = tokio::task::spawn_blocking(move || {
        let bytes = backup::seal(&contents, &name_owned, now, key.expose())?;
        let size = bytes.len() as u64;
        Ok::<_, anyhow::Error>(
            backup::write_file(&dir_owned, &file_owned, &bytes).map(|path| (path, size)),
        )
    })
    .await??;
    let (path, size) = written.map_err(|error| write_refused(dir, &error))?;
    let mut tx = db::begin_write(&app.db).await?;
    audit(&mut tx, caller, now, "backup", "Configuration", &file_name).await?;
    tx.commit().await?;
    let millis = started.elapsed().as_millis() as u64;
    tracing::info!(target: "system", user = %caller.name, "configuration backup {file_name} written ({size} bytes, {millis} ms)");
    Ok(BackupTaken {
        path,
        file_name,
        size,
        millis,
    })
}

/// Restore: checks the key, every byte and the schema before anything
/// changes, then replaces the configuration in one transaction. The OAuth
/// client secret or certificate must be entered again afterwards.
pub async fn restore(
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
