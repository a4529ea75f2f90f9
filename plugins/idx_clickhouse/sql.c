/* sql.c - text that goes to ClickHouse: string literals, JSON strings,
 * URL parameters and shell globs as regular expressions.
 *
 * 18.16's HTTP interface has no query parameters ({name:Type} came in 19.x),
 * so every value from an operator or an event is spliced into the statement
 * as a literal; ch_quote() is the one place that makes that safe. */
#include "config.h"

#include <string.h>

#include "ch.h"

static const char hex[] = "0123456789abcdef";

static void put_hex_escape(struct hvt_buf *b, unsigned char c)
{
	char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

	hvt_buf_append(b, e, 4);
}

/* Inside '...' ClickHouse reads backslash escapes; everything else is
 * literal up to an unescaped quote.  Quote and backslash are escaped, and
 * control bytes too so that a statement in a log stays one line. */
void ch_quote(struct hvt_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;

	hvt_buf_reserve(b, len + 2);
	hvt_buf_append(b, "'", 1);
	for (; p < end; p++) {
		if (*p >= 0x20 && *p != 0x7f && *p != '\'' && *p != '\\')
			continue;
		hvt_buf_append(b, run, (size_t)(p - run));
		if (*p == '\'' || *p == '\\') {
			char e[2] = { '\\', (char)*p };
			hvt_buf_append(b, e, 2);
		} else {
			put_hex_escape(b, *p);
		}
		run = p + 1;
	}
	hvt_buf_append(b, run, (size_t)(p - run));
	hvt_buf_append(b, "'", 1);
}

void ch_quote_str(struct hvt_buf *b, const char *s)
{
	ch_quote(b, s ? s : "", s ? strlen(s) : 0);
}

void ch_table(struct hvt_buf *b, const struct ch *x, const char *name)
{
	/* database is checked to be an identifier at init: no quoting needed */
	hvt_buf_printf(b, "%s.%s", x->o.database, name);
}

/* JSONEachRow: ClickHouse decodes the escapes back to the same bytes, so the
 * stored raw text is the received text byte for byte.  This runs over every
 * byte of every event (the raw JSON is full of quotes), so it reserves the
 * worst case once and writes straight into the buffer. */
void ch_json_str(struct hvt_buf *b, const char *s, size_t len)
{
	static const unsigned char plain[256] = {
		/* 1 = copy as is: printable ASCII but '"' and '\\', and every byte >= 0x80 */
		[0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0xff] = 1,
	};
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	char *o;

	hvt_buf_reserve(b, len * 6 + 2);
	o = b->data + b->len;
	*o++ = '"';
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && plain[*p])
			p++;
		memcpy(o, run, (size_t)(p - run));
		o += p - run;
		if (p == end)
			break;
		*o++ = '\\';
		switch (*p) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u', *o++ = '0', *o++ = '0', *o++ = hex[*p >> 4], *o++ = hex[*p & 15];
		}
		p++;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
}

void ch_urlencode(struct hvt_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.~", *p)) {
			hvt_buf_append(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			hvt_buf_append(b, e, 3);
		}
	}
}

/* ---- shell glob -> RE2 ---------------------------------------------------
 * fnmatch(3) without flags: '*' any string, '?' one character, '[...]' a set
 * ('!' or '^' negates, a leading ']' is a member, a-b ranges, [:class:]),
 * a backslash makes the next character literal, an unterminated '[' is
 * literal.  Literal characters are escaped unless alphanumeric (see
 * put_literal), so no character of the glob is special to RE2 by accident.
 * Types are ASCII ([a-z0-9_.]), so non-ASCII members of a set are left out. */

static bool alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A literal character outside a set.  Not \xHH: ClickHouse scans a pattern
 * for required substrings before RE2 sees it (OptimizedRegularExpression),
 * and that scan reads "\x2e" as a literal "x" (measured: 'load\x2eevent'
 * never matches "load.event" on 18.16).  A backslash before punctuation
 * means the same to both; other bytes go in a one-character set, which the
 * scan skips. */
static void put_literal(struct hvt_buf *re, unsigned char c)
{
	if (alnum(c) || c == '_' || c >= 0x80) {
		hvt_buf_append(re, &c, 1);
	} else if (c > 0x20 && c < 0x7f) {
		char e[2] = { '\\', (char)c };
		hvt_buf_append(re, e, 2);
	} else {
		hvt_buf_append(re, "[", 1);
		put_hex_escape(re, c);
		hvt_buf_append(re, "]", 1);
	}
}

/* Length of a character class "[:alpha:]" at p, or 0 when p does not start
 * one.  Only letters may name a class: "[:[:]" is a '[' and a ':' (found by
 * review: the set parser took it for a class without an end and ran off). */
static size_t class_length(const char *p)
{
	size_t i = 2;

	if (p[0] != '[' || p[1] != ':')
		return 0;
	while ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z'))
		i++;
	return i > 2 && p[i] == ':' && p[i + 1] == ']' ? i + 2 : 0;
}

/* Length of the bracket expression at p ('['), or 0 if unterminated. */
static size_t set_length(const char *p)
{
	size_t i = 1, n;

	if (p[i] == '!' || p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] && p[i] != ']') {
		if ((n = class_length(p + i)) > 0) {
			i += n;
			continue;
		}
		if (p[i] == '\\' && p[i + 1])
			i++;
		i++;
	}
	return p[i] == ']' ? i + 1 : 0;
}

/* One member of a set at p[*i] (escaped or not); returns the character. */
static unsigned char set_member(const char *p, size_t *i)
{
	if (p[*i] == '\\' && p[*i + 1])
		(*i)++;
	return (unsigned char)p[(*i)++];
}

/* Returns false when the set can match no ASCII character. */
static bool put_set(struct hvt_buf *re, const char *p, size_t len)
{
	size_t i = 1, last = len - 1;   /* p[last] is the closing ']' */
	bool negated = p[i] == '!' || p[i] == '^';
	size_t members = 0;

	hvt_buf_append(re, negated ? "[^" : "[", negated ? 2 : 1);
	if (negated)
		i++;
	while (i < last) {
		size_t n = class_length(p + i);
		if (n > 0 && i + n <= last) {
			hvt_buf_append(re, p + i, n);   /* RE2 knows [:alpha:] inside a set */
			i += n;
			members++;
			continue;
		}
		unsigned char lo = set_member(p, &i), hi = lo;
		if (p[i] == '-' && i + 1 < last && !class_length(p + i + 1)) {
			i++;
			hi = set_member(p, &i);
		}
		if (lo >= 0x80 || hi >= 0x80 || hi < lo)
			continue;       /* non-ASCII, or an empty range */
		put_hex_escape(re, lo);
		if (hi != lo) {
			hvt_buf_append(re, "-", 1);
			put_hex_escape(re, hi);
		}
		members++;
	}
	if (!members)   /* [^] or [] are no RE2 */
		hvt_buf_append(re, negated ? "\\x00-\\x7f" : "\\x00", negated ? 9 : 4);
	hvt_buf_append(re, "]", 1);
	return members > 0 || negated;
}

bool ch_glob_regex(const char *g, struct hvt_buf *re)
{
	bool can_match = true;

	hvt_buf_append_str(re, "(?s)^");
	for (const char *p = g; *p; p++) {
		size_t n;
		if (*p == '\\' && p[1]) {
			put_literal(re, (unsigned char)*++p);
		} else if (*p == '*') {
			hvt_buf_append_str(re, ".*");
		} else if (*p == '?') {
			hvt_buf_append_str(re, ".");
		} else if (*p == '[' && (n = set_length(p)) > 0) {
			can_match &= put_set(re, p, n);
			p += n - 1;
		} else {
			put_literal(re, (unsigned char)*p);
		}
	}
	hvt_buf_append_str(re, "$");
	return can_match;
}
