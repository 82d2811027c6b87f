//! Administration > System > Maintenance > Repository and Administration >
//! System > Backup & Restore.

use super::ApiError;
pub use crate::domain::backup::{BackupFile, BackupPage, Repository, RestoreSummary, Validation};
use crate::domain::backup::{BackupNowForm, RepositoryForm, ScheduleForm};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, backup};

#[server(endpoint = "list_repositories")]
pub async fn list_repositories() -> Result<Vec<Repository>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::list_repositories(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_repository")]
pub async fn save_repository(form: RepositoryForm) -> Result<Vec<Repository>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::save_repository(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "delete_repository")]
pub async fn delete_repository(name: String) -> Result<Vec<Repository>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::delete_repository(&state, &caller, &name)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "validate_repository")]
pub async fn validate_repository(name: String) -> Result<Validation, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::validate_repository(&state, &caller, &name)
        .await
        .map_err(super::failed)
}

/// Accepts the host key an SFTP repository's server presents (the
/// fingerprint the admin was shown), then validates it again.
#[server(endpoint = "accept_host_key")]
pub async fn accept_host_key(name: String, fingerprint: String) -> Result<Validation, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::accept_host_key(&state, &caller, &name, &fingerprint)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "get_backup_page")]
pub async fn get_backup_page() -> Result<BackupPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::backup_page(&state, &caller)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "start_backup")]
pub async fn start_backup(form: BackupNowForm) -> Result<BackupPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::start_backup(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "save_backup_schedule")]
pub async fn save_backup_schedule(form: ScheduleForm) -> Result<BackupPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::save_schedule(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "list_backup_files")]
pub async fn list_backup_files(repository: String) -> Result<Vec<BackupFile>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    backup::backup_files(&state, &caller, &repository)
        .await
        .map_err(super::failed)
}

#[cfg(feature = "ssr")]
fn summary(file_name: &str, restored: crate::server::backup::Restored) -> RestoreSummary {
    RestoreSummary {
        file_name: file_name.to_string(),
        tables: restored.tables,
        rows: restored.rows,
        secrets: restored.secrets,
    }
}

#[server(endpoint = "restore_from_repository")]
pub async fn restore_from_repository(
    repository: String,
    file_name: String,
    encryption_key: String,
) -> Result<RestoreSummary, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let key = crate::domain::Secret::new(encryption_key);
    backup::restore_from_repository(&state, &caller, &repository, &file_name, &key)
        .await
        .map(|restored| summary(&file_name, restored))
        .map_err(super::failed)
}

/// Restores from an uploaded backup: a multipart form with `file` (the
/// `.mrbak` file) and `encryption_key`.
#[server(input = MultipartFormData, endpoint = "upload_restore_backup")]
pub async fn restore_uploaded_backup(data: MultipartData) -> Result<RestoreSummary, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let limit = backup::MAX_BACKUP_BYTES as usize;
    let mut fields = super::read_multipart(data, limit).await?;
    let file = fields.remove("file").unwrap_or_default();
    if file.is_empty() {
        // Through `failed`, so the answer is a 400 like every refusal.
        return Err(super::failed(
            crate::domain::FieldError::new("file", "Choose the backup file to restore.").into(),
        ));
    }
    let file_name = fields
        .remove(&super::file_name_of("file"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| "upload.mrbak".to_string());
    let key = crate::domain::Secret::new(
        fields
            .remove("encryption_key")
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
    );
    backup::restore(&state, &caller, file, &file_name, &key)
        .await
        .map(|restored| summary(&file_name, restored))
        .map_err(super::failed)
}
