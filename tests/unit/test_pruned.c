/* test_pruned.c - the retention record (pruned.h): its canonical form
 * survives a round trip byte for byte, and anything else is told apart. */
#include "config.h"

#include "testutil.h"

#include <string.h>

#include "pruned.h"
#include "util.h"

static void sample(struct hvt_pruned *p)
{
	memset(p, 0, sizeof *p);
	p->index = hvt_strdup("idx_sqlite");
	p->collector = hvt_strdup("col \"one\"\n");
	p->partition = hvt_strdup("12");
	p->reason = hvt_strdup("age");
	p->policy = hvt_strdup("retention_age=34560000s retention_size=0");
	p->at_us = 1796633163866703LL;
	p->events = 3;
	p->bytes = 4096;
	p->ts_min_us = -5;    /* a hypervisor clock before 1970 still serialises */
	p->ts_max_us = 1795341600000000LL;
	p->indexed_min_us = 1;
	p->indexed_max_us = 2;
	/* added out of order: the serialisation sorts them */
	struct hvt_pruned_stream *s = hvt_pruned_add_stream(p, "hv2", "00000000000000bb");
	s->from_seq = 1, s->to_seq = 2, s->count = 2;
	memset(s->last_hash, 'b', 64);
	s = hvt_pruned_add_stream(p, "hv1", "00000000000000aa");
	s->from_seq = 7, s->to_seq = UINT64_MAX, s->count = 1;
	memset(s->last_hash, 'a', 64);
}

START_TEST(round_trip_is_byte_for_byte)
{
	struct hvt_pruned p, q;
	struct hvt_buf a = { 0 }, b = { 0 };
	char err[128];

	sample(&p);
	hvt_pruned_to_json(&p, &a);
	ck_assert(hvt_pruned_canonical(a.data, a.len));
	ck_assert_int_eq(hvt_pruned_from_json(a.data, a.len, &q, err, sizeof err), 0);
	ck_assert_str_eq(q.streams[0].host, "hv1");             /* sorted */
	ck_assert_uint_eq(q.streams[0].to_seq, UINT64_MAX);
	ck_assert_int_eq(q.ts_min_us, -5);
	ck_assert_str_eq(q.collector, "col \"one\"\n");
	hvt_pruned_to_json(&q, &b);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert(memcmp(a.data, b.data, a.len) == 0);
	ck_assert_ptr_nonnull(strstr(hvt_buf_cstr(&a), "\"collector\":\"col \\\"one\\\"\\n\""));
	hvt_pruned_clear(&p);
	hvt_pruned_clear(&q);
	hvt_buf_free(&a);
	hvt_buf_free(&b);
}
END_TEST

START_TEST(other_forms_are_not_canonical)
{
	struct hvt_pruned p;
	struct hvt_buf a = { 0 };
	char err[128];

	sample(&p);
	hvt_pruned_to_json(&p, &a);
	hvt_pruned_clear(&p);                   /* p is reused below */
	const char *text = hvt_buf_cstr(&a);
	/* a space, a truncation, an escaped character that needs none */
	char *spaced = hvt_asprintf("{ %s", text + 1);
	ck_assert(!hvt_pruned_canonical(spaced, strlen(spaced)));
	char *slash = hvt_strdup(text);
	ck_assert(hvt_pruned_canonical(slash, strlen(slash)));   /* the same bytes */
	*strstr(slash, "\"v\":1,") = '\0';                      /* cut short */
	ck_assert(!hvt_pruned_canonical(slash, strlen(slash)));
	char *esc = hvt_asprintf("%.*s\\u0069dx_sqlite%s", (int)(strstr(text, "idx_sqlite") - text), text,
				 strstr(text, "idx_sqlite") + strlen("idx_sqlite"));
	ck_assert_int_eq(hvt_pruned_from_json(esc, strlen(esc), &p, err, sizeof err), 0);   /* valid JSON ... */
	hvt_pruned_clear(&p);
	ck_assert(!hvt_pruned_canonical(esc, strlen(esc)));                              /* ... another form */
	/* not a record at all */
	ck_assert_int_eq(hvt_pruned_from_json("{\"kind\":\"x\"}", 12, &p, err, sizeof err), -1);
	ck_assert_int_eq(hvt_pruned_from_json("[1]", 3, &p, err, sizeof err), -1);
	ck_assert_int_eq(hvt_pruned_from_json(text, a.len - 1, &p, err, sizeof err), -1);
	free(spaced);
	free(slash);
	free(esc);
	hvt_buf_free(&a);
}
END_TEST

static Suite *pruned_suite(void)
{
	Suite *s = suite_create("pruned");
	TCase *tc = tcase_create("record");

	tcase_add_test(tc, round_trip_is_byte_for_byte);
	tcase_add_test(tc, other_forms_are_not_canonical);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(pruned_suite());
}
