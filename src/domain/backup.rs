//! Administration > System > Maintenance > Repository and Administration >
//! System > Backup & Restore: where configuration backups go, and each
//! backup or restore run. Pure: parsed the same way in the browser and on
//! the server.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A folder on the node, under its local disk (`MAILROOM_LOCALDISK`, by
/// default `localdisk` in the data directory), as ISE's `disk:` repository.
pub const DISK: &str = "DISK";

/// A folder on an SSH server, reached over SFTP.
pub const SFTP: &str = "SFTP";

/// How an SFTP repository signs in: the account's password, or a private
/// key whose public half is in the account's `authorized_keys`.
pub const AUTH_PASSWORD: &str = "password";
pub const AUTH_KEY: &str = "key";

/// The longest repository name, as ISE's.
pub const MAX_REPOSITORY_NAME: usize = 80;

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepositoryForm {
    /// Blank for a new repository; the name it had when editing.
    pub original_name: String,
    pub name: String,
    pub protocol: String,
    pub path: String,
    /// SFTP only.
    pub host: String,
    pub port: String,
    pub username: String,
    /// `password` or `key`.
    pub auth: String,
    /// Write-only; blank keeps the stored one.
    pub password: String,
    /// An OpenSSH or PKCS#8 private key (PEM); write-only, blank keeps the
    /// stored one.
    pub private_key: String,
}

impl std::fmt::Debug for RepositoryForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryForm")
            .field("original_name", &self.original_name)
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("path", &self.path)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// A repository the form describes, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidRepository {
    pub name: String,
    pub protocol: &'static str,
    /// DISK: relative to the local disk, without a leading or trailing `/`
    /// (empty for the local disk's own folder). SFTP: on the server, with a
    /// leading `/` when absolute, else under the account's home.
    pub path: String,
    pub sftp: Option<ValidSftp>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ValidSftp {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub auth: &'static str,
    /// The password or private key typed now; `None` keeps the stored one.
    pub new_credential: Option<String>,
}

impl std::fmt::Debug for ValidRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sftp = self
            .sftp
            .as_ref()
            .map(|s| (&s.host, s.port, &s.username, s.auth));
        f.debug_struct("ValidRepository")
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("path", &self.path)
            .field("sftp", &sftp)
            .finish_non_exhaustive()
    }
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
        match self.protocol.trim() {
            "" | DISK => Ok(ValidRepository {
                name: name.to_string(),
                protocol: DISK,
                path: normalize_disk_path(&self.path)?,
                sftp: None,
            }),
            SFTP => Ok(ValidRepository {
                name: name.to_string(),
                protocol: SFTP,
                path: normalize_sftp_path(&self.path)?,
                sftp: Some(self.validate_sftp()?),
            }),
            other => Err(FieldError::new(
                "protocol",
                format!(
                    "\"{other}\" is not a protocol this node can write to: choose DISK or SFTP."
                ),
            )),
        }
    }

    fn validate_sftp(&self) -> Result<ValidSftp, FieldError> {
        let host = self.host.trim();
        let fine_host = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'));
        if !fine_host {
            return Err(FieldError::new(
                "host",
                "Enter the SFTP server's host name or IP address, such as sftp.example.com.",
            ));
        }
        let port = match self.port.trim() {
            "" => 22,
            text => text.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                FieldError::new("port", "Enter a port from 1 to 65535 (SFTP listens on 22).")
            })?,
        };
        let username = self.username.trim();
        let fine_user = !username.is_empty()
            && username.len() <= 64
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
        if !fine_user {
            return Err(FieldError::new(
                "username",
                "Enter the account the repository signs in as (letters, digits, '-', '_', '.' or '@').",
            ));
        }
        let (auth, typed) = match self.auth.trim() {
            "" | AUTH_PASSWORD => (AUTH_PASSWORD, self.password.as_str()),
            AUTH_KEY => (AUTH_KEY, self.private_key.trim()),
            _ => {
                return Err(FieldError::new("auth", "Choose Password or Private key."));
            }
        };
        if auth == AUTH_KEY && !typed.is_empty() && !typed.starts_with("-----BEGIN ") {
            return Err(FieldError::new(
                "private_key",
                "Paste the private key as PEM, from -----BEGIN ... PRIVATE KEY----- to its END line.",
            ));
        }
        Ok(ValidSftp {
            host: host.to_string(),
            port,
            username: username.to_string(),
            auth,
            new_credential: (!typed.is_empty()).then(|| typed.to_string()),
        })
    }
}

/// Refuses a path part that is not a plain folder name.
fn plain_folders<'a>(raw: &'a str, example: &str) -> Result<Vec<&'a str>, FieldError> {
    let refuse = |why: &str| {
        Err(FieldError::new(
            "path",
            format!("{why} The path is a folder such as {example}."),
        ))
    };
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
    Ok(parts)
}

/// A DISK path as the form gives it (`/backups/weekly`, `backups`, `/`)
/// made relative, refusing anything that could leave the local disk.
pub fn normalize_disk_path(raw: &str) -> Result<String, FieldError> {
    Ok(plain_folders(raw.trim(), "/backups under the node's local disk")?.join("/"))
}

/// An SFTP path: absolute (`/srv/backups`) or under the account's home
/// (`backups`, or empty for the home itself).
pub fn normalize_sftp_path(raw: &str) -> Result<String, FieldError> {
    let raw = raw.trim();
    let folders = plain_folders(raw, "/srv/backups on the server")?.join("/");
    Ok(if raw.starts_with('/') {
        format!("/{folders}")
    } else {
        folders
    })
}

/// A host key as an admin compares it with the server's own
/// (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostKey {
    /// Such as `ssh-ed25519`.
    pub algorithm: String,
    /// `SHA256:` and the base64 digest, as OpenSSH prints it.
    pub fingerprint: String,
}

impl HostKey {
    /// As stored in the repository: `ALGORITHM FINGERPRINT`.
    pub fn to_pin(&self) -> String {
        format!("{} {}", self.algorithm, self.fingerprint)
    }

    pub fn from_pin(pin: &str) -> Option<HostKey> {
        let (algorithm, fingerprint) = pin.split_once(' ')?;
        Some(HostKey {
            algorithm: algorithm.to_string(),
            fingerprint: fingerprint.to_string(),
        })
    }
}

/// What Validate found about an SFTP server's host key when it is not
/// the pinned one: offered for the admin to accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostKeyOffer {
    pub presented: HostKey,
    /// The key accepted before, when the server now shows another.
    pub pinned: Option<HostKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
    pub protocol: String,
    /// As shown: DISK `/` followed by the folder under the local disk;
    /// SFTP the folder on the server.
    pub path: String,
    /// SFTP only (empty or 0 for DISK).
    pub host: String,
    pub port: u16,
    pub username: String,
    pub auth: String,
    /// Whether a password or private key is stored (never the value).
    pub credential_set: bool,
    /// The accepted host key, if any.
    pub host_key: Option<HostKey>,
    pub updated_at: i64,
    pub updated_by: String,
}

impl Repository {
    /// Where the files go, as an admin reads it: `disk:/backups` or
    /// `sftp://backup@host:22/srv/backups`.
    pub fn location(&self) -> String {
        if self.protocol == SFTP {
            sftp_location(&self.username, &self.host, self.port, &self.path)
        } else {
            format!("disk:{}", self.path)
        }
    }
}

/// `sftp://user@host:port/absolute/path`, or `…/~/path` under the home.
pub fn sftp_location(username: &str, host: &str, port: u16, path: &str) -> String {
    let under_home = if path.starts_with('/') { "" } else { "/~/" };
    format!("sftp://{username}@{host}:{port}{under_home}{path}")
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
    /// An SFTP server's host key that is not (or no longer) the accepted one.
    pub host_key: Option<HostKeyOffer>,
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
    pub schedule: ScheduleView,
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

/// How often a scheduled backup runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

impl Frequency {
    pub const ALL: [Frequency; 3] = [Frequency::Daily, Frequency::Weekly, Frequency::Monthly];

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Frequency::Daily => "Daily",
            Frequency::Weekly => "Weekly",
            Frequency::Monthly => "Monthly",
        }
    }

    pub fn parse(text: &str) -> Option<Frequency> {
        Frequency::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The last day of the month a monthly backup may name: every month has it.
pub const LAST_MONTH_DAY: u32 = 28;

/// When a scheduled backup runs, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub frequency: Frequency,
    /// Minutes after midnight UTC.
    pub at_minute: u32,
    /// 0 = Monday (weekly).
    pub weekday: u32,
    /// 1 to 28 (monthly).
    pub month_day: u32,
}

impl Schedule {
    /// The most recent time the backup was due, at or before `now` (Unix
    /// seconds).
    pub fn latest_due(&self, now: i64) -> i64 {
        let today = now.div_euclid(86_400);
        let at = i64::from(self.at_minute) * 60;
        match self.frequency {
            Frequency::Daily => {
                let slot = today * 86_400 + at;
                if slot > now { slot - 86_400 } else { slot }
            }
            Frequency::Weekly => {
                // 1970-01-01 was a Thursday (3, counting from Monday).
                let weekday_today = (today + 3).rem_euclid(7);
                let back = (weekday_today - i64::from(self.weekday)).rem_euclid(7);
                let slot = (today - back) * 86_400 + at;
                if slot > now { slot - 7 * 86_400 } else { slot }
            }
            Frequency::Monthly => {
                let (year, month, _) = super::template::civil_from_days(today);
                let slot = days_from_civil(year, month, self.month_day) * 86_400 + at;
                if slot <= now {
                    slot
                } else {
                    let (year, month) = if month == 1 {
                        (year - 1, 12)
                    } else {
                        (year, month - 1)
                    };
                    days_from_civil(year, month, self.month_day) * 86_400 + at
                }
            }
        }
    }

    /// The next time the backup is due after `now`.
    pub fn next_due(&self, now: i64) -> i64 {
        let latest = self.latest_due(now);
        match self.frequency {
            Frequency::Daily => latest + 86_400,
            Frequency::Weekly => latest + 7 * 86_400,
            Frequency::Monthly => {
                let (year, month, _) = super::template::civil_from_days(latest.div_euclid(86_400));
                let (year, month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                days_from_civil(year, month, self.month_day) * 86_400
                    + i64::from(self.at_minute) * 60
            }
        }
    }
}

/// Days since 1970-01-01 of a civil date (the inverse of
/// `template::civil_from_days`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleForm {
    /// "true" when the schedule is on.
    pub enabled: String,
    pub name: String,
    pub repository: String,
    pub frequency: String,
    /// HH:MM, UTC.
    pub time: String,
    pub weekday: String,
    pub month_day: String,
    /// Backups of this schedule kept in the repository; 0 keeps them all.
    pub keep_last: String,
    /// Write-only: blank keeps the stored key.
    pub encryption_key: String,
    pub confirm_key: String,
}

impl std::fmt::Debug for ScheduleForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduleForm")
            .field("enabled", &self.enabled)
            .field("name", &self.name)
            .field("repository", &self.repository)
            .field("frequency", &self.frequency)
            .field("time", &self.time)
            .field("weekday", &self.weekday)
            .field("month_day", &self.month_day)
            .field("keep_last", &self.keep_last)
            .finish_non_exhaustive()
    }
}

/// The most backups a schedule keeps.
pub const MAX_KEEP: u32 = 365;

#[derive(Clone, PartialEq, Eq)]
pub struct ValidSchedule {
    pub enabled: bool,
    pub name: String,
    pub repository: String,
    pub schedule: Schedule,
    pub keep_last: u32,
    /// A new key typed (twice); `None` keeps the stored one.
    pub new_key: Option<String>,
}

impl std::fmt::Debug for ValidSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidSchedule")
            .field("enabled", &self.enabled)
            .field("name", &self.name)
            .field("repository", &self.repository)
            .field("schedule", &self.schedule)
            .field("keep_last", &self.keep_last)
            .field("new_key", &self.new_key.as_ref().map(|_| "********"))
            .finish()
    }
}

impl ScheduleForm {
    pub fn validate(&self) -> Result<ValidSchedule, FieldError> {
        let enabled = self.enabled.trim() == "true";
        let name = self.name.trim();
        check_backup_name(name)?;
        let repository = self.repository.trim();
        if repository.is_empty() {
            return Err(FieldError::new(
                "repository",
                "Choose the repository scheduled backups are written to.",
            ));
        }
        let frequency = Frequency::parse(self.frequency.trim())
            .ok_or_else(|| FieldError::new("frequency", "Choose Daily, Weekly or Monthly."))?;
        let at_minute = parse_time(&self.time).ok_or_else(|| {
            FieldError::new(
                "time",
                "Enter the time as HH:MM (24-hour, UTC), such as 02:30.",
            )
        })?;
        let weekday = match frequency {
            Frequency::Weekly => self
                .weekday
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|d| *d < 7)
                .ok_or_else(|| FieldError::new("weekday", "Choose the day of the week."))?,
            _ => 0,
        };
        let month_day = match frequency {
            Frequency::Monthly => self
                .month_day
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=LAST_MONTH_DAY).contains(d))
                .ok_or_else(|| {
                    FieldError::new(
                        "month_day",
                        format!("Enter a day of the month from 1 to {LAST_MONTH_DAY}."),
                    )
                })?,
            _ => 1,
        };
        let keep_last = self
            .keep_last
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_KEEP)
            .ok_or_else(|| {
                FieldError::new(
                    "keep_last",
                    format!("Enter how many backups to keep, 0 (all) to {MAX_KEEP}."),
                )
            })?;
        if self.encryption_key != self.confirm_key {
            return Err(FieldError::new(
                "confirm_key",
                "The two Encryption Keys differ: type the same key twice.",
            ));
        }
        let new_key = (!self.encryption_key.is_empty()).then(|| self.encryption_key.clone());
        if let Some(key) = &new_key
            && key.chars().count() < MIN_KEY_LENGTH
        {
            return Err(FieldError::new(
                "encryption_key",
                format!("Enter an Encryption Key of at least {MIN_KEY_LENGTH} characters."),
            ));
        }
        Ok(ValidSchedule {
            enabled,
            name: name.to_string(),
            repository: repository.to_string(),
            schedule: Schedule {
                frequency,
                at_minute,
                weekday,
                month_day,
            },
            keep_last,
            new_key,
        })
    }
}

/// A backup's name: the start of its file name, so plain characters only.
pub fn check_backup_name(name: &str) -> Result<(), FieldError> {
    let fine = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(())
    } else {
        Err(FieldError::new(
            "name",
            "Enter a backup name of 1 to 64 letters, digits, '-' or '_'.",
        ))
    }
}

/// The shortest Encryption Key a backup takes.
pub const MIN_KEY_LENGTH: usize = 8;

fn parse_time(text: &str) -> Option<u32> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    (hours < 24 && minutes < 60 && text.trim().len() <= 5).then_some(hours * 60 + minutes)
}

/// The schedule as the page shows it: the form without its key, whether a
/// key is stored, and when the next backup runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub form: ScheduleForm,
    pub key_set: bool,
    /// `None` while the schedule is off (or not set up).
    pub next_run_at: Option<i64>,
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

    // 2026-12-07 (a Monday) 10:15:00 UTC.
    const MONDAY_1015: i64 = 1_796_638_500;

    fn schedule(frequency: Frequency, at_minute: u32) -> Schedule {
        Schedule {
            frequency,
            at_minute,
            weekday: 0,
            month_day: 1,
        }
    }

    #[test]
    fn due_times_fall_on_the_schedule_in_utc() {
        assert_eq!(
            days_from_civil(2026, 12, 7) * 86_400 + 10 * 3600 + 15 * 60,
            MONDAY_1015
        );
        let daily = schedule(Frequency::Daily, 2 * 60);
        let today_0200 = MONDAY_1015 - (8 * 3600 + 15 * 60);
        assert_eq!(daily.latest_due(MONDAY_1015), today_0200);
        assert_eq!(daily.latest_due(today_0200), today_0200);
        assert_eq!(daily.latest_due(today_0200 - 1), today_0200 - 86_400);
        assert_eq!(daily.next_due(MONDAY_1015), today_0200 + 86_400);
        assert_eq!(daily.next_due(today_0200 - 1), today_0200);

        // Weekly on Sunday 23:00: the day before, and six days on.
        let sunday = Schedule {
            weekday: 6,
            ..schedule(Frequency::Weekly, 23 * 60)
        };
        let last_sunday_2300 = today_0200 - 3 * 3600;
        assert_eq!(sunday.latest_due(MONDAY_1015), last_sunday_2300);
        assert_eq!(sunday.next_due(MONDAY_1015), last_sunday_2300 + 7 * 86_400);
        // Weekly on Monday 10:15 exactly now.
        let monday = schedule(Frequency::Weekly, 10 * 60 + 15);
        assert_eq!(monday.latest_due(MONDAY_1015), MONDAY_1015);

        // Monthly on the 1st at 02:00: 2026-12-01, then 2027-01-01; in
        // January, before the 1st's time, the December one.
        let monthly = schedule(Frequency::Monthly, 2 * 60);
        let december = days_from_civil(2026, 12, 1) * 86_400 + 7200;
        let january = days_from_civil(2027, 1, 1) * 86_400 + 7200;
        assert_eq!(monthly.latest_due(MONDAY_1015), december);
        assert_eq!(monthly.next_due(MONDAY_1015), january);
        assert_eq!(monthly.latest_due(january - 1), december);
        assert_eq!(monthly.latest_due(january), january);
    }

    #[test]
    fn a_schedule_form_is_checked_field_by_field() {
        let form = ScheduleForm {
            enabled: "true".into(),
            name: "nightly".into(),
            repository: "local".into(),
            frequency: "weekly".into(),
            time: "02:30".into(),
            weekday: "6".into(),
            month_day: String::new(),
            keep_last: "7".into(),
            encryption_key: "Backup-Key-2026".into(),
            confirm_key: "Backup-Key-2026".into(),
        };
        let valid = form.validate().unwrap();
        assert!(valid.enabled);
        assert_eq!(valid.schedule.at_minute, 150);
        assert_eq!(valid.schedule.weekday, 6);
        assert_eq!(valid.keep_last, 7);
        assert!(valid.new_key.is_some());
        let field = |form: ScheduleForm| form.validate().unwrap_err().field;
        assert_eq!(
            field(ScheduleForm {
                time: "25:00".into(),
                ..form.clone()
            }),
            "time"
        );
        assert_eq!(
            field(ScheduleForm {
                time: "2:3:0".into(),
                ..form.clone()
            }),
            "time"
        );
        assert_eq!(
            field(ScheduleForm {
                weekday: "7".into(),
                ..form.clone()
            }),
            "weekday"
        );
        assert_eq!(
            field(ScheduleForm {
                frequency: "monthly".into(),
                month_day: "31".into(),
                ..form.clone()
            }),
            "month_day"
        );
        assert_eq!(
            field(ScheduleForm {
                keep_last: "-1".into(),
                ..form.clone()
            }),
            "keep_last"
        );
        assert_eq!(
            field(ScheduleForm {
                confirm_key: "x".into(),
                ..form.clone()
            }),
            "confirm_key"
        );
        assert_eq!(
            field(ScheduleForm {
                encryption_key: "short".into(),
                confirm_key: "short".into(),
                ..form.clone()
            }),
            "encryption_key"
        );
        let keep = ScheduleForm {
            encryption_key: String::new(),
            confirm_key: String::new(),
            ..form
        };
        assert_eq!(
            keep.validate().unwrap().new_key,
            None,
            "blank keeps the stored key"
        );
    }

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
    fn an_sftp_repository_needs_a_server_an_account_and_a_way_to_sign_in() {
        let form = RepositoryForm {
            name: "offsite".into(),
            protocol: SFTP.into(),
            path: " /srv//backups/ ".into(),
            host: "sftp.example.com".into(),
            port: "".into(),
            username: "backup".into(),
            auth: AUTH_PASSWORD.into(),
            password: "S3cret-pass".into(),
            ..Default::default()
        };
        let valid = form.validate().unwrap();
        assert_eq!(valid.path, "/srv/backups");
        let sftp = valid.sftp.clone().unwrap();
        assert_eq!((sftp.port, sftp.auth), (22, AUTH_PASSWORD));
        assert_eq!(sftp.new_credential.as_deref(), Some("S3cret-pass"));
        assert!(!format!("{form:?}{valid:?}").contains("S3cret-pass"));
        let home = RepositoryForm {
            path: "backups".into(),
            password: String::new(),
            ..form.clone()
        };
        let valid = home.validate().unwrap();
        assert_eq!(valid.path, "backups", "under the account's home");
        assert_eq!(valid.sftp.unwrap().new_credential, None, "blank keeps");
        for (field, bad) in [
            (
                "host",
                RepositoryForm {
                    host: "".into(),
                    ..form.clone()
                },
            ),
            (
                "host",
                RepositoryForm {
                    host: "a b".into(),
                    ..form.clone()
                },
            ),
            (
                "port",
                RepositoryForm {
                    port: "0".into(),
                    ..form.clone()
                },
            ),
            (
                "port",
                RepositoryForm {
                    port: "65536".into(),
                    ..form.clone()
                },
            ),
            (
                "username",
                RepositoryForm {
                    username: "".into(),
                    ..form.clone()
                },
            ),
            (
                "auth",
                RepositoryForm {
                    auth: "kerberos".into(),
                    ..form.clone()
                },
            ),
            (
                "path",
                RepositoryForm {
                    path: "/srv/../etc".into(),
                    ..form.clone()
                },
            ),
            (
                "private_key",
                RepositoryForm {
                    auth: AUTH_KEY.into(),
                    private_key: "not a key".into(),
                    ..form.clone()
                },
            ),
        ] {
            assert_eq!(bad.validate().unwrap_err().field, field, "{bad:?}");
        }
    }

    #[test]
    fn a_host_key_pin_reads_back_and_a_location_says_where() {
        let key = HostKey {
            algorithm: "ssh-ed25519".into(),
            fingerprint: "SHA256:abc/+def".into(),
        };
        assert_eq!(HostKey::from_pin(&key.to_pin()), Some(key));
        assert_eq!(HostKey::from_pin(""), None);
        assert_eq!(
            sftp_location("backup", "10.0.0.5", 2222, "/srv/b"),
            "sftp://backup@10.0.0.5:2222/srv/b"
        );
        assert_eq!(
            sftp_location("backup", "h", 22, "b"),
            "sftp://backup@h:22/~/b"
        );
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
