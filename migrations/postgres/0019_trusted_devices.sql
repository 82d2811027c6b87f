-- Browsers that have signed in as a user (OWASP's "device cookie"): the
-- cookie holds a random id, only its SHA-256 is kept. Failures from other
-- clients do not lock such a browser out of that user.
CREATE TABLE trusted_devices (
    device_hash TEXT NOT NULL,
    user_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (device_hash, user_key)
);

-- 1 while a lock's start has been logged and its end not yet.
ALTER TABLE sign_in_failures ADD COLUMN lock_announced BIGINT NOT NULL DEFAULT 0;

-- An admin's last sign-in, and the failed attempts since (ISE shows both
-- after the next sign-in).
ALTER TABLE admins ADD COLUMN last_sign_in_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN last_sign_in_from TEXT NOT NULL DEFAULT '';
ALTER TABLE admins ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN last_failed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN last_failed_from TEXT NOT NULL DEFAULT '';

-- What a session's admin is shown: the sign-in before this one and the
-- failures between.
ALTER TABLE sessions ADD COLUMN previous_sign_in_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN previous_sign_in_from TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN failed_before BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_failed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_failed_from TEXT NOT NULL DEFAULT '';
