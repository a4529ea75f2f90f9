/* verify.h - proving a stream complete and unaltered from what the index
 * holds (docs/integrity.md).  Pure logic: the caller loads the rows and
 * seals, this walks them and names the first problem. */
#ifndef HVT_CLI_VERIFY_H
#define HVT_CLI_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* What went wrong first; also `hvtrail verify`'s exit status. */
enum verify_kind {
	V_OK = 0,
	V_EDITED = 10,        /* an event's content no longer matches its chain or seal */
	V_DELETED = 11,       /* events missing from the chain */
	V_REORDERED = 12,     /* events that chain, but not in the order they are stored */
	V_INJECTED = 13,      /* events no seal covers after the stream was finally sealed */
	V_WRONG_KEY = 14,     /* a seal that does not verify (signature, certificate, host) */
	V_UNSEALED = 15,      /* (--strict) events not yet covered by any seal */
	/* Holes the forwarder itself recorded (a signed spool.dropped or
	 * spool.damaged event names their seqs): the stream is incomplete, but
	 * not tampered with.  Reported only when nothing worse is found. */
	V_DROPPED = 16,       /* dropped by policy (full_policy = drop-oldest) */
	V_LOST = 17,          /* lost to spool damage, set aside by the forwarder */
};
const char *verify_kind_name(enum verify_kind k);

struct v_row {
	uint64_t seq;         /* the row's seq column */
	long long ts_us;
	char hash[HVT_SHA256_HEX];
	char prev[HVT_SHA256_HEX];
	char id[96];
	uint64_t json_seq;    /* the seq its JSON claims */
	bool consistent;      /* its JSON names this host and stream */
	/* The forwarder's own statement that seqs hole_from..hole_to will never
	 * come: V_DROPPED (spool.dropped) or V_LOST (spool.damaged); 0 if none. */
	enum verify_kind hole_kind;
	uint64_t hole_from, hole_to;
};

struct v_seal {
	uint64_t seq;
	char hash[HVT_SHA256_HEX];
	bool final;
	bool valid;           /* re-verified now */
	char why[300];        /* when not valid */
	long long time_us;
};

struct v_result {
	enum verify_kind kind;
	uint64_t seq;         /* the first event concerned */
	char id[96];
	char detail[400];
	uint64_t sealed_upto; /* highest seq a valid seal covers */
	uint64_t unsealed_from, unsealed_to;  /* a tail not yet sealed (0 = none) */
	uint64_t holes, holes_events;        /* explained holes, and the events in them */
};

/* rows sorted by seq, seals by seq; since/until (0 = open) limit which
 * problems are reported (the walk still needs the whole stream). */
void verify_stream(const struct v_row *rows, size_t n, const struct v_seal *seals, size_t nseals,
		   long long since_us, long long until_us, struct v_result *res);
/* The chain alone, for a stream nobody seals: the collector's own alert.*
 * events (host "(collector)", docs/alerting.md).  Edits, deletions and
 * reorderings inside it are found; a consistent rewrite of the whole
 * stream is not (no key signs it). */
void verify_chain(const struct v_row *rows, size_t n, long long since_us, long long until_us,
		  struct v_result *res);

#endif
