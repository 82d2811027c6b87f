-- The SMTP Server page's Sending Limits for the mailbox it signs in as.
-- No row: the defaults of the configured cloud (Exchange Online's limits
-- for its clouds, none for a plain relay). 0 means no limit.
CREATE TABLE sending_limits (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    max_connections BIGINT NOT NULL,
    messages_per_minute BIGINT NOT NULL,
    recipients_per_day BIGINT NOT NULL,
    recipients_per_message BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- The pacing state of each sending mailbox, shared by every worker and
-- kept across restarts: when the next message may go (so a restart cannot
-- burst), and a pause after the server said the quota is used up.
CREATE TABLE mailbox_pacing (
    mailbox TEXT PRIMARY KEY,
    next_release_ms BIGINT NOT NULL,
    paused_until_ms BIGINT NOT NULL DEFAULT 0,
    pause_reason TEXT NOT NULL DEFAULT ''
);

-- Each release to the server, for the rolling 24-hour recipient count.
CREATE TABLE mailbox_sends (
    mailbox TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    recipients BIGINT NOT NULL
);
CREATE INDEX mailbox_sends_at ON mailbox_sends (mailbox, at_ms);

-- 0: test emails, alarms, password reminders; 1: sponsor notices;
-- 2: bulk guest mail. Lower goes first.
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 2;
CREATE INDEX outbox_priority_due ON outbox (status, priority, next_attempt_at);
