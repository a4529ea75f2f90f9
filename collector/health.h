/* health.h - can the collector store what it receives, and if not, since
 * when and why.
 *
 * The receiver (inbox appends and syncs, a full inbox) and the indexer (the
 * index refusing a batch) report here as their state changes.  The state is
 * kept in memory for /metrics and written to STATE_DIR/health for `hvtrail
 * stats`, which must be able to say "cannot store since ..." precisely when
 * the disk is full: so the file is made (and its blocks allocated) at start
 * and later only overwritten in place, never grown. */
#ifndef HVT_COL_HEALTH_H
#define HVT_COL_HEALTH_H

#include <stdbool.h>

#define HEALTH_FILE "health"
#define HEALTH_FILE_SIZE 4096

enum health_part { HEALTH_INBOX, HEALTH_INDEX, HEALTH_PARTS };

/* Create STATE_DIR/health (0600, HEALTH_FILE_SIZE bytes); 0 or -1 (logged). */
int health_open(const char *state_dir);
void health_close(void);
/* part cannot store: why in words (the first failure's time is kept). */
void health_fail(enum health_part part, const char *why);
/* part stores again. */
void health_ok(enum health_part part);
/* For /metrics: is part failing, since when (realtime µs), why. */
bool health_get(enum health_part part, long long *since_us, char *why, int size);
extern const char *const health_part_names[HEALTH_PARTS];

#endif
