/* schema.c - the tables of the index and their versioning.
 *
 * Design:
 *  - events: one row per event, cursor = rowid (monotonic, the follow-mode
 *    position).  The raw JSON text is stored byte for byte (the integrity
 *    checker hashes it) and is the last column, so reading the small columns
 *    never touches its overflow pages.
 *  - Identity and gaps: UNIQUE (stream_id, seq).  id is "<stream>-<seq>" and
 *    a stream belongs to one host, so this is the (host, id) key the
 *    collector deduplicates on, in integers: 2 small numbers per index entry
 *    instead of two strings.  The same index answers gaps() with a window
 *    function and host queries through the streams table.
 *  - Hosts, streams and VMs are dictionary tables (a few thousand rows),
 *    so the per-row indexes stay narrow: vm lookups by name OR uuid become
 *    one IN over vms, served by one integer index on events.
 *  - Three more indexes on events: (ts_us) for time ranges and the default
 *    ordering, (type, ts_us) for type globs with a literal prefix, and
 *    (vm_id, ts_us) restricted to rows that name a VM.  A partial index on
 *    link only covers the few correlated rows (migrations).
 *  - streams keeps per-stream counters updated once per batch, so streams()
 *    and the "no gaps" answer never scan events, and plan.c knows how many
 *    events a host has and when, without counting. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "idx.h"
#include "log.h"

/* PRAGMA application_id: "hvtr", so `file` and we can tell our databases. */
#define IDX_APPLICATION_ID 0x68767472

static const char schema_v1[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO meta (key, value) VALUES ('inbox_seq', 0);"
	"CREATE TABLE kv ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE host_stats ("
	"  host TEXT PRIMARY KEY,"
	"  json TEXT NOT NULL,"
	"  at_us INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE streams ("
	"  id INTEGER PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  stream TEXT NOT NULL,"
	"  max_seq INTEGER NOT NULL DEFAULT 0,"
	"  count INTEGER NOT NULL DEFAULT 0,"
	"  head_hash TEXT NOT NULL DEFAULT '',"
	"  first_ts_us INTEGER NOT NULL DEFAULT 0,"     /* lets plan.c bound a host's time range */
	"  last_ts_us INTEGER NOT NULL DEFAULT 0,"
	"  last_indexed_us INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (host, stream)"
	");"
	"CREATE TABLE vms ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"            /* '' when the event named no VM name */
	"  uuid TEXT NOT NULL,"            /* '' when it had no UUID */
	"  UNIQUE (name, uuid)"
	");"
	"CREATE INDEX vms_uuid ON vms (uuid);"
	"CREATE TABLE events ("
	"  cursor INTEGER PRIMARY KEY,"
	"  stream_id INTEGER NOT NULL REFERENCES streams (id),"
	"  seq INTEGER NOT NULL,"
	"  ts_us INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  vm_id INTEGER REFERENCES vms (id),"
	"  indexed_us INTEGER NOT NULL,"
	"  verdict INTEGER NOT NULL,"
	"  peer TEXT,"
	"  link TEXT,"
	"  verdict_note TEXT,"
	"  raw TEXT NOT NULL"
	");"
	"CREATE UNIQUE INDEX events_identity ON events (stream_id, seq);"
	"CREATE INDEX events_ts ON events (ts_us);"
	"CREATE INDEX events_type ON events (type, ts_us);"
	"CREATE INDEX events_vm ON events (vm_id, ts_us) WHERE vm_id IS NOT NULL;"
	"CREATE INDEX events_link ON events (link) WHERE link IS NOT NULL;"
	/* Integrity: the signed chain heads (docs/integrity.md) ... */
	"CREATE TABLE seals ("
	"  id INTEGER PRIMARY KEY,"
	"  stream_id INTEGER NOT NULL REFERENCES streams (id),"
	"  seq INTEGER NOT NULL,"
	"  hash TEXT NOT NULL,"
	"  time_us INTEGER NOT NULL,"
	"  final INTEGER NOT NULL,"
	"  valid INTEGER NOT NULL,"        /* the collector's check on arrival */
	"  note TEXT,"
	"  peer TEXT,"
	"  received_us INTEGER NOT NULL,"
	"  json TEXT NOT NULL,"            /* as received: certificate and signature */
	"  UNIQUE (stream_id, seq, time_us)"
	");"
	/* ... and events kept out of the trail: refused identities, and a
	 * second, different copy of an event already stored (evidence) */
	"CREATE TABLE quarantine ("
	"  id INTEGER PRIMARY KEY,"
	"  host TEXT, stream TEXT, seq INTEGER, type TEXT, ts_us INTEGER,"
	"  indexed_us INTEGER NOT NULL,"
	"  peer TEXT,"
	"  reason TEXT NOT NULL,"
	"  raw TEXT NOT NULL"
	");"
	/* For operators poking at the file with sqlite3(1). */
	"CREATE VIEW trail AS"
	"  SELECT e.cursor, s.host, s.stream, e.seq, s.stream || '-' || e.seq AS id,"
	"         e.ts_us, e.type, e.severity, v.name AS vm_name, v.uuid AS vm_uuid,"
	"         e.indexed_us, e.peer, e.link, e.verdict, e.verdict_note, e.raw"
	"  FROM events e JOIN streams s ON s.id = e.stream_id"
	"  LEFT JOIN vms v ON v.id = e.vm_id;";

static int pragma_int(struct idx *x, const char *sql, long long *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(x->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return idx_fail(x, rc, sql);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		idx_fail(x, rc, sql);
		sqlite3_finalize(st);
		return -1;
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* Compare application_id and user_version with what we write.
 * Returns 1 when the file is still empty, 0 when it is ours, -1 otherwise. */
static int identify(struct idx *x)
{
	long long app, version, tables;

	if (pragma_int(x, "PRAGMA application_id", &app) < 0 ||
	    pragma_int(x, "PRAGMA user_version", &version) < 0 ||
	    pragma_int(x, "SELECT count(*) FROM sqlite_schema", &tables) < 0)
		return -1;
	if (app == 0 && version == 0 && tables == 0)
		return 1;
	if (app != IDX_APPLICATION_ID) {
		hvt_log(LOG_ERR, "idx_sqlite %s: this SQLite database is not an hvtrail index "
			"(application_id %#llx)", x->path, (unsigned long long)app);
		return -1;
	}
	if (version > IDX_SCHEMA_VERSION) {
		hvt_log(LOG_ERR, "idx_sqlite %s: the index has schema version %lld, newer than this "
			"hvtrail understands (%d); upgrade hvtrail", x->path, version, IDX_SCHEMA_VERSION);
		return -1;
	}
	if (version < IDX_SCHEMA_VERSION) {
		/* No older version exists yet; a migration goes here when one does. */
		hvt_log(LOG_ERR, "idx_sqlite %s: unknown schema version %lld", x->path, version);
		return -1;
	}
	return 0;
}

int idx_schema_check(struct idx *x)
{
	int r = identify(x);

	if (r == 1) {
		hvt_log(LOG_ERR, "idx_sqlite %s: the index is empty (the collector has not initialised "
			"it yet)", x->path);
		return -1;
	}
	return r;
}

static int create_v1(struct idx *x)
{
	char pragmas[128];

	snprintf(pragmas, sizeof pragmas, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		 IDX_APPLICATION_ID, IDX_SCHEMA_VERSION);
	if (idx_exec(x, schema_v1) < 0 || idx_exec(x, pragmas) < 0)
		return -1;
	hvt_log(LOG_NOTICE, "idx_sqlite: created the index %s (schema version %d)", x->path,
		IDX_SCHEMA_VERSION);
	return 0;
}

int idx_schema_create(struct idx *x)
{
	int r;

	/* IMMEDIATE: two collectors started on one file must not both create. */
	if (idx_exec(x, "BEGIN IMMEDIATE") < 0)
		return -1;
	r = identify(x);
	if (r == 1)
		r = create_v1(x);
	if (r < 0) {
		sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return idx_exec(x, "COMMIT");
}
