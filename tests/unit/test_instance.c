/* test_instance.c - the plugin lifecycle lib/instance.c keeps (the contract
 * in hvtrail-plugin.h) and declared options (conf.h: HVT_CONF_FIELD). */
#include "config.h"

#include "testutil.h"

#include "conf.h"
#include "hvtrail-plugin.h"
#include "instance.h"

/* ---- declared options --------------------------------------------------- */

static const struct hvt_conf_key keys[] = {
	{ "name", HVT_CONF_STRING, "anon", "", NULL, 0, 0, 0 },
	{ "dir", HVT_CONF_PATH, "/var/x", "", NULL, 0, 0, 0 },
	{ "mode", HVT_CONF_ENUM, "a", "", "a|b", 0, 0, 0 },
	{ "count", HVT_CONF_INT, "3", "", NULL, 1, 10, 0 },
	{ "wait", HVT_CONF_DURATION, "2s", "", NULL, 0, 0, 0 },
	{ "on", HVT_CONF_BOOL, "no", "", NULL, 0, 0, 0 },
	{ "size", HVT_CONF_SIZE, "1K", "", NULL, 0, 0, 0 },
	{ "peers", HVT_CONF_LIST, "", "", NULL, 0, 0, 0 },
	{ "unfilled", HVT_CONF_STRING, "", "", NULL, 0, 0, 0 },
	HVT_CONF_END
};

struct opts {
	const char *name, *dir, *mode;
	long long count, wait;
	bool on;
	uint64_t size;
	char **peers;
};

static const struct hvt_conf_field fields[] = {
	HVT_CONF_FIELD(struct opts, name, "name"),
	HVT_CONF_FIELD(struct opts, dir, "dir"),
	HVT_CONF_FIELD(struct opts, mode, "mode"),
	HVT_CONF_FIELD(struct opts, count, "count"),
	HVT_CONF_FIELD(struct opts, wait, "wait"),
	HVT_CONF_FIELD(struct opts, on, "on"),
	HVT_CONF_FIELD(struct opts, size, "size"),
	HVT_CONF_FIELD(struct opts, peers, "peers"),
	HVT_CONF_FIELDS_END
};

START_TEST(fill_values_and_defaults)
{
	struct hvt_conf *c = hvt_conf_load_string("[x]\nname = bob\ncount = 7\nwait = 250ms\non = yes\n"
						  "size = 2M\npeers = a, b\npeers = c\n", "t.conf", "test");
	struct hvt_conf_section *s = hvt_conf_find(c, "x");
	char err[200];

	ck_assert_int_eq(hvt_conf_fields_check(keys, fields, err, sizeof err), 0);
	hvt_conf_check_section(c, s, keys);
	ck_assert_int_eq(c->errors, 0);
	const struct opts *o = hvt_conf_fill(s, keys, fields, sizeof(struct opts));
	ck_assert_str_eq(o->name, "bob");
	ck_assert_str_eq(o->dir, "/var/x");            /* defaults where unset */
	ck_assert_str_eq(o->mode, "a");
	ck_assert_int_eq(o->count, 7);
	ck_assert_int_eq(o->wait, 250);                /* durations in ms */
	ck_assert(o->on);
	ck_assert_uint_eq(o->size, 2u << 20);
	ck_assert_str_eq(o->peers[0], "a");
	ck_assert_str_eq(o->peers[1], "b");
	ck_assert_str_eq(o->peers[2], "c");
	ck_assert_ptr_null(o->peers[3]);
	/* once per section: check and init see the same struct */
	ck_assert_ptr_eq(hvt_conf_fill(s, keys, fields, sizeof(struct opts)), o);
	hvt_conf_free(c);       /* frees the struct and its lists (ASan build: no leak) */
}
END_TEST

START_TEST(fields_that_do_not_fit_are_refused)
{
	struct wrong {
		bool count;
		const char *nokey;
	};
	const struct hvt_conf_field bad_type[] = {
		HVT_CONF_FIELD(struct wrong, count, "count"),
		HVT_CONF_FIELDS_END
	};
	const struct hvt_conf_field bad_key[] = {
		HVT_CONF_FIELD(struct wrong, nokey, "no_such_key"),
		HVT_CONF_FIELDS_END
	};
	char err[200];

	ck_assert_int_eq(hvt_conf_fields_check(keys, bad_type, err, sizeof err), -1);
	ck_assert_str_eq(err, "key 'count' is filled into a bool, but its type needs a long long");
	ck_assert_int_eq(hvt_conf_fields_check(keys, bad_key, err, sizeof err), -1);
	ck_assert_str_eq(err, "field for key 'no_such_key', which the schema does not declare");
}
END_TEST

/* ---- lifecycle ------------------------------------------------------------ */

static int calls_init, calls_run, calls_stop, calls_check;
static int init_result, run_result;
static const void *seen_opts;

static int t_check(struct hvt_instance *inst)
{
	calls_check++;
	seen_opts = inst->opts;
	return 0;
}

static int t_init(struct hvt_instance *inst)
{
	calls_init++;
	inst->priv = malloc(16);          /* half-built state stop must release */
	return init_result;
}

static int t_run(struct hvt_instance *inst)
{
	(void)inst;
	calls_run++;
	return run_result;
}

static void t_stop(struct hvt_instance *inst)
{
	calls_stop++;
	free(inst->priv);
	inst->priv = NULL;
}

static struct hvt_plugin plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "in_test",
	.kind = HVT_PLUGIN_INPUT,
	.conf_keys = keys,
	.conf_fields = fields,
	.conf_size = sizeof(struct opts),
	.check = t_check,
	.init = t_init,
	.run = t_run,
	.stop = t_stop,
};

static struct hvt_conf *conf;
static struct hvt_instance inst;

static void bind_one(void)
{
	conf = hvt_conf_load_string("[in_test]\ncount = 5\n", "t.conf", "test");
	calls_init = calls_run = calls_stop = calls_check = 0;
	init_result = run_result = 0;
	ck_assert_int_eq(hvt_instance_bind(&inst, &plugin, conf, hvt_conf_find(conf, "in_test"), NULL), 0);
	ck_assert_int_eq(hvt_instance_check(&inst), 0);
	ck_assert_int_eq(calls_check, 1);
	ck_assert_ptr_nonnull(seen_opts);     /* filled before check */
	ck_assert_int_eq(((const struct opts *)seen_opts)->count, 5);
}

START_TEST(stop_follows_a_failed_init)
{
	bind_one();
	init_result = -1;
	ck_assert_int_eq(hvt_instance_start(&inst), -1);
	ck_assert_int_eq(calls_init, 1);
	ck_assert_int_eq(calls_run, 0);
	ck_assert_int_eq(calls_stop, 1);
	ck_assert_ptr_null(inst.priv);        /* nothing leaks (ASan build) */
	hvt_conf_free(conf);
}
END_TEST

START_TEST(stop_follows_a_failed_run)
{
	bind_one();
	run_result = -1;
	ck_assert_int_eq(hvt_instance_start(&inst), -1);
	ck_assert_int_eq(calls_stop, 1);
	hvt_conf_free(conf);
}
END_TEST

START_TEST(run_is_optional)
{
	bind_one();
	plugin.run = NULL;
	ck_assert_int_eq(hvt_instance_start(&inst), 0);
	ck_assert_int_eq(calls_init, 1);
	ck_assert_int_eq(calls_stop, 0);
	hvt_instance_stop(&inst);
	ck_assert_int_eq(calls_stop, 1);
	plugin.run = t_run;
	hvt_conf_free(conf);
}
END_TEST

START_TEST(bind_reports_schema_errors)
{
	struct hvt_conf *c = hvt_conf_load_string("[in_test]\ncount = 99\nbogus = 1\n", "t.conf", "test");
	struct hvt_instance x;

	ck_assert_int_eq(hvt_instance_bind(&x, &plugin, c, hvt_conf_find(c, "in_test"), NULL), -1);
	ck_assert_int_eq(c->errors, 2);
	hvt_conf_free(c);
}
END_TEST

static Suite *instance_suite(void)
{
	Suite *s = suite_create("instance");
	TCase *tc = tcase_create("lifecycle");

	tcase_add_test(tc, fill_values_and_defaults);
	tcase_add_test(tc, fields_that_do_not_fit_are_refused);
	tcase_add_test(tc, stop_follows_a_failed_init);
	tcase_add_test(tc, stop_follows_a_failed_run);
	tcase_add_test(tc, run_is_optional);
	tcase_add_test(tc, bind_reports_schema_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(instance_suite());
}
