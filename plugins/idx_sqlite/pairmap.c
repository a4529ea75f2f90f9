/* pairmap.c - see pairmap.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pairmap.h"
#include "util.h"

/* FNV-1a over both strings with a separator, so ("ab","c") != ("a","bc"). */
static uint32_t pair_hash(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		h = (h ^ *p) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (const unsigned char *p = (const unsigned char *)b; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static struct pairmap_entry *find_slot(struct pairmap_entry *v, size_t cap, const char *a,
				       const char *b, uint32_t h)
{
	for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		struct pairmap_entry *e = &v[i];
		if (!e->a || (e->hash == h && strcmp(e->a, a) == 0 && strcmp(e->b, b) == 0))
			return e;
	}
}

static void grow(struct pairmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct pairmap_entry *v = hvt_calloc(cap, sizeof *v);

	for (size_t i = 0; i < m->cap; i++) {
		struct pairmap_entry *e = &m->v[i];
		if (e->a)
			*find_slot(v, cap, e->a, e->b, e->hash) = *e;
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
}

void pairmap_clear(struct pairmap *m)
{
	if (!m->n)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].a);
	memset(m->v, 0, m->cap * sizeof *m->v);
	m->n = 0;
}

void pairmap_free(struct pairmap *m)
{
	pairmap_clear(m);
	free(m->v);
	memset(m, 0, sizeof *m);
}

bool pairmap_get(const struct pairmap *m, const char *a, const char *b, int64_t *value)
{
	if (!m->n)
		return false;
	const struct pairmap_entry *e = find_slot(m->v, m->cap, a, b, pair_hash(a, b));
	if (!e->a)
		return false;
	*value = e->value;
	return true;
}

void pairmap_put(struct pairmap *m, const char *a, const char *b, int64_t value)
{
	/* Keep the load at most one half: probes stay short and a free slot always exists. */
	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	uint32_t h = pair_hash(a, b);
	struct pairmap_entry *e = find_slot(m->v, m->cap, a, b, h);
	size_t la = strlen(a) + 1, lb = strlen(b) + 1;
	e->a = hvt_malloc(la + lb);
	memcpy(e->a, a, la);
	memcpy(e->a + la, b, lb);
	e->b = e->a + la;
	e->hash = h;
	e->value = value;
	m->n++;
}
