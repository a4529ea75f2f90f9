/* pairmap.h - a small open-addressing hash table keyed by two strings.
 *
 * store() needs, for every row, the stream id of (host, stream) and the vm
 * id of (name, uuid).  A batch of 10k rows touches a handful of streams and
 * at most a few thousand VMs, so remembering them turns 20k SQL lookups per
 * batch into a few.  The table keeps its own copy of the keys; store.c
 * decides how long entries live (streams: one batch, VMs: across batches). */
#ifndef IDX_SQLITE_PAIRMAP_H
#define IDX_SQLITE_PAIRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pairmap_entry {
	char *a;                      /* NULL = empty slot; a and b share one allocation */
	const char *b;
	uint32_t hash;
	int64_t value;
};

struct pairmap {
	struct pairmap_entry *v;
	size_t cap;                   /* a power of two, or 0 */
	size_t n;
};

/* Forget every entry (keeps the table). */
void pairmap_clear(struct pairmap *m);
void pairmap_free(struct pairmap *m);
/* Find (a, b); returns true and sets *value when present. */
bool pairmap_get(const struct pairmap *m, const char *a, const char *b, int64_t *value);
/* Insert a copy of (a, b) -> value; the pair must not be present. */
void pairmap_put(struct pairmap *m, const char *a, const char *b, int64_t value);

#endif
