//! Administration > System > Maintenance > Repository and Administration >
//! System > Backup & Restore: where configuration backups go, and each
//! backup or restore run. Pure: parsed the same way in the browser and on
//! the server.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A folder on the node, under its local disk (`MAILROOM_LOCALDISK`, by
/// default `localdisk` in the data directory), as ISE's `disk:` repository.
pub const DISK: &str = "DISK";

/// The longest repository name, as ISE's.
pub const MAX_REPOSITORY_NAME: usize = 80;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepositoryForm {
    /// Blank for a new repository; the name it had when editing.
    pub original_name: String,
    pub name: String,
    pub protocol: String,
    pub path: String,
}

/// A repository the form describes, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRepository {
    pub name: String,
    pub protocol: &'static str,
    /// Relative to the local disk, without a leading or trailing `/`; empty
    /// for the local disk's own folder.
    pub path: String,
}

impl RepositoryForm {
    pub fn validate(&self) -> Result<ValidRepository, FieldError> {
        let name = self.name.trim();
        let fine_name = !name.is_empty()
            && name.len() <= MAX_REPOSITORY_NAME
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !fine_name {
            return Err(FieldError::new(
                "name",
                format!(
                    "Enter a repository name of 1 to {MAX_REPOSITORY_NAME} letters, digits, '-' or '_'."
                ),
            ));
        }
        let protocol = match self.protocol.trim() {
            "" | DISK => DISK,
            other => {
                return Err(FieldError::new(
                    "protocol",
                    format!("\"{other}\" is not a protocol this node can write to: choose DISK."),
                ));
            }
        };
        let path = normalize_disk_path(&self.path)?;
        Ok(ValidRepository {
            name: name.to_string(),
            protocol,
            path,
        })
    }
}

/// A DISK path as the form gives it (`/backups/weekly`, `backups`, `/`)
/// made relative, refusing anything that could leave the local disk.
pub fn normalize_disk_path(raw: &str) -> Result<String, FieldError> {
    let refuse = |why: &str| {
        Err(FieldError::new(
            "path",
            format!("{why} The path is a folder under the node's local disk, such as /backups."),
        ))
    };
    let raw = raw.trim();
    if raw.len() > 255 {
        return refuse("The path is longer than 255 characters.");
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return refuse("The path may not contain '..'."),
            part if part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')) =>
            {
                parts.push(part)
            }
            _ => {
                return refuse(
                    "A folder name may hold only letters, digits, spaces, '-', '_' and '.'.",
                );
            }
        }
    }
    Ok(parts.join("/"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
    pub protocol: String,
    /// As shown: `/` followed by the folder under the local disk.
    pub path: String,
    pub updated_at: i64,
    pub updated_by: String,
}

/// One step of Validate: what it did, and whether it worked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationStep {
    pub step: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub repository: String,
    pub steps: Vec<ValidationStep>,
}

impl Validation {
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }
}

/// A backup file found in a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFile {
    pub file_name: String,
    pub size: u64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunKind {
    Backup,
    Restore,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Backup => "backup",
            RunKind::Restore => "restore",
        }
    }

    pub fn parse(text: &str) -> RunKind {
        if text == "restore" {
            RunKind::Restore
        } else {
            RunKind::Backup
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RunKind::Backup => "Backup",
            RunKind::Restore => "Restore",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> RunStatus {
        match text {
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Running,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "In Progress",
            RunStatus::Succeeded => "Completed",
            RunStatus::Failed => "Failed",
        }
    }
}

/// One backup or restore, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRun {
    pub id: i64,
    pub kind: RunKind,
    pub name: String,
    pub repository: String,
    pub file_name: String,
    pub status: RunStatus,
    /// The step under way (or the last one reached), and how far along.
    pub step: String,
    pub percent: u8,
    pub size: u64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub started_by: String,
    /// Why it failed, in the admin's terms.
    pub message: String,
}

impl BackupRun {
    pub fn duration_seconds(&self) -> Option<i64> {
        self.finished_at.map(|end| (end - self.started_at).max(0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPage {
    pub repositories: Vec<Repository>,
    /// Newest first.
    pub runs: Vec<BackupRun>,
}

impl BackupPage {
    pub fn running(&self) -> bool {
        self.runs.iter().any(|r| r.status == RunStatus::Running)
    }
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupNowForm {
    pub name: String,
    pub repository: String,
    /// Never stored: needed again to restore.
    pub encryption_key: String,
    pub confirm_key: String,
}

impl std::fmt::Debug for BackupNowForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupNowForm")
            .field("name", &self.name)
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

impl BackupNowForm {
    /// The checks the browser can make before posting; the server makes
    /// them again with the key's length.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.repository.trim().is_empty() {
            return Err(FieldError::new(
                "repository",
                "Choose the repository the backup is written to.",
            ));
        }
        if self.encryption_key != self.confirm_key {
            return Err(FieldError::new(
                "confirm_key",
                "The two Encryption Keys differ: type the same key twice.",
            ));
        }
        Ok(())
    }
}

/// What a restore replaced. Every session ended with it, the admin's own
/// too: the page sends the admin to sign in again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    pub file_name: String,
    pub tables: usize,
    pub rows: usize,
    pub secrets: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_paths_stay_under_the_local_disk() {
        assert_eq!(normalize_disk_path("/").unwrap(), "");
        assert_eq!(normalize_disk_path("").unwrap(), "");
        assert_eq!(
            normalize_disk_path(" /backups//weekly/ ").unwrap(),
            "backups/weekly"
        );
        assert_eq!(normalize_disk_path("./a/./b").unwrap(), "a/b");
        for bad in ["../etc", "/backups/../../etc", "a/b\\c", "a\0b", "a/b:c"] {
            let error = normalize_disk_path(bad).unwrap_err();
            assert_eq!(error.field, "path", "{bad}");
        }
    }

    #[test]
    fn a_repository_needs_a_plain_name_and_a_known_protocol() {
        let form = RepositoryForm {
            name: "local-backups".into(),
            protocol: "DISK".into(),
            path: "/backups".into(),
            ..Default::default()
        };
        let valid = form.validate().unwrap();
        assert_eq!(
            (valid.name.as_str(), valid.protocol, valid.path.as_str()),
            ("local-backups", DISK, "backups")
        );
        let bad_name = RepositoryForm {
            name: "two words".into(),
            ..form.clone()
        };
        assert_eq!(bad_name.validate().unwrap_err().field, "name");
        let bad_protocol = RepositoryForm {
            protocol: "TFTP".into(),
            ..form
        };
        assert_eq!(bad_protocol.validate().unwrap_err().field, "protocol");
    }

    #[test]
    fn the_two_keys_must_match() {
        let form = BackupNowForm {
            name: "nightly".into(),
            repository: "local".into(),
            encryption_key: "one key here".into(),
            confirm_key: "another key".into(),
        };
        assert_eq!(form.validate().unwrap_err().field, "confirm_key");
        let same = BackupNowForm {
            confirm_key: form.encryption_key.clone(),
            ..form
        };
        assert!(same.validate().is_ok());
    }
}
