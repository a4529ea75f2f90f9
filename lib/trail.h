/* trail.h - the rules every part of the trail must agree on, in one place.
 *
 * The forwarder makes identities and hashes, the collector checks them,
 * the index plugins key their rows on them and the CLI splits and
 * re-checks them.  Each of those used to spell the rule out itself; a
 * change to one copy and not another would silently break exactly-once
 * storage or the chain check, so they all go through here:
 *
 *   stream   16 lowercase hex digits, random, one per forwarder spool
 *            (and one for the collector's own alert.* events);
 *   event id "<stream>-<seq>", seq decimal from 1 without leading zeros.
 *            The collector deduplicates on (host, id) while the indexes
 *            key rows on (host, stream, seq): the same key only because
 *            of this rule;
 *   chain    prev of event n+1 = SHA-256 (hex) of the JSON text of event
 *            n exactly as spooled, sent and stored.
 *
 * The wire names of control messages live with the framing (rfc5424.h),
 * severities with the event model (event.h). */
#ifndef HVT_TRAIL_H
#define HVT_TRAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "hash.h"

struct hvt_spool;

/* ---- streams -------------------------------------------------------------- */

/* A new random stream id (HVT_STREAM_LEN hex digits and a NUL). */
void hvt_stream_id_new(char out[HVT_STREAM_LEN + 1]);
/* Is s a stream id of a forwarder spool (or the collector's alert stream)?
 * Only those number their events 1, 2, 3, ... and carry a chain; the
 * collector's "syslog" pseudo-stream uses hashes as seq. */
bool hvt_stream_id_valid(const char *s);

/* ---- event ids ------------------------------------------------------------ */

/* Room for any id made from a stream the decoder accepts (max_field). */
#define HVT_EVENT_ID_SIZE 300

/* Write "<stream>-<seq>" to out; returns what snprintf returns. */
int hvt_event_id_format(char *out, size_t size, const char *stream, uint64_t seq);
/* Give ev its identity: stream, seq and the id they make. */
void hvt_event_set_identity(struct hvt_event *ev, const char *stream, uint64_t seq);
/* Is id exactly "<stream>-<seq>"? */
bool hvt_event_id_is(const char *id, const char *stream, uint64_t seq);
/* Split an id into its stream (the first *stream_len bytes of id) and seq.
 * False when id has another shape (no '-', empty stream, seq not a
 * positive decimal without leading zeros, or beyond 64 bits). */
bool hvt_event_id_split(const char *id, size_t *stream_len, uint64_t *seq);
/* Can ev be stored exactly once: host, stream, seq and id present and id
 * = "<stream>-<seq>"?  Otherwise false with the reason in words ("it
 * lacks ...", "its id ... is not <stream>-<seq> ..."). */
bool hvt_event_identity_check(const struct hvt_event *ev, char *why, size_t size);

/* ---- the hash chain ------------------------------------------------------- */

/* The chain hash of an event whose JSON text is json/len. */
void hvt_chain_hash(const char *json, size_t len, char out[HVT_SHA256_HEX]);
/* The chain hash of the event one spooled RFC 5424 message carries;
 * -1 (and "") when it carries none. */
int hvt_chain_hash_message(const char *msg, size_t len, char out[HVT_SHA256_HEX]);
/* The chain hash of the event in spool record seq: "" for seq 0 (the
 * stream has no event yet); -1 when the record is gone or carries no
 * event.  The forwarder hashes each event once as it spools it; this is
 * for what it no longer has in memory (its head after a restart, the
 * record an output seals). */
int hvt_chain_hash_spooled(struct hvt_spool *sp, uint64_t seq, char out[HVT_SHA256_HEX]);

#endif
