/* test_incidents.c - the incident state machines (collector/incident.h):
 * COLO pairs (protection lost, split brain, restored) and failed migrations,
 * fed event by event with their own clock, in both orders, with resends,
 * and across a save and load of their state. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "util.h"

#define S 1000000LL
#define T0 (1795341600LL * S)
#define WAIT (5 * S)

struct fed {
	struct incident_input in;
	json_object *data;
};

/* An input: host, type, id, event time (s after T0), data as JSON text. */
static struct incident_input input(const char *host, const char *type, const char *id, double t,
				   const char *data, json_object **keep)
{
	*keep = data ? json_tokener_parse(data) : NULL;
	return (struct incident_input){
		.host = host, .type = type, .id = id, .vm_name = "web01", .vm_uuid = "u-1",
		.severity = 4, .ts_us = T0 + (long long)(t * S), .data = *keep,
	};
}

static bool feed_colo(struct colo_pair *p, const char *host, const char *type, const char *id, double t,
		      const char *data, long long now, struct incident_out *out)
{
	json_object *d;
	struct incident_input in = input(host, type, id, t, data, &d);
	bool changed = colo_feed(p, &in, now, WAIT, out);

	json_object_put(d);
	return changed;
}

static const char *dstr(const struct hvt_event *ev, const char *key)
{
	json_object *v;

	return ev->data && json_object_object_get_ex(ev->data, key, &v) && v ? json_object_get_string(v) : NULL;
}

static struct colo_pair protected_pair(void)
{
	struct colo_pair p;
	struct incident_out out = { 0 };

	colo_pair_init(&p, "web01", "u-1");
	feed_colo(&p, "hv1", "colo.entered", "a-1", 0, "{\"mode\":\"primary\"}", T0, &out);
	feed_colo(&p, "hv2", "colo.entered", "b-1", 0.2, "{\"mode\":\"secondary\"}", T0, &out);
	ck_assert_int_eq(out.n, 0);
	ck_assert_int_eq(p.state, COLO_PROTECTED);
	ck_assert_str_eq(p.primary, "hv1");
	ck_assert_str_eq(p.secondary, "hv2");
	return p;
}

/* Save and load, as the engine does between events. */
static void roundtrip(struct colo_pair *p)
{
	char *s = colo_pair_to_json(p);
	struct colo_pair q;

	ck_assert_int_eq(colo_pair_from_json(&q, s), 0);
	free(s);
	char *a = colo_pair_to_json(p), *b = colo_pair_to_json(&q);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	*p = q;
}

START_TEST(split_brain_is_one_incident)
{
	struct colo_pair p = protected_pair();
	struct incident_out out = { 0 };
	long long now = T0 + 100 * S;

	ck_assert(feed_colo(&p, "hv2", "colo.failover", "b-2", 100, "{\"side\":\"secondary\",\"service_here\":true}",
			    now, &out));
	ck_assert_int_eq(out.n, 0);
	ck_assert_int_eq(p.state, COLO_FAILING);
	roundtrip(&p);
	/* the same report again (a resend) changes nothing */
	ck_assert(!feed_colo(&p, "hv2", "colo.failover", "b-2", 100, "{\"service_here\":true}", now, &out));
	ck_assert(feed_colo(&p, "hv1", "colo.failover", "a-2", 101.6, "{\"side\":\"primary\",\"service_here\":true}",
			    now + S, &out));
	ck_assert_int_eq(out.n, 1);
	ck_assert_str_eq(out.v[0]->type, "colo.split_brain");
	ck_assert_int_eq(out.v[0]->severity, 2);
	ck_assert_str_eq(dstr(out.v[0], "host"), "hv1");    /* the former primary */
	json_object *on;
	ck_assert(json_object_object_get_ex(out.v[0]->data, "service_on", &on));
	ck_assert_int_eq(json_object_array_length(on), 2);
	ck_assert_int_eq(p.state, COLO_LOST);
	/* the wait ends: nothing more */
	ck_assert(!colo_due(&p, now + 10 * WAIT, &out));
	ck_assert_int_eq(out.n, 1);
	incident_out_clear(&out);
}
END_TEST

START_TEST(one_side_silent_waits_then_loses)
{
	struct colo_pair p = protected_pair();
	struct incident_out out = { 0 };
	long long now = T0 + 100 * S;

	feed_colo(&p, "hv2", "colo.failover", "b-2", 100, "{\"side\":\"secondary\",\"service_here\":true}", now, &out);
	ck_assert_int_eq(p.deadline_us, now + WAIT);
	ck_assert(!colo_due(&p, now + WAIT - 1, &out));
	ck_assert_int_eq(out.n, 0);
	roundtrip(&p);
	ck_assert(colo_due(&p, now + WAIT, &out));
	ck_assert_int_eq(out.n, 1);
	ck_assert_str_eq(out.v[0]->type, "colo.protection_lost");
	ck_assert_str_eq(dstr(out.v[0], "service_on"), "hv2");
	ck_assert_str_eq(dstr(out.v[0], "host"), "hv1");    /* where it was lost */
	ck_assert_ptr_nonnull(strstr(out.v[0]->msg, "hv1: no report"));
	/* the silent side speaks late, not claiming: no second incident */
	ck_assert(feed_colo(&p, "hv1", "vm.vanished", "a-3", 103, "{\"colo_mode\":\"primary\"}", now + 9 * S, &out));
	ck_assert_int_eq(out.n, 1);
	/* COLO again: restored, once for the pair's two reports */
	ck_assert(feed_colo(&p, "hv2", "colo.entered", "b-4", 200, "{\"mode\":\"primary\"}", now + 100 * S, &out));
	ck_assert(feed_colo(&p, "hv3", "colo.entered", "c-4", 200.1, "{\"mode\":\"secondary\"}", now + 100 * S,
			    &out));
	ck_assert_int_eq(out.n, 2);
	ck_assert_str_eq(out.v[1]->type, "colo.protection_restored");
	ck_assert_int_eq(p.state, COLO_PROTECTED);
	ck_assert_str_eq(p.primary, "hv2");
	ck_assert_str_eq(p.secondary, "hv3");
	incident_out_clear(&out);
}
END_TEST

START_TEST(member_vanished_first_then_failover)
{
	/* the primary is killed: its vm.vanished often arrives before the
	 * secondary's COLO_EXIT, and opens the failover */
	struct colo_pair p = protected_pair();
	struct incident_out out = { 0 };
	long long now = T0 + 100 * S;

	ck_assert(feed_colo(&p, "hv1", "vm.vanished", "a-2", 100, "{\"colo_mode\":\"primary\"}", now, &out));
	ck_assert_int_eq(p.state, COLO_FAILING);
	ck_assert(feed_colo(&p, "hv2", "colo.failover", "b-2", 100.3, "{\"service_here\":true}", now, &out));
	ck_assert_int_eq(out.n, 1);
	ck_assert_str_eq(out.v[0]->type, "colo.protection_lost");
	ck_assert_str_eq(dstr(out.v[0], "service_on"), "hv2");
	ck_assert_ptr_nonnull(strstr(out.v[0]->msg, "hv1: QEMU vanished"));
	incident_out_clear(&out);
}
END_TEST

START_TEST(paused_survivor_and_late_claims)
{
	/* the peer died mid-checkpoint: the survivor stays paused (no claim);
	 * x-colo-lost-heartbeat resumes it later (vm.resumed after the
	 * failover).  A late claim from the other side is a split brain. */
	struct colo_pair p = protected_pair();
	struct incident_out out = { 0 };
	long long now = T0 + 100 * S;

	feed_colo(&p, "hv2", "colo.failover", "b-2", 100, "{\"service_here\":false}", now, &out);
	feed_colo(&p, "hv1", "colo.failover", "a-2", 100.5, "{\"service_here\":false}", now, &out);
	ck_assert_int_eq(out.n, 1);
	ck_assert_str_eq(out.v[0]->type, "colo.protection_lost");
	ck_assert_ptr_null(dstr(out.v[0], "service_on"));
	ck_assert_ptr_nonnull(strstr(out.v[0]->msg, "no side reports running it"));
	ck_assert(feed_colo(&p, "hv2", "vm.resumed", "b-3", 130, "{\"after\":\"colo.failover\"}", now + 30 * S,
			    &out));
	ck_assert_int_eq(out.n, 1);
	ck_assert(feed_colo(&p, "hv1", "vm.resumed", "a-3", 131, "{\"after\":\"colo.failover\"}", now + 31 * S,
			    &out));
	ck_assert_int_eq(out.n, 2);
	ck_assert_str_eq(out.v[1]->type, "colo.split_brain");
	ck_assert(p.split);
	incident_out_clear(&out);
}
END_TEST

START_TEST(old_news_never_reopens)
{
	struct colo_pair p = protected_pair();
	struct incident_out out = { 0 };
	long long now = T0 + 100 * S;

	feed_colo(&p, "hv2", "colo.failover", "b-2", 100, "{\"service_here\":true}", now, &out);
	colo_due(&p, now + WAIT, &out);
	ck_assert_int_eq(out.n, 1);
	/* a late forwarder's colo.entered from before the failover */
	ck_assert(!feed_colo(&p, "hv1", "colo.entered", "a-0", 50, "{\"mode\":\"primary\"}", now + 20 * S, &out));
	ck_assert_int_eq(p.state, COLO_LOST);
	/* a vm.resumed that is no failover's is not fed at all (colo_relevant) */
	json_object *d;
	struct incident_input in = input("hv1", "vm.resumed", "a-9", 120, "{\"paused_ms\":3}", &d);
	ck_assert(!colo_relevant(&in));
	json_object_put(d);
	/* a failover an hour later, without COLO in between: a new episode */
	ck_assert(feed_colo(&p, "hv1", "colo.failover", "a-5", 3700, "{\"service_here\":true}", now + 3600 * S,
			    &out));
	ck_assert_int_eq(p.state, COLO_FAILING);
	ck_assert_str_eq(p.episode, "a-5");
	incident_out_clear(&out);
}
END_TEST

/* ---- migrations ------------------------------------------------------------- */

static bool feed_mig(struct mig_watch *w, const char *host, const char *type, const char *id, double t,
		     const char *data, int sev, long long now, struct incident_out *out)
{
	json_object *d;
	struct incident_input in = input(host, type, id, t, data, &d);
	in.link = "mig-x-1";
	in.severity = sev;
	ck_assert(mig_relevant(&in));
	bool changed = mig_feed(w, &in, now, WAIT, out);
	json_object_put(d);
	return changed;
}

static const char *killed = "{\"migration_role\":\"incoming\",\"migration_active\":true,"
			    "\"migration_status\":\"active\",\"cause\":\"killed or crashed\"}";

START_TEST(destination_died_either_order)
{
	for (int order = 0; order < 2; order++) {
		struct mig_watch w;
		struct incident_out out = { 0 };
		long long now = T0 + 10 * S;

		mig_watch_init(&w, "mig-x-1", "web01", "u-1");
		hvt_strlcpy(w.src_host, "hv1", sizeof w.src_host);
		hvt_strlcpy(w.tgt_host, "hv2", sizeof w.tgt_host);
		if (order == 0) {
			feed_mig(&w, "hv2", "vm.vanished", "b-3", 10, killed, 4, now, &out);
			ck_assert_int_eq(out.n, 0);
			ck_assert_int_eq(w.deadline_us, now + WAIT);
			feed_mig(&w, "hv1", "migration.failed", "a-3", 10.1, "{\"error\":\"Broken pipe\"}", 4, now, &out);
		} else {
			feed_mig(&w, "hv1", "migration.failed", "a-3", 10.1, "{\"error\":\"Broken pipe\"}", 4, now, &out);
			ck_assert_int_eq(out.n, 0);
			feed_mig(&w, "hv2", "vm.vanished", "b-3", 10, killed, 4, now, &out);
		}
		ck_assert_int_eq(out.n, 1);
		const struct hvt_event *ev = out.v[0];
		ck_assert_str_eq(ev->type, "migration.failed");
		ck_assert_str_eq(dstr(ev, "source_host"), "hv1");
		ck_assert_str_eq(dstr(ev, "target_host"), "hv2");
		ck_assert_str_eq(dstr(ev, "error"), "Broken pipe");
		ck_assert_str_eq(dstr(ev, "target_cause"), "killed or crashed");
		ck_assert_str_eq(dstr(ev, "link"), "mig-x-1");
		ck_assert(w.done);
		ck_assert(!mig_due(&w, now + 2 * WAIT, &out));
		/* a resend, or another report, after the decision: nothing */
		ck_assert(!feed_mig(&w, "hv2", "migration.incoming.failed", "b-4", 10.2, "{}", 4, now, &out));
		ck_assert_int_eq(out.n, 1);
		incident_out_clear(&out);
	}
}
END_TEST

START_TEST(cancelled_is_no_incident)
{
	struct mig_watch w;
	struct incident_out out = { 0 };
	long long now = T0 + 10 * S;

	mig_watch_init(&w, "mig-x-1", "web01", "u-1");
	feed_mig(&w, "hv2", "migration.incoming.failed", "b-3", 10, "{}", 4, now, &out);
	feed_mig(&w, "hv2", "vm.vanished", "b-4", 10.1, "{\"migration_role\":\"incoming\",\"cause\":\"exits\"}", 5,
		 now, &out);
	ck_assert(!w.done);
	char *s = mig_watch_to_json(&w);
	struct mig_watch q;
	ck_assert_int_eq(mig_watch_from_json(&q, s), 0);
	free(s);
	feed_mig(&q, "hv1", "migration.cancelled", "a-3", 10.2, "{}", 6, now, &out);
	ck_assert(q.done);
	ck_assert(!mig_due(&q, now + WAIT, &out));
	ck_assert_int_eq(out.n, 0);
}
END_TEST

START_TEST(silent_destination_after_the_wait)
{
	struct mig_watch w;
	struct incident_out out = { 0 };
	long long now = T0 + 10 * S;

	mig_watch_init(&w, "mig-x-1", "web01", "u-1");
	hvt_strlcpy(w.tgt_host, "hv2", sizeof w.tgt_host);
	feed_mig(&w, "hv1", "migration.failed", "a-3", 10, "{\"error\":\"reset\"}", 4, now, &out);
	ck_assert(!mig_due(&w, now + WAIT - 1, &out));
	ck_assert(mig_due(&w, now + WAIT, &out));
	ck_assert_int_eq(out.n, 1);
	ck_assert_str_eq(dstr(out.v[0], "target_outcome"), "no report");
	ck_assert_ptr_nonnull(strstr(out.v[0]->msg, "no report from the destination"));
	incident_out_clear(&out);
}
END_TEST

START_TEST(incident_types)
{
	ck_assert(incident_type("colo.split_brain"));
	ck_assert(incident_type("migration.failed"));
	ck_assert(!incident_type("colo.failover"));
	ck_assert(!incident_type("alert.fired"));
	ck_assert(!incident_type(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("incidents");
	TCase *c = tcase_create("colo");
	tcase_add_test(c, split_brain_is_one_incident);
	tcase_add_test(c, one_side_silent_waits_then_loses);
	tcase_add_test(c, member_vanished_first_then_failover);
	tcase_add_test(c, paused_survivor_and_late_claims);
	tcase_add_test(c, old_news_never_reopens);
	suite_add_tcase(s, c);
	c = tcase_create("migration");
	tcase_add_test(c, destination_died_either_order);
	tcase_add_test(c, cancelled_is_no_incident);
	tcase_add_test(c, silent_destination_after_the_wait);
	tcase_add_test(c, incident_types);
	suite_add_tcase(s, c);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
