/* alert_store.h - the collector's durable alert state: STATE_DIR/alerts.db.
 *
 * One SQLite file (WAL, synchronous = FULL: a commit is on disk when it
 * returns) with
 *   alerts      every decided match, UNIQUE (rule, event): an event resent,
 *               replayed or seen again after a restart never fires twice;
 *   deliveries  one row per (alert, action): pending with its next attempt
 *               and expiry, then delivered or expired;
 *   outbox      the collector's own events (alert.*, silence.*, incidents),
 *               already numbered and chained (stream, seq, prev), until
 *               they are in the inbox;
 *   incidents   what the incident state machines keep (incident.h);
 *   pages, notifications, silences
 *               the alerts people are paged about (alert_page.h);
 *   meta        that stream's id and head, and the inbox position up to
 *               which stored events have been evaluated.
 * Decisions, their deliveries and their alert.fired event are written in
 * one transaction, so no state between them survives a crash.
 *
 * Threads: every function locks the store; begin() holds the lock until
 * commit()/rollback(), so a transaction's statements are never interleaved
 * with another thread's. */
#ifndef HVT_COL_ALERT_STORE_H
#define HVT_COL_ALERT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define ALERT_HOST "(collector)"   /* the host of the collector's own events */

struct alert_store;

struct alert_row {
	const char *id;           /* alert id */
	const char *rule;
	const char *event_key;    /* "host/event id": what fired, once per rule */
	const char *dkey;         /* dedup key */
	const char *state;        /* alert_decision_names[] */
	long long decided_us;
	int severity;
	const char *summary, *doc;   /* fired alerts only */
};

/* A pending delivery of a notification, with what deliver() needs (owned
 * strings). */
struct alert_delivery {
	char *alert_id, *action, *rule, *summary, *doc, *last_error;
	char *key, *transition;   /* the alert's key; opened, updated, resolved, acknowledged */
	long long inst;           /* which opening of the key */
	int attempts, severity, repeats;
	long long next_us, expire_us, fired_us;
};
void alert_delivery_clear(struct alert_delivery *d);

struct alert_store *alert_store_open(const char *path, char *err, size_t errsize);
void alert_store_close(struct alert_store *s);
/* The collector's alert stream id (16 hex digits, made with the file). */
const char *alert_store_stream(struct alert_store *s);

/* ---- transactions ---------------------------------------------------------- */
int alert_store_begin(struct alert_store *s);
/* 0, or -1 (logged) after rolling back. */
int alert_store_commit(struct alert_store *s);
void alert_store_rollback(struct alert_store *s);

/* Inside a transaction.  add_alert: 1 added, 0 already decided, -1 error. */
int alert_store_add_alert(struct alert_store *s, const struct alert_row *a);
/* Was alert id decided already?  1 yes, 0 no, -1 error. */
int alert_store_known(struct alert_store *s, const char *id);
int alert_store_add_delivery(struct alert_store *s, const char *alert_id, const char *action,
			     long long next_us, long long expire_us);
/* Number the event in the collector's stream (host, stream, seq, id, prev
 * are set here) and queue its JSON in the outbox. */
int alert_store_add_event(struct alert_store *s, struct hvt_event *ev);
int alert_store_set_position(struct alert_store *s, uint64_t pos);
/* A delivery attempt's outcome: state pending (next_us), delivered or expired. */
int alert_store_delivery_update(struct alert_store *s, const char *alert_id, const char *action,
				const char *state, int attempts, long long next_us, const char *error);
/* After a delivery: deliver it again at next_us (until expire_us) if it is
 * still its alert's latest notification and the alert is firing.  1 when it
 * was rescheduled, 0 when not, -1 error.  In a transaction. */
int alert_store_delivery_repeat(struct alert_store *s, const struct alert_delivery *d, long long next_us,
				long long expire_us);

/* ---- reads (each locks by itself) ------------------------------------------ */
/* The evaluated inbox position; *known false for a new file. */
int alert_store_position(struct alert_store *s, uint64_t *pos, bool *known);
/* Fired alerts decided at or after since_us, oldest first. */
int alert_store_fired_since(struct alert_store *s, long long since_us,
			    void (*cb)(void *arg, const char *rule, const char *dkey, long long t_us), void *arg);
/* Per rule: matches suppressed since its last fired alert. */
int alert_store_suppressed(struct alert_store *s, void (*cb)(void *arg, const char *rule, uint64_t n),
			   void *arg);
/* Per action: how many deliveries are pending. */
int alert_store_pending(struct alert_store *s, void (*cb)(void *arg, const char *action, uint64_t n),
			void *arg);
/* The earliest pending delivery of an action: 1 (in *d), 0 none, -1 error. */
int alert_store_next_delivery(struct alert_store *s, const char *action, struct alert_delivery *d);
/* Outbox rows in seq order (at most max); cb returns non-zero to stop. */
int alert_store_outbox(struct alert_store *s, int max,
		       int (*cb)(void *arg, uint64_t seq, const char *json, size_t len), void *arg);
int alert_store_outbox_done(struct alert_store *s, uint64_t upto_seq);
/* Forget decided alerts older than before_us whose deliveries are done. */
int alert_store_prune(struct alert_store *s, long long before_us);

/* ---- incidents (incident.h; alert_store_state.c) ----------------------------- */
/* An incident's saved state: 1 (*json malloc'ed), 0 none, -1 error. */
int alert_store_incident_get(struct alert_store *s, const char *key, char **json);
/* Inside a transaction; deadline_us 0 = nothing to wait for. */
int alert_store_incident_put(struct alert_store *s, const char *key, const char *json, long long deadline_us,
			     long long now_us);
/* Incidents whose deadline passed, earliest first; cb may write. */
int alert_store_incidents_due(struct alert_store *s, long long now_us,
			      int (*cb)(void *arg, const char *key, const char *json), void *arg);
/* The earliest time anything waits for (an incident's deadline, a page's
 * notification, a silence's start or end), or 0. */
long long alert_store_next_due(struct alert_store *s);
/* Forget decided incidents untouched since before_us (in a transaction). */
int alert_store_prune_state(struct alert_store *s, long long before_us);

/* ---- pages and notifications (alert_page.h; alert_store_state.c) ------------- */
/* The open page (pending or firing) of key: 1 (*json malloc'ed), 0, -1. */
int alert_store_page_open(struct alert_store *s, const char *key, char **json);
/* The latest page of key, or of the one key that starts with prefix (at
 * least 6 hex digits): 1, 0 none, -1 error, -2 the prefix is ambiguous. */
int alert_store_page_latest(struct alert_store *s, const char *prefix, char **json);
/* The highest instance number key had (0: never). */
long long alert_store_page_last_inst(struct alert_store *s, const char *key);
/* Write a page; notify_at is when it wants looking at again (0: on change). */
int alert_store_page_put(struct alert_store *s, const char *key, long long inst, const char *rule,
			 const char *state, long long notify_at, const char *json, long long now_us);
/* Open pages (of rule, or all when rule is NULL), oldest first; cb may write. */
int alert_store_pages_open(struct alert_store *s, const char *rule,
			   int (*cb)(void *arg, const char *json), void *arg);
/* The decision document (per event) of a fired alert id: 1, 0, -1. */
int alert_store_alert_doc(struct alert_store *s, const char *alert_id, char **doc);
/* A notification and, for each action, its delivery; older repeating
 * deliveries of the same page stop (superseded). */
int alert_store_add_notification(struct alert_store *s, const char *id, const char *key, long long inst,
				 const char *transition, long long decided_us, int severity, const char *summary,
				 const char *doc);

/* ---- silences (alert_silence.h; alert_store_state.c) ----------------------- */
int alert_store_silence_put(struct alert_store *s, const char *id, const char *state, long long starts_us,
			    long long ends_us, const char *json);
/* 1 (*json, *state malloc'ed), 0 unknown, -1. */
int alert_store_silence_get(struct alert_store *s, const char *id, char **json, char **state);
/* Silences in effect at now_us (state active, started, not ended). */
int alert_store_silences_active(struct alert_store *s, long long now_us,
				int (*cb)(void *arg, const char *json), void *arg);
/* Active silences whose end passed; cb may write. */
int alert_store_silences_ended(struct alert_store *s, long long now_us,
			       int (*cb)(void *arg, const char *id, const char *json), void *arg);
/* How many silences are active (not ended). */
long long alert_store_silences_count(struct alert_store *s);

#endif
