/* test_indexer.c - the indexer's batch steps (indexer.h: enum flush_state)
 * and the inbox record that carries a seal's validity.
 *
 * The transitions are checked as a table; then the real indexer thread runs
 * against a real inbox (lib/spool) and an index plugin made here whose
 * store() refuses on demand, to prove each step does its part: refused
 * batches are retried and stay in the inbox, seals arrive with the validity
 * the receiver gave them (never read from the words of their note), stats
 * reports go outside the batch, a refusing hook leaves the batch
 * unacknowledged. */
#include "config.h"

#define _GNU_SOURCE 1
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "indexer.h"
#include "log.h"
#include "record.h"
#include "seal.h"
#include "spool.h"
#include "trail.h"
#include "util.h"

/* ---- transitions ------------------------------------------------------------ */

START_TEST(transitions)
{
	static const struct {
		enum flush_state from;
		enum flush_outcome o;
		bool quitting;
		enum flush_state to;
	} t[] = {
		{ FLUSH_PREPARE, FLUSH_OK, false, FLUSH_STORE },
		{ FLUSH_STORE, FLUSH_OK, false, FLUSH_HOST_STATS },
		{ FLUSH_STORE, FLUSH_OK, true, FLUSH_HOST_STATS },      /* stored: finish the batch */
		{ FLUSH_STORE, FLUSH_FAILED, false, FLUSH_BACKOFF },
		{ FLUSH_STORE, FLUSH_FAILED, true, FLUSH_ABANDON },     /* past the drain deadline */
		{ FLUSH_STORE, FLUSH_REFUSED, false, FLUSH_ISOLATE },   /* the content: set it aside */
		{ FLUSH_STORE, FLUSH_REFUSED, true, FLUSH_ISOLATE },    /* never waits, even when stopping */
		{ FLUSH_ISOLATE, FLUSH_OK, false, FLUSH_STORE },
		{ FLUSH_ISOLATE, FLUSH_FAILED, false, FLUSH_BACKOFF },  /* the index failed while searching */
		{ FLUSH_ISOLATE, FLUSH_FAILED, true, FLUSH_ABANDON },
		{ FLUSH_BACKOFF, FLUSH_OK, false, FLUSH_STORE },
		{ FLUSH_BACKOFF, FLUSH_OK, true, FLUSH_STORE },         /* one more try after the wait */
		{ FLUSH_HOST_STATS, FLUSH_OK, false, FLUSH_HOOK },
		{ FLUSH_HOOK, FLUSH_OK, false, FLUSH_ACK },
		{ FLUSH_HOOK, FLUSH_FAILED, false, FLUSH_ABANDON },     /* never ack undecided events */
		{ FLUSH_ACK, FLUSH_OK, false, FLUSH_DONE },
		{ FLUSH_DONE, FLUSH_OK, false, FLUSH_DONE },
		{ FLUSH_ABANDON, FLUSH_OK, false, FLUSH_ABANDON },
	};

	for (size_t i = 0; i < HVT_ARRAY_SIZE(t); i++)
		ck_assert_msg(flush_next(t[i].from, t[i].o, t[i].quitting) == t[i].to, "%s %s%s -> %s, not %s",
			      flush_state_name(t[i].from), t[i].o == FLUSH_OK ? "ok" : t[i].o == FLUSH_REFUSED ? "refused" : "failed",
			      t[i].quitting ? " quitting" : "",
			      flush_state_name(flush_next(t[i].from, t[i].o, t[i].quitting)),
			      flush_state_name(t[i].to));
}
END_TEST

/* ---- records ---------------------------------------------------------------- */

static void pack_seal(struct hvt_buf *out, unsigned flags, const char *note, char **json)
{
	struct hvt_seal s = { .seq = 1, .time_us = 1795350000000000LL };
	struct hvt_event ev = { .host = (char *)"hv1", .type = (char *)"hvtrail.seal" };

	hvt_strlcpy(s.host, "hv1", sizeof s.host);
	hvt_strlcpy(s.stream, "0123456789abcdef", sizeof s.stream);
	memset(s.hash, 'a', HVT_SHA256_HEX - 1);
	s.cert_pem = (char *)"CERT";
	s.sig_b64 = (char *)"SIG";
	*json = hvt_seal_to_json(&s);
	col_record_pack(out, COL_REC_SEAL, flags, &ev, "peer", 1, *json, strlen(*json), note);
}

START_TEST(seal_validity_travels_as_a_flag)
{
	struct hvt_buf b = { 0 };
	struct col_record r;
	char *json;

	/* the note says "valid" but the flag does not: the flag wins */
	pack_seal(&b, 0, "valid: looks so, but was not", &json);
	ck_assert_int_eq(col_record_unpack(b.data, b.len, &r), 0);
	ck_assert_uint_eq(r.flags & COL_REC_SEAL_VALID, 0);
	hvt_buf_reset(&b);
	free(json);
	pack_seal(&b, COL_REC_SEAL_VALID, "signed by CN=hv1", &json);
	ck_assert_int_eq(col_record_unpack(b.data, b.len, &r), 0);
	ck_assert_uint_eq(r.flags, COL_REC_SEAL_VALID);
	ck_assert_str_eq(r.note, "signed by CN=hv1");
	hvt_buf_free(&b);
	free(json);
}
END_TEST

/* An inbox written before records had flags (format 1): its seals are
 * read as that version meant them. */
START_TEST(format1_records_still_read)
{
	struct hvt_buf b = { 0 };
	struct col_record r;
	char *json;

	pack_seal(&b, 0, "valid: signed by CN=hv1 (SHA-256 ab)", &json);
	b.data[0] = 1;          /* format 1: no flags byte */
	ck_assert_int_eq(col_record_unpack(b.data, b.len, &r), 0);
	ck_assert_uint_eq(r.flags, COL_REC_SEAL_VALID);
	hvt_buf_reset(&b);
	free(json);
	pack_seal(&b, 0, "invalid: the signature does not verify", &json);
	b.data[0] = 1;
	ck_assert_int_eq(col_record_unpack(b.data, b.len, &r), 0);
	ck_assert_uint_eq(r.flags, 0);
	b.data[0] = 3;          /* an unknown format is refused */
	ck_assert_int_eq(col_record_unpack(b.data, b.len, &r), -1);
	hvt_buf_free(&b);
	free(json);
}
END_TEST

/* ---- the indexer thread against a programmable index -------------------------- */

static struct {
	int refuse;                   /* store() calls still to refuse */
	int calls;                    /* store() calls */
	size_t items, seals, host_stats;
	bool seal_valid[8];
	uint64_t position;
	int hook_result, hooks;
	/* content refusals (#15 quarantine) */
	uint64_t poison_seq;          /* refuse the event with this seq (0: none) */
	enum hvt_refusal poison_how;  /* name it (ITEM) or not (CONTENT) */
	bool poison_even_aside;       /* refuse it as a quarantined item too */
	bool poison_seal;             /* refuse the first (valid) seal, named */
	size_t quarantined;
	uint64_t last_indexer_refused, last_indexer_lost;
} fx;

/* The fixture's content check: -1 with the refusal filled in. */
static int fx_refuse_content(struct hvt_index_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct hvt_stored *it = &b->items[i];
		bool aside = it->verdict == HVT_VERDICT_QUARANTINED;
		if (!fx.poison_seq || it->ev->seq != fx.poison_seq || (aside && !fx.poison_even_aside))
			continue;
		b->refusal = aside ? HVT_REFUSED_ITEM : fx.poison_how;
		b->refused = i;
		snprintf(b->refused_why, sizeof b->refused_why, "seq %" PRIu64 " is poison", it->ev->seq);
		return -1;
	}
	for (size_t i = 0; fx.poison_seal && i < b->nseals; i++) {
		if (!b->seals[i].valid)
			continue;
		b->refusal = HVT_REFUSED_SEAL;
		b->refused = i;
		snprintf(b->refused_why, sizeof b->refused_why, "a poison seal");
		return -1;
	}
	return 0;
}

static int fx_store(struct hvt_instance *inst, struct hvt_index_batch *b)
{
	(void)inst;
	fx.calls++;
	b->refusal = HVT_REFUSED_NONE;
	if (fx.refuse > 0) {
		fx.refuse--;
		return -1;
	}
	if (fx_refuse_content(b) < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].verdict == HVT_VERDICT_QUARANTINED)
			fx.quarantined++;
	fx.items += b->n;
	for (size_t i = 0; i < b->nseals && fx.seals < HVT_ARRAY_SIZE(fx.seal_valid); i++)
		fx.seal_valid[fx.seals++] = b->seals[i].valid;
	fx.position = b->inbox_seq;
	b->inserted = b->n;
	return 0;
}

static int fx_position(struct hvt_instance *inst, uint64_t *seq)
{
	(void)inst;
	*seq = fx.position;
	return 0;
}

static int fx_query(struct hvt_instance *inst, const struct hvt_query *q, hvt_row_cb cb, void *arg)
{
	(void)inst, (void)q, (void)cb, (void)arg;
	return 0;
}

static int fx_put_host_stats(struct hvt_instance *inst, const char *host, const char *json, long long at)
{
	(void)inst, (void)host, (void)json, (void)at;
	fx.host_stats++;
	return 0;
}

static int fx_hook(void *arg, const struct col_record *recs, int n, uint64_t seq)
{
	(void)arg, (void)recs, (void)n, (void)seq;
	fx.hooks++;
	return fx.hook_result;
}

static const struct hvt_index_ops fx_ops = {
	.store = fx_store, .inbox_position = fx_position, .query = fx_query,
	.put_host_stats = fx_put_host_stats,
};
static const struct hvt_plugin fx_plugin = {
	.abi = HVT_PLUGIN_ABI, .name = "idx_fixture", .kind = HVT_PLUGIN_INDEX, .ops = &fx_ops,
};

static char *dir;
static struct hvt_spool *inbox;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

/* An inbox holding 3 events, a valid and an invalid seal, a stats report. */
static void fill_inbox(void)
{
	const char *tmp = getenv("TMPDIR");
	char err[256];
	struct hvt_buf rec = { 0 }, js = { 0 };
	char prev[HVT_SHA256_HEX] = "";

	if (asprintf(&dir, "%s/hvt-indexer-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 || !mkdtemp(dir))
		ck_abort_msg("mkdtemp");
	struct hvt_spool_opts o = { .dir = dir, .name = "inbox" };
	inbox = hvt_spool_open(&o, err, sizeof err);
	ck_assert_msg(inbox != NULL, "%s", err);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		struct hvt_event *ev = hvt_event_new("vm.started");
		hvt_event_set_str(&ev->host, "hv1");
		hvt_event_set_identity(ev, "0123456789abcdef", seq);
		hvt_event_set_str(&ev->prev, prev);
		hvt_event_set_str(&ev->source, "qmp");
		ev->ts_us = 1795350000000000LL + (long long)seq;
		hvt_buf_reset(&js);
		hvt_event_to_json(ev, &js);
		hvt_chain_hash(js.data, js.len, prev);
		hvt_buf_reset(&rec);
		col_record_pack(&rec, COL_REC_EVENT, 0, ev, "peer", 1, js.data, js.len, NULL);
		ck_assert_int_eq(hvt_spool_append(inbox, rec.data, rec.len, NULL), 0);
		hvt_event_free(ev);
	}
	for (int valid = 1; valid >= 0; valid--) {
		char *json;
		hvt_buf_reset(&rec);
		pack_seal(&rec, valid ? COL_REC_SEAL_VALID : 0, valid ? "signed by CN=hv1" : "valid: a lie", &json);
		ck_assert_int_eq(hvt_spool_append(inbox, rec.data, rec.len, NULL), 0);
		free(json);
	}
	struct hvt_event st = { .host = (char *)"hv1", .type = (char *)"hvtrail.stats" };
	hvt_buf_reset(&rec);
	col_record_pack(&rec, COL_REC_HOST_STATS, 0, &st, "peer", 1, "{}", 2, NULL);
	ck_assert_int_eq(hvt_spool_append(inbox, rec.data, rec.len, NULL), 0);
	ck_assert_int_eq(hvt_spool_commit(inbox), 0);
	hvt_buf_free(&rec);
	hvt_buf_free(&js);
}

static void drop_inbox(void)
{
	hvt_spool_close(inbox);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Run the indexer until cond() holds (bounded), then stop it. */
static void run_indexer(bool (*cond)(struct indexer *), long long drain_ms)
{
	struct hvt_instance idx = { .plugin = &fx_plugin, .name = "idx_fixture" };
	struct indexer *ix = indexer_new(&idx, inbox, 100, 10);
	long long until = hvt_mono_us() + 20 * 1000000LL;

	indexer_set_hook(ix, fx_hook, NULL);
	ck_assert_int_eq(indexer_start(ix), 0);
	while (!cond(ix) && hvt_mono_us() < until)
		usleep(10000);
	ck_assert_msg(cond(ix), "the indexer did not get there in 20 s");
	struct indexer_counters c;
	indexer_counters(ix, &c);
	fx.last_indexer_refused = c.refused;
	fx.last_indexer_lost = c.lost;
	indexer_stop(ix, drain_ms);
	indexer_free(ix);
}

static bool one_batch_stored(struct indexer *ix)
{
	struct indexer_counters c;

	indexer_counters(ix, &c);
	return c.batches >= 1;
}

START_TEST(refused_batches_are_retried_then_acknowledged)
{
	memset(&fx, 0, sizeof fx);
	fx.refuse = 2;
	fill_inbox();
	run_indexer(one_batch_stored, 1000);
	ck_assert_int_eq(fx.calls, 3);               /* two refusals, then stored */
	ck_assert_uint_eq(fx.items, 3);
	ck_assert_uint_eq(fx.seals, 2);
	ck_assert(fx.seal_valid[0]);                 /* as the receiver flagged it */
	ck_assert(!fx.seal_valid[1]);                /* whatever its note says */
	ck_assert_uint_eq(fx.host_stats, 1);
	ck_assert_int_eq(fx.hooks, 1);
	ck_assert_uint_eq(fx.position, 6);
	ck_assert_uint_eq(hvt_spool_acked(inbox), 6);
	drop_inbox();
}
END_TEST

static bool hook_ran(struct indexer *ix)
{
	(void)ix;
	return fx.hooks >= 1;
}

START_TEST(a_refusing_hook_leaves_the_batch_in_the_inbox)
{
	memset(&fx, 0, sizeof fx);
	fx.hook_result = -1;
	fill_inbox();
	run_indexer(hook_ran, 0);
	ck_assert_int_eq(fx.calls, 1);
	ck_assert_uint_eq(hvt_spool_acked(inbox), 0);   /* seen again at the next start */
	drop_inbox();
}
END_TEST

static bool store_refused_once(struct indexer *ix)
{
	(void)ix;
	return fx.calls >= 1;
}

START_TEST(a_stop_past_the_deadline_abandons_a_refused_batch)
{
	memset(&fx, 0, sizeof fx);
	fx.refuse = 1000000;
	fill_inbox();
	run_indexer(store_refused_once, 0);
	ck_assert_int_eq(fx.hooks, 0);
	ck_assert_uint_eq(hvt_spool_acked(inbox), 0);
	drop_inbox();
}
END_TEST

/* #15: nothing acknowledged may wedge the indexer.  The fixture refuses
 * the event with seq 2 for its content; the batch is stored without it,
 * it goes to the quarantine, and the inbox moves past all of it. */
static void poison_run(enum hvt_refusal how, bool even_aside)
{
	memset(&fx, 0, sizeof fx);
	fx.poison_seq = 2;
	fx.poison_how = how;
	fx.poison_even_aside = even_aside;
	fill_inbox();
	run_indexer(one_batch_stored, 1000);
	ck_assert_int_eq(fx.hooks, 1);
	ck_assert_uint_eq(fx.position, 6);
	ck_assert_uint_eq(hvt_spool_acked(inbox), 6);
	ck_assert_uint_eq(fx.host_stats, 1);
	drop_inbox();
}

START_TEST(a_refused_event_is_quarantined_and_the_rest_stored)
{
	poison_run(HVT_REFUSED_ITEM, false);
	ck_assert_int_eq(fx.calls, 2);               /* refused, then stored with it aside */
	ck_assert_uint_eq(fx.items, 3);
	ck_assert_uint_eq(fx.seals, 2);
	ck_assert_uint_eq(fx.quarantined, 1);
	ck_assert_uint_eq(fx.last_indexer_refused, 1);
	ck_assert_uint_eq(fx.last_indexer_lost, 0);
}
END_TEST

START_TEST(an_unnamed_refusal_is_found_by_trying_each_item)
{
	poison_run(HVT_REFUSED_CONTENT, false);
	/* the batch, 3 events and 2 seals alone, the batch again */
	ck_assert_int_eq(fx.calls, 7);
	ck_assert_uint_eq(fx.quarantined, 1);
	ck_assert_uint_eq(fx.last_indexer_refused, 1);
}
END_TEST

START_TEST(what_not_even_the_quarantine_takes_is_dropped_not_retried)
{
	poison_run(HVT_REFUSED_ITEM, true);
	ck_assert_int_eq(fx.calls, 3);               /* refused, refused aside, stored */
	ck_assert_uint_eq(fx.items, 2);
	ck_assert_uint_eq(fx.quarantined, 0);
	ck_assert_uint_eq(fx.last_indexer_lost, 1);
}
END_TEST

START_TEST(a_refused_seal_is_dropped_and_the_rest_stored)
{
	memset(&fx, 0, sizeof fx);
	fx.poison_seal = true;
	fill_inbox();
	run_indexer(one_batch_stored, 1000);
	ck_assert_int_eq(fx.calls, 2);
	ck_assert_uint_eq(fx.items, 3);
	ck_assert_uint_eq(fx.seals, 1);
	ck_assert(!fx.seal_valid[0]);                /* the invalid one is kept */
	ck_assert_uint_eq(hvt_spool_acked(inbox), 6);
	ck_assert_uint_eq(fx.last_indexer_lost, 1);
	drop_inbox();
}
END_TEST

static Suite *indexer_suite(void)
{
	Suite *s = suite_create("indexer");
	TCase *tc = tcase_create("steps");

	tcase_add_test(tc, transitions);
	tcase_add_test(tc, seal_validity_travels_as_a_flag);
	tcase_add_test(tc, format1_records_still_read);
	tcase_add_test(tc, refused_batches_are_retried_then_acknowledged);
	tcase_add_test(tc, a_refusing_hook_leaves_the_batch_in_the_inbox);
	tcase_add_test(tc, a_stop_past_the_deadline_abandons_a_refused_batch);
	tcase_add_test(tc, a_refused_event_is_quarantined_and_the_rest_stored);
	tcase_add_test(tc, an_unnamed_refusal_is_found_by_trying_each_item);
	tcase_add_test(tc, what_not_even_the_quarantine_takes_is_dropped_not_retried);
	tcase_add_test(tc, a_refused_seal_is_dropped_and_the_rest_stored);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(indexer_suite());
	int failed;

	hvt_log_init("test_indexer");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
