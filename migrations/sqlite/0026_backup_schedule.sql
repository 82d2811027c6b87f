-- Administration > System > Backup & Restore > Schedule Backup (one row):
-- when a configuration backup runs by itself, where to, and how many of
-- its files the repository keeps. Its Encryption Key is in the vault.
-- `last_due` is the due time a node last claimed, so each runs once in a
-- deployment. Node configuration, like repositories: never in a backup.
CREATE TABLE backup_schedule (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL,
    name TEXT NOT NULL,
    repository TEXT NOT NULL,
    frequency TEXT NOT NULL,
    at_minute INTEGER NOT NULL,
    weekday INTEGER NOT NULL,
    month_day INTEGER NOT NULL,
    keep_last INTEGER NOT NULL,
    last_due INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
