/* rxstats.h - what the receiver refused and rejected, where an operator
 * sees it: one log line per interval when it changed, and a stats report
 * stored like a forwarder's under the reserved host name "(collector)",
 * so `hvtrail stats` shows it (ingest refuses that name from the wire). */
#ifndef HVT_COL_RXSTATS_H
#define HVT_COL_RXSTATS_H

#include <stdbool.h>

#include "ingest.h"
#include "refusal.h"
#include "util.h"

#define RXSTATS_HOST "(collector)"

struct rx_snapshot {
	struct ingest_counters in;
	uint64_t refused[RF_COUNT];
	char last_refusal[700];
	char last_rejection[600];
};

/* Anything an operator should look at (rejections, refusals) changed? */
bool rxstats_alarming_change(const struct rx_snapshot *now, const struct rx_snapshot *before);
/* Any counter changed? */
bool rxstats_changed(const struct rx_snapshot *now, const struct rx_snapshot *before);
/* The report: a JSON object. */
void rxstats_json(const struct rx_snapshot *s, struct hvt_buf *out);
/* One log line with the totals since start. */
void rxstats_log(const struct rx_snapshot *s);

#endif
