/* check_idx_store.c - storing batches: atomic with the inbox position across
 * reopen, exactly once (resends, overlaps, in-batch repeats), identity
 * checks, file modes, read-only opens, the key/value and host stats tables,
 * and max_size behaving like a full disk. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "instance.h"
#include "plugin.h"
#include "tidx.h"
#include "util.h"

static char *dir;
static char *db;

static void setup(void)
{
	dir = tidx_tmpdir("store");
	db = hvt_asprintf("%s/trail.db", dir);
}

static void teardown(void)
{
	free(db);
	tidx_rmtree(dir);
}

static uint64_t inbox(struct tidx *t)
{
	uint64_t seq = 12345;

	ck_assert_int_eq(t->ops->inbox_position(&t->inst, &seq), 0);
	return seq;
}

static size_t count_all(struct tidx *t)
{
	struct hvt_query q = { 0 };
	struct trows r;
	size_t n;

	ck_assert_int_eq(tidx_query(t, &q, &r), 0);
	n = r.n;
	trows_free(&r);
	return n;
}

START_TEST(roundtrip_across_reopen)
{
	struct tidx *t = tidx_open(db, false, NULL);
	struct tbatch b = { 0 };
	struct hvt_query q = { 0 };
	struct trows r;

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(inbox(t), 0);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 1, 100);
	ck_assert_int_eq(tbatch_store(t, &b, 7), 0);
	ck_assert_uint_eq(b.inserted, 100);
	ck_assert_uint_eq(b.duplicates, 0);
	tidx_close(t);

	t = tidx_open(db, false, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(inbox(t), 7);
	ck_assert_int_eq(tidx_query(t, &q, &r), 0);
	ck_assert_uint_eq(r.n, 100);
	for (size_t i = 0; i < r.n; i++) {
		/* the exact bytes, in ts order (= seq order here), cursors increasing */
		ck_assert_str_eq(r.raw[i], b.raws[i]);
		if (i)
			ck_assert_int_gt(r.cursor[i], r.cursor[i - 1]);
	}
	trows_free(&r);
	tbatch_free(&b);
	tidx_close(t);
}
END_TEST

START_TEST(empty_batch_moves_inbox_position)
{
	struct tidx *t = tidx_open(db, false, NULL);
	struct tbatch b = { 0 };

	ck_assert_int_eq(tbatch_store(t, &b, 42), 0);
	ck_assert_uint_eq(inbox(t), 42);
	tidx_close(t);
}
END_TEST

START_TEST(duplicates_skipped_and_counted)
{
	struct tidx *t = tidx_open(db, false, NULL);
	struct tbatch b1 = { 0 }, b2 = { 0 }, b3 = { 0 };

	tbatch_add_range(&b1, "hv1", "00000000000000aa", 1, 50);
	ck_assert_int_eq(tbatch_store(t, &b1, 1), 0);
	ck_assert_uint_eq(b1.inserted, 50);

	/* the same batch resent (collector restarted before it learnt the position) */
	ck_assert_int_eq(tbatch_store(t, &b1, 1), 0);
	ck_assert_uint_eq(b1.inserted, 0);
	ck_assert_uint_eq(b1.duplicates, 50);

	/* overlapping: 40..80 -> 11 old, 30 new */
	tbatch_add_range(&b2, "hv1", "00000000000000aa", 40, 80);
	ck_assert_int_eq(tbatch_store(t, &b2, 2), 0);
	ck_assert_uint_eq(b2.inserted, 30);
	ck_assert_uint_eq(b2.duplicates, 11);

	/* a repeat inside one batch, and the same seq on another host is not a duplicate */
	tbatch_add_range(&b3, "hv1", "00000000000000aa", 81, 81);
	tbatch_add_range(&b3, "hv1", "00000000000000aa", 81, 81);
	tbatch_add_range(&b3, "hv2", "00000000000000bb", 81, 81);
	ck_assert_int_eq(tbatch_store(t, &b3, 3), 0);
	ck_assert_uint_eq(b3.inserted, 2);
	ck_assert_uint_eq(b3.duplicates, 1);

	ck_assert_uint_eq(count_all(t), 82);
	ck_assert_uint_eq(inbox(t), 3);
	tbatch_free(&b1);
	tbatch_free(&b2);
	tbatch_free(&b3);
	tidx_close(t);
}
END_TEST

static int stream_state(void *arg, const struct hvt_stream_state *s)
{
	struct hvt_stream_state *out = arg;

	*out = *s;
	return 0;
}

START_TEST(stream_state_counts_only_new_rows)
{
	struct tidx *t = tidx_open(db, false, NULL);
	struct tbatch b = { 0 };
	struct hvt_stream_state s;

	tbatch_add_range(&b, "hv1", "00000000000000aa", 1, 10);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 5, 12);
	ck_assert_int_eq(tbatch_store(t, &b, 1), 0);
	ck_assert_int_eq(tbatch_store(t, &b, 2), 0);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(t->ops->streams(&t->inst, "hv1", stream_state, &s), 0);
	ck_assert_str_eq(s.host, "hv1");
	ck_assert_str_eq(s.stream, "00000000000000aa");
	ck_assert_uint_eq(s.count, 12);
	ck_assert_uint_eq(s.max_seq, 12);
	ck_assert_str_eq(s.head_hash, "");
	ck_assert_int_eq(s.last_ts_us, TIDX_T0 + 12 * 1000000LL);
	ck_assert_int_eq(s.last_indexed_us, TIDX_T0 + 12 * 1000000LL + 20000);
	tbatch_free(&b);
	tidx_close(t);
}
END_TEST

START_TEST(resend_with_other_content_keeps_first)
{
	struct tidx *t = tidx_open(db, false, NULL);
	struct tbatch a = { 0 }, b = { 0 };
	struct hvt_query q = { 0 };
	struct trows r;

	tbatch_add(&a, &(struct tev){ .seq = 1, .msg = "the original" });
	tbatch_add(&b, &(struct tev){ .seq = 1, .msg = "a forgery" });
	ck_assert_int_eq(tbatch_store(t, &a, 1), 0);
	ck_assert_int_eq(tbatch_store(t, &b, 2), 0);
	ck_assert_uint_eq(b.duplicates, 1);
	ck_assert_int_eq(tidx_query(t, &q, &r), 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert(trows_has(&r, 0, "the original"));
	trows_free(&r);
	tbatch_free(&a);
	tbatch_free(&b);
	tidx_close(t);
}
END_TEST

START_TEST(bad_identity_refuses_whole_batch)
{
	struct tidx *t = tidx_open(db, false, NULL);
	struct tbatch ok = { 0 }, bad = { 0 };

	tbatch_add_range(&ok, "hv1", "00000000000000aa", 1, 3);
	ck_assert_int_eq(tbatch_store(t, &ok, 1), 0);
	tbatch_add_range(&bad, "hv1", "00000000000000aa", 4, 6);
	tbatch_add(&bad, &(struct tev){ .seq = 7, .id = "00000000000000aa-8" });
	ck_assert_int_eq(tbatch_store(t, &bad, 2), -1);
	ck_assert_uint_eq(bad.inserted, 0);
	/* nothing of the refused batch, not even its first rows or its position */
	ck_assert_uint_eq(count_all(t), 3);
	ck_assert_uint_eq(inbox(t), 1);
	tbatch_free(&ok);
	tbatch_free(&bad);
	tidx_close(t);
}
END_TEST

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

START_TEST(files_are_private)
{
	char *nested = hvt_asprintf("%s/a/b/trail.db", dir);
	char *wal = hvt_asprintf("%s-wal", nested), *shm = hvt_asprintf("%s-shm", nested);
	char *sub = hvt_asprintf("%s/a/b", dir);
	struct tidx *t;
	struct tbatch b = { 0 };

	umask(022);   /* what a careless service manager would give us */
	t = tidx_open(nested, false, NULL);
	ck_assert_ptr_nonnull(t);
	tbatch_add_range(&b, "hv1", "00000000000000aa", 1, 5);
	ck_assert_int_eq(tbatch_store(t, &b, 1), 0);
	ck_assert_uint_eq(mode_of(nested), 0600);
	ck_assert_uint_eq(mode_of(wal), 0600);
	ck_assert_uint_eq(mode_of(shm), 0600);
	ck_assert_uint_eq(mode_of(sub), 0700);
	tbatch_free(&b);
	tidx_close(t);
	free(nested);
	free(wal);
	free(shm);
	free(sub);
}
END_TEST

START_TEST(readonly_missing_file_fails_and_creates_nothing)
{
	struct tidx *t = tidx_open(db, true, NULL);

	ck_assert_ptr_null(t);
	ck_assert_int_eq(access(db, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(readonly_refuses_writes_and_reads_live_data)
{
	struct tidx *w = tidx_open(db, false, NULL);
	struct tidx *r;
	struct tbatch b = { 0 }, more = { 0 };
	char *v = NULL;

	tbatch_add_range(&b, "hv1", "00000000000000aa", 1, 10);
	ck_assert_int_eq(tbatch_store(w, &b, 1), 0);
	r = tidx_open(db, true, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(tbatch_store(r, &b, 2), -1);
	ck_assert_int_eq(r->ops->kv_put(&r->inst, "k", "v"), -1);
	ck_assert_int_eq(r->ops->put_host_stats(&r->inst, "hv1", "{}", 1), -1);
	ck_assert_int_eq(r->ops->kv_get(&r->inst, "k", &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(count_all(r), 10);
	/* the writer goes on while the reader is open (WAL) */
	tbatch_add_range(&more, "hv1", "00000000000000aa", 11, 20);
	ck_assert_int_eq(tbatch_store(w, &more, 2), 0);
	ck_assert_uint_eq(count_all(r), 20);
	ck_assert_uint_eq(inbox(r), 2);
	tbatch_free(&b);
	tbatch_free(&more);
	tidx_close(r);
	tidx_close(w);
}
END_TEST

START_TEST(refuses_foreign_database)
{
	char *cmd = hvt_asprintf("sqlite3 '%s' 'CREATE TABLE x (y); INSERT INTO x VALUES (1);'", db);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	ck_assert_ptr_null(tidx_open(db, false, NULL));
	ck_assert_ptr_null(tidx_open(db, true, NULL));
}
END_TEST

START_TEST(kv_roundtrip)
{
	struct tidx *t = tidx_open(db, false, NULL);
	char *v = NULL;

	ck_assert_int_eq(t->ops->kv_get(&t->inst, "chain.hv1", &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(t->ops->kv_put(&t->inst, "chain.hv1", "abc"), 0);
	ck_assert_int_eq(t->ops->kv_put(&t->inst, "chain.hv1", "def"), 0);
	tidx_close(t);

	t = tidx_open(db, true, NULL);
	ck_assert_int_eq(t->ops->kv_get(&t->inst, "chain.hv1", &v), 0);
	ck_assert_str_eq(v, "def");
	free(v);
	tidx_close(t);
}
END_TEST

struct stats_seen {
	int n;
	char json[2][64];
	long long at[2];
};

static int stats_cb(void *arg, const char *host, const char *json, long long at_us)
{
	struct stats_seen *s = arg;

	(void)host;
	if (s->n < 2) {
		hvt_strlcpy(s->json[s->n], json, sizeof s->json[0]);
		s->at[s->n] = at_us;
	}
	s->n++;
	return 0;
}

START_TEST(host_stats_keep_newest)
{
	struct tidx *t = tidx_open(db, false, NULL);
	struct stats_seen s = { 0 };

	ck_assert_int_eq(t->ops->put_host_stats(&t->inst, "hv1", "{\"depth\":3}", 200), 0);
	ck_assert_int_eq(t->ops->put_host_stats(&t->inst, "hv1", "{\"depth\":9}", 100), 0);
	ck_assert_int_eq(t->ops->put_host_stats(&t->inst, "hv2", "{}", 50), 0);
	ck_assert_int_eq(t->ops->host_stats(&t->inst, stats_cb, &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.json[0], "{\"depth\":3}");
	ck_assert_int_eq(s.at[0], 200);
	ck_assert_str_eq(s.json[1], "{}");
	tidx_close(t);
}
END_TEST

/* max_size: SQLite answers SQLITE_FULL exactly as on a full disk. */
START_TEST(max_size_fails_like_full_disk)
{
	struct tidx *t = tidx_open(db, false, "max_size = 256K\n");
	uint64_t committed = 0, last_ok = 0;
	size_t rows = 0;
	int rc = 0;

	ck_assert_ptr_nonnull(t);
	for (uint64_t i = 0; i < 100 && rc == 0; i++) {
		struct tbatch b = { 0 };
		tbatch_add_range(&b, "hv1", "00000000000000aa", i * 100 + 1, i * 100 + 100);
		rc = tbatch_store(t, &b, i + 1);
		if (rc == 0) {
			committed += b.inserted;
			last_ok = i + 1;
		}
		tbatch_free(&b);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_uint_gt(committed, 0);
	tidx_close(t);

	/* what did commit is all there, and the position matches it */
	t = tidx_open(db, true, NULL);
	ck_assert_ptr_nonnull(t);
	rows = count_all(t);
	ck_assert_uint_eq(rows, committed);
	ck_assert_uint_eq(inbox(t), last_ok);
	tidx_close(t);

	/* lifting the limit lets the collector's retry succeed */
	t = tidx_open(db, false, NULL);
	struct tbatch b = { 0 };
	tbatch_add_range(&b, "hv1", "00000000000000aa", last_ok * 100 + 1, last_ok * 100 + 100);
	ck_assert_int_eq(tbatch_store(t, &b, last_ok + 1), 0);
	ck_assert_uint_eq(b.inserted, 100);
	tbatch_free(&b);
	tidx_close(t);
}
END_TEST

/* ---- kill -9 ------------------------------------------------------------ */

#define CRASH_BATCH 1000

/* The writer process: no Check calls here, it is not the test process. */
static void crash_writer(int report_fd, uint64_t first_batch)
{
	char err[256];
	const struct hvt_plugin *p = hvt_plugin_load("idx_sqlite", NULL, HVT_PLUGIN_INDEX, err, sizeof err);
	char *text = hvt_asprintf("[idx_sqlite]\npath = %s\n", db);
	struct hvt_conf *c = hvt_conf_load_string(text, "crash.conf", "test");
	struct hvt_instance inst;
	const struct hvt_index_ops *ops;

	if (!p || hvt_instance_bind(&inst, p, c, hvt_conf_find(c, "idx_sqlite"), NULL) < 0 ||
	    hvt_instance_start(&inst) < 0)
		_exit(1);
	ops = p->ops;
	for (uint64_t k = first_batch;; k++) {
		struct tbatch b = { 0 };
		tbatch_add_range(&b, "hv1", "00000000000000aa", k * CRASH_BATCH + 1, (k + 1) * CRASH_BATCH);
		struct hvt_index_batch ib = { .items = b.items, .n = b.n, .inbox_seq = k + 1 };
		if (ops->store(&inst, &ib) < 0)
			_exit(1);
		tbatch_free(&b);
		if (write(report_fd, "+", 1) != 1)
			_exit(1);
	}
}

/* Kill the writer at some point after it committed `after` batches. */
static void run_and_kill(uint64_t first_batch, int after, useconds_t delay)
{
	int fds[2];
	char c;
	pid_t pid;
	int status;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		crash_writer(fds[1], first_batch);
	}
	close(fds[1]);
	for (int i = 0; i < after; i++)
		ck_assert_int_eq(read(fds[0], &c, 1), 1);
	usleep(delay);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	close(fds[0]);
}

static void expect_integrity(void)
{
	sqlite3 *h;
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* After a kill -9 at any moment the rows are exactly the batches up to the
 * stored inbox position: the collector resumes there and loses or doubles
 * nothing. */
START_TEST(kill_9_keeps_rows_and_position_together)
{
	uint64_t pos = 0;

	setenv("HVTRAIL_PLUGIN_PATH", IDX_PLUGIN_DIR, 1);
	for (int trial = 0; trial < 4; trial++) {
		run_and_kill(pos, 2 + trial, (useconds_t)(trial * 7000));
		struct tidx *t = tidx_open(db, false, NULL);
		char gaps[64];
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(t->ops->inbox_position(&t->inst, &pos), 0);
		ck_assert_uint_ge(pos, (uint64_t)(2 + trial));
		ck_assert_uint_eq(count_all(t), pos * CRASH_BATCH);
		ck_assert_int_eq(tidx_gaps_str(t, "hv1", "00000000000000aa", gaps, sizeof gaps), 0);
		ck_assert_str_eq(gaps, "");
		tidx_close(t);
		expect_integrity();
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("idx_sqlite store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, roundtrip_across_reopen);
	tcase_add_test(tc, empty_batch_moves_inbox_position);
	tcase_add_test(tc, duplicates_skipped_and_counted);
	tcase_add_test(tc, stream_state_counts_only_new_rows);
	tcase_add_test(tc, resend_with_other_content_keeps_first);
	tcase_add_test(tc, bad_identity_refuses_whole_batch);
	tcase_add_test(tc, files_are_private);
	tcase_add_test(tc, readonly_missing_file_fails_and_creates_nothing);
	tcase_add_test(tc, readonly_refuses_writes_and_reads_live_data);
	tcase_add_test(tc, refuses_foreign_database);
	tcase_add_test(tc, kv_roundtrip);
	tcase_add_test(tc, host_stats_keep_newest);
	tcase_add_test(tc, max_size_fails_like_full_disk);
	tcase_add_test(tc, kill_9_keeps_rows_and_position_together);
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
