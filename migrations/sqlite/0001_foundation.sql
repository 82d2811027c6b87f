CREATE TABLE admins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email TEXT,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    include_alarm_emails INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL,
    password_changed_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Only a SHA-256 of the session token is stored: a copy of the database
-- cannot be replayed as a cookie.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    client_ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_admin ON sessions(admin_id);

-- The vault: AES-256-GCM ciphertexts, bound to (purpose, record_id) as
-- associated data so a ciphertext moved to another row fails to decrypt.
CREATE TABLE vault_secrets (
    purpose TEXT NOT NULL,
    record_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (purpose, record_id)
);

-- A known value encrypted under the current master key, to tell a wrong key
-- from tampered data and to finish an interrupted key rotation.
CREATE TABLE vault_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    admin TEXT NOT NULL,
    client_ip TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    changed_fields TEXT NOT NULL DEFAULT ''
);
