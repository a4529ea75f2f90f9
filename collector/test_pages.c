/* test_pages.c - the alert lifecycle (collector/alert_page.h) and silences
 * (collector/alert_silence.h) with their own clock: grouping and
 * group_wait, updates rate-limited by group_interval, resolution, one-shot
 * alerts, muting and unmuting, acknowledgement; which members a silence
 * matches and which requests make one. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "alert_page.h"
#include "alert_silence.h"
#include "util.h"

#define S 1000000LL
#define T0 (1795341600LL * S)

static json_object *member(const char *host, const char *vm)
{
	json_object *m = json_object_new_object(), *hosts = json_object_new_array();
	char *key = page_member_key(host, NULL, vm);

	json_object_object_add(m, "m", json_object_new_string(key));
	json_object_object_add(m, "host", json_object_new_string(host));
	json_object_array_add(hosts, json_object_new_string(host));
	json_object_object_add(m, "hosts", hosts);
	json_object_object_add(m, "vm", vm ? json_object_new_string(vm) : NULL);
	json_object_object_add(m, "type", json_object_new_string("vm.vanished"));
	json_object_object_add(m, "summary", json_object_new_string(vm ? vm : host));
	free(key);
	return m;
}

/* Mutes the members whose VM is in the NULL-terminated list arg. */
static bool mute_vms(void *arg, json_object *page, json_object *m, char *why, size_t size)
{
	(void)page;
	for (const char *const *v = arg; v && *v; v++)
		if (page_str(m, "vm") && !strcmp(page_str(m, "vm"), *v)) {
			hvt_strlcpy(why, "silence x", size);
			return true;
		}
	return false;
}

static struct page_plan plan_at(json_object *p, long long t, void *muted)
{
	struct page_plan pl;

	page_plan(p, t, 60 * S, muted ? mute_vms : NULL, muted, &pl);
	if (pl.notify != PT_NONE || pl.muted_now || pl.close)
		page_apply(p, &pl, t, muted ? mute_vms : NULL, muted);
	return pl;
}

START_TEST(grouped_updated_resolved)
{
	json_object *p = page_new("k", 1, "gone", NULL, T0, 5 * S, false);
	struct page_plan pl;

	page_join(p, member("hv1", "web01"), T0);
	page_join(p, member("hv1", "web02"), T0 + S);
	pl = plan_at(p, T0 + 2 * S, NULL);
	ck_assert_int_eq(pl.notify, PT_NONE);
	ck_assert_int_eq(pl.wait_until_us, T0 + 5 * S);     /* group_wait */
	page_join(p, member("hv1", "web03"), T0 + 3 * S);
	pl = plan_at(p, T0 + 5 * S, NULL);
	ck_assert_int_eq(pl.notify, PT_OPENED);
	ck_assert_str_eq(page_str(p, "state"), "firing");
	ck_assert_int_eq(json_object_array_length(page_members(p)), 3);
	/* the same member again changes nothing people were told */
	page_join(p, member("hv1", "web01"), T0 + 6 * S);
	ck_assert_int_eq(plan_at(p, T0 + 100 * S, NULL).notify, PT_NONE);
	/* a new member: an update, but not within group_interval of the last */
	page_join(p, member("hv1", "web04"), T0 + 10 * S);
	pl = plan_at(p, T0 + 10 * S, NULL);
	ck_assert_int_eq(pl.notify, PT_NONE);
	ck_assert_int_eq(pl.wait_until_us, T0 + 65 * S);
	ck_assert_int_eq(plan_at(p, T0 + 65 * S, NULL).notify, PT_UPDATED);
	/* resolution by VM, on whatever host */
	ck_assert(page_resolve(p, NULL, "web01", "hv9", "e-1", T0 + 70 * S));
	ck_assert(!page_resolve(p, NULL, "web01", "hv9", "e-1", T0 + 70 * S));
	ck_assert_int_eq(plan_at(p, T0 + 200 * S, NULL).notify, PT_UPDATED);
	ck_assert(page_resolve(p, NULL, "web02", "hv1", "e-2", T0 + 201 * S));
	ck_assert(page_resolve(p, NULL, "web03", "hv1", "e-3", T0 + 201 * S));
	ck_assert(page_resolve(p, NULL, "web04", "hv1", "e-4", T0 + 201 * S));
	pl = plan_at(p, T0 + 201 * S, NULL);
	ck_assert_int_eq(pl.notify, PT_RESOLVED);      /* not rate-limited: all clear */
	ck_assert(pl.close);
	ck_assert_str_eq(page_str(p, "state"), "resolved");
	ck_assert_int_eq(plan_at(p, T0 + 300 * S, NULL).notify, PT_NONE);
	json_object_put(p);
}
END_TEST

START_TEST(one_shot_closes_and_can_be_acknowledged)
{
	json_object *p = page_new("k", 1, "mig", NULL, T0, 0, true);
	struct page_plan pl;

	page_join(p, member("hv1", "web01"), T0);
	pl = plan_at(p, T0, NULL);
	ck_assert_int_eq(pl.notify, PT_OPENED);
	ck_assert(pl.close);
	ck_assert_str_eq(page_str(p, "state"), "closed");
	ck_assert(page_ack(p, json_object_new_object(), "on it", T0 + S));
	ck_assert(!page_ack(p, json_object_new_object(), "again", T0 + S));
	ck_assert_int_eq(plan_at(p, T0 + S, NULL).notify, PT_ACKNOWLEDGED);
	ck_assert_int_eq(plan_at(p, T0 + 2 * S, NULL).notify, PT_NONE);
	json_object_put(p);
}
END_TEST

START_TEST(muted_then_unmuted)
{
	const char *muted[] = { "web01", "web02", NULL }, *none[] = { NULL };
	json_object *p = page_new("k", 1, "gone", NULL, T0, 0, false);
	struct page_plan pl;

	page_join(p, member("hv1", "web01"), T0);
	page_join(p, member("hv1", "web02"), T0);
	pl = plan_at(p, T0, muted);
	ck_assert_int_eq(pl.notify, PT_NONE);
	ck_assert(pl.muted_now);                 /* recorded once */
	ck_assert(!plan_at(p, T0 + S, muted).muted_now);
	/* the silence ends while they fire: told now */
	pl = plan_at(p, T0 + 2 * S, none);
	ck_assert_int_eq(pl.notify, PT_OPENED);
	json_object_put(p);

	/* muted all its life: resolves without anyone told */
	p = page_new("k", 2, "gone", NULL, T0, 0, false);
	page_join(p, member("hv1", "web01"), T0);
	ck_assert(plan_at(p, T0, muted).muted_now);
	page_resolve(p, NULL, "web01", NULL, "e", T0 + S);
	pl = plan_at(p, T0 + S, muted);
	ck_assert_int_eq(pl.notify, PT_NONE);
	ck_assert(pl.close);
	ck_assert_str_eq(page_str(p, "state"), "resolved");
	json_object_put(p);

	/* one of two muted: the page tells of the other only */
	const char *one[] = { "web02", NULL };
	json_object *active;
	p = page_new("k", 3, "gone", NULL, T0, 0, false);
	page_join(p, member("hv1", "web01"), T0);
	page_join(p, member("hv1", "web02"), T0);
	ck_assert_int_eq(page_active(p, mute_vms, one, &active), 2);
	ck_assert_int_eq(json_object_array_length(active), 1);
	json_object_put(active);
	ck_assert_int_eq(plan_at(p, T0, one).notify, PT_OPENED);
	json_object_put(p);
}
END_TEST

START_TEST(host_members_resolve_by_host)
{
	json_object *p = page_new("k", 1, "quiet", NULL, T0, 0, false);

	page_join(p, member("hv2", NULL), T0);
	ck_assert_int_eq(plan_at(p, T0, NULL).notify, PT_OPENED);
	ck_assert(!page_resolve(p, NULL, "web01", "hv1", "e", T0 + S));
	ck_assert(page_resolve(p, NULL, NULL, "hv2", NULL, T0 + S));
	ck_assert_int_eq(plan_at(p, T0 + S, NULL).notify, PT_RESOLVED);
	json_object_put(p);
}
END_TEST

/* ---- silences ---------------------------------------------------------------- */

static json_object *request(const char *text)
{
	json_object *r = json_tokener_parse(text);

	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(silence_requests)
{
	char err[300];
	long long now = T0;
	json_object *r, *s;
	const char *bad[] = {
		"{\"reason\":\"x\",\"duration_s\":60}",                                    /* no matchers */
		"{\"matchers\":{},\"reason\":\"x\",\"duration_s\":60}",
		"{\"matchers\":{\"colour\":\"red\"},\"reason\":\"x\",\"duration_s\":60}",
		"{\"matchers\":{\"vm\":\"web01\"},\"duration_s\":60}",                     /* no reason */
		"{\"matchers\":{\"vm\":\"web01\"},\"reason\":\"two\\nlines\",\"duration_s\":60}",
		"{\"matchers\":{\"vm\":\"web01\"},\"reason\":\"x\"}",                      /* no end */
		"{\"matchers\":{\"vm\":\"web01\"},\"reason\":\"x\",\"duration_s\":40000000}",
		"{\"matchers\":{\"vm\":\"web01\"},\"reason\":\"x\",\"ends\":1}",           /* in the past */
		"{\"matchers\":{\"vm\":5},\"reason\":\"x\",\"duration_s\":60}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		r = request(bad[i]);
		s = silence_from_request(r, "0123456789abcdef", json_object_new_object(), now, err, sizeof err);
		ck_assert_msg(!s, "accepted %s", bad[i]);
		ck_assert(err[0]);
		json_object_put(r);
	}
	/* a start in the past is now; a window later keeps its start */
	r = request("{\"matchers\":{\"vm\":\"web*\",\"host\":\"hv1*\"},\"reason\":\"x\",\"starts\":1,"
		    "\"duration_s\":7200,\"author\":\"ops\"}");
	s = silence_from_request(r, "0123456789abcdef", json_object_new_object(), now, err, sizeof err);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(page_int(s, "starts"), now);
	ck_assert_int_eq(page_int(s, "ends"), now + 7200 * S);
	char *text = silence_matchers_text(s);
	ck_assert_ptr_nonnull(strstr(text, "vm=web*"));
	free(text);

	json_object *page = page_new("k", 1, "gone", NULL, T0, 0, false);
	json_object *a = member("hv1.test", "web01"), *b = member("hv2.test", "web02"), *c = member("hv1.test", "db01");
	ck_assert(silence_matches(s, page, a));
	ck_assert(!silence_matches(s, page, b));       /* every matcher must hold */
	ck_assert(!silence_matches(s, page, c));
	/* a host matcher holds for any host a member involves (an incident's) */
	json_object_array_add(json_object_object_get(b, "hosts"), json_object_new_string("hv1.test"));
	json_object_object_add(b, "vm", json_object_new_string("web02"));
	ck_assert(silence_matches(s, page, b));
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
	json_object_put(page);
	json_object_put(s);
	json_object_put(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pages");
	TCase *c = tcase_create("lifecycle");
	tcase_add_test(c, grouped_updated_resolved);
	tcase_add_test(c, one_shot_closes_and_can_be_acknowledged);
	tcase_add_test(c, muted_then_unmuted);
	tcase_add_test(c, host_members_resolve_by_host);
	suite_add_tcase(s, c);
	c = tcase_create("silences");
	tcase_add_test(c, silence_requests);
	suite_add_tcase(s, c);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
