-- Work Centers > Guest Access > Settings > Guest Email Settings (one row).
CREATE TABLE guest_email_settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL,
    default_from TEXT NOT NULL,
    from_sponsor BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
