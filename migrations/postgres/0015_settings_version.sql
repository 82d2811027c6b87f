-- Bumped in the same transaction as every change that each node's workers
-- and logging must pick up (SMTP server, sending limits and sender pool,
-- proxy, trusted certificates, debug log levels). Every node watches it.
CREATE TABLE settings_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO settings_version (id, version) VALUES (1, 1);
