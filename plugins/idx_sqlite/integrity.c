/* integrity.c - what hvtrail verify reads, and what the collector keeps
 * aside: seals (signed chain heads), quarantined events, one stream's
 * events in seq order. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "log.h"
#include "util.h"

static const char sql_ins_seal[] =
	"INSERT INTO seals (stream_id, seq, hash, time_us, final, valid, note, peer, received_us, json)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	" ON CONFLICT (stream_id, seq, time_us) DO NOTHING";
static const char sql_ins_quarantine[] =
	"INSERT INTO quarantine (host, stream, seq, type, ts_us, indexed_us, peer, reason, raw)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

int idx_integrity_prepare(struct idx *x)
{
	if (idx_prepare_persistent(x, sql_ins_seal, &x->st.ins_seal) < 0 ||
	    idx_prepare_persistent(x, sql_ins_quarantine, &x->st.ins_quarantine) < 0)
		return -1;
	return 0;
}

static void text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int idx_store_seal(struct idx *x, const struct hvt_seal_row *s)
{
	sqlite3_stmt *st = x->st.ins_seal;
	int64_t sid;

	if (idx_stream_id(x, s->host, s->stream, &sid) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, sid);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)s->seq);
	sqlite3_bind_text(st, 3, s->hash ? s->hash : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, s->time_us);
	sqlite3_bind_int(st, 5, s->final);
	sqlite3_bind_int(st, 6, s->valid);
	text_or_null(st, 7, s->note);
	text_or_null(st, 8, s->peer);
	sqlite3_bind_int64(st, 9, s->received_us);
	sqlite3_bind_text64(st, 10, s->json, s->json_len, SQLITE_STATIC, SQLITE_UTF8);
	return idx_step_done(x, st, "storing a seal");
}

int idx_store_quarantine(struct idx *x, const struct hvt_stored *it, const char *reason)
{
	sqlite3_stmt *st = x->st.ins_quarantine;
	const struct hvt_event *ev = it->ev;

	text_or_null(st, 1, ev ? ev->host : NULL);
	text_or_null(st, 2, ev ? ev->stream : NULL);
	sqlite3_bind_int64(st, 3, ev ? (sqlite3_int64)ev->seq : 0);
	text_or_null(st, 4, ev ? ev->type : NULL);
	sqlite3_bind_int64(st, 5, ev ? ev->ts_us : 0);
	sqlite3_bind_int64(st, 6, it->indexed_us);
	text_or_null(st, 7, it->peer);
	sqlite3_bind_text(st, 8, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text64(st, 9, it->raw ? it->raw : "", it->raw ? it->raw_len : 0, SQLITE_STATIC, SQLITE_UTF8);
	return idx_step_done(x, st, "quarantining an event");
}

int idx_stream_events(struct hvt_instance *inst, const char *host, const char *stream, uint64_t from_seq,
		      hvt_row_cb cb, void *arg)
{
	struct idx *x = inst->priv;
	sqlite3_stmt *st;
	int rc, ret = 0;

	idx_lock(x);
	if (idx_prepare(x, "SELECT e.cursor, e.seq, e.raw, e.peer, e.indexed_us, e.link, e.verdict, e.verdict_note"
			   " FROM events e JOIN streams s ON s.id = e.stream_id"
			   " WHERE s.host = ?1 AND s.stream = ?2 AND e.seq >= ?3 ORDER BY e.seq", &st) < 0) {
		idx_unlock(x);
		return -1;
	}
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)from_seq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hvt_row r = {
			.cursor = sqlite3_column_int64(st, 0),
			.seq = (uint64_t)sqlite3_column_int64(st, 1),
			.raw = (const char *)sqlite3_column_text(st, 2),
			.raw_len = (size_t)sqlite3_column_bytes(st, 2),
			.peer = (const char *)sqlite3_column_text(st, 3),
			.indexed_us = sqlite3_column_int64(st, 4),
			.link = (const char *)sqlite3_column_text(st, 5),
			.verdict = sqlite3_column_int(st, 6),
			.note = (const char *)sqlite3_column_text(st, 7),
		};
		if (cb(arg, &r))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = idx_fail(x, rc, "reading a stream");
	sqlite3_finalize(st);
	idx_unlock(x);
	return ret;
}

int idx_seals(struct hvt_instance *inst, const char *host, const char *stream,
	      int (*cb)(void *arg, const struct hvt_seal_row *s), void *arg)
{
	struct idx *x = inst->priv;
	sqlite3_stmt *st;
	int rc, ret = 0;

	idx_lock(x);
	if (idx_prepare(x, "SELECT a.seq, a.hash, a.time_us, a.final, a.valid, a.note, a.peer, a.received_us, a.json"
			   " FROM seals a JOIN streams s ON s.id = a.stream_id"
			   " WHERE s.host = ?1 AND s.stream = ?2 ORDER BY a.seq, a.time_us", &st) < 0) {
		idx_unlock(x);
		return -1;
	}
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hvt_seal_row r = {
			.host = host,
			.stream = stream,
			.seq = (uint64_t)sqlite3_column_int64(st, 0),
			.hash = (const char *)sqlite3_column_text(st, 1),
			.time_us = sqlite3_column_int64(st, 2),
			.final = sqlite3_column_int(st, 3) != 0,
			.valid = sqlite3_column_int(st, 4) != 0,
			.note = (const char *)sqlite3_column_text(st, 5),
			.peer = (const char *)sqlite3_column_text(st, 6),
			.received_us = sqlite3_column_int64(st, 7),
			.json = (const char *)sqlite3_column_text(st, 8),
			.json_len = (size_t)sqlite3_column_bytes(st, 8),
		};
		if (cb(arg, &r))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = idx_fail(x, rc, "reading seals");
	sqlite3_finalize(st);
	idx_unlock(x);
	return ret;
}

int idx_quarantined(struct hvt_instance *inst, hvt_row_cb cb, void *arg)
{
	struct idx *x = inst->priv;
	sqlite3_stmt *st;
	int rc, ret = 0;

	idx_lock(x);
	if (idx_prepare(x, "SELECT id, seq, raw, peer, indexed_us, reason FROM quarantine ORDER BY id", &st) < 0) {
		idx_unlock(x);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hvt_row r = {
			.cursor = sqlite3_column_int64(st, 0),
			.seq = (uint64_t)sqlite3_column_int64(st, 1),
			.raw = (const char *)sqlite3_column_text(st, 2),
			.raw_len = (size_t)sqlite3_column_bytes(st, 2),
			.peer = (const char *)sqlite3_column_text(st, 3),
			.indexed_us = sqlite3_column_int64(st, 4),
			.verdict = HVT_VERDICT_QUARANTINED,
			.note = (const char *)sqlite3_column_text(st, 5),
		};
		if (cb(arg, &r))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = idx_fail(x, rc, "reading the quarantine");
	sqlite3_finalize(st);
	idx_unlock(x);
	return ret;
}
