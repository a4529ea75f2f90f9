/* check_idx_gaps.c - per-stream state and the missing seq ranges of a
 * stream: holes at the start, in the middle, next to the end, across
 * batches and hosts, and filled in later. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidx.h"
#include "util.h"

static char *dir;
static struct tidx *t;

static void setup(void)
{
	char *db;

	dir = tidx_tmpdir("gaps");
	db = hvt_asprintf("%s/trail.db", dir);
	t = tidx_open(db, false, NULL);
	free(db);
	ck_assert_ptr_nonnull(t);
}

static void teardown(void)
{
	tidx_close(t);
	tidx_rmtree(dir);
}

static void store(struct tbatch *b, uint64_t inbox)
{
	ck_assert_int_eq(tbatch_store(t, b, inbox), 0);
	tbatch_free(b);
}

static void expect_gaps(const char *host, const char *stream, const char *want)
{
	char got[256];

	ck_assert_int_eq(tidx_gaps_str(t, host, stream, got, sizeof got), 0);
	ck_assert_msg(strcmp(got, want) == 0, "gaps of %s/%s: got '%s', want '%s'", host, stream, got, want);
}

START_TEST(holes_at_start_middle_and_end)
{
	struct tbatch b = { 0 };

	tbatch_add_range(&b, "hv1", "00000000000000aa", 3, 10);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 13, 15);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 20, 20);
	tbatch_add_range(&b, "hv1", "00000000000000cc", 1, 8);
	tbatch_add_range(&b, "hv1", "00000000000000cc", 10, 10);
	tbatch_add_range(&b, "hv2", "00000000000000bb", 1, 50);
	store(&b, 1);
	expect_gaps("hv1", "00000000000000aa", "1-2,11-12,16-19");
	expect_gaps("hv1", "00000000000000cc", "9-9");
	expect_gaps("hv2", "00000000000000bb", "");
	/* a stream is looked up on its host: no such stream on hv2 */
	expect_gaps("hv2", "00000000000000aa", "");
	expect_gaps("hv9", "ffffffffffffffff", "");
}
END_TEST

START_TEST(holes_close_when_late_events_arrive)
{
	struct tbatch b = { 0 };

	tbatch_add_range(&b, "hv1", "00000000000000aa", 1, 5);
	store(&b, 1);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 8, 10);
	store(&b, 2);
	expect_gaps("hv1", "00000000000000aa", "6-7");
	tbatch_add_range(&b, "hv1", "00000000000000aa", 7, 7);
	store(&b, 3);
	expect_gaps("hv1", "00000000000000aa", "6-6");
	tbatch_add_range(&b, "hv1", "00000000000000aa", 6, 6);
	store(&b, 4);
	expect_gaps("hv1", "00000000000000aa", "");
}
END_TEST

START_TEST(only_first_event_missing)
{
	struct tbatch b = { 0 };

	tbatch_add_range(&b, "hv1", "00000000000000aa", 2, 2);
	store(&b, 1);
	expect_gaps("hv1", "00000000000000aa", "1-1");
}
END_TEST

/* The collector files plain syslog lines under stream "syslog" with a hash
 * as seq (so resends dedup): not a sequence, so no gaps. */
START_TEST(syslog_pseudo_stream_has_no_gaps)
{
	struct tbatch b = { 0 };

	tbatch_add(&b, &(struct tev){ .host = "hv1", .stream = "syslog", .seq = 123456789012345ULL,
				     .ts_us = TIDX_T0 });
	tbatch_add(&b, &(struct tev){ .host = "hv1", .stream = "syslog", .seq = 4503599627370495ULL,
				     .ts_us = TIDX_T0 + 1 });
	store(&b, 1);
	expect_gaps("hv1", "syslog", "");
}
END_TEST

static int stop_first(void *arg, uint64_t lo, uint64_t hi)
{
	(void)lo;
	(void)hi;
	(*(int *)arg)++;
	return 1;
}

START_TEST(gaps_callback_can_stop)
{
	struct tbatch b = { 0 };
	int calls = 0;

	tbatch_add_range(&b, "hv1", "00000000000000aa", 2, 2);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 4, 4);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 6, 6);
	store(&b, 1);
	ck_assert_int_eq(t->ops->gaps(&t->inst, "hv1", "00000000000000aa", stop_first, &calls), 0);
	ck_assert_int_eq(calls, 1);
}
END_TEST

struct listing {
	char text[512];
};

static int list_cb(void *arg, const struct hvt_stream_state *s)
{
	struct listing *l = arg;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof l->text - n, "%s%s/%s:%llu/%llu", n ? " " : "", s->host,
		 s->stream, (unsigned long long)s->count, (unsigned long long)s->max_seq);
	return 0;
}

START_TEST(streams_listing)
{
	struct tbatch b = { 0 };
	struct listing l = { "" };

	tbatch_add_range(&b, "hv2", "00000000000000bb", 1, 3);
	tbatch_add_range(&b, "hv1", "00000000000000cc", 5, 6);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 1, 4);
	store(&b, 1);
	ck_assert_int_eq(t->ops->streams(&t->inst, NULL, list_cb, &l), 0);
	ck_assert_str_eq(l.text, "hv1/00000000000000aa:4/4 hv1/00000000000000cc:2/6 hv2/00000000000000bb:3/3");
	l.text[0] = '\0';
	ck_assert_int_eq(t->ops->streams(&t->inst, "hv2", list_cb, &l), 0);
	ck_assert_str_eq(l.text, "hv2/00000000000000bb:3/3");
}
END_TEST

struct nested {
	struct tidx *t;
	char gaps[256];
};

static int nested_cb(void *arg, const struct hvt_stream_state *s)
{
	struct nested *n = arg;
	char one[64];
	size_t len = strlen(n->gaps);

	/* calling back into the index from a callback must not deadlock */
	ck_assert_int_eq(tidx_gaps_str(n->t, s->host, s->stream, one, sizeof one), 0);
	snprintf(n->gaps + len, sizeof n->gaps - len, "[%s]", one);
	return 0;
}

START_TEST(gaps_from_inside_streams_callback)
{
	struct tbatch b = { 0 };
	struct nested n = { t, "" };

	tbatch_add_range(&b, "hv1", "00000000000000aa", 2, 3);
	tbatch_add_range(&b, "hv1", "00000000000000bb", 1, 3);
	store(&b, 1);
	ck_assert_int_eq(t->ops->streams(&t->inst, NULL, nested_cb, &n), 0);
	ck_assert_str_eq(n.gaps, "[1-1][]");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("idx_sqlite gaps");
	TCase *tc = tcase_create("gaps");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, holes_at_start_middle_and_end);
	tcase_add_test(tc, holes_close_when_late_events_arrive);
	tcase_add_test(tc, only_first_event_missing);
	tcase_add_test(tc, syslog_pseudo_stream_has_no_gaps);
	tcase_add_test(tc, gaps_callback_can_stop);
	tcase_add_test(tc, streams_listing);
	tcase_add_test(tc, gaps_from_inside_streams_callback);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
