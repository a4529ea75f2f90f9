/* keywin.c - see keywin.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "keywin.h"

struct keywin {
	size_t cap, n, head;          /* ring: n entries from head (the oldest) */
	uint8_t (*ring)[KEYWIN_DIGEST];
	uint32_t *table;              /* ring index + 1; 0 = empty */
	size_t mask;
};

static size_t slot_of(const struct keywin *w, const uint8_t d[KEYWIN_DIGEST])
{
	uint64_t h;

	memcpy(&h, d, sizeof h);       /* digests are uniform: their bytes are the hash */
	return (size_t)h & w->mask;
}

struct keywin *keywin_new(size_t capacity)
{
	struct keywin *w = hvt_calloc(1, sizeof *w);
	size_t t = 16;

	w->cap = capacity ? capacity : 1;
	while (t < w->cap * 2)
		t <<= 1;
	w->mask = t - 1;
	w->ring = hvt_calloc(w->cap, KEYWIN_DIGEST);
	w->table = hvt_calloc(t, sizeof *w->table);
	return w;
}

void keywin_free(struct keywin *w)
{
	if (!w)
		return;
	free(w->ring);
	free(w->table);
	free(w);
}

/* The table slot holding d, or the empty slot where it would go. */
static size_t find(const struct keywin *w, const uint8_t d[KEYWIN_DIGEST], bool *found)
{
	size_t i = slot_of(w, d);

	for (;; i = (i + 1) & w->mask) {
		uint32_t e = w->table[i];
		if (!e) {
			*found = false;
			return i;
		}
		if (memcmp(w->ring[e - 1], d, KEYWIN_DIGEST) == 0) {
			*found = true;
			return i;
		}
	}
}

bool keywin_has(const struct keywin *w, const uint8_t d[KEYWIN_DIGEST])
{
	bool found;

	find(w, d, &found);
	return found;
}

/* Remove table slot i, shifting back the entries that probed past it
 * (linear probing without tombstones). */
static void table_remove(struct keywin *w, size_t i)
{
	size_t j = i;

	w->table[i] = 0;
	for (;;) {
		j = (j + 1) & w->mask;
		uint32_t e = w->table[j];
		if (!e)
			return;
		size_t home = slot_of(w, w->ring[e - 1]);
		/* move e into the hole unless its home lies cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			w->table[i] = e;
			w->table[j] = 0;
			i = j;
		}
	}
}

void keywin_add(struct keywin *w, const uint8_t d[KEYWIN_DIGEST])
{
	bool found;
	size_t at;

	find(w, d, &found);
	if (found)
		return;
	if (w->n == w->cap) {
		bool f;
		table_remove(w, find(w, w->ring[w->head], &f));
		w->head = (w->head + 1) % w->cap;
		w->n--;
	}
	size_t pos = (w->head + w->n) % w->cap;
	memcpy(w->ring[pos], d, KEYWIN_DIGEST);
	w->n++;
	at = find(w, d, &found);
	w->table[at] = (uint32_t)pos + 1;
}

size_t keywin_count(const struct keywin *w)
{
	return w->n;
}

size_t keywin_capacity(const struct keywin *w)
{
	return w->cap;
}

void keywin_dump(const struct keywin *w, struct hvt_buf *out)
{
	for (size_t i = 0; i < w->n; i++)
		hvt_buf_append(out, w->ring[(w->head + i) % w->cap], KEYWIN_DIGEST);
}
