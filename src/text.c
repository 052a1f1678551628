/*-------------------------------------------------------------------------
 * src/text.c
 *		Small text helpers for messages: sorted, comma-separated lists of
 *		names.  A leaf.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"

#include "tenant_iso.h"

static int
compare_strings(const ListCell *a, const ListCell *b)
{
	return strcmp(strVal(lfirst(a)), strVal(lfirst(b)));
}

/* A sorted copy of a List of String nodes, without duplicates. */
List *
ti_sorted_strings(List *items)
{
	List	   *sorted = list_copy(items);
	List	   *result = NIL;
	ListCell   *lc;

	list_sort(sorted, compare_strings);
	foreach(lc, sorted)
	{
		if (result == NIL || strcmp(strVal(llast(result)), strVal(lfirst(lc))) != 0)
			result = lappend(result, lfirst(lc));
	}
	return result;
}

/* The String nodes of a list joined with ", ". */
char *
ti_join_strings(List *items)
{
	StringInfoData out;
	ListCell   *lc;

	initStringInfo(&out);
	foreach(lc, items)
	{
		if (out.len > 0)
			appendStringInfoString(&out, ", ");
		appendStringInfoString(&out, strVal(lfirst(lc)));
	}
	return out.data;
}

/* Is name one of the comma-separated names in list? */
bool
ti_name_in_list(const char *name, const char *list)
{
	size_t		len = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL)
	{
		if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}
