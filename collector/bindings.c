/* bindings.c - see bindings.h.  Open addressing on the stream id: a fleet
 * has a few streams per host, and every event looks its stream up. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "util.h"

struct slot {
	char *stream;
	char *host;
	char *names;
};

struct bindings {
	struct slot *v;
	size_t cap, n;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct bindings *bindings_new(void)
{
	struct bindings *b = hvt_calloc(1, sizeof *b);

	b->cap = 64;
	b->v = hvt_calloc(b->cap, sizeof(struct slot));
	return b;
}

void bindings_free(struct bindings *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->cap; i++) {
		free(b->v[i].stream);
		free(b->v[i].host);
		free(b->v[i].names);
	}
	free(b->v);
	free(b);
}

static struct slot *find(const struct bindings *b, const char *stream)
{
	for (size_t i = hash(stream) & (b->cap - 1);; i = (i + 1) & (b->cap - 1))
		if (!b->v[i].stream || strcmp(b->v[i].stream, stream) == 0)
			return &b->v[i];
}

static void grow(struct bindings *b)
{
	struct slot *old = b->v;
	size_t ocap = b->cap;

	b->cap *= 2;
	b->v = hvt_calloc(b->cap, sizeof(struct slot));
	for (size_t i = 0; i < ocap; i++)
		if (old[i].stream)
			*find(b, old[i].stream) = old[i];
	free(old);
}

bool bindings_set(struct bindings *b, const char *stream, const char *host, const char *names)
{
	if ((b->n + 1) * 2 > b->cap)
		grow(b);
	struct slot *s = find(b, stream);
	if (s->stream)
		return strcmp(s->host, host) == 0;
	s->stream = hvt_strdup(stream);
	s->host = hvt_strdup(host);
	s->names = hvt_strdup(names ? names : "");
	b->n++;
	return true;
}

const char *bindings_host(const struct bindings *b, const char *stream)
{
	const struct slot *s = find(b, stream);

	return s->stream ? s->host : NULL;
}

size_t bindings_count(const struct bindings *b)
{
	return b->n;
}
