//! The secret vault: AES-256-GCM with a random nonce per write and the
//! record's purpose and id as associated data. The master key lives in a
//! 0600 key file in the data directory, or comes from `MAILROOM_MASTER_KEY`.

use crate::domain::Secret;
use crate::server::db;
use crate::server::db::vault::SealedRow;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use sqlx::AnyPool;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::RwLock;
use zeroize::Zeroizing;

/// The key file in the data directory (without `MAILROOM_MASTER_KEY`).
pub const KEY_FILE: &str = "master.key";
const NEW_KEY_FILE: &str = "master.key.new";
const KEY_CHECK_PLAINTEXT: &[u8] = b"mailroom vault key check";
const KEY_CHECK_PURPOSE: &str = "vault";
const KEY_CHECK_ID: &str = "key-check";
pub const MASTER_KEY_ENV: &str = "MAILROOM_MASTER_KEY";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the master key does not open this database's vault: wrong key, or the key file was replaced"
    )]
    WrongKey,
    #[error(
        "the stored secret {purpose}/{record_id} failed its integrity check: it was altered or corrupted"
    )]
    Tampered { purpose: String, record_id: String },
    #[error("master key: {0}")]
    Key(String),
    #[error("vault database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("master key file: {0}")]
    Io(#[from] std::io::Error),
}

/// 32 bytes, wiped from memory when dropped.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        MasterKey(bytes)
    }

    /// Accepts 64 hex digits (the key file's form) or standard base64.
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        use base64::Engine;
        let text = text.trim();
        let bytes = Zeroizing::new(
            if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
                hex::decode(text).map_err(|e| VaultError::Key(e.to_string()))?
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| {
                        VaultError::Key("expected 64 hex digits or base64 of 32 bytes".into())
                    })?
            },
        );
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Key(format!("expected 32 bytes, found {}", bytes.len())))?;
        Ok(MasterKey(Zeroizing::new(array)))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_ref().into())
    }
}

fn associated_data(purpose: &str, record_id: &str) -> Vec<u8> {
    // The unit separator cannot appear in either part, so ("a", "b\x1fc")
    // and ("a\x1fb", "c") can never collide.
    format!("{purpose}\x1f{record_id}").into_bytes()
}

/// Encrypts `plaintext` for (purpose, record_id) with a fresh random nonce.
pub fn seal(key: &MasterKey, purpose: &str, record_id: &str, plaintext: &[u8]) -> SealedRow {
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = associated_data(purpose, record_id);
    let ciphertext = key
        .cipher()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    SealedRow {
        purpose: purpose.into(),
        record_id: record_id.into(),
        nonce: nonce.to_vec(),
        ciphertext,
    }
}

/// Decrypts a row; any change to nonce, ciphertext, purpose or id fails.
pub fn unseal(key: &MasterKey, row: &SealedRow) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let tampered = || VaultError::Tampered {
        purpose: row.purpose.clone(),
        record_id: row.record_id.clone(),
    };
    if row.nonce.len() != 12 {
        return Err(tampered());
    }
    let aad = associated_data(&row.purpose, &row.record_id);
    key.cipher()
        .decrypt(
            Nonce::from_slice(&row.nonce),
            Payload {
                msg: &row.ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| tampered())
}

fn key_check_matches(key: &MasterKey, nonce: &[u8], ciphertext: &[u8]) -> bool {
    let row = SealedRow {
        purpose: KEY_CHECK_PURPOSE.into(),
        record_id: KEY_CHECK_ID.into(),
        nonce: nonce.to_vec(),
        ciphertext: ciphertext.to_vec(),
    };
    unseal(key, &row).is_ok_and(|plain| plain.as_slice() == KEY_CHECK_PLAINTEXT)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Environment,
}

pub struct Vault {
    db: AnyPool,
    key: RwLock<MasterKey>,
    source: KeySource,
}

/// What a rotation did, for the CLI to report.
pub struct Rotation {
    pub secrets: usize,
    /// Set when the key came from the environment: the operator must store it.
    pub new_key_for_environment: Option<Zeroizing<String>>,
}

impl Vault {
    /// Loads or creates the master key and checks it against the database.
    pub async fn open(db: AnyPool, data_dir: &Path) -> Result<Vault, VaultError> {
        let (key, source) = match std::env::var(MASTER_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => {
                (MasterKey::parse(&text)?, KeySource::Environment)
            }
            _ => {
                let path = data_dir.join(KEY_FILE);
                (
                    load_or_create_key_file(&db, data_dir).await?,
                    KeySource::File(path),
                )
            }
        };
        Self::with_key(db, key, source).await
    }

    pub async fn with_key(
        db: AnyPool,
        key: MasterKey,
        source: KeySource,
    ) -> Result<Vault, VaultError> {
        match db::vault::key_check(&db).await? {
            Some((nonce, ciphertext)) => {
                if !key_check_matches(&key, &nonce, &ciphertext) {
                    return Err(VaultError::WrongKey);
                }
            }
            None => {
                let row = seal(&key, KEY_CHECK_PURPOSE, KEY_CHECK_ID, KEY_CHECK_PLAINTEXT);
                db::vault::set_key_check(&db, &row.nonce, &row.ciphertext).await?;
            }
        }
        Ok(Vault {
            db,
            key: RwLock::new(key),
            source,
        })
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    pub async fn put(
        &self,
        purpose: &str,
        record_id: &str,
        secret: &Secret,
        now: i64,
    ) -> Result<(), VaultError> {
        let key = self.key.read().await;
        let row = seal(&key, purpose, record_id, secret.expose().as_bytes());
        db::vault::upsert(&self.db, &row, now).await?;
        Ok(())
    }

    /// Like `put`, inside the caller's transaction, so the secret and the
    /// settings that refer to it are saved together or not at all.
    pub async fn put_in(
        &self,
        db: impl sqlx::AnyExecutor<'_>,
        purpose: &str,
        record_id: &str,
        secret: &Secret,
        now: i64,
    ) -> Result<(), VaultError> {
        let key = self.key.read().await;
        let row = seal(&key, purpose, record_id, secret.expose().as_bytes());
        db::vault::upsert(db, &row, now).await?;
        Ok(())
    }

    pub async fn get(&self, purpose: &str, record_id: &str) -> Result<Option<Secret>, VaultError> {
        let Some(row) = db::vault::get(&self.db, purpose, record_id).await? else {
            return Ok(None);
        };
        let key = self.key.read().await;
        let plain = unseal(&key, &row)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| VaultError::Tampered {
            purpose: purpose.into(),
            record_id: record_id.into(),
        })?;
        Ok(Some(Secret::new(text)))
    }

    /// Opens rows read elsewhere (a backup reads them in its own snapshot).
    pub async fn open_rows(&self, rows: &[SealedRow]) -> Result<Vec<Secret>, VaultError> {
        let key = self.key.read().await;
        rows.iter()
            .map(|row| {
                let plain = unseal(&key, row)?;
                String::from_utf8(plain.to_vec())
                    .map(Secret::new)
                    .map_err(|_| VaultError::Tampered {
                        purpose: row.purpose.clone(),
                        record_id: row.record_id.clone(),
                    })
            })
            .collect()
    }

    /// Several secrets of one purpose at once, by record id (absent ones
    /// are left out).
    pub async fn get_many(
        &self,
        purpose: &str,
        record_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Secret>, VaultError> {
        let rows = db::vault::get_many(&self.db, purpose, record_ids).await?;
        let key = self.key.read().await;
        let mut secrets = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let plain = unseal(&key, &row)?;
            let text = String::from_utf8(plain.to_vec()).map_err(|_| VaultError::Tampered {
                purpose: row.purpose.clone(),
                record_id: row.record_id.clone(),
            })?;
            secrets.insert(row.record_id, Secret::new(text));
        }
        Ok(secrets)
    }

    pub async fn contains(&self, purpose: &str, record_id: &str) -> Result<bool, VaultError> {
        Ok(db::vault::get(&self.db, purpose, record_id)
            .await?
            .is_some())
    }

    /// Which of `purposes` hold a secret for `record_id`: one query where
    /// `contains` for each would cost a round trip each.
    pub async fn stored(
        &self,
        record_id: &str,
        purposes: &[&str],
    ) -> Result<std::collections::HashSet<String>, VaultError> {
        Ok(db::vault::stored_purposes(&self.db, record_id, purposes)
            .await?
            .into_iter()
            .collect())
    }

    pub async fn delete(&self, purpose: &str, record_id: &str) -> Result<bool, VaultError> {
        Ok(db::vault::delete(&self.db, purpose, record_id).await?)
    }

    /// Re-encrypts every secret under a fresh key. The new key is written to
    /// `master.key.new` before the database changes and renamed over
    /// `master.key` after the commit; `open` finishes or discards a rotation
    /// that a crash interrupted, so no secret is ever left unreadable.
    pub async fn rotate_key(&self, data_dir: &Path, now: i64) -> Result<Rotation, VaultError> {
        let mut key = self.key.write().await;
        let new_key = MasterKey::generate();
        let new_key_path = data_dir.join(NEW_KEY_FILE);
        if let KeySource::File(_) = self.source {
            write_key_file(&new_key_path, &new_key)?;
        }
        let mut tx = crate::server::db::begin_write(&self.db).await?;
        let rows = db::vault::all(&mut *tx).await?;
        for row in &rows {
            let plain = unseal(&key, row)?;
            let resealed = seal(&new_key, &row.purpose, &row.record_id, &plain);
            db::vault::upsert(&mut *tx, &resealed, now).await?;
        }
        let check = seal(
            &new_key,
            KEY_CHECK_PURPOSE,
            KEY_CHECK_ID,
            KEY_CHECK_PLAINTEXT,
        );
        db::vault::set_key_check(&mut *tx, &check.nonce, &check.ciphertext).await?;
        tx.commit().await?;
        let new_key_for_environment = match &self.source {
            KeySource::File(path) => {
                std::fs::rename(&new_key_path, path)?;
                sync_dir(data_dir);
                None
            }
            KeySource::Environment => Some(new_key.to_hex()),
        };
        *key = new_key;
        Ok(Rotation {
            secrets: rows.len(),
            new_key_for_environment,
        })
    }
}

async fn load_or_create_key_file(db: &AnyPool, data_dir: &Path) -> Result<MasterKey, VaultError> {
    let path = data_dir.join(KEY_FILE);
    let new_path = data_dir.join(NEW_KEY_FILE);
    if new_path.exists() {
        // An interrupted rotation: keep whichever key the database now uses.
        let new_key = MasterKey::parse(&std::fs::read_to_string(&new_path)?)?;
        let committed = db::vault::key_check(db)
            .await?
            .is_some_and(|(nonce, ciphertext)| key_check_matches(&new_key, &nonce, &ciphertext));
        if committed {
            std::fs::rename(&new_path, &path)?;
        } else {
            std::fs::remove_file(&new_path)?;
        }
        sync_dir(data_dir);
    }
    if path.exists() {
        check_key_file_mode(&path)?;
        return MasterKey::parse(&std::fs::read_to_string(&path)?);
    }
    if db::vault::key_check(db).await?.is_some() {
        return Err(VaultError::Key(format!(
            "{} is missing but the database holds secrets sealed with it; restore the key file or set {MASTER_KEY_ENV}",
            path.display()
        )));
    }
    let key = MasterKey::generate();
    write_key_file(&path, &key)?;
    sync_dir(data_dir);
    Ok(key)
}

fn write_key_file(path: &Path, key: &MasterKey) -> Result<(), VaultError> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key.to_hex().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

fn check_key_file_mode(path: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::Key(format!(
            "{} is readable by other users (mode {mode:o}); run: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_unseal_round_trips_with_fresh_nonces() {
        let key = MasterKey::generate();
        let a = seal(&key, "smtp", "1", b"client-secret-value");
        let b = seal(&key, "smtp", "1", b"client-secret-value");
        assert_ne!(a.nonce, b.nonce, "every write uses a new nonce");
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(unseal(&key, &a).unwrap().as_slice(), b"client-secret-value");
        assert!(
            !a.ciphertext.windows(6).any(|w| w == b"client"),
            "no clear text in the ciphertext"
        );
    }

    #[test]
    fn tampered_ciphertext_nonce_or_binding_is_refused() {
        let key = MasterKey::generate();
        let sealed = seal(&key, "smtp", "1", b"value");
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(matches!(
            unseal(&key, &flipped),
            Err(VaultError::Tampered { .. })
        ));
        let mut other_nonce = sealed.clone();
        other_nonce.nonce[3] ^= 0x80;
        assert!(unseal(&key, &other_nonce).is_err());
        let mut moved = sealed.clone();
        moved.record_id = "2".into();
        assert!(
            unseal(&key, &moved).is_err(),
            "a ciphertext moved to another record fails"
        );
        let mut short = sealed;
        short.nonce.truncate(4);
        assert!(unseal(&key, &short).is_err());
    }

    #[test]
    fn wrong_key_cannot_open() {
        let sealed = seal(&MasterKey::generate(), "smtp", "1", b"value");
        assert!(unseal(&MasterKey::generate(), &sealed).is_err());
    }

    #[test]
    fn key_parsing_accepts_hex_and_base64_and_rejects_the_rest() {
        let key = MasterKey::generate();
        let hex_form = key.to_hex();
        assert_eq!(MasterKey::parse(&hex_form).unwrap().to_hex(), hex_form);
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.0.as_ref());
        assert_eq!(MasterKey::parse(&b64).unwrap().to_hex(), hex_form);
        assert!(MasterKey::parse("too-short").is_err());
        assert!(MasterKey::parse(&"ab".repeat(16)).is_err());
    }

    async fn pool(dir: &Path) -> AnyPool {
        crate::server::db::open(&crate::server::db::Location::SqliteFile(
            dir.join("mailroom.db"),
        ))
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn secrets_survive_reopen_and_key_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let db = pool(dir.path()).await;
        let vault = Vault::open(db.clone(), dir.path()).await.unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        vault
            .put("smtp", "client-secret", &Secret::new("s3cr3t~value"), 1)
            .await
            .unwrap();
        vault
            .put("proxy", "password", &Secret::new("pr0xy"), 1)
            .await
            .unwrap();
        let old_key = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();

        let rotation = vault.rotate_key(dir.path(), 2).await.unwrap();
        assert_eq!(rotation.secrets, 2);
        assert!(rotation.new_key_for_environment.is_none());
        let new_key = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
        assert_ne!(old_key, new_key);
        assert!(!dir.path().join(NEW_KEY_FILE).exists());
        assert_eq!(
            vault
                .get("smtp", "client-secret")
                .await
                .unwrap()
                .unwrap()
                .expose(),
            "s3cr3t~value"
        );

        drop(vault);
        let reopened = Vault::open(db.clone(), dir.path()).await.unwrap();
        assert_eq!(
            reopened
                .get("proxy", "password")
                .await
                .unwrap()
                .unwrap()
                .expose(),
            "pr0xy"
        );
        let stale = Vault::with_key(
            db,
            MasterKey::parse(&old_key).unwrap(),
            KeySource::Environment,
        )
        .await;
        assert!(matches!(stale, Err(VaultError::WrongKey)));
    }

    #[tokio::test]
    async fn interrupted_rotation_before_commit_keeps_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = pool(dir.path()).await;
        let vault = Vault::open(db.clone(), dir.path()).await.unwrap();
        vault
            .put("smtp", "client-secret", &Secret::new("kept"), 1)
            .await
            .unwrap();
        drop(vault);
        // A crash after writing the new key file but before the commit.
        write_key_file(&dir.path().join(NEW_KEY_FILE), &MasterKey::generate()).unwrap();
        let vault = Vault::open(db, dir.path()).await.unwrap();
        assert!(!dir.path().join(NEW_KEY_FILE).exists());
        assert_eq!(
            vault
                .get("smtp", "client-secret")
                .await
                .unwrap()
                .unwrap()
                .expose(),
            "kept"
        );
    }

    #[tokio::test]
    async fn tampered_row_in_the_database_gives_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = pool(dir.path()).await;
        let vault = Vault::open(db.clone(), dir.path()).await.unwrap();
        vault
            .put("smtp", "client-secret", &Secret::new("value"), 1)
            .await
            .unwrap();
        sqlx::query("UPDATE vault_secrets SET ciphertext = X'00112233445566778899aabbccddeeff00'")
            .execute(&db)
            .await
            .unwrap();
        let err = vault.get("smtp", "client-secret").await.unwrap_err();
        assert!(
            err.to_string()
                .contains("smtp/client-secret failed its integrity check"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_group_readable_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = pool(dir.path()).await;
        drop(Vault::open(db.clone(), dir.path()).await.unwrap());
        let path = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Vault::open(db, dir.path()).await.err().unwrap();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[tokio::test]
    async fn many_secrets_are_read_and_deleted_by_record_within_their_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let db = pool(dir.path()).await;
        let vault = Vault::open(db.clone(), dir.path()).await.unwrap();
        for id in ["1", "2", "3"] {
            let secret = Secret::new(format!("body \"{id}\"\u{0}\u{e9}\n"));
            vault.put("mail-body", id, &secret, 1).await.unwrap();
        }
        vault
            .put("guest-password", "2", &Secret::new("other purpose"), 1)
            .await
            .unwrap();
        let ids = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
        let found = vault
            .get_many("mail-body", &ids(&["1", "3", "9"]))
            .await
            .unwrap();
        let mut keys: Vec<&String> = found.keys().collect();
        keys.sort();
        assert_eq!(keys, ["1", "3"], "an absent record is left out");
        assert_eq!(found["3"].expose(), "body \"3\"\u{0}\u{e9}\n");
        assert!(vault.get_many("mail-body", &[]).await.unwrap().is_empty());

        let deleted = db::vault::delete_many(&db, "mail-body", &ids(&["2", "3", "9"]))
            .await
            .unwrap();
        assert_eq!(deleted, 2);
        assert!(vault.get("mail-body", "1").await.unwrap().is_some());
        assert!(vault.get("mail-body", "2").await.unwrap().is_none());
        assert_eq!(
            vault
                .get("guest-password", "2")
                .await
                .unwrap()
                .unwrap()
                .expose(),
            "other purpose",
            "another purpose's record of the same id stays"
        );
    }
}
