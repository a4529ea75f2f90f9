/* tables.h - the tables of the index (tables.c), for schema.c. */
#ifndef IDX_CLICKHOUSE_TABLES_H
#define IDX_CLICKHOUSE_TABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "ch.h"

struct col {
	const char *name, *type;
	const char *materialized;     /* expression, or NULL for an ordinary column */
};

struct table {
	const char *name;
	const struct col *cols;
	const char *version;          /* ReplacingMergeTree's version column */
	const char *partition;        /* PARTITION BY, or NULL */
	const char *order;            /* ORDER BY, as system.tables shows it */
	const char *shard_key;        /* Distributed */
};

extern const struct table ch_tables[];
extern const size_t ch_ntables;

/* NAME, or NAME_local when the layout has a cluster (malloc'ed). */
char *ch_local_name(const struct ch *x, const struct table *t);
bool ch_clustered(const struct ch *x);
/* CREATE TABLE IF NOT EXISTS statements (malloc'ed). */
char *ch_create_local(const struct ch *x, const struct table *t);
char *ch_create_distributed(const struct ch *x, const struct table *t);

#endif
