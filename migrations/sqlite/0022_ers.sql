-- The ERS API names every resource by a stable GUID, as ISE does: each
-- guest account, guest type, portal and sponsor group gets one when it is
-- made (a trigger, so that no insert has to remember it).
ALTER TABLE guest_accounts ADD COLUMN ers_id TEXT;
ALTER TABLE guest_types ADD COLUMN ers_id TEXT;
ALTER TABLE guest_portals ADD COLUMN ers_id TEXT;
ALTER TABLE sponsor_groups ADD COLUMN ers_id TEXT;

UPDATE guest_accounts SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
UPDATE guest_types SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
UPDATE guest_portals SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
UPDATE sponsor_groups SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));

CREATE UNIQUE INDEX guest_accounts_ers_id ON guest_accounts (ers_id);
CREATE UNIQUE INDEX guest_types_ers_id ON guest_types (ers_id);
CREATE UNIQUE INDEX guest_portals_ers_id ON guest_portals (ers_id);
CREATE UNIQUE INDEX sponsor_groups_ers_id ON sponsor_groups (ers_id);

CREATE TRIGGER guest_accounts_ers_id AFTER INSERT ON guest_accounts WHEN NEW.ers_id IS NULL
BEGIN
    UPDATE guest_accounts SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE id = NEW.id;
END;
CREATE TRIGGER guest_types_ers_id AFTER INSERT ON guest_types WHEN NEW.ers_id IS NULL
BEGIN
    UPDATE guest_types SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE id = NEW.id;
END;
CREATE TRIGGER guest_portals_ers_id AFTER INSERT ON guest_portals WHEN NEW.ers_id IS NULL
BEGIN
    UPDATE guest_portals SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE id = NEW.id;
END;
CREATE TRIGGER sponsor_groups_ers_id AFTER INSERT ON sponsor_groups WHEN NEW.ers_id IS NULL
BEGIN
    UPDATE sponsor_groups SET ers_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE id = NEW.id;
END;

-- Administration > System > Settings > API Settings (one row).
CREATE TABLE api_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    ers_enabled INTEGER NOT NULL,
    csrf_enabled INTEGER NOT NULL,
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
ALTER TABLE sponsor_groups ADD COLUMN can_use_api INTEGER NOT NULL DEFAULT 0;
