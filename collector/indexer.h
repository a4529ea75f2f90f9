/* indexer.h - the thread that moves records from the inbox into the index.
 *
 * It reads the inbox from the position the index says it stored last,
 * builds batches (batch_size records, or whatever arrived within
 * batch_delay), stores each batch atomically together with its inbox
 * position, and only then acknowledges the inbox so its segments can go.
 * A batch the index refuses (disk full, database locked) is retried with
 * backoff until it succeeds; meanwhile the inbox absorbs new frames. */
#ifndef HVT_COL_INDEXER_H
#define HVT_COL_INDEXER_H

#include <stdbool.h>
#include <stdint.h>

#include "hvtrail-plugin.h"
#include "record.h"
#include "spool.h"

struct indexer_counters {
	uint64_t batches, indexed, duplicates, store_errors, host_stats;
	uint64_t position;            /* inbox record last stored */
	long long behind_since_us;    /* monotonic: since when records wait (0: caught up) */
};

struct indexer;

struct indexer *indexer_new(struct hvt_instance *idx, struct hvt_spool *inbox, int batch_size,
			    long long batch_delay_ms);
/* Called after each stored batch, before the inbox is acknowledged past
 * it (alerts.h: decisions about stored events).  Non-zero: stop without
 * acknowledging, so the batch is seen again at the next start. */
typedef int (*indexer_hook)(void *arg, const struct col_record *recs, int n, uint64_t inbox_seq);
void indexer_set_hook(struct indexer *ix, indexer_hook fn, void *arg);
int indexer_start(struct indexer *ix);
/* Index what is in the inbox (bounded by deadline), then stop. */
void indexer_stop(struct indexer *ix, long long drain_ms);
void indexer_free(struct indexer *ix);
void indexer_counters(struct indexer *ix, struct indexer_counters *out);

/* One batch goes through these steps (indexer.c, one function each):
 *   PREPARE     each record becomes an index item (chain verdict, migration
 *               link) or a seal row (valid as the record's flag says)
 *   STORE       items, seals and the inbox position in one transaction
 *   BACKOFF     the index refused it: wait (doubling), then STORE again;
 *               when stopping past the drain deadline, ABANDON instead
 *   HOST_STATS  forwarders' stats reports, outside the transaction
 *   HOOK        alerts decide about what was stored; a refusal ABANDONs
 *   ACK         the inbox may drop the batch; counters move
 * ABANDON leaves the batch unacknowledged in the inbox: it is indexed again
 * at the next start, and the index drops what it already holds.  A step
 * that sets aside one item the index refuses (quarantine) goes between
 * STORE's failure and the next STORE. */
enum flush_state {
	FLUSH_PREPARE,
	FLUSH_STORE,
	FLUSH_BACKOFF,
	FLUSH_HOST_STATS,
	FLUSH_HOOK,
	FLUSH_ACK,
	FLUSH_DONE,
	FLUSH_ABANDON,
};
enum flush_outcome { FLUSH_OK, FLUSH_FAILED };
/* The step after s ended with o; quitting: stop requested and the drain
 * deadline passed. */
enum flush_state flush_next(enum flush_state s, enum flush_outcome o, bool quitting);
const char *flush_state_name(enum flush_state s);

#endif
