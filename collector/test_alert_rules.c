/* test_alert_rules.c - alert rules: which events match, and how the dedup
 * window and the rate limit thin out a burst (collector/alert_rules.h).
 * The rules are parsed from config text with the collector's own schema. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_rules.h"
#include "conf.h"
#include "log.h"
#include "schema.h"
#include "util.h"

static struct hvt_conf *conf;

/* The rule of the first [alert:...] section of text; NULL if refused. */
static struct alert_rule *rule_from(const char *text)
{
	conf = hvt_conf_load_string(text, "test.conf", "test");
	ck_assert_ptr_nonnull(conf);
	struct hvt_conf_section *s = conf->sections;
	ck_assert_ptr_nonnull(s);
	hvt_conf_check_section(conf, s, col_schema_alert);
	ck_assert_int_eq(conf->errors, 0);
	return alert_rule_parse(conf, s, col_schema_alert);
}

static void done(struct alert_rule *r)
{
	alert_rule_free(r);
	hvt_conf_free(conf);
	conf = NULL;
}

static struct alert_view view(const char *host, const char *type, const char *vm, const char *raw)
{
	return (struct alert_view){
		.host = host, .type = type, .vm_name = vm, .id = "0123456789abcdef-7", .severity = 2,
		.ts_us = 1795341600000000LL, .raw = raw, .raw_len = raw ? strlen(raw) : 0,
	};
}

START_TEST(type_globs_host_and_vm)
{
	struct alert_rule *r = rule_from("[alert:mig]\ntype = migration.failed, migration.incoming.*\n"
					 "host = hv?.test\nvm = web*\nactions = webhook:pager, act_exec:x\n");
	ck_assert_ptr_nonnull(r);
	struct alert_view a = view("hv1.test", "migration.failed", "web01", NULL);
	struct alert_view b = view("hv2.test", "migration.incoming.failed", "web02", NULL);
	struct alert_view c = view("hv1.test", "migration.completed", "web01", NULL);
	struct alert_view d = view("db1.test", "migration.failed", "web01", NULL);
	struct alert_view e = view("hv1.test", "migration.failed", "db01", NULL);
	struct alert_view f = view("hv1.test", "migration.failed", NULL, NULL);
	ck_assert(alert_rule_matches(r, &a));
	ck_assert(alert_rule_matches(r, &b));
	ck_assert(!alert_rule_matches(r, &c));
	ck_assert(!alert_rule_matches(r, &d));
	ck_assert(!alert_rule_matches(r, &e));
	ck_assert(!alert_rule_matches(r, &f));       /* vm= needs a VM */
	/* the short action form names the act_ section */
	ck_assert_str_eq(r->actions[0], "act_webhook:pager");
	ck_assert_str_eq(r->actions[1], "act_exec:x");
	done(r);
}
END_TEST

START_TEST(vm_matches_uuid_too)
{
	struct alert_rule *r = rule_from("[alert:u]\ntype = *\nvm = 5f0c3c56-*\n");
	struct alert_view a = view("hv1", "vm.started", "web01", NULL);

	ck_assert(!alert_rule_matches(r, &a));
	a.vm_uuid = "5f0c3c56-3d6e-4f3a-9d0e-2a51c4b0e7a1";
	ck_assert(alert_rule_matches(r, &a));
	done(r);
}
END_TEST

START_TEST(match_on_data_fields)
{
	struct alert_rule *r = rule_from("[alert:colo]\ntype = colo.failover\n"
					 "match = side=secondary, data.service_here=true, reason!=request, "
					 "colo_status.mode=n*\n");
	const char *yes = "{\"type\":\"colo.failover\",\"data\":{\"side\":\"secondary\",\"service_here\":true,"
			  "\"reason\":\"error\",\"colo_status\":{\"mode\":\"none\"}}}";
	const char *req = "{\"type\":\"colo.failover\",\"data\":{\"side\":\"secondary\",\"service_here\":true,"
			  "\"reason\":\"request\",\"colo_status\":{\"mode\":\"none\"}}}";
	const char *pri = "{\"type\":\"colo.failover\",\"data\":{\"side\":\"primary\",\"service_here\":true,"
			  "\"colo_status\":{\"mode\":\"none\"}}}";
	const char *nodata = "{\"type\":\"colo.failover\"}";
	struct alert_view a = view("hv2", "colo.failover", "web01", yes);
	struct alert_view b = view("hv2", "colo.failover", "web01", req);
	struct alert_view c = view("hv2", "colo.failover", "web01", pri);
	struct alert_view d = view("hv2", "colo.failover", "web01", nodata);

	ck_assert(alert_rule_matches(r, &a));
	ck_assert(!alert_rule_matches(r, &b));
	ck_assert(!alert_rule_matches(r, &c));
	ck_assert(!alert_rule_matches(r, &d));
	alert_view_free(&a);
	alert_view_free(&b);
	alert_view_free(&c);
	alert_view_free(&d);
	done(r);
}
END_TEST

START_TEST(severity_threshold)
{
	struct alert_rule *r = rule_from("[alert:s]\ntype = *\nseverity = warning\n");
	struct alert_view a = view("h", "x.y", NULL, NULL);

	a.severity = 4;
	ck_assert(alert_rule_matches(r, &a));
	a.severity = 5;
	ck_assert(!alert_rule_matches(r, &a));
	done(r);
}
END_TEST

START_TEST(refuses_bad_rules)
{
	static const char *const bad[] = {
		"[alert:a]\nhost = *\n",                               /* fires on nothing */
		"[alert:b]\ntype = x\nmatch = novalue\n",              /* not FIELD=GLOB */
		"[alert:c]\ntype = x\nrate_limit = 10\n",              /* not N/PERIOD */
		"[alert:d]\ntype = x\nrate_limit = 0/1m\n",
		"[alert:e]\ntype = x\nseverity = loud\n",
		"[alert:f]\nsilent_after = 5m\ntype = x\n",            /* silence rules watch hosts */
		"[alert]\ntype = x\n",                                 /* no name */
	};
	for (size_t i = 0; i < HVT_ARRAY_SIZE(bad); i++) {
		conf = hvt_conf_load_string(bad[i], "test.conf", "test");
		hvt_conf_check_section(conf, conf->sections, col_schema_alert);
		ck_assert_ptr_null(alert_rule_parse(conf, conf->sections, col_schema_alert));
		ck_assert_int_gt(conf->errors, 0);
		hvt_conf_free(conf);
	}
	conf = NULL;
}
END_TEST

START_TEST(rate_parse)
{
	int n;
	long long ms;

	ck_assert_int_eq(alert_rate_parse("10/1m", &n, &ms), 0);
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(ms, 60000);
	ck_assert_int_eq(alert_rate_parse("3/250ms", &n, &ms), 0);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(alert_rate_parse("x/1m", &n, &ms), -1);
	ck_assert_int_eq(alert_rate_parse("5/", &n, &ms), -1);
	ck_assert_int_eq(alert_rate_parse("5/0", &n, &ms), -1);
}
END_TEST

START_TEST(dedup_window_per_key)
{
	struct alert_rule *r = rule_from("[alert:d]\ntype = *\ndedup_window = 1m\n");
	struct alert_view a = view("hv1", "colo.failover", "web01", NULL);
	struct alert_view b = view("hv1", "colo.failover", "web02", NULL);
	char *ka = alert_dedup_key(&a), *kb = alert_dedup_key(&b);

	ck_assert_int_eq(alert_rule_decide(r, ka, 1000), ALERT_FIRE);
	ck_assert_int_eq(alert_rule_decide(r, ka, 2000), ALERT_DEDUP);
	ck_assert_int_eq(alert_rule_decide(r, kb, 3000), ALERT_FIRE);       /* another VM */
	ck_assert_int_eq(alert_rule_decide(r, ka, 60999), ALERT_DEDUP);
	ck_assert_uint_eq(r->suppressed, 1);     /* since the rule last fired (for web02) */
	ck_assert_int_eq(alert_rule_decide(r, ka, 61000), ALERT_FIRE);      /* the window passed */
	ck_assert_uint_eq(r->suppressed, 0);
	free(ka);
	free(kb);
	done(r);
}
END_TEST

START_TEST(rate_limit_sliding)
{
	struct alert_rule *r = rule_from("[alert:r]\ntype = *\nrate_limit = 3/10s\n");
	char key[32];

	/* distinct keys: only the rate limit applies */
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof key, "k%d", i);
		ck_assert_int_eq(alert_rule_decide(r, key, 1000 + i), ALERT_FIRE);
	}
	ck_assert_int_eq(alert_rule_decide(r, "k3", 5000), ALERT_RATE);
	ck_assert_int_eq(alert_rule_decide(r, "k4", 10999), ALERT_RATE);
	ck_assert_uint_eq(r->suppressed, 2);
	/* the first fire leaves the window at 11000: one slot opens */
	ck_assert_int_eq(alert_rule_decide(r, "k5", 11000), ALERT_FIRE);
	ck_assert_int_eq(alert_rule_decide(r, "k6", 11000), ALERT_RATE);
	ck_assert_int_eq(alert_rule_decide(r, "k7", 11002), ALERT_FIRE);
	done(r);
}
END_TEST

START_TEST(dedup_does_not_use_up_the_rate)
{
	struct alert_rule *r = rule_from("[alert:b]\ntype = *\nrate_limit = 2/1m\ndedup_window = 1m\n");

	ck_assert_int_eq(alert_rule_decide(r, "same", 0), ALERT_FIRE);
	for (int i = 1; i < 50; i++)
		ck_assert_int_eq(alert_rule_decide(r, "same", i), ALERT_DEDUP);
	ck_assert_int_eq(alert_rule_decide(r, "other", 100), ALERT_FIRE);
	ck_assert_int_eq(alert_rule_decide(r, "third", 200), ALERT_RATE);
	done(r);
}
END_TEST

START_TEST(state_rebuilt_after_restart)
{
	struct alert_rule *r = rule_from("[alert:x]\ntype = *\nrate_limit = 2/1m\ndedup_window = 30s\n");

	/* what alerts.db says fired before the restart */
	alert_rule_note_fired(r, "a", 1000);
	alert_rule_note_fired(r, "b", 2000);
	ck_assert_int_eq(alert_rule_decide(r, "a", 3000), ALERT_DEDUP);
	ck_assert_int_eq(alert_rule_decide(r, "c", 3000), ALERT_RATE);
	ck_assert_int_eq(alert_rule_decide(r, "c", 61000), ALERT_FIRE);
	done(r);
}
END_TEST

START_TEST(summary_template)
{
	struct alert_rule *r = rule_from("[alert:colo]\ntype = colo.failover\n"
					 "summary = COLO failover on {host}: VM {vm}, {data.side} side, here: "
					 "{data.service_here}, {data.nope} [{rule}/{severity}] {time}\n");
	const char *raw = "{\"data\":{\"side\":\"secondary\",\"service_here\":true}}";
	struct alert_view v = view("hv2.test", "colo.failover", "web01", raw);
	char *s = alert_summary(r, &v, "abc");

	ck_assert_str_eq(s, "COLO failover on hv2.test: VM web01, secondary side, here: true, - [colo/crit] "
			 "2026-11-22T10:00:00.000000Z");
	free(s);
	alert_view_free(&v);
	done(r);
	r = rule_from("[alert:plain]\ntype = *\n");
	v = view("hv1", "journal.gap", NULL, NULL);
	s = alert_summary(r, &v, "abc");
	ck_assert_str_eq(s, "journal.gap on hv1");
	free(s);
	done(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("alert_rules");
	TCase *m = tcase_create("matching");
	TCase *d = tcase_create("decisions");

	tcase_add_test(m, type_globs_host_and_vm);
	tcase_add_test(m, vm_matches_uuid_too);
	tcase_add_test(m, match_on_data_fields);
	tcase_add_test(m, severity_threshold);
	tcase_add_test(m, refuses_bad_rules);
	tcase_add_test(m, summary_template);
	tcase_add_test(d, rate_parse);
	tcase_add_test(d, dedup_window_per_key);
	tcase_add_test(d, rate_limit_sliding);
	tcase_add_test(d, dedup_does_not_use_up_the_rate);
	tcase_add_test(d, state_rebuilt_after_restart);
	suite_add_tcase(s, m);
	suite_add_tcase(s, d);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	hvt_log_init("test_alert_rules");
	hvt_log_set_level(LOG_CRIT);      /* refused rules are reported; not the subject here */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
