-- Names are looked up as lower(name) = lower(?), the form PostgreSQL
-- shares; these let SQLite answer from an index as COLLATE NOCASE did.
CREATE INDEX admins_name_lower ON admins (lower(name));
CREATE INDEX guest_accounts_username_lower ON guest_accounts (lower(username));
CREATE INDEX sponsor_users_username_lower ON sponsor_users (lower(username));
CREATE INDEX internal_users_name_lower ON internal_users (lower(name));
CREATE INDEX guest_types_name_lower ON guest_types (lower(name));
CREATE INDEX guest_portals_name_lower ON guest_portals (lower(name));
CREATE INDEX sponsor_groups_name_lower ON sponsor_groups (lower(name));
