/* check_idx_diskfull.c - store() into a database on a full filesystem fails,
 * leaves what was committed intact and consistent with the inbox position,
 * and succeeds again on the same instance once there is space.
 *
 * Needs a small tmpfs, so it mounts one (root only); without permission to
 * mount it reports SKIP (exit 77) and says why. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "tidx.h"
#include "util.h"

#define FS_SIZE "3m"
#define BATCH 500

static char *mnt;

static size_t count_rows(struct tidx *t)
{
	struct trows r;
	size_t n;

	ck_assert_int_eq(tidx_query(t, &(struct hvt_query){ 0 }, &r), 0);
	n = r.n;
	trows_free(&r);
	return n;
}

static void expect_integrity(const char *db)
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

/* A file of about `bytes` (all of the free space when 0), deleted later to
 * give the collector's retry room. */
static char *filler(const char *name, size_t bytes)
{
	char *path = hvt_asprintf("%s/%s", mnt, name);
	char block[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t done = 0;

	memset(block, 'x', sizeof block);
	ck_assert_int_ge(fd, 0);
	while ((bytes == 0 || done < bytes) && write(fd, block, sizeof block) > 0)
		done += sizeof block;
	close(fd);
	return path;
}

START_TEST(full_disk)
{
	char *db = hvt_asprintf("%s/trail.db", mnt);
	struct tidx *t = tidx_open(db, false, NULL);
	uint64_t committed = 0, last_ok = 0, next_seq = 1, pos = 0;
	int rc = 0;

	ck_assert_ptr_nonnull(t);
	char *reserve = filler("reserve", 1 << 20);
	for (uint64_t i = 1; rc == 0 && i < 1000; i++) {
		struct tbatch b = { 0 };
		tbatch_add_range(&b, "hv1", "00000000000000aa", next_seq, next_seq + BATCH - 1);
		rc = tbatch_store(t, &b, i);
		if (rc == 0) {
			committed += b.inserted;
			last_ok = i;
			next_seq += BATCH;
		}
		tbatch_free(&b);
	}
	ck_assert_msg(rc == -1, "the filesystem never filled up");
	ck_assert_uint_gt(committed, 0);
	printf("full after %llu committed rows in %llu batches\n", (unsigned long long)committed,
	       (unsigned long long)last_ok);

	/* the failed batch left nothing behind: same instance, and a fresh reader */
	ck_assert_uint_eq(count_rows(t), committed);
	ck_assert_int_eq(t->ops->inbox_position(&t->inst, &pos), 0);
	ck_assert_uint_eq(pos, last_ok);
	struct tidx *r = tidx_open(db, true, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(count_rows(r), committed);
	tidx_close(r);
	expect_integrity(db);

	/* still full (whatever the failed batch freed is taken too): the retry fails again, cleanly */
	char *rest = filler("rest", 0);
	struct tbatch b = { 0 };
	tbatch_add_range(&b, "hv1", "00000000000000aa", next_seq, next_seq + BATCH - 1);
	ck_assert_int_eq(tbatch_store(t, &b, last_ok + 1), -1);
	ck_assert_uint_eq(count_rows(t), committed);
	/* space again: the collector's retry of the very same batch succeeds */
	ck_assert_int_eq(unlink(reserve), 0);
	ck_assert_int_eq(tbatch_store(t, &b, last_ok + 1), 0);
	ck_assert_uint_eq(b.inserted, BATCH);
	tbatch_free(&b);
	ck_assert_uint_eq(count_rows(t), committed + BATCH);
	tidx_close(t);
	expect_integrity(db);
	free(reserve);
	free(rest);
	free(db);
}
END_TEST

int main(void)
{
	char *dir = NULL;
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("SKIP: mounting a small tmpfs needs root\n");
		return 77;
	}
	const char *tmp = getenv("TMPDIR");
	dir = hvt_asprintf("%s/hvt-idx-full-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		printf("SKIP: mkdtemp: %s\n", strerror(errno));
		return 77;
	}
	mnt = dir;
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=" FS_SIZE ",mode=0700") < 0) {
		printf("SKIP: cannot mount a tmpfs on %s: %s\n", mnt, strerror(errno));
		rmdir(mnt);
		return 77;
	}
	Suite *s = suite_create("idx_sqlite full disk");
	TCase *tc = tcase_create("full");
	tcase_add_test(tc, full_disk);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (umount(mnt) < 0)
		fprintf(stderr, "umount %s: %s\n", mnt, strerror(errno));
	rmdir(mnt);
	free(dir);
	return failed ? 1 : 0;
}
