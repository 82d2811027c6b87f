-- The personas an admin gave each node on the Deployment page. Kept apart
-- from the registration, which a node removes at a clean stop, so that a
-- node restarting comes back with the personas it was given.
CREATE TABLE node_personas (
    name TEXT PRIMARY KEY,
    -- Comma-separated: administration, policy-service.
    personas TEXT NOT NULL
);
