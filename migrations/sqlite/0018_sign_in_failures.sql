-- Failed sign-ins per user name and per client address, shared by every
-- node so that a deployment throttles as one (times are unix seconds).
CREATE TABLE sign_in_failures (
    throttle_key TEXT PRIMARY KEY,
    count BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
