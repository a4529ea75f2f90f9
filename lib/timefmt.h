/* timefmt.h - timestamps, durations and sizes as operators write them. */
#ifndef HVT_TIMEFMT_H
#define HVT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-22T10:00:00.123456Z" (UTC, always microseconds).  buf >= 28. */
void hvt_format_rfc3339(long long us, char *buf, size_t size);

/* RFC 3339 / ISO 8601 timestamp with optional fraction and zone
 * ("Z", "+02:00", none = UTC); returns 0 and sets *us, or -1. */
int hvt_parse_rfc3339(const char *s, long long *us);

/* What an operator types after --since/--until, like journalctl:
 * ISO 8601 ("2026-11-22 10:00", "2026-11-22T10:00:00Z"), "now", "today",
 * "yesterday", "tomorrow", "@EPOCH", relative "-1h", "+30s",
 * "1 hour ago", "2 days ago", "in 5 min".  Local dates without a zone are
 * local time.  Returns 0 and sets *us, or -1. */
int hvt_parse_time_spec(const char *s, long long now_us, long long *us);

/* "250ms", "5s", "2m", "1h", "1d", a bare number = seconds; or -1. */
int hvt_parse_duration_ms(const char *s, long long *ms);

/* "4096", "64K", "512KiB", "1M", "2G"; or -1. */
int hvt_parse_size(const char *s, uint64_t *bytes);

#endif
