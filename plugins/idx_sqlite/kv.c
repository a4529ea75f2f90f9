/* kv.c - the small tables next to the events: collector key/value state and
 * the latest stats each forwarder reported.  These writes are rare, so each
 * is its own (autocommit) transaction. */
#include "config.h"

#include <string.h>

#include "idx.h"
#include "log.h"
#include "util.h"

/* Run one write statement with text/integer parameters bound in order. */
static int write_one(struct idx *x, const char *sql, const char *what, const char *a,
		     const char *b, long long n)
{
	sqlite3_stmt *st;
	int rc;

	if (x->readonly)
		return idx_refuse_readonly(x, what);
	idx_lock(x);
	rc = idx_prepare(x, sql, &st);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(st) >= 3)
			sqlite3_bind_int64(st, 3, n);
		rc = idx_step_done(x, st, what);
		sqlite3_finalize(st);
	}
	idx_unlock(x);
	return rc;
}

int idx_put_host_stats(struct hvt_instance *inst, const char *host, const char *json, long long at_us)
{
	/* Reports can overtake each other (reconnects); keep the newest. */
	static const char sql[] =
		"INSERT INTO host_stats (host, json, at_us) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (host) DO UPDATE SET json = excluded.json, at_us = excluded.at_us"
		" WHERE excluded.at_us >= host_stats.at_us";

	return write_one(inst->priv, sql, "put_host_stats()", host, json, at_us);
}

int idx_kv_put(struct hvt_instance *inst, const char *key, const char *value)
{
	static const char sql[] =
		"INSERT INTO kv (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value";

	return write_one(inst->priv, sql, "kv_put()", key, value, 0);
}

/* *value is a malloc'ed copy, or NULL when the key is not set (still 0). */
int idx_kv_get(struct hvt_instance *inst, const char *key, char **value)
{
	struct idx *x = inst->priv;
	sqlite3_stmt *st;
	int rc, ret = -1;

	*value = NULL;
	idx_lock(x);
	if (idx_prepare(x, "SELECT value FROM kv WHERE key = ?1", &st) == 0) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*value = hvt_strdup((const char *)sqlite3_column_text(st, 0));
		ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : idx_fail(x, rc, "kv_get()");
		sqlite3_finalize(st);
	}
	idx_unlock(x);
	return ret;
}

int idx_host_stats(struct hvt_instance *inst,
		   int (*cb)(void *arg, const char *host, const char *json, long long at_us), void *arg)
{
	struct idx *x = inst->priv;
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = -1;

	idx_lock(x);
	if (idx_prepare(x, "SELECT host, json, at_us FROM host_stats ORDER BY host", &st) == 0) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (cb(arg, (const char *)sqlite3_column_text(st, 0),
			       (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2)) != 0)
				break;
		ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : idx_fail(x, rc, "reading host stats");
		sqlite3_finalize(st);
	}
	idx_unlock(x);
	return ret;
}
