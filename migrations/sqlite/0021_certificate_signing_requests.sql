-- Who added each system certificate; pending certificate signing requests,
-- whose private keys wait sealed in the vault until the CA-signed
-- certificate is bound.
ALTER TABLE system_certificates ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
CREATE TABLE certificate_signing_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- Newline-separated DNS:/IP: entries.
    sans TEXT NOT NULL,
    key_type TEXT NOT NULL,
    used_by_admin INTEGER NOT NULL,
    used_by_portal INTEGER NOT NULL,
    csr_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
