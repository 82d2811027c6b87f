-- Operations > Troubleshoot > Debug Wizard > Debug Log Configuration: the
-- levels an admin set, applied again at start-up.
CREATE TABLE log_levels (
    component TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
