-- The SMTP Server page: one row. Secrets (password, client secret) live in
-- the vault, never here.
CREATE TABLE smtp_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    smtp_server TEXT NOT NULL,
    smtp_port INTEGER NOT NULL,
    connection_timeout INTEGER NOT NULL,
    use_tls INTEGER NOT NULL,
    use_authentication INTEGER NOT NULL,
    auth_type TEXT NOT NULL,
    username TEXT NOT NULL,
    cloud TEXT NOT NULL,
    custom_authority TEXT NOT NULL,
    client_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    credential TEXT NOT NULL,
    secret_expiry TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- Administration > System > Certificates > Trusted Certificates.
CREATE TABLE trusted_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    friendly_name TEXT NOT NULL,
    der BLOB NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    trust_infrastructure INTEGER NOT NULL,
    description TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    added_by TEXT NOT NULL
);

-- Administration > System > Settings > Proxy: one row; its password is in the vault.
CREATE TABLE proxy_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    username TEXT NOT NULL,
    bypass TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
