/* test_carry.c - the idempotency window (keywin.h) and the state the
 * forwarder carries in its spool (carry.h), against a real spool: keys and
 * positions come back after a restart from the state plus the records
 * after it, also when the state is older than the spool's end (a crash
 * between an append and the next save), and the window forgets in order. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carry.h"
#include "keywin.h"
#include "spool.h"
#include "util.h"
#include "../tests/unit/testutil.h"

static void digest_of(int i, uint8_t d[KEYWIN_DIGEST])
{
	char k[32];

	snprintf(k, sizeof k, "client:%d", i);
	carry_digest("in_local", k, d);
}

START_TEST(window_forgets_oldest_first)
{
	struct keywin *w = keywin_new(1000);
	uint8_t d[KEYWIN_DIGEST];

	for (int i = 0; i < 1000; i++) {
		digest_of(i, d);
		ck_assert(!keywin_has(w, d));
		keywin_add(w, d);
		keywin_add(w, d);               /* adding again changes nothing */
	}
	ck_assert_uint_eq(keywin_count(w), 1000);
	for (int i = 0; i < 1000; i++) {
		digest_of(i, d);
		ck_assert_msg(keywin_has(w, d), "key %d missing", i);
	}
	/* 500 more: 0..499 leave, 500..1499 stay (deletions keep probing intact) */
	for (int i = 1000; i < 1500; i++) {
		digest_of(i, d);
		keywin_add(w, d);
	}
	ck_assert_uint_eq(keywin_count(w), 1000);
	for (int i = 0; i < 1500; i++) {
		digest_of(i, d);
		ck_assert_msg(keywin_has(w, d) == (i >= 500), "key %d", i);
	}
	struct hvt_buf b = { 0 };
	keywin_dump(w, &b);
	ck_assert_uint_eq(b.len, 1000 * KEYWIN_DIGEST);
	digest_of(500, d);
	ck_assert(memcmp(b.data, d, KEYWIN_DIGEST) == 0);      /* oldest first */
	hvt_buf_free(&b);
	keywin_free(w);
}
END_TEST

START_TEST(scopes_keep_keys_apart)
{
	uint8_t a[KEYWIN_DIGEST], b[KEYWIN_DIGEST], c[KEYWIN_DIGEST];

	carry_digest("in_local", "0:k", a);
	carry_digest("in_local", "1000:k", b);
	carry_digest("in_local:x", "0:k", c);
	ck_assert(memcmp(a, b, KEYWIN_DIGEST) != 0);
	ck_assert(memcmp(a, c, KEYWIN_DIGEST) != 0);
	/* the scope cannot run into the key */
	carry_digest("ab", "c", a);
	carry_digest("a", "bc", b);
	ck_assert(memcmp(a, b, KEYWIN_DIGEST) != 0);
}
END_TEST

static struct hvt_spool *open_spool(const char *dir)
{
	struct hvt_spool_opts o = { .dir = dir, .name = "test", .segment_bytes = 64 << 10, .hold_for_state = true };
	char err[256];
	struct hvt_spool *sp = hvt_spool_open(&o, err, sizeof err);

	ck_assert_msg(sp != NULL, "%s", err);
	return sp;
}

/* Append n keyed records (keys from..from+n-1) with a position each. */
static void append_keyed(struct hvt_spool *sp, struct carry *c, int from, int n)
{
	struct hvt_buf meta = { 0 };
	char pos[64], payload[300];
	uint8_t d[KEYWIN_DIGEST];
	uint64_t seq;

	memset(payload, 'x', sizeof payload);
	for (int i = from; i < from + n; i++) {
		digest_of(i, d);
		snprintf(pos, sizeof pos, "cursor-%d", i);
		hvt_buf_reset(&meta);
		carry_meta(&meta, d, "in_journald", pos);
		ck_assert_int_eq(hvt_spool_append_meta(sp, payload, sizeof payload, meta.data, meta.len, &seq), 0);
		carry_apply(c, meta.data, meta.len, seq);
	}
	ck_assert_int_eq(hvt_spool_commit(sp), 0);
	hvt_buf_free(&meta);
}

START_TEST(state_plus_replay_after_a_crash)
{
	char *dir = tu_mkdtemp("carry");
	struct hvt_spool *sp = open_spool(dir);
	struct carry *c = carry_new(100000);
	uint8_t d[KEYWIN_DIGEST];
	uint64_t seq = 0;

	ck_assert_uint_eq(carry_recover(c, sp), 0);
	append_keyed(sp, c, 0, 300);                  /* ~100 KB: two segments */
	ck_assert_int_eq(carry_save(c, sp, hvt_spool_next_seq(sp) - 1), 0);
	ck_assert(!carry_dirty(c));
	append_keyed(sp, c, 300, 200);                /* after the save: only in the records */
	ck_assert_int_eq(hvt_spool_ack(sp, hvt_spool_last_seq(sp), true), 0);
	/* the "crash": no save, no close of the carry; the spool's files stay */
	hvt_spool_close(sp);
	carry_free(c);

	sp = open_spool(dir);
	c = carry_new(100000);
	ck_assert_uint_eq(carry_recover(c, sp), 200);  /* replayed past the state */
	ck_assert_uint_eq(carry_keys(c), 500);
	for (int i = 0; i < 500; i++) {
		digest_of(i, d);
		ck_assert_msg(carry_has_key(c, d), "key %d lost", i);
	}
	digest_of(500, d);
	ck_assert(!carry_has_key(c, d));
	ck_assert_str_eq(carry_position(c, "in_journald", &seq), "cursor-499");
	ck_assert_uint_eq(seq, 500);
	ck_assert_ptr_null(carry_position(c, "in_qmp", NULL));

	/* everything was acknowledged, but the records after the saved state
	 * were held: saving lets them go */
	ck_assert(hvt_spool_hold_blocking(sp));
	ck_assert_int_eq(carry_save(c, sp, hvt_spool_last_seq(sp)), 0);
	ck_assert(!hvt_spool_hold_blocking(sp));
	hvt_spool_close(sp);
	carry_free(c);

	/* a damaged state: rebuilt from what is still spooled */
	char *state = hvt_asprintf("%s/state", dir);
	tu_write(state, "garbage");
	sp = open_spool(dir);
	c = carry_new(100000);
	carry_recover(c, sp);
	digest_of(499, d);
	ck_assert(carry_has_key(c, d));               /* in the active segment still */
	hvt_spool_close(sp);
	carry_free(c);
	free(state);
	tu_rmtree(dir);
}
END_TEST

START_TEST(unknown_meta_is_ignored)
{
	struct carry *c = carry_new(16);

	carry_apply(c, "x what\np in_x\tv1\nk zz\n", 22, 7);
	ck_assert_str_eq(carry_position(c, "in_x", NULL), "v1");
	ck_assert_uint_eq(carry_keys(c), 0);
	carry_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carry");
	TCase *tc = tcase_create("carry");

	tcase_add_test(tc, window_forgets_oldest_first);
	tcase_add_test(tc, scopes_keep_keys_apart);
	tcase_add_test(tc, state_plus_replay_after_a_crash);
	tcase_add_test(tc, unknown_meta_is_ignored);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
