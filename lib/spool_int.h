/* spool_int.h - what spool.c and spool_repair.c share (internal). */
#ifndef HVT_SPOOL_INT_H
#define HVT_SPOOL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "spool.h"
#include "spool_format.h"
#include "trail.h"
#include "util.h"

#define SPOOL_ID_LEN HVT_STREAM_LEN   /* the spool's id is its stream (trail.h) */

struct spool_seg {
	uint64_t first;       /* seq its first record may have (the file name) */
	uint64_t bytes;       /* bytes readers may read */
};

struct hvt_spool {
	char *dir;
	char *name;
	struct hvt_spool_opts o;
	char id[SPOOL_ID_LEN + 1];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct spool_seg *segs;
	int nsegs;
	int wfd;              /* active (last) segment, writer only */
	uint64_t wbytes;      /* bytes written to the active segment */
	struct hvt_buf wbuf;  /* appended records not yet written (writer only) */
	uint64_t written;     /* highest seq written to the file */
	int wbuf_error;       /* the last failed write of wbuf (-errno), or 0 */
	uint64_t next_seq;    /* writer only */
	uint64_t committed;   /* highest seq visible to readers */
	uint64_t acked;
	uint64_t acked_persisted;
	uint64_t hold;        /* with o.hold_for_state: keep records after this */
	uint64_t total_bytes; /* on-disk, all segments */
	long long last_ckpt_us;
	long long last_sync_us;
	bool dirty;           /* appended since last fdatasync */
	uint64_t cut_bytes;
	unsigned wake_gen;
	/* damage (lock) */
	struct hvt_spool_damage *damage;    /* not yet taken by the owner */
	size_t ndamage, ndamage_taken;
	uint64_t damage_found, damage_lost, damage_bytes;
};

char *spool_seg_path(const struct hvt_spool *sp, uint64_t first);
char *spool_seg_name(uint64_t first);          /* "%016x.seg", malloc'd */

int spool_list_segments(struct hvt_spool *sp);
void spool_load_checkpoint(struct hvt_spool *sp);
int spool_persist_checkpoint(struct hvt_spool *sp, uint64_t acked);

/* spool_repair.c */

/* Verify every segment at open (the spool is not shared yet): cut an
 * interrupted last record, set damage aside, rewrite damaged segments
 * with their intact records, and leave sp->next_seq after the last
 * record.  repair false: only report (to out, if not NULL).  Returns
 * the number of damages found, or -1 (err). */
int spool_verify_segments(struct hvt_spool *sp, bool repair, FILE *out, char *err, size_t errsize);

/* A reader met bytes that are no intact record: copy them aside and
 * record the damage (thread-safe). */
void spool_note_damage(struct hvt_spool *sp, const struct hvt_spool_damage *d, const void *bytes);

/* Write bytes and their .why to DIR/damaged/; fills d->set_aside. */
void spool_set_aside(struct hvt_spool *sp, struct hvt_spool_damage *d, const void *bytes, const char *found_by);

/* The number of seqs a damage lost. */
uint64_t spool_damage_lost(const struct hvt_spool_damage *d);

#endif
