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
			      flush_state_name(t[i].from), t[i].o == FLUSH_OK ? "ok" : "failed",
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
} fx;

static int fx_store(struct hvt_instance *inst, struct hvt_index_batch *b)
{
	(void)inst;
	fx.calls++;
	if (fx.refuse > 0) {
		fx.refuse--;
		return -1;
	}
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
