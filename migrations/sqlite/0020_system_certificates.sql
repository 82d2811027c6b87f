-- System certificates: what each node serves HTTPS with (Used By: Admin,
-- Portal). The private keys are sealed in the vault, never stored here.
CREATE TABLE system_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    used_by_admin INTEGER NOT NULL,
    used_by_portal INTEGER NOT NULL,
    certificate_pem TEXT NOT NULL,
    issued_to TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX system_certificates_node ON system_certificates (node);
