/* keywin.h - the idempotency window: the digests of the most recent keys,
 * oldest evicted first (a ring), found in O(1) (an open-addressing table
 * over the ring).  Memory: about 24 bytes per slot. */
#ifndef HVT_FWD_KEYWIN_H
#define HVT_FWD_KEYWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define KEYWIN_DIGEST 16

struct keywin;

struct keywin *keywin_new(size_t capacity);
void keywin_free(struct keywin *w);
bool keywin_has(const struct keywin *w, const uint8_t d[KEYWIN_DIGEST]);
/* Add (no-op if present); the oldest goes when full. */
void keywin_add(struct keywin *w, const uint8_t d[KEYWIN_DIGEST]);
size_t keywin_count(const struct keywin *w);
size_t keywin_capacity(const struct keywin *w);
/* The digests, oldest first (count * KEYWIN_DIGEST bytes). */
void keywin_dump(const struct keywin *w, struct hvt_buf *out);

#endif
