/* pruned.c - see pruned.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "event.h"
#include "pruned.h"

static int stream_cmp(const void *a, const void *b)
{
	const struct hvt_pruned_stream *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	return c ? c : strcmp(x->stream, y->stream);
}

static void key(struct hvt_buf *b, const char *k, bool first)
{
	if (!first)
		hvt_buf_append(b, ",", 1);
	hvt_buf_append(b, "\"", 1);
	hvt_buf_append_str(b, k);
	hvt_buf_append(b, "\":", 2);
}

static void put_str(struct hvt_buf *b, const char *k, const char *v, bool first)
{
	key(b, k, first);
	hvt_json_escape(b, v ? v : "");
}

static void put_u64(struct hvt_buf *b, const char *k, uint64_t v)
{
	key(b, k, false);
	hvt_buf_append_u64(b, v);
}

static void put_i64(struct hvt_buf *b, const char *k, long long v)
{
	key(b, k, false);
	if (v < 0) {
		hvt_buf_append(b, "-", 1);
		hvt_buf_append_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		hvt_buf_append_u64(b, (uint64_t)v);
	}
}

void hvt_pruned_to_json(struct hvt_pruned *p, struct hvt_buf *out)
{
	if (p->nstreams > 1)
		qsort(p->streams, p->nstreams, sizeof *p->streams, stream_cmp);
	hvt_buf_append_str(out, "{\"kind\":\"hvtrail.pruned\"");
	put_u64(out, "v", HVT_PRUNED_VERSION);
	put_str(out, "index", p->index, false);
	put_str(out, "collector", p->collector, false);
	put_str(out, "partition", p->partition, false);
	put_str(out, "reason", p->reason, false);
	put_str(out, "policy", p->policy, false);
	put_i64(out, "at_us", p->at_us);
	put_u64(out, "events", p->events);
	put_u64(out, "bytes", p->bytes);
	put_i64(out, "ts_min_us", p->ts_min_us);
	put_i64(out, "ts_max_us", p->ts_max_us);
	put_i64(out, "indexed_min_us", p->indexed_min_us);
	put_i64(out, "indexed_max_us", p->indexed_max_us);
	key(out, "streams", false);
	hvt_buf_append(out, "[", 1);
	for (size_t i = 0; i < p->nstreams; i++) {
		const struct hvt_pruned_stream *s = &p->streams[i];
		if (i)
			hvt_buf_append(out, ",", 1);
		hvt_buf_append(out, "{", 1);
		put_str(out, "host", s->host, true);
		put_str(out, "stream", s->stream, false);
		put_u64(out, "from_seq", s->from_seq);
		put_u64(out, "to_seq", s->to_seq);
		put_u64(out, "count", s->count);
		put_i64(out, "first_ts_us", s->first_ts_us);
		put_i64(out, "last_ts_us", s->last_ts_us);
		put_str(out, "last_hash", s->last_hash, false);
		hvt_buf_append(out, "}", 1);
	}
	hvt_buf_append(out, "]", 1);
	put_str(out, "prev", p->prev, false);
	hvt_buf_append(out, "}", 1);
}

/* ---- parsing ------------------------------------------------------------ */

struct parse {
	json_object *o;
	char *err;
	size_t errsize;
	bool bad;
};

static json_object *field(struct parse *ps, json_object *o, const char *k, json_type t)
{
	json_object *v;

	if (ps->bad)
		return NULL;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t)) {
		snprintf(ps->err, ps->errsize, "the record lacks \"%s\" or it has the wrong type", k);
		ps->bad = true;
		return NULL;
	}
	return v;
}

static char *get_str(struct parse *ps, json_object *o, const char *k)
{
	json_object *v = field(ps, o, k, json_type_string);

	return v ? hvt_strdup(json_object_get_string(v)) : NULL;
}

static uint64_t get_u64(struct parse *ps, json_object *o, const char *k)
{
	json_object *v = field(ps, o, k, json_type_int);

	return v ? json_object_get_uint64(v) : 0;
}

static long long get_i64(struct parse *ps, json_object *o, const char *k)
{
	json_object *v = field(ps, o, k, json_type_int);

	return v ? (long long)json_object_get_int64(v) : 0;
}

static void get_hash(struct parse *ps, json_object *o, const char *k, char out[HVT_SHA256_HEX])
{
	char *s = get_str(ps, o, k);

	if (s && strlen(s) >= HVT_SHA256_HEX) {
		snprintf(ps->err, ps->errsize, "\"%s\" is no SHA-256 in hex", k);
		ps->bad = true;
	} else if (s) {
		hvt_strlcpy(out, s, HVT_SHA256_HEX);
	}
	free(s);
}

int hvt_pruned_from_json(const char *text, size_t len, struct hvt_pruned *p, char *err, size_t errsize)
{
	json_tokener *tok = json_tokener_new();
	struct parse ps = { .err = err, .errsize = errsize };
	json_object *o, *streams, *kind;

	memset(p, 0, sizeof *p);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errsize, "the record is no JSON object");
		json_object_put(o);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	kind = field(&ps, o, "kind", json_type_string);
	if (kind && strcmp(json_object_get_string(kind), "hvtrail.pruned") != 0) {
		snprintf(err, errsize, "the record is no hvtrail.pruned record");
		ps.bad = true;
	}
	if (!ps.bad && get_u64(&ps, o, "v") != HVT_PRUNED_VERSION && !ps.bad) {
		snprintf(err, errsize, "the record has another version than %d", HVT_PRUNED_VERSION);
		ps.bad = true;
	}
	p->index = get_str(&ps, o, "index");
	p->collector = get_str(&ps, o, "collector");
	p->partition = get_str(&ps, o, "partition");
	p->reason = get_str(&ps, o, "reason");
	p->policy = get_str(&ps, o, "policy");
	p->at_us = get_i64(&ps, o, "at_us");
	p->events = get_u64(&ps, o, "events");
	p->bytes = get_u64(&ps, o, "bytes");
	p->ts_min_us = get_i64(&ps, o, "ts_min_us");
	p->ts_max_us = get_i64(&ps, o, "ts_max_us");
	p->indexed_min_us = get_i64(&ps, o, "indexed_min_us");
	p->indexed_max_us = get_i64(&ps, o, "indexed_max_us");
	streams = field(&ps, o, "streams", json_type_array);
	for (size_t i = 0; streams && !ps.bad && i < json_object_array_length(streams); i++) {
		json_object *s = json_object_array_get_idx(streams, i);
		if (!json_object_is_type(s, json_type_object)) {
			snprintf(err, errsize, "a stream of the record is no object");
			ps.bad = true;
			break;
		}
		char *host = get_str(&ps, s, "host"), *stream = get_str(&ps, s, "stream");
		if (!ps.bad) {
			struct hvt_pruned_stream *t = hvt_pruned_add_stream(p, host, stream);
			t->from_seq = get_u64(&ps, s, "from_seq");
			t->to_seq = get_u64(&ps, s, "to_seq");
			t->count = get_u64(&ps, s, "count");
			t->first_ts_us = get_i64(&ps, s, "first_ts_us");
			t->last_ts_us = get_i64(&ps, s, "last_ts_us");
			get_hash(&ps, s, "last_hash", t->last_hash);
		}
		free(host);
		free(stream);
	}
	get_hash(&ps, o, "prev", p->prev);
	json_object_put(o);
	if (ps.bad) {
		hvt_pruned_clear(p);
		return -1;
	}
	return 0;
}

bool hvt_pruned_canonical(const char *text, size_t len)
{
	struct hvt_pruned p;
	struct hvt_buf b = { 0 };
	char err[128];
	bool same;

	if (hvt_pruned_from_json(text, len, &p, err, sizeof err) < 0)
		return false;
	hvt_pruned_to_json(&p, &b);
	same = b.len == len && memcmp(b.data, text, len) == 0;
	hvt_buf_free(&b);
	hvt_pruned_clear(&p);
	return same;
}

struct hvt_pruned_stream *hvt_pruned_add_stream(struct hvt_pruned *p, const char *host, const char *stream)
{
	struct hvt_pruned_stream *s;

	p->streams = hvt_realloc(p->streams, (p->nstreams + 1) * sizeof *p->streams);
	s = &p->streams[p->nstreams++];
	memset(s, 0, sizeof *s);
	s->host = hvt_strdup(host ? host : "");
	s->stream = hvt_strdup(stream ? stream : "");
	return s;
}

void hvt_pruned_clear(struct hvt_pruned *p)
{
	for (size_t i = 0; i < p->nstreams; i++) {
		free(p->streams[i].host);
		free(p->streams[i].stream);
	}
	free(p->streams);
	free(p->index);
	free(p->collector);
	free(p->partition);
	free(p->reason);
	free(p->policy);
	memset(p, 0, sizeof *p);
}
