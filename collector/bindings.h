/* bindings.h - which host each stream speaks for, proven by a seal.
 *
 * librelp never tells the collector which certificate sent a frame, so the
 * forwarder proves its identity inside the stream: its first message on
 * every session is a seal signed with its certificate's key (lib/seal.h).
 * A valid seal binds the stream to the host its certificate may speak
 * for; events of a stream that no valid seal binds to the host they claim
 * are refused.  Receiver thread only. */
#ifndef HVT_COL_BINDINGS_H
#define HVT_COL_BINDINGS_H

#include <stdbool.h>
#include <stddef.h>

struct bindings;

struct bindings *bindings_new(void);
void bindings_free(struct bindings *b);
/* Bind stream to host; false (nothing changed) when the stream is already
 * bound to another host. */
bool bindings_set(struct bindings *b, const char *stream, const char *host, const char *names);
/* The host the stream is bound to, or NULL. */
const char *bindings_host(const struct bindings *b, const char *stream);
size_t bindings_count(const struct bindings *b);

/* Bind each stream the index holds events of to its host, as the seals
 * that let those events in did (#15: a binding outlives a collector
 * restart, so a peer that learnt another host's stream id cannot seal it
 * for itself before that host reconnects; no stream ever changes host).
 * Before the receiver starts.  The number of streams bound, or -1. */
struct hvt_instance;
long bindings_load(struct bindings *b, struct hvt_instance *idx);

#endif
