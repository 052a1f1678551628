/*-------------------------------------------------------------------------
 * src/citus_context.c
 *		The tenant a coordinator sends to the other Citus nodes, and how a
 *		node takes it: node tokens for signed context.
 *
 * Without tenant_iso.require_signed_context the coordinator sends
 *		SET LOCAL tenant.org_id TO '<tenant>';
 * (or '' for no tenant), which each node's own rules apply to.  With it, a
 * node would refuse that (the tenant must be signed there too), so the
 * coordinator sends proof instead:
 *		SELECT tenant_iso._node_context('n1.<tenant>.<expiry>.<mac>');
 * a node token, minted with tenant_iso.signing_key (every node needs the
 * same key, as it needs it for authenticate()): HMAC-SHA256 over
 * "n1.<tenant>.<expiry>", the expiry 10 minutes ahead, reminted when less
 * than 5 minutes are left.  authenticate() refuses node tokens (version
 * "n1" is not "v1"); _node_context() accepts nothing else and sets the
 * tenant for the current transaction only.  An expired node token sets no
 * tenant (statements then fail with TI001): Citus replays every SET LOCAL
 * of a transaction on each connection it opens later, so an old token may
 * come before a newer one.
 *
 * Invariants:
 *	- A node never takes a signed tenant without a MAC made with its key.
 *	- What is sent ends with ";" and is the same text while the tenant and
 *	  its token are (citus.c sends a command only when it differs from the
 *	  last one sent).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/sha2.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_node_context);

#define TI_NODE_TOKEN_VERSION	"n1"
#define TI_NODE_TOKEN_SECONDS	600
#define TI_NODE_TOKEN_RENEW		300
#define TI_UUID_TEXT_LEN		36

/* The last node token minted, reused while it has long enough to live. */
static TiTenant token_tenant;
static int64 token_expiry = 0;
static char token_text[128];

static int64
unix_now(void)
{
	TimestampTz now = GetCurrentTimestamp();

	return now / USECS_PER_SEC + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

static const char *
uuid_text(const pg_uuid_t *uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(uuid)));
}

static void
mac_to_hex(const uint8 *in, int n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0F];
	}
	out[2 * n] = '\0';
}

/* A node token for tenant, reusing the last one while it lives long enough. */
static const char *
node_token(const TiTenant *tenant)
{
	int64		now = unix_now();
	char	   *msg;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		mac_hex[2 * PG_SHA256_DIGEST_LENGTH + 1];

	if (token_expiry - now > TI_NODE_TOKEN_RENEW && ti_tenant_equal(&token_tenant, tenant))
		return token_text;
	msg = psprintf(TI_NODE_TOKEN_VERSION ".%s.%lld", uuid_text(&tenant->uuid),
				   (long long) (now + TI_NODE_TOKEN_SECONDS));
	if (!ti_auth_mac(msg, strlen(msg), mac))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no tenant token signing key is configured"),
				 errdetail("tenant_iso.require_signed_context is on: the Citus nodes take the tenant only with a proof signed by tenant_iso.signing_key."),
				 errhint("Set the same tenant_iso.signing_key on the coordinator and every worker.")));
	mac_to_hex(mac, PG_SHA256_DIGEST_LENGTH, mac_hex);
	snprintf(token_text, sizeof(token_text), "%s.%s", msg, mac_hex);
	token_tenant = *tenant;
	token_expiry = now + TI_NODE_TOKEN_SECONDS;
	return token_text;
}

/*
 * The command that gives the other nodes the tenant a statement runs under
 * (tenant->valid false: no tenant), and tenant_iso.missing_context, so that
 * without a tenant they fail (TI001) or show no rows as this node does.
 */
const char *
ti_citus_context_command(const TiTenant *tenant)
{
	const char *empty = ti_missing_context() == TI_MISSING_EMPTY ?
		"SET LOCAL tenant_iso.missing_context TO 'empty';" :
		"SET LOCAL tenant_iso.missing_context TO 'error';";

	if (!tenant->valid)
		return psprintf("SET LOCAL tenant.org_id TO '';%s", empty);
	if (ti_context_signed_required())
		return psprintf("SELECT tenant_iso._node_context('%s');%s", node_token(tenant), empty);
	return psprintf("SET LOCAL tenant.org_id TO '%s';%s", uuid_text(&tenant->uuid), empty);
}

static void
bad_node_token(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid node token"),
			 errdetail("tenant_iso._node_context() takes the tenant a Citus coordinator sends, signed with tenant_iso.signing_key."),
			 errhint("Check that every node has the same tenant_iso.signing_key; applications call tenant_iso.authenticate().")));
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Parse "n1.<uuid>.<expiry>.<mac>": the tenant, the expiry, the MAC and the
 * length of the signed part.  Any other form is an error.
 */
static void
parse_node_token(const char *tok, pg_uuid_t *org, int64 *expiry, uint8 *mac, size_t *signed_len)
{
	const char *p = tok + strlen(TI_NODE_TOKEN_VERSION ".");
	const char *dot;
	char		uuid[TI_UUID_TEXT_LEN + 1];
	int			i;

	if (strncmp(tok, TI_NODE_TOKEN_VERSION ".", strlen(TI_NODE_TOKEN_VERSION ".")) != 0 ||
		strlen(p) < TI_UUID_TEXT_LEN + 3 || p[TI_UUID_TEXT_LEN] != '.')
		bad_node_token();
	memcpy(uuid, p, TI_UUID_TEXT_LEN);
	uuid[TI_UUID_TEXT_LEN] = '\0';
	for (i = 0; i < TI_UUID_TEXT_LEN; i++)
		if (hex_digit(uuid[i]) < 0 && uuid[i] != '-')
			bad_node_token();
	*org = *DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(uuid)));
	p += TI_UUID_TEXT_LEN + 1;
	*expiry = 0;
	for (dot = p; *dot >= '0' && *dot <= '9' && dot - p < 12; dot++)
		*expiry = *expiry * 10 + (*dot - '0');
	if (dot == p || *dot != '.' || strlen(dot + 1) != 2 * PG_SHA256_DIGEST_LENGTH)
		bad_node_token();
	*signed_len = dot - tok;
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
	{
		int			hi = hex_digit(dot[1 + 2 * i]);
		int			lo = hex_digit(dot[2 + 2 * i]);

		if (hi < 0 || lo < 0)
			bad_node_token();
		mac[i] = (uint8) ((hi << 4) | lo);
	}
}

/*
 * tenant_iso._node_context(token text) RETURNS void
 *		On a Citus node: the tenant its coordinator sends under signed
 *		context, for the current transaction.  A token that does not verify
 *		is an error; an expired one sets no tenant.
 */
Datum
tenant_iso_node_context(PG_FUNCTION_ARGS)
{
	char	   *tok;
	pg_uuid_t	org;
	int64		expiry;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	size_t		signed_len;

	if (PG_ARGISNULL(0))
		bad_node_token();
	tok = text_to_cstring(PG_GETARG_TEXT_PP(0));
	parse_node_token(tok, &org, &expiry, mac, &signed_len);
	if (!ti_auth_mac_ok(tok, signed_len, mac))
		bad_node_token();
	ti_context_set_node(expiry > unix_now() ? uuid_text(&org) : NULL);
	PG_RETURN_VOID();
}
