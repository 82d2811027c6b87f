//! Where backup files are written, listed, read and deleted: a DISK
//! repository's folder under the node's local disk (blocking, run off the
//! async runtime), or an SFTP repository's folder on an SSH server whose
//! host key the admin accepted.

use crate::domain::Secret;
use crate::domain::backup::{BackupFile, HostKey, HostKeyOffer};
use crate::server::backup::EXTENSION;
use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg};
use russh_sftp::client::SftpSession;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A backup's file name only, never a path.
fn check_file_name(file_name: &str) -> io::Result<()> {
    let plain = !file_name.is_empty()
        && !file_name.starts_with('.')
        && file_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a backup file name",
        ))
    }
}

fn is_backup_file(file_name: &str) -> bool {
    !file_name.starts_with('.') && file_name.ends_with(&format!(".{EXTENSION}"))
}

/// Newest first; the name breaks ties.
fn newest_first(files: &mut [BackupFile]) {
    files.sort_by(|a, b| {
        b.modified_at
            .cmp(&a.modified_at)
            .then_with(|| b.file_name.cmp(&a.file_name))
    });
}

#[derive(Clone)]
pub struct Disk {
    dir: PathBuf,
    /// A repository's folder under the local disk is made on first write;
    /// a folder named on the command line must exist.
    make_folder: bool,
}

impl Disk {
    /// The folder `relative` (already checked by `normalize_disk_path`)
    /// under `local_disk`.
    pub fn new(local_disk: &Path, relative: &str) -> Disk {
        Disk {
            dir: local_disk.join(relative),
            make_folder: true,
        }
    }

    /// A folder the node's operator named, which must already exist.
    pub fn existing(dir: &Path) -> Disk {
        Disk {
            dir: dir.to_path_buf(),
            make_folder: false,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file of this folder by a name a browser sent: a backup's name
    /// only, never a path.
    fn file(&self, file_name: &str) -> io::Result<PathBuf> {
        check_file_name(file_name)?;
        Ok(self.dir.join(file_name))
    }

    /// Writes `bytes` as `file_name`, making the folder if it is not there
    /// yet; a partial file never carries the final name.
    pub fn write(&self, file_name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        self.file(file_name)?;
        if self.make_folder {
            std::fs::create_dir_all(&self.dir)?;
        }
        crate::server::backup::write_file(&self.dir, file_name, bytes)
    }

    /// The backup files here, newest first; none if the folder is not
    /// there yet.
    pub fn list(&self) -> io::Result<Vec<BackupFile>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry?;
            let Ok(file_name) = entry.file_name().into_string() else {
                continue;
            };
            if !is_backup_file(&file_name) {
                continue;
            }
            let meta = entry.metadata()?;
            if !meta.is_file() {
                continue;
            }
            let modified_at = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64);
            files.push(BackupFile {
                file_name,
                size: meta.len(),
                modified_at,
            });
        }
        newest_first(&mut files);
        Ok(files)
    }

    /// Reads a backup file, refusing one larger than `limit` bytes.
    pub fn read(&self, file_name: &str, limit: u64) -> io::Result<Vec<u8>> {
        let path = self.file(file_name)?;
        let size = std::fs::metadata(&path)?.len();
        if size > limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("{size} bytes, more than a backup can be ({limit})"),
            ));
        }
        std::fs::read(path)
    }

    pub fn delete(&self, file_name: &str) -> io::Result<()> {
        std::fs::remove_file(self.file(file_name)?)
    }
}

/// How an SFTP repository signs in; the value comes from the vault.
pub enum Credential {
    Password(Secret),
    PrivateKey(Secret),
}

/// An SFTP repository's folder, as the repository names it.
pub struct Sftp {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub credential: Credential,
    /// Absolute, or under the account's home; empty for the home.
    pub path: String,
    /// The accepted host key (`HostKey::to_pin`), empty if none yet.
    pub pinned: String,
}

/// A repository, ready to be opened.
pub enum Repo {
    Disk(Disk),
    Sftp(Sftp),
}

/// Why a repository could not be opened, with what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OpenRefused {
    #[error("{0}")]
    Connect(String),
    #[error("{}", host_key_message(.0))]
    HostKey(HostKeyOffer),
    #[error("{0}")]
    SignIn(String),
    #[error("{0}")]
    Sftp(String),
}

fn host_key_message(offer: &HostKeyOffer) -> String {
    match &offer.pinned {
        None => format!(
            "The server's host key is not trusted yet: it presented {} {}. Validate the repository under Maintenance > Repository, compare the fingerprint with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_{}_key.pub) and accept it.",
            offer.presented.algorithm,
            offer.presented.fingerprint,
            offer
                .presented
                .algorithm
                .trim_start_matches("ssh-")
                .split('-')
                .next()
                .unwrap_or("ed25519")
        ),
        Some(pinned) => format!(
            "The server's host key has changed: it presented {} {}, but the key accepted for this repository is {} {}. Nothing was sent to it. If the server was rebuilt or its key replaced on purpose, Validate the repository and accept the new key; otherwise someone may be intercepting the connection.",
            offer.presented.algorithm,
            offer.presented.fingerprint,
            pinned.algorithm,
            pinned.fingerprint
        ),
    }
}

/// No answer within this long counts as a refusal.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Accepts the server only if it presents the pinned key; remembers what
/// it presented either way.
struct HostKeyCheck {
    pinned: String,
    presented: Arc<Mutex<Option<HostKey>>>,
}

fn host_key_of(key: &russh::keys::PublicKeyOrCertificate) -> HostKey {
    use russh::keys::PublicKeyOrCertificate;
    let (algorithm, fingerprint) = match key {
        PublicKeyOrCertificate::PublicKey { key, .. } => {
            (key.algorithm(), key.fingerprint(HashAlg::Sha256))
        }
        PublicKeyOrCertificate::Certificate(cert) => (
            cert.algorithm(),
            cert.public_key().fingerprint(HashAlg::Sha256),
        ),
    };
    HostKey {
        algorithm: algorithm.as_str().to_string(),
        fingerprint: fingerprint.to_string(),
    }
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let presented = host_key_of(server_public_key);
        let trusted = !self.pinned.is_empty() && presented.to_pin() == self.pinned;
        if let Ok(mut seen) = self.presented.lock() {
            *seen = Some(presented);
        }
        Ok(trusted)
    }
}

/// A signed-in SFTP session on the repository's folder.
pub struct SftpFolder {
    ssh: client::Handle<HostKeyCheck>,
    sftp: SftpSession,
    /// `.` for the account's home.
    dir: String,
    location: String,
}

/// The server's answer as an I/O error of the matching kind.
fn sftp_error(error: russh_sftp::client::error::Error) -> io::Error {
    use russh_sftp::client::error::Error;
    use russh_sftp::protocol::StatusCode;
    match error {
        Error::Status(status) => {
            let kind = match status.status_code {
                StatusCode::NoSuchFile => io::ErrorKind::NotFound,
                StatusCode::PermissionDenied => io::ErrorKind::PermissionDenied,
                _ => io::ErrorKind::Other,
            };
            let message = if status.error_message.trim().is_empty() {
                format!("{:?}", status.status_code)
            } else {
                status.error_message
            };
            io::Error::new(kind, format!("the SFTP server answered: {message}"))
        }
        Error::Timeout => io::Error::new(
            io::ErrorKind::TimedOut,
            "the SFTP server did not answer in time",
        ),
        other => io::Error::other(format!("SFTP: {other}")),
    }
}

impl SftpFolder {
    fn file(&self, file_name: &str) -> io::Result<String> {
        check_file_name(file_name)?;
        Ok(format!("{}/{file_name}", self.dir))
    }

    /// Makes the folder and its parents, as a DISK repository's first write.
    async fn make_folder(&self) -> io::Result<()> {
        let mut so_far = if self.dir.starts_with('/') {
            String::new()
        } else {
            ".".to_string()
        };
        for part in self.dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
            so_far = format!("{so_far}/{part}");
            if !self
                .sftp
                .try_exists(so_far.clone())
                .await
                .map_err(sftp_error)?
            {
                self.sftp
                    .create_dir(so_far.clone())
                    .await
                    .map_err(sftp_error)?;
            }
        }
        Ok(())
    }

    async fn write(&self, file_name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        use tokio::io::AsyncWriteExt;
        let path = self.file(file_name)?;
        self.make_folder().await?;
        // Written under a hidden name, then renamed: a partial file never
        // carries the final name (nor shows in the listing).
        let partial = format!("{}/.{file_name}.part", self.dir);
        let written = async {
            let mut file = self
                .sftp
                .create(partial.clone())
                .await
                .map_err(sftp_error)?;
            file.write_all(bytes).await?;
            file.shutdown().await?;
            if self
                .sftp
                .try_exists(path.clone())
                .await
                .map_err(sftp_error)?
            {
                self.sftp
                    .remove_file(path.clone())
                    .await
                    .map_err(sftp_error)?;
            }
            self.sftp
                .rename(partial.clone(), path.clone())
                .await
                .map_err(sftp_error)
        }
        .await;
        if written.is_err() {
            let _ = self.sftp.remove_file(partial).await;
        }
        written?;
        Ok(PathBuf::from(format!("{}/{file_name}", self.location)))
    }

    async fn list(&self) -> io::Result<Vec<BackupFile>> {
        let entries = match self
            .sftp
            .read_dir(self.dir.clone())
            .await
            .map_err(sftp_error)
        {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut files: Vec<BackupFile> = entries
            .filter(|entry| entry.file_type().is_file() && is_backup_file(&entry.file_name()))
            .map(|entry| {
                let meta = entry.metadata();
                BackupFile {
                    file_name: entry.file_name(),
                    size: meta.size.unwrap_or(0),
                    modified_at: i64::from(meta.mtime.unwrap_or(0)),
                }
            })
            .collect();
        newest_first(&mut files);
        Ok(files)
    }

    async fn read(&self, file_name: &str, limit: u64) -> io::Result<Vec<u8>> {
        let path = self.file(file_name)?;
        let size = self
            .sftp
            .metadata(path.clone())
            .await
            .map_err(sftp_error)?
            .size
            .unwrap_or(0);
        if size > limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("{size} bytes, more than a backup can be ({limit})"),
            ));
        }
        self.sftp.read(path).await.map_err(sftp_error)
    }

    async fn delete(&self, file_name: &str) -> io::Result<()> {
        let path = self.file(file_name)?;
        self.sftp.remove_file(path).await.map_err(sftp_error)
    }

    pub async fn close(self) {
        let _ = self.sftp.close().await;
        let _ = self
            .ssh
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}

impl Sftp {
    pub fn location(&self) -> String {
        crate::domain::backup::sftp_location(&self.username, &self.host, self.port, &self.path)
    }

    /// Connects, checks the host key against the pinned one, signs in and
    /// starts SFTP. The password or key is sent only to the pinned server.
    pub async fn open(&self) -> Result<SftpFolder, OpenRefused> {
        let (host, port) = (self.host.as_str(), self.port);
        let presented = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            pinned: self.pinned.clone(),
            presented: presented.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(60)),
            ..Default::default()
        });
        let connected = tokio::time::timeout(
            CONNECT_TIMEOUT,
            client::connect(config, (host, port), check),
        )
        .await;
        let presented = presented.lock().ok().and_then(|mut seen| seen.take());
        let mut ssh = match connected {
            Ok(Ok(ssh)) => ssh,
            Ok(Err(error)) => {
                return Err(match presented {
                    Some(key) if key.to_pin() != self.pinned => {
                        OpenRefused::HostKey(HostKeyOffer {
                            presented: key,
                            pinned: HostKey::from_pin(&self.pinned),
                        })
                    }
                    _ => OpenRefused::Connect(format!(
                        "Could not connect to {host}:{port} over SSH: {error}. Check the host, the port and that the node can reach the server."
                    )),
                });
            }
            Err(_) => {
                return Err(OpenRefused::Connect(format!(
                    "{host}:{port} did not complete an SSH handshake within {} s.",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        let user = self.username.as_str();
        let signed_in = match &self.credential {
            Credential::Password(password) => {
                ssh.authenticate_password(user, password.expose()).await
            }
            Credential::PrivateKey(pem) => {
                let key = russh::keys::decode_secret_key(pem.expose(), None).map_err(|error| {
                    OpenRefused::SignIn(format!(
                        "The stored private key cannot be used ({error}): paste an unencrypted OpenSSH or PKCS#8 key again."
                    ))
                })?;
                let hash = ssh
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|error| OpenRefused::SignIn(format!("SSH: {error}")))?
                    .flatten();
                ssh.authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                    .await
            }
        };
        match signed_in {
            Ok(result) if result.success() => {}
            Ok(_) => {
                let what = match self.credential {
                    Credential::Password(_) => "password",
                    Credential::PrivateKey(_) => "private key",
                };
                return Err(OpenRefused::SignIn(format!(
                    "{host} refused the {what} for user '{user}'. Check the user name and the {what} (a key's public half must be in the account's ~/.ssh/authorized_keys)."
                )));
            }
            Err(error) => {
                return Err(OpenRefused::SignIn(format!(
                    "Signing in to {host} as '{user}' failed: {error}"
                )));
            }
        }
        let sftp_refused = |error: String| {
            OpenRefused::Sftp(format!(
                "{host} accepted the sign-in but would not start SFTP ({error}). Check that its SSH server offers the sftp subsystem to '{user}'."
            ))
        };
        let channel = ssh
            .channel_open_session()
            .await
            .map_err(|error| sftp_refused(error.to_string()))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|error| sftp_refused(error.to_string()))?;
        let sftp = SftpSession::new(channel.into_stream())
            .await
            .map_err(|error| sftp_refused(error.to_string()))?;
        sftp.set_timeout(60);
        Ok(SftpFolder {
            ssh,
            sftp,
            dir: if self.path.is_empty() {
                ".".to_string()
            } else {
                self.path.clone()
            },
            location: self.location(),
        })
    }
}

/// A repository opened for a run of operations.
pub enum Opened {
    Disk(Disk),
    Sftp(Box<SftpFolder>),
}

/// A blocking disk operation, off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

impl Repo {
    /// Where the files go, for messages: the folder, or `sftp://…`.
    pub fn location(&self) -> String {
        match self {
            Repo::Disk(disk) => disk.dir().display().to_string(),
            Repo::Sftp(sftp) => sftp.location(),
        }
    }

    pub async fn open(&self) -> Result<Opened, OpenRefused> {
        match self {
            Repo::Disk(disk) => Ok(Opened::Disk(disk.clone())),
            Repo::Sftp(sftp) => Ok(Opened::Sftp(Box::new(sftp.open().await?))),
        }
    }
}

impl Opened {
    pub async fn write(&self, file_name: &str, bytes: Vec<u8>) -> io::Result<PathBuf> {
        match self {
            Opened::Disk(disk) => {
                let (disk, file_name) = (disk.clone(), file_name.to_string());
                blocking(move || disk.write(&file_name, &bytes)).await
            }
            Opened::Sftp(folder) => folder.write(file_name, &bytes).await,
        }
    }

    pub async fn list(&self) -> io::Result<Vec<BackupFile>> {
        match self {
            Opened::Disk(disk) => {
                let disk = disk.clone();
                blocking(move || disk.list()).await
            }
            Opened::Sftp(folder) => folder.list().await,
        }
    }

    pub async fn read(&self, file_name: &str, limit: u64) -> io::Result<Vec<u8>> {
        match self {
            Opened::Disk(disk) => {
                let (disk, file_name) = (disk.clone(), file_name.to_string());
                blocking(move || disk.read(&file_name, limit)).await
            }
            Opened::Sftp(folder) => folder.read(file_name, limit).await,
        }
    }

    pub async fn delete(&self, file_name: &str) -> io::Result<()> {
        match self {
            Opened::Disk(disk) => {
                let (disk, file_name) = (disk.clone(), file_name.to_string());
                blocking(move || disk.delete(&file_name)).await
            }
            Opened::Sftp(folder) => folder.delete(file_name).await,
        }
    }

    /// Ends an SFTP session politely; a dropped one is closed all the same.
    pub async fn close(self) {
        if let Opened::Sftp(folder) = self {
            folder.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_never_reached_by_a_path() {
        let root = tempfile::tempdir().unwrap();
        let disk = Disk::new(root.path(), "backups");
        assert!(disk.list().unwrap().is_empty(), "no folder yet: no files");
        disk.write("a-CFG-261207-1000.mrbak", b"one").unwrap();
        std::fs::write(disk.dir().join("notes.txt"), b"x").unwrap();
        let listed = disk.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].file_name, "a-CFG-261207-1000.mrbak");
        assert_eq!(listed[0].size, 3);
        assert_eq!(
            disk.read("a-CFG-261207-1000.mrbak", 10).unwrap(),
            b"one".to_vec()
        );
        assert_eq!(
            disk.read("a-CFG-261207-1000.mrbak", 2).unwrap_err().kind(),
            io::ErrorKind::FileTooLarge
        );
        for bad in [
            "../a.mrbak",
            "/etc/passwd",
            ".hidden.mrbak",
            "",
            "a/b.mrbak",
        ] {
            assert_eq!(
                disk.read(bad, 100).unwrap_err().kind(),
                io::ErrorKind::InvalidInput,
                "{bad}"
            );
        }
        disk.delete("a-CFG-261207-1000.mrbak").unwrap();
        assert!(disk.list().unwrap().is_empty());
    }
}
