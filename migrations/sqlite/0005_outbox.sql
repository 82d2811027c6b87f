-- The outbox: every email is a row here, written in the same transaction as
-- the change that caused it, before anyone is told it was queued. Bodies are
-- not here: they are sealed in vault_secrets (purpose 'outbox.body', record
-- id = outbox id), because guest credentials carry passwords. Times are unix
-- milliseconds.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    persona TEXT NOT NULL,
    sender TEXT NOT NULL,
    -- Comma-separated addresses.
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A worker's claim: another may take the row once lease_until has passed.
    lease_owner TEXT,
    lease_until INTEGER,
    last_reply TEXT,
    -- JSON of the Diagnosis of the last failure.
    diagnosis TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER
);
-- Claims walk these in order and stop after a batch: never a full scan.
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_lease ON outbox (status, lease_until);
CREATE INDEX outbox_kind ON outbox (kind, id);

CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    millis INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reply TEXT NOT NULL
);
CREATE INDEX outbox_attempts_by_mail ON outbox_attempts (outbox_id, attempt);
