/* pruned.h - the retention record: what an index pruned, as a fact that
 * stands on its own (docs/storage.md, "The retention record").
 *
 * When retention removes a partition, the index keeps one record of it: per
 * stream the seq range, the number of events and the hash of the last
 * event that went, the time ranges, when, why and under which policy.
 * `hvtrail verify` reads the records to tell "pruned by retention" from
 * "deleted": the first event left of a stream must chain (prev) to the
 * last hash the record names.
 *
 * The serialisation is canonical, so that a record can be hashed and, later,
 * signed (issue 16): compact JSON, keys in the order of hvt_pruned_to_json(),
 * integers in decimal, strings escaped as hvt_json_escape() does (only '"',
 * '\\' and control characters), streams sorted by host then stream (bytewise),
 * and each record names the hash of the one before it ("prev"), so removing
 * or rewriting a record breaks the chain of records.  Parsing and
 * serialising a canonical record gives back the same bytes;
 * hvt_pruned_canonical() checks that. */
#ifndef HVT_PRUNED_H
#define HVT_PRUNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "util.h"

#define HVT_PRUNED_VERSION 1

struct hvt_pruned_stream {
	char *host, *stream;
	uint64_t from_seq, to_seq;    /* the lowest and highest seq that went */
	uint64_t count;               /* events that went (to - from + 1 minus holes) */
	long long first_ts_us, last_ts_us;
	char last_hash[HVT_SHA256_HEX];   /* SHA-256 of the event at to_seq ("" if unknown) */
};

struct hvt_pruned {
	char *index;                  /* "idx_sqlite", "idx_clickhouse" */
	char *collector;              /* who pruned (host name or collector_id) */
	char *partition;              /* the partition's name in that index */
	char *reason;                 /* "age" or "size" */
	char *policy;                 /* the settings that decided, in words */
	long long at_us;              /* when */
	uint64_t events, bytes;
	long long ts_min_us, ts_max_us;           /* the events' own times */
	long long indexed_min_us, indexed_max_us; /* when the collector stored them */
	struct hvt_pruned_stream *streams;
	size_t nstreams;
	char prev[HVT_SHA256_HEX];    /* hash of the index's previous record, "" for the first */
};

/* Append the canonical JSON of p (streams are sorted first). */
void hvt_pruned_to_json(struct hvt_pruned *p, struct hvt_buf *out);
/* Parse a record; -1 with a reason in err when it is none. */
int hvt_pruned_from_json(const char *text, size_t len, struct hvt_pruned *p, char *err, size_t errsize);
/* Is text a record in canonical form (parses and serialises to the same bytes)? */
bool hvt_pruned_canonical(const char *text, size_t len);
/* Add a stream (copies the strings); returns it for the caller to fill. */
struct hvt_pruned_stream *hvt_pruned_add_stream(struct hvt_pruned *p, const char *host, const char *stream);
void hvt_pruned_clear(struct hvt_pruned *p);

#endif
