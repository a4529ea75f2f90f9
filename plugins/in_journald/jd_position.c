/* jd_position.c - where in_journald starts reading and what it persists.
 *
 * The cursor file is written from the committed callback only, i.e. once
 * the events of every entry up to it are durably spooled: a restart resumes
 * right after it (journal_cursor.h has the resume and gap logic). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "in_journald.h"
#include "journal_cursor.h"

static void set_cursor(char **slot, const char *cursor)
{
	free(*slot);
	*slot = cursor ? hvt_strdup(cursor) : NULL;
}

/* A position reached without emitting anything (a tail start) is safe to
 * persist at once: no event stands between it and the spool. */
static void save_position_now(struct jd *d, const char *cursor)
{
	set_cursor(&d->emitted_cursor, cursor);
	jd_follow_commit(d);
}

void jd_emit(struct jd *d, struct hvt_event *ev)
{
	d->events++;
	d->inst->host->emit(d->inst, ev);
}

static void start_without_cursor(struct jd *d)
{
	char *c = NULL;

	if (!d->start_tail) {
		sd_journal_seek_head(d->j);
		hvt_log(LOG_INFO, "[%s] no saved cursor: reading %s from its oldest entry (start_at = head)",
			d->inst->name, d->what);
		return;
	}
	/* seek_tail is after the last entry; previous() steps onto the last one
	 * that matches, so next() returns only what is written from now on. */
	sd_journal_seek_tail(d->j);
	if (sd_journal_previous(d->j) > 0 && sd_journal_get_cursor(d->j, &c) >= 0) {
		save_position_now(d, c);
		free(c);
	} else {
		save_position_now(d, JD_CURSOR_HEAD);   /* empty: all that comes is new */
	}
	hvt_log(LOG_INFO, "[%s] no saved cursor: following %s from its end (start_at = tail)",
		d->inst->name, d->what);
}

static void report_resume(struct jd *d, enum jd_resume res, struct jd_gap *gap)
{
	int level = res == JD_RESUME_AFTER ? LOG_INFO : res == JD_RESUME_GAP ? LOG_WARNING : LOG_NOTICE;

	hvt_log(level, "[%s] saved cursor in %s: %s%s", d->inst->name, d->what, jd_resume_name(res),
		res == JD_RESUME_INVALID ? "; reading from the oldest entry (some may be repeated)" :
		res == JD_RESUME_GAP ? "; reporting a journal.gap" : "");
	if (res != JD_RESUME_GAP)
		return;
	d->gaps++;
	jd_emit(d, jd_gap_event(gap));
	jd_gap_free(gap);
}

void jd_position(struct jd *d)
{
	const char *cur = d->emitted_cursor;
	struct jd_gap gap;

	if (!cur) {
		start_without_cursor(d);
	} else if (strcmp(cur, JD_CURSOR_HEAD) == 0) {
		sd_journal_seek_head(d->j);
	} else {
		enum jd_resume res = jd_cursor_resume(d->j, cur, d->matches, d->nmatches, &gap);
		report_resume(d, res, &gap);
	}
}

/* The journal's files changed (rotation, vacuum) under a running input.  A
 * vacuum can overtake an input that is behind (paused by a full spool, or
 * catching up): when the entry last read is gone, the unread ones after it
 * went with it, and sd-journal would silently continue at the oldest entry
 * left.  Seeking back to the last entry read finds out, and reports it. */
void jd_position_recheck(struct jd *d)
{
	const char *cur = d->emitted_cursor;
	struct jd_gap gap;

	if (!cur || strcmp(cur, JD_CURSOR_HEAD) == 0)
		return;
	enum jd_resume res = jd_cursor_resume(d->j, cur, d->matches, d->nmatches, &gap);
	if (res != JD_RESUME_AFTER)
		report_resume(d, res, &gap);
}

void jd_follow_commit(struct jd *d)
{
	if (!d->emitted_cursor || (d->saved_cursor && strcmp(d->saved_cursor, d->emitted_cursor) == 0))
		return;
	int r = jd_cursor_save(d->cursor_path, d->emitted_cursor);
	if (r < 0) {
		d->cursor_errors++;
		hvt_log_ratelimited(&d->rl, LOG_ERR, "[%s] cannot save the journal cursor to %s: %s "
				    "(a restart would repeat entries)", d->inst->name, d->cursor_path,
				    strerror(-r));
		return;
	}
	set_cursor(&d->saved_cursor, d->emitted_cursor);
}
