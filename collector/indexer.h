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
	uint64_t refused;             /* events the index refused, quarantined instead (#15) */
	uint64_t lost;                /* events or seals not even the quarantine would take */
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
 *   ISOLATE     the index refused something in the batch because of its
 *               content: the item it names goes to the quarantine with the
 *               reason (a seal it names is dropped); when it names none,
 *               each item is tried alone to find it.  Then STORE again:
 *               nothing the inbox acknowledged may wedge the indexer (#15)
 *   BACKOFF     the index failed (unavailable, full): wait (doubling), then
 *               STORE again; when stopping past the drain deadline, ABANDON
 *   HOST_STATS  forwarders' stats reports, outside the transaction
 *   HOOK        alerts decide about what was stored; a refusal ABANDONs
 *   ACK         the inbox may drop the batch; counters move
 * ABANDON leaves the batch unacknowledged in the inbox: it is indexed again
 * at the next start, and the index drops what it already holds. */
enum flush_state {
	FLUSH_PREPARE,
	FLUSH_STORE,
	FLUSH_BACKOFF,
	FLUSH_ISOLATE,
	FLUSH_HOST_STATS,
	FLUSH_HOOK,
	FLUSH_ACK,
	FLUSH_DONE,
	FLUSH_ABANDON,
};
/* FLUSH_REFUSED: STORE failed because of the batch's content. */
enum flush_outcome { FLUSH_OK, FLUSH_FAILED, FLUSH_REFUSED };
/* The step after s ended with o; quitting: stop requested and the drain
 * deadline passed. */
enum flush_state flush_next(enum flush_state s, enum flush_outcome o, bool quitting);
const char *flush_state_name(enum flush_state s);

#endif
