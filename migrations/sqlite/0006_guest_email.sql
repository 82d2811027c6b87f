-- Work Centers > Guest Access > Settings > Guest Email Settings (one row).
CREATE TABLE guest_email_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL,
    default_from TEXT NOT NULL,
    from_sponsor INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
