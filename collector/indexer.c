/* indexer.c - see indexer.h. */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "correlate.h"
#include "health.h"
#include "indexer.h"
#include "log.h"
#include "record.h"
#include "seal.h"
#include "util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define ISOLATE_ONE_BY_ONE 8      /* refused items before ISOLATE tries each alone */

struct indexer {
	struct hvt_instance *idx;
	const struct hvt_index_ops *ops;
	struct hvt_spool *inbox;
	struct hvt_spool_reader *reader;
	int batch_size;
	long long batch_delay_ms;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	long long drain_deadline_us;
	/* the batch being built */
	char **copies;                /* record bytes the items point into */
	struct col_record *recs;
	struct hvt_stored *items;
	char (*links)[LINK_MAX];      /* per record: migration link or "" */
	char (*notes)[128];           /* per record: chain verdict note */
	int *item_rec;                /* per item: the record it came from */
	char (*refusals)[256];        /* per record: why the index refused it */
	struct hvt_seal_row *seals;
	struct hvt_seal *seal_parsed;
	size_t nseals;
	struct correlator *corr;
	struct chain *chain;
	int n;
	uint64_t last_seq;
	struct hvt_ratelimit rl;
	pthread_mutex_t lock;
	struct indexer_counters cnt;
	indexer_hook hook;
	void *hook_arg;
};

struct indexer *indexer_new(struct hvt_instance *idx, struct hvt_spool *inbox, int batch_size,
			    long long batch_delay_ms)
{
	struct indexer *ix = hvt_calloc(1, sizeof *ix);

	ix->idx = idx;
	ix->ops = idx->plugin->ops;
	ix->inbox = inbox;
	ix->batch_size = batch_size;
	ix->batch_delay_ms = batch_delay_ms;
	ix->copies = hvt_calloc((size_t)batch_size, sizeof(char *));
	ix->recs = hvt_calloc((size_t)batch_size, sizeof(struct col_record));
	ix->items = hvt_calloc((size_t)batch_size, sizeof(struct hvt_stored));
	ix->links = hvt_calloc((size_t)batch_size, LINK_MAX);
	ix->notes = hvt_calloc((size_t)batch_size, 128);
	ix->item_rec = hvt_calloc((size_t)batch_size, sizeof(int));
	ix->refusals = hvt_calloc((size_t)batch_size, 256);
	ix->seals = hvt_calloc((size_t)batch_size, sizeof(struct hvt_seal_row));
	ix->seal_parsed = hvt_calloc((size_t)batch_size, sizeof(struct hvt_seal));
	ix->corr = correlator_new(idx);
	ix->chain = chain_new(idx);
	ix->rl = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(10000);
	pthread_mutex_init(&ix->lock, NULL);
	return ix;
}

static void clear_batch(struct indexer *ix)
{
	for (size_t i = 0; i < ix->nseals; i++)
		hvt_seal_clear(&ix->seal_parsed[i]);
	ix->nseals = 0;
	for (int i = 0; i < ix->n; i++) {
		free(ix->copies[i]);
		ix->copies[i] = NULL;
	}
	ix->n = 0;
}

static bool should_quit(struct indexer *ix)
{
	return atomic_load(&ix->stop) && hvt_mono_us() > ix->drain_deadline_us;
}

/* ---- one batch, step by step (indexer.h: enum flush_state) ---------------- */

/* The work of one batch as it goes through the steps. */
struct flush {
	enum flush_state state;
	struct hvt_index_batch b;
	long long backoff_ms;
	int nstats;
	size_t probe_inserted;        /* stored by ISOLATE's tries one by one */
	unsigned isolated;            /* items ISOLATE set aside in this batch */
};

/* PREPARE: every record becomes what the index stores.  Chain heads
 * advance as the batch is checked: a batch the index refuses is retried
 * until stored, so they stay right. */
static enum flush_outcome prepare(struct indexer *ix, struct flush *f)
{
	struct hvt_index_batch *b = &f->b;

	correlate_batch(ix->corr, ix->recs, ix->n, ix->links);
	for (int i = 0; i < ix->n; i++) {
		struct col_record *r = &ix->recs[i];
		if (r->kind == COL_REC_EVENT || r->kind == COL_REC_QUARANTINE) {
			int verdict = r->kind == COL_REC_QUARANTINE ? HVT_VERDICT_QUARANTINED :
				      chain_check(ix->chain, &r->ev, r->raw, r->raw_len, ix->notes[i], sizeof ix->notes[i]);
			ix->item_rec[b->n] = i;
			ix->items[b->n++] = (struct hvt_stored){
				.ev = &r->ev, .raw = r->raw, .raw_len = r->raw_len,
				.peer = r->peer, .indexed_us = r->rx_us,
				.link = ix->links[i][0] ? ix->links[i] : NULL,
				.verdict = verdict,
				.verdict_note = r->kind == COL_REC_QUARANTINE ? r->note :
						ix->notes[i][0] ? ix->notes[i] : NULL,
			};
		} else if (r->kind == COL_REC_SEAL) {
			struct hvt_seal *sp = &ix->seal_parsed[b->nseals];
			char err[128];
			if (hvt_seal_from_json(r->raw, r->raw_len, sp, err, sizeof err) < 0)
				continue;
			/* verified on arrival (ingest.c); the record says so */
			bool valid = r->flags & COL_REC_SEAL_VALID;
			if (valid)
				chain_seal_matches(ix->chain, sp->host, sp->stream, sp->seq, sp->hash);
			ix->seals[b->nseals++] = (struct hvt_seal_row){
				.host = sp->host, .stream = sp->stream, .seq = sp->seq, .hash = sp->hash,
				.time_us = sp->time_us, .final = sp->final, .json = r->raw, .json_len = r->raw_len,
				.valid = valid, .note = r->note, .peer = r->peer, .received_us = r->rx_us,
			};
		}
	}
	b->seals = ix->seals;
	ix->nseals = b->nseals;
	return FLUSH_OK;
}

/* STORE: events, seals and the inbox position in one transaction. */
static enum flush_outcome store(struct indexer *ix, struct flush *f)
{
	f->b.inserted = f->b.duplicates = 0;
	f->b.refusal = HVT_REFUSED_NONE;
	if (ix->ops->store(ix->idx, &f->b) == 0) {
		health_ok(HEALTH_INDEX);
		return FLUSH_OK;
	}
	if (f->b.refusal != HVT_REFUSED_NONE)
		return FLUSH_REFUSED;     /* the content, not the index: ISOLATE */
	char why[300];
	snprintf(why, sizeof why, "the index refused a batch of %zu events (the collector's log says why); "
		 "they wait in the inbox", f->b.n);
	health_fail(HEALTH_INDEX, why);
	pthread_mutex_lock(&ix->lock);
	ix->cnt.store_errors++;
	pthread_mutex_unlock(&ix->lock);
	hvt_log_ratelimited(&ix->rl, LOG_ERR, "index refused a batch of %zu events (inbox records up to %"
			    PRIu64 "); keeping them in the inbox and retrying", f->b.n, ix->last_seq);
	return FLUSH_FAILED;
}

/* BACKOFF: the batch stays in the inbox while the index recovers. */
static enum flush_outcome backoff(struct indexer *ix, struct flush *f)
{
	usleep((useconds_t)f->backoff_ms * 1000);
	f->backoff_ms = HVT_MIN(f->backoff_ms * 2, BACKOFF_MAX_MS);
	(void)ix;
	return FLUSH_OK;
}

/* ---- ISOLATE: what the index refuses goes aside, the rest flows ------------ */

/* items[k] goes to the quarantine with why; if the quarantine itself
 * refused it, out of the batch (logged whole: the last trace of it). */
static void set_aside(struct indexer *ix, struct flush *f, size_t k, const char *why)
{
	struct hvt_index_batch *b = &f->b;
	struct hvt_stored *it = &ix->items[k];
	struct col_record *r = &ix->recs[ix->item_rec[k]];
	const char *host = it->ev && it->ev->host ? it->ev->host : "";
	const char *id = it->ev && it->ev->id ? it->ev->id : "";

	char *note = ix->refusals[ix->item_rec[k]];

	f->isolated++;
	if (it->verdict != HVT_VERDICT_QUARANTINED) {
		snprintf(note, sizeof ix->refusals[0], "the index refused it: %s", why);
		it->verdict = HVT_VERDICT_QUARANTINED;
		it->verdict_note = note;
		r->kind = COL_REC_QUARANTINE;   /* not in the trail: no alert fires on it */
		r->note = note;
		pthread_mutex_lock(&ix->lock);
		ix->cnt.refused++;
		pthread_mutex_unlock(&ix->lock);
		hvt_log(LOG_ERR, "quarantined event '%s' of host '%s' from %s: the index refused it (%s); "
			"the rest of its batch is stored (hvtrail stats lists the quarantine)", id, host,
			it->peer ? it->peer : "?", why);
		return;
	}
	hvt_log(LOG_CRIT, "the index refuses even to quarantine event '%s' of host '%s' from %s (%s); "
		"dropping it so that the rest is stored. Its text: %.*s", id, host, it->peer ? it->peer : "?",
		why, (int)HVT_MIN(it->raw_len, (size_t)2000), it->raw ? it->raw : "");
	memmove(&ix->items[k], &ix->items[k + 1], (b->n - k - 1) * sizeof *ix->items);
	memmove(&ix->item_rec[k], &ix->item_rec[k + 1], (b->n - k - 1) * sizeof *ix->item_rec);
	b->n--;
	r->kind = COL_REC_QUARANTINE;
	pthread_mutex_lock(&ix->lock);
	ix->cnt.lost++;
	pthread_mutex_unlock(&ix->lock);
}

/* seals[k] leaves the batch: seals are proofs about events, not events;
 * the next seal of the stream proves as much. */
static void drop_seal(struct indexer *ix, struct flush *f, size_t k, const char *why)
{
	struct hvt_index_batch *b = &f->b;
	const struct hvt_seal_row *sr = &ix->seals[k];

	hvt_log(LOG_ERR, "dropped a seal of host '%s' stream '%s' up to seq %" PRIu64 " from %s: the index "
		"refused it (%s); the rest of its batch is stored", sr->host ? sr->host : "",
		sr->stream ? sr->stream : "", sr->seq, sr->peer ? sr->peer : "?", why);
	memmove(&ix->seals[k], &ix->seals[k + 1], (b->nseals - k - 1) * sizeof *ix->seals);
	b->nseals--;
	pthread_mutex_lock(&ix->lock);
	ix->cnt.lost++;
	pthread_mutex_unlock(&ix->lock);
}

/* The index refused the batch's content without naming the item: try each
 * event and seal alone (what it takes is stored for good; the batch's
 * STORE finds those as duplicates).  FLUSH_FAILED when a try fails for
 * the index's own reasons, or when no single item is refused. */
static enum flush_outcome probe(struct indexer *ix, struct flush *f)
{
	struct hvt_index_batch *b = &f->b;
	bool found = false;

	hvt_log(LOG_WARNING, "the index refused a batch of %zu events for its content without saying which; "
		"trying them one by one", b->n);
	for (size_t i = 0; i < b->n + b->nseals; i++) {
		bool seal = i >= b->n;
		size_t k = seal ? i - b->n : i;
		if (!seal && ix->items[k].verdict == HVT_VERDICT_QUARANTINED)
			continue;
		struct hvt_index_batch one = {
			.items = seal ? NULL : &ix->items[k], .n = seal ? 0 : 1,
			.seals = seal ? &ix->seals[k] : NULL, .nseals = seal ? 1 : 0,
			.inbox_seq = ix->cnt.position,       /* not past what is stored */
		};
		if (ix->ops->store(ix->idx, &one) == 0) {
			f->probe_inserted += one.inserted;
			continue;
		}
		if (one.refusal == HVT_REFUSED_NONE)
			return FLUSH_FAILED;
		found = true;
		if (seal) {
			drop_seal(ix, f, k, one.refused_why);
			i--;
		} else {
			set_aside(ix, f, k, one.refused_why);
			if (k < b->n && ix->items[k].verdict != HVT_VERDICT_QUARANTINED)
				i--;          /* dropped: the next item moved into k */
		}
	}
	if (!found)
		hvt_log_ratelimited(&ix->rl, LOG_ERR, "the index refuses a batch of %zu events for its content "
				    "but each of them alone; retrying", b->n);
	return found ? FLUSH_OK : FLUSH_FAILED;
}

static enum flush_outcome isolate(struct indexer *ix, struct flush *f)
{
	struct hvt_index_batch *b = &f->b;
	char why[sizeof b->refused_why];

	hvt_strlcpy(why, b->refused_why[0] ? b->refused_why : "no reason given", sizeof why);
	/* one STORE per refused item is fine for a poison pill; a batch full
	 * of them is searched in one pass instead */
	if (b->refusal == HVT_REFUSED_ITEM && b->refused < b->n &&
	    ix->items[b->refused].verdict == HVT_VERDICT_QUARANTINED) {
		set_aside(ix, f, b->refused, why);    /* not even the quarantine takes it */
		return FLUSH_OK;
	}
	if (f->isolated >= ISOLATE_ONE_BY_ONE)
		return probe(ix, f);
	switch (b->refusal) {
	case HVT_REFUSED_ITEM:
		if (b->refused < b->n) {
			set_aside(ix, f, b->refused, why);
			return FLUSH_OK;
		}
		break;
	case HVT_REFUSED_SEAL:
		if (b->refused < b->nseals) {
			drop_seal(ix, f, b->refused, why);
			return FLUSH_OK;
		}
		break;
	case HVT_REFUSED_CONTENT:
		return probe(ix, f);
	case HVT_REFUSED_NONE:
		break;
	}
	return probe(ix, f);          /* it named nothing it holds: find it */
}

/* HOST_STATS: forwarders' reports are state, not trail: kept outside the
 * batch's transaction, best effort. */
static enum flush_outcome host_stats(struct indexer *ix, struct flush *f)
{
	for (int i = 0; i < ix->n; i++) {
		struct col_record *r = &ix->recs[i];
		if (r->kind == COL_REC_HOST_STATS && ix->ops->put_host_stats) {
			ix->ops->put_host_stats(ix->idx, r->ev.host, r->raw, r->rx_us);
			f->nstats++;
		}
	}
	return FLUSH_OK;
}

/* HOOK: decisions about what was stored (alerts.h), before the inbox may
 * forget it. */
static enum flush_outcome hook(struct indexer *ix, struct flush *f)
{
	(void)f;
	if (ix->hook && ix->hook(ix->hook_arg, ix->recs, ix->n, ix->last_seq) != 0)
		return FLUSH_FAILED;
	return FLUSH_OK;
}

/* ACK: the batch is stored and decided about; the inbox may drop it. */
static enum flush_outcome ack(struct indexer *ix, struct flush *f)
{
	hvt_spool_ack(ix->inbox, ix->last_seq, false);
	pthread_mutex_lock(&ix->lock);
	ix->cnt.batches++;
	/* what ISOLATE's tries stored, this STORE found as duplicates */
	size_t probed = HVT_MIN(f->probe_inserted, f->b.duplicates);
	ix->cnt.indexed += f->b.inserted + probed;
	ix->cnt.duplicates += f->b.duplicates - probed;
	ix->cnt.host_stats += (uint64_t)f->nstats;
	ix->cnt.position = ix->last_seq;
	pthread_mutex_unlock(&ix->lock);
	clear_batch(ix);
	return FLUSH_OK;
}

enum flush_state flush_next(enum flush_state s, enum flush_outcome o, bool quitting)
{
	switch (s) {
	case FLUSH_PREPARE:
		return FLUSH_STORE;
	case FLUSH_STORE:
		if (o == FLUSH_OK)
			return FLUSH_HOST_STATS;
		if (o == FLUSH_REFUSED)
			return FLUSH_ISOLATE;     /* never waits: the content will not change */
		return quitting ? FLUSH_ABANDON : FLUSH_BACKOFF;
	case FLUSH_ISOLATE:
		if (o == FLUSH_OK)
			return FLUSH_STORE;
		return quitting ? FLUSH_ABANDON : FLUSH_BACKOFF;
	case FLUSH_BACKOFF:
		return FLUSH_STORE;
	case FLUSH_HOST_STATS:
		return FLUSH_HOOK;
	case FLUSH_HOOK:
		return o == FLUSH_OK ? FLUSH_ACK : FLUSH_ABANDON;
	case FLUSH_ACK:
		return FLUSH_DONE;
	case FLUSH_DONE:
	case FLUSH_ABANDON:
		break;
	}
	return s;
}

const char *flush_state_name(enum flush_state s)
{
	static const char *const names[] = {
		[FLUSH_PREPARE] = "prepare", [FLUSH_STORE] = "store", [FLUSH_BACKOFF] = "backoff",
		[FLUSH_ISOLATE] = "isolate", [FLUSH_HOST_STATS] = "host_stats", [FLUSH_HOOK] = "hook", [FLUSH_ACK] = "ack",
		[FLUSH_DONE] = "done", [FLUSH_ABANDON] = "abandon",
	};
	return (unsigned)s < HVT_ARRAY_SIZE(names) ? names[s] : "?";
}

/* Store the batch; retry until it works or we must quit.  -1: stop
 * without acknowledging (the batch is indexed again at the next start). */
static int flush(struct indexer *ix)
{
	static enum flush_outcome (*const step[])(struct indexer *, struct flush *) = {
		[FLUSH_PREPARE] = prepare, [FLUSH_STORE] = store, [FLUSH_BACKOFF] = backoff,
		[FLUSH_ISOLATE] = isolate, [FLUSH_HOST_STATS] = host_stats, [FLUSH_HOOK] = hook, [FLUSH_ACK] = ack,
	};
	struct flush f = {
		.state = FLUSH_PREPARE,
		.b = { .items = ix->items, .inbox_seq = ix->last_seq },
		.backoff_ms = BACKOFF_MIN_MS,
	};

	while (f.state != FLUSH_DONE && f.state != FLUSH_ABANDON) {
		enum flush_outcome o = step[f.state](ix, &f);
		f.state = flush_next(f.state, o, should_quit(ix));
	}
	return f.state == FLUSH_DONE ? 0 : -1;
}

/* Take one inbox record into the batch; false if it is unreadable. */
static bool take(struct indexer *ix, const struct hvt_spool_rec *rec)
{
	char *copy = hvt_malloc(rec->len);

	memcpy(copy, rec->data, rec->len);
	if (col_record_unpack(copy, rec->len, &ix->recs[ix->n]) < 0) {
		hvt_log(LOG_ERR, "inbox record %" PRIu64 " is malformed; skipping it", rec->seq);
		free(copy);
		return false;
	}
	ix->copies[ix->n++] = copy;
	return true;
}

static void *run(void *arg)
{
	pthread_setname_np(pthread_self(), "hvt-indexer");   /* top -H, perf */
	struct indexer *ix = arg;
	long long batch_started = 0;

	for (;;) {
		struct hvt_spool_rec rec;
		int rc = hvt_spool_reader_next(ix->reader, &rec);
		if (rc < 0) {
			hvt_log_ratelimited(&ix->rl, LOG_ERR, "cannot read the inbox: %s", strerror(-rc));
			usleep(100000);
			continue;
		}
		if (rc == 1) {
			if (rec.skipped)
				hvt_log(LOG_ERR, "%" PRIu64 " inbox records before %" PRIu64 " were unreadable",
					rec.skipped, rec.seq);
			if (!ix->n)
				batch_started = hvt_mono_us();
			if (!ix->cnt.behind_since_us) {
				pthread_mutex_lock(&ix->lock);
				ix->cnt.behind_since_us = batch_started;
				pthread_mutex_unlock(&ix->lock);
			}
			take(ix, &rec);
			ix->last_seq = rec.seq;
			if (ix->n >= ix->batch_size && flush(ix) < 0)
				break;
			continue;
		}
		/* the inbox is drained for now */
		long long waited_ms = ix->n ? (hvt_mono_us() - batch_started) / 1000 : 0;
		if (ix->n && (waited_ms >= ix->batch_delay_ms || atomic_load(&ix->stop))) {
			if (flush(ix) < 0)
				break;
			continue;
		}
		if (!ix->n && ix->cnt.behind_since_us) {     /* caught up */
			pthread_mutex_lock(&ix->lock);
			ix->cnt.behind_since_us = 0;
			pthread_mutex_unlock(&ix->lock);
		}
		if (atomic_load(&ix->stop) && (!ix->n || should_quit(ix)))
			break;
		long long wait_ms = ix->n ? ix->batch_delay_ms - waited_ms : 200;
		hvt_spool_wait(ix->inbox, ix->last_seq, (int)HVT_MAX(1, wait_ms));
	}
	if (ix->n)
		hvt_log(LOG_WARNING, "stopping with %d received events not yet indexed; they stay in the inbox "
			"and are indexed at the next start", ix->n);
	clear_batch(ix);
	hvt_spool_ack(ix->inbox, hvt_spool_acked(ix->inbox), true);
	return NULL;
}

void indexer_set_hook(struct indexer *ix, indexer_hook fn, void *arg)
{
	ix->hook = fn;
	ix->hook_arg = arg;
}

int indexer_start(struct indexer *ix)
{
	uint64_t pos = 0;

	if (ix->ops->inbox_position(ix->idx, &pos) < 0) {
		hvt_log(LOG_ERR, "cannot read the inbox position from the index");
		return -1;
	}
	uint64_t last = hvt_spool_last_seq(ix->inbox);
	if (pos > last) {
		/* the index is ahead of the inbox: the inbox was recreated */
		hvt_log(LOG_WARNING, "the index has inbox position %" PRIu64 " but the inbox ends at %" PRIu64
			"; reading the inbox from its start", pos, last);
		pos = hvt_spool_acked(ix->inbox);
	}
	hvt_spool_ack(ix->inbox, pos, true);
	ix->last_seq = pos;
	ix->cnt.position = pos;
	ix->reader = hvt_spool_reader_new(ix->inbox, pos + 1);
	if (last > pos)
		hvt_log(LOG_INFO, "indexing %" PRIu64 " received events left in the inbox", last - pos);
	if (pthread_create(&ix->thread, NULL, run, ix) != 0)
		return -1;
	ix->running = true;
	return 0;
}

void indexer_stop(struct indexer *ix, long long drain_ms)
{
	if (!ix->running)
		return;
	ix->drain_deadline_us = hvt_mono_us() + drain_ms * 1000;
	atomic_store(&ix->stop, true);
	hvt_spool_wake(ix->inbox);
	pthread_join(ix->thread, NULL);
	ix->running = false;
	/* resends are normal after reconnects; how many is worth knowing */
	hvt_log(LOG_INFO, "indexer: %" PRIu64 " events stored since start, %" PRIu64 " resends dropped as "
		"duplicates", ix->cnt.indexed, ix->cnt.duplicates);
}

void indexer_free(struct indexer *ix)
{
	if (!ix)
		return;
	indexer_stop(ix, 0);
	hvt_spool_reader_free(ix->reader);
	free(ix->copies);
	free(ix->recs);
	free(ix->items);
	free(ix->links);
	free(ix->notes);
	free(ix->item_rec);
	free(ix->refusals);
	free(ix->seals);
	free(ix->seal_parsed);
	correlator_free(ix->corr);
	chain_free(ix->chain);
	pthread_mutex_destroy(&ix->lock);
	free(ix);
}

void indexer_counters(struct indexer *ix, struct indexer_counters *out)
{
	pthread_mutex_lock(&ix->lock);
	*out = ix->cnt;
	pthread_mutex_unlock(&ix->lock);
}
