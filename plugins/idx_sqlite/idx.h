/* idx.h - state and helpers shared by the files of the idx_sqlite plugin.
 *
 * One SQLite connection per instance.  The collector may call the ops from
 * more than one thread, and a transaction is a property of the
 * connection, so every op
 * takes the instance lock for its whole duration.  The lock is recursive so
 * that a callback may call back into the index (gaps() from a streams()
 * callback, say) without deadlocking. */
#ifndef IDX_SQLITE_IDX_H
#define IDX_SQLITE_IDX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "hvtrail-plugin.h"
#include "pairmap.h"

/* Bumped (and migrated in schema.c) whenever the DDL changes. */
#define IDX_SCHEMA_VERSION 1

/* Per-stream counters gathered while a batch is stored, written to the
 * streams table once per batch instead of once per row. */
struct stream_slot {
	int64_t id;                   /* streams.id */
	uint64_t inserted;
	uint64_t max_seq;
	long long min_ts_us, max_ts_us;
	long long max_indexed_us;
};

struct idx_stmts {
	sqlite3_stmt *ins_event;
	sqlite3_stmt *get_raw;        /* compare a resend with the stored copy */
	sqlite3_stmt *get_stream;
	sqlite3_stmt *ins_stream;
	sqlite3_stmt *upd_stream;
	sqlite3_stmt *get_vm;
	sqlite3_stmt *ins_vm;
	sqlite3_stmt *put_inbox;
	sqlite3_stmt *ins_seal;
	sqlite3_stmt *ins_quarantine;
};

struct idx {
	sqlite3 *db;
	char *path;
	bool readonly;
	int last_rc;                  /* code of the last failure idx_fail saw (store: content or not?) */
	pthread_mutex_t lock;
	struct idx_stmts st;          /* write side, prepared once (NULL when readonly) */
	/* Scratch of one batch, reused so a steady stream of batches does not allocate. */
	struct pairmap streams;       /* (host, stream) -> index into slots */
	/* (name, uuid) -> vms.id of committed rows, kept across batches: a fleet's
	 * VMs recur in every batch.  Emptied when a batch rolls back (its new
	 * ids are gone) and when it grows past VM_CACHE_MAX. */
	struct pairmap vms;
	struct stream_slot *slots;
	size_t nslots, slots_cap;
};

struct idx_options {
	const char *path;
	bool sync_full;
	long long busy_timeout_ms;
	uint64_t cache_bytes;
	uint64_t max_bytes;           /* 0 = unlimited */
};

/* db.c */
int idx_db_open(struct idx *x, const struct idx_options *o);
void idx_db_close(struct idx *x);
/* Log "what: sqlite's message" for the error rc and return -1. */
int idx_fail(struct idx *x, int rc, const char *what);
int idx_exec(struct idx *x, const char *sql);
int idx_prepare(struct idx *x, const char *sql, sqlite3_stmt **st);
int idx_prepare_persistent(struct idx *x, const char *sql, sqlite3_stmt **st);
/* Step a statement that returns no rows, then reset it. */
int idx_step_done(struct idx *x, sqlite3_stmt *st, const char *what);
/* Refuse a write on a read-only instance (the CLI); returns -1. */
int idx_refuse_readonly(struct idx *x, const char *op);
void idx_lock(struct idx *x);
void idx_unlock(struct idx *x);

/* schema.c */
int idx_schema_create(struct idx *x);
int idx_schema_check(struct idx *x);

/* The SQL function hvt_regexp(pattern, icase, text) on a connection (grep.c). */
int idx_grep_register(sqlite3 *db);

/* store.c */
int idx_store_prepare(struct idx *x);
void idx_store_finalize(struct idx *x);
int idx_store(struct hvt_instance *inst, struct hvt_index_batch *b);
int idx_inbox_position(struct hvt_instance *inst, uint64_t *seq);

/* integrity.c: seals, quarantine, per-stream reads for verify */
int idx_integrity_prepare(struct idx *x);
int idx_store_seal(struct idx *x, const struct hvt_seal_row *s);
int idx_store_quarantine(struct idx *x, const struct hvt_stored *it, const char *reason);
int idx_stream_events(struct hvt_instance *inst, const char *host, const char *stream, uint64_t from_seq,
		      hvt_row_cb cb, void *arg);
int idx_seals(struct hvt_instance *inst, const char *host, const char *stream,
	      int (*cb)(void *arg, const struct hvt_seal_row *s), void *arg);
int idx_quarantined(struct hvt_instance *inst, hvt_row_cb cb, void *arg);
/* streams id for (host, stream), adding it when new (store.c). */
int idx_stream_id(struct idx *x, const char *host, const char *stream, int64_t *id);

/* query.c */
int idx_query(struct hvt_instance *inst, const struct hvt_query *q, hvt_row_cb cb, void *arg);

/* plan.c: how a query reads the index (see there for why). */
enum idx_path {
	IDX_PATH_AUTO,                /* SQLite's own choice */
	IDX_PATH_FOLLOW,              /* the rowid range after the cursor */
	IDX_PATH_TIME,                /* walk events_ts in order, filter, stop at the limit */
	IDX_PATH_FILTER,              /* the few rows of one filter's index, then sort */
};
struct idx_plan {
	enum idx_path path;
	bool by_host;                 /* FILTER: the host drives (else the type) */
	long long host_rows;          /* with a host filter: its events, and their times */
	long long host_first, host_last;
};
int idx_plan_query(struct idx *x, const struct hvt_query *q, const char *sql_glob, struct idx_plan *p);

/* query_sql.c: the SELECT for a query and plan, and what its parameters need. */
struct idx_sql {
	char *sql;
	char *glob;                   /* type_glob as SQLite GLOB */
	char *stream;                 /* from q->id */
	long long seq;
	bool bad_id;                  /* q->id is no "<stream>-<seq>": nothing matches */
};
/* The parts of q the plan needs first (the translated glob, the id). */
void idx_query_prepare(const struct hvt_query *q, struct idx_sql *s);
void idx_query_sql(const struct hvt_query *q, const struct idx_plan *p, struct idx_sql *s);
void idx_query_bind(sqlite3_stmt *st, const struct hvt_query *q, const struct idx_plan *p,
		    const struct idx_sql *s);
void idx_query_sql_free(struct idx_sql *s);

/* streams.c */
int idx_streams(struct hvt_instance *inst, const char *host,
		int (*cb)(void *arg, const struct hvt_stream_state *s), void *arg);
int idx_gaps(struct hvt_instance *inst, const char *host, const char *stream,
	     int (*cb)(void *arg, uint64_t lo, uint64_t hi), void *arg);

/* kv.c */
int idx_put_host_stats(struct hvt_instance *inst, const char *host, const char *json, long long at_us);
int idx_host_stats(struct hvt_instance *inst,
		   int (*cb)(void *arg, const char *host, const char *json, long long at_us), void *arg);
int idx_kv_get(struct hvt_instance *inst, const char *key, char **value);
int idx_kv_put(struct hvt_instance *inst, const char *key, const char *value);

/* glob.c: shell glob (fnmatch, no flags) -> SQLite GLOB pattern; malloc'ed. */
char *idx_glob_to_sql(const char *shell_glob);

#endif
