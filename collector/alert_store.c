/* alert_store.c - see alert_store.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "alert_store.h"
#include "alert_store_int.h"
#include "hash.h"
#include "log.h"
#include "trail.h"
#include "util.h"



static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS alerts ("
	"  id TEXT PRIMARY KEY, rule TEXT NOT NULL, event_key TEXT NOT NULL, dkey TEXT,"
	"  state TEXT NOT NULL, decided_us INTEGER NOT NULL, severity INTEGER NOT NULL DEFAULT 6,"
	"  summary TEXT, doc TEXT, UNIQUE (rule, event_key));"
	"CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule, state, decided_us);"
	"CREATE TABLE IF NOT EXISTS deliveries ("
	"  alert_id TEXT NOT NULL, action TEXT NOT NULL, state TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0, next_us INTEGER NOT NULL, expire_us INTEGER NOT NULL,"
	"  last_error TEXT, PRIMARY KEY (alert_id, action));"
	"CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (action, state, next_us);"
	"CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);";

/* Version 2: incidents (incident.h), pages and their notifications
 * (alert_page.h), silences; deliveries now deliver notifications and may
 * repeat (an Alertmanager forgets alerts that are not re-sent). */
static const char schema2_sql[] =
	"CREATE TABLE IF NOT EXISTS incidents (key TEXT PRIMARY KEY, state TEXT NOT NULL,"
	"  deadline_us INTEGER NOT NULL DEFAULT 0, updated_us INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS incidents_due ON incidents (deadline_us) WHERE deadline_us > 0;"
	"CREATE TABLE IF NOT EXISTS pages (key TEXT NOT NULL, inst INTEGER NOT NULL, rule TEXT NOT NULL,"
	"  state TEXT NOT NULL, notify_at INTEGER NOT NULL DEFAULT 0, updated_us INTEGER NOT NULL,"
	"  json TEXT NOT NULL, PRIMARY KEY (key, inst));"
	"CREATE INDEX IF NOT EXISTS pages_open ON pages (state, notify_at);"
	"CREATE TABLE IF NOT EXISTS notifications (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE, key TEXT NOT NULL, inst INTEGER NOT NULL, transition TEXT NOT NULL,"
	"  decided_us INTEGER NOT NULL, severity INTEGER NOT NULL, summary TEXT, doc TEXT);"
	"CREATE INDEX IF NOT EXISTS notifications_of ON notifications (key, inst);"
	"CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, state TEXT NOT NULL,"
	"  starts_us INTEGER NOT NULL, ends_us INTEGER NOT NULL, json TEXT NOT NULL);";

/* A version 1 file: its pending deliveries become notifications of their
 * own (one per alert, as they were), so they are still delivered. */
static const char upgrade1_sql[] =
	"ALTER TABLE deliveries ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;"
	"INSERT OR IGNORE INTO notifications (id, key, inst, transition, decided_us, severity, summary, doc)"
	"  SELECT id, id, 0, 'opened', decided_us, severity, summary, doc FROM alerts"
	"  WHERE id IN (SELECT alert_id FROM deliveries);";

int store_fail(struct alert_store *s, const char *what)
{
	hvt_log(LOG_ERR, "alerts.db: %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

sqlite3_stmt *store_prep(struct alert_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_fail(s, "preparing a statement");
		return NULL;
	}
	return st;
}

/* Bind by a format: s = text (NULL binds NULL), i = int64; then step once.
 * Returns the step's result code, or SQLITE_ERROR (logged). */
int store_run(struct alert_store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = store_prep(s, sql);
	va_list ap;
	int rc;

	if (!st)
		return SQLITE_ERROR;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
	}
	va_end(ap);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		store_fail(s, sql);
	sqlite3_finalize(st);
	return rc;
}

static int meta_put(struct alert_store *s, const char *key, const char *value)
{
	return store_run(s, "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = "
		   "excluded.value", "ss", key, value) == SQLITE_DONE ? 0 : -1;
}

/* The value of key (malloc'ed), or NULL. */
static char *meta_get(struct alert_store *s, const char *key)
{
	sqlite3_stmt *st = store_prep(s, "SELECT value FROM meta WHERE key = ?1");
	char *v = NULL;

	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = hvt_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* The stream's id and head, made on first use. */
static int load_stream(struct alert_store *s)
{
	char *id = meta_get(s, "stream"), *seq = meta_get(s, "head_seq"), *hash = meta_get(s, "head_hash");
	int rc = 0;

	if (!id) {
		hvt_stream_id_new(s->stream);
		rc = meta_put(s, "stream", s->stream);
	} else {
		hvt_strlcpy(s->stream, id, sizeof s->stream);
	}
	s->head_seq = seq ? strtoull(seq, NULL, 10) : 0;
	hvt_strlcpy(s->head_hash, hash ? hash : "", sizeof s->head_hash);
	free(id);
	free(seq);
	free(hash);
	return rc;
}

static int user_version(struct alert_store *s)
{
	sqlite3_stmt *st = store_prep(s, "PRAGMA user_version");
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Create the tables, or bring an older file up to date, in one transaction. */
static int upgrade(struct alert_store *s)
{
	int v = user_version(s);
	bool fresh;

	if (v < 0 || sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	/* a file without the v1 tables is new: it gets repeats from the start */
	fresh = v == 0;
	if (sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema2_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    (fresh && sqlite3_exec(s->db, "ALTER TABLE deliveries ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0",
				   NULL, NULL, NULL) != SQLITE_OK) ||
	    (v == 1 && sqlite3_exec(s->db, upgrade1_sql, NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(s->db, "PRAGMA user_version = 2", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (v == 1)
		hvt_log(LOG_NOTICE, "alerts.db: upgraded to version 2 (pages, incidents, silences)");
	return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int open_db(struct alert_store *s, const char *path, char *err, size_t errsize)
{
	/* SQLite would create the file 0644; the audit trail's state is 0600
	 * (its -wal and -shm files copy the mode) */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errsize, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    upgrade(s) < 0) {
		snprintf(err, errsize, "%s: %s", path, sqlite3_errmsg(s->db));
		return -1;
	}
	if (load_stream(s) < 0) {
		snprintf(err, errsize, "%s: cannot record the alert stream", path);
		return -1;
	}
	return 0;
}

struct alert_store *alert_store_open(const char *path, char *err, size_t errsize)
{
	struct alert_store *s = hvt_calloc(1, sizeof *s);
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->lock, &a);
	pthread_mutexattr_destroy(&a);
	if (open_db(s, path, err, errsize) < 0) {
		alert_store_close(s);
		return NULL;
	}
	return s;
}

void alert_store_close(struct alert_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *alert_store_stream(struct alert_store *s)
{
	return s->stream;
}

/* ---- transactions -------------------------------------------------------- */

int alert_store_begin(struct alert_store *s)
{
	pthread_mutex_lock(&s->lock);
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(s, "beginning a transaction");
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	return 0;
}

void alert_store_rollback(struct alert_store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	/* the head numbered inside the transaction is gone with it */
	load_stream(s);
	pthread_mutex_unlock(&s->lock);
}

int alert_store_commit(struct alert_store *s)
{
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(s, "committing");
		alert_store_rollback(s);
		return -1;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int alert_store_add_alert(struct alert_store *s, const struct alert_row *a)
{
	int rc = store_run(s, "INSERT OR IGNORE INTO alerts (id, rule, event_key, dkey, state, decided_us, severity, "
		     "summary, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", "sssssiiss", a->id, a->rule,
		     a->event_key, a->dkey, a->state, a->decided_us, (long long)a->severity, a->summary, a->doc);

	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

int alert_store_known(struct alert_store *s, const char *id)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT 1 FROM alerts WHERE id = ?1");
	int rc = st ? SQLITE_OK : SQLITE_ERROR;

	if (st) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_fail(s, "looking up an alert");
}

int alert_store_add_delivery(struct alert_store *s, const char *alert_id, const char *action,
			     long long next_us, long long expire_us)
{
	return store_run(s, "INSERT OR IGNORE INTO deliveries (alert_id, action, state, next_us, expire_us) VALUES "
		   "(?1, ?2, 'pending', ?3, ?4)", "ssii", alert_id, action, next_us,
		   expire_us) == SQLITE_DONE ? 0 : -1;
}

int alert_store_add_event(struct alert_store *s, struct hvt_event *ev)
{
	struct hvt_buf js = { 0 };
	char num[24], hash[HVT_SHA256_HEX];
	int rc = -1;

	hvt_event_set_str(&ev->host, ALERT_HOST);
	hvt_event_set_identity(ev, s->stream, s->head_seq + 1);
	hvt_event_set_str(&ev->source, "collector");
	hvt_event_set_str(&ev->prev, s->head_hash);
	if (!ev->received_us)
		ev->received_us = ev->ts_us;
	hvt_event_to_json(ev, &js);
	hvt_chain_hash(js.data, js.len, hash);
	snprintf(num, sizeof num, "%" PRIu64, ev->seq);
	if (store_run(s, "INSERT INTO outbox (seq, json) VALUES (?1, ?2)", "is", (long long)ev->seq,
		hvt_buf_cstr(&js)) == SQLITE_DONE &&
	    meta_put(s, "head_seq", num) == 0 && meta_put(s, "head_hash", hash) == 0) {
		s->head_seq = ev->seq;
		memcpy(s->head_hash, hash, sizeof hash);
		rc = 0;
	}
	hvt_buf_free(&js);
	return rc;
}

int alert_store_set_position(struct alert_store *s, uint64_t pos)
{
	char num[24];

	snprintf(num, sizeof num, "%" PRIu64, pos);
	return meta_put(s, "position", num);
}

int alert_store_delivery_update(struct alert_store *s, const char *alert_id, const char *action,
				const char *state, int attempts, long long next_us, const char *error)
{
	return store_run(s, "UPDATE deliveries SET state = ?3, attempts = ?4, next_us = ?5, last_error = ?6 "
		   "WHERE alert_id = ?1 AND action = ?2", "sssiis", alert_id, action, state,
		   (long long)attempts, next_us, error) == SQLITE_DONE ? 0 : -1;
}

/* ---- reads ----------------------------------------------------------------- */

int alert_store_position(struct alert_store *s, uint64_t *pos, bool *known)
{
	pthread_mutex_lock(&s->lock);
	char *v = meta_get(s, "position");
	pthread_mutex_unlock(&s->lock);
	*known = v != NULL;
	*pos = v ? strtoull(v, NULL, 10) : 0;
	free(v);
	return 0;
}

int alert_store_fired_since(struct alert_store *s, long long since_us,
			    void (*cb)(void *arg, const char *rule, const char *dkey, long long t_us), void *arg)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT rule, dkey, decided_us FROM alerts WHERE state = 'fired' AND "
				"decided_us >= ?1 ORDER BY decided_us");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	sqlite3_bind_int64(st, 1, since_us);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "reading fired alerts");
}

int alert_store_suppressed(struct alert_store *s, void (*cb)(void *arg, const char *rule, uint64_t n),
			   void *arg)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT rule, count(*) FROM alerts a WHERE state != 'fired' AND decided_us >= "
				"(SELECT coalesce(max(decided_us), 0) FROM alerts f WHERE f.rule = a.rule AND "
				"f.state = 'fired') GROUP BY rule");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "counting suppressed alerts");
}

int alert_store_pending(struct alert_store *s, void (*cb)(void *arg, const char *action, uint64_t n),
			void *arg)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT action, count(*) FROM deliveries WHERE state = 'pending' "
				"GROUP BY action");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "counting pending deliveries");
}

char *store_col_dup(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return hvt_strdup(t ? t : "");
}

void alert_delivery_clear(struct alert_delivery *d)
{
	free(d->alert_id);
	free(d->action);
	free(d->rule);
	free(d->summary);
	free(d->doc);
	free(d->last_error);
	free(d->key);
	free(d->transition);
	memset(d, 0, sizeof *d);
}

int alert_store_next_delivery(struct alert_store *s, const char *action, struct alert_delivery *d)
{
	int rc;

	/* per alert in order: a notification waits while an older one of the
	 * same alert is still pending for this action (a resolve never
	 * overtakes its trigger at the receiver) */
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT d.alert_id, d.attempts, d.next_us, d.expire_us, n.key, n.summary, "
				      "n.doc, n.severity, n.decided_us, d.last_error, n.transition, n.inst, d.repeats, "
				      "(SELECT p.rule FROM pages p WHERE p.key = n.key AND p.inst = n.inst) "
				      "FROM deliveries d JOIN notifications n ON n.id = d.alert_id "
				      "WHERE d.action = ?1 AND d.state = 'pending' AND NOT EXISTS (SELECT 1 FROM "
				      "deliveries d2 JOIN notifications n2 ON n2.id = d2.alert_id WHERE d2.action = d.action "
				      "AND d2.state = 'pending' AND d2.repeats = 0 AND n2.key = n.key AND n2.inst = n.inst "
				      "AND n2.seq < n.seq) ORDER BY d.next_us LIMIT 1");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		d->alert_id = store_col_dup(st, 0);
		d->action = hvt_strdup(action);
		d->attempts = sqlite3_column_int(st, 1);
		d->next_us = sqlite3_column_int64(st, 2);
		d->expire_us = sqlite3_column_int64(st, 3);
		d->key = store_col_dup(st, 4);
		d->summary = store_col_dup(st, 5);
		d->doc = store_col_dup(st, 6);
		d->severity = sqlite3_column_int(st, 7);
		d->fired_us = sqlite3_column_int64(st, 8);
		d->last_error = store_col_dup(st, 9);
		d->transition = store_col_dup(st, 10);
		d->inst = sqlite3_column_int64(st, 11);
		d->repeats = sqlite3_column_int(st, 12);
		d->rule = store_col_dup(st, 13);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW && !*d->rule) {
		/* a version 1 delivery has no page: its decision names the rule */
		free(d->rule);
		st = store_prep(s, "SELECT rule FROM alerts WHERE id = ?1");
		if (st) {
			sqlite3_bind_text(st, 1, d->alert_id, -1, SQLITE_STATIC);
			d->rule = sqlite3_step(st) == SQLITE_ROW ? store_col_dup(st, 0) : hvt_strdup("?");
			sqlite3_finalize(st);
		} else {
			d->rule = hvt_strdup("?");
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_fail(s, "reading pending deliveries");
}

int alert_store_delivery_repeat(struct alert_store *s, const struct alert_delivery *d, long long next_us,
				long long expire_us)
{
	if (store_run(s, "UPDATE deliveries SET state = 'pending', next_us = ?3, expire_us = ?4, attempts = 0, "
		      "repeats = repeats + 1, last_error = NULL WHERE alert_id = ?1 AND action = ?2 AND "
		      "EXISTS (SELECT 1 FROM pages p WHERE p.key = ?5 AND p.inst = ?6 AND p.state = 'firing') AND "
		      "NOT EXISTS (SELECT 1 FROM notifications n WHERE n.key = ?5 AND n.inst = ?6 AND "
		      "n.seq > (SELECT seq FROM notifications WHERE id = ?1))", "ssiisi", d->alert_id, d->action,
		      next_us, expire_us, d->key, d->inst) != SQLITE_DONE)
		return -1;
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

int alert_store_outbox(struct alert_store *s, int max,
		       int (*cb)(void *arg, uint64_t seq, const char *json, size_t len), void *arg)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = store_prep(s, "SELECT seq, json FROM outbox ORDER BY seq LIMIT ?1");
	if (!st) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	sqlite3_bind_int(st, 1, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(arg, (uint64_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		       (size_t)sqlite3_column_bytes(st, 1)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "reading the outbox");
}

int alert_store_outbox_done(struct alert_store *s, uint64_t upto_seq)
{
	pthread_mutex_lock(&s->lock);
	int rc = store_run(s, "DELETE FROM outbox WHERE seq <= ?1", "i", (long long)upto_seq);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

int alert_store_prune(struct alert_store *s, long long before_us)
{
	int rc = 0;

	if (alert_store_begin(s) < 0)
		return -1;
	/* a decision is kept while an open alert has it as a member (its
	 * document goes into the alert's notifications) */
	if (alert_store_prune_state(s, before_us) < 0 ||
	    store_run(s, "DELETE FROM alerts WHERE decided_us < ?1 AND NOT EXISTS (SELECT 1 FROM pages p WHERE "
		      "p.state IN ('pending', 'firing') AND instr(p.json, alerts.id) > 0)", "i", before_us) !=
	    SQLITE_DONE ||
	    store_run(s, "DELETE FROM deliveries WHERE alert_id NOT IN (SELECT id FROM notifications)", "") !=
	    SQLITE_DONE)
		rc = -1;
	if (rc < 0) {
		alert_store_rollback(s);
		return -1;
	}
	return alert_store_commit(s);
}
