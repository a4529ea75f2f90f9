/* receiver.h - the RELP/TLS listener: frames in, durable inbox records out.
 *
 * librelp (1.11) answers every frame "200 OK" as soon as our callback
 * returns; it ignores the callback's return value.  So the callback
 * returns only once the frame's records are in the inbox and committed
 * per its fsync policy - an acknowledgement therefore means "stored".
 * When the inbox is full or the disk refuses, the callback waits (the
 * forwarders' windows fill and they hold their spools): back-pressure,
 * never loss.  A frame that cannot be stored at shutdown is abandoned
 * without an answer, so its sender resends it. */
#ifndef HVT_COL_RECEIVER_H
#define HVT_COL_RECEIVER_H

#include "conf.h"
#include "ingest.h"
#include "spool.h"
#include "util.h"

struct receiver;

struct receiver *receiver_new(struct hvt_spool *inbox, const struct ingest_limits *lim);
/* Add a listener from a [listen] section; -1 (logged) on failure. */
int receiver_add_listener(struct receiver *r, const struct hvt_conf_section *s);
/* Add a listener for every [listen] section of c; -1 (logged) on failure. */
int receiver_listen(struct receiver *r, const struct hvt_conf *c);
int receiver_start(struct receiver *r);
/* SIGHUP: close every listener and session and listen again per c (new
 * certificates, permitted peers, addresses) with new limits.  Forwarders
 * reconnect and resend what was not acknowledged; the counters, the inbox
 * and receiver_inject() carry on.  -1 (logged) when c cannot be listened
 * on: the receiver is then deaf until a receiver_relisten() succeeds. */
int receiver_relisten(struct receiver *r, const struct hvt_conf *c, const struct ingest_limits *lim);
void receiver_stop(struct receiver *r);
void receiver_free(struct receiver *r);
struct rx_snapshot;
/* Counters, refusals and the last rejection and refusal (thread-safe). */
void receiver_snapshot(struct receiver *r, struct rx_snapshot *s);
/* Copy of the counters (thread-safe). */
void receiver_counters(struct receiver *r, struct ingest_counters *out);
/* Append records the collector made itself (packed col_records: the
 * alert.* events) between frames and commit them, waiting at most
 * timeout_ms for the write lock.  0, -EAGAIN (busy or full: try again
 * later) or -errno.  A failure may leave some appended: resending them is
 * harmless, the index drops byte-identical copies. */
int receiver_inject(struct receiver *r, const struct hvt_buf *recs, int n, int timeout_ms);
/* Check a [listen] section beyond types (files readable); -1 if bad. */
int receiver_check_listener(struct hvt_conf *c, const struct hvt_conf_section *s);

#endif
