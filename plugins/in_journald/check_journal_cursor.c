/* check_journal_cursor.c - resuming from a saved cursor on real journal
 * files (systemd-journal-remote): exactly once across many restarts with
 * entries appended in between, a filter change, a vacuumed position, and
 * the cursor file itself.  The gap count within one sequence needs a
 * journald that rotates; tests/journald-vacuum.test covers it. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jd_testutil.h"
#include "journal_cursor.h"
#include "journal_read.h"
#include "util.h"

#define RT_BASE 1795380000000000LL

/* TEST_SEQ of the entries the default matches select: kinds 0-5 and 7. */
static bool selected(int seq)
{
	int k = seq % 10;
	return k <= 5 || k == 7;
}

static int test_seq(sd_journal *j)
{
	const void *d;
	size_t l;

	if (sd_journal_get_data(j, "TEST_SEQ", &d, &l) < 0)
		return -1;
	return atoi((const char *)d + 9);
}

static sd_journal *open_dir(const char *dir, char *const *m, int n)
{
	sd_journal *j;
	char err[256];

	ck_assert_int_eq(jd_journal_open(&j, dir, NULL, 4096), 0);
	ck_assert_int_eq(jd_journal_add_matches(j, m, n, err, sizeof err), 0);
	return j;
}

/* One "run" of the input: resume from the cursor file, read at most max
 * entries, save the cursor of the last one.  Appends TEST_SEQs to seen. */
static enum jd_resume run_once(const char *dir, const char *cursor_file, int max, int *seen, int *nseen)
{
	sd_journal *j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	enum jd_resume res = JD_RESUME_AFTER;
	char *cur = NULL, *last = NULL;
	struct jd_gap gap = { 0 };

	if (jd_cursor_load(cursor_file, &cur) == 0)
		res = jd_cursor_resume(j, cur, jdt_default_matches, jdt_ndefault_matches, &gap);
	else
		sd_journal_seek_head(j);
	jd_gap_free(&gap);
	for (int n = 0; n < max && sd_journal_next(j) > 0; n++) {
		seen[(*nseen)++] = test_seq(j);
		free(last);
		ck_assert_int_eq(sd_journal_get_cursor(j, &last), 0);
	}
	if (last)
		ck_assert_int_eq(jd_cursor_save(cursor_file, last), 0);
	free(last);
	free(cur);
	sd_journal_close(j);
	return res;
}

START_TEST(restarts_exactly_once)
{
	char *dir = jdt_mkdtemp("cur");
	char *cf = hvt_asprintf("%s/cursor", dir);
	int *seen = hvt_calloc(4000, sizeof(int)), nseen = 0, expect = 0;
	char *text;

	text = jdt_gen_export(0, 1000, RT_BASE);
	jdt_remote_text(dir, "x.journal", text);
	free(text);
	/* restarts after 1, 37, 500 entries; more appended while "stopped" */
	ck_assert_int_eq(run_once(dir, cf, 1, seen, &nseen), JD_RESUME_AFTER);
	ck_assert_int_eq(run_once(dir, cf, 37, seen, &nseen), JD_RESUME_AFTER);
	ck_assert_int_eq(run_once(dir, cf, 500, seen, &nseen), JD_RESUME_AFTER);
	text = jdt_gen_export(1000, 1000, RT_BASE);
	jdt_remote_text(dir, "x.journal", text);
	free(text);
	while (run_once(dir, cf, 400, seen, &nseen) == JD_RESUME_AFTER && nseen < 1400 && nseen < 4000)
		;
	for (int i = 0; i < 2000; i++)
		if (selected(i)) {
			ck_assert_msg(expect < nseen && seen[expect] == i, "position %d: got %d, expected %d",
				      expect, expect < nseen ? seen[expect] : -1, i);
			expect++;
		}
	ck_assert_int_eq(nseen, expect);
	free(seen);
	free(cf);
	jdt_rmtree(dir);
}
END_TEST

/* The saved entry no longer matches (the filter changed): continue after it. */
START_TEST(filter_changed)
{
	char *dir = jdt_mkdtemp("cur");
	char *text = jdt_gen_export(0, 100, RT_BASE), *cur = NULL;
	char *audit_only[] = { "_AUDIT_TYPE_NAME=VIRT_CONTROL" };
	struct jd_gap gap;
	sd_journal *j;

	jdt_remote_text(dir, "x.journal", text);
	free(text);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	while (sd_journal_next(j) > 0 && test_seq(j) != 23)
		;
	ck_assert_int_eq(test_seq(j), 23);              /* a libvirtd entry */
	ck_assert_int_eq(sd_journal_get_cursor(j, &cur), 0);
	sd_journal_close(j);
	j = open_dir(dir, audit_only, 1);
	ck_assert_int_eq(jd_cursor_resume(j, cur, audit_only, 1, &gap), JD_RESUME_UNMATCHED);
	ck_assert_int_eq(sd_journal_next(j), 1);
	ck_assert_int_eq(test_seq(j), 30);              /* the next VIRT_CONTROL */
	sd_journal_close(j);
	free(cur);
	jdt_rmtree(dir);
}
END_TEST

/* The file holding the saved entry was removed and the journal now holds
 * entries of another sequence: a gap whose size cannot be counted, bounded
 * by time; reading resumes at the first matching entry that is left. */
START_TEST(vacuumed_other_sequence)
{
	char *dir = jdt_mkdtemp("cur");
	char *text = jdt_gen_export(0, 100, RT_BASE), *cur = NULL, *path;
	struct jd_gap gap;
	sd_journal *j;

	jdt_remote_text(dir, "a.journal", text);
	free(text);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	while (sd_journal_next(j) > 0 && test_seq(j) != 41)
		;
	ck_assert_int_eq(sd_journal_get_cursor(j, &cur), 0);
	sd_journal_close(j);
	path = hvt_asprintf("%s/a.journal", dir);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	text = jdt_gen_export(100, 100, RT_BASE);
	jdt_remote_text(dir, "b.journal", text);
	free(text);

	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	ck_assert_int_eq(jd_cursor_resume(j, cur, jdt_default_matches, jdt_ndefault_matches, &gap), JD_RESUME_GAP);
	ck_assert(!gap.count_known);
	ck_assert_int_eq(gap.from_us, RT_BASE + 41 * 1000);
	ck_assert_int_eq(gap.to_us, RT_BASE + 100 * 1000);
	ck_assert_str_eq(gap.from_cursor, cur);
	ck_assert_ptr_nonnull(gap.to_cursor);
	struct hvt_event *ev = jd_gap_event(&gap);
	ck_assert_str_eq(ev->type, "journal.gap");
	jdt_check_json(ev);
	hvt_event_free(ev);
	jd_gap_free(&gap);
	ck_assert_int_eq(sd_journal_next(j), 1);
	ck_assert_int_eq(test_seq(j), 100);
	sd_journal_close(j);
	free(cur);
	jdt_rmtree(dir);
}
END_TEST

/* A gap is reported once: the position after reporting it names the gap,
 * so resuming from it again (a restart, a re-check, before any entry after
 * the gap was read) finds the same gap and says nothing (issue #14), and
 * when more is vacuumed meanwhile only what more went is reported. */
START_TEST(gap_reported_once)
{
	char *dir = jdt_mkdtemp("cur");
	char *text = jdt_gen_export(0, 100, RT_BASE), *cur = NULL, *path, *after;
	struct jd_gap gap;
	struct jd_pos pos;
	sd_journal *j;

	jdt_remote_text(dir, "a.journal", text);
	free(text);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	while (sd_journal_next(j) > 0 && test_seq(j) != 41)
		;
	ck_assert_int_eq(sd_journal_get_cursor(j, &cur), 0);
	sd_journal_close(j);
	ck_assert_int_eq(jd_pos_parse(cur, &pos), 0);
	ck_assert(!pos.gap_reported);
	ck_assert_str_eq(pos.cursor, cur);
	path = hvt_asprintf("%s/a.journal", dir);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	text = jdt_gen_export(100, 100, RT_BASE);
	jdt_remote_text(dir, "b.journal", text);
	free(text);

	/* first time: a gap; the position after it says which */
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	ck_assert_int_eq(jd_cursor_resume(j, cur, jdt_default_matches, jdt_ndefault_matches, &gap), JD_RESUME_GAP);
	ck_assert(jd_gap_since_reported(&pos, &gap));
	after = jd_pos_after_gap(cur, &gap);
	ck_assert(hvt_str_has_prefix(after, "gap,?,"));
	ck_assert(jd_cursor_text_valid(after));         /* storable as a cursor file */
	char *to = hvt_strdup(gap.to_cursor);
	jd_gap_free(&gap);
	sd_journal_close(j);

	/* again from there: the same gap, not reported again */
	ck_assert_int_eq(jd_pos_parse(after, &pos), 0);
	ck_assert(pos.gap_reported);
	ck_assert_str_eq(pos.cursor, cur);
	ck_assert_str_eq(pos.to, to);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	ck_assert_int_eq(jd_cursor_resume(j, pos.cursor, jdt_default_matches, jdt_ndefault_matches, &gap),
			 JD_RESUME_GAP);
	ck_assert(!jd_gap_since_reported(&pos, &gap));
	jd_gap_free(&gap);
	/* reading goes on where it would have */
	ck_assert_int_eq(sd_journal_next(j), 1);
	ck_assert_int_eq(test_seq(j), 100);
	sd_journal_close(j);

	/* more vacuumed: b.journal goes too; what is reported starts at the
	 * old "to" */
	path = hvt_asprintf("%s/b.journal", dir);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	text = jdt_gen_export(200, 100, RT_BASE);
	jdt_remote_text(dir, "c.journal", text);
	free(text);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	ck_assert_int_eq(jd_cursor_resume(j, pos.cursor, jdt_default_matches, jdt_ndefault_matches, &gap),
			 JD_RESUME_GAP);
	ck_assert(jd_gap_since_reported(&pos, &gap));
	ck_assert_str_eq(gap.from_cursor, to);
	ck_assert_int_eq(gap.from_us, RT_BASE + 100 * 1000);
	ck_assert_int_eq(gap.to_us, RT_BASE + 200 * 1000);
	jd_gap_free(&gap);
	sd_journal_close(j);

	/* what is no position */
	ck_assert_int_eq(jd_pos_parse("gap,1,only-two", &pos), -EINVAL);
	ck_assert_int_eq(jd_pos_parse("gap,x1,a,b", &pos), -EINVAL);
	ck_assert_int_eq(jd_pos_parse("with space", &pos), -EINVAL);
	ck_assert_int_eq(jd_pos_parse("gap,12,a,b", &pos), 0);
	ck_assert(pos.lost_known);
	ck_assert_uint_eq(pos.lost, 12);
	free(to);
	free(after);
	free(cur);
	jdt_rmtree(dir);
}
END_TEST

START_TEST(vacuumed_nothing_after)
{
	char *dir = jdt_mkdtemp("cur");
	char *text = jdt_gen_export(0, 50, RT_BASE), *cur = NULL, *path;
	struct jd_gap gap;
	sd_journal *j;

	jdt_remote_text(dir, "a.journal", text);
	free(text);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	ck_assert_int_eq(sd_journal_next(j), 1);
	ck_assert_int_eq(sd_journal_get_cursor(j, &cur), 0);
	sd_journal_close(j);
	path = hvt_asprintf("%s/a.journal", dir);
	unlink(path);
	free(path);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	ck_assert_int_eq(jd_cursor_resume(j, cur, jdt_default_matches, jdt_ndefault_matches, &gap), JD_RESUME_END);
	ck_assert_int_eq(sd_journal_next(j), 0);
	sd_journal_close(j);
	free(cur);
	jdt_rmtree(dir);
}
END_TEST

START_TEST(invalid_cursor)
{
	char *dir = jdt_mkdtemp("cur");
	char *text = jdt_gen_export(0, 10, RT_BASE);
	struct jd_gap gap;
	sd_journal *j;

	jdt_remote_text(dir, "a.journal", text);
	free(text);
	j = open_dir(dir, jdt_default_matches, jdt_ndefault_matches);
	ck_assert_int_eq(jd_cursor_resume(j, "not-a-cursor", jdt_default_matches, jdt_ndefault_matches, &gap),
			 JD_RESUME_INVALID);
	ck_assert_int_eq(sd_journal_next(j), 1);
	ck_assert_int_eq(test_seq(j), 0);
	sd_journal_close(j);
	jdt_rmtree(dir);
}
END_TEST

START_TEST(cursor_file)
{
	char *dir = jdt_mkdtemp("cf");
	char *path = hvt_asprintf("%s/cursor", dir), *c = NULL;
	struct stat st;
	FILE *f;

	ck_assert_int_eq(jd_cursor_load(path, &c), -ENOENT);
	ck_assert_int_eq(jd_cursor_save(path, "s=abc;i=1f"), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(jd_cursor_load(path, &c), 0);
	ck_assert_str_eq(c, "s=abc;i=1f");
	free(c);
	f = fopen(path, "w");
	fputs("two words\n", f);
	fclose(f);
	ck_assert_int_eq(jd_cursor_load(path, &c), -EINVAL);
	f = fopen(path, "w");
	for (int i = 0; i < 5000; i++)
		fputc('a', f);
	fclose(f);
	ck_assert_int_eq(jd_cursor_load(path, &c), -EINVAL);
	f = fopen(path, "w");
	fputs("a\0b", f);
	fwrite("a\0b\n", 1, 4, f);
	fclose(f);
	ck_assert_int_eq(jd_cursor_load(path, &c), -EINVAL);
	free(path);
	jdt_rmtree(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("journal_cursor");
	TCase *tc = tcase_create("resume");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, restarts_exactly_once);
	tcase_add_test(tc, filter_changed);
	tcase_add_test(tc, vacuumed_other_sequence);
	tcase_add_test(tc, gap_reported_once);
	tcase_add_test(tc, vacuumed_nothing_after);
	tcase_add_test(tc, invalid_cursor);
	tcase_add_test(tc, cursor_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (!jdt_have_journal_remote()) {
		fprintf(stderr, "SKIP: %s is not installed (package systemd-journal-remote)\n", JOURNAL_REMOTE);
		return 77;
	}
	return jdt_main(argc, argv, suite());
}
