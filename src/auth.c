/*-------------------------------------------------------------------------
 * src/auth.c
 *		Signed tenant context: the settings that require it and the keys
 *		that verify it, tenant_iso.authenticate() and tenant_iso.sign().
 *
 * Token format (version 1), all ASCII:
 *
 *		v1.<organization uuid>.<expiry>.<mac>
 *
 *	<organization uuid>	canonical form: 36 characters, lowercase hex, hyphens
 *	<expiry>			Unix time in whole seconds (UTC), no sign, no leading zero;
 *						the token is valid while now < expiry
 *	<mac>				64 lowercase hex digits: HMAC-SHA256, keyed with the bytes
 *						of tenant_iso.signing_key, over "v1.<organization uuid>.<expiry>"
 *						(the token up to, not including, its last dot)
 *
 * Invariants:
 *	- When tenant_iso.require_signed_context is on, tenant.org_id only takes
 *	  effect when set by authenticate(), which sets it through context.c
 *	  (ti_context_set_signed), and only after every check passed.
 *	- A token's validity is a positive interval whatever the calendar: no
 *	  component (months, days, time) is negative and one is positive.
 *	- The signing keys are never shown: the settings' own string is always
 *	  empty (the key lives in the check hook's "extra"), so no reload log,
 *	  SHOW, current_setting() (a mask, by the show hooks) or pg_settings
 *	  (GUC_NO_SHOW_ALL) prints them; they
 *	  cannot be stored with ALTER ROLE / ALTER DATABASE / CREATE FUNCTION ...
 *	  SET (those land in world-readable catalogs): the check hook refuses
 *	  every source but the configuration files (incl. ALTER SYSTEM), the
 *	  server command line, a superuser's startup options and SET.  No error
 *	  message prints a key, a token or a computed MAC.
 *	- A token is verified in this order: form, version, MAC (constant-time
 *	  comparison, current key then previous key), expiry.  A forged token
 *	  thus never learns whether its expiry would have passed.  Nothing is
 *	  changed unless every check passed.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "compat.h"
#include "tenant_iso.h"

PG_FUNCTION_INFO_V1(tenant_iso_authenticate);
PG_FUNCTION_INFO_V1(tenant_iso_sign);

/* A signing key must have at least this many bytes. */
#define TI_MIN_KEY_BYTES		32

#define TI_TOKEN_VERSION		"v1"
#define TI_UUID_CHARS			36
#define TI_MAC_HEX_CHARS		(2 * PG_SHA256_DIGEST_LENGTH)
#define TI_MAX_EXPIRY_DIGITS	12	/* up to year 33658: no overflow anywhere */
#define TI_MAX_V1_TOKEN_BYTES	(2 + 3 + TI_UUID_CHARS + TI_MAX_EXPIRY_DIGITS + TI_MAC_HEX_CHARS)

#define TI_TOKEN_FORMAT_DETAIL \
	"A tenant token has the form v1.<organization uuid>.<expiry in Unix seconds>.<HMAC-SHA256 in lowercase hex>."



/*
 * The keys.  PostgreSQL keeps a string setting's value in the variable it
 * was given (here key_setting / key_previous_setting) and prints that value
 * in places an extension cannot hook: the postmaster logs 'parameter "..."
 * changed to "..."' on every reload that changes it.  So the check hook
 * moves the key into its "extra" (which follows the value through SET, SET
 * LOCAL, RESET, transaction rollback) and leaves an empty string behind: the
 * visible value of both settings is always "", it never changes, and
 * nothing logs or shows the key.  The assign hook points active_key at the
 * key of the value in effect.
 */
typedef struct SigningKey
{
	size_t		len;
	char		bytes[FLEXIBLE_ARRAY_MEMBER];
} SigningKey;

static char *key_setting = NULL;
static char *key_previous_setting = NULL;
static const SigningKey *active_key = NULL;
static const SigningKey *active_key_previous = NULL;

/*
 * Check hook of both keys.  Refuses the sources that store a value in
 * pg_db_role_setting or pg_proc.proconfig (readable by every role), and
 * keys that are too short.  Never prints the value.
 */
static bool
check_key(const char *name, char **newval, void **extra, GucSource source)
{
	size_t		len = (*newval != NULL) ? strlen(*newval) : 0;
	SigningKey *key;

	switch (source)
	{
		case PGC_S_GLOBAL:
		case PGC_S_DATABASE:
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
		case PGC_S_TEST:
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("\"%s\" cannot be set with ALTER ROLE, ALTER DATABASE or a function's SET clause", name);
			GUC_check_errdetail("Such settings are stored in system catalogs that every role can read.");
			GUC_check_errhint("Set it in postgresql.conf, in a file it includes, or with ALTER SYSTEM, then reload the configuration.");
			return false;
		default:
			break;
	}

	if (len > 0 && len < TI_MIN_KEY_BYTES)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("\"%s\" is too short", name);
		GUC_check_errdetail("A signing key must be at least %d bytes long.", TI_MIN_KEY_BYTES);
		GUC_check_errhint("Generate one with: openssl rand -hex 32");
		return false;
	}

	*extra = NULL;
	if (len > 0)
	{
		key = (SigningKey *) ti_guc_malloc(offsetof(SigningKey, bytes) + len + 1);
		if (key == NULL)
			return false;
		key->len = len;
		memcpy(key->bytes, *newval, len + 1);
		*extra = key;

		/* leave an empty string as the setting's visible value */
		memset(*newval, 0, len);
	}
	return true;
}

static bool
check_signing_key(char **newval, void **extra, GucSource source)
{
	return check_key("tenant_iso.signing_key", newval, extra, source);
}

static bool
check_signing_key_previous(char **newval, void **extra, GucSource source)
{
	return check_key("tenant_iso.signing_key_previous", newval, extra, source);
}

static void
assign_signing_key(const char *newval, void *extra)
{
	active_key = (const SigningKey *) extra;
}

static void
assign_signing_key_previous(const char *newval, void *extra)
{
	active_key_previous = (const SigningKey *) extra;
}

/* SHOW and current_setting() print a mask when a key is in effect. */
static const char *
show_signing_key(void)
{
	return active_key != NULL ? "********" : "";
}

static const char *
show_signing_key_previous(void)
{
	return active_key_previous != NULL ? "********" : "";
}

void
ti_auth_init(void)
{
	DefineCustomStringVariable("tenant_iso.signing_key",
							   "The key that verifies tenant tokens (HMAC-SHA256), at least 32 bytes.",
							   "Set it in postgresql.conf, an included file or with ALTER SYSTEM; "
							   "it is never shown.",
							   &key_setting,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_signing_key,
							   assign_signing_key,
							   show_signing_key);

	DefineCustomStringVariable("tenant_iso.signing_key_previous",
							   "A former signing key still accepted during a key rotation.",
							   "Tokens signed with it are accepted until it is removed; "
							   "tenant_iso.sign() always uses tenant_iso.signing_key.",
							   &key_previous_setting,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_signing_key_previous,
							   assign_signing_key_previous,
							   show_signing_key_previous);
}

/* HMAC-SHA256 of msg keyed with key, into mac (PG_SHA256_DIGEST_LENGTH bytes). */
static void
compute_mac(const SigningKey *key, const char *msg, size_t msglen, uint8 *mac)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while computing a token signature")));
	if (pg_hmac_init(ctx, (const uint8 *) key->bytes, key->len) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) msg, msglen) < 0 ||
		pg_hmac_final(ctx, mac, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		char	   *reason = pstrdup(pg_hmac_error(ctx));

		pg_hmac_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute HMAC-SHA256: %s", reason)));
	}
	pg_hmac_free(ctx);
}

/* Compares n bytes in time independent of where they differ. */
static bool
equal_constant_time(const uint8 *a, const uint8 *b, size_t n)
{
	volatile uint8 diff = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
malformed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed tenant token"),
			 errdetail("%s %s", what, TI_TOKEN_FORMAT_DETAIL),
			 errhint("Pass the token exactly as your authentication service issued it.")));
}

static bool
is_canonical_uuid(const char *s)
{
	int			i;

	for (i = 0; i < TI_UUID_CHARS; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (hex_value(s[i]) < 0)
			return false;
	}
	return true;
}

/* Current time in whole Unix seconds (rounded down). */
static int64
unix_now(void)
{
	TimestampTz now = GetCurrentTimestamp();

	/* now is after 2000-01-01, so division rounds down */
	return now / USECS_PER_SEC + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* A parsed v1 token: where its parts are. */
typedef struct ParsedToken
{
	const char *org;			/* TI_UUID_CHARS characters */
	size_t		signed_len;		/* length of "v1.<org>.<expiry>" */
	int64		expiry;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
} ParsedToken;

/* The version, up to the first dot: "v1" or an error. */
static const char *
parse_version(const char *tok, size_t len)
{
	const char *dot1 = memchr(tok, '.', Min(len, 16));
	size_t		vlen,
				i;

	if (tok[0] != 'v' || dot1 == NULL || dot1 == tok + 1)
		malformed("The token does not start with a version such as \"v1.\".");
	vlen = dot1 - tok;
	for (i = 1; i < vlen; i++)
		if (tok[i] < '0' || tok[i] > '9')
			malformed("The token does not start with a version such as \"v1.\".");
	if (vlen != strlen(TI_TOKEN_VERSION) || memcmp(tok, TI_TOKEN_VERSION, vlen) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported tenant token version \"%.*s\"", (int) vlen, tok),
				 errdetail("This version of tenant_iso accepts version v1 tokens only."),
				 errhint("Mint v1 tokens, or upgrade tenant_iso.")));
	return dot1;
}

/* The expiry digits between p and the next dot; returns that dot. */
static const char *
parse_expiry(const char *p, const char *end, int64 *expiry)
{
	const char *dot3 = memchr(p, '.', end - p);

	*expiry = 0;
	if (dot3 == NULL || dot3 == p || dot3 - p > TI_MAX_EXPIRY_DIGITS || (p[0] == '0' && dot3 - p > 1))
		malformed("The expiry is not a Unix time in whole seconds.");
	for (; p < dot3; p++)
	{
		if (*p < '0' || *p > '9')
			malformed("The expiry is not a Unix time in whole seconds.");
		*expiry = *expiry * 10 + (*p - '0');
	}
	return dot3;
}

/* The 64 lowercase hex digits of the MAC, from p to end. */
static void
parse_mac(const char *p, const char *end, uint8 *mac)
{
	size_t		i;

	if ((size_t) (end - p) != TI_MAC_HEX_CHARS)
		malformed("The signature is not 64 lowercase hex digits.");
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
	{
		int			hi = hex_value(p[2 * i]);
		int			lo = hex_value(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			malformed("The signature is not 64 lowercase hex digits.");
		mac[i] = (uint8) ((hi << 4) | lo);
	}
}

/* Check a token's form (see the file header), without its signature. */
static void
parse_token(const char *tok, size_t len, ParsedToken *out)
{
	const char *end = tok + len;
	const char *dot1,
			   *dot2,
			   *dot3;

	if (len == 0)
		malformed("The token is empty.");
	dot1 = parse_version(tok, len);
	if (len > TI_MAX_V1_TOKEN_BYTES)
		malformed(psprintf("The token is %zu bytes long; a v1 token has at most %d.",
						   len, TI_MAX_V1_TOKEN_BYTES));
	out->org = dot1 + 1;
	dot2 = memchr(out->org, '.', end - out->org);
	if (dot2 == NULL || dot2 - out->org != TI_UUID_CHARS || !is_canonical_uuid(out->org))
		malformed("The organization id is not a UUID in canonical form (36 characters, lowercase hex digits and hyphens).");
	dot3 = parse_expiry(dot2 + 1, end, &out->expiry);
	out->signed_len = dot3 - tok;
	parse_mac(dot3 + 1, end, out->mac);
}

/* Does the MAC verify with the current or the previous key (constant time)? */
static bool
signature_ok(const char *tok, const ParsedToken *t)
{
	return ti_auth_mac_ok(tok, t->signed_len, t->mac);
}

/*
 * The MAC of msg with the current signing key (false without one): for the
 * node tokens of Citus nodes (citus_context.c), which have a format of
 * their own and are never accepted by authenticate().
 */
bool
ti_auth_mac(const char *msg, size_t len, uint8 *mac)
{
	if (active_key == NULL)
		return false;
	compute_mac(active_key, msg, len, mac);
	return true;
}

/* Does mac authenticate msg with the current or the previous key (constant time)? */
bool
ti_auth_mac_ok(const char *msg, size_t len, const uint8 *mac)
{
	uint8		expected[PG_SHA256_DIGEST_LENGTH];
	bool		ok = false;

	if (active_key == NULL && active_key_previous == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no tenant token signing key is configured"),
				 errdetail("tenant_iso.signing_key is not set, so no token can be verified."),
				 errhint("Set tenant_iso.signing_key in postgresql.conf or with ALTER SYSTEM, then reload the configuration.")));
	if (active_key != NULL)
	{
		compute_mac(active_key, msg, len, expected);
		ok = equal_constant_time(mac, expected, PG_SHA256_DIGEST_LENGTH);
	}
	if (!ok && active_key_previous != NULL)
	{
		compute_mac(active_key_previous, msg, len, expected);
		ok = equal_constant_time(mac, expected, PG_SHA256_DIGEST_LENGTH);
	}
	explicit_bzero(expected, sizeof(expected));
	return ok;
}

/*
 * Verifies a token and returns its organization id (canonical text, in
 * org_out, TI_UUID_CHARS + 1 bytes).  Errors out on any failure, checking
 * form, version, MAC, then expiry.
 */
static void
verify_token(const char *tok, size_t len, char *org_out)
{
	ParsedToken t;

	parse_token(tok, len, &t);
	if (!signature_ok(tok, &t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("invalid tenant token signature"),
				 errdetail("The token was not signed with a signing key this server accepts, or it was altered."),
				 errhint("Get a new token from your authentication service; check that it uses the current signing key.")));
	if (t.expiry <= unix_now())
		ereport(ERROR,
				(errcode(ERRCODE_TI_TOKEN_EXPIRED),
				 errmsg("tenant token has expired"),
				 errdetail("The token expired %lld second(s) ago.",
						   (long long) (unix_now() - t.expiry)),
				 errhint("Get a new token from your authentication service.")));
	memcpy(org_out, t.org, TI_UUID_CHARS);
	org_out[TI_UUID_CHARS] = '\0';
}

/*
 * tenant_iso.authenticate(token text) RETURNS uuid
 *		Verifies a token and makes its organization the tenant: for the
 *		current transaction under context_scope = 'transaction', else for the
 *		session.  On any failure the tenant context is left as it was.
 */
Datum
tenant_iso_authenticate(PG_FUNCTION_ARGS)
{
	text	   *token;
	char		org[TI_UUID_CHARS + 1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant token must not be NULL"),
				 errdetail("tenant_iso.authenticate() sets the tenant from a signed token."),
				 errhint("Pass the token your authentication service issued for this request.")));
	token = PG_GETARG_TEXT_PP(0);

	verify_token(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), org);

	ti_context_set_signed(org);

	PG_RETURN_DATUM(DirectFunctionCall1(uuid_in, CStringGetDatum(org)));
}

/*
 * A validity must be positive as a whole, whatever month or day it is
 * counted from: no component negative, one positive.  ("1 month -30 days"
 * is refused on every date, not only in months of 30 days.)
 */
static void
check_validity(const Interval *valid_for)
{
	if (valid_for->month < 0 || valid_for->day < 0 || valid_for->time < 0 ||
		(valid_for->month == 0 && valid_for->day == 0 && valid_for->time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token validity must be positive"),
				 errdetail("No part of the interval (months, days, time) may be negative, and one must be positive."),
				 errhint("Pass an interval such as '5 minutes'.")));
}

/*
 * tenant_iso.sign(org uuid, valid_for interval) RETURNS text
 *		Mints a token with tenant_iso.signing_key (superusers only: tests,
 *		administration; applications mint tokens in their auth service).
 *		The expiry is rounded up to a whole second.
 */
Datum
tenant_iso_sign(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *org;
	Interval   *valid_for;
	TimestampTz now,
				until;
	int64		expiry;
	char	   *org_text;
	char	   *msg;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		mac_hex[TI_MAC_HEX_CHARS + 1];
	char	   *result;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function tenant_iso.sign"),
				 errdetail("Only superusers can mint tenant tokens in the database."),
				 errhint("Mint tokens in your authentication service with the signing key (see docs/authentication.md).")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("organization id and validity must not be NULL"),
				 errdetail("A token names one organization and expires."),
				 errhint("Call tenant_iso.sign('<organization uuid>', '5 minutes').")));
	org = PG_GETARG_UUID_P(0);
	valid_for = PG_GETARG_INTERVAL_P(1);

	if (active_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no tenant token signing key is configured"),
				 errdetail("tenant_iso.signing_key is not set, so no token can be signed."),
				 errhint("Set tenant_iso.signing_key in postgresql.conf or with ALTER SYSTEM, then reload the configuration.")));

	check_validity(valid_for);
	now = GetCurrentTimestamp();
	until = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													TimestampTzGetDatum(now),
													IntervalPGetDatum(valid_for)));
	if (until <= now)
		elog(ERROR, "a positive validity did not move the expiry forward");

	/* until > now > 2000-01-01, so it is positive: round up */
	expiry = until / USECS_PER_SEC + (until % USECS_PER_SEC != 0 ? 1 : 0);
	expiry += (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	if (expiry <= 0 || expiry >= INT64CONST(1000000000000))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("token expiry is out of range"),
				 errdetail("The expiry must lie between 1970 and the year 33658."),
				 errhint("Pass a shorter interval.")));

	org_text = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(org)));
	msg = psprintf("%s.%s.%lld", TI_TOKEN_VERSION, org_text, (long long) expiry);
	compute_mac(active_key, msg, strlen(msg), mac);
	mac_hex[hex_encode((const char *) mac, PG_SHA256_DIGEST_LENGTH, mac_hex)] = '\0';
	result = psprintf("%s.%s", msg, mac_hex);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
