/* check_ch_glob.c - shell globs to ClickHouse (RE2) patterns, sql.c.
 *
 * The translation runs on whatever an operator types after --type, so it
 * must end, on every input, with a pattern RE2 can compile: a bracket
 * expression that only looks like it holds a character class
 * ("[a-[:[:]]") once sent the set parser past the end of the string. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ch.h"

static char *re_of(const char *glob, bool *can_match)
{
	struct hvt_buf re = { 0 };

	*can_match = ch_glob_regex(glob, &re);
	return re.data;
}

START_TEST(plain_and_wildcards)
{
	bool m;
	char *re = re_of("migration.*", &m);

	ck_assert(m);
	ck_assert_str_eq(re, "(?s)^migration\\..*$");
	free(re);
	re = re_of("vm.?topped", &m);
	ck_assert_str_eq(re, "(?s)^vm\\..topped$");
	free(re);
}
END_TEST

START_TEST(sets_and_classes)
{
	bool m;
	char *re = re_of("[[:alpha:]x]*", &m);

	ck_assert(m);
	ck_assert_str_eq(re, "(?s)^[[:alpha:]\\x78].*$");
	free(re);
	re = re_of("[!a-c]", &m);
	ck_assert_str_eq(re, "(?s)^[^\\x61-\\x63]$");
	free(re);
}
END_TEST

/* Inputs found by review or built to look like classes that never end: the
 * translation terminates (Check's timeout) and brackets stay balanced. */
START_TEST(hostile_brackets_terminate)
{
	static const char *const globs[] = {
		"[a-[:[:]]", "[[:]", "[[:", "[:]", "[[:alpha:", "[a-[:alpha:]]", "[[:x:]", "[[::]]",
		"[\\", "[a-\\]", "[]-[:]]", "[!]", "[]", "[[:alpha:]][[:[:]]]", "[[:[:[:[:]",
	};
	for (size_t i = 0; i < sizeof globs / sizeof *globs; i++) {
		bool m;
		char *re = re_of(globs[i], &m);
		int depth = 0;
		ck_assert_msg(re && strncmp(re, "(?s)^", 5) == 0, "%s", globs[i]);
		/* outside a set every '[' we write opens one that is closed */
		for (const char *p = re + 5; *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p == '[' && depth == 0)
				depth = 1;
			else if (*p == '[' && p[1] == ':' && strstr(p, ":]"))
				p = strstr(p, ":]") + 1;
			else if (*p == ']' && depth == 1)
				depth = 0;
		}
		ck_assert_msg(depth == 0, "unbalanced set in %s for glob %s", re, globs[i]);
		free(re);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ch_glob");
	TCase *tc = tcase_create("glob");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, plain_and_wildcards);
	tcase_add_test(tc, sets_and_classes);
	tcase_add_test(tc, hostile_brackets_terminate);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
