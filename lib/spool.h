/* spool.h - an append-only, crash-safe record log with an acknowledged
 * checkpoint.  The forwarder spools every event here before it is shipped;
 * the collector uses the same code as its inbox in front of the index.
 *
 * On disk: DIR/meta (the spool's identity, made once), DIR/checkpoint (the
 * highest acknowledged record), DIR/<first-seq>.seg segment files of
 * records (spool_format.h), DIR/state (the owner's state, see below) and
 * DIR/damaged/ (bytes set aside by a repair, each with its reason).
 * Records are numbered from 1; a number is skipped only where damage was
 * set aside.  Segments are deleted only once every record in them is at or
 * below the persisted checkpoint (and the owner's saved state).
 *
 * Damage.  At open every segment that still holds unacknowledged records is
 * verified, record by record.  An incomplete last record (an interrupted
 * write) is cut, as it was never committed.  Anything else that is not an
 * intact record - a flipped byte, a truncated or missing segment - is set
 * aside: its bytes are copied to DIR/damaged/ with a .why file (reason,
 * segment, offset, the seqs it held), the segment is rewritten with every
 * intact record, and the damage is logged, counted and handed to the owner
 * (hvt_spool_take_damage) to report.  Readers that meet damage later do the
 * same without rewriting.  hvt_spool_check() verifies everything, also
 * acknowledged segments, without (or with) repairing.
 *
 * Threads: one writer (append/commit), any number of readers, ack from any
 * thread. */
#ifndef HVT_SPOOL_H
#define HVT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum hvt_fsync_policy {
	HVT_FSYNC_NEVER,      /* page cache only: survives kill -9, not power loss */
	HVT_FSYNC_INTERVAL,   /* fdatasync at most every interval_ms at commit */
	HVT_FSYNC_ALWAYS,     /* fdatasync at every commit (group commit) */
};
int hvt_fsync_policy_parse(const char *s);    /* -1 if unknown */

struct hvt_spool_opts {
	const char *dir;
	const char *name;             /* for log lines: "spool", "inbox" */
	uint64_t max_bytes;           /* soft bound, 0 = none (see hvt_spool_over) */
	uint64_t segment_bytes;       /* rotate at this size (default 16 MiB) */
	enum hvt_fsync_policy fsync;
	long long fsync_interval_ms;
	/* The owner keeps state in the spool (hvt_spool_save_state): never
	 * delete a record the saved state does not cover yet. */
	bool hold_for_state;
};

struct hvt_spool;
struct hvt_spool_reader;

struct hvt_spool_rec {
	uint64_t seq;
	const char *data;             /* valid until the next reader call */
	size_t len;
	const char *meta;             /* the owner's meta stored with it (or NULL) */
	size_t meta_len;
	uint64_t skipped;             /* records lost before this one (dropped/damaged) */
};

struct hvt_spool *hvt_spool_open(const struct hvt_spool_opts *o, char *err, size_t errsize);
void hvt_spool_close(struct hvt_spool *sp);

/* The spool's identity: 16 hex characters, random, made when the directory
 * was first initialised.  A new spool is a new stream. */
const char *hvt_spool_id(const struct hvt_spool *sp);
/* Bytes of an interrupted last record cut at open, for reporting. */
uint64_t hvt_spool_recovered_cut_bytes(const struct hvt_spool *sp);

/* Writer side.  next_seq is what the next append will get. */
uint64_t hvt_spool_next_seq(struct hvt_spool *sp);
int hvt_spool_append(struct hvt_spool *sp, const void *data, size_t len, uint64_t *seq);
/* Append with meta: bytes the owner wants stored in the same record, so
 * they are durable exactly when the record is (never shipped). */
int hvt_spool_append_meta(struct hvt_spool *sp, const void *data, size_t len, const void *meta,
			  size_t meta_len, uint64_t *seq);
/* Make appended records durable per the fsync policy and visible to
 * waiting readers.  Returns 0 or -errno. */
int hvt_spool_commit(struct hvt_spool *sp);
int hvt_spool_sync(struct hvt_spool *sp);
/* Appended records not yet forced to disk (writer side). */
bool hvt_spool_dirty(const struct hvt_spool *sp);

/* Acknowledge every record <= seq: persist the checkpoint (rate-limited
 * unless force) and delete segments wholly below it. */
int hvt_spool_ack(struct hvt_spool *sp, uint64_t seq, bool force);
uint64_t hvt_spool_acked(struct hvt_spool *sp);
uint64_t hvt_spool_last_seq(struct hvt_spool *sp);
/* The lowest seq a record still on disk may have. */
uint64_t hvt_spool_first_seq(struct hvt_spool *sp);
uint64_t hvt_spool_bytes(struct hvt_spool *sp);      /* on disk */
bool hvt_spool_over(struct hvt_spool *sp);            /* bytes >= max_bytes */
uint64_t hvt_spool_max_bytes(const struct hvt_spool *sp);
/* Delete the oldest segment even though it is not acknowledged (the
 * drop-oldest policy).  Returns the number of unsent records dropped and
 * their seqs in [*from, *to] (either may be NULL). */
uint64_t hvt_spool_drop_oldest(struct hvt_spool *sp, uint64_t *from, uint64_t *to);

/* The owner's state, kept in DIR/state: bytes that describe everything up
 * to record `upto`; what records after it carry in their meta brings it up
 * to date.  With hold_for_state, records after the saved upto are never
 * deleted, so that replay is always possible.  save: 0 or -errno.
 * load: 0, -ENOENT (none yet) or -EBADMSG (damaged: logged). */
int hvt_spool_save_state(struct hvt_spool *sp, const void *data, size_t len, uint64_t upto);
int hvt_spool_load_state(struct hvt_spool *sp, char **data, size_t *len, uint64_t *upto);
/* An acknowledged segment waits only for a newer saved state. */
bool hvt_spool_hold_blocking(struct hvt_spool *sp);

/* Wait until a record after `seq` is committed, or timeout; 1 = yes. */
int hvt_spool_wait(struct hvt_spool *sp, uint64_t seq, int timeout_ms);
/* Wake every waiter (shutdown). */
void hvt_spool_wake(struct hvt_spool *sp);

struct hvt_spool_reader *hvt_spool_reader_new(struct hvt_spool *sp, uint64_t from_seq);
void hvt_spool_reader_free(struct hvt_spool_reader *r);
int hvt_spool_reader_seek(struct hvt_spool_reader *r, uint64_t from_seq);
/* 1 = a record in *rec, 0 = nothing more committed yet, -errno = error. */
int hvt_spool_reader_next(struct hvt_spool_reader *r, struct hvt_spool_rec *rec);
/* Step back over the record the last next() returned (once). */
void hvt_spool_reader_unread(struct hvt_spool_reader *r);

/* ---- damage ------------------------------------------------------------ */

/* One stretch of a segment that held no intact record, or seqs no segment
 * holds. */
struct hvt_spool_damage {
	uint64_t lost_first, lost_last;   /* seqs lost (0, 0: stray bytes only) */
	bool lost_upper_bound;            /* lost_last is an upper bound */
	bool acknowledged;                /* all of them were acknowledged before: delivered */
	uint64_t segment;                 /* first seq of the segment (0: none) */
	uint64_t offset, bytes;           /* the bytes set aside */
	char why[96];
	char set_aside[512];              /* DIR/damaged/<name>.rec, or "" (no bytes) */
};

/* Damage found (at open, or by readers) since the last call: *v (free it)
 * and *n.  The owner reports it (the forwarder as spool.damaged events). */
void hvt_spool_take_damage(struct hvt_spool *sp, struct hvt_spool_damage **v, size_t *n);
/* Totals since open: damage found, records lost to it, bytes set aside. */
void hvt_spool_damage_totals(struct hvt_spool *sp, uint64_t *found, uint64_t *lost, uint64_t *bytes);
/* After open: one line summing up what was repaired (each damage was
 * logged already), if anything; fate says what becomes of the records
 * lost ("reported as spool.damaged"). */
void hvt_spool_log_repairs(struct hvt_spool *sp, int level, const char *fate);

/* Verify every record of the spool in o->dir (which no daemon may have
 * open: take its state directory's lock first) and say what is found on
 * out, one line per segment and per damage.  repair: set damage aside as
 * hvt_spool_open does, for every segment.  Returns 0 clean (or repaired),
 * 1 damage found and not repaired, -1 the spool cannot be read at all
 * (err says why). */
int hvt_spool_check(const struct hvt_spool_opts *o, bool repair, FILE *out, char *err, size_t errsize);

#endif
