/* store.c - storing a batch exactly once, atomically with the inbox position.
 *
 * One transaction per batch: every row, the per-stream counters and the
 * inbox position commit together or not at all, so after a kill -9 the
 * collector resumes from inbox_position() and re-stores nothing twice (a
 * resend of rows that did commit is skipped by the unique key). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "idx.h"
#include "log.h"
#include "trail.h"
#include "util.h"

#define VM_CACHE_MAX 65536

static const char sql_ins_event[] =
	"INSERT INTO events (stream_id, seq, ts_us, type, severity, vm_id, indexed_us, verdict,"
	"                    peer, link, verdict_note, raw)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
	" ON CONFLICT (stream_id, seq) DO NOTHING";
static const char sql_get_raw[] = "SELECT raw FROM events WHERE stream_id = ?1 AND seq = ?2";
static const char sql_get_stream[] = "SELECT id FROM streams WHERE host = ?1 AND stream = ?2";
static const char sql_ins_stream[] = "INSERT INTO streams (host, stream) VALUES (?1, ?2)";
static const char sql_upd_stream[] =
	"UPDATE streams SET max_seq = max(max_seq, ?2), count = count + ?3,"
	"  last_ts_us = max(last_ts_us, ?4), last_indexed_us = max(last_indexed_us, ?5),"
	"  first_ts_us = CASE WHEN count = 0 THEN ?6 ELSE min(first_ts_us, ?6) END"
	" WHERE id = ?1";
static const char sql_get_vm[] = "SELECT id FROM vms WHERE name = ?1 AND uuid = ?2";
static const char sql_ins_vm[] = "INSERT INTO vms (name, uuid) VALUES (?1, ?2)";
static const char sql_put_inbox[] = "UPDATE meta SET value = ?1 WHERE key = 'inbox_seq'";

int idx_store_prepare(struct idx *x)
{
	struct idx_stmts *s = &x->st;

	if (idx_prepare_persistent(x, sql_ins_event, &s->ins_event) < 0 ||
	    idx_prepare_persistent(x, sql_get_raw, &s->get_raw) < 0 ||
	    idx_prepare_persistent(x, sql_get_stream, &s->get_stream) < 0 ||
	    idx_prepare_persistent(x, sql_ins_stream, &s->ins_stream) < 0 ||
	    idx_prepare_persistent(x, sql_upd_stream, &s->upd_stream) < 0 ||
	    idx_prepare_persistent(x, sql_get_vm, &s->get_vm) < 0 ||
	    idx_prepare_persistent(x, sql_ins_vm, &s->ins_vm) < 0 ||
	    idx_prepare_persistent(x, sql_put_inbox, &s->put_inbox) < 0 ||
	    idx_integrity_prepare(x) < 0)
		return -1;
	return 0;
}

void idx_store_finalize(struct idx *x)
{
	sqlite3_stmt **all[] = {
		&x->st.ins_event, &x->st.get_raw, &x->st.get_stream, &x->st.ins_stream,
		&x->st.upd_stream, &x->st.get_vm, &x->st.ins_vm, &x->st.put_inbox,
		&x->st.ins_seal, &x->st.ins_quarantine,
	};

	for (size_t i = 0; i < HVT_ARRAY_SIZE(all); i++) {
		sqlite3_finalize(*all[i]);
		*all[i] = NULL;
	}
}

/* The unique key is (stream, seq) while the collector deduplicates on
 * (host, id): refuse what would make them differ (trail.h) rather than
 * silently dedup on another key, and a seq the signed column cannot hold. */
static bool identity_valid(const struct hvt_event *ev, char *why, size_t size)
{
	if (!hvt_event_identity_check(ev, why, size))
		return false;
	if (ev->seq > INT64_MAX) {
		snprintf(why, size, "its seq %" PRIu64 " does not fit the index", ev->seq);
		return false;
	}
	return true;
}

/* Find the id of (a, b) in a dictionary table (streams, vms), adding the row when new. */
static int dict_id(struct idx *x, sqlite3_stmt *get, sqlite3_stmt *ins, const char *a,
		   const char *b, int64_t *id)
{
	int rc;

	sqlite3_bind_text(get, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(get, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(get, 0);
	else if (rc != SQLITE_DONE)
		idx_fail(x, rc, "looking up a stream or VM");
	sqlite3_reset(get);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return -1;
	sqlite3_bind_text(ins, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, b, -1, SQLITE_STATIC);
	if (idx_step_done(x, ins, "adding a stream or VM") < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(x->db);
	return 0;
}

static struct stream_slot *slot_for(struct idx *x, const struct hvt_event *ev)
{
	int64_t i, id;

	if (pairmap_get(&x->streams, ev->host, ev->stream, &i))
		return &x->slots[i];
	if (dict_id(x, x->st.get_stream, x->st.ins_stream, ev->host, ev->stream, &id) < 0)
		return NULL;
	if (x->nslots == x->slots_cap) {
		x->slots_cap = x->slots_cap ? x->slots_cap * 2 : 16;
		x->slots = hvt_realloc(x->slots, x->slots_cap * sizeof *x->slots);
	}
	struct stream_slot *s = &x->slots[x->nslots];
	memset(s, 0, sizeof *s);
	s->id = id;
	pairmap_put(&x->streams, ev->host, ev->stream, (int64_t)x->nslots++);
	return s;
}

/* vms.id of the event's VM, or 0 when it names none. */
static int vm_id_for(struct idx *x, const struct hvt_event *ev, int64_t *id)
{
	const char *name = ev->vm_name ? ev->vm_name : "";
	const char *uuid = ev->vm_uuid ? ev->vm_uuid : "";

	*id = 0;
	if (!*name && !*uuid)
		return 0;
	if (pairmap_get(&x->vms, name, uuid, id))
		return 0;
	if (dict_id(x, x->st.get_vm, x->st.ins_vm, name, uuid, id) < 0)
		return -1;
	pairmap_put(&x->vms, name, uuid, *id);
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Returns 1 when the row was added, 0 when (stream, seq) was already there, -1 on error. */
static int insert_event(struct idx *x, int64_t stream_id, int64_t vm_id, const struct hvt_stored *it)
{
	const struct hvt_event *ev = it->ev;
	sqlite3_stmt *st = x->st.ins_event;

	sqlite3_bind_int64(st, 1, stream_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->seq);
	sqlite3_bind_int64(st, 3, ev->ts_us);
	sqlite3_bind_text(st, 4, ev->type ? ev->type : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, ev->severity);
	if (vm_id)
		sqlite3_bind_int64(st, 6, vm_id);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, it->indexed_us);
	sqlite3_bind_int(st, 8, it->verdict);
	bind_text_or_null(st, 9, it->peer);
	bind_text_or_null(st, 10, it->link);
	bind_text_or_null(st, 11, it->verdict_note);
	sqlite3_bind_text64(st, 12, it->raw, it->raw_len, SQLITE_STATIC, SQLITE_UTF8);
	if (idx_step_done(x, st, "storing an event") < 0)
		return -1;
	return sqlite3_changes(x->db) > 0;
}

/* A resend is byte-identical by design; a different text under a known id
 * means a forwarder bug or tampering.  The first copy stays (it is what the
 * hash chain covers); say so, because nobody else will notice.  Plain
 * syslog lines are the exception: their id is the hash of the line, so the
 * same id is the same line, and their JSON differs only in when and from
 * which relay the copy came. */
static int check_resend(struct idx *x, int64_t stream_id, const struct hvt_stored *it)
{
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(10000);
	sqlite3_stmt *st = x->st.get_raw;
	bool same = true;

	if (strcmp(it->ev->stream, HVT_SYSLOG_STREAM) == 0)
		return 0;

	sqlite3_bind_int64(st, 1, stream_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)it->ev->seq);
	if (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		const void *raw = sqlite3_column_blob(st, 0);
		same = n == it->raw_len && (n == 0 || memcmp(raw, it->raw, n) == 0);
	}
	sqlite3_reset(st);
	if (same)
		return 0;
	hvt_log_ratelimited(&rl, LOG_WARNING, "idx_sqlite: event %s of host %s was sent again with "
			    "different content; the index keeps the first copy and quarantines the other",
			    it->ev->id, it->ev->host);
	return idx_store_quarantine(x, it, "a different copy of an event already stored");
}

static void slot_note(struct stream_slot *s, const struct hvt_stored *it)
{
	s->inserted++;
	s->max_seq = HVT_MAX(s->max_seq, it->ev->seq);
	s->max_ts_us = HVT_MAX(s->max_ts_us, it->ev->ts_us);
	s->min_ts_us = s->inserted == 1 ? it->ev->ts_us : HVT_MIN(s->min_ts_us, it->ev->ts_us);
	s->max_indexed_us = HVT_MAX(s->max_indexed_us, it->indexed_us);
}

/* -1 with why set: this event cannot be stored (its content); -1 with why
 * empty: the database failed (x->last_rc says how). */
static int store_one(struct idx *x, const struct hvt_stored *it, size_t *inserted, size_t *dups,
		     char *why, size_t size)
{
	struct stream_slot *slot;
	int64_t vm_id;
	int r;

	*why = '\0';
	if (!it->ev || !it->raw) {
		snprintf(why, size, "store() was given an item without event or raw text");
		return -1;
	}
	if (!identity_valid(it->ev, why, size))
		return -1;
	if (hvt_fault_refuse(it->raw, it->raw_len)) {
		snprintf(why, size, "HVTRAIL_FAULT_REFUSE matches it (a test)");
		return -1;
	}
	slot = slot_for(x, it->ev);
	if (!slot || vm_id_for(x, it->ev, &vm_id) < 0)
		return -1;
	r = insert_event(x, slot->id, vm_id, it);
	if (r < 0)
		return -1;
	if (r) {
		slot_note(slot, it);
		(*inserted)++;
	} else {
		if (check_resend(x, slot->id, it) < 0)
			return -1;
		(*dups)++;
	}
	return 0;
}

/* A statement failed on one row: was it the row (a constraint, a value
 * SQLite cannot hold) or the database (full disk, I/O, busy: retry)? */
static bool row_refused(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return true;
	default:
		return false;
	}
}

/* Say which row the batch failed on, if it was the row's content. */
static void pin_refusal(struct idx *x, struct hvt_index_batch *b, enum hvt_refusal kind, size_t i,
			const char *why)
{
	if (!*why && !row_refused(x->last_rc))
		return;                   /* the database, not the row */
	b->refusal = kind;
	b->refused = i;
	snprintf(b->refused_why, sizeof b->refused_why, "%s", *why ? why : sqlite3_errstr(x->last_rc));
}

int idx_stream_id(struct idx *x, const char *host, const char *stream, int64_t *id)
{
	return dict_id(x, x->st.get_stream, x->st.ins_stream, host, stream, id);
}

static int flush_slots(struct idx *x)
{
	sqlite3_stmt *st = x->st.upd_stream;

	for (size_t i = 0; i < x->nslots; i++) {
		const struct stream_slot *s = &x->slots[i];
		if (!s->inserted)
			continue;
		sqlite3_bind_int64(st, 1, s->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)s->max_seq);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)s->inserted);
		sqlite3_bind_int64(st, 4, s->max_ts_us);
		sqlite3_bind_int64(st, 5, s->max_indexed_us);
		sqlite3_bind_int64(st, 6, s->min_ts_us);
		if (idx_step_done(x, st, "updating stream state") < 0)
			return -1;
	}
	return 0;
}

static int put_inbox(struct idx *x, uint64_t seq)
{
	sqlite3_bind_int64(x->st.put_inbox, 1, (sqlite3_int64)seq);
	return idx_step_done(x, x->st.put_inbox, "recording the inbox position");
}

static void scratch_reset(struct idx *x)
{
	pairmap_clear(&x->streams);
	x->nslots = 0;
	if (x->vms.n > VM_CACHE_MAX)
		pairmap_clear(&x->vms);
}

static void rollback(struct idx *x)
{
	pairmap_clear(&x->vms);   /* it may hold ids of vms rows that are now gone */
	/* Some errors (SQLITE_FULL, I/O errors) already rolled back. */
	if (!sqlite3_get_autocommit(x->db) &&
	    sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		idx_fail(x, sqlite3_errcode(x->db), "ROLLBACK");
}

static int store_locked(struct idx *x, struct hvt_index_batch *b)
{
	size_t inserted = 0, dups = 0;
	char why[200];

	scratch_reset(x);
	if (idx_exec(x, "BEGIN IMMEDIATE") < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		const struct hvt_stored *it = &b->items[i];
		int rc;
		x->last_rc = 0;
		*why = '\0';
		if (it->verdict == HVT_VERDICT_QUARANTINED)
			rc = idx_store_quarantine(x, it, it->verdict_note ? it->verdict_note : "quarantined");
		else
			rc = store_one(x, it, &inserted, &dups, why, sizeof why);
		if (rc < 0) {
			pin_refusal(x, b, HVT_REFUSED_ITEM, i, why);
			if (*why)
				hvt_log(LOG_ERR, "idx_sqlite: refusing an event from %s: it cannot be stored exactly "
					"once because %s", it->ev && it->ev->host ? it->ev->host : "(no host)", why);
			goto fail;
		}
	}
	for (size_t i = 0; i < b->nseals; i++) {
		x->last_rc = 0;
		if (idx_store_seal(x, &b->seals[i]) < 0) {
			pin_refusal(x, b, HVT_REFUSED_SEAL, i, "");
			goto fail;
		}
	}
	if (flush_slots(x) < 0 || put_inbox(x, b->inbox_seq) < 0 || idx_exec(x, "COMMIT") < 0)
		goto fail;
	b->inserted = inserted;
	b->duplicates = dups;
	return 0;
fail:
	rollback(x);
	hvt_log(LOG_ERR, "idx_sqlite %s: batch of %zu events (inbox position %" PRIu64 ") not stored; "
		"nothing of it was written", x->path, b->n, b->inbox_seq);
	return -1;
}

int idx_store(struct hvt_instance *inst, struct hvt_index_batch *b)
{
	struct idx *x = inst->priv;
	int rc;

	b->inserted = b->duplicates = 0;
	b->refusal = HVT_REFUSED_NONE;
	b->refused_why[0] = '\0';
	if (x->readonly)
		return idx_refuse_readonly(x, "store()");
	idx_lock(x);
	rc = store_locked(x, b);
	idx_unlock(x);
	return rc;
}

int idx_inbox_position(struct hvt_instance *inst, uint64_t *seq)
{
	struct idx *x = inst->priv;
	sqlite3_stmt *st;
	int rc, ret = -1;

	idx_lock(x);
	if (idx_prepare(x, "SELECT value FROM meta WHERE key = 'inbox_seq'", &st) == 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
			*seq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
			ret = 0;
		} else {
			idx_fail(x, rc, "reading the inbox position");
		}
		sqlite3_finalize(st);
	}
	idx_unlock(x);
	return ret;
}
