/* query.c - running an hvt_query: plan it (plan.c), build the SELECT
 * (query_sql.c), hand out the rows. */
#include "config.h"

#include "idx.h"

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int emit_rows(struct idx *x, sqlite3_stmt *st, hvt_row_cb cb, void *arg)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hvt_row row = {
			.cursor = sqlite3_column_int64(st, 0),
			.raw = col_text(st, 1),
			.raw_len = (size_t)sqlite3_column_bytes(st, 1),
			.peer = col_text(st, 2),
			.indexed_us = sqlite3_column_int64(st, 3),
			.link = col_text(st, 4),
			.verdict = sqlite3_column_int(st, 5),
		};
		if (cb(arg, &row) != 0)
			return 0;    /* the caller has seen enough */
	}
	return rc == SQLITE_DONE ? 0 : idx_fail(x, rc, "reading events");
}

static int run(struct idx *x, const struct hvt_query *q, struct idx_sql *s, hvt_row_cb cb, void *arg)
{
	struct idx_plan plan;
	sqlite3_stmt *st = NULL;
	int rc;

	/* One read transaction, so the plan's counts and the rows agree (unless
	 * a caller's callback queries from inside another operation). */
	bool own_txn = sqlite3_get_autocommit(x->db);

	if (own_txn && idx_exec(x, "BEGIN") < 0)
		return -1;
	rc = idx_plan_query(x, q, s->glob, &plan);
	if (rc == 0) {
		idx_query_sql(q, &plan, s);
		rc = idx_prepare(x, s->sql, &st);
	}
	if (rc == 0) {
		idx_query_bind(st, q, &plan, s);
		rc = emit_rows(x, st, cb, arg);
	}
	sqlite3_finalize(st);
	if (own_txn)
		sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

int idx_query(struct hvt_instance *inst, const struct hvt_query *q, hvt_row_cb cb, void *arg)
{
	struct idx *x = inst->priv;
	struct idx_sql s;
	int rc;

	idx_query_prepare(q, &s);
	idx_lock(x);
	rc = run(x, q, &s, cb, arg);
	idx_unlock(x);
	idx_query_sql_free(&s);
	return rc;
}
