/* test_qmp_parse.c - QMP line framing and classification, driven by the
 * recorded transcripts and by hostile input. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_parse.h"
#include "test_transcript.h"
#include "util.h"

/* What the lab's client parsed tells what each received line is. */
static enum qmp_msg_kind expected_kind(const struct qtr_rec *r)
{
	json_object *m = r->msg;

	if (r->truncated || !m)
		return QMP_MSG_GARBAGE;   /* the lab kept only the first 1 KiB */
	if (json_object_object_get_ex(m, "QMP", NULL))
		return QMP_MSG_GREETING;
	if (json_object_object_get_ex(m, "event", NULL))
		return QMP_MSG_EVENT;
	if (json_object_object_get_ex(m, "return", NULL))
		return QMP_MSG_REPLY;
	if (json_object_object_get_ex(m, "error", NULL))
		return QMP_MSG_ERROR;
	return QMP_MSG_GARBAGE;
}

/* Check one parsed message against the record it came from. */
static void check_msg(const struct transcript *t, const struct qtr_rec *r, const struct qmp_msg *m)
{
	enum qmp_msg_kind want = expected_kind(r);
	json_object *v;

	ck_assert_msg(m->kind == want, "%s at t=%.6f: got %s, want %s (%.80s)", t->name, r->t,
		      qmp_msg_kind_name(m->kind), qmp_msg_kind_name(want), r->raw);
	if (want == QMP_MSG_EVENT) {
		json_object_object_get_ex(r->msg, "event", &v);
		ck_assert_str_eq(m->event, json_object_get_string(v));
		ck_assert_msg(m->ts_us > 1700000000000000LL, "event without QEMU time");
	}
	if (want == QMP_MSG_REPLY || want == QMP_MSG_ERROR) {
		bool has = json_object_object_get_ex(r->msg, "id", &v);
		ck_assert_int_eq(m->has_id, has);
		ck_assert_int_eq(m->id_is_int, has && json_object_is_type(v, json_type_int));
		if (m->id_is_int)
			ck_assert_int_eq(m->id, json_object_get_int64(v));
	}
	if (want == QMP_MSG_ERROR) {
		json_object_object_get_ex(r->msg, "error", &v);
		json_object *d;
		json_object_object_get_ex(v, "desc", &d);
		ck_assert_str_eq(m->err_desc, json_object_get_string(d));
	}
}

/* Every received line of every transcript, as one byte stream cut into
 * chunks of the given size, comes out as the same messages in order. */
static void stream_transcript(const char *name, size_t chunk)
{
	struct transcript *t = qtr_load(name);
	struct hvt_buf stream = { 0 };
	size_t nrecv = 0;

	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < t->n; i++) {
		const struct qtr_rec *r = &t->r[i];
		if (strcmp(r->dir, "recv") != 0 || !r->raw)
			continue;
		hvt_buf_append(&stream, r->raw, r->raw_len);
		if (!r->raw_len || r->raw[r->raw_len - 1] != '\n')
			hvt_buf_append(&stream, "\r\n", 2);   /* a truncated record */
		nrecv++;
	}
	struct qmp_framer f;
	struct qmp_msg m;
	size_t got = 0, ri = 0;
	qmp_framer_init(&f, 1 << 20);
	for (size_t off = 0; off < stream.len; off += chunk) {
		qmp_framer_push(&f, stream.data + off, HVT_MIN(chunk, stream.len - off));
		while (qmp_framer_next(&f, &m)) {
			while (strcmp(t->r[ri].dir, "recv") != 0 || !t->r[ri].raw)
				ri++;
			check_msg(t, &t->r[ri++], &m);
			qmp_msg_clear(&m);
			got++;
		}
	}
	ck_assert_msg(got == nrecv, "%s: %zu messages from %zu lines", name, got, nrecv);
	ck_assert_int_eq(qmp_framer_pending(&f), 0);
	qmp_framer_free(&f);
	hvt_buf_free(&stream);
	qtr_free(t);
}

START_TEST(test_transcripts_parse)
{
	static const size_t chunks[] = { 1, 7, 4096, 1 << 20 };
	char **files = qtr_list();
	int n = 0;

	for (char **p = files; *p; p++, n++)
		stream_transcript(*p, chunks[_i]);
	ck_assert_int_ge(n, 37);   /* every transcript the lab recorded */
	qtr_list_free(files);
}
END_TEST

static void parse_one(const char *line, struct qmp_msg *m)
{
	qmp_parse_line(line, strlen(line), m);
}

START_TEST(test_kinds)
{
	struct qmp_msg m;

	parse_one("{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}", &m);
	ck_assert_int_eq(m.kind, QMP_MSG_GREETING);
	qmp_msg_clear(&m);

	parse_one("{\"return\": {}, \"id\": 17}", &m);
	ck_assert_int_eq(m.kind, QMP_MSG_REPLY);
	ck_assert(m.has_id && m.id_is_int && m.id == 17);
	qmp_msg_clear(&m);

	parse_one("{\"return\": {\"status\": \"running\"}, \"id\": \"src-4\"}", &m);
	ck_assert(m.kind == QMP_MSG_REPLY && m.has_id && !m.id_is_int);
	qmp_msg_clear(&m);

	parse_one("{\"return\": {}}", &m);
	ck_assert(m.kind == QMP_MSG_REPLY && !m.has_id);
	qmp_msg_clear(&m);

	/* QEMU's answer to malformed input: an error with no id at all */
	parse_one("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, "
		  "expecting value\"}}", &m);
	ck_assert(m.kind == QMP_MSG_ERROR && !m.has_id);
	ck_assert_str_eq(m.err_class, "GenericError");
	ck_assert_str_eq(m.err_desc, "JSON parse error, expecting value");
	qmp_msg_clear(&m);

	parse_one("{\"timestamp\": {\"seconds\": 1795384187, \"microseconds\": 63803}, "
		  "\"event\": \"MIGRATION\", \"data\": {\"status\": \"setup\"}}", &m);
	ck_assert_int_eq(m.kind, QMP_MSG_EVENT);
	ck_assert_str_eq(m.event, "MIGRATION");
	ck_assert_int_eq(m.ts_us, 1795384187063803LL);
	ck_assert_ptr_nonnull(m.data);
	qmp_msg_clear(&m);

	/* a bad timestamp is no timestamp (receive time is used instead) */
	parse_one("{\"timestamp\": {\"seconds\": -1, \"microseconds\": 5000000}, \"event\": "
		  "\"STOP\"}",
		  &m);
	ck_assert(m.kind == QMP_MSG_EVENT && m.ts_us == 0 && m.data == NULL);
	qmp_msg_clear(&m);
}
END_TEST

static const struct { const char *line; size_t len; const char *reason; } bad_lines[] = {
	{ "hello", 0, "not valid JSON" },
	{ "[1,2]", 0, "JSON value is not an object" },
	{ "42", 0, "incomplete JSON" },
	{ "{}", 0, "a JSON object that is not a QMP message" },
	{ "{\"event\": 5}", 0, "a JSON object that is not a QMP message" },
	{ "{\"execute\": \"query-status\",}", 0, "not valid JSON" },
	{ "{\"return\": {}} {\"return\": {}}", 0, "not valid JSON" },
	{ "{\"return\": {\"x\": \"a", 0, "incomplete JSON" },
	{ "{\"return\": \"\xff\xfe\"}", 0, "line is not valid UTF-8" },
	{ "{\"return\": \"\xc0\xaf\"}", 0, "line is not valid UTF-8" },     /* overlong '/' */
	{ "{\"return\": \"\xed\xa0\x80\"}", 0, "line is not valid UTF-8" }, /* surrogate */
	{ "{\"return\": \"a\0b\"}", 17, "line contains a NUL byte" },
};

START_TEST(test_garbage)
{
	struct qmp_msg m;
	size_t len = bad_lines[_i].len ? bad_lines[_i].len : strlen(bad_lines[_i].line);

	qmp_parse_line(bad_lines[_i].line, len, &m);
	ck_assert_msg(m.kind == QMP_MSG_GARBAGE, "line %d: %s", _i, qmp_msg_kind_name(m.kind));
	ck_assert_str_eq(m.reason, bad_lines[_i].reason);
	ck_assert_ptr_null(m.obj);
	qmp_msg_clear(&m);
}
END_TEST

START_TEST(test_too_deep)
{
	struct hvt_buf b = { 0 };
	struct qmp_msg m;

	hvt_buf_append_str(&b, "{\"return\": ");
	for (int i = 0; i < 100; i++)
		hvt_buf_append(&b, "[", 1);
	for (int i = 0; i < 100; i++)
		hvt_buf_append(&b, "]", 1);
	hvt_buf_append(&b, "}", 1);
	qmp_parse_line(b.data, b.len, &m);
	ck_assert_int_eq(m.kind, QMP_MSG_GARBAGE);
	ck_assert_str_eq(m.reason, "JSON nested too deeply");
	hvt_buf_free(&b);
}
END_TEST

/* Garbage in the stream costs one message each and the stream goes on. */
START_TEST(test_stream_recovers)
{
	const char in[] =
		"\xff\xfe garbage\r\n\r\n[1]\n{\"return\": {}, \"id\": 1}\r\n"
		"{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\n";
	struct qmp_framer f;
	struct qmp_msg m;
	enum qmp_msg_kind want[] = {QMP_MSG_GARBAGE, QMP_MSG_GARBAGE, QMP_MSG_REPLY, QMP_MSG_EVENT};
	size_t n = 0;

	qmp_framer_init(&f, 1024);
	qmp_framer_push(&f, in, sizeof in - 1);
	while (qmp_framer_next(&f, &m)) {
		ck_assert_int_lt(n, HVT_ARRAY_SIZE(want));
		ck_assert_int_eq(m.kind, want[n++]);
		qmp_msg_clear(&m);
	}
	ck_assert_int_eq(n, HVT_ARRAY_SIZE(want));
	qmp_framer_free(&f);
}
END_TEST

/* A line over max_line is reported once and skipped to its newline, however
 * it arrives; the buffer never holds more than max_line plus one push. */
START_TEST(test_oversize)
{
	static const size_t chunks[] = { 100, 5000, 65536 };
	const size_t max = 1024, chunk = chunks[_i];
	const char tail[] = "\"}\r\n{\"return\": {}, \"id\": 9}\r\n";
	struct hvt_buf in = { 0 };
	struct qmp_framer f;
	struct qmp_msg m;
	int oversize = 0, replies = 0;
	size_t peak = 0;

	hvt_buf_append_str(&in, "{\"return\": \"");
	for (int i = 0; i < 3 * 1024 * 1024 / 64; i++)
		hvt_buf_append_str(
			&in, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	hvt_buf_append(&in, tail, sizeof tail - 1);
	qmp_framer_init(&f, max);
	for (size_t off = 0; off < in.len; off += chunk) {
		qmp_framer_push(&f, in.data + off, HVT_MIN(chunk, in.len - off));
		peak = HVT_MAX(peak, qmp_framer_pending(&f));
		while (qmp_framer_next(&f, &m)) {
			if (m.kind == QMP_MSG_OVERSIZE) {
				oversize++;
				ck_assert_uint_gt(m.len, max);
			} else {
				ck_assert_int_eq(m.kind, QMP_MSG_REPLY);
				ck_assert_int_eq(m.id, 9);
				replies++;
			}
			qmp_msg_clear(&m);
		}
	}
	ck_assert_int_eq(oversize, 1);
	ck_assert_int_eq(replies, 1);
	ck_assert_uint_le(peak, max + chunk);
	qmp_framer_free(&f);
	hvt_buf_free(&in);
}
END_TEST

/* QEMU really sends ~200 KB lines (query-qmp-schema): under the default
 * max_line they must parse; a line of exactly max_line too. */
START_TEST(test_big_line_ok)
{
	struct hvt_buf in = { 0 };
	struct qmp_framer f;
	struct qmp_msg m;

	hvt_buf_append_str(&in, "{\"return\": [");
	for (int i = 0; i < 4000; i++)
		hvt_buf_printf(&in, "%s{\"name\": \"command-%05d\", \"meta-type\": \"command\"}",
			       i ? ", " : "", i);
	hvt_buf_append_str(&in, "], \"id\": 3}");
	size_t len = in.len;
	ck_assert_uint_gt(len, 200000);
	hvt_buf_append(&in, "\r\n", 2);
	qmp_framer_init(&f, len + 1);   /* the line with its \r exactly fits */
	qmp_framer_push(&f, in.data, in.len);
	ck_assert(qmp_framer_next(&f, &m));
	ck_assert_int_eq(m.kind, QMP_MSG_REPLY);
	ck_assert_int_eq(json_object_array_length(m.ret), 4000);
	qmp_msg_clear(&m);
	ck_assert(!qmp_framer_next(&f, &m));
	qmp_framer_free(&f);
	hvt_buf_free(&in);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("qmp_parse");
	TCase *tc = tcase_create("transcripts");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_transcripts_parse, 0, 4);
	suite_add_tcase(s, tc);
	tc = tcase_create("lines");
	tcase_add_test(tc, test_kinds);
	tcase_add_loop_test(tc, test_garbage, 0, (int)HVT_ARRAY_SIZE(bad_lines));
	tcase_add_test(tc, test_too_deep);
	tcase_add_test(tc, test_stream_recovers);
	tcase_add_loop_test(tc, test_oversize, 0, 3);
	tcase_add_test(tc, test_big_line_ok);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
