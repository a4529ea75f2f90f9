/* check_idx_query.c - every hvt_query filter, alone and combined, the
 * ordering, limits, follow-mode cursors, and shell-glob translation. */
#include "config.h"

#include <check.h>
#include <fnmatch.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "tidx.h"
#include "util.h"

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define U3 "33333333-3333-4333-8333-333333333333"
#define S1 "00000000000000aa"
#define S2 "00000000000000bb"
#define T(s) (TIDX_T0 + (s) * 1000000LL)

#define EV(h, s, q, ty, vn, vu, ts, ln) \
	{ .host = h, .stream = s, .seq = q, .type = ty, .vm_name = vn, .vm_uuid = vu, .ts_us = ts, .link = ln }

/* Inserted in this order; their ts order is different on purpose. */
static const struct tev events[] = {
	EV("hv1", S1, 1, "vm.started", "web1", U1, T(10), NULL),
	EV("hv1", S1, 2, "migration.started", "web1", U1, T(20), "mig-1"),
	EV("hv1", S1, 3, "migration.completed", "web1", U1, T(30), "mig-1"),
	EV("hv2", S2, 1, "vm.started", "db1", U2, T(15), NULL),
	EV("hv2", S2, 2, "snapshot.created", "db1", U2, T(25), NULL),
	EV("hv2", S2, 3, "journal.gap", NULL, NULL, T(5), NULL),
	EV("hv1", S1, 4, "vm.stopped", NULL, U1, T(40), NULL),
	EV("hv2", S2, 4, "colo.failover", "web1", U3, T(35), NULL),
};

static char *dir;
static char *db;
static struct tidx *t;
static int64_t cursors[8];

static void setup(void)
{
	struct tbatch b = { 0 };
	struct hvt_query q = { 0 };
	struct trows r;

	dir = tidx_tmpdir("query");
	db = hvt_asprintf("%s/trail.db", dir);
	t = tidx_open(db, false, NULL);
	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < HVT_ARRAY_SIZE(events); i++)
		tbatch_add(&b, &events[i]);
	ck_assert_int_eq(tbatch_store(t, &b, 1), 0);
	tbatch_free(&b);
	/* learn each event's cursor */
	ck_assert_int_eq(tidx_query(t, &q, &r), 0);
	for (size_t i = 0; i < r.n; i++)
		for (size_t j = 0; j < HVT_ARRAY_SIZE(events); j++) {
			char id[64];
			snprintf(id, sizeof id, "\"id\":\"%s-%llu\"", events[j].stream,
				 (unsigned long long)events[j].seq);
			if (strstr(r.raw[i], id))
				cursors[j] = r.cursor[i];
		}
	trows_free(&r);
}

static void teardown(void)
{
	tidx_close(t);
	free(db);
	tidx_rmtree(dir);
}

/* The query's rows as "S.seq" of the test events ("a1 b3 ..."), in order. */
static void run(const struct hvt_query *q, char *out, size_t size)
{
	struct trows r;

	ck_assert_int_eq(tidx_query(t, q, &r), 0);
	out[0] = '\0';
	for (size_t i = 0; i < r.n; i++) {
		const char *id = strstr(r.raw[i], "\"id\":\"");
		ck_assert_ptr_nonnull(id);
		size_t len = strlen(out);
		/* "...aa-3" -> "a3" */
		const char *dash = strchr(id + 6, '-');
		snprintf(out + len, size - len, "%s%c%llu", len ? " " : "", dash[-1],
			 strtoull(dash + 1, NULL, 10));
	}
	trows_free(&r);
}

static void expect(const struct hvt_query *q, const char *want)
{
	char got[256];

	run(q, got, sizeof got);
	ck_assert_msg(strcmp(got, want) == 0, "query returned '%s', expected '%s'", got, want);
}

START_TEST(no_filter_orders_by_ts)
{
	expect(&(struct hvt_query){ 0 }, "b3 a1 b1 a2 b2 a3 b4 a4");
	expect(&(struct hvt_query){ .newest_first = true }, "a4 b4 a3 b2 a2 b1 a1 b3");
}
END_TEST

START_TEST(vm_by_name_or_uuid)
{
	/* a1-a3 are web1/U1; b4 is another VM that is also called web1 */
	expect(&(struct hvt_query){ .vm = "web1" }, "a1 a2 a3 b4");
	/* a4 only carries the UUID */
	expect(&(struct hvt_query){ .vm = U1 }, "a1 a2 a3 a4");
	expect(&(struct hvt_query){ .vm = U3 }, "b4");
	expect(&(struct hvt_query){ .vm = "nosuchvm" }, "");
}
END_TEST

START_TEST(host_filter)
{
	expect(&(struct hvt_query){ .host = "hv2" }, "b3 b1 b2 b4");
	expect(&(struct hvt_query){ .host = "hv3" }, "");
}
END_TEST

START_TEST(type_glob)
{
	expect(&(struct hvt_query){ .type_glob = "migration.*" }, "a2 a3");
	expect(&(struct hvt_query){ .type_glob = "*.started" }, "a1 b1 a2");
	expect(&(struct hvt_query){ .type_glob = "vm.st?rted" }, "a1 b1");
	expect(&(struct hvt_query){ .type_glob = "[!m]*" }, "b3 a1 b1 b2 b4 a4");
	expect(&(struct hvt_query){ .type_glob = "vm\\.stopped" }, "a4");
	expect(&(struct hvt_query){ .type_glob = "colo.failover" }, "b4");
	expect(&(struct hvt_query){ .type_glob = "vm" }, "");
}
END_TEST

START_TEST(since_until_inclusive)
{
	expect(&(struct hvt_query){ .since_us = T(20), .until_us = T(30) }, "a2 b2 a3");
	expect(&(struct hvt_query){ .since_us = T(36) }, "a4");
	expect(&(struct hvt_query){ .until_us = T(10) }, "b3 a1");
	expect(&(struct hvt_query){ .since_us = T(30), .until_us = T(20) }, "");
}
END_TEST

START_TEST(after_cursor_follow)
{
	/* rows stored after the 6th (journal.gap): a4 and b4, still in ts order */
	expect(&(struct hvt_query){ .after_cursor = cursors[5] }, "b4 a4");
	expect(&(struct hvt_query){ .after_cursor = cursors[5], .vm = "web1" }, "b4");
	expect(&(struct hvt_query){ .after_cursor = cursors[7] }, "");
	/* new rows show up for the next poll */
	struct tbatch b = { 0 };
	tbatch_add(&b, &(struct tev){ .host = "hv1", .stream = S1, .seq = 5, .type = "vm.started",
				     .vm_name = "web1", .vm_uuid = U1, .ts_us = T(1) });
	ck_assert_int_eq(tbatch_store(t, &b, 2), 0);
	tbatch_free(&b);
	expect(&(struct hvt_query){ .after_cursor = cursors[7], .vm = "web1" }, "a5");
	expect(&(struct hvt_query){ .after_cursor = cursors[7], .host = "hv2" }, "");
}
END_TEST

START_TEST(limit_and_order)
{
	expect(&(struct hvt_query){ .limit = 3 }, "b3 a1 b1");
	expect(&(struct hvt_query){ .limit = 2, .newest_first = true }, "a4 b4");
	expect(&(struct hvt_query){ .limit = 2, .newest_first = true, .host = "hv2" }, "b4 b2");
}
END_TEST

START_TEST(id_and_link)
{
	expect(&(struct hvt_query){ .id = S2 "-2" }, "b2");
	expect(&(struct hvt_query){ .id = "nope" }, "");
	expect(&(struct hvt_query){ .id = S2 "-0" }, "");
	expect(&(struct hvt_query){ .link = "mig-1" }, "a2 a3");
}
END_TEST

START_TEST(filters_combine)
{
	expect(&(struct hvt_query){ .vm = "web1", .type_glob = "migration.*", .since_us = T(25) }, "a3");
	expect(&(struct hvt_query){ .vm = "web1", .host = "hv2" }, "b4");
	expect(&(struct hvt_query){ .host = "hv1", .type_glob = "vm.*", .newest_first = true },
	       "a4 a1");
}
END_TEST

static int stop_after_one(void *arg, const struct hvt_row *row)
{
	(void)row;
	(*(int *)arg)++;
	return 1;
}

START_TEST(callback_can_stop)
{
	int seen = 0;

	ck_assert_int_eq(t->ops->query(&t->inst, &(struct hvt_query){ 0 }, stop_after_one, &seen), 0);
	ck_assert_int_eq(seen, 1);
}
END_TEST

static int check_row(void *arg, const struct hvt_row *row)
{
	(void)arg;
	ck_assert_str_eq(row->peer, "192.0.2.10");
	ck_assert_int_eq(row->verdict, HVT_VERDICT_OK);
	ck_assert_int_gt(row->indexed_us, TIDX_T0);
	ck_assert_uint_eq(row->raw_len, strlen(row->raw));
	return 0;
}

START_TEST(row_carries_collector_fields)
{
	ck_assert_int_eq(t->ops->query(&t->inst, &(struct hvt_query){ .link = "mig-1" }, check_row, NULL), 0);
}
END_TEST

/* ---- plans --------------------------------------------------------------- */

/* The plugin's internals, opened directly (this test links its sources). */
static struct idx *open_internal(const char *path)
{
	struct idx *x = hvt_calloc(1, sizeof *x);
	struct idx_options o = { .path = path, .busy_timeout_ms = 1000, .cache_bytes = 1 << 20 };
	pthread_mutexattr_t attr;

	x->path = hvt_strdup(path);
	x->readonly = true;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&x->lock, &attr);
	ck_assert_int_eq(idx_db_open(x, &o), 0);
	return x;
}

static void close_internal(struct idx *x)
{
	idx_db_close(x);
	free(x->path);
	free(x);
}

/* EXPLAIN QUERY PLAN of the query under a given plan, detail lines joined with "; ". */
static void explain(struct idx *x, const struct hvt_query *q, const struct idx_plan *p, char *out,
		    size_t size)
{
	struct idx_sql s;
	sqlite3_stmt *st;
	char *sql;

	idx_query_prepare(q, &s);
	idx_query_sql(q, p, &s);
	sql = hvt_asprintf("EXPLAIN QUERY PLAN %s", s.sql);
	ck_assert_int_eq(sqlite3_prepare_v2(x->db, sql, -1, &st, NULL), SQLITE_OK);
	idx_query_bind(st, q, p, &s);
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = strlen(out);
		snprintf(out + n, size - n, "%s%s", n ? "; " : "", sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	free(sql);
	idx_query_sql_free(&s);
}

/* A follow poll must read the rows after the cursor, not an index's worth
 * of rows: with a VM filter the planner would otherwise walk events_vm, and
 * to save the sort it would scan all of events_ts. */
START_TEST(follow_poll_plan_reads_only_new_rows)
{
	const struct hvt_query polls[] = {
		{ .after_cursor = 1 },
		{ .after_cursor = 1, .newest_first = true },
		{ .after_cursor = 1, .vm = "web1" },
		{ .after_cursor = 1, .host = "hv1", .since_us = T(1) },
		{ .after_cursor = 1, .type_glob = "migration.*", .until_us = T(99) },
		{ .after_cursor = 1, .id = S1 "-1", .link = "mig-1" },
	};
	struct idx *x = open_internal(db);
	struct idx_plan p;
	char plan[1024];

	for (size_t i = 0; i < HVT_ARRAY_SIZE(polls); i++) {
		ck_assert_int_eq(idx_plan_query(x, &polls[i], polls[i].type_glob, &p), 0);
		ck_assert_int_eq(p.path, IDX_PATH_FOLLOW);
		explain(x, &polls[i], &p, plan, sizeof plan);
		ck_assert_msg(strstr(plan, "SEARCH e USING INTEGER PRIMARY KEY (rowid>?)") &&
			      !strstr(plan, "INDEX events_"), "poll %zu: plan is '%s'", i, plan);
	}
	close_internal(x);
}
END_TEST

/* Each path ends up on the index it means. */
START_TEST(paths_use_their_index)
{
	static const struct {
		struct hvt_query q;
		struct idx_plan p;
		const char *index;
	} cases[] = {
		{ { .vm = "web1" }, { .path = IDX_PATH_AUTO }, "events_vm" },
		{ { .host = "hv1", .newest_first = true, .limit = 5 }, { .path = IDX_PATH_TIME }, "events_ts" },
		{ { .type_glob = "migration.*", .limit = 5 }, { .path = IDX_PATH_TIME }, "events_ts" },
		{ { .host = "hv1", .since_us = T(1) }, { .path = IDX_PATH_FILTER, .by_host = true },
		  "events_identity" },
		{ { .host = "hv1", .type_glob = "migration.*", .since_us = T(1), .limit = 3 },
		  { .path = IDX_PATH_FILTER, .by_host = false }, "events_type" },
		{ { .since_us = T(1), .until_us = T(2) }, { .path = IDX_PATH_AUTO }, "events_ts" },
	};
	struct idx *x = open_internal(db);
	char plan[1024];

	for (size_t i = 0; i < HVT_ARRAY_SIZE(cases); i++) {
		explain(x, &cases[i].q, &cases[i].p, plan, sizeof plan);
		ck_assert_msg(strstr(plan, cases[i].index), "case %zu: plan is '%s', want %s", i, plan,
			      cases[i].index);
	}
	close_internal(x);
}
END_TEST

static enum idx_path path_of(struct idx *x, const struct hvt_query *q, bool *by_host)
{
	struct idx_sql s;
	struct idx_plan p;

	idx_query_prepare(q, &s);
	ck_assert_int_eq(idx_plan_query(x, q, s.glob, &p), 0);
	idx_query_sql_free(&s);
	*by_host = p.by_host;
	return p.path;
}

/* Small filters drive the query through their index, big ones walk time. */
START_TEST(plan_follows_the_data)
{
	struct tbatch b = { 0 };
	struct idx *x;
	bool by_host;

	/* 10500 events of one big host, plus the fixture's small hosts */
	tbatch_add_range(&b, "big", "00000000000000cc", 1, 10500);
	ck_assert_int_eq(tbatch_store(t, &b, 2), 0);
	tbatch_free(&b);
	x = open_internal(db);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .host = "hv1" }, &by_host), IDX_PATH_FILTER);
	ck_assert(by_host);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .host = "big", .limit = 5 }, &by_host),
			 IDX_PATH_TIME);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .type_glob = "vm.*" }, &by_host), IDX_PATH_TIME);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .type_glob = "migration.*" }, &by_host),
			 IDX_PATH_FILTER);
	ck_assert(!by_host);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .host = "big", .type_glob = "colo.*" }, &by_host),
			 IDX_PATH_FILTER);
	ck_assert(!by_host);
	/* no literal prefix: the type index cannot help */
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .type_glob = "*.started" }, &by_host), IDX_PATH_TIME);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .host = "hv2", .type_glob = "*.started" }, &by_host),
			 IDX_PATH_FILTER);
	ck_assert(by_host);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .vm = "web1", .host = "big" }, &by_host),
			 IDX_PATH_AUTO);
	ck_assert_int_eq(path_of(x, &(struct hvt_query){ .since_us = T(1) }, &by_host), IDX_PATH_AUTO);
	close_internal(x);

	/* and the walk over time gives the right rows, bounded to the host's span */
	expect(&(struct hvt_query){ .host = "big", .newest_first = true, .limit = 3 }, "c10500 c10499 c10498");
	expect(&(struct hvt_query){ .host = "big", .limit = 2 }, "c1 c2");
	expect(&(struct hvt_query){ .host = "big", .since_us = T(10499) }, "c10499 c10500");
	expect(&(struct hvt_query){ .type_glob = "vm.s*", .host = "hv2", .newest_first = true }, "b1");
}
END_TEST

/* SQLite's GLOB on the translated pattern must agree with fnmatch(3). */
START_TEST(glob_translation_matches_fnmatch)
{
	static const char *patterns[] = {
		"*", "vm.*", "*.started", "vm.st?rted", "[!v]*", "[^v]*", "[a-m]*", "\\*", "a\\*b",
		"[]]x", "[", "a[", "a[b", "[!]]*", "\\[x", "x]", "a\\?", "[*]", "\\\\", "[\\]]x",
	};
	static const char *subjects[] = {
		"vm.started", "*", "a*b", "axb", "]x", "[", "a[", "a[b", "[x", "x]", "a?", "ab",
		"migration.completed", "\\", "vm.stopped", "",
	};
	sqlite3 *mem;
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(mem, "SELECT ?1 GLOB ?2", -1, &st, NULL), SQLITE_OK);
	for (size_t i = 0; i < HVT_ARRAY_SIZE(patterns); i++) {
		char *sql = idx_glob_to_sql(patterns[i]);
		for (size_t j = 0; j < HVT_ARRAY_SIZE(subjects); j++) {
			sqlite3_bind_text(st, 1, subjects[j], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, sql, -1, SQLITE_STATIC);
			ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
			int got = sqlite3_column_int(st, 0);
			int want = fnmatch(patterns[i], subjects[j], 0) == 0;
			sqlite3_reset(st);
			ck_assert_msg(got == want, "pattern '%s' (sql '%s') on '%s': GLOB %d, fnmatch %d",
				      patterns[i], sql, subjects[j], got, want);
		}
		free(sql);
	}
	sqlite3_finalize(st);
	sqlite3_close(mem);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("idx_sqlite query");
	TCase *tc = tcase_create("query");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_filter_orders_by_ts);
	tcase_add_test(tc, vm_by_name_or_uuid);
	tcase_add_test(tc, host_filter);
	tcase_add_test(tc, type_glob);
	tcase_add_test(tc, since_until_inclusive);
	tcase_add_test(tc, after_cursor_follow);
	tcase_add_test(tc, limit_and_order);
	tcase_add_test(tc, id_and_link);
	tcase_add_test(tc, filters_combine);
	tcase_add_test(tc, callback_can_stop);
	tcase_add_test(tc, row_carries_collector_fields);
	tcase_add_test(tc, follow_poll_plan_reads_only_new_rows);
	tcase_add_test(tc, paths_use_their_index);
	tcase_add_test(tc, plan_follows_the_data);
	suite_add_tcase(s, tc);
	tc = tcase_create("glob");
	tcase_add_test(tc, glob_translation_matches_fnmatch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
