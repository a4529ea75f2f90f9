/* grep.c - `hvtrail query -g PATTERN`: the SQL function
 * hvt_regexp(pattern, icase, text), true when the POSIX extended regular
 * expression matches anywhere in text (regexec, as grep -E does).
 *
 * The pattern is compiled once per statement (SQLite's auxiliary data on
 * the constant argument) and freed with it.  A NULL text (an event without
 * msg) never matches.  The CLI checks the pattern before it asks, so a bad
 * one here is an error of the statement, not a silent non-match. */
#include "config.h"

#include <regex.h>
#include <stdlib.h>

#include "idx.h"

static void free_re(void *p)
{
	regfree(p);
	free(p);
}

static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	regex_t *re = sqlite3_get_auxdata(ctx, 0);
	const char *text = (const char *)sqlite3_value_text(argv[2]);

	(void)argc;
	if (!re) {
		const char *pattern = (const char *)sqlite3_value_text(argv[0]);
		int flags = REG_EXTENDED | REG_NOSUB | (sqlite3_value_int(argv[1]) ? REG_ICASE : 0);
		if (!pattern) {
			sqlite3_result_error(ctx, "hvt_regexp: no pattern", -1);
			return;
		}
		re = malloc(sizeof *re);
		if (!re || regcomp(re, pattern, flags) != 0) {
			free(re);
			sqlite3_result_error(ctx, "hvt_regexp: the pattern is no extended regular expression", -1);
			return;
		}
		sqlite3_set_auxdata(ctx, 0, re, free_re);
		re = sqlite3_get_auxdata(ctx, 0);   /* SQLite may have freed it already */
		if (!re) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	sqlite3_result_int(ctx, text && regexec(re, text, 0, NULL, 0) == 0);
}

int idx_grep_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "hvt_regexp", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				       regexp_fn, NULL, NULL) == SQLITE_OK ? 0 : -1;
}
