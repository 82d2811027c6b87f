-- Work Centers > Guest Access > Portals & Components > Guest Types, seeded
-- with ISE's three defaults (the same as GuestType::ise_defaults).
CREATE TABLE guest_types (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL,
    max_days INTEGER NOT NULL,
    default_days INTEGER NOT NULL,
    notify_enabled INTEGER NOT NULL,
    notify_advance INTEGER NOT NULL,
    -- days, hours or minutes
    notify_unit TEXT NOT NULL,
    notify_subject TEXT NOT NULL,
    notify_text TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

INSERT INTO guest_types (name, description, max_days, default_days, notify_enabled, notify_advance, notify_unit, notify_subject, notify_text, updated_at, updated_by)
VALUES
    ('Contractor (default)', 'Default settings for contractor accounts: access for up to a year.', 365, 90, 0, 3, 'days',
     'Your guest account is going to expire',
     'Your account is going to expire in 3 days. Please notify your sponsor to extend your account now to avoid any delays.', 0, 'system'),
    ('Daily (default)', 'Default settings for daily visitors: access for 1 to 5 days.', 5, 1, 0, 3, 'days',
     'Your guest account is going to expire',
     'Your account is going to expire in 3 days. Please notify your sponsor to extend your account now to avoid any delays.', 0, 'system'),
    ('Weekly (default)', 'Default settings for weekly visitors: access for up to 14 days.', 14, 7, 0, 3, 'days',
     'Your guest account is going to expire',
     'Your account is going to expire in 3 days. Please notify your sponsor to extend your account now to avoid any delays.', 0, 'system');

-- Guest accounts in ISE's states. The password is stored as an Argon2 hash
-- for sign-in; a sealed copy (vault purpose 'guest.password', record id =
-- guest id) is kept only while the credentials may still be resent.
CREATE TABLE guest_accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    -- The guest changed the password: Resend is refused, Reset is needed.
    password_changed INTEGER NOT NULL DEFAULT 0,
    -- Created, Active, Pending Approval, Suspended, Expired, Denied
    state TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    company TEXT NOT NULL,
    person_visited TEXT NOT NULL,
    guest_type_id INTEGER NOT NULL REFERENCES guest_types (id),
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    -- The sponsor's user name and address; NULL for self-registered guests.
    sponsor TEXT,
    sponsor_email TEXT,
    portal TEXT NOT NULL,
    -- When the expiration notice was queued: it is sent once.
    expiry_notice_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- The expiry job walks live accounts by end of access.
CREATE INDEX guest_accounts_live ON guest_accounts (state, valid_until);
CREATE INDEX guest_accounts_type ON guest_accounts (guest_type_id);
