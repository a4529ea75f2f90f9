/* in_journald.h - state of one in_journald instance, shared by the plugin
 * glue (in_journald.c) and the reader loop (jd_follow.c). */
#ifndef HVT_IN_JOURNALD_H
#define HVT_IN_JOURNALD_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "hvtrail-plugin.h"
#include "journal_fields.h"
#include "journal_map.h"
#include "log.h"

enum jd_audit_mode { JD_AUDIT_AUTO, JD_AUDIT_EVENTS, JD_AUDIT_MESSAGES };

struct jd {
	struct hvt_instance *inst;
	/* configuration */
	char *directory;                /* "" = not a directory */
	char *ns;                       /* "" = no namespace */
	char **matches;
	int nmatches;
	int read_batch;
	bool start_tail;
	size_t max_field;
	size_t max_fields;
	long long reopen_us;
	enum jd_audit_mode audit_mode;
	struct jd_fieldset *carry;
	char *cursor_path;              /* STATE_DIR/<instance>/cursor */
	char what[300];                 /* "journal directory /x", for log lines */

	/* the journal */
	sd_journal *j;
	sd_event_source *io;            /* the journal's inotify fd */
	sd_event_source *drain;         /* reads one batch per loop iteration */
	sd_event_source *wakeup;        /* sd_journal_get_timeout(), when it asks */
	sd_event_source *reopen;        /* retry opening a missing/unreadable journal */
	bool paused;                    /* back-pressure from the spool */
	bool audit_seen;                /* kernel audit VIRT_* records are in this journal */
	int open_error;                 /* last open failure logged (-errno), 0 = none */
	struct jd_entry entry;
	struct jd_map_opts mopts;

	/* position (journal_cursor.h, "A position") */
	char *emitted_pos;              /* after the last event handed to the pipeline */
	char *saved_pos;                /* what the cursor file holds */

	/* counters */
	uint64_t entries, events, gaps, reopens, read_errors, cursor_errors;
	struct hvt_ratelimit rl;
};

/* jd_follow.c: open the journal (or keep retrying), follow it. */
void jd_follow_start(struct jd *d);
void jd_follow_stop(struct jd *d);
void jd_follow_pause(struct jd *d, bool paused);

/* jd_position.c: position a freshly opened journal so that the next
 * sd_journal_next() returns the first unread entry (reporting a gap). */
void jd_position(struct jd *d);
/* After the journal's files changed: was the last entry read vacuumed? */
void jd_position_recheck(struct jd *d);
/* Persist emitted_pos to the cursor file (called when everything emitted
 * is durable). */
void jd_follow_commit(struct jd *d);
/* Hand an event to the pipeline with the position after it (stored in the
 * same spool record). */
void jd_emit(struct jd *d, struct hvt_event *ev, const char *pos);

#endif
