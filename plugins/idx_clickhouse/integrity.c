/* integrity.c - what hvtrail verify (and the collector's chain check) read,
 * and what the collector keeps aside: seals (signed chain heads), the
 * quarantine (events kept out of the trail, with the reason), one stream's
 * events in seq order.
 *
 * Seals and quarantined events arrive in store()'s batch and go in with it
 * (store.c), so a batch inserted twice makes second copies here too; reads
 * collapse them with FINAL like events (schema.c has the keys). */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "log.h"
#include "util.h"

static void put_str(struct hvt_buf *b, const char *key, const char *v, size_t len)
{
	hvt_buf_printf(b, ",\"%s\":", key);
	ch_json_str(b, v ? v : "", v ? len : 0);
}

static void put_cstr(struct hvt_buf *b, const char *key, const char *v)
{
	put_str(b, key, v, v ? strlen(v) : 0);
}

#define PUT(b, key, v) put_cstr(b, key, v)

void ch_put_seal(struct hvt_buf *b, const struct hvt_seal_row *s, const char *collector_json,
		 uint64_t cursor)
{
	hvt_buf_append_str(b, "{\"host\":");
	ch_json_str(b, s->host ? s->host : "", s->host ? strlen(s->host) : 0);
	PUT(b, "stream", s->stream);
	hvt_buf_printf(b, ",\"seq\":%" PRIu64, s->seq);
	PUT(b, "hash", s->hash);
	hvt_buf_printf(b, ",\"time_us\":%lld,\"final\":%d,\"valid\":%d", s->time_us, s->final ? 1 : 0,
		       s->valid ? 1 : 0);
	PUT(b, "note", s->note);
	PUT(b, "peer", s->peer);
	hvt_buf_printf(b, ",\"received_us\":%lld,\"collector\":%s,\"cursor\":%" PRIu64, s->received_us,
		       collector_json, cursor);
	put_str(b, "json", s->json, s->json_len);
	hvt_buf_append_str(b, "}\n");
}

/* A quarantined item may lack any identity (that can be why it is here). */
void ch_put_quarantine(struct hvt_buf *b, const struct hvt_stored *it, const char *collector_json,
		       uint64_t cursor)
{
	const struct hvt_event *ev = it->ev;

	hvt_buf_append_str(b, "{\"host\":");
	ch_json_str(b, ev && ev->host ? ev->host : "", ev && ev->host ? strlen(ev->host) : 0);
	PUT(b, "stream", ev ? ev->stream : NULL);
	hvt_buf_printf(b, ",\"seq\":%" PRIu64, ev ? ev->seq : 0);
	PUT(b, "type", ev ? ev->type : NULL);
	hvt_buf_printf(b, ",\"ts_us\":%lld,\"indexed_us\":%lld", ev ? ev->ts_us : 0, it->indexed_us);
	PUT(b, "peer", it->peer);
	PUT(b, "reason", it->verdict_note ? it->verdict_note : "quarantined");
	hvt_buf_printf(b, ",\"collector\":%s,\"cursor\":%" PRIu64, collector_json, cursor);
	put_str(b, "raw", it->raw, it->raw ? it->raw_len : 0);
	hvt_buf_append_str(b, "}\n");
}

static void where_stream(struct ch *x, struct hvt_buf *sql, const char *table, const char *host,
			 const char *stream)
{
	ch_table(sql, x, table);
	hvt_buf_append_str(sql, " FINAL WHERE host = ");
	ch_quote_str(sql, host);
	hvt_buf_append_str(sql, " AND stream = ");
	ch_quote_str(sql, stream);
}

struct rows_cb {
	hvt_row_cb cb;
	void *arg;
};

static int on_row(void *arg, const struct ch_val *v)
{
	struct rows_cb *r = arg;
	struct hvt_row row = ch_row(v);

	return r->cb(r->arg, &row);
}

/* The sorting key leads with the day, so this reads the host's granules of
 * every day; verify reads whole streams, which is what it costs anyway. */
int ch_stream_events(struct hvt_instance *inst, const char *host, const char *stream,
		     uint64_t from_seq, hvt_row_cb cb, void *arg)
{
	struct ch *x = inst->priv;
	struct rows_cb r = { cb, arg };
	struct hvt_buf sql = { 0 };
	int rc;

	hvt_buf_append_str(&sql, "SELECT " CH_ROW_COLUMNS " FROM ");
	where_stream(x, &sql, "events", host, stream);
	hvt_buf_printf(&sql, " AND seq >= %" PRIu64 " ORDER BY seq", from_seq);
	rc = ch_select(x, hvt_buf_cstr(&sql), ch_row_cols, 8, on_row, &r);
	hvt_buf_free(&sql);
	return rc;
}

struct seals_cb {
	const char *host, *stream;
	int (*cb)(void *arg, const struct hvt_seal_row *s);
	void *arg;
};

static int on_seal(void *arg, const struct ch_val *v)
{
	struct seals_cb *w = arg;
	struct hvt_seal_row s = {
		.host = w->host, .stream = w->stream, .seq = v[0].u, .hash = v[1].s, .time_us = v[2].i,
		.final = v[3].u != 0, .valid = v[4].u != 0, .note = v[5].len ? v[5].s : NULL,
		.peer = v[6].len ? v[6].s : NULL, .received_us = v[7].i, .json = v[8].s, .json_len = v[8].len,
	};

	return w->cb(w->arg, &s);
}

int ch_seals(struct hvt_instance *inst, const char *host, const char *stream,
	     int (*cb)(void *arg, const struct hvt_seal_row *s), void *arg)
{
	static const enum ch_col cols[] = {
		CH_U64, CH_STR, CH_I64, CH_U8, CH_U8, CH_STR, CH_STR, CH_I64, CH_STR,
	};
	struct ch *x = inst->priv;
	struct seals_cb w = { host, stream, cb, arg };
	struct hvt_buf sql = { 0 };
	int rc;

	hvt_buf_append_str(&sql, "SELECT seq, hash, time_us, final, valid, note, peer, received_us, json"
			   " FROM ");
	where_stream(x, &sql, "seals", host, stream);
	hvt_buf_append_str(&sql, " ORDER BY seq, time_us");
	rc = ch_select(x, hvt_buf_cstr(&sql), cols, 9, on_seal, &w);
	hvt_buf_free(&sql);
	return rc;
}

/* Oldest first, as stored (cursor order); the reason is the row's note. */
int ch_quarantined(struct hvt_instance *inst, hvt_row_cb cb, void *arg)
{
	struct ch *x = inst->priv;
	struct rows_cb r = { cb, arg };
	struct hvt_buf sql = { 0 };
	int rc;

	hvt_buf_printf(&sql, "SELECT cursor, seq, raw, peer, indexed_us, '', toUInt8(%d), reason FROM ",
		       HVT_VERDICT_QUARANTINED);
	ch_table(&sql, x, "quarantine");
	hvt_buf_append_str(&sql, " FINAL ORDER BY cursor");
	rc = ch_select(x, hvt_buf_cstr(&sql), ch_row_cols, 8, on_row, &r);
	hvt_buf_free(&sql);
	return rc;
}
