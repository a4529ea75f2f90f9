/* alerts.h - alerting: rules on stored events, durable deliveries through
 * action plugins, and the collector's own alert.* events (docs/alerting.md).
 *
 * Where it sits:
 *   indexer thread   after the index stored a batch (and before the inbox is
 *                    acknowledged) alerts_stored() evaluates the rules on it
 *                    and commits every decision, its deliveries and its
 *                    alert.fired event to STATE_DIR/alerts.db, together with
 *                    the batch's inbox position.  A batch without a match
 *                    costs no I/O.
 *   service thread   appends the queued alert.* events to the inbox (through
 *                    the receiver's write lock, like its stats reports), so
 *                    the indexer stores them in order and exactly once;
 *                    evaluates host-silence rules; prunes old state.
 *   one thread per action instance
 *                    delivers due alerts, records each outcome (and its
 *                    alert.delivered / alert.failed event), retries with
 *                    backoff until the alert expires.
 * Exactly once per (rule, event): the UNIQUE key in alerts.db.  Never lost:
 * a decision is durable before the inbox record it came from may go, and at
 * start alerts_open() evaluates what the index stored after the last
 * evaluated position (a crash between the two commits). */
#ifndef HVT_COL_ALERTS_H
#define HVT_COL_ALERTS_H

#include <stdint.h>

#include "conf.h"
#include "instance.h"
#include "record.h"
#include "spool.h"

struct alerts;
struct receiver;

/* Parse [alerting] and every [alert:NAME], and check that the actions they
 * name are configured action instances.  Problems go to hvt_conf_error.
 * NULL when there is no rule (alerting off). */
struct alerts *alerts_configure(struct hvt_conf *c, struct hvt_instances *inst);
/* Open STATE_DIR/alerts.db, rebuild the rules' windows, learn when each host
 * last spoke, and evaluate what the index stored since the last evaluated
 * inbox position.  Before the indexer starts; 0 or -1 (logged). */
int alerts_open(struct alerts *al, const char *state_dir, struct hvt_instance *index,
		struct hvt_spool *inbox);
/* The indexer's hook: a batch was stored (recs, up to inbox_seq).  0, or -1
 * when shutting down before its decisions could be committed (the inbox
 * is then not acknowledged beyond them). */
int alerts_stored(void *arg, const struct col_record *recs, int n, uint64_t inbox_seq);
/* Start the service and delivery threads (action instances are running). */
int alerts_start(struct alerts *al, struct receiver *rx);
/* Stop the threads (a delivery under way finishes within its timeout). */
void alerts_stop(struct alerts *al);
void alerts_free(struct alerts *al);

/* For --print-schema: nothing; the schemas are in schema.c. */

#endif
