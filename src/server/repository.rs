//! A DISK repository's folder: backup files written, listed, read and
//! deleted under the node's local disk. Blocking: callers run it off the
//! async runtime.

use crate::domain::backup::BackupFile;
use crate::server::backup::EXTENSION;
use std::io;
use std::path::{Path, PathBuf};

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
        let plain = !file_name.is_empty()
            && !file_name.starts_with('.')
            && file_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if plain {
            Ok(self.dir.join(file_name))
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a backup file name",
            ))
        }
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
            if file_name.starts_with('.') || !file_name.ends_with(&format!(".{EXTENSION}")) {
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
        files.sort_by(|a, b| {
            b.modified_at
                .cmp(&a.modified_at)
                .then_with(|| b.file_name.cmp(&a.file_name))
        });
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
