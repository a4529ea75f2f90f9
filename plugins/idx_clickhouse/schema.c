/* schema.c - the tables (tables.c) created or migrated on every url when the
 * collector starts, and checked when the CLI opens the index.
 *
 * 18.16 has no ON CLUSTER without ZooKeeper, so the DDL is sent to every url.
 * Migration is additive: a column this version writes and a table lacks is
 * added; a column of another type, another engine or another sorting key
 * is refused with a message (dedup depends on the key). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "log.h"
#include "tables.h"
#include "util.h"

#define CODE_TABLE_EXISTS 57

/* ---- what a node has ---------------------------------------------------- */

struct existing {
	char **names, **types;
	size_t n;
	char *engine, *sorting_key;
};

static void existing_free(struct existing *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->names[i]);
		free(e->types[i]);
	}
	free(e->names);
	free(e->types);
	free(e->engine);
	free(e->sorting_key);
	memset(e, 0, sizeof *e);
}

static int add_column(void *arg, const struct ch_val *v)
{
	struct existing *e = arg;

	e->names = hvt_realloc(e->names, (e->n + 1) * sizeof *e->names);
	e->types = hvt_realloc(e->types, (e->n + 1) * sizeof *e->types);
	e->names[e->n] = hvt_strndup(v[0].s, v[0].len);
	e->types[e->n] = hvt_strndup(v[1].s, v[1].len);
	e->n++;
	return 0;
}

static int take_table(void *arg, const struct ch_val *v)
{
	struct existing *e = arg;

	e->engine = hvt_strndup(v[0].s, v[0].len);
	e->sorting_key = hvt_strndup(v[1].s, v[1].len);
	return 0;
}

/* Select on one url only (the schema is per node). */
static int select_at(struct ch *x, int url, const char *sql, const enum ch_col *cols, int ncols,
		     int (*row)(void *arg, const struct ch_val *v), void *arg)
{
	struct ch_rows r;
	char *text = hvt_asprintf("%s FORMAT RowBinary", sql);
	struct ch_req req = { .sql = text, .url = url, .sink = ch_rows_sink };
	int rc;

	ch_rows_init(&r, cols, ncols, row, arg);
	req.sink_arg = &r;
	rc = ch_http(x, &req);
	if (ch_rows_finish(&r) < 0)
		rc = -1;
	free(text);
	return rc;
}

static int describe_table(struct ch *x, int url, const char *name, struct existing *e)
{
	static const enum ch_col two[] = { CH_STR, CH_STR };
	struct hvt_buf q = { 0 };
	int rc;

	hvt_buf_append_str(&q, "SELECT name, type FROM system.columns WHERE database = ");
	ch_quote_str(&q, x->o.database);
	hvt_buf_append_str(&q, " AND table = ");
	ch_quote_str(&q, name);
	rc = select_at(x, url, hvt_buf_cstr(&q), two, 2, add_column, e);
	if (rc == 0) {
		hvt_buf_reset(&q);
		hvt_buf_append_str(&q, "SELECT engine, sorting_key FROM system.tables WHERE database = ");
		ch_quote_str(&q, x->o.database);
		hvt_buf_append_str(&q, " AND name = ");
		ch_quote_str(&q, name);
		rc = select_at(x, url, hvt_buf_cstr(&q), two, 2, take_table, e);
	}
	hvt_buf_free(&q);
	return rc;
}

/* Compare ignoring blanks: "toDate(ts), host" vs "toDate(ts),host". */
static bool same_expr(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++, b++;
	}
}

static int check_engine(struct ch *x, int url, const char *name, const struct existing *e,
			const char *want_engine, const char *want_key)
{
	if (strcmp(e->engine, want_engine) != 0) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: %s.%s on %s is a %s table, but this configuration "
			"needs %s (cluster = '%s', replicated = %s); fix the configuration or move the "
			"table away", x->name, x->o.database, name, x->o.urls[url], e->engine, want_engine,
			x->o.cluster, x->o.replicated ? "yes" : "no");
		return -1;
	}
	if (want_key && !same_expr(e->sorting_key, want_key)) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: %s.%s on %s is sorted by (%s), not (%s): duplicates "
			"would not collapse; move the table away and restart", x->name, x->o.database,
			name, x->o.urls[url], e->sorting_key, want_key);
		return -1;
	}
	return 0;
}

/* Add the columns of this version the table lacks; refuse other types. */
static int migrate_columns(struct ch *x, int url, const char *name, const struct col *cols,
			   bool with_materialized, const struct existing *e)
{
	for (const struct col *c = cols; c->name; c++) {
		size_t i;
		if (c->materialized && !with_materialized)
			continue;
		for (i = 0; i < e->n && strcmp(e->names[i], c->name) != 0; i++)
			;
		if (i < e->n) {
			if (strcmp(e->types[i], c->type) != 0) {
				hvt_log(LOG_ERR, "idx_clickhouse [%s]: column %s.%s.%s on %s is %s, this "
					"version writes %s", x->name, x->o.database, name, c->name,
					x->o.urls[url], e->types[i], c->type);
				return -1;
			}
			continue;
		}
		char *sql = c->materialized
			? hvt_asprintf("ALTER TABLE %s.%s ADD COLUMN %s %s MATERIALIZED %s", x->o.database,
				       name, c->name, c->type, c->materialized)
			: hvt_asprintf("ALTER TABLE %s.%s ADD COLUMN %s %s", x->o.database, name, c->name,
				       c->type);
		int rc = ch_exec(x, url, sql);
		free(sql);
		if (rc < 0)
			return -1;
		hvt_log(LOG_NOTICE, "idx_clickhouse [%s]: added column %s to %s.%s on %s", x->name, c->name,
			x->o.database, name, x->o.urls[url]);
	}
	return 0;
}

/* Create one table on one node if it is missing, else migrate it. */
static int ensure(struct ch *x, int url, const char *name, char *create, const struct col *cols,
		  bool with_materialized, const char *want_engine, const char *want_key)
{
	struct existing e = { 0 };
	int rc = describe_table(x, url, name, &e);

	if (rc == 0 && e.n == 0) {
		struct ch_req r = { .sql = create, .url = url, .quiet = true };
		rc = ch_http(x, &r);
		if (rc < 0 && r.ch_code == CODE_TABLE_EXISTS)
			rc = 0;    /* another collector was quicker */
		else if (rc < 0)
			hvt_log(LOG_ERR, "idx_clickhouse [%s]: cannot create %s.%s on %s: %s", x->name,
				x->o.database, name, x->o.urls[url], r.err);
		else
			hvt_log(LOG_NOTICE, "idx_clickhouse [%s]: created %s.%s on %s", x->name,
				x->o.database, name, x->o.urls[url]);
		existing_free(&e);
		if (rc == 0)
			rc = describe_table(x, url, name, &e);
	}
	if (rc == 0 && !e.engine) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: %s.%s is missing on %s", x->name, x->o.database,
			name, x->o.urls[url]);
		rc = -1;
	}
	if (rc == 0)
		rc = check_engine(x, url, name, &e, want_engine, want_key);
	if (rc == 0)
		rc = migrate_columns(x, url, name, cols, with_materialized, &e);
	existing_free(&e);
	free(create);
	return rc;
}

static int setup_node(struct ch *x, int url)
{
	const char *engine = x->o.replicated ? "ReplicatedReplacingMergeTree" : "ReplacingMergeTree";
	char *sql = hvt_asprintf("CREATE DATABASE IF NOT EXISTS %s", x->o.database);
	int rc = ch_exec(x, url, sql);

	free(sql);
	for (size_t i = 0; rc == 0 && i < ch_ntables; i++) {
		const struct table *t = &ch_tables[i];
		char *local = ch_local_name(x, t);
		rc = ensure(x, url, local, ch_create_local(x, t), t->cols, true, engine, t->order);
		if (rc == 0 && ch_clustered(x))
			rc = ensure(x, url, t->name, ch_create_distributed(x, t), t->cols, false, "Distributed",
				    NULL);
		free(local);
	}
	return rc;
}

int ch_schema_setup(struct ch *x)
{
	if (!x->o.create_schema)
		return ch_schema_check(x);
	for (int u = 0; u < x->o.nurls; u++)
		if (setup_node(x, u) < 0) {
			hvt_log(LOG_ERR, "idx_clickhouse [%s]: the tables on %s are not usable (see above)",
				x->name, x->o.urls[u]);
			return -1;
		}
	hvt_log(LOG_INFO, "idx_clickhouse [%s]: schema version %d ready in database %s on %d server%s",
		x->name, CH_SCHEMA_VERSION, x->o.database, x->o.nurls, x->o.nurls == 1 ? "" : "s");
	return 0;
}

/* A reader only needs the tables it reads, under their layout-independent names. */
int ch_schema_check(struct ch *x)
{
	struct hvt_buf q = { 0 }, out = { 0 };
	int rc;

	hvt_buf_append_str(&q, "SELECT count() FROM system.tables WHERE database = ");
	ch_quote_str(&q, x->o.database);
	hvt_buf_append_str(&q, " AND name IN (");
	for (size_t i = 0; i < ch_ntables; i++)
		hvt_buf_printf(&q, "%s'%s'", i ? ", " : "", ch_tables[i].name);
	hvt_buf_append_str(&q, ")");
	rc = ch_scalar(x, hvt_buf_cstr(&q), &out);
	if (rc == 0 && strtoul(hvt_buf_cstr(&out), NULL, 10) != ch_ntables) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: database %s on %s lacks hvtrail tables (the "
			"collector creates them when it starts; is the database right?)", x->name,
			x->o.database, x->o.urls[x->cur_url]);
		rc = -1;
	}
	hvt_buf_free(&q);
	hvt_buf_free(&out);
	return rc;
}
