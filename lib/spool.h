/* spool.h - an append-only, crash-safe record log with an acknowledged
 * checkpoint.  The forwarder spools every event here before it is shipped;
 * the collector uses the same code as its inbox in front of the index.
 *
 * On disk: DIR/meta (the spool's identity, made once), DIR/checkpoint (the
 * highest acknowledged record), DIR/<first-seq>.seg segment files of
 * records [magic len seq crc32c pad payload].  Records are numbered from 1
 * without holes.  On open the newest segment is scanned and a torn or
 * corrupt tail is cut (and logged), never replayed.  Segments are deleted
 * only once every record in them is at or below the persisted checkpoint.
 *
 * Threads: one writer (append/commit), any number of readers, ack from any
 * thread. */
#ifndef HVT_SPOOL_H
#define HVT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
};

struct hvt_spool;
struct hvt_spool_reader;

struct hvt_spool_rec {
	uint64_t seq;
	const char *data;             /* valid until the next reader call */
	size_t len;
	uint64_t skipped;             /* records lost before this one (dropped/corrupt) */
};

struct hvt_spool *hvt_spool_open(const struct hvt_spool_opts *o, char *err, size_t errsize);
void hvt_spool_close(struct hvt_spool *sp);

/* The spool's identity: 16 hex characters, random, made when the directory
 * was first initialised.  A new spool is a new stream. */
const char *hvt_spool_id(const struct hvt_spool *sp);
/* Records cut from the tail at open (torn/corrupt), for reporting. */
uint64_t hvt_spool_recovered_cut_bytes(const struct hvt_spool *sp);

/* Writer side.  next_seq is what the next append will get. */
uint64_t hvt_spool_next_seq(struct hvt_spool *sp);
int hvt_spool_append(struct hvt_spool *sp, const void *data, size_t len, uint64_t *seq);
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
uint64_t hvt_spool_bytes(struct hvt_spool *sp);      /* on disk */
bool hvt_spool_over(struct hvt_spool *sp);            /* bytes >= max_bytes */
uint64_t hvt_spool_max_bytes(const struct hvt_spool *sp);
/* Delete the oldest segment even though it is not acknowledged (the
 * drop-oldest policy).  Returns the number of records dropped. */
uint64_t hvt_spool_drop_oldest(struct hvt_spool *sp);

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

#endif
