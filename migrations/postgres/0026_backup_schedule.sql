-- Administration > System > Backup & Restore > Schedule Backup (one row):
-- when a configuration backup runs by itself, where to, and how many of
-- its files the repository keeps. Its Encryption Key is in the vault.
-- `last_due` is the due time a node last claimed, so each runs once in a
-- deployment. Node configuration, like repositories: never in a backup.
CREATE TABLE backup_schedule (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    repository TEXT NOT NULL,
    frequency TEXT NOT NULL,
    at_minute BIGINT NOT NULL,
    weekday BIGINT NOT NULL,
    month_day BIGINT NOT NULL,
    keep_last BIGINT NOT NULL,
    last_due BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
