/* test_event.c - the event model: JSON encoding, decoding and validation. */
#include "config.h"

#include "testutil.h"

#include "event.h"
#include "timefmt.h"
#include "util.h"

/* a string literal and its length */
#define L(s) (s), strlen(s)

#define UNICODE_MSG "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80"

static struct hvt_event *full_event(void)
{
	struct hvt_event *ev = hvt_event_new("migration.completed");
	json_object *inner = json_object_new_object();
	json_object *arr = json_object_new_array();

	hvt_event_set_str(&ev->host, "hv1.test");
	hvt_event_set_str(&ev->stream, "0123456789abcdef");
	ev->seq = 42;
	hvt_event_set_str(&ev->id, "0123456789abcdef-42");
	hvt_event_set_str(&ev->prev, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	hvt_event_set_str(&ev->source, "qmp");
	hvt_event_set_str(&ev->key, "hook:vm1:start:7f3a");
	ev->severity = 5;
	hvt_event_set_vm(ev, "vm \"one\"", "5c6a2c4e-1b7a-4c1e-9a53-0c4b1f2e3d4a");
	ev->ts_us = 1795350000123456LL;
	ev->received_us = 1795350000223457LL;
	ev->flags = HVT_EV_LATE | HVT_EV_TRUNCATED;
	hvt_event_set_msg(ev, "%s", UNICODE_MSG);
	json_object_object_add(inner, "status", json_object_new_string("completed"));
	json_object_object_add(inner, "ratio", json_object_new_double(0.5));
	json_object_array_add(arr, json_object_new_int(1));
	json_object_array_add(arr, json_object_new_boolean(1));
	json_object_array_add(arr, NULL);
	json_object_array_add(arr, json_object_new_string("tab\there"));
	hvt_event_data_add(ev, "total-time", json_object_new_int64(1234));
	hvt_event_data_add(ev, "nested", inner);
	hvt_event_data_add(ev, "list", arr);
	return ev;
}

static char *to_json(const struct hvt_event *ev)
{
	struct hvt_buf b = { 0 };

	hvt_event_to_json(ev, &b);
	return (char *)hvt_buf_cstr(&b);
}

static struct hvt_event *decode(const char *text, bool require_identity, char *err, size_t n)
{
	err[0] = '\0';
	return hvt_event_from_json(text, strlen(text), NULL, require_identity, err, n);
}

/* Expect text to be refused with a reason containing `why`. */
static void expect_reject(const char *text, bool require_identity, const char *why)
{
	char err[256];
	struct hvt_event *ev = decode(text, require_identity, err, sizeof err);

	ck_assert_msg(ev == NULL, "accepted: %s", text);
	ck_assert_msg(strstr(err, why) != NULL, "for %s: reason '%s' does not mention '%s'",
		      text, err, why);
}

START_TEST(round_trip_every_field)
{
	struct hvt_event *ev = full_event(), *back;
	char *json = to_json(ev), *again, err[256];

	back = decode(json, true, err, sizeof err);
	ck_assert_msg(back != NULL, "decode failed: %s\n%s", err, json);
	ck_assert_str_eq(back->type, "migration.completed");
	ck_assert_str_eq(back->host, "hv1.test");
	ck_assert_str_eq(back->stream, "0123456789abcdef");
	ck_assert_uint_eq(back->seq, 42);
	ck_assert_str_eq(back->id, "0123456789abcdef-42");
	ck_assert_str_eq(back->prev, ev->prev);
	ck_assert_str_eq(back->source, "qmp");
	ck_assert_str_eq(back->key, "hook:vm1:start:7f3a");
	ck_assert_int_eq(back->severity, 5);
	ck_assert_str_eq(back->vm_name, "vm \"one\"");
	ck_assert_str_eq(back->vm_uuid, "5c6a2c4e-1b7a-4c1e-9a53-0c4b1f2e3d4a");
	ck_assert_int_eq(back->ts_us, 1795350000123456LL);
	ck_assert_int_eq(back->received_us, 1795350000223457LL);
	ck_assert_uint_eq(back->flags, HVT_EV_LATE | HVT_EV_TRUNCATED);
	ck_assert_str_eq(back->msg, UNICODE_MSG);
	ck_assert_msg(json_object_equal(back->data, ev->data), "data differs");
	/* a resend must be byte-identical: encode(decode(x)) == x */
	again = to_json(back);
	ck_assert_str_eq(again, json);
	free(again);
	free(json);
	hvt_event_free(back);
	hvt_event_free(ev);
}
END_TEST

START_TEST(key_order_and_omitted_fields)
{
	struct hvt_event *ev = hvt_event_new("vm.stopped");
	char *json;

	json = to_json(ev);
	/* unset identity, vm, times, msg and data are left out entirely */
	ck_assert_str_eq(json, "{\"v\":1,\"type\":\"vm.stopped\",\"severity\":\"info\"}");
	free(json);
	hvt_event_set_str(&ev->host, "h");
	ev->seq = 7;
	ev->ts_us = 1;
	hvt_event_set_vm(ev, NULL, "u");
	hvt_event_set_str(&ev->key, "k");
	json = to_json(ev);
	ck_assert_str_eq(json, "{\"v\":1,\"host\":\"h\",\"seq\":7,\"key\":\"k\",\"type\":\"vm.stopped\","
			 "\"severity\":\"info\",\"vm\":{\"uuid\":\"u\"},\"ts\":\"1970-01-01T00:00:00.000001Z\"}");
	free(json);
	hvt_event_free(ev);
}
END_TEST

START_TEST(escaping)
{
	struct hvt_event *ev = hvt_event_new("a.b"), *back;
	char *json, err[256];

	hvt_event_set_msg(ev, "q\"b\\s/n\nr\rt\tc\x01\x1f" "d\x7f" "e");
	json = to_json(ev);
	ck_assert_msg(strstr(json, "\"msg\":\"q\\\"b\\\\s/n\\nr\\rt\\tc\\u0001\\u001fd\x7f" "e\"") != NULL,
		      "unexpected escaping: %s", json);
	back = decode(json, false, err, sizeof err);
	ck_assert_msg(back != NULL, "%s", err);
	ck_assert_str_eq(back->msg, ev->msg);
	hvt_event_free(back);
	free(json);
	hvt_event_free(ev);

	struct hvt_buf b = { 0 };
	hvt_json_escape(&b, "");
	hvt_json_escape(&b, UNICODE_MSG);
	/* UTF-8 passes through unescaped */
	ck_assert_str_eq(hvt_buf_cstr(&b), "\"\"\"" UNICODE_MSG "\"");
	hvt_buf_free(&b);
}
END_TEST

START_TEST(unicode_escapes_decode_to_utf8)
{
	char err[256];
	struct hvt_event *ev = decode("{\"type\":\"a.b\",\"msg\":\"\\u00e9\\ud83d\\ude80\\u2013\"}",
				      false, err, sizeof err);

	ck_assert_msg(ev != NULL, "%s", err);
	ck_assert_str_eq(ev->msg, "\xc3\xa9\xf0\x9f\x9a\x80\xe2\x80\x93");
	hvt_event_free(ev);
}
END_TEST

START_TEST(failed_parse_leaves_no_state)
{
	/* A refused fragment that stops inside a \\u escape pair must not
	 * change how the next event on the same thread decodes. */
	static const char *fragments[] = {
		"{\"type\":\"a.b\",\"msg\":\"\\ud800",
		"{\"type\":\"a.b\",\"msg\":\"\\ud800\\u00",
		"{\"type\":\"a.b\",\"msg\":\"\\ud800\" ]",
		"{\"type\":\"a.b\",\"msg\":\"\\u00",
	};
	char err[256];

	for (size_t i = 0; i < sizeof fragments / sizeof fragments[0]; i++) {
		ck_assert_ptr_null(decode(fragments[i], false, err, sizeof err));
		struct hvt_event *ev = decode("{\"type\":\"a.b\",\"msg\":\"\\u0017x\\u00e9\"}",
					      false, err, sizeof err);
		ck_assert_msg(ev != NULL, "%s", err);
		ck_assert_msg(strcmp(ev->msg, "\x17x\xc3\xa9") == 0, "after fragment %zu: msg is '%s'",
			      i, ev->msg);
		hvt_event_free(ev);
	}
}
END_TEST

START_TEST(data_objects)
{
	const char *text = "{\"type\":\"snapshot.created\",\"data\":{\"a\":{\"b\":[1,2,{\"c\":\"d\"}]},"
			   "\"e\":-3,\"f\":1.25,\"g\":false,\"h\":null,\"i\":\"\\u00fc\"}}";
	char err[256], *json;
	struct hvt_event *ev = decode(text, false, err, sizeof err);
	json_object *v;

	ck_assert_msg(ev != NULL, "%s", err);
	ck_assert_int_eq(json_object_object_length(ev->data), 6);
	ck_assert(json_object_object_get_ex(ev->data, "e", &v));
	ck_assert_int_eq(json_object_get_int(v), -3);
	json = to_json(ev);
	ck_assert_msg(strstr(json, "\"data\":{\"a\":{\"b\":[1,2,{\"c\":\"d\"}]},\"e\":-3,\"f\":1.25,"
				   "\"g\":false,\"h\":null,\"i\":\"\xc3\xbc\"}") != NULL, "%s", json);
	free(json);
	hvt_event_free(ev);
	/* data explicitly null is the same as absent */
	ev = decode("{\"type\":\"a.b\",\"data\":null}", false, err, sizeof err);
	ck_assert_msg(ev != NULL, "%s", err);
	ck_assert_ptr_null(ev->data);
	hvt_event_free(ev);
}
END_TEST

START_TEST(minimal_local_event)
{
	char err[256];
	struct hvt_event *ev = decode("{\"type\":\"vm.started\",\"severity\":\"WARN\"}\r\n", false,
				      err, sizeof err);

	ck_assert_msg(ev != NULL, "%s", err);
	ck_assert_int_eq(ev->severity, 4);
	ck_assert_ptr_null(ev->host);
	ck_assert_uint_eq(ev->seq, 0);
	hvt_event_free(ev);
}
END_TEST

START_TEST(rejects_invalid_utf8)
{
	static const char *const bad[] = {
		"\xc0\xaf",             /* overlong '/' */
		"\xe0\x80\xaf",         /* overlong, 3 bytes */
		"\xed\xa0\x80",         /* UTF-16 surrogate */
		"\xf4\x90\x80\x80",     /* above U+10FFFF */
		"\xe2\x82",             /* truncated */
		"\x80",                 /* lone continuation */
		"\xf5\x80\x80\x80",     /* invalid lead byte */
		"\xff",
	};
	char text[128];

	for (size_t i = 0; i < HVT_ARRAY_SIZE(bad); i++) {
		ck_assert_msg(!hvt_utf8_valid(bad[i], strlen(bad[i])), "case %zu accepted", i);
		snprintf(text, sizeof text, "{\"type\":\"a.b\",\"msg\":\"x%sy\"}", bad[i]);
		expect_reject(text, false, "not valid UTF-8");
	}
	/* boundaries that are valid */
	ck_assert(hvt_utf8_valid(L("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
				   "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf")));
	ck_assert(hvt_utf8_valid("", 0));
	/* a sequence cut by the length is invalid even if the bytes follow */
	ck_assert(!hvt_utf8_valid("\xc3\xa9", 1));
}
END_TEST

START_TEST(rejects_too_deep)
{
	struct hvt_buf b = { 0 };
	struct hvt_event_limits lim = hvt_event_default_limits;
	char err[256];

	hvt_buf_append_str(&b, "{\"type\":\"a.b\",\"data\":");
	for (int i = 0; i < 40; i++)
		hvt_buf_append_str(&b, "{\"x\":");
	hvt_buf_append_str(&b, "1");
	for (int i = 0; i < 40; i++)
		hvt_buf_append_str(&b, "}");
	hvt_buf_append_str(&b, "}");
	expect_reject(hvt_buf_cstr(&b), false, "deeper than 32");
	hvt_buf_free(&b);

	/* a tighter limit applies too; one level less passes */
	lim.max_depth = 3;
	ck_assert_ptr_null(hvt_event_from_json(L("{\"type\":\"a.b\",\"data\":{\"x\":{\"y\":1}}}"),
					       &lim, false, err, sizeof err));
	ck_assert_msg(strstr(err, "deeper than 3"), "%s", err);
	struct hvt_event *ev = hvt_event_from_json(L("{\"type\":\"a.b\",\"data\":{\"x\":1}}"), &lim,
						   false, err, sizeof err);
	ck_assert_msg(ev != NULL, "%s", err);
	hvt_event_free(ev);
}
END_TEST

START_TEST(rejects_oversized)
{
	struct hvt_event_limits lim = hvt_event_default_limits;
	char big[400], text[1200], err[256];
	struct hvt_event *ev;

	memset(big, 'h', 257);
	big[257] = '\0';
	snprintf(text, sizeof text, "{\"type\":\"a.b\",\"host\":\"%s\"}", big);
	expect_reject(text, false, "field 'host' is 257 bytes");
	big[256] = '\0';          /* exactly at the limit is fine */
	snprintf(text, sizeof text, "{\"type\":\"a.b\",\"host\":\"%s\"}", big);
	ev = decode(text, false, err, sizeof err);
	ck_assert_msg(ev != NULL, "%s", err);
	hvt_event_free(ev);

	lim.max_msg = 10;
	ev = hvt_event_from_json(L("{\"type\":\"a.b\",\"msg\":\"0123456789a\"}"), &lim, false,
				 err, sizeof err);
	ck_assert_ptr_null(ev);
	ck_assert_msg(strstr(err, "field 'msg' is 11 bytes"), "%s", err);

	lim = hvt_event_default_limits;
	lim.max_json = 20;
	ev = hvt_event_from_json(L("{\"type\":\"abc.def.ghi\"}"), &lim, false, err, sizeof err);
	ck_assert_ptr_null(ev);
	ck_assert_msg(strstr(err, "22 bytes, more than the limit of 20"), "%s", err);

	/* the limit counts bytes, not characters: 200 x 2-byte é = 400 bytes */
	struct hvt_buf b = { 0 };
	hvt_buf_append_str(&b, "{\"type\":\"a.b\",\"vm\":{\"name\":\"");
	for (int i = 0; i < 200; i++)
		hvt_buf_append_str(&b, "\xc3\xa9");
	hvt_buf_append_str(&b, "\"}}");
	expect_reject(hvt_buf_cstr(&b), false, "field 'name' is 400 bytes");
	hvt_buf_free(&b);
}
END_TEST

START_TEST(rejects_wrong_types)
{
	expect_reject("{\"type\":7}", false, "'type' must be a string");
	expect_reject("{\"type\":\"a.b\",\"host\":{}}", false, "'host' must be a string");
	expect_reject("{\"type\":\"a.b\",\"seq\":\"7\"}", false, "'seq' must be a positive integer");
	expect_reject("{\"type\":\"a.b\",\"seq\":0}", false, "'seq' must be a positive integer");
	expect_reject("{\"type\":\"a.b\",\"seq\":-1}", false, "'seq' must be a positive integer");
	expect_reject("{\"type\":\"a.b\",\"seq\":1.5}", false, "'seq' must be a positive integer");
	expect_reject("{\"type\":\"a.b\",\"vm\":\"x\"}", false, "'vm' must be an object");
	expect_reject("{\"type\":\"a.b\",\"vm\":{\"name\":1}}", false, "'name' must be a string");
	expect_reject("{\"type\":\"a.b\",\"data\":[1]}", false, "'data' must be an object");
	expect_reject("{\"type\":\"a.b\",\"severity\":\"loud\"}", false, "not a syslog severity");
	expect_reject("{\"type\":\"a.b\",\"ts\":\"yesterday\"}", false, "'ts' is not an RFC 3339");
	expect_reject("{\"type\":\"a.b\",\"ts\":12}", false, "'ts' must be a string");
	expect_reject("{\"type\":\"a.b\",\"v\":2}", false, "unsupported event version");
	expect_reject("{\"type\":\"a.b\",\"v\":\"1\"}", false, "unsupported event version");
	expect_reject("{\"type\":\"a.b\",\"msg\":\"a\\u0000b\"}", false, "NUL character");
	expect_reject("[{\"type\":\"a.b\"}]", false, "must be a JSON object");
	expect_reject("\"a.b\"", false, "must be a JSON object");
	expect_reject("{\"type\":\"Migration.Completed\"}", false, "dotted lowercase");
	expect_reject("{\"type\":\"a.b\",\"late\":\"no\"}", false, "'late' must be true or false");
	expect_reject("{\"type\":\"a.b\",\"truncated\":1}", false, "'truncated' must be true or false");

	/* false flags are as good as absent */
	char err[256];
	struct hvt_event *ev = decode("{\"type\":\"a.b\",\"late\":false,\"truncated\":null}", false,
				      err, sizeof err);
	ck_assert_msg(ev != NULL, "%s", err);
	ck_assert_uint_eq(ev->flags, 0);
	hvt_event_free(ev);
}
END_TEST

START_TEST(rejects_missing_identity_when_required)
{
	static const char *const keys[] = { "id", "host", "stream", "source", "seq", "ts" };
	const char *full = "{\"id\":\"s-1\",\"host\":\"h\",\"stream\":\"s\",\"seq\":1,\"source\":\"qmp\","
			   "\"type\":\"a.b\",\"ts\":\"2026-11-22T10:00:00Z\"}";
	char err[256], text[512];
	struct hvt_event *ev = decode(full, true, err, sizeof err);

	ck_assert_msg(ev != NULL, "%s", err);
	hvt_event_free(ev);
	for (size_t i = 0; i < HVT_ARRAY_SIZE(keys); i++) {
		/* drop "key":value from the full object */
		json_object *o = json_tokener_parse(full);
		char why[64];
		json_object_object_del(o, keys[i]);
		snprintf(text, sizeof text, "%s",
			 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		snprintf(why, sizeof why, "missing field '%s'", keys[i]);
		expect_reject(text, true, why);
		/* the same object is fine from a local tool */
		ev = decode(text, false, err, sizeof err);
		ck_assert_msg(ev != NULL, "without %s: %s", keys[i], err);
		hvt_event_free(ev);
	}
	expect_reject("{\"host\":\"h\"}", false, "missing field 'type'");
	/* null counts as missing */
	expect_reject("{\"id\":null,\"host\":\"h\",\"stream\":\"s\",\"seq\":1,\"source\":\"qmp\","
		      "\"type\":\"a.b\",\"ts\":\"2026-11-22T10:00:00Z\"}", true, "missing field 'id'");
}
END_TEST

START_TEST(rejects_trailing_garbage)
{
	expect_reject("{\"type\":\"a.b\"} x", false, "");
	expect_reject("{\"type\":\"a.b\"}{\"type\":\"a.b\"}", false, "");
	expect_reject("{\"type\":\"a.b\"", false, "incomplete");
	expect_reject("", false, "incomplete");
	expect_reject("{\"type\":\"a.b\",}", false, "not valid JSON");
	expect_reject("{'type':'a.b'}", false, "not valid JSON");

	/* a NUL byte inside the given length is not the end of the input */
	char err[256];
	ck_assert_ptr_null(hvt_event_from_json("{\"type\":\"a.b\"}\0xyz", 18, NULL, false, err,
					       sizeof err));
	ck_assert_msg(strstr(err, "trailing data"), "%s", err);
	/* a raw control character inside a string (strict JSON) */
	ck_assert_ptr_null(hvt_event_from_json("{\"type\":\"a.b\",\"msg\":\"a\0b\"}", 26, NULL, false,
					       err, sizeof err));
	/* the text need not be NUL-terminated: only len bytes are read */
	char exact[15];
	memcpy(exact, "{\"type\":\"a.b\"}", 14);
	exact[14] = 'X';
	struct hvt_event *ev = hvt_event_from_json(exact, 14, NULL, false, err, sizeof err);
	ck_assert_msg(ev != NULL, "%s", err);
	hvt_event_free(ev);
}
END_TEST

/* json-c keeps the last of two equal keys, other readers the first: an
 * event whose host or type is two things is refused (#15), however the
 * second copy is spelled; equal keys in different objects are fine. */
START_TEST(rejects_duplicate_keys)
{
	expect_reject("{\"type\":\"a.b\",\"host\":\"hv1\",\"host\":\"hv2\"}", false, "repeats a key");
	expect_reject("{\"type\":\"a.b\",\"type\":\"a.b\"}", false, "repeats a key");
	expect_reject("{\"type\":\"a.b\",\"\\u0074ype\":\"c.d\"}", false, "repeats a key");
	expect_reject("{\"type\":\"a.b\",\"data\":{\"x\":[{\"k\":1,\"k\":2}]}}", false, "repeats a key");
	expect_reject("{\"type\":\"a.b\",\"data\":{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}}", false,
		      "repeats a key");
	expect_reject("{\"type\":\"a.b\",\"data\":{\"a\\\"b\":1,\"a\\u0022b\":2}}", false, "repeats a key");

	const char *ok[] = {
		"{\"type\":\"a.b\",\"data\":{\"type\":\"x\",\"v\":{\"type\":1}},\"vm\":{\"name\":\"n\"}}",
		"{\"type\":\"a.b\",\"data\":{\"k\":\"k\",\"l\":[\"k\",\"k\",{\"k\":1},{\"k\":2}]}}",
		"{\"type\":\"a.b\",\"data\":{\"a\\\"b\":1,\"a\\\\b\":2,\"ab\":3,\"\\u00e9\":4,\"e\":5}}",
		"{\"type\":\"a.b\",\"msg\":\"\\\"type\\\":\",\"data\":{}}",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		char err[256];
		struct hvt_event *ev = hvt_event_from_json(ok[i], strlen(ok[i]), NULL, false, err, sizeof err);
		ck_assert_msg(ev != NULL, "refused %s: %s", ok[i], err);
		hvt_event_free(ev);
	}
	/* many keys (sorted, not compared pairwise) */
	struct hvt_buf b = { 0 };
	hvt_buf_append_str(&b, "{\"type\":\"a.b\",\"data\":{");
	for (int i = 0; i < 5000; i++)
		hvt_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	hvt_buf_append_str(&b, "}}");
	ck_assert(!hvt_json_has_duplicate_keys(b.data, b.len));
	hvt_buf_reset(&b);
	hvt_buf_append_str(&b, "{\"type\":\"a.b\",\"data\":{");
	for (int i = 0; i < 5000; i++)
		hvt_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i == 4999 ? 17 : i, i);
	hvt_buf_append_str(&b, "}}");
	ck_assert(hvt_json_has_duplicate_keys(b.data, b.len));
	hvt_buf_free(&b);
}
END_TEST

START_TEST(type_names)
{
	static const char *const good[] = {
		"a", "migration.completed", "journal.gap", "colo.failover", "x_1.y2.z3",
		"0123456789012345678901234567890123456789012345678901234567890123",  /* 64 */
	};
	static const char *const bad[] = {
		"", ".a", "a.", "a..b", "A.b", "a b", "a/b", "a.b\n", "\xc3\xa9.b", "-", "a.-",
		"01234567890123456789012345678901234567890123456789012345678901234",  /* 65 */
	};

	for (size_t i = 0; i < HVT_ARRAY_SIZE(good); i++)
		ck_assert_msg(hvt_type_valid(good[i]), "'%s' refused", good[i]);
	for (size_t i = 0; i < HVT_ARRAY_SIZE(bad); i++)
		ck_assert_msg(!hvt_type_valid(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(severities)
{
	ck_assert_str_eq(hvt_severity_name(0), "emerg");
	ck_assert_str_eq(hvt_severity_name(7), "debug");
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(hvt_severity_parse(hvt_severity_name(i)), i);
	ck_assert_int_eq(hvt_severity_parse("error"), 3);
	ck_assert_int_eq(hvt_severity_parse("Warn"), 4);
	ck_assert_int_eq(hvt_severity_parse("verbose"), -1);
	ck_assert_int_eq(hvt_severity_parse(""), -1);
}
END_TEST

static Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, round_trip_every_field);
	tcase_add_test(tc, key_order_and_omitted_fields);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, unicode_escapes_decode_to_utf8);
	tcase_add_test(tc, failed_parse_leaves_no_state);
	tcase_add_test(tc, data_objects);
	tcase_add_test(tc, minimal_local_event);
	suite_add_tcase(s, tc);
	tc = tcase_create("reject");
	tcase_add_test(tc, rejects_invalid_utf8);
	tcase_add_test(tc, rejects_too_deep);
	tcase_add_test(tc, rejects_oversized);
	tcase_add_test(tc, rejects_wrong_types);
	tcase_add_test(tc, rejects_missing_identity_when_required);
	tcase_add_test(tc, rejects_trailing_garbage);
	tcase_add_test(tc, rejects_duplicate_keys);
	tcase_add_test(tc, type_names);
	tcase_add_test(tc, severities);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(event_suite());
}
