/* test_conf.c - INI config checked against schemas; every problem is
 * reported once with the FILE:LINE an operator needs to fix it. */
#include "config.h"

#include "testutil.h"

#include "conf.h"
#include "util.h"

static const struct hvt_conf_key spool_keys[] = {
	{ "dir", HVT_CONF_PATH, NULL, "where the spool lives", NULL, 0, 0, HVT_CONF_REQUIRED },
	{ "max_bytes", HVT_CONF_SIZE, "1G", "bound", NULL, 4096, 1LL << 40, 0 },
	{ "window", HVT_CONF_INT, "4096", "RELP window", NULL, 1, 65535, 0 },
	{ "fsync", HVT_CONF_ENUM, "interval", "durability", "never|interval|always", 0, 0, 0 },
	{ "fsync_interval", HVT_CONF_DURATION, "1s", "how often", NULL, 1, 60000, 0 },
	{ "compress", HVT_CONF_BOOL, "no", "compress", NULL, 0, 0, 0 },
	{ "peers", HVT_CONF_LIST, "a.test, b.test", "permitted peers", NULL, 0, 0, 0 },
	{ "label", HVT_CONF_STRING, "", "free text", NULL, 0, 0, 0 },
	HVT_CONF_END
};

struct fixture {
	char *dir;
	char main[4096];
	struct hvt_conf *conf;
	char *log;
};

/* Write DIR/main.conf (and optional extra files), load it, check [spool]
 * against the schema, and keep what the library logged. */
static void load(struct fixture *f, const char *text)
{
	struct tu_capture cap;

	f->dir = tu_mkdtemp("conf");
	snprintf(f->main, sizeof f->main, "%s/main.conf", f->dir);
	tu_write(f->main, text);
	cap = tu_capture_begin();
	f->conf = hvt_conf_load(f->main, "test");
	ck_assert_ptr_nonnull(f->conf);
	for (struct hvt_conf_section *s = f->conf->sections; s; s = s->next)
		if (strcmp(s->kind, "spool") == 0)
			hvt_conf_check_section(f->conf, s, spool_keys);
	f->log = tu_capture_end(&cap);
}

static void unload(struct fixture *f)
{
	hvt_conf_free(f->conf);
	free(f->log);
	tu_rmtree(f->dir);
}

/* "FILE:LINE" in a static buffer, to compare with hvt_conf_where(). */
static const char *loc(const char *file, int line)
{
	static char buf[4200];

	snprintf(buf, sizeof buf, "%s:%d", file, line);
	return buf;
}

/* The log holds "MAIN:LINE: what" (or "FILE:LINE: what" for another file). */
static void expect_at(const struct fixture *f, const char *file, int line, const char *what)
{
	char want[4600];

	snprintf(want, sizeof want, "%s:%d: %s", file ? file : f->main, line, what);
	ck_assert_msg(strstr(f->log, want) != NULL, "log lacks '%s'; log was:\n%s", want, f->log);
}

START_TEST(valid_file_and_getters)
{
	struct fixture f;
	const struct hvt_conf_section *s;
	char where[4200];

	load(&f, "# a comment\n"
		 "; another\n"
		 "[spool]\n"
		 "dir = /var/spool/hvtrail\n"
		 "max_bytes = 512M\n"
		 "window = 128 ; inline comment\n"
		 "fsync = always\n"
		 "fsync_interval = 250ms\n"
		 "compress = yes\n"
		 "\n"
		 "[in_qmp]\n"
		 "[in_qmp:second]\n");
	ck_assert_int_eq(f.conf->errors, 0);
	s = hvt_conf_find(f.conf, "spool");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(hvt_conf_str(s, spool_keys, "dir"), "/var/spool/hvtrail");
	ck_assert_uint_eq(hvt_conf_size(s, spool_keys, "max_bytes"), 512ULL << 20);
	ck_assert_int_eq(hvt_conf_int(s, spool_keys, "window"), 128);
	ck_assert_str_eq(hvt_conf_str(s, spool_keys, "fsync"), "always");
	ck_assert_int_eq(hvt_conf_duration_ms(s, spool_keys, "fsync_interval"), 250);
	ck_assert(hvt_conf_bool(s, spool_keys, "compress"));
	ck_assert_str_eq(hvt_conf_where(s, "window", where, sizeof where),
			 loc(f.main, 6));
	/* defaults from the schema, with or without a section */
	ck_assert_str_eq(hvt_conf_str(s, spool_keys, "label"), "");
	ck_assert_uint_eq(hvt_conf_size(NULL, spool_keys, "max_bytes"), 1ULL << 30);
	ck_assert_int_eq(hvt_conf_duration_ms(NULL, spool_keys, "fsync_interval"), 1000);
	ck_assert(!hvt_conf_bool(NULL, spool_keys, "compress"));
	ck_assert_str_eq(hvt_conf_where(NULL, "window", where, sizeof where), "(default)");
	/* sections with no keys exist; a label is split off */
	s = hvt_conf_find(f.conf, "in_qmp");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->line, 11);
	s = hvt_conf_find(f.conf, "in_qmp:second");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->kind, "in_qmp");
	ck_assert_str_eq(s->label, "second");
	ck_assert_int_eq(s->line, 12);
	ck_assert_ptr_null(hvt_conf_find(f.conf, "out_relp"));
	unload(&f);
}
END_TEST

START_TEST(unknown_key_did_you_mean)
{
	struct fixture f;

	load(&f, "[spool]\n"
		 "dir = /x\n"
		 "max_byte = 1M\n"
		 "colour = red\n"
		 "Window = 3\n");
	ck_assert_int_eq(f.conf->errors, 3);
	expect_at(&f, NULL, 3, "[spool]: unknown key 'max_byte' (did you mean 'max_bytes'?)");
	expect_at(&f, NULL, 4, "[spool]: unknown key 'colour'\n");
	expect_at(&f, NULL, 5, "[spool]: unknown key 'Window' (did you mean 'window'?)");
	unload(&f);
}
END_TEST

START_TEST(wrong_types)
{
	struct fixture f;

	load(&f, "[spool]\n"
		 "dir = /x\n"
		 "window = lots\n"
		 "compress = maybe\n"
		 "fsync = sometimes\n"
		 "max_bytes = 12X\n"
		 "fsync_interval = soon\n"
		 "window = 12abc\n");
	ck_assert_int_eq(f.conf->errors, 6);
	expect_at(&f, NULL, 3, "[spool] window: expected an integer, got 'lots'");
	expect_at(&f, NULL, 4, "[spool] compress: expected yes or no, got 'maybe'");
	expect_at(&f, NULL, 5, "[spool] fsync: expected one of never|interval|always, got 'sometimes'");
	expect_at(&f, NULL, 6, "[spool] max_bytes: expected a size");
	expect_at(&f, NULL, 7, "[spool] fsync_interval: expected a duration");
	expect_at(&f, NULL, 8, "[spool] window: expected an integer, got '12abc'");
	unload(&f);
}
END_TEST

START_TEST(out_of_range)
{
	struct fixture f;

	load(&f, "[spool]\n"
		 "dir = /x\n"
		 "window = 65536\n"
		 "window = 0\n"
		 "fsync_interval = 2m\n"
		 "max_bytes = 1K\n"
		 "window = 65535\n");
	ck_assert_int_eq(f.conf->errors, 4);
	expect_at(&f, NULL, 3, "[spool] window: '65536' is out of range (1..65535)");
	expect_at(&f, NULL, 4, "[spool] window: '0' is out of range (1..65535)");
	expect_at(&f, NULL, 5, "[spool] fsync_interval: '2m' is out of range (1..60000 ms)");
	expect_at(&f, NULL, 6, "[spool] max_bytes: '1K' is out of range (4096..1099511627776 bytes)");
	ck_assert_int_eq(hvt_conf_int(hvt_conf_find(f.conf, "spool"), spool_keys, "window"), 65535);
	unload(&f);
}
END_TEST

START_TEST(missing_required)
{
	struct fixture f;

	load(&f, "[other]\n"
		 "x = 1\n"
		 "\n"
		 "[spool]\n"
		 "window = 5\n"
		 "[spool:two]\n"
		 "dir =\n");
	expect_at(&f, NULL, 4, "[spool]: required key 'dir' is missing (where the spool lives)");
	/* an empty value does not count as set (and is a bad path anyway) */
	expect_at(&f, NULL, 6, "[spool:two]: required key 'dir' is missing");
	expect_at(&f, NULL, 7, "[spool:two] dir: expected a path, got an empty value");
	ck_assert_int_eq(f.conf->errors, 3);
	unload(&f);
}
END_TEST

START_TEST(syntax_error_line)
{
	struct fixture f;

	load(&f, "[spool]\n"
		 "dir = /x\n"
		 "\n"
		 "this line has no equals sign\n"
		 "window = 7\n");
	ck_assert_int_eq(f.conf->errors, 1);
	expect_at(&f, NULL, 4, "syntax error");
	/* parsing went on after the error */
	ck_assert_int_eq(hvt_conf_int(hvt_conf_find(f.conf, "spool"), spool_keys, "window"), 7);
	unload(&f);

	load(&f, "window = 1\n[spool]\ndir = /x\n");
	expect_at(&f, NULL, 1, "'window' appears before any [section]");
	unload(&f);
}
END_TEST

START_TEST(overlong_line)
{
	struct fixture f;
	struct hvt_buf b = { 0 };
	char where[4200];

	hvt_buf_append_str(&b, "[spool]\ndir = /x\nlabel = ");
	for (int i = 0; i < 700; i++)
		hvt_buf_append_str(&b, "x");
	hvt_buf_append_str(&b, "\nwindow = 9\nnot a key value line\ncompress = yes\n");
	load(&f, hvt_buf_cstr(&b));
	ck_assert_int_eq(f.conf->errors, 2);
	expect_at(&f, NULL, 3, "line too long");
	/* the lines after it keep their numbers */
	expect_at(&f, NULL, 5, "syntax error");
	const struct hvt_conf_section *s = hvt_conf_find(f.conf, "spool");
	ck_assert_str_eq(hvt_conf_where(s, "window", where, sizeof where), loc(f.main, 4));
	ck_assert_str_eq(hvt_conf_where(s, "compress", where, sizeof where), loc(f.main, 6));
	/* nothing of the over-long line was taken as a value */
	ck_assert_str_eq(hvt_conf_str(s, spool_keys, "label"), "");
	unload(&f);
	hvt_buf_free(&b);
}
END_TEST

START_TEST(overlong_line_in_string)
{
	struct hvt_buf b = { 0 };
	struct tu_capture cap;
	struct hvt_conf *c;
	char *log;

	hvt_buf_append_str(&b, "[spool]\nlabel = ");
	for (int i = 0; i < 500; i++)
		hvt_buf_append_str(&b, "y");
	hvt_buf_append_str(&b, "\nbroken\n");
	cap = tu_capture_begin();
	c = hvt_conf_load_string(hvt_buf_cstr(&b), "inline.conf", "test");
	log = tu_capture_end(&cap);
	ck_assert_int_eq(c->errors, 2);
	ck_assert_msg(strstr(log, "inline.conf:2: line too long"), "%s", log);
	ck_assert_msg(strstr(log, "inline.conf:3: syntax error"), "%s", log);
	free(log);
	hvt_conf_free(c);
	hvt_buf_free(&b);
}
END_TEST

START_TEST(include_with_override)
{
	struct fixture f;
	char *confd, *a, *b, *c, where[4200];

	f.dir = tu_mkdtemp("conf");
	confd = hvt_asprintf("%s/conf.d", f.dir);
	ck_assert_int_eq(mkdir(confd, 0700), 0);
	a = hvt_asprintf("%s/10-window.conf", confd);
	b = hvt_asprintf("%s/20-override.conf", confd);
	c = hvt_asprintf("%s/README", confd);
	/* written in reverse order: the glob sorts them */
	tu_write(b, "[spool]\nwindow = 200\nfsync = never\nbogus = 1\n");
	tu_write(a, "[spool]\n\nwindow = 100\n");
	tu_write(c, "not a config file at all\n");
	snprintf(f.main, sizeof f.main, "%s/main.conf", f.dir);
	tu_write(f.main, "[spool]\ndir = /x\nwindow = 50\n[include]\nfiles = conf.d/*.conf\n");

	struct tu_capture cap = tu_capture_begin();
	f.conf = hvt_conf_load(f.main, "test");
	struct hvt_conf_section *s = hvt_conf_find(f.conf, "spool");
	ck_assert_ptr_nonnull(s);
	hvt_conf_check_section(f.conf, s, spool_keys);
	f.log = tu_capture_end(&cap);

	ck_assert_int_eq(f.conf->nfiles, 3);
	ck_assert_int_eq(f.conf->errors, 1);
	expect_at(&f, b, 4, "[spool]: unknown key 'bogus'");
	ck_assert_int_eq(hvt_conf_int(s, spool_keys, "window"), 200);
	ck_assert_str_eq(hvt_conf_where(s, "window", where, sizeof where), loc(b, 2));
	ck_assert_str_eq(hvt_conf_str(s, spool_keys, "fsync"), "never");
	ck_assert_str_eq(hvt_conf_str(s, spool_keys, "dir"), "/x");
	/* the section is remembered where it first appeared */
	ck_assert_str_eq(s->file, f.main);
	free(a);
	free(b);
	free(c);
	free(confd);
	unload(&f);
}
END_TEST

START_TEST(include_problems)
{
	struct fixture f;

	load(&f, "[include]\nfiles = nothing-here/*.conf\nfile = x.conf\n");
	/* a glob that matches nothing is fine; an unknown key in [include] is not */
	ck_assert_int_eq(f.conf->errors, 1);
	expect_at(&f, NULL, 3, "[include]: unknown key 'file' (only 'files')");
	unload(&f);

	ck_assert_ptr_null(hvt_conf_load("/nonexistent/hvtrail.conf", "test"));
}
END_TEST

/* A file that includes itself, or one that includes it back, is read once:
 * each reading used to append another [include] entry to the list being
 * walked, forever. */
START_TEST(include_loop_read_once)
{
	struct fixture f;
	char *a;

	f.dir = tu_mkdtemp("conf");
	a = hvt_asprintf("%s/a.conf", f.dir);
	snprintf(f.main, sizeof f.main, "%s/main.conf", f.dir);
	tu_write(f.main, "[spool]\nwindow = 50\n[include]\nfiles = *.conf\n");
	tu_write(a, "[spool]\nfsync = never\n[include]\nfiles = main.conf\nfiles = a.conf\n");

	struct tu_capture cap = tu_capture_begin();
	f.conf = hvt_conf_load(f.main, "test");
	f.log = tu_capture_end(&cap);
	ck_assert_ptr_nonnull(f.conf);
	ck_assert_int_eq(f.conf->nfiles, 2);
	ck_assert_int_eq(f.conf->errors, 0);
	ck_assert_msg(strstr(f.log, "main.conf is read already"), "%s", f.log);
	struct hvt_conf_section *s = hvt_conf_find(f.conf, "spool");
	ck_assert_str_eq(hvt_conf_str(s, spool_keys, "fsync"), "never");
	free(a);
	unload(&f);
}
END_TEST

START_TEST(list_keys_repeat)
{
	struct fixture f;
	char **list;
	int n;

	load(&f, "[spool]\n"
		 "dir = /x\n"
		 "peers = hv1.test, hv2.test\n"
		 "peers = hv3.test\n"
		 "peers = ,  , hv4.test ,\n");
	ck_assert_int_eq(f.conf->errors, 0);
	list = hvt_conf_list(hvt_conf_find(f.conf, "spool"), spool_keys, "peers", &n);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(list[0], "hv1.test");
	ck_assert_str_eq(list[1], "hv2.test");
	ck_assert_str_eq(list[2], "hv3.test");
	ck_assert_str_eq(list[3], "hv4.test");
	ck_assert_ptr_null(list[4]);
	hvt_conf_list_free(list);
	/* no entry: the default list */
	list = hvt_conf_list(NULL, spool_keys, "peers", &n);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(list[1], "b.test");
	hvt_conf_list_free(list);
	unload(&f);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("schema");

	tcase_add_test(tc, valid_file_and_getters);
	tcase_add_test(tc, unknown_key_did_you_mean);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, out_of_range);
	tcase_add_test(tc, missing_required);
	tcase_add_test(tc, list_keys_repeat);
	suite_add_tcase(s, tc);
	tc = tcase_create("syntax");
	tcase_add_test(tc, syntax_error_line);
	tcase_add_test(tc, overlong_line);
	tcase_add_test(tc, overlong_line_in_string);
	tcase_add_test(tc, include_with_override);
	tcase_add_test(tc, include_problems);
	tcase_add_test(tc, include_loop_read_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(conf_suite());
}
