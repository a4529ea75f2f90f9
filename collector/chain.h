/* chain.h - checking each host's hash chain as events are indexed.
 *
 * Every event carries prev = SHA-256 of the JSON of the event before it in
 * its stream.  The indexer keeps the head (seq, hash) of every stream it
 * has seen - loaded from the index after a restart - and gives each event
 * a verdict: OK when it links to the head, BROKEN when it should but does
 * not, UNCHECKED when its predecessor is not known (a gap, a resend).
 * `hvtrail verify` re-checks everything from the index alone; this is the
 * early warning. */
#ifndef HVT_COL_CHAIN_H
#define HVT_COL_CHAIN_H

#include "hvtrail-plugin.h"

struct chain;

struct chain *chain_new(struct hvt_instance *idx);
void chain_free(struct chain *c);
/* Verdict for ev (raw = its JSON); advances the stream's head.  note gets
 * a reason for BROKEN (else ""). */
int chain_check(struct chain *c, const struct hvt_event *ev, const char *raw, size_t raw_len,
		char *note, size_t note_size);
/* A seal arrived: does its hash match the stored event at its seq, if that
 * is the head?  Returns 1 yes, 0 cannot tell, -1 no (logged). */
int chain_seal_matches(struct chain *c, const char *host, const char *stream, uint64_t seq, const char *hash);

#endif
