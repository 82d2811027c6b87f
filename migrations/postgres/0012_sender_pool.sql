-- Further sending mailboxes of the same Entra app (each with its own
-- mailbox permission). Enabled ones share the bulk guest mail with the SMTP
-- Server page's mailbox, each under its own sending limits; a message
-- goes From the mailbox that sends it.
CREATE TABLE sender_mailboxes (
    mailbox TEXT PRIMARY KEY,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL
);
