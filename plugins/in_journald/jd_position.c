/* jd_position.c - where in_journald starts reading and what it persists.
 *
 * The position after each entry (its cursor; journal_cursor.h, "A
 * position") goes with that entry's event into the forwarder's spool, in
 * the same record (hvt_emit_opts.position): after a crash at any instant,
 * the position the forwarder hands back (hvt_host.position) is exactly
 * that of the last event spooled, so nothing is read twice or skipped.
 * The cursor file is a fallback for a spool that was recreated; it is
 * written from the committed callback only, i.e. once the events of every
 * entry up to it are durably spooled. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "in_journald.h"
#include "journal_cursor.h"

static void set_pos(char **slot, const char *pos)
{
	free(*slot);
	*slot = pos ? hvt_strdup(pos) : NULL;
}

/* A position reached without emitting anything (a tail start) is safe to
 * persist at once: no event stands between it and the spool. */
static void save_position_now(struct jd *d, const char *pos)
{
	set_pos(&d->emitted_pos, pos);
	jd_follow_commit(d);
}

void jd_emit(struct jd *d, struct hvt_event *ev, const char *pos)
{
	const struct hvt_host *h = d->inst->host;
	struct hvt_emit_opts o = { .position = pos };

	d->events++;
	if (pos)
		set_pos(&d->emitted_pos, pos);
	if (h->emit_with)
		h->emit_with(d->inst, ev, &o);
	else
		h->emit(d->inst, ev);
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

/* A gap found from pos: reported once.  A position that already reported
 * this very gap (the input was restarted, or the journal re-checked, before
 * an entry after the gap was read) reports nothing again; one that finds
 * more vacuumed since reports only that (issue #14: a gap reported twice). */
static void report_gap(struct jd *d, const struct jd_pos *pos, struct jd_gap *gap)
{
	char *after = jd_pos_after_gap(pos->cursor, gap);

	if (!jd_gap_since_reported(pos, gap)) {
		hvt_log(LOG_INFO, "[%s] the entries removed after the saved cursor in %s were reported before "
			"(journal.gap up to %s); not again", d->inst->name, d->what, pos->to);
		free(after);
		return;
	}
	hvt_log(LOG_WARNING, "[%s] saved cursor in %s: %s; reporting a journal.gap", d->inst->name, d->what,
		jd_resume_name(JD_RESUME_GAP));
	d->gaps++;
	jd_emit(d, jd_gap_event(gap), after);
	free(after);
}

static void report_resume(struct jd *d, enum jd_resume res, const struct jd_pos *pos, struct jd_gap *gap)
{
	if (res == JD_RESUME_GAP) {
		report_gap(d, pos, gap);
		jd_gap_free(gap);
		return;
	}
	hvt_log(res == JD_RESUME_AFTER ? LOG_INFO : LOG_NOTICE, "[%s] saved cursor in %s: %s%s", d->inst->name,
		d->what, jd_resume_name(res),
		res == JD_RESUME_INVALID ? "; reading from the oldest entry (some may be repeated)" : "");
}

void jd_position(struct jd *d)
{
	const char *cur = d->emitted_pos;
	struct jd_gap gap;
	struct jd_pos pos;

	if (!cur) {
		start_without_cursor(d);
	} else if (strcmp(cur, JD_CURSOR_HEAD) == 0) {
		sd_journal_seek_head(d->j);
	} else if (jd_pos_parse(cur, &pos) < 0) {
		hvt_log(LOG_ERR, "[%s] the saved position '%.80s' is not one: reading %s from its oldest entry "
			"(entries may be repeated)", d->inst->name, cur, d->what);
		sd_journal_seek_head(d->j);
	} else {
		enum jd_resume res = jd_cursor_resume(d->j, pos.cursor, d->matches, d->nmatches, &gap);
		report_resume(d, res, &pos, &gap);
	}
}

/* The journal's files changed (rotation, vacuum) under a running input.  A
 * vacuum can overtake an input that is behind (paused by a full spool, or
 * catching up): when the entry last read is gone, the unread ones after it
 * went with it, and sd-journal would silently continue at the oldest entry
 * left.  Seeking back to the last entry read finds out, and reports it. */
void jd_position_recheck(struct jd *d)
{
	const char *cur = d->emitted_pos;
	struct jd_gap gap;
	struct jd_pos pos;

	if (!cur || strcmp(cur, JD_CURSOR_HEAD) == 0 || jd_pos_parse(cur, &pos) < 0)
		return;
	enum jd_resume res = jd_cursor_resume(d->j, pos.cursor, d->matches, d->nmatches, &gap);
	if (res != JD_RESUME_AFTER)
		report_resume(d, res, &pos, &gap);
}

void jd_follow_commit(struct jd *d)
{
	if (!d->emitted_pos || (d->saved_pos && strcmp(d->saved_pos, d->emitted_pos) == 0))
		return;
	int r = jd_cursor_save(d->cursor_path, d->emitted_pos);
	if (r < 0) {
		d->cursor_errors++;
		hvt_log_ratelimited(&d->rl, LOG_ERR, "[%s] cannot save the journal cursor to %s: %s "
				    "(only matters if the spool is lost too)", d->inst->name, d->cursor_path,
				    strerror(-r));
		return;
	}
	set_pos(&d->saved_pos, d->emitted_pos);
}
