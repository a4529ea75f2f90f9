/* test_filter.c - the query filters the CLI and the HTTPS API share
 * (filter.h): journalctl's priorities and ranges, the -g case rule, and
 * what the API refuses in a pattern. */
#include "config.h"

#include "testutil.h"

#include <string.h>

#include "filter.h"

static int mask(const char *arg)
{
	uint8_t m = 0xAA;
	char err[200];

	return hvt_priority_mask_parse(arg, &m, err, sizeof err) == 0 ? m : -1;
}

START_TEST(priorities_as_journalctl)
{
	ck_assert_int_eq(mask("emerg"), 0x01);
	ck_assert_int_eq(mask("err"), 0x0f);          /* err and everything more important */
	ck_assert_int_eq(mask("3"), 0x0f);
	ck_assert_int_eq(mask("debug"), 0xff);
	ck_assert_int_eq(mask("err..warning"), 0x18);
	ck_assert_int_eq(mask("warning..err"), 0x18);  /* either order */
	ck_assert_int_eq(mask("notice..notice"), 0x20);
	ck_assert_int_eq(mask("0..7"), 0xff);
	ck_assert_int_eq(mask("urgent"), -1);
	ck_assert_int_eq(mask("8"), -1);
	ck_assert_int_eq(mask(""), -1);
	ck_assert_int_eq(mask("err.."), -1);
	ck_assert_int_eq(mask("..err"), -1);
	ck_assert_int_eq(mask("errrrrrrrrrrrrrrrrrrrrrr"), -1);
}
END_TEST

START_TEST(bad_priority_says_which_word)
{
	uint8_t m;
	char err[200];

	ck_assert_int_eq(hvt_priority_mask_parse("err..loud", &m, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not 'loud'"));
	ck_assert_ptr_nonnull(strstr(err, "emerg, alert, crit, err, warning, notice, info, debug"));
}
END_TEST

START_TEST(grep_case_and_refusals)
{
	bool icase;
	char err[200];
	char long_pattern[HVT_GREP_UNTRUSTED_MAX + 2];

	ck_assert_int_eq(hvt_grep_prepare("vm start", -1, false, &icase, err, sizeof err), 0);
	ck_assert(icase);                               /* lower case: either case */
	ck_assert_int_eq(hvt_grep_prepare("vm Start", -1, false, &icase, err, sizeof err), 0);
	ck_assert(!icase);
	ck_assert_int_eq(hvt_grep_prepare("vm Start", 0, false, &icase, err, sizeof err), 0);
	ck_assert(icase);
	ck_assert_int_eq(hvt_grep_prepare("vm start", 1, false, &icase, err, sizeof err), 0);
	ck_assert(!icase);
	ck_assert_int_eq(hvt_grep_prepare("a(b", -1, false, &icase, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no extended regular expression"));

	/* the API: back-references refused, an escaped backslash before a digit is none */
	ck_assert_int_eq(hvt_grep_prepare("(a)\\1", -1, false, &icase, err, sizeof err), 0);
	ck_assert_int_eq(hvt_grep_prepare("(a)\\1", -1, true, &icase, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "back-references"));
	ck_assert_int_eq(hvt_grep_prepare("a\\\\1", -1, true, &icase, err, sizeof err), 0);
	memset(long_pattern, 'a', sizeof long_pattern - 1);
	long_pattern[sizeof long_pattern - 1] = '\0';
	ck_assert_int_eq(hvt_grep_prepare(long_pattern, -1, false, &icase, err, sizeof err), 0);
	ck_assert_int_eq(hvt_grep_prepare(long_pattern, -1, true, &icase, err, sizeof err), -1);
	long_pattern[HVT_GREP_UNTRUSTED_MAX] = '\0';
	ck_assert_int_eq(hvt_grep_prepare(long_pattern, -1, true, &icase, err, sizeof err), 0);
}
END_TEST

static Suite *filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, priorities_as_journalctl);
	tcase_add_test(tc, bad_priority_says_which_word);
	tcase_add_test(tc, grep_case_and_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(filter_suite());
}
