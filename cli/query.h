/* query.h - the pieces of `hvtrail query` shared by its one-shot and follow modes. */
#ifndef HVT_CLI_QUERY_H
#define HVT_CLI_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "hvtrail-plugin.h"
#include "index_open.h"
#include "output.h"

/* Print the rows of q: all of them (lines == 0) or the newest `lines`,
 * oldest first unless reverse.  *max_cursor: the highest cursor printed.
 * Returns a CLI exit code (EPIPE on output counts as CLI_OK). */
int query_print(struct cli_index *ix, const struct hvt_query *q, long long lines, bool reverse,
		struct out *out, int64_t *max_cursor);

/* follow.c: the highest cursor in the index now (0 when it is empty). */
int follow_watermark(struct cli_index *ix, int64_t *cursor);
/* Print rows of q stored after cursor as they arrive (polling every 200 ms)
 * until SIGINT/SIGTERM or a closed output.  Returns a CLI exit code. */
int follow_run(struct cli_index *ix, const struct hvt_query *q, struct out *out, int64_t cursor);

/* Map the state of out after printing to an exit code (reports errors). */
int query_output_status(struct out *out);

#endif
