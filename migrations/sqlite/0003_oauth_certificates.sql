-- Certificate credentials for the Entra app: the public certificate here,
-- its private key in the vault (purpose "oauth.certificate_key", this id).
CREATE TABLE oauth_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    der BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    origin TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);

ALTER TABLE smtp_settings ADD COLUMN certificate_id INTEGER REFERENCES oauth_certificates (id);
