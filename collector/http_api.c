/* http_api.c - the JSON API: /api/events takes hvtrail query's filters,
 * /api/hosts is `hvtrail stats` with each report's age, /api/status the
 * collector's own state.  Built with json-c, which escapes every string:
 * what the index holds came from peers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "event.h"
#include "filter.h"
#include "health.h"
#include "http_int.h"
#include "indexer.h"
#include "receiver.h"
#include "rxstats.h"
#include "timefmt.h"

static void put_json(struct hvt_buf *out, json_object *o)
{
	hvt_buf_append_str(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	hvt_buf_append(out, "\n", 1);
	json_object_put(o);
}

static json_object *time_json(long long us)
{
	char buf[40];

	if (!us)
		return NULL;
	hvt_format_rfc3339(us, buf, sizeof buf);
	return json_object_new_string(buf);
}

static int bad(struct hvt_buf *out, const char *what, const char *arg)
{
	hvt_buf_reset(out);
	hvt_buf_printf(out, "%s '%s' is not %s", what, arg,
		       strcmp(what, "limit") == 0 ? "a positive number" : strcmp(what, "after") == 0 ? "a cursor" :
		       "a time");
	return 400;
}

/* A filter refused for the reason filter.h gives. */
static int refused(struct hvt_buf *out, const char *what, const char *why)
{
	hvt_buf_reset(out);
	hvt_buf_printf(out, "%s: %s", what, why);
	return 400;
}

/* ---- /api/events ----------------------------------------------------------- */

struct rows {
	json_object *a;
	int64_t max_cursor;
};

static int add_row(void *arg, const struct hvt_row *row)
{
	struct rows *r = arg;
	json_object *o = json_object_new_object();
	json_tokener *tok = json_tokener_new();
	json_object *ev = json_tokener_parse_ex(tok, row->raw, (int)row->raw_len);
	json_tokener_free(tok);

	json_object_object_add(o, "cursor", json_object_new_int64(row->cursor));
	json_object_object_add(o, "event", ev ? ev : json_object_new_string("(cannot be decoded)"));
	if (row->link)
		json_object_object_add(o, "link", json_object_new_string(row->link));
	json_object_object_add(o, "verdict", json_object_new_int(row->verdict));
	json_object_object_add(o, "stored", time_json(row->indexed_us));
	json_object_array_add(r->a, o);
	if (row->cursor > r->max_cursor)
		r->max_cursor = row->cursor;
	return 0;
}

int http_api_events(struct http *h, struct http_req *rq, struct hvt_buf *out)
{
	struct hvt_query q = { 0 };
	const char *v;
	char *end;

	q.vm = http_arg(rq, "vm");
	q.host = http_arg(rq, "host");
	q.type_glob = http_arg(rq, "type");
	q.id = http_arg(rq, "id");
	q.link = http_arg(rq, "link");
	if ((v = http_arg(rq, "since")) && *v && hvt_parse_time_spec(v, hvt_now_us(), &q.since_us) < 0)
		return bad(out, "since", v);
	if ((v = http_arg(rq, "until")) && *v && hvt_parse_time_spec(v, hvt_now_us(), &q.until_us) < 0)
		return bad(out, "until", v);
	q.limit = h->max_rows;
	if ((v = http_arg(rq, "limit")) && *v) {
		long long n = strtoll(v, &end, 10);
		if (*end || n <= 0)
			return bad(out, "limit", v);
		q.limit = n < h->max_rows ? n : h->max_rows;
	}
	if ((v = http_arg(rq, "after")) && *v) {
		q.after_cursor = strtoll(v, &end, 10);
		if (*end || q.after_cursor < 0)
			return bad(out, "after", v);
	}
	/* hvtrail query's -p and -g (filter.h): priority=err..warning,
	 * grep=PATTERN, case=yes|no (default: as journalctl, by the pattern) */
	if ((v = http_arg(rq, "priority")) && *v) {
		char err[200];
		if (hvt_priority_mask_parse(v, &q.severities, err, sizeof err) < 0)
			return refused(out, "priority", err);
	}
	if ((q.grep = http_arg(rq, "grep")) && *q.grep) {
		char err[200];
		int cs = -1;
		if ((v = http_arg(rq, "case")) && *v) {
			if (strcmp(v, "yes") == 0)
				cs = 1;
			else if (strcmp(v, "no") == 0)
				cs = 0;
			else
				return refused(out, "case", "takes yes or no");
		}
		if (hvt_grep_prepare(q.grep, cs, true, &q.grep_icase, err, sizeof err) < 0)
			return refused(out, "grep", err);
	} else {
		q.grep = NULL;
	}
	/* like hvtrail query -r: newest first, unless order=asc (a timeline) */
	v = http_arg(rq, "order");
	q.newest_first = !(v && strcmp(v, "asc") == 0) && !q.after_cursor;
	/* an empty field of the UI's search form is no filter */
	const char **f[] = { &q.vm, &q.host, &q.type_glob, &q.id, &q.link };
	for (size_t i = 0; i < HVT_ARRAY_SIZE(f); i++)
		if (*f[i] && !**f[i])
			*f[i] = NULL;

	struct rows r = { json_object_new_array(), q.after_cursor };
	if (h->ops->query(&h->ro, &q, add_row, &r) < 0) {
		json_object_put(r.a);
		return -1;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "cursor", json_object_new_int64(r.max_cursor));
	json_object_object_add(o, "limit", json_object_new_int64(q.limit));
	json_object_object_add(o, "events", r.a);
	put_json(out, o);
	return 0;
}

/* ---- /api/hosts ------------------------------------------------------------ */

struct hosts {
	json_object *by_host;         /* host -> object */
};

static json_object *host_obj(struct hosts *hs, const char *host)
{
	json_object *o;

	if (json_object_object_get_ex(hs->by_host, host, &o))
		return o;
	o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(host));
	json_object_object_add(o, "events", json_object_new_int64(0));
	json_object_object_add(o, "missing", json_object_new_int64(0));
	json_object_object_add(o, "streams", json_object_new_array());
	json_object_object_add(hs->by_host, host, o);
	return o;
}

static void add_int(json_object *o, const char *key, int64_t d)
{
	json_object *v;

	json_object_object_get_ex(o, key, &v);
	json_object_object_add(o, key, json_object_new_int64(json_object_get_int64(v) + d));
}

static void max_time(json_object *o, const char *key, long long us)
{
	json_object *v;
	char buf[40];

	if (!us)
		return;
	hvt_format_rfc3339(us, buf, sizeof buf);
	if (!json_object_object_get_ex(o, key, &v) || strcmp(json_object_get_string(v), buf) < 0)
		json_object_object_add(o, key, json_object_new_string(buf));
}

struct seal_seen {
	uint64_t seq;
	bool valid;
};

static int last_seal(void *arg, const struct hvt_seal_row *s)
{
	struct seal_seen *ss = arg;

	if (s->valid && s->seq >= ss->seq) {
		ss->seq = s->seq;
		ss->valid = true;
	}
	return 0;
}

struct stream_arg {
	struct http *h;
	struct hosts *hs;
};

static int add_stream(void *arg, const struct hvt_stream_state *s)
{
	struct stream_arg *a = arg;
	json_object *o = host_obj(a->hs, s->host), *streams, *st = json_object_new_object();
	size_t n = strspn(s->stream, "0123456789abcdef");
	bool sequential = n == HVT_STREAM_LEN && s->stream[n] == '\0';
	uint64_t missing = sequential && s->max_seq > s->count ? s->max_seq - s->count : 0;
	struct seal_seen ss = { 0, false };

	add_int(o, "events", (int64_t)s->count);
	add_int(o, "missing", (int64_t)missing);
	max_time(o, "last_event", s->last_ts_us);
	max_time(o, "last_stored", s->last_indexed_us);
	if (a->h->ops->seals)
		a->h->ops->seals(&a->h->ro, s->host, s->stream, last_seal, &ss);
	json_object_object_add(st, "stream", json_object_new_string(s->stream));
	json_object_object_add(st, "events", json_object_new_int64((int64_t)s->count));
	json_object_object_add(st, "max_seq", json_object_new_int64((int64_t)s->max_seq));
	json_object_object_add(st, "missing", json_object_new_int64((int64_t)missing));
	/* verify state as the index shows it: the chain is signed up to here */
	json_object_object_add(st, "sealed_seq", json_object_new_int64((int64_t)ss.seq));
	json_object_object_add(st, "unsealed", json_object_new_int64(sequential && s->max_seq > ss.seq ?
									     (int64_t)(s->max_seq - ss.seq) : 0));
	json_object_object_get_ex(o, "streams", &streams);
	json_object_array_add(streams, st);
	return 0;
}

static int add_report(void *arg, const char *host, const char *json, long long at_us)
{
	struct hosts *hs = arg;
	json_object *o = host_obj(hs, host), *rep = json_tokener_parse(json);

	json_object_object_add(o, "report", rep ? rep : json_object_new_string(json));
	json_object_object_add(o, "reported", time_json(at_us));
	json_object_object_add(o, "report_age_s", json_object_new_int64((hvt_now_us() - at_us) / 1000000));
	return 0;
}

int http_api_hosts(struct http *h, struct http_req *rq, struct hvt_buf *out)
{
	struct hosts hs = { json_object_new_object() };
	struct stream_arg sa = { h, &hs };
	(void)rq;

	if (h->ops->streams(&h->ro, NULL, add_stream, &sa) < 0 ||
	    (h->ops->host_stats && h->ops->host_stats(&h->ro, add_report, &hs) < 0)) {
		json_object_put(hs.by_host);
		return -1;
	}
	json_object *a = json_object_new_array();
	json_object_object_foreach(hs.by_host, key, val) {
		(void)key;
		json_object_array_add(a, json_object_get(val));
	}
	json_object_put(hs.by_host);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "hosts", a);
	put_json(out, o);
	return 0;
}

/* ---- /api/status ------------------------------------------------------------ */

int http_api_status(struct http *h, struct http_req *rq, struct hvt_buf *out)
{
	json_object *o = json_object_new_object(), *problems = json_object_new_array();
	struct indexer_counters ic;
	bool storing = true;
	(void)rq;

	for (int i = 0; i < HEALTH_PARTS; i++) {
		long long since;
		char why[400];
		if (!health_get((enum health_part)i, &since, why, sizeof why))
			continue;
		storing = false;
		json_object *p = json_object_new_object();
		json_object_object_add(p, "part", json_object_new_string(health_part_names[i]));
		json_object_object_add(p, "since", time_json(since));
		json_object_object_add(p, "why", json_object_new_string(why));
		json_object_array_add(problems, p);
	}
	indexer_counters(h->ctx.indexer, &ic);
	uint64_t last = hvt_spool_last_seq(h->ctx.inbox);
	json_object_object_add(o, "storing", json_object_new_boolean(storing));
	json_object_object_add(o, "problems", problems);
	json_object_object_add(o, "inbox_depth", json_object_new_int64(last > ic.position ?
									(int64_t)(last - ic.position) : 0));
	json_object_object_add(o, "indexed", json_object_new_int64((int64_t)ic.indexed));
	put_json(out, o);
	return 0;
}
