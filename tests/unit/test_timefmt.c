/* test_timefmt.c - timestamps, time specs as an operator types them,
 * durations and sizes. */
#include "config.h"

#include <time.h>

#include "testutil.h"

#include "timefmt.h"

#define S 1000000LL                      /* microseconds in a second */
/* 2026-11-22T12:20:00Z, a Sunday; 13:20 in Central European Time */
#define NOW (1795350000LL * S)

/* A POSIX TZ rule needs no tzdata: CET/CEST, DST from the last Sunday of
 * March to the last Sunday of October. */
static void central_europe(void)
{
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
}

static long long spec(const char *s, long long now)
{
	long long us = 0x5555;

	ck_assert_msg(hvt_parse_time_spec(s, now, &us) == 0, "'%s' refused", s);
	return us;
}

static void spec_refused(const char *s)
{
	long long us = 0x5555;

	ck_assert_msg(hvt_parse_time_spec(s, NOW, &us) == -1, "'%s' accepted as %lld", s, us);
	ck_assert_int_eq(us, 0x5555);
}

static long long rfc(const char *s)
{
	long long us = 0;

	ck_assert_msg(hvt_parse_rfc3339(s, &us) == 0, "'%s' refused", s);
	return us;
}

START_TEST(format_rfc3339)
{
	char buf[40];

	hvt_format_rfc3339(0, buf, sizeof buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
	hvt_format_rfc3339(NOW + 123456, buf, sizeof buf);
	ck_assert_str_eq(buf, "2026-11-22T12:20:00.123456Z");
	hvt_format_rfc3339(-1, buf, sizeof buf);
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.999999Z");
	hvt_format_rfc3339(951782400LL * S, buf, sizeof buf);      /* a leap day */
	ck_assert_str_eq(buf, "2000-02-29T00:00:00.000000Z");
	/* a short buffer is truncated, never overrun */
	char small[11];
	memset(small, 'x', sizeof small);
	hvt_format_rfc3339(0, small, sizeof small);
	ck_assert_str_eq(small, "1970-01-01");
}
END_TEST

START_TEST(parse_rfc3339)
{
	static const long long samples[] = {
		0, 1, -1, NOW + 123456, 951782400LL * S, 4102444799LL * S + 999999,
	};
	char buf[40];

	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		hvt_format_rfc3339(samples[i], buf, sizeof buf);
		ck_assert_int_eq(rfc(buf), samples[i]);
	}
	ck_assert_int_eq(rfc("2026-11-22T13:20:00.123456+01:00"), NOW + 123456);
	ck_assert_int_eq(rfc("2026-11-22T06:50:00-05:30"), NOW);
	ck_assert_int_eq(rfc("2026-11-22T13:20:00+0100"), NOW);
	ck_assert_int_eq(rfc("2026-11-22t12:20:00z"), NOW);
	ck_assert_int_eq(rfc("2026-11-22 12:20:00Z"), NOW);
	ck_assert_int_eq(rfc("2026-11-22T12:20:00"), NOW);           /* no zone: UTC */
	ck_assert_int_eq(rfc("2026-11-22T12:20Z"), NOW);             /* no seconds */
	ck_assert_int_eq(rfc("2026-11-22T12:20:00.5Z"), NOW + 500000);
	ck_assert_int_eq(rfc("2026-11-22T12:20:00,25Z"), NOW + 250000);
	ck_assert_int_eq(rfc("2026-11-22T12:20:00.123456789Z"), NOW + 123456);   /* ns cut */
	ck_assert_int_eq(rfc("2026-11-22"), NOW - (12 * 3600 + 20 * 60) * S);

	static const char *const bad[] = {
		"", "2026", "2026-11-22T", "2026-11-22T12", "2026-11-22T12:20:", "2026-13-01",
		"2026-00-10", "2026-11-32", "2026-11-22T24:00:00Z", "2026-11-22T12:60Z",
		"2026-11-22T12:20:00.Z", "2026-11-22T12:20:00Zjunk", "2026-11-22T12:20:00+1",
		"2026-11-22T12:20:00+25:00", "26-11-22", "2026/11/22", " 2026-11-22", "yesterday",
		"2026-11-22T12:20:00 Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long long us = 7;
		ck_assert_msg(hvt_parse_rfc3339(bad[i], &us) == -1, "'%s' accepted", bad[i]);
		ck_assert_int_eq(us, 7);
	}
}
END_TEST

START_TEST(relative_specs)
{
	ck_assert_int_eq(spec("now", NOW), NOW);
	ck_assert_int_eq(spec("  NOW ", NOW), NOW);
	ck_assert_int_eq(spec("1 hour ago", NOW), NOW - 3600 * S);
	ck_assert_int_eq(spec("2 days ago", NOW), NOW - 2 * 86400 * S);
	ck_assert_int_eq(spec("1h30m ago", NOW), NOW - 5400 * S);
	ck_assert_int_eq(spec("90 seconds AGO", NOW), NOW - 90 * S);
	ck_assert_int_eq(spec("-5m", NOW), NOW - 300 * S);
	ck_assert_int_eq(spec("-1h", NOW), NOW - 3600 * S);
	ck_assert_int_eq(spec("+30s", NOW), NOW + 30 * S);
	ck_assert_int_eq(spec("-2w", NOW), NOW - 14 * 86400 * S);
	ck_assert_int_eq(spec("-250ms", NOW), NOW - 250000);
	ck_assert_int_eq(spec("in 5 min", NOW), NOW + 300 * S);
	ck_assert_int_eq(spec("@1795350000", 0), NOW);
	ck_assert_int_eq(spec("@1795350000.5", 0), NOW + 500000);
	ck_assert_int_eq(spec("@0", NOW), 0);
}
END_TEST

START_TEST(calendar_days_are_local)
{
	central_europe();
	ck_assert_int_eq(spec("today", NOW), 1795302000LL * S);
	ck_assert_int_eq(spec("yesterday", NOW), 1795215600LL * S);
	ck_assert_int_eq(spec("tomorrow", NOW), 1795388400LL * S);
	/* the day after the switch to summer time: "yesterday" was 23 hours long */
	ck_assert_int_eq(spec("today", 1774872000LL * S), 1774821600LL * S);
	ck_assert_int_eq(spec("yesterday", 1774872000LL * S), 1774738800LL * S);
	/* and in UTC the same words mean other instants */
	setenv("TZ", "UTC0", 1);
	tzset();
	ck_assert_int_eq(spec("today", NOW), NOW - (12 * 3600 + 20 * 60) * S);
}
END_TEST

START_TEST(iso_local_vs_zoned)
{
	central_europe();
	/* without a zone an ISO date is wall-clock time here */
	ck_assert_int_eq(spec("2026-11-22 10:00", NOW), 1795338000LL * S);
	ck_assert_int_eq(spec("2026-11-22T10:00:00", NOW), 1795338000LL * S);
	ck_assert_int_eq(spec("2026-07-01 10:00", NOW), 1782892800LL * S);       /* CEST */
	ck_assert_int_eq(spec("2026-11-22", NOW), 1795302000LL * S);
	ck_assert_int_eq(spec("2026-11-22 10:00:00.25", NOW), 1795338000LL * S + 250000);
	/* with a zone it is that instant, whatever TZ says */
	ck_assert_int_eq(spec("2026-11-22T10:00:00Z", NOW), 1795341600LL * S);
	ck_assert_int_eq(spec("2026-11-22T10:00:00+01:00", NOW), 1795338000LL * S);
	/* a bare time is today, local */
	ck_assert_int_eq(spec("10:30", NOW), 1795339800LL * S);
	ck_assert_int_eq(spec("10:30:15", NOW), 1795339815LL * S);
}
END_TEST

START_TEST(junk_specs_refused)
{
	char longspec[200];

	memset(longspec, '1', sizeof longspec - 1);
	longspec[sizeof longspec - 1] = '\0';
	static const char *const bad[] = {
		"", "   ", "soon", "1 fortnight ago", "ago", " ago", "-", "+", "@", "@12x",
		"in", "in ", "5 min", "-5 parsecs", "--5m", "-(5m)", "2026-11-22 25:00", "10:61",
		"24:00", "10:30:61", "10:30x", "12", "yesterday 10:00", "@nan", "@inf", "-inf s",
		"-nan", "in 1e300 days", "-0x10s",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		spec_refused(bad[i]);
	spec_refused(longspec);
}
END_TEST

START_TEST(durations)
{
	static const struct { const char *in; long long ms; } good[] = {
		{ "250ms", 250 }, { "5s", 5000 }, { "2m", 120000 }, { "1h", 3600000 },
		{ "1d", 86400000 }, { "1w", 604800000 }, { "1.5s", 1500 }, { "30", 30000 },
		{ "1h30m", 5400000 }, { "5 min", 300000 }, { "2 hours", 7200000 },
		{ "1500us", 1 }, { "0", 0 }, { " 10 sec ", 10000 }, { "1H", 3600000 },
	};
	static const char *const bad[] = {
		"", " ", "ms", "5 parsecs", "-5s", "abc", "5s x", "nan", "inf", "infinity",
		"1e300d", "0x10s", "5_s",
	};
	long long ms;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		ms = -1;
		ck_assert_msg(hvt_parse_duration_ms(good[i].in, &ms) == 0, "'%s' refused", good[i].in);
		ck_assert_msg(ms == good[i].ms, "'%s' = %lld ms, want %lld", good[i].in, ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ms = 4242;
		ck_assert_msg(hvt_parse_duration_ms(bad[i], &ms) == -1, "'%s' accepted as %lld ms",
			      bad[i], ms);
		ck_assert_int_eq(ms, 4242);
	}
}
END_TEST

START_TEST(sizes)
{
	static const struct { const char *in; uint64_t bytes; } good[] = {
		{ "4096", 4096 }, { "64K", 64 << 10 }, { "64k", 64 << 10 }, { "512KiB", 512 << 10 },
		{ "1M", 1 << 20 }, { "1MB", 1 << 20 }, { "2G", 2ULL << 30 }, { "3T", 3ULL << 40 },
		{ "0", 0 }, { "10B", 10 }, { " 8 K", 8 << 10 }, { "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "K", "-1", "+1", "1.5G", "1X", "1KiBx", "1Bx", "1 2", "0x10", "16777216T",
		"18446744073709551616", "99999999999999999999999", "1 G B",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = 1;
		ck_assert_msg(hvt_parse_size(good[i].in, &v) == 0, "'%s' refused", good[i].in);
		ck_assert_msg(v == good[i].bytes, "'%s' = %llu", good[i].in, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 4242;
		ck_assert_msg(hvt_parse_size(bad[i], &v) == -1, "'%s' accepted as %llu", bad[i],
			      (unsigned long long)v);
		ck_assert_uint_eq(v, 4242);
	}
}
END_TEST

/* The hand-made formatter (cached second) and parser (no timegm) agree
 * with gmtime/timegm over a wide spread of instants: every day of
 * 1900-2400 at a varying time of day, both sides of the epoch, and the
 * same second formatted twice in a row (the cache). */
START_TEST(rfc3339_agrees_with_libc)
{
	char buf[40], want[128];
	long long back;

	for (long long day = -25567; day < 157000; day += 7) {
		long long sec = day * 86400 + (day * 7919) % 86400;
		long long frac = (day * 104729) % 1000000;
		if (frac < 0)
			frac += 1000000;
		long long us = sec * 1000000 + frac;
		time_t t = (time_t)sec;
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
		for (int twice = 0; twice < 2; twice++) {
			hvt_format_rfc3339(us, buf, sizeof buf);
			ck_assert_str_eq(buf, want);
		}
		ck_assert_int_eq(hvt_parse_rfc3339(buf, &back), 0);
		ck_assert_int_eq(back, us);
	}
	/* a buffer too short for the whole stamp is cut, as snprintf would */
	hvt_format_rfc3339(1700000000123456LL, buf, 12);
	ck_assert_str_eq(buf, "2023-11-14T");
	/* offsets and a leap second, as timegm reads them */
	ck_assert_int_eq(hvt_parse_rfc3339("2024-02-29T23:59:60+01:00", &back), 0);
	ck_assert_int_eq(back, 1709251200LL * 1000000 - 3600LL * 1000000);
}
END_TEST

static Suite *timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc = tcase_create("timefmt");

	tcase_add_test(tc, format_rfc3339);
	tcase_add_test(tc, parse_rfc3339);
	tcase_add_test(tc, rfc3339_agrees_with_libc);
	tcase_add_test(tc, relative_specs);
	tcase_add_test(tc, calendar_days_are_local);
	tcase_add_test(tc, iso_local_vs_zoned);
	tcase_add_test(tc, junk_specs_refused);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, sizes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(timefmt_suite());
}
