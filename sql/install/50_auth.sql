
------------------------------------------------------------------------------
-- Signed tenant context (docs/authentication.md)
------------------------------------------------------------------------------
-- Executable by PUBLIC (the default for functions): the application role calls
-- it with the token of each request; the token, not the caller, is trusted.
CREATE FUNCTION tenant_iso.authenticate(token text)
RETURNS uuid
AS 'MODULE_PATHNAME', 'tenant_iso_authenticate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION tenant_iso.authenticate(text) IS
'Verifies a signed tenant token (v1.<org uuid>.<expiry>.<hmac>) and sets tenant.org_id to its organization: for the current transaction when tenant_iso.context_scope = ''transaction'', else for the session. Returns the organization id.';

-- Superusers only (also checked inside): applications mint tokens in their auth service.
CREATE FUNCTION tenant_iso.sign(org uuid, valid_for interval DEFAULT '5 minutes')
RETURNS text
AS 'MODULE_PATHNAME', 'tenant_iso_sign'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tenant_iso.sign(uuid, interval) FROM PUBLIC;

COMMENT ON FUNCTION tenant_iso.sign(uuid, interval) IS
'Mints a tenant token for an organization with tenant_iso.signing_key, valid for the given interval (superusers only; for tests and administration).';
