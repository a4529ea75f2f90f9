/* testutil.h - small helpers shared by the Check suites (header-only). */
#ifndef HVT_TESTUTIL_H
#define HVT_TESTUTIL_H

#define _GNU_SOURCE 1
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int tu_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* All scratch directories live under one base directory that tu_run()
 * makes before the tests and removes after them: Check ends a failing
 * test's forked child with _exit(), so the test itself cannot clean up. */
static char *tu_base;

/* A fresh private directory under the base (or $TMPDIR, or /tmp). */
static inline char *tu_mkdtemp(const char *tag)
{
	const char *tmp = tu_base ? tu_base : getenv("TMPDIR");
	char *path;

	if (asprintf(&path, "%s/hvt-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag) < 0)
		abort();
	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s: %s", path, strerror(errno));
	return path;
}

/* rm -rf DIR, then free the path. */
static inline void tu_rmtree(char *dir)
{
	if (!dir)
		return;
	nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static inline void tu_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static inline off_t tu_size(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_size;
}

/* Capture what the library logs (it writes to stderr) between
 * tu_capture_begin() and tu_capture_end(); the latter returns the text
 * (malloc'd) and restores stderr.  Check forks each test, so this never
 * leaks into another test. */
struct tu_capture {
	int saved;
	FILE *f;
};

static inline struct tu_capture tu_capture_begin(void)
{
	struct tu_capture c;

	fflush(stderr);
	c.f = tmpfile();
	ck_assert_msg(c.f != NULL, "tmpfile: %s", strerror(errno));
	c.saved = dup(STDERR_FILENO);
	ck_assert_int_ge(c.saved, 0);
	ck_assert_int_ge(dup2(fileno(c.f), STDERR_FILENO), 0);
	return c;
}

static inline char *tu_capture_end(struct tu_capture *c)
{
	long n;
	char *text;

	fflush(stderr);
	ck_assert_int_ge(dup2(c->saved, STDERR_FILENO), 0);
	close(c->saved);
	n = ftell(c->f);
	ck_assert_int_ge(n, 0);
	text = calloc(1, (size_t)n + 1);
	rewind(c->f);
	ck_assert_int_eq(fread(text, 1, (size_t)n, c->f), (size_t)n);
	fclose(c->f);
	/* echo it, so a failing test's log still shows what the library said */
	fputs(text, stderr);
	return text;
}

/* Run one suite; exit status in the automake protocol (0 pass, 1 fail). */
static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	const char *tmp = getenv("TMPDIR");
	if (asprintf(&tu_base, "%s/hvt-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(tu_base)) {
		perror("mkdtemp");
		return 99;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tu_rmtree(tu_base);
	return failed ? 1 : 0;
}

#endif
