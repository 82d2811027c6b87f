-- Self-registered guests approved by a sponsor (Registration Form
-- Settings): whether approval is required, who is asked, how long the
-- links work, and the approval request and denial emails ('' until the
-- admin saves the portal: the defaults apply).
ALTER TABLE guest_portals ADD COLUMN require_approval BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE guest_portals ADD COLUMN approver TEXT NOT NULL DEFAULT 'person_visited';
ALTER TABLE guest_portals ADD COLUMN approver_emails TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_portals ADD COLUMN approval_link_minutes BIGINT NOT NULL DEFAULT 30;
ALTER TABLE guest_portals ADD COLUMN approval_subject TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_portals ADD COLUMN approval_text TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_portals ADD COLUMN approval_html TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_portals ADD COLUMN denial_subject TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_portals ADD COLUMN denial_text TEXT NOT NULL DEFAULT '';
ALTER TABLE guest_portals ADD COLUMN denial_html TEXT NOT NULL DEFAULT '';

-- The Approve and Deny links of a pending guest: unguessable tokens
-- stored only as their SHA-256, each for one guest and one action, usable
-- once before it expires. Operational: never part of a backup.
CREATE TABLE guest_approval_links (
    token_hash TEXT PRIMARY KEY,
    guest_id BIGINT NOT NULL REFERENCES guest_accounts (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    approver TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX guest_approval_links_guest ON guest_approval_links (guest_id);
