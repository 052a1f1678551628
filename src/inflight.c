/*-------------------------------------------------------------------------
 * src/inflight.c
 *		Statements and cursors in flight over tenant rows: which executors
 *		are open, under which tenant they started, whether they read tenant
 *		tables themselves, and which WITH HOLD cursors hold tenant rows.
 *
 * A leaf: executor.c records, context.c asks.  Nothing here decides a
 * tenant; callers pass the tenant they computed.
 *
 * Invariants:
 *	- Every executor is listed from ExecutorStart to ExecutorEnd, with the
 *	  tenant it started under, whether its own plan reads tenant tables
 *	  ("direct") or a statement nested in it did ("tainted": e.g. a cursor
 *	  over a set-returning function), and whether it is inside ExecutorRun.
 *	- Tenant rows are "in use" while a direct or tainted executor is open
 *	  (running or suspended as a cursor), and while a WITH HOLD cursor
 *	  persisted from tenant rows is open.  context.c refuses a tenant switch
 *	  then (TI002), and executor.c refuses a statement that would read tenant
 *	  rows of another tenant than statements around it already consumed: one
 *	  statement never returns rows of two tenants.  (A function's SET clause
 *	  may give it another tenant when nothing is in use yet; the statement
 *	  around it may then read nothing of the first tenant.)
 *	- Deferred triggers queued by writes to tenant tables belong to the
 *	  tenant of those writes: while such events are pending, the tenant may
 *	  not change either (they would run, at COMMIT or SET CONSTRAINTS, under
 *	  another tenant).
 *	- The extension's own work under another tenant (drop_organization)
 *	  saves and restores this state, so it leaves no mark on the statements
 *	  around it.
 *	- The pinned tenant is the tenant of the outermost open direct executor:
 *	  every evaluation of the tenant inside it uses that value, whatever
 *	  route changed the setting meanwhile.
 *	- Entries of an aborted (sub)transaction are dropped by the transaction
 *	  callbacks, because ExecutorEnd is not called for a failed portal.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "utils/memutils.h"
#include "tcop/pquery.h"
#include "utils/portal.h"

#include "tenant_iso.h"

typedef struct OpenExec
{
	const void *queryDesc;
	SubTransactionId subid;
	bool		direct;			/* its own plan reads tenant tables */
	bool		tainted;		/* a nested statement read tenant tables */
	int			running;		/* inside ExecutorRun */
	TiTenant	tenant;			/* the tenant it started under */
} OpenExec;

typedef struct HeldCursor
{
	Portal		portal;
	char		name[NAMEDATALEN];
	bool		checked;		/* its commit has been checked */
	bool		failed_by_us;	/* stopped while the tenant is another */
	TiTenant	tenant;			/* the tenant its rows belong to */
} HeldCursor;

static OpenExec *open_execs = NULL;
static int	n_open_execs = 0;
static int	max_open_execs = 0;

static HeldCursor *held_cursors = NULL;
static int	n_held_cursors = 0;
static int	max_held_cursors = 0;

/* Tenant tables written in this transaction, and the tenant that wrote them. */
typedef struct WrittenTable
{
	Oid			relid;
	SubTransactionId subid;
	TiTenant	tenant;
} WrittenTable;

static WrittenTable *written = NULL;
static int	n_written = 0;
static int	max_written = 0;

/* Grow a TopMemoryContext array of elements of the given size. */
static void *
grow_array(void *array, int *max, Size elemsize)
{
	int			newmax = *max == 0 ? 8 : *max * 2;

	*max = newmax;
	if (array == NULL)
		return MemoryContextAlloc(TopMemoryContext, newmax * elemsize);
	return repalloc(array, newmax * elemsize);
}

static OpenExec *
find_exec(const void *queryDesc)
{
	int			i;

	for (i = n_open_execs - 1; i >= 0; i--)
		if (open_execs[i].queryDesc == queryDesc)
			return &open_execs[i];
	return NULL;
}

/* Record an executor that just started. */
void
ti_inflight_start(const void *queryDesc, bool direct, const TiTenant *tenant)
{
	OpenExec   *e;
	int			i;

	if (n_open_execs >= max_open_execs)
		open_execs = grow_array(open_execs, &max_open_execs, sizeof(OpenExec));
	/*
	 * The executors around a statement on tenant tables consume tenant rows;
	 * those that do not read tenant tables themselves hold rows of the tenant
	 * of the latest statement nested in them.
	 */
	if (direct)
	{
		for (i = 0; i < n_open_execs; i++)
		{
			open_execs[i].tainted = true;
			if (!open_execs[i].direct)
				open_execs[i].tenant = *tenant;
		}
	}
	e = &open_execs[n_open_execs++];
	e->queryDesc = queryDesc;
	e->subid = GetCurrentSubTransactionId();
	e->direct = direct;
	e->tainted = false;
	e->running = 0;
	e->tenant = *tenant;
}

/*
 * The tenant an open executor started under, when it holds tenant rows;
 * false for executors that do not (or are not listed).
 */
bool
ti_inflight_tenant_of(const void *queryDesc, TiTenant *tenant)
{
	OpenExec   *e = find_exec(queryDesc);

	if (e == NULL || !(e->direct || e->tainted))
		return false;
	*tenant = e->tenant;
	return true;
}

void
ti_inflight_run_begin(const void *queryDesc)
{
	OpenExec   *e = find_exec(queryDesc);

	if (e != NULL)
		e->running++;
}

void
ti_inflight_run_end(const void *queryDesc)
{
	OpenExec   *e = find_exec(queryDesc);

	if (e != NULL && e->running > 0)
		e->running--;
}

/*
 * Remove an executor that ended.  Returns whether it held tenant rows, and
 * the tenant it started under.
 */
bool
ti_inflight_end(const void *queryDesc, TiTenant *tenant)
{
	OpenExec   *e = find_exec(queryDesc);
	bool		tenant_rows;
	int			i;

	if (e == NULL)
		return false;
	tenant_rows = e->direct || e->tainted;
	*tenant = e->tenant;
	i = e - open_execs;
	memmove(&open_execs[i], &open_execs[i + 1], (n_open_execs - i - 1) * sizeof(OpenExec));
	n_open_execs--;
	return tenant_rows;
}

/*
 * The tenant pinned for the statements now in flight: that of the outermost
 * open direct executor.  False when none is open.
 */
bool
ti_inflight_pinned(TiTenant *tenant)
{
	int			i;

	for (i = 0; i < n_open_execs; i++)
	{
		if (open_execs[i].direct)
		{
			*tenant = open_execs[i].tenant;
			return true;
		}
	}
	return false;
}

bool
ti_tenant_equal(const TiTenant *a, const TiTenant *b)
{
	if (a->valid != b->valid)
		return false;
	return !a->valid || memcmp(&a->uuid, &b->uuid, sizeof(pg_uuid_t)) == 0;
}

/* Forget held cursors that were closed since they were noted. */
static void
prune_held_cursors(void)
{
	int			i,
				j = 0;

	for (i = 0; i < n_held_cursors; i++)
	{
		if (GetPortalByName(held_cursors[i].name) == held_cursors[i].portal)
			held_cursors[j++] = held_cursors[i];
	}
	n_held_cursors = j;
}

/* Are deferred trigger events of a written tenant table pending, for another tenant than now? */
static bool
pending_for_other_tenant(const TiTenant *now)
{
	int			i;

	for (i = 0; i < n_written; i++)
		if ((now == NULL || !ti_tenant_equal(&written[i].tenant, now)) &&
			AfterTriggerPendingOnRel(written[i].relid))
			return true;
	return false;
}

/* Are tenant rows in use (see the file header)? */
bool
ti_inflight_in_use(void)
{
	int			i;

	for (i = 0; i < n_open_execs; i++)
		if (open_execs[i].direct || open_execs[i].tainted)
			return true;
	prune_held_cursors();
	return n_held_cursors > 0 || pending_for_other_tenant(NULL);
}

/*
 * Is deferred work of a written tenant table pending for another tenant
 * than now?  Only meaningful between statements: a statement's own events
 * are pending until its end.
 */
bool
ti_inflight_deferred_for_other_tenant(const TiTenant *now)
{
	return pending_for_other_tenant(now);
}

/* Is exactly this one executor open (a statement at the top level, or alone)? */
bool
ti_inflight_only(const void *queryDesc)
{
	return n_open_execs == 1 && open_execs[0].queryDesc == queryDesc;
}

/*
 * Do rows of another tenant than now remain in use?  Always: statements that
 * read tenant tables themselves (pinned), and held cursors.  With tainted:
 * also statements that consumed tenant rows through nested statements - all
 * of them (tainted == NULL is not allowed; pass ANY_TAINTED), or one cursor
 * that resumes.
 */
bool
ti_inflight_other_tenant_in_use(const TiTenant *now, const void *tainted)
{
	int			i;

	for (i = 0; i < n_open_execs; i++)
	{
		OpenExec   *e = &open_execs[i];
		bool		counts = e->direct ||
			(e->tainted && (tainted == TI_ANY_TAINTED || e->queryDesc == tainted));

		if (counts && !ti_tenant_equal(&e->tenant, now))
			return true;
	}
	prune_held_cursors();
	for (i = 0; i < n_held_cursors; i++)
		if (!ti_tenant_equal(&held_cursors[i].tenant, now))
			return true;
	return false;
}

/*
 * The tenant in effect changed by a route without check hook: held cursors
 * over another tenant's rows cannot be fetched from (a PL/pgSQL FETCH reads
 * them without any executor, so nothing else could stop it) until the tenant
 * is theirs again (the change may be undone by a rollback).
 */
void
ti_inflight_fail_held_cursors(const TiTenant *now)
{
	int			i;

	for (i = 0; i < n_held_cursors; i++)
	{
		HeldCursor *h = &held_cursors[i];
		Portal		portal = GetPortalByName(h->name);

		if (portal != h->portal)
			continue;
		if (!ti_tenant_equal(&h->tenant, now) && portal->status == PORTAL_READY)
		{
			portal->status = PORTAL_FAILED;
			h->failed_by_us = true;
		}
		else if (ti_tenant_equal(&h->tenant, now) && h->failed_by_us && portal->status == PORTAL_FAILED)
		{
			portal->status = PORTAL_READY;
			h->failed_by_us = false;
		}
	}
}

/* Note the tenant tables a writing statement touches (for their deferred triggers). */
void
ti_inflight_note_written(Oid relid, const TiTenant *tenant)
{
	int			i;
	WrittenTable *w;

	for (i = 0; i < n_written; i++)
		if (written[i].relid == relid && ti_tenant_equal(&written[i].tenant, tenant))
			return;
	if (n_written >= max_written)
		written = grow_array(written, &max_written, sizeof(WrittenTable));
	w = &written[n_written++];
	w->relid = relid;
	w->subid = GetCurrentSubTransactionId();
	w->tenant = *tenant;
}

/*
 * The extension's own work under another tenant: save the statements'
 * state before, restore it after (see the file header).
 */
void *
ti_inflight_save(void)
{
	OpenExec   *copy = palloc(sizeof(OpenExec) * Max(n_open_execs, 1));

	memcpy(copy, open_execs, sizeof(OpenExec) * n_open_execs);
	return copy;
}

void
ti_inflight_restore(void *saved)
{
	OpenExec   *copy = (OpenExec *) saved;
	int			i,
				j;

	for (i = 0; i < n_open_execs; i++)
		for (j = 0; copy != NULL && j < n_open_execs; j++)
			if (copy[j].queryDesc == open_execs[i].queryDesc)
			{
				open_execs[i].tainted = copy[j].tainted;
				open_execs[i].tenant = copy[j].tenant;
			}
	pfree(copy);
}

/*
 * PersistHoldablePortal() runs a WITH HOLD cursor's executor to completion
 * at commit and ends it with ActivePortal set to the cursor: remember such a
 * cursor, since its stored rows belong to the tenant of that moment.
 */
void
ti_inflight_note_held_cursor(const TiTenant *tenant)
{
	Portal		portal = ActivePortal;
	HeldCursor *h;

	if (portal == NULL || (portal->cursorOptions & CURSOR_OPT_HOLD) == 0 ||
		portal->holdStore == NULL || portal->name == NULL)
		return;
	if (n_held_cursors >= max_held_cursors)
		held_cursors = grow_array(held_cursors, &max_held_cursors, sizeof(HeldCursor));
	h = &held_cursors[n_held_cursors++];
	h->portal = portal;
	strlcpy(h->name, portal->name, NAMEDATALEN);
	h->checked = false;
	h->failed_by_us = false;
	h->tenant = *tenant;
}

/*
 * The next held cursor persisted in this transaction whose commit was not
 * checked yet (marked checked now), or NULL.  *name points into our storage.
 */
bool
ti_inflight_next_unchecked_held(const char **name, TiTenant *tenant, Portal *portal)
{
	int			i;

	for (i = 0; i < n_held_cursors; i++)
	{
		HeldCursor *h = &held_cursors[i];

		if (h->checked)
			continue;
		h->checked = true;
		*name = h->name;
		*tenant = h->tenant;
		*portal = h->portal;
		return true;
	}
	return false;
}

static void
inflight_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			n_open_execs = 0;
			n_written = 0;
			break;
		default:
			break;
	}
}

static void
inflight_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			i,
				j = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	for (i = 0; i < n_open_execs; i++)
	{
		if (open_execs[i].subid < mySubid)
			open_execs[j++] = open_execs[i];
	}
	n_open_execs = j;
	for (i = 0, j = 0; i < n_written; i++)
	{
		if (written[i].subid < mySubid)
			written[j++] = written[i];
	}
	n_written = j;
}

void
ti_inflight_init(void)
{
	RegisterXactCallback(inflight_xact_callback, NULL);
	RegisterSubXactCallback(inflight_subxact_callback, NULL);
}
