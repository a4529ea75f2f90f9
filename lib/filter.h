/* filter.h - the query filters an operator writes as words, read the same
 * way by `hvtrail query` and by the collector's /api/events, so the API
 * has exactly the CLI's filters (journalctl's -p and -g habits). */
#ifndef HVT_FILTER_H
#define HVT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* journalctl's -p: "err" is err and everything more important (0..3);
 * "err..warning" is that range, both ends included, in either order; a
 * level is a name or 0-7.  Sets bit s of *mask for each severity s.
 * 0, or -1 with err saying what is wrong. */
int hvt_priority_mask_parse(const char *arg, uint8_t *mask, char *err, size_t errsize);

/* The longest -g pattern a peer of the HTTPS endpoint may send. */
#define HVT_GREP_UNTRUSTED_MAX 256

/* A -g pattern, a POSIX extended regular expression on the message:
 * compiles it once to refuse a bad one before any query runs, and decides
 * its case as journalctl does (case_sensitive < 0: a pattern without
 * upper case matches either case; 0 or 1: as told).  untrusted (the
 * HTTPS API): at most HVT_GREP_UNTRUSTED_MAX bytes and no back-references,
 * the one part of glibc's regex that can take exponential time on the
 * endpoint's only thread.  0, or -1 with err. */
int hvt_grep_prepare(const char *pattern, int case_sensitive, bool untrusted, bool *icase, char *err,
		     size_t errsize);

#endif
