/* query.c - an hvt_query as a SELECT over events.
 *
 * Every read collapses the copies of an event with FINAL (schema.c), and
 * returns rows in idx_sqlite's order: ts_us, then cursor.  Three shapes:
 *  - plain: FINAL, the filters, ORDER BY, LIMIT.
 *  - scoped: a plain SELECT first finds how many rows match, their time
 *    range and hosts, and FINAL reads only those (see scope_of).
 *  - the newest N (what `hvtrail query -n N` asks): first the last hour
 *    before the newest matching event, then a day, a week, ... and stop at
 *    the first window that holds N events: the newest N are all in it.  The
 *    sorting key starts with the event's day, so a window reads its days.
 *  - follow (after_cursor): the rows stored after the cursor, without
 *    FINAL (a poll must not merge the whole table); a copy of an event
 *    already stored before the cursor is left out, and of several new
 *    copies the first one is taken.  Rows show up only follow_delay after
 *    they were stamped: a collector stamps a batch before its INSERT
 *    completes, and another collector's clock may be a little behind, so
 *    a poll must not move past cursors that may still appear. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "log.h"
#include "trail.h"
#include "util.h"

#define COLUMNS CH_ROW_COLUMNS
#define PROBE_MAX_ROWS 10000
static const long long probe_windows_us[] = {
	3600LL * 1000000, 86400LL * 1000000, 8 * 86400LL * 1000000, 64 * 86400LL * 1000000,
};
const enum ch_col ch_row_cols[8] = {
	CH_U64, CH_U64, CH_STR, CH_STR, CH_I64, CH_STR, CH_U8, CH_STR,
};

/* idx_sqlite gives NULL for a missing peer, link or note; ClickHouse has ''. */
struct hvt_row ch_row(const struct ch_val *v)
{
	return (struct hvt_row){
		.cursor = v[0].i, .seq = v[1].u, .raw = v[2].s, .raw_len = v[2].len,
		.peer = v[3].len ? v[3].s : NULL, .indexed_us = v[4].i,
		.link = v[5].len ? v[5].s : NULL, .verdict = (int)v[6].u,
		.note = v[7].len ? v[7].s : NULL,
	};
}

static void and_eq(struct hvt_buf *b, const char *col, const char *v)
{
	hvt_buf_printf(b, " AND %s = ", col);
	ch_quote_str(b, v);
}

/* The WHERE terms of q (after "WHERE 1"); false when nothing can match. */
static bool add_filters(struct hvt_buf *b, const struct hvt_query *q)
{
	bool can_match = true;

	if (q->vm) {
		/* as idx_sqlite: events naming a VM, by name or UUID */
		hvt_buf_append_str(b, " AND (vm_name != '' OR vm_uuid != '') AND (vm_name = ");
		ch_quote_str(b, q->vm);
		hvt_buf_append_str(b, " OR vm_uuid = ");
		ch_quote_str(b, q->vm);
		hvt_buf_append_str(b, ")");
	}
	if (q->host)
		and_eq(b, "host", q->host);
	if (q->type_glob) {
		struct hvt_buf re = { 0 };
		can_match &= ch_glob_regex(q->type_glob, &re);
		hvt_buf_append_str(b, " AND match(type, ");
		ch_quote(b, re.data, re.len);
		hvt_buf_append_str(b, ")");
		hvt_buf_free(&re);
	}
	if (q->since_us)
		hvt_buf_printf(b, " AND ts_us >= %lld", q->since_us);
	if (q->until_us)
		hvt_buf_printf(b, " AND ts_us <= %lld", q->until_us);
	if (q->link)
		and_eq(b, "link", q->link);
	if (q->severities) {
		const char *sep = "";
		hvt_buf_append_str(b, " AND severity IN (");
		for (int v = 0; v < 8; v++)
			if (q->severities & (1u << v)) {
				hvt_buf_printf(b, "%s%d", sep, v);
				sep = ", ";
			}
		hvt_buf_append_str(b, ")");
	}
	if (q->grep) {
		/* RE2 takes the POSIX extended syntax the CLI checked (but no
		 * back-references); msg comes before data in an event's JSON, so
		 * the first "msg" key is the event's own */
		struct hvt_buf re = { 0 };
		hvt_buf_append_str(&re, q->grep_icase ? "(?i)" : "");
		hvt_buf_append_str(&re, q->grep);
		hvt_buf_append_str(b, " AND match(visitParamExtractString(raw, 'msg'), ");
		ch_quote(b, re.data, re.len);
		hvt_buf_append_str(b, ")");
		hvt_buf_free(&re);
	}
	if (q->id) {
		size_t slen;
		uint64_t seq;
		if (hvt_event_id_split(q->id, &slen, &seq)) {   /* else nothing matches */
			char *stream = hvt_strndup(q->id, slen);
			and_eq(b, "stream", stream);
			hvt_buf_printf(b, " AND seq = %" PRIu64, seq);
			free(stream);
		} else {
			can_match = false;
		}
	}
	return can_match;
}

static void order_limit(struct hvt_buf *b, const struct hvt_query *q)
{
	hvt_buf_append_str(b, q->newest_first ? " ORDER BY ts_us DESC, cursor DESC"
			   : " ORDER BY ts_us, cursor");
	if (q->limit > 0)
		hvt_buf_printf(b, " LIMIT %lld", q->limit);
}

/* ---- handing rows out ---------------------------------------------------- */

struct emit {
	hvt_row_cb cb;
	void *arg;
	/* probing: rows are kept until the window is known to be right */
	bool keep;
	struct hvt_row *rows;
	size_t n;
};

static int on_row(void *arg, const struct ch_val *v)
{
	struct emit *e = arg;
	struct hvt_row row = ch_row(v);

	if (!e->keep)
		return e->cb(e->arg, &row);
	e->rows = hvt_realloc(e->rows, (e->n + 1) * sizeof *e->rows);
	row.raw = hvt_strndup(row.raw, row.raw_len);
	row.peer = row.peer ? hvt_strdup(row.peer) : NULL;
	row.link = row.link ? hvt_strdup(row.link) : NULL;
	row.note = row.note ? hvt_strdup(row.note) : NULL;
	e->rows[e->n++] = row;
	return 0;
}

static void kept_free(struct emit *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free((char *)e->rows[i].raw);
		free((char *)e->rows[i].peer);
		free((char *)e->rows[i].link);
		free((char *)e->rows[i].note);
	}
	free(e->rows);
	e->rows = NULL;
	e->n = 0;
}

static void kept_emit(struct emit *e)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->cb(e->arg, &e->rows[i]) != 0)
			break;
}

/* ---- the three shapes ---------------------------------------------------- */

static int run_final(struct ch *x, const struct hvt_query *q, const char *filters,
		     const char *scope, long long min_ts, struct emit *e)
{
	struct hvt_buf sql = { 0 };
	int rc;

	hvt_buf_append_str(&sql, "SELECT " COLUMNS " FROM ");
	ch_table(&sql, x, "events");
	hvt_buf_printf(&sql, " FINAL WHERE 1%s%s", filters, scope);
	if (min_ts > LLONG_MIN)
		hvt_buf_printf(&sql, " AND ts_us >= %lld", min_ts);
	order_limit(&sql, q);
	rc = ch_select(x, hvt_buf_cstr(&sql), ch_row_cols, 8, on_row, e);
	hvt_buf_free(&sql);
	return rc;
}

/* ---- scope: where the matches are, before FINAL reads them -------------------
 * FINAL merges every row the key ranges select and filters afterwards, so a
 * filter the sorting key does not lead with (a VM, an id, a type) would merge
 * the whole table.  A plain SELECT over the filter columns is cheap; it says
 * how many rows match, between which times and on which hosts.  Every copy
 * of an event has the same time and host, so adding those bounds to the
 * FINAL query loses no copy, and the key (day, host, ...) prunes to them. */
#define SCOPE_MAX_HOSTS 64

struct scope {
	long long count, lo, hi;
	struct hvt_buf terms;         /* " AND ts_us >= .. AND ts_us <= .. [AND host IN (..)]" */
};

/* " AND host IN (...)" from the hex-encoded list; nothing at all when an item
 * does not decode (leaving a host out would lose its rows). */
static void hosts_term(struct hvt_buf *terms, const char *hexlist)
{
	struct hvt_buf in = { 0 };
	bool ok = *hexlist != '\0';

	for (const char *p = hexlist; ok && *p;) {
		size_t n = strcspn(p, ",");
		char *item = hvt_strndup(p, n);
		unsigned char *raw = hvt_malloc(n / 2 + 1);
		ok = n % 2 == 0 && hvt_unhex(item, raw, n / 2) == 0;
		if (ok) {
			hvt_buf_append_str(&in, in.len ? ", " : "");
			ch_quote(&in, (const char *)raw, n / 2);
		}
		free(raw);
		free(item);
		p += n + (p[n] == ',');
	}
	if (ok)
		hvt_buf_printf(terms, " AND host IN (%s)", hvt_buf_cstr(&in));
	hvt_buf_free(&in);
}

static int scope_of(struct ch *x, const char *filters, struct scope *sc)
{
	struct hvt_buf sql = { 0 }, out = { 0 };
	long long nhosts = 0;
	int rc, off = 0;

	/* hosts as hex, so no name can upset the parsing of the answer; 18.16's
	 * groupUniqArray takes no size limit, so the list is cut afterwards */
	hvt_buf_printf(&sql, "SELECT count(), min(ts_us), max(ts_us), uniqExact(host) AS nh, if(nh <= %d, "
		       "arrayStringConcat(arrayMap(h -> hex(h), groupUniqArray(host)), ','), '') FROM ",
		       SCOPE_MAX_HOSTS);
	ch_table(&sql, x, "events");
	hvt_buf_printf(&sql, " WHERE 1%s FORMAT TSV", filters);
	rc = ch_scalar(x, hvt_buf_cstr(&sql), &out);
	if (rc == 0 && sscanf(hvt_buf_cstr(&out), "%lld\t%lld\t%lld\t%lld\t%n", &sc->count, &sc->lo,
			      &sc->hi, &nhosts, &off) < 4) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: unexpected answer '%.80s'", x->name, hvt_buf_cstr(&out));
		rc = -1;
	}
	if (rc == 0 && sc->count) {
		hvt_buf_printf(&sc->terms, " AND ts_us >= %lld AND ts_us <= %lld", sc->lo, sc->hi);
		if (nhosts <= SCOPE_MAX_HOSTS && off > 0)
			hosts_term(&sc->terms, hvt_buf_cstr(&out) + off);
	}
	hvt_buf_cstr(&sc->terms);
	hvt_buf_free(&sql);
	hvt_buf_free(&out);
	return rc;
}

/* The newest `limit` rows: the last hour before the newest match, then
 * wider windows, until one holds enough (then it holds the newest). */
static int run_newest(struct ch *x, const struct hvt_query *q, const char *filters,
		      const struct scope *sc, struct emit *e)
{
	e->keep = true;
	for (size_t i = 0; i < HVT_ARRAY_SIZE(probe_windows_us); i++) {
		long long lo = sc->hi - probe_windows_us[i];
		if (lo <= sc->lo)
			break;      /* the window holds every match: the plain query is as narrow */
		if (run_final(x, q, filters, sc->terms.data, lo, e) < 0) {
			kept_free(e);
			return -1;
		}
		if ((long long)e->n >= q->limit) {
			kept_emit(e);
			kept_free(e);
			return 0;
		}
		kept_free(e);
	}
	e->keep = false;
	return run_final(x, q, filters, sc->terms.data, LLONG_MIN, e);
}

static int run_follow(struct ch *x, const struct hvt_query *q, const char *filters, struct emit *e)
{
	long long settled_ms = hvt_now_us() / 1000 - x->o.follow_delay_ms;
	uint64_t hi = ((uint64_t)HVT_MAX(settled_ms, 0) << CH_ROW_BITS) | ((1u << CH_ROW_BITS) - 1);
	uint64_t lo = (uint64_t)q->after_cursor;
	struct hvt_buf sql = { 0 }, ev = { 0 }, range = { 0 };
	int rc;

	if (hi <= lo)
		return 0;
	ch_table(&ev, x, "events");
	hvt_buf_printf(&range, "cursor > %" PRIu64 " AND cursor <= %" PRIu64, lo, hi);
	hvt_buf_printf(&sql, "SELECT " COLUMNS " FROM (SELECT " COLUMNS ", ts_us FROM %s WHERE %s%s"
		       " AND (host, stream, seq) NOT IN (SELECT host, stream, seq FROM %s"
		       " WHERE cursor <= %" PRIu64 " AND (host, stream, seq) IN"
		       " (SELECT host, stream, seq FROM %s WHERE %s))"
		       " ORDER BY cursor LIMIT 1 BY host, stream, seq)",
		       ev.data, range.data, filters, ev.data, lo, ev.data, range.data);
	order_limit(&sql, q);
	rc = ch_select(x, hvt_buf_cstr(&sql), ch_row_cols, 8, on_row, e);
	hvt_buf_free(&sql);
	hvt_buf_free(&ev);
	hvt_buf_free(&range);
	return rc;
}

int ch_query(struct hvt_instance *inst, const struct hvt_query *q, hvt_row_cb cb, void *arg)
{
	struct ch *x = inst->priv;
	struct emit e = { .cb = cb, .arg = arg };
	struct hvt_buf filters = { 0 };
	int rc;

	if (!add_filters(&filters, q)) {
		hvt_buf_free(&filters);
		return 0;           /* e.g. an id that is no <stream>-<seq> */
	}
	hvt_buf_cstr(&filters);
	if (q->after_cursor > 0) {
		rc = run_follow(x, q, filters.data, &e);
	} else if (!filters.len) {
		/* everything: nothing to narrow (the newest N still probe) */
		struct scope sc = { 0 };
		rc = q->newest_first && q->limit > 0 && q->limit <= PROBE_MAX_ROWS ? scope_of(x, "", &sc) : 0;
		if (rc == 0 && sc.count)
			rc = run_newest(x, q, "", &sc, &e);
		else if (rc == 0)
			rc = run_final(x, q, "", "", LLONG_MIN, &e);
		hvt_buf_free(&sc.terms);
	} else {
		struct scope sc = { 0 };
		rc = scope_of(x, filters.data, &sc);
		if (rc == 0 && sc.count && q->newest_first && q->limit > 0 && q->limit <= PROBE_MAX_ROWS)
			rc = run_newest(x, q, filters.data, &sc, &e);
		else if (rc == 0 && sc.count)
			rc = run_final(x, q, filters.data, sc.terms.data, LLONG_MIN, &e);
		hvt_buf_free(&sc.terms);
	}
	hvt_buf_free(&filters);
	return rc;
}
