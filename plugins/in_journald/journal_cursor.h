/* journal_cursor.h - where the journal input stands: the persisted cursor,
 * resuming from it, and detecting what was lost when it was vacuumed away.
 *
 * The cursor file holds the cursor of the last entry whose event the
 * forwarder had durably spooled (the plugin writes it from the committed
 * callback only), or "@head" when the journal was empty at the first
 * start.  On start the reader seeks to it: when the entry is still there
 * reading continues right after it (nothing repeated, nothing skipped).
 * When it is gone - journald vacuumed the file holding it - the entries
 * between it and the oldest entry still on disk are counted from the
 * journal's sequence numbers and reported as a journal.gap event. */
#ifndef HVT_JOURNAL_CURSOR_H
#define HVT_JOURNAL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-journal.h>

#include "event.h"

#define JD_CURSOR_HEAD "@head"
#define JD_CURSOR_MAX 1024      /* a real cursor is ~140 bytes */
#define JD_GAP_SCAN 10000       /* entries looked at for one of the cursor's own sequence */

/* The parts of a cursor string "s=<seqnum_id>;i=<seqnum hex>;b=<boot>;
 * m=<monotonic hex>;t=<realtime hex>;x=<xor hash>". */
struct jd_cursor_info {
	char seqnum_id[33];
	unsigned long long seqnum;
	bool has_seqnum;
	unsigned long long realtime;    /* usec */
	bool has_realtime;
};

/* 0, or -EINVAL when it has neither a seqnum nor a realtime part. */
int jd_cursor_parse(const char *cursor, struct jd_cursor_info *ci);

/* A cursor as stored: printable ASCII without spaces, bounded. */
bool jd_cursor_text_valid(const char *s);

/* 0 and *cursor (malloc'd); -ENOENT when there is none; -EINVAL when the
 * file does not hold a cursor; other -errno. */
int jd_cursor_load(const char *path, char **cursor);
/* Atomically, mode 0600.  0 or -errno. */
int jd_cursor_save(const char *path, const char *cursor);

/* What was lost between the saved position and the first entry found. */
struct jd_gap {
	bool count_known;               /* lost is an upper bound from sequence numbers */
	unsigned long long lost;
	char seqnum_id[33];
	long long from_us, to_us;       /* realtime of the saved entry / of the first one after */
	char *from_cursor, *to_cursor;
};
void jd_gap_free(struct jd_gap *g);

/* From the saved position and the oldest surviving entry of the same
 * sequence (same seqnum_id): how many were lost.  false when they are not
 * of one sequence (the count is then unknown). */
bool jd_gap_count(const struct jd_cursor_info *saved, const struct jd_cursor_info *first,
		  unsigned long long *lost);

enum jd_resume {
	JD_RESUME_AFTER,        /* the saved entry is there: reading continues after it */
	JD_RESUME_UNMATCHED,    /* it is there but no longer matches the filter */
	JD_RESUME_GONE,         /* it was removed, nothing unread with it */
	JD_RESUME_GAP,          /* it was removed with unread entries: see gap */
	JD_RESUME_END,          /* it was removed and nothing is after it */
	JD_RESUME_INVALID,      /* not a cursor sd-journal accepts: reading starts at the head */
};
const char *jd_resume_name(enum jd_resume r);

/* Position j (matches already added) so that the next sd_journal_next()
 * returns the first entry not yet read.  The matches are flushed and
 * re-added while looking for the gap, hence passed in.  gap is filled for
 * JD_RESUME_GAP (free with jd_gap_free). */
enum jd_resume jd_cursor_resume(sd_journal *j, const char *cursor, char *const *matches, int nmatches,
				struct jd_gap *gap);

/* The journal.gap event for a gap (pure). */
struct hvt_event *jd_gap_event(const struct jd_gap *g);

/* A position: where reading resumes, as the input carries it with each
 * event into the spool (and into the cursor file).  Normally the cursor of
 * the last entry read (or JD_CURSOR_HEAD).  After a gap was reported, and
 * until an entry after it is read, "gap,LOST,TO,CURSOR": CURSOR (the last
 * entry read) is gone, and the gap up to TO (the first entry on disk when
 * it was reported) was reported with LOST entries ("?" if unknown).
 * Resuming from it again finds the same gap and reports nothing - or, if
 * more was vacuumed meanwhile, only what more went. */
struct jd_pos {
	char cursor[JD_CURSOR_MAX + 1];
	bool gap_reported;
	bool lost_known;
	unsigned long long lost;
	char to[JD_CURSOR_MAX + 1];
};
/* 0, or -EINVAL when s is no position. */
int jd_pos_parse(const char *s, struct jd_pos *p);
/* The position after reporting gap g from cursor (malloc'd). */
char *jd_pos_after_gap(const char *cursor, const struct jd_gap *g);
/* A gap found from a position that had already reported one: keep only
 * what went since (from = the old TO).  false: it is the same gap. */
bool jd_gap_since_reported(const struct jd_pos *p, struct jd_gap *g);

#endif
