/* glob.c - shell globs (what an operator types after --type) as SQLite GLOB.
 *
 * The two dialects differ in three places: the shell negates a set with '!'
 * (glibc also takes '^'), SQLite only with '^'; the shell escapes with a
 * backslash, SQLite has no escape character, so a literal '*', '?' or '['
 * becomes a one-character set; and an unterminated '[' is literal in the
 * shell but an error-free non-match in SQLite.  Character classes
 * ([[:alpha:]]) are not translated: type names are [a-z0-9_.-] anyway. */
#include "config.h"

#include <string.h>

#include "idx.h"
#include "util.h"

static void put_literal(struct hvt_buf *out, char c)
{
	if (c == '*' || c == '?' || c == '[') {
		char set[3] = { '[', c, ']' };
		hvt_buf_append(out, set, 3);
	} else {
		hvt_buf_append(out, &c, 1);
	}
}

/* Length of the bracket expression starting at p ('['), or 0 if unterminated. */
static size_t set_length(const char *p)
{
	size_t i = 1;

	if (p[i] == '!' || p[i] == '^')
		i++;
	if (p[i] == ']')          /* a leading ']' is a member, not the end */
		i++;
	while (p[i] && p[i] != ']') {
		if (p[i] == '\\' && p[i + 1])
			i++;
		i++;
	}
	return p[i] == ']' ? i + 1 : 0;
}

static void put_set(struct hvt_buf *out, const char *p, size_t len)
{
	size_t i = 1;

	hvt_buf_append(out, "[", 1);
	if (p[i] == '!' || p[i] == '^') {
		hvt_buf_append(out, "^", 1);
		i++;
	}
	for (; i < len - 1; i++) {
		if (p[i] == '\\' && i + 1 < len - 1)
			i++;
		hvt_buf_append(out, &p[i], 1);
	}
	hvt_buf_append(out, "]", 1);
}

char *idx_glob_to_sql(const char *g)
{
	struct hvt_buf out = { 0 };

	for (const char *p = g; *p; p++) {
		size_t n;
		if (*p == '\\' && p[1]) {
			put_literal(&out, *++p);
		} else if (*p == '*' || *p == '?') {
			hvt_buf_append(&out, p, 1);
		} else if (*p == '[' && (n = set_length(p)) > 0) {
			put_set(&out, p, n);
			p += n - 1;
		} else {
			put_literal(&out, *p);
		}
	}
	hvt_buf_append(&out, "", 1);
	return out.data;
}
