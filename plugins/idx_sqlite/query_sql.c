/* query_sql.c - an hvt_query as one SELECT over events, shaped by its plan.
 *
 * The plan (plan.c) is carried out with SQLite's own idiom: a unary '+' on
 * a term or on the ORDER BY takes it out of index consideration, so the one
 * access path left is the one we chose.  check_idx_query verifies the
 * resulting plans with EXPLAIN QUERY PLAN. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "trail.h"
#include "util.h"

/* Which terms get a '+' for each path. */
struct hints {
	bool other;                   /* vm, link, id */
	bool host, type, time, order;
};

static struct hints hints_for(const struct idx_plan *p)
{
	switch (p->path) {
	case IDX_PATH_FOLLOW:
		return (struct hints){ true, true, true, true, true };
	case IDX_PATH_TIME:
		return (struct hints){ .host = true, .type = true };
	case IDX_PATH_FILTER:
		return (struct hints){ .host = !p->by_host, .type = p->by_host, .time = true, .order = true };
	case IDX_PATH_AUTO:
		break;
	}
	return (struct hints){ 0 };
}

/* "<stream>-<seq>" of q->id; false when it has another shape, or a seq
 * no row can hold (the column is a signed 64-bit integer). */
static bool split_id(const char *id, struct idx_sql *out)
{
	size_t slen;
	uint64_t seq;

	if (!hvt_event_id_split(id, &slen, &seq) || seq > INT64_MAX)
		return false;
	out->seq = (long long)seq;
	out->stream = hvt_strndup(id, slen);
	return true;
}

void idx_query_prepare(const struct hvt_query *q, struct idx_sql *s)
{
	memset(s, 0, sizeof *s);
	s->bad_id = q->id && !split_id(q->id, s);
	s->glob = q->type_glob ? idx_glob_to_sql(q->type_glob) : NULL;
}

static void add_where(struct hvt_buf *sql, bool plus, const char *term)
{
	hvt_buf_append_str(sql, plus ? " AND +" : " AND ");
	hvt_buf_append_str(sql, term);
}

/* The glob goes in as a literal, not a parameter: SQLite turns a GLOB with
 * a literal prefix into an index range only when it sees the pattern at
 * prepare time.  %Q quotes it safely. */
static void add_glob(struct hvt_buf *sql, bool plus, const char *glob)
{
	char *term = sqlite3_mprintf("e.type GLOB %Q", glob);

	add_where(sql, plus, term);
	sqlite3_free(term);
}

static void add_filters(struct hvt_buf *sql, const struct hvt_query *q, const struct idx_plan *p,
			const struct idx_sql *s)
{
	struct hints h = hints_for(p);

	if (p->path == IDX_PATH_FOLLOW)
		hvt_buf_append_str(sql, " AND e.cursor > :after");
	if (q->vm)
		add_where(sql, h.other, "e.vm_id IN (SELECT id FROM vms WHERE name = :vm OR uuid = :vm)");
	if (q->host)
		add_where(sql, h.host, "e.stream_id IN (SELECT id FROM streams WHERE host = :host)");
	if (q->host && p->path == IDX_PATH_TIME)
		hvt_buf_append_str(sql, " AND e.ts_us >= :hfirst AND e.ts_us <= :hlast");
	if (s->glob)
		add_glob(sql, h.type, s->glob);
	if (q->since_us)
		add_where(sql, h.time, "e.ts_us >= :since");
	if (q->until_us)
		add_where(sql, h.time, "e.ts_us <= :until");
	if (q->link)
		add_where(sql, h.other, "e.link = :link");
	if (q->severities)
		hvt_buf_append_str(sql, " AND ((:sev >> e.severity) & 1)");
	if (q->grep)   /* last: the costliest test, on the rows the others left */
		hvt_buf_append_str(sql, " AND hvt_regexp(:grep, :icase, json_extract(e.raw, '$.msg'))");
	if (s->bad_id)
		hvt_buf_append_str(sql, " AND 0");   /* no event has such an id */
	else if (s->stream)
		add_where(sql, h.other, "e.stream_id IN (SELECT id FROM streams WHERE stream = :stream)"
			  " AND e.seq = :seq");
}

void idx_query_sql(const struct hvt_query *q, const struct idx_plan *p, struct idx_sql *s)
{
	struct hvt_buf sql = { 0 };

	hvt_buf_append_str(&sql, "SELECT e.cursor, e.raw, e.peer, e.indexed_us, e.link, e.verdict"
			   " FROM events e WHERE 1");
	add_filters(&sql, q, p, s);
	hvt_buf_append_str(&sql, hints_for(p).order ? " ORDER BY +e.ts_us" : " ORDER BY e.ts_us");
	hvt_buf_append_str(&sql, q->newest_first ? " DESC, e.cursor DESC" : ", e.cursor");
	if (q->limit > 0)
		hvt_buf_append_str(&sql, " LIMIT :limit");
	hvt_buf_append(&sql, "", 1);
	free(s->sql);
	s->sql = sql.data;
}

static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_int(sqlite3_stmt *st, const char *name, long long v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i)
		sqlite3_bind_int64(st, i, v);
}

void idx_query_bind(sqlite3_stmt *st, const struct hvt_query *q, const struct idx_plan *p,
		    const struct idx_sql *s)
{
	bind_int(st, ":after", q->after_cursor);
	bind_text(st, ":vm", q->vm);
	bind_text(st, ":host", q->host);
	bind_int(st, ":hfirst", p->host_first);
	bind_int(st, ":hlast", p->host_last);
	bind_int(st, ":since", q->since_us);
	bind_int(st, ":until", q->until_us);
	bind_text(st, ":link", q->link);
	bind_text(st, ":stream", s->stream);
	bind_int(st, ":seq", s->seq);
	bind_int(st, ":limit", q->limit);
	bind_int(st, ":sev", q->severities);
	bind_text(st, ":grep", q->grep);
	bind_int(st, ":icase", q->grep_icase);
}

void idx_query_sql_free(struct idx_sql *s)
{
	free(s->sql);
	free(s->glob);
	free(s->stream);
	memset(s, 0, sizeof *s);
}
