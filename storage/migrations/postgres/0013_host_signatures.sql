-- What a remote host's inbox is known to verify (federation/knock.go):
-- ed25519 is 1 once the host accepted an RFC 9421 signature made with one
-- of our actors' Ed25519 keys, 0 once it refused one, NULL while unknown.
-- Kept across restarts so that a host is probed once, not once per start.
ALTER TABLE hosts ADD COLUMN ed25519 SMALLINT;
