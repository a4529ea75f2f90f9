/* jd_follow.c - following the journal on the forwarder's event loop.
 *
 * Sources on host->loop:
 *   io      the journal's inotify fd (sd_journal_get_fd): sd_journal_process
 *           keeps sd-journal's view of the files current - new files after
 *           a rotation, deleted ones after a vacuum - even while paused;
 *   drain   a defer source that reads at most read_batch entries per loop
 *           iteration, so a large backlog never starves the QMP inputs and
 *           the pipeline commits once per batch;
 *   wakeup  when sd-journal asks to be polled (sd_journal_get_timeout);
 *   reopen  a timer that retries a journal that is missing or unreadable.
 * Where reading starts and what is persisted: jd_position.c. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "in_journald.h"
#include "journal_read.h"

static int on_drain(sd_event_source *s, void *ud);
static int on_wakeup(sd_event_source *s, uint64_t usec, void *ud);

static sd_event *loop_of(struct jd *d)
{
	return d->inst->host->loop;
}

static void close_journal(struct jd *d)
{
	d->io = sd_event_source_disable_unref(d->io);
	d->drain = sd_event_source_disable_unref(d->drain);
	d->wakeup = sd_event_source_disable_unref(d->wakeup);
	if (d->j)
		sd_journal_close(d->j);
	d->j = NULL;
}

static void set_drain(struct jd *d, bool on)
{
	if (d->drain)
		sd_event_source_set_enabled(d->drain, on && !d->paused ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void update_audit_mode(struct jd *d)
{
	d->mopts.libvirt_audit_events = d->audit_mode == JD_AUDIT_EVENTS ||
					(d->audit_mode == JD_AUDIT_AUTO && !d->audit_seen);
}

/* libvirt_audit_log = auto: are kernel audit VIRT_* records in this journal? */
static void probe_audit(struct jd *d)
{
	static const char want[] = "_AUDIT_TYPE_NAME=VIRT_CONTROL";
	const void *v;
	size_t l;

	if (d->audit_mode != JD_AUDIT_AUTO || d->audit_seen ||
	    sd_journal_query_unique(d->j, "_AUDIT_TYPE_NAME") < 0)
		return;
	SD_JOURNAL_FOREACH_UNIQUE(d->j, v, l)
		if (l == sizeof want - 1 && memcmp(v, want, l) == 0)
			d->audit_seen = true;
	update_audit_mode(d);
}

static void arm_wakeup(struct jd *d)
{
	uint64_t t;

	if (sd_journal_get_timeout(d->j, &t) < 0 || t == UINT64_MAX) {
		if (d->wakeup)
			sd_event_source_set_enabled(d->wakeup, SD_EVENT_OFF);
		return;
	}
	if (d->wakeup)
		sd_event_source_set_time(d->wakeup, t);
	else if (sd_event_add_time(loop_of(d), &d->wakeup, CLOCK_MONOTONIC, t, 0, on_wakeup, d) < 0)
		return;
	sd_event_source_set_enabled(d->wakeup, SD_EVENT_ONESHOT);
}

static void schedule_reopen(struct jd *d, int err);

/* The journal changed: new entries, or files added/removed. */
static void journal_changed(struct jd *d)
{
	int r = sd_journal_process(d->j);

	if (r == SD_JOURNAL_INVALIDATE) {
		hvt_debug("[%s] journal files changed (rotation or vacuum)", d->inst->name);
		/* sd-journal stops watching a directory that was removed */
		if (*d->directory && access(d->directory, R_OK | X_OK) < 0) {
			int e = -errno;
			hvt_log(LOG_WARNING, "[%s] %s is gone (%s): waiting for it to come back",
				d->inst->name, d->what, strerror(-e));
			close_journal(d);
			schedule_reopen(d, e);
			return;
		}
		jd_position_recheck(d);
	}
	arm_wakeup(d);
	set_drain(d, true);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	(void)s;
	(void)fd;
	(void)revents;
	journal_changed(ud);
	return 0;
}

static int on_wakeup(sd_event_source *s, uint64_t usec, void *ud)
{
	(void)s;
	(void)usec;
	journal_changed(ud);
	return 0;
}

static int add_sources(struct jd *d)
{
	int fd = sd_journal_get_fd(d->j);   /* sets up inotify: before the first read */
	int r;

	if (fd < 0)
		return fd;
	r = sd_event_add_io(loop_of(d), &d->io, fd, (uint32_t)sd_journal_get_events(d->j), on_io, d);
	if (r < 0)
		return r;
	r = sd_event_add_defer(loop_of(d), &d->drain, on_drain, d);
	if (r < 0)
		return r;
	arm_wakeup(d);
	set_drain(d, true);
	return 0;
}

static int open_journal(struct jd *d)
{
	char err[300];
	uint64_t bytes = 0;
	int r = jd_journal_open(&d->j, d->directory, d->ns, d->max_field);

	if (r < 0)
		return r;
	r = jd_journal_add_matches(d->j, d->matches, d->nmatches, err, sizeof err);
	if (r < 0) {
		hvt_log(LOG_ERR, "[%s] %s", d->inst->name, err);
		close_journal(d);
		return r;
	}
	r = add_sources(d);
	if (r < 0) {
		close_journal(d);
		return r;
	}
	probe_audit(d);
	if (sd_journal_get_usage(d->j, &bytes) >= 0 && bytes == 0)
		hvt_log(LOG_NOTICE, "[%s] %s has no journal files yet: waiting for entries", d->inst->name,
			d->what);
	jd_position(d);
	return 0;
}

static int on_reopen(sd_event_source *s, uint64_t usec, void *ud)
{
	struct jd *d = ud;
	int r;

	(void)s;
	(void)usec;
	d->reopens++;
	r = open_journal(d);
	if (r < 0) {
		schedule_reopen(d, r);
		return 0;
	}
	hvt_log(LOG_NOTICE, "[%s] %s can be read now: following it", d->inst->name, d->what);
	d->open_error = 0;
	return 0;
}

/* Log a failure once per distinct error, then retry quietly. */
static void schedule_reopen(struct jd *d, int err)
{
	uint64_t now;

	if (err != d->open_error)
		hvt_log(LOG_WARNING, "[%s] cannot read %s: %s; trying again every %lld ms", d->inst->name,
			d->what, strerror(-err), d->reopen_us / 1000);
	d->open_error = err;
	sd_event_now(loop_of(d), CLOCK_MONOTONIC, &now);
	if (!d->reopen &&
	    sd_event_add_time(loop_of(d), &d->reopen, CLOCK_MONOTONIC, 0, 0, on_reopen, d) < 0)
		return;
	sd_event_source_set_time(d->reopen, now + (uint64_t)d->reopen_us);
	sd_event_source_set_enabled(d->reopen, SD_EVENT_ONESHOT);
}

/* One entry: map it, hand it over, remember where we are. */
static void take_entry(struct jd *d)
{
	int r = jd_journal_read_entry(d->j, &d->entry);

	if (r < 0 && !d->entry.cursor) {
		d->read_errors++;
		hvt_log_ratelimited(&d->rl, LOG_WARNING, "[%s] cannot read an entry of %s: %s (skipped)",
				    d->inst->name, d->what, strerror(-r));
		return;
	}
	d->entries++;
	if (!d->audit_seen && jd_entry_is_virt_audit(&d->entry) && d->audit_mode == JD_AUDIT_AUTO) {
		d->audit_seen = true;
		update_audit_mode(d);
		hvt_log(LOG_NOTICE, "[%s] kernel audit VIRT_* records are in %s: libvirt's log copies of "
			"them are reported as journal.message from now on", d->inst->name, d->what);
	}
	struct hvt_event *ev = jd_map(&d->entry, &d->mopts);
	jd_emit(d, ev, d->entry.cursor);        /* the event holds its own copy */
}

static int on_drain(sd_event_source *s, void *ud)
{
	struct jd *d = ud;

	(void)s;
	for (int n = 0; n < d->read_batch && !d->paused; n++) {
		int r = sd_journal_next(d->j);
		if (r == 0) {
			set_drain(d, false);        /* caught up: the io source wakes us */
			return 0;
		}
		if (r < 0) {
			d->read_errors++;
			hvt_log(LOG_ERR, "[%s] reading %s failed: %s; reopening it", d->inst->name, d->what,
				strerror(-r));
			close_journal(d);
			schedule_reopen(d, r);
			return 0;
		}
		take_entry(d);
	}
	return 0;       /* more may be waiting: drain stays on for the next iteration */
}

void jd_follow_start(struct jd *d)
{
	int r = open_journal(d);

	if (r < 0)
		schedule_reopen(d, r);
	else
		hvt_log(LOG_INFO, "[%s] following %s", d->inst->name, d->what);
}

void jd_follow_stop(struct jd *d)
{
	close_journal(d);
	d->reopen = sd_event_source_disable_unref(d->reopen);
}

void jd_follow_pause(struct jd *d, bool paused)
{
	d->paused = paused;
	set_drain(d, !paused);
}
