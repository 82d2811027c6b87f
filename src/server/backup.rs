//! Configuration backups: one file holding every configuration table and
//! the secrets they need, without the OAuth credentials (the technote says
//! they are entered again after a restore), sealed under a key derived from
//! the admin's Encryption Key.
//!
//! Format (`.mrbak`): the 16-byte magic, a big-endian u32 length, a JSON
//! header (name, versions, the Argon2id parameters and salt, the AES-256-GCM
//! nonce, a key check), then the gzipped JSON contents encrypted with
//! AES-256-GCM; everything before the ciphertext is its associated data, so
//! the header cannot be altered either. Argon2id derives 64 bytes: the
//! cipher key, and a check value that tells a wrong key from a damaged file.

use crate::domain::Secret;
use crate::server::db::{self, Dialect};
use crate::server::{AppState, settings};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Column, Row, ValueRef};
use std::io::{Read, Write};
use zeroize::Zeroizing;

const MAGIC: &[u8; 16] = b"MAILROOM-BACKUP1";
/// The backup file's extension.
pub const EXTENSION: &str = "mrbak";
/// A header longer than this is not one this code wrote.
const MAX_HEADER: usize = 64 * 1024;

/// The configuration tables, parents before children: restored in this
/// order, emptied in the reverse one.
pub const TABLES: &[&str] = &[
    "admins",
    "trusted_certificates",
    "proxy_settings",
    "smtp_settings",
    "log_levels",
    "guest_email_settings",
    "guest_types",
    "guest_portals",
    "guest_email_translations",
    "sponsor_groups",
    "sponsor_users",
    "guest_accounts",
    "alarm_settings",
    "alarm_notification",
    "password_policies",
    "internal_users",
    "sending_limits",
    "sender_mailboxes",
    "system_certificates",
    "certificate_signing_requests",
    "api_settings",
];

/// The vault's secrets a backup carries (opened, then sealed again under
/// the restoring node's key): the SMTP password of basic authentication,
/// the proxy's, guests' passwords, system certificates' keys.
const SECRETS: &[&str] = &[
    settings::SMTP_PASSWORD,
    settings::PROXY_PASSWORD,
    crate::server::guests::PASSWORD_PURPOSE,
    crate::server::https::KEY_PURPOSE,
    crate::server::service::system_certificates::CSR_KEY_PURPOSE,
];

/// What a restore removes from the vault and never brings back: the OAuth
/// credentials, and what was proved or fetched with them.
const OAUTH_SECRETS: &[&str] = &[
    settings::SMTP_CLIENT_SECRET,
    settings::SMTP_NEXT_CLIENT_SECRET,
    settings::OAUTH_CERTIFICATE_KEY,
    settings::PASSED_TEST,
    settings::PASSED_NEXT_SECRET_TEST,
    settings::PASSED_NEXT_CERTIFICATE_TEST,
    crate::server::oauth::shared::PURPOSE,
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub name: String,
    pub created_at: i64,
    pub mailroom_version: String,
    pub schema_version: i64,
    pub kdf: Kdf,
    pub cipher: String,
    pub nonce: String,
    pub key_check: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    pub algorithm: String,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub salt: String,
}

impl Kdf {
    fn new() -> Kdf {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        Kdf {
            algorithm: "argon2id".into(),
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
            salt: B64.encode(salt),
        }
    }

    /// The cipher key and the key check, from the Encryption Key.
    fn derive(&self, passphrase: &str) -> Result<(Zeroizing<[u8; 32]>, String), OpenError> {
        if self.algorithm != "argon2id"
            || self.memory_kib > 1024 * 1024
            || self.iterations > 64
            || self.parallelism > 16
        {
            return Err(OpenError::DamagedHeader);
        }
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(64))
                .map_err(|_| OpenError::DamagedHeader)?;
        let salt = B64
            .decode(&self.salt)
            .map_err(|_| OpenError::DamagedHeader)?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 64]);
        argon
            .hash_password_into(passphrase.as_bytes(), &salt, out.as_mut())
            .map_err(|_| OpenError::DamagedHeader)?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&out[..32]);
        let check = B64.encode(&Sha256::digest(&out[32..])[..16]);
        Ok((key, check))
    }
}

/// Why a file cannot be restored; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("This file is not a Mailroom configuration backup.")]
    NotABackup,
    #[error("The backup file is truncated or damaged: its header cannot be read.")]
    DamagedHeader,
    #[error("The Encryption Key does not open this backup: type the key it was taken with.")]
    WrongKey,
    #[error(
        "The backup file is truncated, damaged or altered: its contents fail the integrity check. Nothing was changed."
    )]
    Damaged,
    #[error(
        "This backup comes from a newer Mailroom (schema {backup}; this node has {here}): upgrade this node before restoring it."
    )]
    NewerSchema { backup: i64, here: i64 },
}

/// One table's rows, column by column as JSON values (blobs as
/// `{"base64": …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct CarriedSecret {
    pub purpose: String,
    pub record_id: String,
    pub value: String,
}

impl std::fmt::Debug for CarriedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CarriedSecret({}/{})", self.purpose, self.record_id)
    }
}

/// What a backup holds, decrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Contents {
    pub tables: Vec<Table>,
    pub secrets: Vec<CarriedSecret>,
}

impl Contents {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Encrypts `contents` into a backup file's bytes. CPU-heavy (Argon2id,
/// compression): call it off the async workers.
pub fn seal(
    contents: &Contents,
    name: &str,
    created_at: i64,
    passphrase: &str,
) -> anyhow::Result<Vec<u8>> {
    let kdf = Kdf::new();
    let (key, key_check) = kdf.derive(passphrase).map_err(|e| anyhow::anyhow!(e))?;
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let header = Header {
        format: 1,
        name: name.into(),
        created_at,
        mailroom_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: db::schema_version(),
        kdf,
        cipher: "aes-256-gcm".into(),
        nonce: B64.encode(nonce),
        key_check,
    };
    let mut plain = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut plain, contents)?;
    // The compressed contents hold the carried secrets: wiped once sealed.
    let plain = Zeroizing::new(plain.finish()?);
    let header_json = serde_json::to_vec(&header)?;
    let mut file = Vec::with_capacity(plain.len() + header_json.len() + 64);
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&u32::try_from(header_json.len())?.to_be_bytes());
    file.extend_from_slice(&header_json);
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).expect("a 32-byte key");
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &file,
            },
        )
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    file.extend_from_slice(&sealed);
    Ok(file)
}

/// The header of a backup file, unverified (for listing files before a
/// key is typed).
pub fn peek(file: &[u8]) -> Result<Header, OpenError> {
    Ok(split(file)?.1)
}

fn split(file: &[u8]) -> Result<(&[u8], Header, &[u8]), OpenError> {
    if file.len() < MAGIC.len() || &file[..MAGIC.len()] != MAGIC {
        return Err(OpenError::NotABackup);
    }
    let rest = &file[MAGIC.len()..];
    let Some(length) = rest.get(..4) else {
        return Err(OpenError::DamagedHeader);
    };
    let length = u32::from_be_bytes(length.try_into().expect("4 bytes")) as usize;
    if length > MAX_HEADER {
        return Err(OpenError::DamagedHeader);
    }
    let header_end = MAGIC.len() + 4 + length;
    let header_bytes = file
        .get(MAGIC.len() + 4..header_end)
        .ok_or(OpenError::DamagedHeader)?;
    let header: Header =
        serde_json::from_slice(header_bytes).map_err(|_| OpenError::DamagedHeader)?;
    if header.format != 1 || header.cipher != "aes-256-gcm" {
        return Err(OpenError::DamagedHeader);
    }
    Ok((&file[..header_end], header, &file[header_end..]))
}

/// Checks and decrypts a backup file: the key, the integrity of every
/// byte, the schema. CPU-heavy: call it off the async workers.
pub fn open(file: &[u8], passphrase: &str) -> Result<(Header, Contents), OpenError> {
    let (aad, header, sealed) = split(file)?;
    let (key, key_check) = header.kdf.derive(passphrase)?;
    if key_check != header.key_check {
        return Err(OpenError::WrongKey);
    }
    let here = db::schema_version();
    if header.schema_version > here {
        return Err(OpenError::NewerSchema {
            backup: header.schema_version,
            here,
        });
    }
    let nonce = B64
        .decode(&header.nonce)
        .map_err(|_| OpenError::DamagedHeader)?;
    if nonce.len() != 12 {
        return Err(OpenError::DamagedHeader);
    }
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).expect("a 32-byte key");
    let plain = Zeroizing::new(
        cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: sealed, aad })
            .map_err(|_| OpenError::Damaged)?,
    );
    let mut json = Zeroizing::new(Vec::new());
    flate2::read::GzDecoder::new(plain.as_slice())
        .read_to_end(&mut json)
        .map_err(|_| OpenError::Damaged)?;
    let contents: Contents = serde_json::from_slice(&json).map_err(|_| OpenError::Damaged)?;
    Ok((header, contents))
}

/// Reads the configuration in one consistent snapshot.
pub async fn dump(state: &AppState) -> anyhow::Result<Contents> {
    let mut tx = state.db.begin().await?;
    if Dialect::of(&state.db) == Dialect::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let mut tables = Vec::with_capacity(TABLES.len());
    for name in TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {name} ORDER BY 1"))
            .fetch_all(&mut *tx)
            .await?;
        let columns: Vec<String> = rows
            .first()
            .map(|row| row.columns().iter().map(|c| c.name().to_string()).collect())
            .unwrap_or_default();
        let mut values = Vec::with_capacity(rows.len());
        for row in &rows {
            values.push(
                (0..columns.len())
                    .map(|i| json_value(row, i))
                    .collect::<anyhow::Result<Vec<Value>>>()?,
            );
        }
        let mut table = Table {
            name: name.to_string(),
            columns,
            rows: values,
        };
        if *name == "smtp_settings" {
            without_oauth_credentials(&mut table);
        }
        tables.push(table);
    }
    let mut sealed = Vec::new();
    for purpose in SECRETS {
        sealed.extend(db::vault::all_of(&mut *tx, purpose).await?);
    }
    tx.commit().await?;
    let opened = state.vault.open_rows(&sealed).await?;
    let secrets = sealed
        .into_iter()
        .zip(opened)
        .map(|(row, value)| CarriedSecret {
            purpose: row.purpose,
            record_id: row.record_id,
            value: value.expose().to_string(),
        })
        .collect();
    Ok(Contents { tables, secrets })
}

/// The SMTP settings keep which credential they use, not the credential:
/// no certificate (its key stays behind), no staged next one.
fn without_oauth_credentials(table: &mut Table) {
    for (column, blank) in [
        ("certificate_id", Value::Null),
        ("next_certificate_id", Value::Null),
        ("next_secret_expiry", Value::String(String::new())),
    ] {
        if let Some(i) = table.columns.iter().position(|c| c == column) {
            for row in &mut table.rows {
                row[i] = blank.clone();
            }
        }
    }
}

fn json_value(row: &sqlx::any::AnyRow, i: usize) -> anyhow::Result<Value> {
    use sqlx::any::AnyTypeInfoKind as Kind;
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        Kind::Null => Value::Null,
        Kind::Bool => Value::Bool(row.try_get::<bool, _>(i)?),
        Kind::SmallInt | Kind::Integer | Kind::BigInt => Value::from(row.try_get::<i64, _>(i)?),
        Kind::Real | Kind::Double => Value::from(row.try_get::<f64, _>(i)?),
        Kind::Text => Value::String(row.try_get::<String, _>(i)?),
        Kind::Blob => {
            serde_json::json!({ "base64": B64.encode(row.try_get::<Vec<u8>, _>(i)?) })
        }
    })
}

/// A column's type on this database, as a restore binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    Bool,
    Int,
    Real,
    Text,
    Blob,
}

impl ColumnType {
    fn of_declared(declared: &str) -> ColumnType {
        let declared = declared.to_ascii_lowercase();
        if declared.contains("bool") {
            ColumnType::Bool
        } else if declared.contains("int") {
            ColumnType::Int
        } else if declared.contains("bytea") || declared.contains("blob") {
            ColumnType::Blob
        } else if ["real", "double", "float", "numeric"]
            .iter()
            .any(|t| declared.contains(t))
        {
            ColumnType::Real
        } else {
            ColumnType::Text
        }
    }
}

async fn column_types(
    conn: &mut sqlx::AnyConnection,
    table: &str,
) -> anyhow::Result<Vec<(String, ColumnType)>> {
    let rows: Vec<(String, String)> = match Dialect::of_connection(conn) {
        Dialect::Sqlite => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(&mut *conn)
                .await?
        }
        Dialect::Postgres => {
            sqlx::query_as(
                "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(name, declared)| (name, ColumnType::of_declared(&declared)))
        .collect())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a backed-up value as the target column's type (SQLite keeps
/// flags as integers, PostgreSQL as booleans).
fn bind_value<'q>(
    query: AnyQuery<'q>,
    value: &Value,
    ty: ColumnType,
) -> anyhow::Result<AnyQuery<'q>> {
    let bad = || anyhow::anyhow!("the backup holds {value} where a {ty:?} belongs");
    Ok(match ty {
        ColumnType::Bool => query.bind(match value {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_i64().ok_or_else(bad)? != 0),
            _ => return Err(bad()),
        }),
        ColumnType::Int => query.bind(match value {
            Value::Null => None,
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Number(n) => Some(n.as_i64().ok_or_else(bad)?),
            _ => return Err(bad()),
        }),
        ColumnType::Real => query.bind(match value {
            Value::Null => None,
            Value::Number(n) => Some(n.as_f64().ok_or_else(bad)?),
            _ => return Err(bad()),
        }),
        ColumnType::Text => query.bind(match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => return Err(bad()),
        }),
        ColumnType::Blob => query.bind(match value {
            Value::Null => None,
            Value::Object(o) => Some(
                o.get("base64")
                    .and_then(Value::as_str)
                    .and_then(|s| B64.decode(s).ok())
                    .ok_or_else(bad)?,
            ),
            _ => return Err(bad()),
        }),
    })
}

/// What a restore replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    pub tables: usize,
    pub rows: usize,
    pub secrets: usize,
}

/// Replaces the configuration with the backup's in one transaction: the
/// tables it holds, and the vault's secrets sealed again under this node's
/// key. The OAuth credentials are removed (the backup has none), and so
/// are the sessions of the admins and sponsors replaced. Operational data
/// (outbox, logs, audit, alarms) stays.
pub async fn restore(
    state: &AppState,
    contents: &Contents,
    file_name: &str,
    by: &str,
) -> anyhow::Result<Restored> {
    let now = state.now();
    let mut tx = db::begin_write(&state.db).await?;
    // Sessions end; approval links name guest ids the restored accounts
    // may reuse for someone else, so they go too.
    for table in [
        "sessions",
        "sponsor_sessions",
        "trusted_devices",
        "guest_approval_links",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    let present: Vec<&str> = TABLES
        .iter()
        .copied()
        .filter(|name| contents.table(name).is_some())
        .collect();
    for name in present.iter().rev() {
        sqlx::query(&format!("DELETE FROM {name}"))
            .execute(&mut *tx)
            .await?;
    }
    // The OAuth certificates are no one's now (their keys are not backed up).
    sqlx::query("DELETE FROM oauth_certificates")
        .execute(&mut *tx)
        .await?;
    let mut restored = Restored::default();
    for name in &present {
        let table = contents.table(name).expect("present");
        let types = column_types(&mut tx, name).await?;
        // Columns this schema has, in the backup's order (a column the
        // backup lacks takes its default).
        let kept: Vec<(usize, &str, ColumnType)> = table
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, column)| {
                types
                    .iter()
                    .find(|(name, _)| name == column)
                    .map(|(name, ty)| (i, name.as_str(), *ty))
            })
            .collect();
        if kept.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO {name} ({}) VALUES ({})",
            kept.iter()
                .map(|(_, c, _)| *c)
                .collect::<Vec<_>>()
                .join(", "),
            (1..=kept.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for row in &table.rows {
            let mut query = sqlx::query(&sql);
            for (i, _, ty) in &kept {
                let value = row
                    .get(*i)
                    .ok_or_else(|| anyhow::anyhow!("a row of {name} is short"))?;
                query = bind_value(query, value, *ty)?;
            }
            query.execute(&mut *tx).await?;
            restored.rows += 1;
        }
        restored.tables += 1;
        if Dialect::of_connection(&tx) == Dialect::Postgres
            && kept.iter().any(|(_, c, _)| *c == "id")
        {
            // Explicit ids leave the sequence behind: new rows continue after them.
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{name}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    for purpose in SECRETS.iter().chain(OAUTH_SECRETS) {
        db::vault::delete_purpose(&mut *tx, purpose).await?;
    }
    for secret in &contents.secrets {
        if !SECRETS.contains(&secret.purpose.as_str()) {
            continue;
        }
        state
            .vault
            .put_in(
                &mut *tx,
                &secret.purpose,
                &secret.record_id,
                &Secret::new(secret.value.clone()),
                now,
            )
            .await?;
        restored.secrets += 1;
    }
    db::audit::insert(
        &mut *tx,
        &db::audit::AuditRow {
            at: now,
            admin: by.into(),
            client_ip: String::new(),
            action: "restore".into(),
            target: "Configuration".into(),
            changed_fields: file_name.into(),
        },
    )
    .await?;
    db::deployment::bump_settings_version(&mut *tx).await?;
    tx.commit().await?;
    Ok(restored)
}

/// `NAME-CFG-YYMMDD-HHMM.mrbak`, as ISE names its `.tar.gpg` files.
pub fn file_name(name: &str, at: time::OffsetDateTime) -> String {
    format!(
        "{name}-CFG-{:02}{:02}{:02}-{:02}{:02}.{EXTENSION}",
        at.year() % 100,
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// Writes a backup file next to its final name, then renames it: a full
/// disk or a crash never leaves a partial file under the backup's name.
pub fn write_file(
    dir: &std::path::Path,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<std::path::PathBuf> {
    let target = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
    let result = (|| {
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&partial, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|()| target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Contents {
        Contents {
            tables: vec![Table {
                name: "admins".into(),
                columns: vec!["id".into(), "name".into()],
                rows: vec![vec![Value::from(1), Value::from("root")]],
            }],
            secrets: vec![CarriedSecret {
                purpose: "proxy.password".into(),
                record_id: "1".into(),
                value: "Proxy-Pa55".into(),
            }],
        }
    }

    #[test]
    fn a_backup_opens_with_its_key_only_and_any_altered_byte_is_refused() {
        let file = seal(&sample(), "nightly", 1_800_000_000, "Backup-Key-1").unwrap();
        assert!(!String::from_utf8_lossy(&file).contains("Proxy-Pa55"));
        let (header, contents) = open(&file, "Backup-Key-1").unwrap();
        assert_eq!(header.name, "nightly");
        assert_eq!(contents.secrets[0].value, "Proxy-Pa55");
        assert_eq!(contents.tables, sample().tables);

        assert_eq!(
            open(&file, "Backup-Key-2").unwrap_err(),
            OpenError::WrongKey
        );
        let mut flipped = file.clone();
        let last = flipped.len() - 20;
        flipped[last] ^= 1;
        assert_eq!(
            open(&flipped, "Backup-Key-1").unwrap_err(),
            OpenError::Damaged
        );
        let truncated = &file[..file.len() - 100];
        assert_eq!(
            open(truncated, "Backup-Key-1").unwrap_err(),
            OpenError::Damaged
        );
        assert_eq!(
            open(&file[..30], "Backup-Key-1").unwrap_err(),
            OpenError::DamagedHeader
        );
        assert_eq!(
            open(b"PK\x03\x04 a zip", "x").unwrap_err(),
            OpenError::NotABackup
        );
    }

    /// A file with `header` in place of its own, and the same ciphertext.
    fn with_header(header: &Header, sealed: &[u8]) -> Vec<u8> {
        let header_json = serde_json::to_vec(header).unwrap();
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&(header_json.len() as u32).to_be_bytes());
        file.extend_from_slice(&header_json);
        file.extend_from_slice(sealed);
        file
    }

    #[test]
    fn the_header_is_authenticated_with_the_contents() {
        let file = seal(&sample(), "nightly", 1_800_000_000, "k").unwrap();
        let (_, mut header, sealed) = split(&file).unwrap();
        header.name = "renamed".into();
        let forged = with_header(&header, sealed);
        assert_eq!(open(&forged, "k").unwrap_err(), OpenError::Damaged);
    }

    #[test]
    fn a_backup_from_a_newer_schema_is_refused() {
        let file = seal(&sample(), "n", 0, "k").unwrap();
        let (_, mut header, sealed) = split(&file).unwrap();
        header.schema_version = db::schema_version() + 1;
        let newer = with_header(&header, sealed);
        assert!(matches!(
            open(&newer, "k").unwrap_err(),
            OpenError::NewerSchema { .. }
        ));
    }

    #[test]
    fn file_names_follow_ise() {
        let at = time::macros::datetime!(2026-12-07 09:05 UTC);
        assert_eq!(file_name("nightly", at), "nightly-CFG-261207-0905.mrbak");
    }

    #[test]
    fn declared_types_map_to_how_a_restore_binds() {
        assert_eq!(ColumnType::of_declared("BOOLEAN"), ColumnType::Bool);
        assert_eq!(ColumnType::of_declared("bigint"), ColumnType::Int);
        assert_eq!(ColumnType::of_declared("INTEGER"), ColumnType::Int);
        assert_eq!(ColumnType::of_declared("bytea"), ColumnType::Blob);
        assert_eq!(ColumnType::of_declared("BLOB"), ColumnType::Blob);
        assert_eq!(ColumnType::of_declared("text"), ColumnType::Text);
        assert_eq!(
            ColumnType::of_declared("character varying"),
            ColumnType::Text
        );
    }
}
