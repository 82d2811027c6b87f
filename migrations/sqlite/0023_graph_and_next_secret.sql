-- With OAuth, mail goes through Exchange's SMTP AUTH (XOAUTH2) or through
-- Microsoft Graph's sendMail; a blank Graph endpoint means the cloud's own.
ALTER TABLE smtp_settings ADD COLUMN transport TEXT NOT NULL DEFAULT 'smtp';
ALTER TABLE smtp_settings ADD COLUMN graph_endpoint TEXT NOT NULL DEFAULT '';
-- The staged next client secret's expiry date (the secret is in the vault);
-- blank when none is staged.
ALTER TABLE smtp_settings ADD COLUMN next_secret_expiry TEXT NOT NULL DEFAULT '';
