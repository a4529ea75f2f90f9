/* bench_idx_store.c - how fast store() is, next to bare prepared INSERT loops
 * over the same rows (10k-row WAL transactions, synchronous=NORMAL).  It
 * prints numbers and never fails on them: timing depends on the machine.
 *
 * HVT_BENCH_ROWS (default 200000) sets the number of events. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "tidx.h"
#include "util.h"

#define BATCH 10000
#define HOSTS 16
#define VMS 2000

static const char *const types[] = {
	"vm.started", "vm.stopped", "vm.paused", "vm.resumed", "migration.started",
	"migration.completed", "migration.failed", "snapshot.created", "snapshot.deleted",
	"colo.failover", "journal.gap", "vm.shutdown",
};

struct names {
	char host[HOSTS][16], stream[HOSTS][17];
	char vm[VMS][16], uuid[VMS][37];
};

static void make_names(struct names *n)
{
	for (int i = 0; i < HOSTS; i++) {
		snprintf(n->host[i], sizeof n->host[i], "hv%02d.example", i);
		snprintf(n->stream[i], sizeof n->stream[i], "%016x", 0xabc000 + i);
	}
	for (int i = 0; i < VMS; i++) {
		snprintf(n->vm[i], sizeof n->vm[i], "vm-%04d", i);
		snprintf(n->uuid[i], sizeof n->uuid[i], "%08x-1111-4111-8111-%012x", i, i * 7919);
	}
}

/* Every event of the run, ready to store: the same rows for every variant. */
static void make_rows(struct tbatch *all, const struct names *n, size_t rows)
{
	uint64_t seq[HOSTS] = { 0 };

	for (size_t i = 0; i < rows; i++) {
		int h = (int)(i % HOSTS), v = (int)((i * 31) % VMS);
		tbatch_add(all, &(struct tev){
			.host = n->host[h], .stream = n->stream[h], .seq = ++seq[h],
			.type = types[i % HVT_ARRAY_SIZE(types)], .vm_name = n->vm[v],
			.vm_uuid = n->uuid[v], .ts_us = TIDX_T0 + (long long)i * 1000,
			.msg = "vm state change", .no_data = true });
	}
}

static double bench_plugin(const char *db, struct tbatch *all, const char *extra)
{
	struct tidx *t = tidx_open(db, false, extra);
	long long t0 = hvt_mono_us();

	ck_assert_ptr_nonnull(t);
	for (size_t off = 0; off < all->n; off += BATCH) {
		struct hvt_index_batch b = {
			.items = all->items + off, .n = HVT_MIN(BATCH, all->n - off), .inbox_seq = off + 1,
		};
		ck_assert_int_eq(t->ops->store(&t->inst, &b), 0);
		ck_assert_uint_eq(b.inserted, b.n);
	}
	long long us = hvt_mono_us() - t0;
	tidx_close(t);
	return (double)all->n * 1e6 / (double)us;
}

static void exec(sqlite3 *h, const char *sql)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

/* A bare loop: one flat table, the given extra DDL, one prepared INSERT. */
static double bench_bare(const char *db, struct tbatch *all, const char *indexes)
{
	sqlite3 *h;
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	/* the same pragmas as idx_sqlite, so only the schema and the code differ */
	exec(h, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;"
		"PRAGMA wal_autocheckpoint = 4000;"
		"CREATE TABLE ev (ts_us INTEGER, host TEXT, stream TEXT, seq INTEGER, type TEXT,"
		" vm_name TEXT, vm_uuid TEXT, raw TEXT);");
	exec(h, indexes);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "INSERT INTO ev VALUES (?,?,?,?,?,?,?,?)", -1, &st, NULL),
			 SQLITE_OK);
	long long t0 = hvt_mono_us();
	for (size_t i = 0; i < all->n; i++) {
		const struct hvt_event *ev = all->evs[i];
		if (i % BATCH == 0)
			exec(h, "BEGIN");
		sqlite3_bind_int64(st, 1, ev->ts_us);
		sqlite3_bind_text(st, 2, ev->host, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ev->stream, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)ev->seq);
		sqlite3_bind_text(st, 5, ev->type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, ev->vm_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, ev->vm_uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, all->raws[i], (int)all->items[i].raw_len, SQLITE_STATIC);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		if (i % BATCH == BATCH - 1 || i == all->n - 1)
			exec(h, "COMMIT");
	}
	long long us = hvt_mono_us() - t0;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return (double)all->n * 1e6 / (double)us;
}

static void report(const char *what, double rate)
{
	printf("  %-62s %9.0f rows/s\n", what, rate);
	fflush(stdout);
}

START_TEST(throughput)
{
	const char *env = getenv("HVT_BENCH_ROWS");
	size_t rows = env ? strtoull(env, NULL, 10) : 200000;
	struct names *n = hvt_calloc(1, sizeof *n);
	struct tbatch all = { 0 };
	char *dir = tidx_tmpdir("bench");
	size_t bytes = 0;

	make_names(n);
	make_rows(&all, n, rows);
	for (size_t i = 0; i < all.n; i++)
		bytes += all.items[i].raw_len;
	printf("%zu events of %zu bytes on average, %d-row batches, %d hosts, %d VMs, SQLite %s\n",
	       all.n, bytes / all.n, BATCH, HOSTS, VMS, sqlite3_libversion());

	struct { const char *what, *file, *extra; } plugin[] = {
		{ "idx_sqlite store(), synchronous=normal", "p1.db", NULL },
		{ "idx_sqlite store(), synchronous=full", "p2.db", "synchronous = full\n" },
	};
	for (size_t i = 0; i < HVT_ARRAY_SIZE(plugin); i++) {
		char *db = hvt_asprintf("%s/%s", dir, plugin[i].file);
		report(plugin[i].what, bench_plugin(db, &all, plugin[i].extra));
		free(db);
	}
	struct { const char *what, *file, *ddl; } bare[] = {
		{ "bare INSERT loop, no index", "b1.db", "" },
		{ "bare INSERT loop, (vm_uuid,ts) (type,ts) as in DESIGN.md", "b2.db",
		  "CREATE INDEX i1 ON ev (vm_uuid, ts_us); CREATE INDEX i2 ON ev (type, ts_us);" },
		{ "bare INSERT loop, text indexes for the same queries as idx_sqlite", "b3.db",
		  "CREATE UNIQUE INDEX i0 ON ev (host, stream, seq); CREATE INDEX i1 ON ev (ts_us);"
		  "CREATE INDEX i2 ON ev (type, ts_us); CREATE INDEX i3 ON ev (vm_name, ts_us);"
		  "CREATE INDEX i4 ON ev (vm_uuid, ts_us);" },
	};
	for (size_t i = 0; i < HVT_ARRAY_SIZE(bare); i++) {
		char *db = hvt_asprintf("%s/%s", dir, bare[i].file);
		report(bare[i].what, bench_bare(db, &all, bare[i].ddl));
		free(db);
	}
	tbatch_free(&all);
	free(n);
	tidx_rmtree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idx_sqlite throughput");
	TCase *tc = tcase_create("bench");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, throughput);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);   /* so the numbers reach stdout in order */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
