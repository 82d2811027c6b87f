-- Guest emails in the guest's language. A portal's own template columns
-- are its English texts; every other language's version of an email (and
-- of a guest type's expiration notice) is a row here. Mailroom ships
-- Spanish texts too, used until the admin saves its own.
CREATE TABLE guest_email_translations (
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (owner, kind, language)
);

-- The language a portal falls back to, and the time zone its emails'
-- dates are written in ('' is the node's).
ALTER TABLE guest_portals ADD COLUMN default_language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE guest_portals ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

-- The guest's notification language (ERS guestInfo.notificationLanguage);
-- '' is its portal's default.
ALTER TABLE guest_accounts ADD COLUMN language TEXT NOT NULL DEFAULT '';
