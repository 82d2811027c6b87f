-- The certificate credential's next certificate: generated or uploaded
-- ahead of time, registered in Entra ID, then made current by Switch Now
-- or by delivery when Entra refuses the current one (AADSTS700027).
ALTER TABLE smtp_settings ADD COLUMN next_certificate_id INTEGER REFERENCES oauth_certificates (id);
