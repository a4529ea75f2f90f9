/* bindings.c - see bindings.h.  Open addressing on the stream id: a fleet
 * has a few streams per host, and every event looks its stream up. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "hvtrail-plugin.h"
#include "log.h"
#include "trail.h"
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

struct load {
	struct bindings *b;
	long n;
};

static int load_one(void *arg, const struct hvt_stream_state *st)
{
	struct load *l = arg;

	/* plain syslog lines share one stream; the collector's own rows are
	 * its own; a stream only a seal named (no event stored) binds nothing:
	 * an invalid seal is stored too */
	if (!st->count || !strcmp(st->stream, HVT_SYSLOG_STREAM) || st->host[0] == '(')
		return 0;
	if (bindings_set(l->b, st->stream, st->host, "(bound before the restart)"))
		l->n++;
	else
		hvt_log(LOG_WARNING, "the index holds events of stream %s under host %s and under %s (stored "
			"with identity = off?); it stays bound to %s", st->stream, st->host,
			bindings_host(l->b, st->stream), bindings_host(l->b, st->stream));
	return 0;
}

long bindings_load(struct bindings *b, struct hvt_instance *idx)
{
	const struct hvt_index_ops *ops = idx->plugin->ops;
	struct load l = { b, 0 };

	if (ops->streams(idx, NULL, load_one, &l) < 0) {
		hvt_log(LOG_ERR, "cannot read the stream bindings from the index");
		return -1;
	}
	return l.n;
}
