/* filter.c - see filter.h. */
#include "config.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "filter.h"

/* One level: a name or 0-7; -1 otherwise. */
static int priority_level(const char *s, size_t len)
{
	char name[16];

	if (len == 1 && *s >= '0' && *s <= '7')
		return *s - '0';
	if (len == 0 || len >= sizeof name)
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	return hvt_severity_parse(name);
}

int hvt_priority_mask_parse(const char *arg, uint8_t *mask, char *err, size_t errsize)
{
	const char *dots = strstr(arg, "..");
	const char *bad = arg;
	size_t badlen = strlen(arg);
	int lo = 0, hi;

	if (dots) {
		lo = priority_level(arg, (size_t)(dots - arg));
		hi = priority_level(dots + 2, strlen(dots + 2));
		if (lo < 0)
			badlen = (size_t)(dots - arg);
		else if (hi < 0)
			bad = dots + 2, badlen = strlen(dots + 2);
	} else {
		hi = priority_level(arg, badlen);
	}
	if (lo < 0 || hi < 0) {
		snprintf(err, errsize, "a priority is one of emerg, alert, crit, err, warning, notice, info, "
			 "debug or 0-7, or a range FROM..TO, not '%.*s'", (int)(badlen > 64 ? 64 : badlen), bad);
		return -1;
	}
	if (lo > hi) {
		int t = lo;
		lo = hi;
		hi = t;
	}
	*mask = 0;
	for (int v = lo; v <= hi; v++)
		*mask |= (uint8_t)(1u << v);
	return 0;
}

/* A backslash before a digit: a back-reference (glibc takes them in
 * extended expressions too).  "\\1" is a backslash, then a 1. */
static bool has_backreference(const char *p)
{
	for (; *p; p++)
		if (*p == '\\') {
			if (isdigit((unsigned char)p[1]))
				return true;
			if (p[1])
				p++;
		}
	return false;
}

int hvt_grep_prepare(const char *pattern, int case_sensitive, bool untrusted, bool *icase, char *err,
		     size_t errsize)
{
	regex_t re;
	int rc;

	if (untrusted && strlen(pattern) > HVT_GREP_UNTRUSTED_MAX) {
		snprintf(err, errsize, "the pattern is longer than %d bytes", HVT_GREP_UNTRUSTED_MAX);
		return -1;
	}
	if (untrusted && has_backreference(pattern)) {
		snprintf(err, errsize, "back-references (\\1..\\9) are not taken here");
		return -1;
	}
	if (case_sensitive < 0) {
		*icase = true;
		for (const char *p = pattern; *p; p++)
			if (isupper((unsigned char)*p))
				*icase = false;
	} else {
		*icase = !case_sensitive;
	}
	rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | (*icase ? REG_ICASE : 0));
	if (rc != 0) {
		char why[160];
		regerror(rc, &re, why, sizeof why);
		snprintf(err, errsize, "no extended regular expression: %s", why);
		return -1;
	}
	regfree(&re);
	return 0;
}
