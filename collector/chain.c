/* chain.c - see chain.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "hash.h"
#include "log.h"
#include "trail.h"
#include "util.h"

struct head {
	char *host, *stream;
	uint64_t seq;
	char hash[HVT_SHA256_HEX];
	struct head *next;
};

struct chain {
	struct hvt_instance *idx;
	const struct hvt_index_ops *ops;
	struct head *heads;                 /* a few per host: a list is enough */
};

struct chain *chain_new(struct hvt_instance *idx)
{
	struct chain *c = hvt_calloc(1, sizeof *c);

	c->idx = idx;
	c->ops = idx->plugin->ops;
	return c;
}

void chain_free(struct chain *c)
{
	if (!c)
		return;
	while (c->heads) {
		struct head *h = c->heads;
		c->heads = h->next;
		free(h->host);
		free(h->stream);
		free(h);
	}
	free(c);
}

struct load {
	const char *stream;
	uint64_t max_seq;
	char hash[HVT_SHA256_HEX];
};

static int find_stream(void *arg, const struct hvt_stream_state *s)
{
	struct load *l = arg;

	if (strcmp(s->stream, l->stream) == 0)
		l->max_seq = s->max_seq;
	return 0;
}

static int hash_row(void *arg, const struct hvt_row *r)
{
	struct load *l = arg;

	if (r->seq == l->max_seq)
		hvt_chain_hash(r->raw, r->raw_len, l->hash);
	return 1;
}

/* The head as stored in the index: its highest seq and that event's hash. */
static struct head *head_for(struct chain *c, const char *host, const char *stream)
{
	for (struct head *h = c->heads; h; h = h->next)
		if (strcmp(h->stream, stream) == 0 && strcmp(h->host, host) == 0)
			return h;
	struct head *h = hvt_calloc(1, sizeof *h);
	struct load l = { .stream = stream };
	h->host = hvt_strdup(host);
	h->stream = hvt_strdup(stream);
	if (c->ops->streams && c->ops->streams(c->idx, host, find_stream, &l) == 0 && l.max_seq &&
	    c->ops->stream_events && c->ops->stream_events(c->idx, host, stream, l.max_seq, hash_row, &l) == 0 &&
	    l.hash[0]) {
		h->seq = l.max_seq;
		memcpy(h->hash, l.hash, sizeof h->hash);
	}
	h->next = c->heads;
	c->heads = h;
	return h;
}

int chain_check(struct chain *c, const struct hvt_event *ev, const char *raw, size_t raw_len,
		char *note, size_t note_size)
{
	struct head *h;
	int verdict;
	const char *prev = ev->prev ? ev->prev : "";

	note[0] = '\0';
	if (!ev->host || !ev->stream || strcmp(ev->stream, HVT_SYSLOG_STREAM) == 0)
		return HVT_VERDICT_UNCHECKED;     /* plain syslog lines carry no chain */
	h = head_for(c, ev->host, ev->stream);
	if (ev->seq == 1 && !*prev) {
		verdict = HVT_VERDICT_OK;         /* the start of a stream */
	} else if (h->seq && ev->seq == h->seq + 1) {
		verdict = strcmp(prev, h->hash) == 0 ? HVT_VERDICT_OK : HVT_VERDICT_BROKEN;
		if (verdict == HVT_VERDICT_BROKEN) {
			snprintf(note, note_size, "prev does not match the hash of seq %" PRIu64, h->seq);
			hvt_log(LOG_ERR, "host %s stream %s: event %" PRIu64 " does not chain to event %" PRIu64
				" (altered in transit, or forged)", ev->host, ev->stream, ev->seq, h->seq);
		}
	} else {
		verdict = HVT_VERDICT_UNCHECKED;  /* a resend, or its predecessor is missing */
	}
	if (ev->seq > h->seq) {
		h->seq = ev->seq;
		hvt_chain_hash(raw, raw_len, h->hash);
	}
	return verdict;
}

int chain_seal_matches(struct chain *c, const char *host, const char *stream, uint64_t seq, const char *hash)
{
	struct head *h = head_for(c, host, stream);

	if (!seq || h->seq != seq)
		return 0;
	if (strcmp(h->hash, hash) == 0)
		return 1;
	hvt_log(LOG_ERR, "host %s stream %s: the seal over event %" PRIu64 " does not match the stored "
		"event", host, stream, seq);
	return -1;
}
