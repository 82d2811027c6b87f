-- SFTP repositories: the server, the account, how it signs in (its
-- password or private key is in the vault under the repository's name),
-- and the host key the admin accepted ("" until then).
ALTER TABLE repositories ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN port INTEGER NOT NULL DEFAULT 22;
ALTER TABLE repositories ADD COLUMN username TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN auth TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN host_key TEXT NOT NULL DEFAULT '';
