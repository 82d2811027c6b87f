-- Guest portals: the Self-Registered Guest Portal (default) is created at
-- start-up from GuestPortal defaults in the code. Domain lists are
-- newline-separated.
CREATE TABLE guest_portals (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL,
    guest_type_id INTEGER NOT NULL REFERENCES guest_types (id),
    max_per_hour INTEGER NOT NULL,
    allowed_domains TEXT NOT NULL,
    blocked_domains TEXT NOT NULL,
    require_aup INTEGER NOT NULL,
    aup_text TEXT NOT NULL,
    email_credentials INTEGER NOT NULL,
    show_credentials INTEGER NOT NULL,
    email_subject TEXT NOT NULL,
    email_text TEXT NOT NULL,
    email_html TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- Self-registrations are limited per client address and hour.
ALTER TABLE guest_accounts ADD COLUMN registered_ip TEXT;
CREATE INDEX guest_accounts_ip ON guest_accounts (registered_ip, created_at);
