/* correlate.h - link the records of one migration across hosts.
 *
 * QMP never tells a migration's source where the VM went, nor the target
 * where it came from.  The collector pairs them: both sides carry the same
 * VM (UUID, else name), and the source's migration.started and the
 * target's migration.incoming.started happen within moments of each other
 * on two different hosts.  Every record of that migration (start, figures,
 * end, on both sides; colo.entered when it set up a COLO pair) gets the same
 * link id, "mig-<id of its first event>", so `hvtrail query --link ID` or
 * `hvtrail migrations` shows it as one.  A link that already holds a start
 * (or an end) of one side is not joined by another one from the same input:
 * that is the next migration of the VM. */
#ifndef HVT_COL_CORRELATE_H
#define HVT_COL_CORRELATE_H

#include "hvtrail-plugin.h"
#include "record.h"

#define LINK_MAX 96

struct correlator;

struct correlator *correlator_new(struct hvt_instance *idx);
void correlator_free(struct correlator *c);
/* Fill links[i] (LINK_MAX bytes each; "" = none) for records[0..n). */
void correlate_batch(struct correlator *c, const struct col_record *recs, int n, char (*links)[LINK_MAX]);

#endif
