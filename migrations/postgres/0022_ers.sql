-- The ERS API names every resource by a stable GUID, as ISE does: each
-- guest account, guest type, portal and sponsor group gets one when it is
-- made (a column default, so that no insert has to remember it).
ALTER TABLE guest_accounts ADD COLUMN ers_id TEXT NOT NULL DEFAULT gen_random_uuid()::text;
ALTER TABLE guest_types ADD COLUMN ers_id TEXT NOT NULL DEFAULT gen_random_uuid()::text;
ALTER TABLE guest_portals ADD COLUMN ers_id TEXT NOT NULL DEFAULT gen_random_uuid()::text;
ALTER TABLE sponsor_groups ADD COLUMN ers_id TEXT NOT NULL DEFAULT gen_random_uuid()::text;

CREATE UNIQUE INDEX guest_accounts_ers_id ON guest_accounts (ers_id);
CREATE UNIQUE INDEX guest_types_ers_id ON guest_types (ers_id);
CREATE UNIQUE INDEX guest_portals_ers_id ON guest_portals (ers_id);
CREATE UNIQUE INDEX sponsor_groups_ers_id ON sponsor_groups (ers_id);

-- Administration > System > Settings > API Settings (one row).
CREATE TABLE api_settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    ers_enabled BOOLEAN NOT NULL,
    csrf_enabled BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- What ERS's GuestUser carries beyond the sponsor portal's fields.
ALTER TABLE guest_accounts ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_accounts ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_accounts ADD COLUMN reason_for_visit TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_accounts ADD COLUMN description TEXT NOT NULL DEFAULT '';

-- ISE's sponsor group permission "Access Cisco ISE guest accounts using
-- the programmatic interface (Guest REST API)": off unless granted.
ALTER TABLE sponsor_groups ADD COLUMN can_use_api BOOLEAN NOT NULL DEFAULT FALSE;
