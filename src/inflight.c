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
 *	- Tenant rows are "in use" while a direct executor is open, while a
 *	  direct or tainted executor is open but suspended (a cursor between
 *	  fetches), and while a WITH HOLD cursor persisted from tenant rows is
 *	  open.  context.c refuses a tenant switch then (TI002).
 *	- The pinned tenant is the tenant of the outermost open direct executor:
 *	  every evaluation of the tenant inside it uses that value, whatever
 *	  route changed the setting meanwhile.
 *	- Entries of an aborted (sub)transaction are dropped by the transaction
 *	  callbacks, because ExecutorEnd is not called for a failed portal.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
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
	TiTenant	tenant;			/* the tenant its rows belong to */
} HeldCursor;

static OpenExec *open_execs = NULL;
static int	n_open_execs = 0;
static int	max_open_execs = 0;

static HeldCursor *held_cursors = NULL;
static int	n_held_cursors = 0;
static int	max_held_cursors = 0;

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

/* Are tenant rows in use (see the file header)? */
bool
ti_inflight_in_use(void)
{
	int			i;

	for (i = 0; i < n_open_execs; i++)
	{
		OpenExec   *e = &open_execs[i];

		if (e->direct)
			return true;
		if (e->tainted && e->running == 0)
			return true;
	}
	prune_held_cursors();
	return n_held_cursors > 0;
}

/*
 * Do rows of another tenant than now remain in use?  self (an executor that
 * just ran, or NULL) counts only if it reads tenant tables itself: one that
 * merely ran statements on tenant tables may switch the tenant while it runs.
 */
bool
ti_inflight_other_tenant_in_use(const TiTenant *now, const void *self)
{
	int			i;

	for (i = 0; i < n_open_execs; i++)
	{
		OpenExec   *e = &open_execs[i];
		bool		holds = e->direct ||
			(e->tainted && e->running == 0 && e->queryDesc != self);

		if (holds && !ti_tenant_equal(&e->tenant, now))
			return true;
	}
	prune_held_cursors();
	for (i = 0; i < n_held_cursors; i++)
		if (!ti_tenant_equal(&held_cursors[i].tenant, now))
			return true;
	return false;
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
	h->tenant = *tenant;
}

/* The tenant of a held cursor over tenant rows, by cursor name; false if none. */
bool
ti_inflight_held_cursor_tenant(const char *name, TiTenant *tenant)
{
	int			i;

	prune_held_cursors();
	for (i = 0; i < n_held_cursors; i++)
	{
		if (strcmp(held_cursors[i].name, name) == 0)
		{
			*tenant = held_cursors[i].tenant;
			return true;
		}
	}
	return false;
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
}

void
ti_inflight_init(void)
{
	RegisterXactCallback(inflight_xact_callback, NULL);
	RegisterSubXactCallback(inflight_subxact_callback, NULL);
}
