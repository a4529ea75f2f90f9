/* tidx.h - helpers for the idx_sqlite tests and benchmark: open the built
 * plugin through the loader, build realistic events with lib/event.h,
 * store them in batches and collect query results. */
#ifndef IDX_SQLITE_TIDX_H
#define IDX_SQLITE_TIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvtrail-plugin.h"

struct tidx {
	struct hvt_instance inst;
	struct hvt_conf *conf;
	const struct hvt_index_ops *ops;
};

/* A fresh private directory under $TMPDIR (or /tmp); tidx_rmtree removes and frees it. */
char *tidx_tmpdir(const char *tag);
void tidx_rmtree(char *dir);

/* Open the index at path through hvt_plugin_load() (from this build's
 * .libs).  extra: more "key = value" lines for the section, or NULL.
 * Returns NULL when the plugin's init fails. */
struct tidx *tidx_open(const char *path, bool readonly, const char *extra);
void tidx_close(struct tidx *t);

/* One test event; NULL/0 fields get defaults (host "hv1", stream
 * "00000000000000aa", type "vm.started", ts = TIDX_T0 + seq seconds, so give
 * a ts with a huge seq). */
struct tev {
	const char *host, *stream;
	uint64_t seq;
	const char *type;
	const char *vm_name, *vm_uuid;
	long long ts_us;
	const char *link;
	const char *id;               /* override the id (default "<stream>-<seq>") */
	const char *msg;              /* override the message */
	bool no_data;                 /* leave out the detail object (smaller events) */
};

/* A batch of events, each serialised with hvt_event_to_json(). */
struct tbatch {
	size_t n, cap;
	struct hvt_stored *items;
	struct hvt_event **evs;
	char **raws;
	size_t inserted, duplicates;  /* from the last tbatch_store() */
};

void tbatch_add(struct tbatch *b, const struct tev *e);
/* Events seq lo..hi of one host/stream with default fields. */
void tbatch_add_range(struct tbatch *b, const char *host, const char *stream, uint64_t lo, uint64_t hi);
int tbatch_store(struct tidx *t, struct tbatch *b, uint64_t inbox_seq);
void tbatch_free(struct tbatch *b);

/* Rows collected from a query. */
struct trows {
	size_t n;
	int64_t *cursor;
	char **raw;
};
int tidx_query(struct tidx *t, const struct hvt_query *q, struct trows *out);
void trows_free(struct trows *r);
/* Does row i's raw JSON contain "needle"? */
bool trows_has(const struct trows *r, size_t i, const char *needle);

/* Gaps of one stream, as "lo-hi,lo-hi" (or ""); returns the op's result. */
int tidx_gaps_str(struct tidx *t, const char *host, const char *stream, char *out, size_t size);

/* Base timestamp of the test events: 2026-11-22T10:00:00Z. */
#define TIDX_T0 1795341600000000LL

#endif
