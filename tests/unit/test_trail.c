/* test_trail.c - the trail's shared rules (trail.h): stream and event ids,
 * the chain hash, and the control messages of the wire (rfc5424.h). */
#include "config.h"

#include "testutil.h"

#include <stdint.h>

#include "event.h"
#include "rfc5424.h"
#include "spool.h"
#include "trail.h"
#include "util.h"

#define STREAM "0123456789abcdef"

START_TEST(stream_ids)
{
	char a[HVT_STREAM_LEN + 1], b[HVT_STREAM_LEN + 1];

	hvt_stream_id_new(a);
	hvt_stream_id_new(b);
	ck_assert(hvt_stream_id_valid(a));
	ck_assert_str_ne(a, b);
	ck_assert(hvt_stream_id_valid(STREAM));
	ck_assert(!hvt_stream_id_valid("0123456789ABCDEF"));     /* lowercase only */
	ck_assert(!hvt_stream_id_valid("0123456789abcde"));
	ck_assert(!hvt_stream_id_valid("0123456789abcdef0"));
	ck_assert(!hvt_stream_id_valid(HVT_SYSLOG_STREAM));
	ck_assert(!hvt_stream_id_valid(""));
}
END_TEST

START_TEST(event_id_round_trip)
{
	char id[HVT_EVENT_ID_SIZE];
	size_t slen;
	uint64_t seq;

	ck_assert_int_eq(hvt_event_id_format(id, sizeof id, STREAM, 42), 19);
	ck_assert_str_eq(id, STREAM "-42");
	ck_assert(hvt_event_id_is(id, STREAM, 42));
	ck_assert(hvt_event_id_split(id, &slen, &seq));
	ck_assert_uint_eq(slen, HVT_STREAM_LEN);
	ck_assert_uint_eq(seq, 42);
	/* the largest seq survives both ways */
	hvt_event_id_format(id, sizeof id, "s", UINT64_MAX);
	ck_assert(hvt_event_id_split(id, &slen, &seq));
	ck_assert_uint_eq(seq, UINT64_MAX);
	/* a stream may itself contain '-': the last one separates */
	ck_assert(hvt_event_id_split("a-b-7", &slen, &seq));
	ck_assert_uint_eq(slen, 3);
	ck_assert_uint_eq(seq, 7);
}
END_TEST

START_TEST(event_id_refuses_other_shapes)
{
	static const char *const bad[] = {
		"", "nodash", "-7", "s-", "s-0", "s-07", "s-+7", "s- 7", "s-7x", "s-0x10",
		"s-18446744073709551616",   /* 2^64 */
	};
	size_t slen = 99;
	uint64_t seq = 99;

	for (size_t i = 0; i < HVT_ARRAY_SIZE(bad); i++)
		ck_assert_msg(!hvt_event_id_split(bad[i], &slen, &seq), "accepted '%s'", bad[i]);
	ck_assert_uint_eq(slen, 99);       /* untouched on failure */
	ck_assert(!hvt_event_id_is(STREAM "-042", STREAM, 42));
	ck_assert(!hvt_event_id_is(STREAM "-4", STREAM, 42));
	ck_assert(!hvt_event_id_is(STREAM "x-42", STREAM, 42));
	ck_assert(!hvt_event_id_is("0123456789abcde-42", STREAM, 42));
}
END_TEST

START_TEST(identity_check)
{
	struct hvt_event *ev = hvt_event_new("vm.started");
	char why[200];

	ck_assert(!hvt_event_identity_check(ev, why, sizeof why));
	ck_assert_str_eq(why, "it lacks host, stream, seq or id");
	hvt_event_set_str(&ev->host, "hv1");
	hvt_event_set_identity(ev, STREAM, 7);
	ck_assert_str_eq(ev->id, STREAM "-7");
	ck_assert_str_eq(ev->stream, STREAM);
	ck_assert_uint_eq(ev->seq, 7);
	ck_assert(hvt_event_identity_check(ev, why, sizeof why));
	ev->seq = 8;
	ck_assert(!hvt_event_identity_check(ev, why, sizeof why));
	ck_assert_str_eq(why, "its id '" STREAM "-7' is not <stream>-<seq> (" STREAM "-8)");
	hvt_event_free(ev);
}
END_TEST

/* The hash a spooled event is chained by is the SHA-256 of its JSON, the
 * same whether taken from the JSON, its RFC 5424 message or the spool. */
START_TEST(chain_hash_everywhere_the_same)
{
	struct hvt_event *ev = hvt_event_new("vm.started");
	struct hvt_buf json = { 0 }, msg = { 0 };
	char h1[HVT_SHA256_HEX], h2[HVT_SHA256_HEX], h3[HVT_SHA256_HEX], err[256];
	char *dir = tu_mkdtemp("trail");
	struct hvt_spool_opts o = { .dir = dir, .name = "spool" };
	struct hvt_spool *sp;
	uint64_t seq;

	hvt_event_set_str(&ev->host, "hv1");
	hvt_event_set_identity(ev, STREAM, 1);
	ev->ts_us = 1795350000123456LL;
	hvt_event_to_json(ev, &json);
	hvt_syslog_format(&msg, HVT_FACILITY_DAEMON, ev, json.data, json.len);
	hvt_chain_hash(json.data, json.len, h1);
	hvt_sha256_hex(json.data, json.len, h2);
	ck_assert_str_eq(h1, h2);
	ck_assert_int_eq(hvt_chain_hash_message(msg.data, msg.len, h2), 0);
	ck_assert_str_eq(h1, h2);
	ck_assert_int_eq(hvt_chain_hash_message("<14>1 - h app - - - not an event", 32, h2), -1);
	ck_assert_str_eq(h2, "");

	sp = hvt_spool_open(&o, err, sizeof err);
	ck_assert_msg(sp != NULL, "%s", err);
	ck_assert_int_eq(hvt_spool_append(sp, msg.data, msg.len, &seq), 0);
	ck_assert_int_eq(hvt_spool_commit(sp), 0);
	ck_assert_int_eq(hvt_chain_hash_spooled(sp, seq, h3), 0);
	ck_assert_str_eq(h1, h3);
	ck_assert_int_eq(hvt_chain_hash_spooled(sp, 0, h3), 0);     /* no event yet */
	ck_assert_str_eq(h3, "");
	ck_assert_int_eq(hvt_chain_hash_spooled(sp, seq + 1, h3), -1);
	hvt_spool_close(sp);
	hvt_buf_free(&json);
	hvt_buf_free(&msg);
	hvt_event_free(ev);
	tu_rmtree(dir);
}
END_TEST

START_TEST(control_messages)
{
	struct hvt_buf b = { 0 };
	struct hvt_syslog_msg m;
	const char *json;
	size_t jlen;
	char err[128];

	ck_assert_str_eq(hvt_control_names[HVT_CONTROL_SYNC], "hvtrail.sync");
	ck_assert_str_eq(hvt_control_names[HVT_CONTROL_STATS], "hvtrail.stats");
	ck_assert_str_eq(hvt_control_names[HVT_CONTROL_SEAL], "hvtrail.seal");
	for (int c = 0; c < HVT_CONTROL_COUNT; c++) {
		hvt_buf_reset(&b);
		hvt_syslog_format_control(&b, HVT_FACILITY_DAEMON, "hv1.test", c, "{\"a\":1}");
		ck_assert_int_eq(hvt_syslog_parse(b.data, b.len, &m, err, sizeof err), 0);
		ck_assert_int_eq(m.pri, HVT_FACILITY_DAEMON * 8 + HVT_SEV_INFO);
		ck_assert(hvt_syslog_is_event(&m, &json, &jlen));
		ck_assert(hvt_syslog_is_control(&m));
		ck_assert_int_eq(hvt_control_lookup(m.msgid, m.msgid_len), c);
		ck_assert_int_eq((int)jlen, 7);
		ck_assert(memcmp(json, "{\"a\":1}", 7) == 0);
		ck_assert_int_eq((int)m.hostname_len, 8);
	}
	ck_assert_int_eq(hvt_control_lookup("hvtrail.syn", 11), -1);
	ck_assert_int_eq(hvt_control_lookup("hvtrail.syncs", 13), -1);
	ck_assert_int_eq(hvt_control_lookup("hvtrail.", 8), -1);
	hvt_buf_free(&b);
}
END_TEST

static Suite *trail_suite(void)
{
	Suite *s = suite_create("trail");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, stream_ids);
	tcase_add_test(tc, event_id_round_trip);
	tcase_add_test(tc, event_id_refuses_other_shapes);
	tcase_add_test(tc, identity_check);
	tcase_add_test(tc, chain_hash_everywhere_the_same);
	tcase_add_test(tc, control_messages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(trail_suite());
}
