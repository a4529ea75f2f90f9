/* ch.h - state and helpers shared by the files of the idx_clickhouse plugin.
 *
 * The plugin talks to ClickHouse over its HTTP interface with libcurl.  Every
 * op takes a connection (a curl easy handle, kept alive) from a small pool
 * for the length of its request, so a row callback may call back into the
 * index without waiting for itself.  The rest of the shared state (the URL
 * that answered last, the cursor clock, buffered host stats) is guarded by
 * one mutex that is never held across a request. */
#ifndef IDX_CLICKHOUSE_CH_H
#define IDX_CLICKHOUSE_CH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#include "hvtrail-plugin.h"
#include "log.h"
#include "util.h"

/* The table layout this build writes; schema.c adds missing columns of it
 * to older tables (the only kind of migration a column store needs so far). */
#define CH_SCHEMA_VERSION 1
#define CH_POOL 4                     /* connections: nesting depth of ops */
/* cursor = (store time in ms << CH_ROW_BITS) | row of the batch */
#define CH_ROW_BITS 20

struct ch_opts {
	char **urls;                  /* NULL-terminated (hvt_conf_list) */
	int nurls;
	const char *database;
	const char *cluster;          /* "" = the tables themselves, no Distributed */
	bool replicated;
	char *zk_path;                /* replicated: ZooKeeper path prefix (owned) */
	const char *user;
	char *password;               /* owned: from password or password_file */
	const char *tls_ca, *tls_cert, *tls_key;
	bool tls_verify;
	long long connect_timeout_ms, timeout_ms;
	char *collector_id;           /* owned */
	bool create_schema;
	long long follow_delay_ms;
	long long flush_rows, flush_interval_ms;
	char *settings;               /* "&name=value..." for every request (owned) */
};

struct ch_conn {
	CURL *curl;
	bool busy;
};

/* Per (host, stream) counters of the last streams() call: gaps() answers
 * "no holes" from them without another round trip per stream. */
struct ch_stream_count {
	char *host, *stream;
	uint64_t count, max_seq;
};

struct ch {
	struct ch_opts o;
	const char *name;             /* the instance's section name, for logs */
	bool readonly;
	const char *state_dir;        /* the collector's (positions are per state dir) */
	struct curl_slist *headers;
	struct curl_slist *headers_chunked;   /* the same + Transfer-Encoding: chunked */
	pthread_mutex_t lock;
	struct ch_conn pool[CH_POOL];
	int cur_url;                  /* the URL that answered last */
	/* store.c */
	pthread_mutex_t store_lock;   /* one batch at a time */
	uint64_t last_ms;             /* cursor clock: strictly increasing */
	uint64_t last_written_us;     /* positions/kv version clock */
	long long last_insert_mono_us;
	/* kv.c: host stats wait here and go in with the next insert */
	struct hvt_buf stats;
	size_t nstats;
	long long stats_since_mono_us;
	/* streams.c */
	struct ch_stream_count *counts;
	size_t ncounts;
	struct hvt_ratelimit rl;       /* request failures */
	struct hvt_ratelimit rl_store; /* batches not stored */
};

/* ---- http.c ------------------------------------------------------------ */
struct ch_req {
	const char *sql;              /* the statement */
	const char *data;             /* INSERT: rows in the statement's FORMAT (sql goes in the URL) */
	size_t data_len;
	/* INSERT rows made while they are sent (instead of data): produce()
	 * appends the next rows to buf and returns false after the last ones;
	 * rewind() starts over for another attempt. */
	bool (*produce)(void *arg, struct hvt_buf *buf);
	void (*rewind)(void *arg);
	void *produce_arg;
	const char *params;           /* more "&name=value" for this request, or NULL */
	int url;                      /* -1: the current URL, then the others; >= 0: only that one */
	/* The answer: given to sink as it arrives (sink returns false to stop
	 * reading, which is no error), else collected in out (if not NULL). */
	bool (*sink)(void *arg, const char *p, size_t n);
	void *sink_arg;
	struct hvt_buf *out;
	bool quiet;                   /* the caller reports failures itself */
	/* out: */
	char err[512];                /* why it failed */
	int ch_code;                  /* ClickHouse's "Code: N" of the failure, or 0 */
};
int ch_http_init(struct ch *x);
void ch_http_free(struct ch *x);
/* 0 when ClickHouse answered 200 (and the sink got everything it wanted). */
int ch_http(struct ch *x, struct ch_req *r);
/* Run one statement that answers nothing interesting; 0 or -1 (logged). */
int ch_exec(struct ch *x, int url, const char *sql);
/* Run a statement and return its whole answer, without the final newline. */
int ch_scalar(struct ch *x, const char *sql, struct hvt_buf *out);

/* ---- sql.c ------------------------------------------------------------- */
/* Append s as a ClickHouse string literal '...' (every byte survives). */
void ch_quote(struct hvt_buf *b, const char *s, size_t len);
void ch_quote_str(struct hvt_buf *b, const char *s);
/* Append "db.name". */
void ch_table(struct hvt_buf *b, const struct ch *x, const char *name);
/* Append s as a JSON string (for JSONEachRow). */
void ch_json_str(struct hvt_buf *b, const char *s, size_t len);
/* A shell glob (fnmatch, no flags) as an anchored RE2 pattern for match();
 * false when no type name can match it (it needs a non-ASCII character). */
bool ch_glob_regex(const char *glob, struct hvt_buf *re);
/* Percent-encode s for a URL query. */
void ch_urlencode(struct hvt_buf *b, const char *s);

/* ---- rowbin.c: answers in FORMAT RowBinary ----------------------------- */
enum ch_col { CH_U8, CH_U64, CH_I64, CH_STR };
struct ch_val {
	uint64_t u;
	int64_t i;
	const char *s;
	size_t len;
};
#define CH_MAX_COLS 12
struct ch_rows {
	const enum ch_col *cols;
	int ncols;
	/* per complete row; non-zero stops reading */
	int (*row)(void *arg, const struct ch_val *v);
	void *arg;
	struct hvt_buf pending;       /* bytes of an incomplete row */
	bool stopped;
	size_t rows;
};
void ch_rows_init(struct ch_rows *r, const enum ch_col *cols, int ncols,
		  int (*row)(void *arg, const struct ch_val *v), void *arg);
bool ch_rows_sink(void *arg, const char *p, size_t n);
/* After the transfer: 0, or -1 when the answer ended inside a row. */
int ch_rows_finish(struct ch_rows *r);
/* Run a SELECT (without FORMAT) and hand each row to row(). */
int ch_select(struct ch *x, const char *sql, const enum ch_col *cols, int ncols,
	      int (*row)(void *arg, const struct ch_val *v), void *arg);

/* ---- schema.c ---------------------------------------------------------- */
int ch_schema_setup(struct ch *x);    /* writer: create or migrate, on every URL */
int ch_schema_check(struct ch *x);    /* reader: the tables are there */

/* ---- store.c ----------------------------------------------------------- */
int ch_store(struct hvt_instance *inst, struct hvt_index_batch *b);
int ch_inbox_position(struct hvt_instance *inst, uint64_t *seq);
int ch_store_init(struct ch *x);
/* A version for rows of positions/kv/host_stats: microseconds, strictly increasing. */
uint64_t ch_next_version(struct ch *x);
/* INSERT rows (JSONEachRow text) into a table; 0 or -1.  The reason goes
 * to err when given (the caller logs it), else to the log (rate-limited). */
int ch_insert(struct ch *x, const char *table, const char *rows, size_t len, char *err,
	      size_t errsize);
/* The same with rows made while they are sent (struct ch_req's produce). */
int ch_insert_fed(struct ch *x, const char *table, bool (*produce)(void *arg, struct hvt_buf *buf),
		  void (*rewind)(void *arg), void *arg, char *err, size_t errsize);

/* ---- query.c ----------------------------------------------------------- */
int ch_query(struct hvt_instance *inst, const struct hvt_query *q, hvt_row_cb cb, void *arg);

/* ---- streams.c --------------------------------------------------------- */
int ch_streams(struct hvt_instance *inst, const char *host,
	       int (*cb)(void *arg, const struct hvt_stream_state *s), void *arg);
int ch_gaps(struct hvt_instance *inst, const char *host, const char *stream,
	    int (*cb)(void *arg, uint64_t lo, uint64_t hi), void *arg);
void ch_counts_free(struct ch *x);

/* ---- integrity.c: seals, quarantine, one stream in seq order ------------- */
void ch_put_seal(struct hvt_buf *b, const struct hvt_seal_row *s, const char *collector_json,
		 uint64_t cursor);
void ch_put_quarantine(struct hvt_buf *b, const struct hvt_stored *it, const char *collector_json,
		       uint64_t cursor);
int ch_stream_events(struct hvt_instance *inst, const char *host, const char *stream,
		     uint64_t from_seq, hvt_row_cb cb, void *arg);
int ch_seals(struct hvt_instance *inst, const char *host, const char *stream,
	     int (*cb)(void *arg, const struct hvt_seal_row *s), void *arg);
int ch_quarantined(struct hvt_instance *inst, hvt_row_cb cb, void *arg);
/* The row of an events/quarantine SELECT of CH_ROW_COLUMNS (query.c). */
#define CH_ROW_COLUMNS "cursor, seq, raw, peer, indexed_us, link, verdict, verdict_note"
extern const enum ch_col ch_row_cols[8];
struct hvt_row ch_row(const struct ch_val *v);

/* ---- kv.c -------------------------------------------------------------- */
int ch_put_host_stats(struct hvt_instance *inst, const char *host, const char *json,
		      long long at_us);
int ch_host_stats(struct hvt_instance *inst,
		  int (*cb)(void *arg, const char *host, const char *json, long long at_us), void *arg);
int ch_kv_get(struct hvt_instance *inst, const char *key, char **value);
int ch_kv_put(struct hvt_instance *inst, const char *key, const char *value);
/* Insert the buffered host stats now (force) or when they are due. */
void ch_stats_flush(struct ch *x, bool force);

/* idx_clickhouse.c */
int ch_refuse_readonly(struct ch *x, const char *op);
void ch_lock(struct ch *x);
void ch_unlock(struct ch *x);

#endif
