/* store.c - storing batches, and the inbox position per collector.
 *
 * ClickHouse has no transactions, so "exactly once" is built from two rules:
 *  1. store() inserts the rows and only then the inbox position; it returns
 *     0 only when both inserts were acknowledged.  Every inbox record up to
 *     a stored position is therefore in ClickHouse, and the collector (which
 *     trims its inbox only after store() returned 0) still has every record
 *     after it.  A crash or a failed request between the two inserts means
 *     the batch is inserted again: a second copy of the same events.
 *  2. Copies are harmless: every read collapses rows with the same (day,
 *     host, stream, seq) with FINAL, keeping the copy stored first (schema.c).
 *     Copies from a forwarder that resent to another collector land on the
 *     same shard, because the sharding key is a function of the identity.
 * So the batch needs no dedup before it is sent (no read per batch), and
 * duplicates are counted at read time, not here: inserted = rows sent.
 *
 * cursor = (time of this attempt in ms << CH_ROW_BITS) | row: increasing in
 * the order a collector stores events (the follow position, and the tie
 * breaker of the query order, like SQLite's rowid).
 *
 * Flush by size or time: ClickHouse writes one part per INSERT, and many
 * small parts are slow to insert and to merge (100-row inserts: ~50k rows/s
 * against ~400k/s in 10k-row ones).  A batch smaller than flush_rows is
 * therefore sent only when flush_interval has passed since the previous
 * insert; what arrives meanwhile waits in the inbox (durable) and makes the
 * next batch bigger.  Nothing is acknowledged to the indexer before it is
 * in ClickHouse. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ch.h"
#include "fault.h"
#include "log.h"
#include "trail.h"
#include "util.h"

int ch_insert(struct ch *x, const char *table, const char *rows, size_t len, char *err,
	      size_t errsize)
{
	char *sql = hvt_asprintf("INSERT INTO %s.%s FORMAT JSONEachRow", x->o.database, table);
	/* Distributed: return only once every shard has its rows, not when
	 * they are queued on the node we talk to (which may die with them). */
	struct ch_req r = { .sql = sql, .data = rows, .data_len = len, .url = -1,
			    .params = *x->o.cluster ? "&insert_distributed_sync=1" : NULL, .quiet = !!err };
	int rc = ch_http(x, &r);

	if (rc < 0 && err)
		snprintf(err, errsize, "%s", r.err);
	free(sql);
	return rc;
}

int ch_insert_fed(struct ch *x, const char *table, bool (*produce)(void *arg, struct hvt_buf *buf),
		  void (*rewind)(void *arg), void *arg, char *err, size_t errsize)
{
	char *sql = hvt_asprintf("INSERT INTO %s.%s FORMAT JSONEachRow", x->o.database, table);
	struct ch_req r = { .sql = sql, .produce = produce, .rewind = rewind, .produce_arg = arg,
			    .url = -1,
			    .params = *x->o.cluster ? "&insert_distributed_sync=1" : NULL, .quiet = !!err };
	int rc = ch_http(x, &r);

	if (rc < 0 && err)
		snprintf(err, errsize, "%s", r.err);
	free(sql);
	return rc;
}

uint64_t ch_next_version(struct ch *x)
{
	uint64_t now = (uint64_t)hvt_now_us(), v;

	ch_lock(x);
	v = x->last_written_us = HVT_MAX(now, x->last_written_us + 1);
	ch_unlock(x);
	return v;
}

/* The ms part of this attempt's cursors: the wall clock, but never less
 * than the previous batch's (a clock step back must not reorder). */
static uint64_t next_stamp_ms(struct ch *x)
{
	uint64_t now = (uint64_t)hvt_now_us() / 1000, ms;

	ch_lock(x);
	ms = x->last_ms = HVT_MAX(now, x->last_ms + 1);
	ch_unlock(x);
	return ms;
}

/* Refuse an item the table cannot hold exactly once, naming it (the
 * collector quarantines it and stores the rest). */
static int refuse_item(struct ch *x, struct hvt_index_batch *b, size_t i, const char *why)
{
	const struct hvt_stored *it = &b->items[i];

	b->refusal = HVT_REFUSED_ITEM;
	b->refused = i;
	snprintf(b->refused_why, sizeof b->refused_why, "%s", why);
	hvt_log(LOG_ERR, "idx_clickhouse [%s]: refusing an event from %s: it cannot be stored exactly once "
		"because %s", x->name, it->ev && it->ev->host ? it->ev->host : "(no host)", why);
	return -1;
}

static int check_batch(struct ch *x, struct hvt_index_batch *b)
{
	char why[200];

	if (b->n + b->nseals >= (size_t)1 << CH_ROW_BITS) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: a batch of %zu events and seals is more than %d; lower "
			"[collector] batch_size", x->name, b->n + b->nseals, 1 << CH_ROW_BITS);
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct hvt_stored *it = &b->items[i];
		if (it->verdict == HVT_VERDICT_QUARANTINED)
			continue;           /* kept aside as it is, identity or not */
		if (!it->ev || !it->raw)
			return refuse_item(x, b, i, "store() was given an item without event or raw text");
		/* the collector deduplicates on (host, id), the table on (host,
		 * stream, seq): refuse what would make them differ (trail.h) */
		if (!hvt_event_identity_check(it->ev, why, sizeof why))
			return refuse_item(x, b, i, why);
		if (hvt_fault_refuse(it->raw, it->raw_len))
			return refuse_item(x, b, i, "HVTRAIL_FAULT_REFUSE matches it (a test)");
	}
	return 0;
}

/* Row building runs for every event (10k per batch): plain appends, no
 * printf (half the plugin's CPU went to vsnprintf when it did). */
static void put_key(struct hvt_buf *b, const char *key)
{
	hvt_buf_append_str(b, key);       /* ",\"name\":" */
}

static void put_str(struct hvt_buf *b, const char *key, const char *v)
{
	put_key(b, key);
	ch_json_str(b, v ? v : "", v ? strlen(v) : 0);
}

static void put_u64(struct hvt_buf *b, const char *key, uint64_t v)
{
	char num[24], *p = num + sizeof num;

	put_key(b, key);
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	hvt_buf_append(b, p, (size_t)(num + sizeof num - p));
}

static void put_i64(struct hvt_buf *b, const char *key, long long v)
{
	if (v >= 0) {
		put_u64(b, key, (uint64_t)v);
	} else {
		put_key(b, key);
		hvt_buf_printf(b, "%lld", v);
	}
}

static void put_row(struct hvt_buf *b, const struct hvt_stored *it, const char *collector_json,
		    uint64_t cursor)
{
	const struct hvt_event *ev = it->ev;

	hvt_buf_append_str(b, "{\"host\":");
	ch_json_str(b, ev->host, strlen(ev->host));
	put_str(b, ",\"stream\":", ev->stream);
	put_u64(b, ",\"seq\":", ev->seq);
	put_i64(b, ",\"ts_us\":", ev->ts_us);
	put_str(b, ",\"type\":", ev->type);
	put_u64(b, ",\"severity\":", (uint64_t)(ev->severity & 0xff));
	put_str(b, ",\"vm_name\":", ev->vm_name);
	put_str(b, ",\"vm_uuid\":", ev->vm_uuid);
	put_str(b, ",\"source\":", ev->source);
	put_i64(b, ",\"indexed_us\":", it->indexed_us);
	put_u64(b, ",\"verdict\":", (uint64_t)(it->verdict & 0xff));
	put_str(b, ",\"verdict_note\":", it->verdict_note);
	put_str(b, ",\"peer\":", it->peer);
	put_str(b, ",\"link\":", it->link);
	put_key(b, ",\"collector\":");
	hvt_buf_append_str(b, collector_json);
	put_u64(b, ",\"cursor\":", cursor);
	put_key(b, ",\"raw\":");
	ch_json_str(b, it->raw, it->raw_len);
	hvt_buf_append(b, "}\n", 2);
}

/* The events of a batch as JSONEachRow, made in chunks while they are sent
 * (ch_insert_fed); every attempt starts again from the first row. */
#define FEED_CHUNK (256u << 10)

struct rows_feed {
	const struct hvt_index_batch *b;
	const char *collector_json;
	uint64_t base;
	size_t i;
};

static void feed_rewind(void *arg)
{
	((struct rows_feed *)arg)->i = 0;
}

static bool feed_rows(void *arg, struct hvt_buf *out)
{
	struct rows_feed *f = arg;

	for (; f->i < f->b->n && out->len < FEED_CHUNK; f->i++)
		if (f->b->items[f->i].verdict != HVT_VERDICT_QUARANTINED)
			put_row(out, &f->b->items[f->i], f->collector_json, f->base | f->i);
	return f->i < f->b->n;
}

/* Wait until a small batch may go (see the top of this file).  Gives up
 * waiting when the collector stops, so its drain is not held up. */
static void pace(struct ch *x, const struct hvt_instance *inst, size_t n)
{
	long long due = x->last_insert_mono_us + x->o.flush_interval_ms * 1000;

	if ((long long)n >= x->o.flush_rows || !x->last_insert_mono_us)
		return;
	for (long long now = hvt_mono_us(); now < due && !hvt_host_stopping(inst->host); now = hvt_mono_us())
		usleep((useconds_t)HVT_MIN(due - now, 50000));
}

static int put_position(struct ch *x, uint64_t inbox_seq, char *err, size_t errsize)
{
	struct hvt_buf b = { 0 };
	int rc;

	hvt_buf_append_str(&b, "{\"collector\":");
	ch_json_str(&b, x->o.collector_id, strlen(x->o.collector_id));
	put_str(&b, ",\"state_dir\":", x->state_dir);
	hvt_buf_printf(&b, ",\"inbox_seq\":%" PRIu64 ",\"written_us\":%" PRIu64 "}\n", inbox_seq,
		       ch_next_version(x));
	rc = ch_insert(x, "positions", b.data, b.len, err, errsize);
	hvt_buf_free(&b);
	return rc;
}

/* Events, then the quarantined ones and the seals of the batch, each one
 * INSERT; the position last (see the top of this file). */
static int store_locked(struct ch *x, const struct hvt_instance *inst, struct hvt_index_batch *b,
			char *err, size_t errsize)
{
	struct hvt_buf cid = { 0 }, aside = { 0 };
	struct rows_feed feed;
	size_t nev = 0, nq = 0;
	uint64_t base;
	int rc = -1;

	if (check_batch(x, b) < 0)
		return -1;
	pace(x, inst, b->n + b->nseals);
	/* Stamped per attempt, so a retry after an outage gets fresh cursors
	 * and a follower (query -f) sees it as new. */
	base = next_stamp_ms(x) << CH_ROW_BITS;
	ch_json_str(&cid, x->o.collector_id, strlen(x->o.collector_id));
	for (size_t i = 0; i < b->n; i++) {
		const struct hvt_stored *it = &b->items[i];
		if (it->verdict == HVT_VERDICT_QUARANTINED) {
			ch_put_quarantine(&aside, it, hvt_buf_cstr(&cid), base | i);
			nq++;
		} else {
			nev++;
		}
	}
	feed = (struct rows_feed){ b, hvt_buf_cstr(&cid), base, 0 };
	if (nev && ch_insert_fed(x, "events", feed_rows, feed_rewind, &feed, err, errsize) < 0)
		goto out;
	x->last_insert_mono_us = hvt_mono_us();
	if (nq && ch_insert(x, "quarantine", aside.data, aside.len, err, errsize) < 0)
		goto out;
	hvt_buf_reset(&aside);
	for (size_t j = 0; j < b->nseals; j++)
		ch_put_seal(&aside, &b->seals[j], hvt_buf_cstr(&cid), base | (b->n + j));
	if (b->nseals && ch_insert(x, "seals", aside.data, aside.len, err, errsize) < 0)
		goto out;
	if (nev)
		hvt_fault_point("idx_clickhouse.rows_stored");   /* tests/clickhouse-crash.test */
	/* Only now: a position never runs ahead of the rows it covers. */
	if (put_position(x, b->inbox_seq, err, errsize) < 0)
		goto out;
	b->inserted = nev;
	b->duplicates = 0;
	rc = 0;
out:
	hvt_buf_free(&cid);
	hvt_buf_free(&aside);
	return rc;
}

int ch_store(struct hvt_instance *inst, struct hvt_index_batch *b)
{
	struct ch *x = inst->priv;
	char err[512] = "";
	int rc;

	b->inserted = b->duplicates = 0;
	b->refusal = HVT_REFUSED_NONE;
	b->refused_why[0] = '\0';
	if (x->readonly)
		return ch_refuse_readonly(x, "store()");
	pthread_mutex_lock(&x->store_lock);
	rc = store_locked(x, inst, b, err, sizeof err);
	pthread_mutex_unlock(&x->store_lock);
	if (rc < 0 && *err)     /* (a refused batch was logged with its reason already) */
		hvt_log_ratelimited(&x->rl_store, LOG_ERR, "idx_clickhouse [%s]: batch of %zu events (inbox "
				    "position %" PRIu64 ") not stored: %s; the collector keeps it and retries",
				    x->name, b->n, b->inbox_seq, err);
	else if (rc == 0)
		ch_stats_flush(x, false);
	return rc;
}

static void position_where(struct ch *x, struct hvt_buf *q)
{
	hvt_buf_append_str(q, " WHERE collector = ");
	ch_quote_str(q, x->o.collector_id);
	hvt_buf_append_str(q, " AND state_dir = ");
	ch_quote_str(q, x->state_dir);
}

/* The newest row for this collector counts (an inbox that was recreated
 * starts again from 1, so the position may go down). */
int ch_inbox_position(struct hvt_instance *inst, uint64_t *seq)
{
	struct ch *x = inst->priv;
	struct hvt_buf q = { 0 }, out = { 0 };
	int rc;

	*seq = 0;
	hvt_buf_append_str(&q, "SELECT inbox_seq FROM ");
	ch_table(&q, x, "positions");
	position_where(x, &q);
	hvt_buf_append_str(&q, " ORDER BY written_us DESC LIMIT 1");
	rc = ch_scalar(x, hvt_buf_cstr(&q), &out);
	if (rc == 0 && out.len)
		*seq = strtoull(hvt_buf_cstr(&out), NULL, 10);
	hvt_buf_free(&q);
	hvt_buf_free(&out);
	return rc;
}

/* Continue the version clock of this collector's position rows, so a
 * restart with the wall clock behind never makes an older row the newest. */
int ch_store_init(struct ch *x)
{
	struct hvt_buf q = { 0 }, out = { 0 };
	int rc;

	hvt_buf_append_str(&q, "SELECT max(written_us) FROM ");
	ch_table(&q, x, "positions");
	position_where(x, &q);
	rc = ch_scalar(x, hvt_buf_cstr(&q), &out);
	if (rc == 0)
		x->last_written_us = strtoull(hvt_buf_cstr(&out), NULL, 10);
	hvt_buf_free(&q);
	hvt_buf_free(&out);
	return rc;
}
