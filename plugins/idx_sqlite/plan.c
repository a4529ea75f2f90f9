/* plan.c - choosing how a query reads the index.
 *
 * SQLite keeps no statistics about our tables (an ANALYZE of a 100M-row
 * trail is not something to run behind an operator's back), so for
 * "--host H -n 20" it would read every event of H through the identity
 * index and sort them - a minute for a host with millions of events - and
 * for a host with 50 events it might walk the whole time index instead.
 * What it lacks we know cheaply: the streams table says how many events a
 * host has and between which times, and counting a type's rows up to a
 * small bound costs one short covering-index scan.  So:
 *   - follow polls read the rowid range after the cursor;
 *   - VM, id and link lookups are selective: SQLite's own plan is right;
 *   - a host or type filter with fewer than PROBE_ROWS events drives the
 *     query through its index, and the few rows are sorted;
 *   - otherwise the time index is walked in the wanted order and filtered,
 *     which stops after `limit` rows; a host filter also bounds that walk
 *     to the host's first..last event time. */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "idx.h"
#include "log.h"
#include "util.h"

#define PROBE_ROWS 10000

/* Events of a host and the times they span, from the per-stream counters. */
static int host_span(struct idx *x, const char *host, struct idx_plan *p)
{
	sqlite3_stmt *st;
	int rc;

	if (idx_prepare(x, "SELECT coalesce(sum(count), 0), coalesce(min(first_ts_us), 0),"
			" coalesce(max(last_ts_us), 0) FROM streams WHERE host = ?1", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->host_rows = sqlite3_column_int64(st, 0);
		p->host_first = sqlite3_column_int64(st, 1);
		p->host_last = sqlite3_column_int64(st, 2);
	} else {
		idx_fail(x, rc, "planning a query");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* A GLOB can use the type index only when it starts with a literal. */
static bool glob_has_prefix(const char *sql_glob)
{
	return sql_glob[0] && !strchr("*?[", sql_glob[0]);
}

/* Rows of the type glob, counted up to PROBE_ROWS. */
static int type_rows(struct idx *x, const char *sql_glob, long long *n)
{
	char *sql = sqlite3_mprintf("SELECT count(*) FROM (SELECT 1 FROM events WHERE type GLOB %Q"
				    " LIMIT %d)", sql_glob, PROBE_ROWS);
	sqlite3_stmt *st;
	int rc;

	rc = idx_prepare(x, sql, &st);
	sqlite3_free(sql);
	if (rc < 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		idx_fail(x, rc, "planning a query");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int idx_plan_query(struct idx *x, const struct hvt_query *q, const char *sql_glob, struct idx_plan *p)
{
	long long host_n = LLONG_MAX, type_n = LLONG_MAX;

	memset(p, 0, sizeof *p);
	if (q->after_cursor > 0) {
		p->path = IDX_PATH_FOLLOW;
		return 0;
	}
	if (q->vm || q->id || q->link || (!q->host && !q->type_glob))
		return 0;   /* IDX_PATH_AUTO */
	if (q->host) {
		if (host_span(x, q->host, p) < 0)
			return -1;
		host_n = p->host_rows;
	}
	if (sql_glob && glob_has_prefix(sql_glob) && type_rows(x, sql_glob, &type_n) < 0)
		return -1;
	if (HVT_MIN(host_n, type_n) < PROBE_ROWS) {
		p->path = IDX_PATH_FILTER;
		p->by_host = host_n <= type_n;
	} else {
		p->path = IDX_PATH_TIME;
	}
	return 0;
}
