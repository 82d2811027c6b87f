-- The SQLite schema gains indexes on lower(name) here; PostgreSQL's unique
-- indexes have been on lower(name) since the tables were created.
SELECT 1;
