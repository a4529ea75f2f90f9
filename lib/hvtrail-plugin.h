/* hvtrail-plugin.h - the plugin ABI.
 *
 * A plugin is a shared object in the plugin directory named after the
 * plugin ("in_qmp.so") that exports one `const struct hvt_plugin
 * hvt_plugin`.  The daemon dlopen()s it when a config section names it,
 * refuses it when .abi differs from HVT_PLUGIN_ABI, checks the section
 * against .conf_keys and fills .conf_fields (lib/instance.c does all of
 * this, for the daemons, the CLI and the tests alike).
 *
 * The lifecycle every loader keeps, and a plugin may rely on:
 *   check  (optional) every validation of the section's values beyond
 *          their types: files readable, names resolvable, one key against
 *          another.  No side effects.  --check-config, a start and a reload
 *          each run it before anything else, so init never has to refuse a
 *          configuration: what would make init fail for a reason in the
 *          file must fail here, with hvt_conf_error naming file and line.
 *   init   acquire what the instance needs; 0, or -1 (logged).  Whether
 *          init succeeded or not, stop is called exactly once afterwards,
 *          so init may return at any point and leave a half-built priv.
 *   run    (optional) start working: threads, event sources.  0 or -1.
 *   stop   stop working and release everything (priv may be NULL or half
 *          built); set priv to NULL.
 * A daemon may go through check/init/run/stop again with a new instance
 * for the same section at a reload.
 *
 * What plugins may use beyond this header: libhvtrail's exported functions
 * (the headers in lib/ that this file and docs/HACKING.md name), nothing
 * else of the daemons.
 *
 * Kinds and their ops tables:
 *   input  (forwarder)  - registers sources on host->loop, calls host->emit
 *   output (forwarder)  - ships records from host->spool, acks them
 *   index  (collector, CLI) - struct hvt_index_ops
 *   action (collector)  - struct hvt_action_ops
 * Bump HVT_PLUGIN_ABI whenever any struct in this file changes layout. */
#ifndef HVTRAIL_PLUGIN_H
#define HVTRAIL_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "conf.h"
#include "event.h"

#define HVT_PLUGIN_ABI 7
#define HVT_PLUGIN_SYMBOL "hvt_plugin"

enum hvt_plugin_kind {
	HVT_PLUGIN_INPUT = 1,
	HVT_PLUGIN_OUTPUT = 2,
	HVT_PLUGIN_INDEX = 3,
	HVT_PLUGIN_ACTION = 4,
};

struct hvt_instance;
struct hvt_spool;
typedef struct sd_event sd_event;

/* What an input may hand over with an event (hvt_host.emit_with). */
struct hvt_emit_opts {
	/* The input's read position once this event is spooled (a journal
	 * cursor, say): stored in the same spool record, so it is durable
	 * exactly when the event is, and handed back by hvt_host.position
	 * after a restart - a crash at any instant neither loses nor repeats
	 * what the input read.  Printable, no newline; NULL = unchanged. */
	const char *position;
	/* An idempotency key chosen by the event's producer: an event whose
	 * key was seen within the forwarder's window ([spool] key_window, kept
	 * with the spool across restarts and crashes) is dropped as a repeat.
	 * Keys are per input instance.  NULL = none. */
	const char *key;
	/* Several positions per instance (one per VM a QMP input watches): the
	 * name, within the instance, the position is kept under (no tab or
	 * newline); NULL = the instance's own.  hvt_host.position_in reads it. */
	const char *scope;
};
/* hvt_host.emit_with's answer for an event dropped as a repeat of a key
 * in the window (the earlier event is spooled; treat it as stored). */
#define HVT_EMIT_REPEAT 1

/* What the daemon offers its plugins. */
struct hvt_host {
	const char *prog;             /* "hvtrail-forwarder" */
	const char *hostname;         /* this forwarder's host identity */
	const char *state_dir;        /* persistent state, one subdir per instance */
	sd_event *loop;               /* forwarder: the input event loop */
	/* Forwarder inputs: hand an event to the pipeline (ownership passes).
	 * Returns 0; never blocks.  When the spool is full the daemon pauses
	 * inputs via hvt_input_ops.pause instead of refusing events. */
	int (*emit)(struct hvt_instance *inst, struct hvt_event *ev);
	/* Forwarder inputs: called once the events emitted so far are durably
	 * spooled, so an input may persist its read position (journal cursor). */
	struct hvt_spool *spool;      /* forwarder outputs */
	const atomic_bool *stopping;  /* set when the daemon shuts down; may be NULL */
	/* The account the daemon runs as once started ("" = the one it was
	 * started as): files a plugin opens again later (TLS files at every
	 * reconnect) must be readable by it. */
	const char *run_user, *run_group;
	/* Forwarder inputs: emit with a position and/or an idempotency key
	 * (struct hvt_emit_opts; o may be NULL).  Returns 0, or
	 * HVT_EMIT_REPEAT when ev was a repeat and has been freed. */
	int (*emit_with)(struct hvt_instance *inst, struct hvt_event *ev, const struct hvt_emit_opts *o);
	/* Forwarder inputs: the position stored with this instance's latest
	 * spooled event (recovered from the spool at start), or NULL.  Valid
	 * until the next emit. */
	const char *(*position)(struct hvt_instance *inst);
	/* The same for a position kept under scope (hvt_emit_opts.scope). */
	const char *(*position_in)(struct hvt_instance *inst, const char *scope);
};

/* Is the daemon shutting down?  (false without a host or flag: tools.) */
static inline bool hvt_host_stopping(const struct hvt_host *h)
{
	return h && h->stopping && atomic_load(h->stopping);
}

struct hvt_instance {
	const struct hvt_plugin *plugin;
	const char *name;             /* config section name: "in_qmp" or "in_qmp:x" */
	struct hvt_conf *config;
	struct hvt_conf_section *conf;
	const struct hvt_host *host;
	bool readonly;                /* index opened by the CLI */
	const void *opts;             /* the plugin's conf_fields, filled (NULL if it has none) */
	void *priv;                   /* the plugin's own state */
};

struct hvt_plugin {
	uint32_t abi;                 /* HVT_PLUGIN_ABI at build time */
	const char *name;             /* must match the file name */
	enum hvt_plugin_kind kind;
	const char *summary;          /* one line, for --list-plugins */
	const struct hvt_conf_key *conf_keys;
	/* Optional: the struct the section's values are filled into, as
	 * inst->opts, before check (conf.h: HVT_CONF_FIELD). */
	const struct hvt_conf_field *conf_fields;
	size_t conf_size;
	/* The lifecycle at the top of this file. */
	int (*check)(struct hvt_instance *inst);  /* optional; 0 or -1 (hvt_conf_error) */
	int (*init)(struct hvt_instance *inst);   /* 0 or -1 (logged); stop follows either way */
	int (*run)(struct hvt_instance *inst);    /* optional; 0 or -1 (logged) */
	void (*stop)(struct hvt_instance *inst);  /* release everything, priv = NULL */
	const void *ops;              /* kind-specific table below, or NULL */
};

/* ---- input ------------------------------------------------------------- */
struct hvt_input_ops {
	/* Stop (paused=true) or resume reading: back-pressure from the spool. */
	void (*pause)(struct hvt_instance *inst, bool paused);
	/* Events emitted up to now are durable: persist read positions. */
	void (*committed)(struct hvt_instance *inst);
	/* Counters for `hvtrail stats` (JSON object text), or NULL. */
	char *(*stats)(struct hvt_instance *inst);
};

/* ---- output ------------------------------------------------------------ */
struct hvt_output_ops {
	/* JSON object text with the output's state (peer, acked, ...). */
	char *(*stats)(struct hvt_instance *inst);
};

/* ---- index ------------------------------------------------------------- */

/* One event as the collector stores it. */
struct hvt_stored {
	const struct hvt_event *ev;   /* decoded fields */
	const char *raw;              /* the exact JSON text received */
	size_t raw_len;
	const char *peer;             /* RELP peer host/IP it came from */
	long long indexed_us;         /* collector receive time */
	const char *link;             /* correlation id (migration id), or NULL */
	int verdict;                  /* HVT_VERDICT_* from the chain check */
	const char *verdict_note;
};

enum hvt_verdict {
	HVT_VERDICT_OK = 0,           /* chained to its predecessor */
	HVT_VERDICT_UNCHECKED = 1,    /* predecessor not (yet) seen */
	HVT_VERDICT_BROKEN = 2,       /* prev does not match */
	HVT_VERDICT_QUARANTINED = 3,  /* kept aside, not in the trail (verdict_note says why) */
};

/* A seal (lib/seal.h) as the collector keeps it: the proof that a host's
 * certificate signed its chain up to (stream, seq). */
struct hvt_seal_row {
	const char *host;
	const char *stream;
	uint64_t seq;
	const char *hash;             /* of the event at seq */
	long long time_us;            /* when it was signed */
	bool final;
	const char *json;             /* the seal exactly as received (cert, sig) */
	size_t json_len;
	bool valid;                   /* the collector's check on arrival */
	const char *note;             /* why not valid, or the signer's names */
	const char *peer;
	long long received_us;
};

/* Why store() failed (struct hvt_index_batch). */
enum hvt_refusal {
	HVT_REFUSED_NONE = 0,         /* not the content: the index is unavailable */
	HVT_REFUSED_ITEM,             /* items[refused] cannot be stored */
	HVT_REFUSED_SEAL,             /* seals[refused] cannot be stored */
	HVT_REFUSED_CONTENT,          /* something in the batch; the index cannot say which */
};

struct hvt_index_batch {
	const struct hvt_stored *items;   /* events; QUARANTINED ones go aside */
	size_t n;
	const struct hvt_seal_row *seals; /* stored in the same transaction */
	size_t nseals;
	uint64_t inbox_seq;           /* store atomically with the rows */
	/* out: */
	size_t inserted;
	size_t duplicates;
	/* out, when store() fails: is it the content (refused) or the index
	 * (unavailable, full: the collector retries the batch as it is)?  A
	 * refused item is quarantined by the collector and the rest stored
	 * (nothing acknowledged may wedge the indexer, #15). */
	enum hvt_refusal refusal;
	size_t refused;               /* items[refused] or seals[refused] */
	char refused_why[200];        /* in words: why it cannot be stored */
};

struct hvt_query {
	const char *vm;               /* name or UUID */
	const char *host;
	const char *type_glob;
	const char *id;
	const char *link;
	long long since_us, until_us; /* 0 = open */
	int64_t after_cursor;         /* rows after this cursor (follow) */
	long long limit;              /* 0 = none */
	bool newest_first;
	/* ABI 4: */
	const char *grep;             /* POSIX extended regex on the event's msg, or NULL */
	bool grep_icase;              /* ... matched ignoring case */
	uint8_t severities;           /* bit s set: severity s (0 emerg..7 debug) matches; 0 = any */
};

struct hvt_row {
	int64_t cursor;               /* monotonically increasing per index */
	uint64_t seq;                 /* the event's seq in its stream */
	const char *raw;
	size_t raw_len;
	const char *peer;
	long long indexed_us;
	const char *link;
	int verdict;
	const char *note;             /* verdict note / quarantine reason, or NULL */
};

typedef int (*hvt_row_cb)(void *arg, const struct hvt_row *row);

/* Per-stream state the collector keeps (gaps, chain heads). */
struct hvt_stream_state {
	char host[256];
	char stream[64];
	uint64_t max_seq;             /* highest seq seen */
	uint64_t count;               /* distinct events stored */
	char head_hash[72];           /* hash of the event at max_seq */
	long long last_ts_us;
	long long last_indexed_us;
};

/* What `hvtrail archive` asks for and gets (hvt_index_ops.archive). */
struct hvt_archive_req {
	const char *dir;              /* the archive (created when missing; what it has is kept) */
	long long before_us;          /* only partitions stored entirely before (0 = every closed one) */
	const char *ca_file;          /* copied in as DIR/ca.pem for offline verify, or NULL */
	/* out: */
	int partitions;               /* copied this time */
	int skipped;                  /* already in the archive */
	uint64_t events, bytes;
	char err[512];                /* why it failed */
};

struct hvt_index_ops {
	/* Store a batch exactly once (duplicates by host+id skipped and
	 * counted) together with inbox_seq; durable when it returns 0. */
	int (*store)(struct hvt_instance *inst, struct hvt_index_batch *b);
	/* The inbox position stored with the last batch (0 = none). */
	int (*inbox_position)(struct hvt_instance *inst, uint64_t *seq);
	int (*query)(struct hvt_instance *inst, const struct hvt_query *q, hvt_row_cb cb, void *arg);
	/* Stream states, for gaps/stats; cb returns non-zero to stop. */
	int (*streams)(struct hvt_instance *inst, const char *host,
		       int (*cb)(void *arg, const struct hvt_stream_state *s), void *arg);
	/* Missing seq ranges of one stream: cb(lo, hi) per hole. */
	int (*gaps)(struct hvt_instance *inst, const char *host, const char *stream,
		    int (*cb)(void *arg, uint64_t lo, uint64_t hi), void *arg);
	/* One stream's events in seq order from from_seq (verify). */
	int (*stream_events)(struct hvt_instance *inst, const char *host, const char *stream,
			     uint64_t from_seq, hvt_row_cb cb, void *arg);
	/* One stream's seals in seq order; cb returns non-zero to stop. */
	int (*seals)(struct hvt_instance *inst, const char *host, const char *stream,
		     int (*cb)(void *arg, const struct hvt_seal_row *s), void *arg);
	/* Quarantined events (kept aside, with their reason), oldest first. */
	int (*quarantined)(struct hvt_instance *inst, hvt_row_cb cb, void *arg);
	/* Record forwarder-reported stats (spool depth, ...) for a host. */
	int (*put_host_stats)(struct hvt_instance *inst, const char *host, const char *json,
			      long long at_us);
	int (*host_stats)(struct hvt_instance *inst,
			  int (*cb)(void *arg, const char *host, const char *json, long long at_us),
			  void *arg);
	/* Key/value state the collector keeps next to the rows. */
	int (*kv_get)(struct hvt_instance *inst, const char *key, char **value);
	int (*kv_put)(struct hvt_instance *inst, const char *key, const char *value);
	/* ABI 4, optional (NULL when the index has none): */
	/* Retention records (lib/pruned.h), oldest first: json is the record
	 * exactly as stored (canonical), hash its SHA-256 in hex.  cb returns
	 * non-zero to stop. */
	int (*pruned)(struct hvt_instance *inst,
		      int (*cb)(void *arg, const char *json, size_t len, const char *hash), void *arg);
	/* hvtrail archive: copy closed partitions into a directory the same
	 * plugin can open read-only (docs/storage.md).  Allowed on a read-only
	 * instance: it writes nothing into the index. */
	int (*archive)(struct hvt_instance *inst, struct hvt_archive_req *req);
};

/* ---- action ------------------------------------------------------------ */
/* One delivery attempt of a notification about an alert (docs/alerting.md):
 * the alert opened (firing), its members changed, it resolved, or someone
 * acknowledged it.  Everything points into memory the collector owns for
 * the duration of deliver(). */
struct hvt_alert {
	const char *id;               /* notification id (stable across retries and restarts) */
	const char *rule;             /* the [alert:NAME] that fired */
	const char *json;             /* the document: summary, key, status, members, "event" */
	const struct hvt_event *ev;   /* the event that opened it (decoded from json) */
	int attempt;                  /* 1, 2, ... (also counts attempts before a restart) */
	const char *summary;          /* one line for people */
	int severity;                 /* syslog severity of the alert */
	long long fired_us;           /* when this notification was decided (realtime) */
	/* ABI 6: the alert's lifecycle */
	const char *key;              /* the alert's stable key (PagerDuty's dedup_key) */
	const char *status;           /* "firing" or "resolved" */
	const char *transition;       /* "opened", "updated", "resolved", "acknowledged" */
	int repeat;                   /* 0; n: the n-th re-send (resend_ms) of this notification */
};

/* deliver(): the receiver refused the notification for good (an HTTP 4xx
 * but 429): the collector records it and does not try again. */
#define HVT_ACTION_REFUSED (-2)

struct hvt_action_ops {
	/* Deliver once, bounded by the instance's own timeout; 0 = delivered,
	 * -1 = failed (err says why in words), HVT_ACTION_REFUSED.  Called from
	 * the instance's delivery thread, one notification at a time, in order
	 * per alert; the collector retries with backoff until it expires. */
	int (*deliver)(struct hvt_instance *inst, const struct hvt_alert *a, char *err, size_t errsize);
	/* Optional (ABI 6): re-send the latest notification of a firing alert
	 * this often (ms; 0 = never).  Alertmanager forgets an alert that is not
	 * re-sent before its endsAt. */
	long long (*resend_ms)(struct hvt_instance *inst);
};

#endif
