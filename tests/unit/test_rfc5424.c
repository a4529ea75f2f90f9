/* test_rfc5424.c - syslog framing: what the forwarder sends and what the
 * collector accepts from hvtrail and from a stock rsyslog. */
#include "config.h"

#include "testutil.h"

#include "event.h"
#include "rfc5424.h"
#include "util.h"

/* Compare a (pointer, length) field of a parsed message with a string. */
#define ck_field(m, f, want) do { \
	ck_assert_msg((m).f##_len == strlen(want) && memcmp((m).f, (want), (m).f##_len) == 0, \
		      #f " is '%.*s', want '%s'", (int)(m).f##_len, (m).f ? (m).f : "", (want)); \
} while (0)

static int parse(const char *line, struct hvt_syslog_msg *m, char *err, size_t n)
{
	err[0] = '\0';
	return hvt_syslog_parse(line, strlen(line), m, err, n);
}

static void expect_refused(const char *line, const char *why)
{
	struct hvt_syslog_msg m;
	char err[128];

	ck_assert_msg(parse(line, &m, err, sizeof err) == -1, "accepted: '%s'", line);
	ck_assert_msg(strstr(err, why), "for '%s': reason '%s' lacks '%s'", line, err, why);
}

START_TEST(format_then_parse)
{
	struct hvt_event *ev = hvt_event_new("migration.completed"), *back;
	struct hvt_buf json = { 0 }, line = { 0 };
	struct hvt_syslog_msg m;
	const char *j;
	size_t jl;
	char err[256];

	hvt_event_set_str(&ev->host, "hv1.test");
	hvt_event_set_str(&ev->id, "abc-1");
	hvt_event_set_str(&ev->stream, "abc");
	hvt_event_set_str(&ev->source, "qmp");
	ev->seq = 1;
	ev->severity = 5;
	ev->ts_us = 1795350000123456LL;
	hvt_event_set_msg(ev, "moved \"vm1\" with a space and ] and \xc3\xa9");
	hvt_event_to_json(ev, &json);
	hvt_syslog_format(&line, hvt_facility_parse("local0"), ev, json.data, json.len);

	char *want = hvt_asprintf("<133>1 2026-11-22T12:20:00.123456Z hv1.test hvtrail - "
				  "migration.completed - @cee:%s", json.data);
	ck_assert_str_eq(hvt_buf_cstr(&line), want);
	free(want);
	ck_assert_int_eq(parse(hvt_buf_cstr(&line), &m, err, sizeof err), 0);
	ck_assert_int_eq(m.pri, 133);
	ck_assert_int_eq(m.version, 1);
	ck_field(m, timestamp, "2026-11-22T12:20:00.123456Z");
	ck_field(m, hostname, "hv1.test");
	ck_field(m, app, "hvtrail");
	ck_field(m, procid, "-");
	ck_field(m, msgid, "migration.completed");
	ck_field(m, sd, "-");
	ck_assert(hvt_syslog_is_event(&m, &j, &jl));
	ck_assert_uint_eq(jl, json.len);
	ck_assert(memcmp(j, json.data, jl) == 0);
	back = hvt_event_from_json(j, jl, NULL, true, err, sizeof err);
	ck_assert_msg(back != NULL, "%s", err);
	ck_assert_str_eq(back->msg, ev->msg);
	hvt_event_free(back);
	hvt_event_free(ev);
	hvt_buf_free(&json);
	hvt_buf_free(&line);
}
END_TEST

START_TEST(format_sanitises_header)
{
	struct hvt_event *ev = hvt_event_new("a.very_long_type_name_that_goes_past.thirty_two");
	struct hvt_buf line = { 0 };
	struct hvt_syslog_msg m;
	char err[128];

	hvt_event_set_str(&ev->host, "evil host\n<13>1");
	ev->received_us = 1000000;      /* no ts: the receive time is used */
	ev->severity = 7;
	hvt_syslog_format(&line, 1, ev, "{}", 2);
	ck_assert_str_eq(hvt_buf_cstr(&line), "<15>1 1970-01-01T00:00:01.000000Z evil_host_<13>1 hvtrail - "
			 "a.very_long_type_name_that_goes_ - @cee:{}");
	ck_assert_int_eq(parse(hvt_buf_cstr(&line), &m, err, sizeof err), 0);
	ck_field(m, hostname, "evil_host_<13>1");
	ck_assert_uint_eq(m.msgid_len, 32);
	hvt_buf_free(&line);

	/* no host at all: the NILVALUE */
	hvt_event_set_str(&ev->host, NULL);
	hvt_syslog_format(&line, 1, ev, "{}", 2);
	ck_assert(strstr(hvt_buf_cstr(&line), "Z - hvtrail - "));
	hvt_buf_free(&line);
	hvt_event_free(ev);
}
END_TEST

START_TEST(rfc5424_structured_data_and_bom)
{
	/* the example from RFC 5424 section 6.5, with a BOM before MSG */
	const char *line = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
			   "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
			   "[examplePriority@32473 class=\"high\"] \xef\xbb\xbf" "An application event log entry";
	struct hvt_syslog_msg m;
	const char *j;
	size_t jl;
	char err[128];

	ck_assert_int_eq(parse(line, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.pri, 165);
	ck_assert_int_eq(m.version, 1);
	ck_field(m, timestamp, "2003-10-11T22:14:15.003Z");
	ck_field(m, hostname, "mymachine.example.com");
	ck_field(m, app, "evntslog");
	ck_field(m, msgid, "ID47");
	ck_field(m, sd, "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
		 "[examplePriority@32473 class=\"high\"]");
	ck_field(m, msg, "An application event log entry");
	ck_assert(!hvt_syslog_is_event(&m, &j, &jl));

	/* escaped ] and " inside a parameter value do not end the element */
	ck_assert_int_eq(parse("<13>1 - h a p m [x@1 k=\"a\\]b\\\"c] d\"] body", &m, err, sizeof err), 0);
	ck_field(m, sd, "[x@1 k=\"a\\]b\\\"c] d\"]");
	ck_field(m, msg, "body");
	ck_field(m, timestamp, "-");

	/* NILVALUE SD and no MSG at all */
	ck_assert_int_eq(parse("<13>1 2024-01-01T00:00:00Z h a 123 m -", &m, err, sizeof err), 0);
	ck_field(m, procid, "123");
	ck_assert_uint_eq(m.msg_len, 0);
}
END_TEST

START_TEST(rfc3164_classic)
{
	struct hvt_syslog_msg m;
	char err[128];

	ck_assert_int_eq(parse("<30>Nov 22 10:00:01 hv1 libvirtd[1234]: internal error: guest crashed",
			       &m, err, sizeof err), 0);
	ck_assert_int_eq(m.pri, 30);
	ck_assert_int_eq(m.version, 0);
	ck_field(m, timestamp, "Nov 22 10:00:01");
	ck_field(m, hostname, "hv1");
	ck_field(m, app, "libvirtd");
	ck_field(m, procid, "1234");
	ck_field(m, msg, "internal error: guest crashed");

	/* a space-padded day and a tag without a pid */
	ck_assert_int_eq(parse("<4>Feb  2 03:04:05 host kernel: kvm: zapping shadow pages", &m, err,
			       sizeof err), 0);
	ck_field(m, timestamp, "Feb  2 03:04:05");
	ck_field(m, hostname, "host");
	ck_field(m, app, "kernel");
	ck_assert_uint_eq(m.procid_len, 0);
	ck_field(m, msg, "kvm: zapping shadow pages");
}
END_TEST

START_TEST(rfc3164_rfc3339_timestamp)
{
	/* rsyslog's RSYSLOG_ForwardFormat (omfwd/omrelp default):
	 * <PRI>TIMESTAMP:date-rfc3339 HOSTNAME TAG MSG */
	struct hvt_syslog_msg m;
	const char *j;
	size_t jl;
	char err[128];

	ck_assert_int_eq(parse("<86>2026-11-22T10:00:00.123456+01:00 hv2 sudo:     root : TTY=pts/0",
			       &m, err, sizeof err), 0);
	ck_assert_int_eq(m.version, 0);
	ck_field(m, timestamp, "2026-11-22T10:00:00.123456+01:00");
	ck_field(m, hostname, "hv2");
	ck_field(m, app, "sudo");
	ck_field(m, msg, "    root : TTY=pts/0");

	/* an hvtrail event relayed by a stock rsyslog keeps being an event */
	ck_assert_int_eq(parse("<133>2026-11-22T08:20:00.123456+00:00 hv1 hvtrail @cee:{\"type\":\"a.b\"}",
			       &m, err, sizeof err), 0);
	ck_field(m, app, "hvtrail");
	ck_assert(hvt_syslog_is_event(&m, &j, &jl));
	ck_assert_uint_eq(jl, 14);
	ck_assert(memcmp(j, "{\"type\":\"a.b\"}", 14) == 0);
}
END_TEST

START_TEST(hostile_headers)
{
	expect_refused("", "does not start with <PRI>");
	expect_refused("Nov 22 10:00:01 hv1 x: y", "does not start with <PRI>");
	expect_refused(" <13>1 - - - - - -", "does not start with <PRI>");
	expect_refused("<>1 - - - - - -", "invalid <PRI>");
	expect_refused("<192>1 - - - - - -", "invalid <PRI>");
	expect_refused("<999>1 - - - - - -", "invalid <PRI>");
	expect_refused("<-1>1 - - - - - -", "invalid <PRI>");
	expect_refused("<13", "invalid <PRI>");
	expect_refused("<13 1 - - - - - -", "invalid <PRI>");
	expect_refused("<13>", "no timestamp");
	expect_refused("<13>1 ", "truncated RFC 5424 header");
	expect_refused("<13>1 2024-01-01T00:00:00Z host app", "truncated RFC 5424 header");
	expect_refused("<13>1 2024-01-01T00:00:00Z host app 1 msgid", "truncated RFC 5424 header");
	expect_refused("<13>1 2024-01-01T00:00:00Z  app 1 m -", "truncated RFC 5424 header");
	expect_refused("<13>1 - h a p m [x@1 k=\"never closed]", "invalid STRUCTURED-DATA");
	expect_refused("<13>1 - h a p m [x@1", "invalid STRUCTURED-DATA");
	expect_refused("<13>1 - h a p m body-without-sd", "invalid STRUCTURED-DATA");
	expect_refused("<13>Nov 22 10:00:01 ", "no hostname");
	expect_refused("<13>2026-11-22T10:00:00Z", "no timestamp");

	/* the edges that are allowed */
	struct hvt_syslog_msg m;
	char err[128];
	ck_assert_int_eq(parse("<191>1 - - - - - -", &m, err, sizeof err), 0);
	ck_assert_int_eq(m.pri, 191);
	ck_assert_int_eq(parse("<0>1 - - - - - -", &m, err, sizeof err), 0);
	ck_assert_int_eq(m.pri, 0);
	/* only len bytes are looked at */
	ck_assert_int_eq(hvt_syslog_parse("<13>1 - h a p m - xyz", 19, &m, err, sizeof err), 0);
	ck_field(m, msg, "x");
}
END_TEST

/* Header fields are PRINTUSASCII: a control byte in any of them refuses
 * the message (a host name of one NUL byte was stored as an empty host,
 * which then no index plugin accepted, wedging the indexer). */
START_TEST(control_bytes_in_header_fields)
{
	#define L(s) s, sizeof s - 1
	static const struct { const char *line; size_t len; const char *why; } bad[] = {
		{ L("<14>1 2024-05-01T00:00:00Z \0 prog - - - boom"), "HOSTNAME" },
		{ L("<14>1 2024-05-01T00:00:00Z h\x1b[2J prog - - - x"), "HOSTNAME" },
		{ L("<14>1 2024-05-01T00:00:00Z h p\x07 - - - x"), "APP-NAME" },
		{ L("<14>1 2024-05-01T00:00:00Z h p 1\x7f - - x"), "PROCID" },
		{ L("<14>1 2024-05-01T00:00:00Z h p 1 m\xc2\x9b - x"), "MSGID" },
		{ L("<14>1 2024-05-01T00:00:00\x01 h p 1 m - x"), "TIMESTAMP" },
		{ L("<14>1 - h\xc3\xa9 p 1 m - x"), "HOSTNAME" },
		{ L("<14>Nov 22 10:00:01 \0 prog: boom"), "HOSTNAME" },
		{ L("<14>Nov 22 10:00:01 h pr\x1bog: boom"), "TAG" },
		{ L("<14>Nov 22 10:00:01 h prog[1\xc2\x85]: boom"), "PID" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct hvt_syslog_msg m;
		char err[128] = "";
		ck_assert_msg(hvt_syslog_parse(bad[i].line, bad[i].len, &m, err, sizeof err) == -1,
			      "case %zu accepted", i);
		ck_assert_msg(strstr(err, bad[i].why), "case %zu: '%s' lacks '%s'", i, err, bad[i].why);
	}
	/* the message itself may hold anything: it is the payload */
	struct hvt_syslog_msg m;
	char err[128];
	ck_assert_int_eq(hvt_syslog_parse(L("<14>1 - h p 1 m - a\0b\x1b"), &m, err, sizeof err), 0);
	ck_assert_uint_eq(m.msg_len, 4);
	/* RFC 3164 tags may carry UTF-8 */
	ck_assert_int_eq(parse("<14>Nov 22 10:00:01 h caf\xc3\xa9[7]: x", &m, err, sizeof err), 0);
	ck_field(m, app, "caf\xc3\xa9");
}
END_TEST

START_TEST(is_event)
{
	struct hvt_syslog_msg m;
	const char *j = NULL;
	size_t jl = 99;
	char err[128];

	ck_assert_int_eq(parse("<13>1 - h hvtrail - a.b - @cee:", &m, err, sizeof err), 0);
	ck_assert(hvt_syslog_is_event(&m, &j, &jl));
	ck_assert_uint_eq(jl, 0);
	ck_assert_int_eq(parse("<13>1 - h hvtrail - a.b - {\"type\":\"a.b\"}", &m, err, sizeof err), 0);
	ck_assert(!hvt_syslog_is_event(&m, &j, &jl));       /* no cookie */
	ck_assert_int_eq(parse("<13>1 - h hvtrailx - a.b - @cee:{}", &m, err, sizeof err), 0);
	ck_assert(!hvt_syslog_is_event(&m, &j, &jl));
	ck_assert_int_eq(parse("<13>1 - h hvtrai - a.b - @cee:{}", &m, err, sizeof err), 0);
	ck_assert(!hvt_syslog_is_event(&m, &j, &jl));
	ck_assert_int_eq(parse("<13>1 - h rsyslogd - a.b - @cee:{}", &m, err, sizeof err), 0);
	ck_assert(!hvt_syslog_is_event(&m, &j, &jl));
	ck_assert_int_eq(parse("<13>1 - h hvtrail - a.b - @cee", &m, err, sizeof err), 0);
	ck_assert(!hvt_syslog_is_event(&m, &j, &jl));
	ck_assert_int_eq(parse("<13>1 - h HVTRAIL - a.b - @cee:{}", &m, err, sizeof err), 0);
	ck_assert(!hvt_syslog_is_event(&m, &j, &jl));
}
END_TEST

START_TEST(facilities)
{
	ck_assert_int_eq(hvt_facility_parse("kern"), 0);
	ck_assert_int_eq(hvt_facility_parse("daemon"), 3);
	ck_assert_int_eq(hvt_facility_parse("LOCAL7"), 23);
	ck_assert_int_eq(hvt_facility_parse("local8"), -1);
	ck_assert_int_eq(hvt_facility_parse(""), -1);
}
END_TEST

static Suite *rfc5424_suite(void)
{
	Suite *s = suite_create("rfc5424");
	TCase *tc = tcase_create("framing");

	tcase_add_test(tc, format_then_parse);
	tcase_add_test(tc, format_sanitises_header);
	tcase_add_test(tc, rfc5424_structured_data_and_bom);
	tcase_add_test(tc, rfc3164_classic);
	tcase_add_test(tc, rfc3164_rfc3339_timestamp);
	tcase_add_test(tc, hostile_headers);
	tcase_add_test(tc, control_bytes_in_header_fields);
	tcase_add_test(tc, is_event);
	tcase_add_test(tc, facilities);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(rfc5424_suite());
}
