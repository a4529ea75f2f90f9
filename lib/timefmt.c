/* timefmt.c - see timefmt.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "timefmt.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (the well-known
 * days-from-civil algorithm): what timegm() computes, without its lock on
 * the time zone state, which showed in the collector's profile. */
static long long days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Every event is formatted with two or three timestamps, mostly of the
 * same second: keep the formatted "YYYY-MM-DDTHH:MM:SS" of the last second
 * per thread, and write only the microseconds by hand. */
static __thread long long fmt_cached_sec = -1;
static __thread char fmt_cached[32];

void hvt_format_rfc3339(long long us, char *buf, size_t size)
{
	time_t sec = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);

	if (frac < 0) {
		frac += 1000000;
		sec -= 1;
	}
	if (sec != fmt_cached_sec || size < 28) {
		struct tm tm;
		char prefix[sizeof fmt_cached];

		gmtime_r(&sec, &tm);
		int n = snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (size < 28 || n != 19) {        /* short buffer or a year beyond 9999 */
			snprintf(buf, size, "%s.%06ldZ", prefix, frac);
			return;
		}
		memcpy(fmt_cached, prefix, 20);
		fmt_cached_sec = sec;
	}
	memcpy(buf, fmt_cached, 19);
	buf[19] = '.';
	for (int i = 25; i >= 20; i--) {
		buf[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	buf[26] = 'Z';
	buf[27] = '\0';
}

static int parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Parses "YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|(+|-)HH:MM]".
 * *has_zone tells whether a zone was given (if not, the caller decides). */
static int parse_iso(const char *s, long long *us, int *has_zone, struct tm *tm_out, long *frac_out)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, zsign = 0, zh = 0, zm = 0;
	long frac = 0;

	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) ||
	    *p++ != '-' || parse_digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (parse_digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				int ndig = 0;
				p++;
				while (isdigit((unsigned char)*p)) {
					if (ndig < 6) {
						frac = frac * 10 + (*p - '0');
						ndig++;
					}
					p++;
				}
				if (ndig == 0)
					return -1;
				while (ndig++ < 6)
					frac *= 10;
			}
		}
	}
	*has_zone = 0;
	if (*p == 'Z' || *p == 'z') {
		*has_zone = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		zsign = *p == '+' ? 1 : -1;
		p++;
		if (parse_digits(&p, 2, &zh))
			return -1;
		if (*p == ':')
			p++;
		if (parse_digits(&p, 2, &zm))
			return -1;
		*has_zone = 1;
	}
	if (*p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || zh > 23 || zm > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (tm_out)
		*tm_out = tm;
	if (frac_out)
		*frac_out = frac;
	long long t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= zsign * (zh * 3600 + zm * 60);
	*us = t * 1000000 + frac;
	return 0;
}

int hvt_parse_rfc3339(const char *s, long long *us)
{
	int has_zone;

	return parse_iso(s, us, &has_zone, NULL, NULL);
}

static long long unit_us(const char *u)
{
	static const struct { const char *name; long long us; } units[] = {
		{ "us", 1 }, { "usec", 1 }, { "ms", 1000 }, { "msec", 1000 },
		{ "s", 1000000LL }, { "sec", 1000000LL }, { "second", 1000000LL }, { "seconds", 1000000LL },
		{ "m", 60000000LL }, { "min", 60000000LL }, { "minute", 60000000LL }, { "minutes", 60000000LL },
		{ "h", 3600000000LL }, { "hr", 3600000000LL }, { "hour", 3600000000LL }, { "hours", 3600000000LL },
		{ "d", 86400000000LL }, { "day", 86400000000LL }, { "days", 86400000000LL },
		{ "w", 604800000000LL }, { "week", 604800000000LL }, { "weeks", 604800000000LL },
		{ "mins", 60000000LL }, { "secs", 1000000LL }, { "hrs", 3600000000LL },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcasecmp(u, units[i].name) == 0)
			return units[i].us;
	return -1;
}

/* "1h30m", "5 min", "2 days" -> microseconds. */
static int parse_span_us(const char *s, long long *out)
{
	long long total = 0;
	const char *p = s;
	int any = 0;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		char *end;
		/* plain decimals only: strtod would also take "nan", "inf", hex and exponents */
		size_t digits = strspn(p, "0123456789.");
		double v = strtod(p, &end);
		if (digits == 0 || end != p + digits || v < 0)
			return -1;
		p = end;
		while (*p == ' ')
			p++;
		char unit[16];
		size_t n = 0;
		while (isalpha((unsigned char)*p) && n < sizeof unit - 1)
			unit[n++] = *p++;
		unit[n] = '\0';
		long long mult = n ? unit_us(unit) : 1000000LL;
		if (mult < 0)
			return -1;
		if (v * (double)mult + (double)total >= 9e18)      /* would overflow */
			return -1;
		total += (long long)(v * (double)mult);
		any = 1;
	}
	if (!any)
		return -1;
	*out = total;
	return 0;
}

static long long local_midnight(long long now_us, int day_offset)
{
	time_t t = (time_t)(now_us / 1000000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += day_offset;
	tm.tm_isdst = -1;
	return (long long)mktime(&tm) * 1000000;
}

int hvt_parse_time_spec(const char *in, long long now_us, long long *us)
{
	char s[128];
	size_t n;
	long long span;
	int has_zone;
	struct tm tm;
	long frac;

	if (strlen(in) >= sizeof s)
		return -1;
	snprintf(s, sizeof s, "%s", in);
	/* trim */
	char *p = s;
	while (*p == ' ')
		p++;
	n = strlen(p);
	while (n && p[n - 1] == ' ')
		p[--n] = '\0';
	if (!*p)
		return -1;

	if (strcasecmp(p, "now") == 0) {
		*us = now_us;
		return 0;
	}
	if (strcasecmp(p, "today") == 0) {
		*us = local_midnight(now_us, 0);
		return 0;
	}
	if (strcasecmp(p, "yesterday") == 0) {
		*us = local_midnight(now_us, -1);
		return 0;
	}
	if (strcasecmp(p, "tomorrow") == 0) {
		*us = local_midnight(now_us, 1);
		return 0;
	}
	if (p[0] == '@') {
		char *end;
		double v = strtod(p + 1, &end);
		if (end == p + 1 || *end || !(v > -9e12 && v < 9e12))   /* also NaN */
			return -1;
		*us = (long long)(v * 1e6);
		return 0;
	}
	if (p[0] == '-' || p[0] == '+') {
		if (parse_span_us(p + 1, &span) < 0)
			return -1;
		*us = p[0] == '-' ? now_us - span : now_us + span;
		return 0;
	}
	if (n > 4 && strcasecmp(p + n - 4, " ago") == 0) {
		p[n - 4] = '\0';
		if (parse_span_us(p, &span) < 0)
			return -1;
		*us = now_us - span;
		return 0;
	}
	if (strncasecmp(p, "in ", 3) == 0) {
		if (parse_span_us(p + 3, &span) < 0)
			return -1;
		*us = now_us + span;
		return 0;
	}
	if (parse_iso(p, us, &has_zone, &tm, &frac) == 0) {
		if (!has_zone) {        /* a wall-clock time: interpret as local */
			tm.tm_isdst = -1;
			*us = (long long)mktime(&tm) * 1000000 + frac;
		}
		return 0;
	}
	/* a bare time today: "10:30" or "10:30:15" */
	int h, mi, sec = 0;
	char extra;
	if (sscanf(p, "%d:%d:%d%c", &h, &mi, &sec, &extra) == 3 ||
	    sscanf(p, "%d:%d%c", &h, &mi, &extra) == 2) {
		if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
			return -1;
		*us = local_midnight(now_us, 0) + ((long long)h * 3600 + mi * 60 + sec) * 1000000;
		return 0;
	}
	return -1;
}

int hvt_parse_duration_ms(const char *s, long long *ms)
{
	long long us;

	if (parse_span_us(s, &us) < 0)
		return -1;
	*ms = us / 1000;
	return 0;
}

int hvt_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;

	while (*s == ' ')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	while (*end == ' ')
		end++;
	uint64_t mult = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mult = 1ULL << 10; end++; break;
	case 'M': mult = 1ULL << 20; end++; break;
	case 'G': mult = 1ULL << 30; end++; break;
	case 'T': mult = 1ULL << 40; end++; break;
	case 'B': end++; if (*end) return -1; break;
	default: return -1;
	}
	if (mult > 1) {
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end)
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*bytes = v * mult;
	return 0;
}
