/* alert_store_state.c - the state the alert engine keeps besides its
 * decisions: incidents waiting for the other side (incident.h), pages and
 * their notifications (alert_page.h), silences (alert_silence.h).  See
 * alert_store.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alert_store_int.h"
#include "log.h"
#include "util.h"

/* Rows read first and handed out after the statement is done, so that a
 * callback may write to the same table. */
struct rows {
	char **a, **b;
	long long *n;
	size_t len, cap;
};

static void rows_add(struct rows *r, const char *a, const char *b, long long n)
{
	if (r->len == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->a = hvt_realloc(r->a, r->cap * sizeof *r->a);
		r->b = hvt_realloc(r->b, r->cap * sizeof *r->b);
		r->n = hvt_realloc(r->n, r->cap * sizeof *r->n);
	}
	r->a[r->len] = hvt_strdup(a ? a : "");
	r->b[r->len] = hvt_strdup(b ? b : "");
	r->n[r->len++] = n;
}

static void rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->len; i++) {
		free(r->a[i]);
		free(r->b[i]);
	}
	free(r->a);
	free(r->b);
	free(r->n);
	memset(r, 0, sizeof *r);
}

/* Run sql (binding one int64 when has_arg) and collect columns 0, 1 (text)
 * and 2 (int, when there are three). */
static int collect(struct alert_store *s, const char *sql, bool has_arg, long long arg, struct rows *out)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, sql);
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	if (has_arg)
		sqlite3_bind_int64(st, 1, arg);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rows_add(out, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
			 sqlite3_column_count(st) > 2 ? sqlite3_column_int64(st, 2) : 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? 0 : store_fail(s, sql);
}

/* ---- incidents --------------------------------------------------------------- */

int alert_store_incident_get(struct alert_store *s, const char *key, char **json)
{
	int rc;

	*json = NULL;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT state FROM incidents WHERE key = ?1");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*json = store_col_dup(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_fail(s, "reading an incident");
}

int alert_store_incident_put(struct alert_store *s, const char *key, const char *json, long long deadline_us,
			     long long now_us)
{
	return store_run(s, "INSERT INTO incidents (key, state, deadline_us, updated_us) VALUES (?1, ?2, ?3, ?4) "
			 "ON CONFLICT (key) DO UPDATE SET state = excluded.state, deadline_us = excluded.deadline_us, "
			 "updated_us = excluded.updated_us", "ssii", key, json, deadline_us, now_us) == SQLITE_DONE ?
	       0 : -1;
}

int alert_store_incidents_due(struct alert_store *s, long long now_us,
			      int (*cb)(void *arg, const char *key, const char *json), void *arg)
{
	struct rows r = { 0 };
	int rc = collect(s, "SELECT key, state FROM incidents WHERE deadline_us > 0 AND deadline_us <= ?1 "
			 "ORDER BY deadline_us", true, now_us, &r);

	for (size_t i = 0; rc == 0 && i < r.len; i++)
		rc = cb(arg, r.a[i], r.b[i]);
	rows_free(&r);
	return rc;
}

long long alert_store_next_due(struct alert_store *s)
{
	struct rows r = { 0 };
	long long t = 0;

	if (collect(s, "SELECT 'i', '', min(deadline_us) FROM incidents WHERE deadline_us > 0", false, 0, &r) == 0)
		for (size_t i = 0; i < r.len; i++)
			if (r.n[i] > 0 && (!t || r.n[i] < t))
				t = r.n[i];
	rows_free(&r);
	return t;
}

int alert_store_prune_state(struct alert_store *s, long long before_us)
{
	/* decided incidents; a COLO pair's last state is kept while it is
	 * younger than the retention (its hosts name the next failover) */
	return store_run(s, "DELETE FROM incidents WHERE deadline_us = 0 AND updated_us < ?1", "i", before_us) ==
			       SQLITE_DONE ? 0 : -1;
}
