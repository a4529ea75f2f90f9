/* streams.c - per-stream state and the holes in a stream's seq numbers. */
#include "config.h"

#include <string.h>

#include "idx.h"
#include "log.h"
#include "trail.h"
#include "util.h"

static void fill_state(sqlite3_stmt *st, struct hvt_stream_state *s)
{
	memset(s, 0, sizeof *s);
	hvt_strlcpy(s->host, (const char *)sqlite3_column_text(st, 0), sizeof s->host);
	hvt_strlcpy(s->stream, (const char *)sqlite3_column_text(st, 1), sizeof s->stream);
	s->max_seq = (uint64_t)sqlite3_column_int64(st, 2);
	s->count = (uint64_t)sqlite3_column_int64(st, 3);
	hvt_strlcpy(s->head_hash, (const char *)sqlite3_column_text(st, 4), sizeof s->head_hash);
	s->last_ts_us = sqlite3_column_int64(st, 5);
	s->last_indexed_us = sqlite3_column_int64(st, 6);
}

int idx_streams(struct hvt_instance *inst, const char *host,
		int (*cb)(void *arg, const struct hvt_stream_state *s), void *arg)
{
	static const char sql[] =
		"SELECT host, stream, max_seq, count, head_hash, last_ts_us, last_indexed_us"
		" FROM streams WHERE ?1 IS NULL OR host = ?1 ORDER BY host, stream";
	struct idx *x = inst->priv;
	struct hvt_stream_state s;
	sqlite3_stmt *st;
	int rc, ret = -1;

	idx_lock(x);
	if (idx_prepare(x, sql, &st) < 0)
		goto out;
	if (host)
		sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fill_state(st, &s);
		if (cb(arg, &s) != 0)
			break;
	}
	ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : idx_fail(x, rc, "reading streams");
	sqlite3_finalize(st);
out:
	idx_unlock(x);
	return ret;
}

struct stream_info {
	int64_t id;
	uint64_t max_seq, count;
};

/* Returns 1 when found, 0 when the index has no such stream, -1 on error. */
static int stream_info(struct idx *x, const char *host, const char *stream, struct stream_info *si)
{
	sqlite3_stmt *st;
	int rc;

	if (idx_prepare(x, "SELECT id, max_seq, count FROM streams WHERE host = ?1 AND stream = ?2",
			&st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		si->id = sqlite3_column_int64(st, 0);
		si->max_seq = (uint64_t)sqlite3_column_int64(st, 1);
		si->count = (uint64_t)sqlite3_column_int64(st, 2);
	} else if (rc != SQLITE_DONE) {
		idx_fail(x, rc, "reading a stream");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Walk the (stream_id, seq) index once: each row whose predecessor is not
 * seq - 1 ends a hole.  LAG's default 0 makes a missing seq 1 a hole too.
 * Returns 1 when the callback asked to stop, 0 when done, -1 on error. */
static int scan_holes(struct idx *x, const struct stream_info *si,
		      int (*cb)(void *arg, uint64_t lo, uint64_t hi), void *arg)
{
	static const char sql[] =
		"SELECT prev + 1, seq - 1 FROM ("
		"  SELECT seq, lag(seq, 1, 0) OVER (ORDER BY seq) AS prev"
		"  FROM events WHERE stream_id = ?1)"
		" WHERE seq > prev + 1";
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, stop = 0;

	if (idx_prepare(x, sql, &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, si->id);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = cb(arg, (uint64_t)sqlite3_column_int64(st, 0),
			  (uint64_t)sqlite3_column_int64(st, 1)) != 0;
	if (!stop && rc != SQLITE_DONE)
		idx_fail(x, rc, "looking for gaps");
	sqlite3_finalize(st);
	return stop ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The trailing hole: max_seq may be ahead of the highest stored row. */
static int max_stored_seq(struct idx *x, int64_t stream_id, uint64_t *max)
{
	sqlite3_stmt *st;
	int rc;

	if (idx_prepare(x, "SELECT coalesce(max(seq), 0) FROM events WHERE stream_id = ?1", &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, stream_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*max = (uint64_t)sqlite3_column_int64(st, 0);
	else
		idx_fail(x, rc, "looking for gaps");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int gaps_locked(struct idx *x, const char *host, const char *stream,
		       int (*cb)(void *arg, uint64_t lo, uint64_t hi), void *arg)
{
	struct stream_info si;
	uint64_t top;
	int r;

	if (!hvt_stream_id_valid(stream))
		return 0;           /* only forwarders' streams number events 1, 2, 3 (trail.h) */
	r = stream_info(x, host, stream, &si);
	if (r <= 0)
		return r;
	/* seq starts at 1 and is unique, so count == max_seq means 1..max_seq are
	 * all there: the common answer costs no scan at all. */
	if (si.count == si.max_seq)
		return 0;
	r = scan_holes(x, &si, cb, arg);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (max_stored_seq(x, si.id, &top) < 0)
		return -1;
	if (top < si.max_seq)
		cb(arg, top + 1, si.max_seq);
	return 0;
}

int idx_gaps(struct hvt_instance *inst, const char *host, const char *stream,
	     int (*cb)(void *arg, uint64_t lo, uint64_t hi), void *arg)
{
	struct idx *x = inst->priv;
	int rc;

	idx_lock(x);
	rc = gaps_locked(x, host, stream, cb, arg);
	idx_unlock(x);
	return rc;
}
