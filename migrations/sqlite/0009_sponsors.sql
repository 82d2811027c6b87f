-- Sponsor groups with ISE's default three, their sponsor users, the
-- sponsor portal's sessions, and who sponsored each guest.
CREATE TABLE sponsor_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL,
    can_create INTEGER NOT NULL,
    -- own, group or all: whose guest accounts the members manage
    manage_scope TEXT NOT NULL,
    can_resend INTEGER NOT NULL,
    can_reset INTEGER NOT NULL,
    can_extend INTEGER NOT NULL,
    can_suspend INTEGER NOT NULL,
    can_delete INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

INSERT INTO sponsor_groups (name, description, can_create, manage_scope, can_resend, can_reset, can_extend, can_suspend, can_delete, updated_at, updated_by)
VALUES
    ('ALL_ACCOUNTS (default)', 'Sponsors who manage every guest account.', 1, 'all', 1, 1, 1, 1, 1, 0, 'system'),
    ('GROUP_ACCOUNTS (default)', 'Sponsors who manage the accounts of their sponsor group.', 1, 'group', 1, 1, 1, 1, 1, 0, 'system'),
    ('OWN_ACCOUNTS (default)', 'Sponsors who manage the accounts they created.', 1, 'own', 1, 1, 1, 1, 1, 0, 'system');

CREATE TABLE sponsor_users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    full_name TEXT NOT NULL,
    email TEXT NOT NULL,
    group_id INTEGER NOT NULL REFERENCES sponsor_groups (id),
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sponsor_sessions (
    token_hash TEXT PRIMARY KEY,
    sponsor_id INTEGER NOT NULL REFERENCES sponsor_users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);

ALTER TABLE guest_accounts ADD COLUMN sponsor_id INTEGER REFERENCES sponsor_users (id) ON DELETE SET NULL;
ALTER TABLE guest_accounts ADD COLUMN sponsor_group_id INTEGER REFERENCES sponsor_groups (id) ON DELETE SET NULL;
-- The guest's last credentials email, for its delivery state.
ALTER TABLE guest_accounts ADD COLUMN last_mail_id INTEGER;
CREATE INDEX guest_accounts_sponsor ON guest_accounts (sponsor_id);
CREATE INDEX guest_accounts_sponsor_group ON guest_accounts (sponsor_group_id);
