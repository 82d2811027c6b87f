-- Alarm Settings: the editable part of each catalogue entry. Rows are
-- added at start-up from the catalogue in the code (src/domain/alarm.rs).
CREATE TABLE alarm_settings (
    code TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    severity TEXT NOT NULL,
    send_email INTEGER NOT NULL,
    suppress_hours INTEGER NOT NULL,
    warning_days TEXT NOT NULL,
    critical_days TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- Alarm Settings > Alarm Notification: one row.
CREATE TABLE alarm_notification (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sender TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- Raised alarms. `subject` names what the alarm is about (a secret's
-- expiry date, a certificate's fingerprint), so a condition that persists
-- updates its one open row instead of adding another.
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT NOT NULL,
    -- The expiry threshold (days) last reached, for the countdown alarms.
    threshold INTEGER,
    details TEXT NOT NULL,
    occurrences INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    last_emailed_at INTEGER,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    cleared_at INTEGER,
    cleared_by TEXT
);
CREATE UNIQUE INDEX alarms_open ON alarms (code, subject) WHERE cleared_at IS NULL;
CREATE INDEX alarms_last ON alarms (last_at);

-- Password Policy (admins) and User Password Policy (internal users).
CREATE TABLE password_policies (
    scope TEXT PRIMARY KEY,
    lifetime_enabled INTEGER NOT NULL,
    lifetime_days INTEGER NOT NULL,
    reminder_days TEXT NOT NULL,
    reminder_subject TEXT NOT NULL,
    reminder_text TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- Identity Management > Identities > Users: internal network users.
CREATE TABLE internal_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    password_changed_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);

-- One row per reminder sent: a password (by when it was set) gets each
-- threshold's email once, whatever restarts or races happen.
CREATE TABLE password_reminders (
    scope TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    days_before INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (scope, user_id, password_changed_at, days_before)
);
