-- Administration > System > Maintenance > Repository: where configuration
-- backups are written (a folder under the node's local disk).
CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    protocol TEXT NOT NULL,
    path TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- Administration > System > Backup & Restore: each backup and restore,
-- its progress while it runs, then its outcome. Operational data: never
-- part of a backup, kept through a restore.
CREATE TABLE backup_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    repository TEXT NOT NULL,
    file_name TEXT NOT NULL,
    status TEXT NOT NULL,
    step TEXT NOT NULL,
    percent INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    started_by TEXT NOT NULL,
    -- The node that runs it: a run still 'running' when that node starts
    -- again was cut short.
    node TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_started ON backup_runs (started_at);
