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

	/* a silence that starts later changes what is muted; one that ends is
	 * recorded as ended */
	if (collect(s, "SELECT 'i', '', min(deadline_us) FROM incidents WHERE deadline_us > 0 "
		    "UNION ALL SELECT 'p', '', min(notify_at) FROM pages WHERE state IN ('pending', 'firing') "
		    "AND notify_at > 0 "
		    "UNION ALL SELECT 's', '', min(starts_us) FROM silences WHERE state = 'active' AND starts_us > ?1 "
		    "UNION ALL SELECT 'e', '', min(ends_us) FROM silences WHERE state = 'active'", true, hvt_now_us(),
		    &r) == 0)
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
	if (store_run(s, "DELETE FROM incidents WHERE deadline_us = 0 AND updated_us < ?1", "i", before_us) !=
	    SQLITE_DONE ||
	    store_run(s, "DELETE FROM pages WHERE state IN ('resolved', 'closed') AND updated_us < ?1", "i",
		      before_us) != SQLITE_DONE ||
	    store_run(s, "DELETE FROM silences WHERE state != 'active' AND ends_us < ?1", "i", before_us) !=
	    SQLITE_DONE ||
	    store_run(s, "DELETE FROM notifications WHERE decided_us < ?1 AND NOT EXISTS (SELECT 1 FROM "
		      "deliveries d WHERE d.alert_id = notifications.id AND d.state = 'pending')", "i", before_us) !=
	    SQLITE_DONE)
		return -1;
	return 0;
}

/* ---- pages and notifications --------------------------------------------------- */

/* One text column of a one-row query with one or two text parameters. */
static int one_text(struct alert_store *s, const char *sql, const char *a, const char *b, char **out)
{
	int rc;

	*out = NULL;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, sql);
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = store_col_dup(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_fail(s, sql);
}

int alert_store_page_open(struct alert_store *s, const char *key, char **json)
{
	return one_text(s, "SELECT json FROM pages WHERE key = ?1 AND state IN ('pending', 'firing') "
			"ORDER BY inst DESC LIMIT 1", key, NULL, json);
}

int alert_store_page_latest(struct alert_store *s, const char *prefix, char **json)
{
	struct rows r = { 0 };
	char *like;
	int rc;

	*json = NULL;
	if (strspn(prefix, "0123456789abcdef") != strlen(prefix) || strlen(prefix) < 6)
		return 0;
	like = hvt_asprintf("%s%%", prefix);
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT DISTINCT key, '' FROM pages WHERE key LIKE ?1 LIMIT 2");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		free(like);
		return -1;
	}
	sqlite3_bind_text(st, 1, like, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rows_add(&r, (const char *)sqlite3_column_text(st, 0), "", 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	free(like);
	if (rc != SQLITE_DONE)
		rc = store_fail(s, "looking up an alert key");
	else if (r.len > 1)
		rc = -2;
	else if (r.len == 0)
		rc = 0;
	else
		rc = one_text(s, "SELECT json FROM pages WHERE key = ?1 ORDER BY inst DESC LIMIT 1", r.a[0], NULL, json);
	rows_free(&r);
	return rc;
}

long long alert_store_page_last_inst(struct alert_store *s, const char *key)
{
	char *v = NULL;
	long long n = 0;

	if (one_text(s, "SELECT CAST(max(inst) AS TEXT) FROM pages WHERE key = ?1", key, NULL, &v) == 1 && v)
		n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

int alert_store_page_put(struct alert_store *s, const char *key, long long inst, const char *rule,
			 const char *state, long long notify_at, const char *json, long long now_us)
{
	return store_run(s, "INSERT INTO pages (key, inst, rule, state, notify_at, updated_us, json) VALUES "
			 "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (key, inst) DO UPDATE SET state = excluded.state, "
			 "notify_at = excluded.notify_at, updated_us = excluded.updated_us, json = excluded.json",
			 "sissiis", key, inst, rule, state, notify_at, now_us, json) == SQLITE_DONE ? 0 : -1;
}

int alert_store_pages_open(struct alert_store *s, const char *rule,
			   int (*cb)(void *arg, const char *json), void *arg)
{
	struct rows r = { 0 };
	int rc;

	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, rule ? "SELECT json, '' FROM pages WHERE state IN ('pending', 'firing') "
				      "AND rule = ?1 ORDER BY rowid" :
				      "SELECT json, '' FROM pages WHERE state IN ('pending', 'firing') ORDER BY rowid");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	if (rule)
		sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rows_add(&r, (const char *)sqlite3_column_text(st, 0), "", 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	rc = rc == SQLITE_DONE ? 0 : store_fail(s, "reading open alerts");
	for (size_t i = 0; rc == 0 && i < r.len; i++)
		rc = cb(arg, r.a[i]);
	rows_free(&r);
	return rc;
}

int alert_store_alert_doc(struct alert_store *s, const char *alert_id, char **doc)
{
	return one_text(s, "SELECT doc FROM alerts WHERE id = ?1 AND doc IS NOT NULL", alert_id, NULL, doc);
}

int alert_store_add_notification(struct alert_store *s, const char *id, const char *key, long long inst,
				 const char *transition, long long decided_us, int severity, const char *summary,
				 const char *doc)
{
	if (store_run(s, "UPDATE deliveries SET state = 'superseded' WHERE repeats > 0 AND state = 'pending' AND "
		      "alert_id IN (SELECT id FROM notifications WHERE key = ?1 AND inst = ?2)", "si", key, inst) !=
	    SQLITE_DONE)
		return -1;
	return store_run(s, "INSERT OR IGNORE INTO notifications (id, key, inst, transition, decided_us, severity, "
			 "summary, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", "ssisiiss", id, key, inst, transition,
			 decided_us, (long long)severity, summary, doc) == SQLITE_DONE ? 0 : -1;
}

/* ---- silences ---------------------------------------------------------------------- */

int alert_store_silence_put(struct alert_store *s, const char *id, const char *state, long long starts_us,
			    long long ends_us, const char *json)
{
	return store_run(s, "INSERT INTO silences (id, state, starts_us, ends_us, json) VALUES (?1, ?2, ?3, ?4, ?5) "
			 "ON CONFLICT (id) DO UPDATE SET state = excluded.state, starts_us = excluded.starts_us, "
			 "ends_us = excluded.ends_us, json = excluded.json", "ssiis", id, state, starts_us, ends_us,
			 json) == SQLITE_DONE ? 0 : -1;
}

int alert_store_silence_get(struct alert_store *s, const char *id, char **json, char **state)
{
	int rc = one_text(s, "SELECT json FROM silences WHERE id = ?1", id, NULL, json);

	*state = NULL;
	if (rc == 1 && one_text(s, "SELECT state FROM silences WHERE id = ?1", id, NULL, state) != 1) {
		free(*json);
		*json = NULL;
		return -1;
	}
	return rc;
}

int alert_store_silences_active(struct alert_store *s, long long now_us,
				int (*cb)(void *arg, const char *json), void *arg)
{
	struct rows r = { 0 };
	int rc = collect(s, "SELECT json, id FROM silences WHERE state = 'active' AND starts_us <= ?1 AND "
			 "ends_us > ?1", true, now_us, &r);

	for (size_t i = 0; rc == 0 && i < r.len; i++)
		rc = cb(arg, r.a[i]);
	rows_free(&r);
	return rc;
}

int alert_store_silences_ended(struct alert_store *s, long long now_us,
			       int (*cb)(void *arg, const char *id, const char *json), void *arg)
{
	struct rows r = { 0 };
	int rc = collect(s, "SELECT id, json FROM silences WHERE state = 'active' AND ends_us <= ?1", true, now_us,
			 &r);

	for (size_t i = 0; rc == 0 && i < r.len; i++)
		rc = cb(arg, r.a[i], r.b[i]);
	rows_free(&r);
	return rc;
}

long long alert_store_silences_count(struct alert_store *s)
{
	struct rows r = { 0 };
	long long n = 0;

	if (collect(s, "SELECT '', '', count(*) FROM silences WHERE state = 'active'", false, 0, &r) == 0 && r.len)
		n = r.n[0];
	rows_free(&r);
	return n;
}
