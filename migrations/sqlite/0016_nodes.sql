-- The nodes of the deployment (exactly one on SQLite). Each registers at
-- start, beats every few seconds and leaves at a clean stop. Times are
-- unix milliseconds.
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    -- The running process: node/pid-random, as its leases are named.
    instance TEXT NOT NULL,
    -- Comma-separated: administration, policy-service.
    personas TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

-- Work one node at a time does (the scheduled jobs): whoever holds an
-- unexpired lease; another node takes it over once it runs out.
CREATE TABLE job_leases (
    job TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until_ms INTEGER NOT NULL
);
