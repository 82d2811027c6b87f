-- Sponsor portal > Pending Accounts. A sponsor group's permission
-- "Approve and view requests from self-registering guests": off, any
-- pending account, or only those that name the sponsor (as the person
-- visited or an approver). ISE's default groups have it on.
ALTER TABLE sponsor_groups ADD COLUMN can_approve BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sponsor_groups ADD COLUMN approve_scope TEXT NOT NULL DEFAULT 'assigned';
UPDATE sponsor_groups SET can_approve = TRUE, approve_scope = CASE manage_scope WHEN 'all' THEN 'any' ELSE 'assigned' END
    WHERE name IN ('ALL_ACCOUNTS (default)', 'GROUP_ACCOUNTS (default)', 'OWN_ACCOUNTS (default)');

-- Registration Form Settings: the links open the sponsor portal's sign-in
-- first ("Require sponsor to provide credentials for authentication"),
-- and a request nobody handles in time ends Denied.
ALTER TABLE guest_portals ADD COLUMN approval_sign_in BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE guest_portals ADD COLUMN approval_deny_after_hours BIGINT NOT NULL DEFAULT 72;
ALTER TABLE guest_approval_links ADD COLUMN sign_in BOOLEAN NOT NULL DEFAULT FALSE;

-- When a pending account is denied for want of a decision.
ALTER TABLE guest_accounts ADD COLUMN approval_deadline BIGINT;
CREATE INDEX guest_accounts_approval_deadline ON guest_accounts (approval_deadline) WHERE approval_deadline IS NOT NULL;
