/* tables.c - the tables of the index, per layout, as DDL.
 *
 * events: one row per stored copy of an event.  A copy is stored again when
 *   a collector dies between inserting a batch and recording its inbox
 *   position, when a forwarder resends to another collector, or when an
 *   INSERT whose answer was lost is retried.  Reads collapse copies with
 *   FINAL: ReplacingMergeTree keeps, per sorting key, the row with the
 *   highest ver, and ver = 2^64-1 - cursor makes that the copy stored first.
 *   The sorting key holds the identity (host, stream, seq) and the event's
 *   day: ts_us is part of the event's bytes, so every copy has the same key,
 *   and a time range prunes the index.  The partition (month of ts_us) is
 *   equal for every copy too: ReplacingMergeTree only merges inside one.
 *   ts (a DateTime) is there for people querying ClickHouse directly.
 * positions: (collector, state_dir) -> inbox_seq, the newest row counting.
 * kv, host_stats: the small key/value tables, newest row counting.
 * seals: signed chain heads (hvtrail verify), one per (host, stream, seq,
 *   time), copies collapsed like events.
 * quarantine: events the collector kept out of the trail, with the reason;
 *   one row per (host, stream, seq, content, reason).
 *
 * Layouts: one server (the tables themselves); replicated (the same tables
 * as ReplicatedReplacingMergeTree on every url, ZooKeeper path zk_path);
 * cluster (NAME_local on every node, replicated or not, and a Distributed
 * table NAME over them).  Readers always read NAME, whatever the layout. */
#include "config.h"

#include <stdlib.h>

#include "log.h"
#include "tables.h"
#include "util.h"

static const struct col events_cols[] = {
	{ "host", "String", NULL },
	{ "stream", "String", NULL },
	{ "seq", "UInt64", NULL },
	{ "ts_us", "Int64", NULL },
	{ "type", "String", NULL },
	{ "severity", "UInt8", NULL },
	{ "vm_name", "String", NULL },
	{ "vm_uuid", "String", NULL },
	{ "source", "String", NULL },
	{ "indexed_us", "Int64", NULL },
	{ "verdict", "UInt8", NULL },
	{ "verdict_note", "String", NULL },
	{ "peer", "String", NULL },
	{ "link", "String", NULL },
	{ "collector", "String", NULL },
	{ "cursor", "UInt64", NULL },
	{ "raw", "String", NULL },
	{ "ts", "DateTime", "toDateTime(intDiv(ts_us, 1000000))" },
	{ "ver", "UInt64", "18446744073709551615 - cursor" },
	{ NULL, NULL, NULL }
};

static const struct col positions_cols[] = {
	{ "collector", "String", NULL },
	{ "state_dir", "String", NULL },
	{ "inbox_seq", "UInt64", NULL },
	{ "written_us", "UInt64", NULL },
	{ NULL, NULL, NULL }
};

static const struct col kv_cols[] = {
	{ "key", "String", NULL },
	{ "value", "String", NULL },
	{ "written_us", "UInt64", NULL },
	{ NULL, NULL, NULL }
};

static const struct col host_stats_cols[] = {
	{ "host", "String", NULL },
	{ "json", "String", NULL },
	{ "at_us", "UInt64", NULL },
	{ NULL, NULL, NULL }
};

static const struct col seals_cols[] = {
	{ "host", "String", NULL },
	{ "stream", "String", NULL },
	{ "seq", "UInt64", NULL },
	{ "hash", "String", NULL },
	{ "time_us", "Int64", NULL },
	{ "final", "UInt8", NULL },
	{ "valid", "UInt8", NULL },
	{ "note", "String", NULL },
	{ "peer", "String", NULL },
	{ "received_us", "Int64", NULL },
	{ "collector", "String", NULL },
	{ "cursor", "UInt64", NULL },
	{ "json", "String", NULL },
	{ "ver", "UInt64", "18446744073709551615 - cursor" },
	{ NULL, NULL, NULL }
};

static const struct col quarantine_cols[] = {
	{ "host", "String", NULL },
	{ "stream", "String", NULL },
	{ "seq", "UInt64", NULL },
	{ "type", "String", NULL },
	{ "ts_us", "Int64", NULL },
	{ "indexed_us", "Int64", NULL },
	{ "peer", "String", NULL },
	{ "reason", "String", NULL },
	{ "collector", "String", NULL },
	{ "cursor", "UInt64", NULL },
	{ "raw", "String", NULL },
	{ "ver", "UInt64", "18446744073709551615 - cursor" },
	{ NULL, NULL, NULL }
};

const struct table ch_tables[] = {
	/* Keys over ts_us itself (not the ts column): a condition on ts_us then
	 * prunes days and months through the monotonic chain, also through a
	 * Distributed table, which has no ts column. */
	{ "events", events_cols, "ver", "toYYYYMM(toDateTime(intDiv(ts_us, 1000000)))",
	  "toDate(toDateTime(intDiv(ts_us, 1000000))), host, stream, seq",
	  "cityHash64(host, stream, seq)" },
	{ "positions", positions_cols, "written_us", NULL, "collector, state_dir",
	  "cityHash64(collector, state_dir)" },
	{ "kv", kv_cols, "written_us", NULL, "key", "cityHash64(key)" },
	{ "host_stats", host_stats_cols, "at_us", NULL, "host", "cityHash64(host)" },
	{ "seals", seals_cols, "ver", NULL, "host, stream, seq, time_us",
	  "cityHash64(host, stream, seq)" },
	{ "quarantine", quarantine_cols, "ver", NULL, "host, stream, seq, cityHash64(raw), reason",
	  "cityHash64(host, stream, seq)" },
};
const size_t ch_ntables = HVT_ARRAY_SIZE(ch_tables);

bool ch_clustered(const struct ch *x)
{
	return *x->o.cluster != '\0';
}

static void columns_ddl(struct hvt_buf *b, const struct col *cols, bool with_materialized)
{
	bool first = true;

	hvt_buf_append_str(b, " (");
	for (const struct col *c = cols; c->name; c++) {
		if (c->materialized && !with_materialized)
			continue;
		hvt_buf_printf(b, "%s%s %s", first ? "" : ", ", c->name, c->type);
		if (c->materialized)
			hvt_buf_printf(b, " MATERIALIZED %s", c->materialized);
		first = false;
	}
	hvt_buf_append_str(b, ")");
}

char *ch_local_name(const struct ch *x, const struct table *t)
{
	return ch_clustered(x) ? hvt_asprintf("%s_local", t->name) : hvt_strdup(t->name);
}

char *ch_create_local(const struct ch *x, const struct table *t)
{
	struct hvt_buf b = { 0 };
	char *name = ch_local_name(x, t);

	hvt_buf_append_str(&b, "CREATE TABLE IF NOT EXISTS ");
	ch_table(&b, x, name);
	columns_ddl(&b, t->cols, true);
	if (x->o.replicated) {
		char *path = hvt_asprintf("%s/%s", x->o.zk_path, name);
		hvt_buf_append_str(&b, " ENGINE = ReplicatedReplacingMergeTree(");
		ch_quote_str(&b, path);
		hvt_buf_printf(&b, ", '{replica}', %s)", t->version);
		free(path);
	} else {
		hvt_buf_printf(&b, " ENGINE = ReplacingMergeTree(%s)", t->version);
	}
	if (t->partition)
		hvt_buf_printf(&b, " PARTITION BY %s", t->partition);
	hvt_buf_printf(&b, " ORDER BY (%s)", t->order);
	free(name);
	hvt_buf_append(&b, "", 1);
	return b.data;
}

/* The Distributed table has only the ordinary columns: 18.16 refuses to
 * forward a MATERIALIZED column to the shards, which compute them. */
char *ch_create_distributed(const struct ch *x, const struct table *t)
{
	struct hvt_buf b = { 0 };
	char *name = ch_local_name(x, t);

	hvt_buf_append_str(&b, "CREATE TABLE IF NOT EXISTS ");
	ch_table(&b, x, t->name);
	columns_ddl(&b, t->cols, false);
	hvt_buf_append_str(&b, " ENGINE = Distributed(");
	ch_quote_str(&b, x->o.cluster);
	hvt_buf_append_str(&b, ", ");
	ch_quote_str(&b, x->o.database);
	hvt_buf_append_str(&b, ", ");
	ch_quote_str(&b, name);
	hvt_buf_printf(&b, ", %s)", t->shard_key);
	free(name);
	hvt_buf_append(&b, "", 1);
	return b.data;
}
