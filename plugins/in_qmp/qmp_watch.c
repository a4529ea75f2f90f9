/* qmp_watch.c - which sockets exist in socket_dir.
 *
 * An initial scan finds the VMs already running; inotify reports sockets
 * QEMU creates (IN_CREATE, or IN_MOVED_TO when a tool renames one into
 * place), removes (a clean QEMU exit unlinks its socket) or re-creates.  A
 * queue overflow makes us scan again.  A missing socket_dir is waited for
 * (checked every DIR_RETRY_US) rather than created: who may create sockets
 * in it is the operator's decision (tmpfiles.d), not ours. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "in_qmp.h"
#include "log.h"

#define DIR_RETRY_US (5 * 1000000LL)
#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | \
		    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static int dir_start(struct qmp_input *in);

static bool name_matches(const struct qmp_input *in, const char *name)
{
	return name[0] != '.' && hvt_glob_match(in->pattern, name);
}

static bool is_socket_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode);
}

void qmp_watch_rescan(struct qmp_input *in)
{
	DIR *d = opendir(in->socket_dir);
	struct dirent *e;

	if (!d) {
		hvt_warn("in_qmp: cannot read %s: %s", in->socket_dir, strerror(errno));
		return;
	}
	qmp_endpoint_mark_all(in, false);
	while ((e = readdir(d))) {
		if (!name_matches(in, e->d_name) || !is_socket_at(dirfd(d), e->d_name))
			continue;
		qmp_endpoint_seen(in, e->d_name, false);
	}
	closedir(d);
	qmp_endpoint_sweep(in);
}

static int on_rescan(sd_event_source *s, void *userdata)
{
	struct qmp_input *in = userdata;

	(void)s;
	if (in->inotify)   /* else the directory is gone and dir_start will scan */
		qmp_watch_rescan(in);
	return 0;
}

void qmp_watch_rescan_soon(struct qmp_input *in)
{
	if (!in->rescan && sd_event_add_defer(in->loop, &in->rescan, on_rescan, in) < 0) {
		hvt_err("in_qmp: cannot schedule a rescan of %s", in->socket_dir);
		return;
	}
	sd_event_source_set_enabled(in->rescan, SD_EVENT_ONESHOT);
}

/* ---- directory retry ------------------------------------------------------------ */

static int on_dir_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)s;
	(void)usec;
	dir_start(userdata);
	return 0;
}

static void wait_for_dir(struct qmp_input *in, const char *why)
{
	uint64_t now;

	if (!in->dir_missing_logged) {
		hvt_warn("in_qmp: socket_dir %s: %s; checking again every %lld s", in->socket_dir,
			 why, DIR_RETRY_US / 1000000);
		in->dir_missing_logged = true;
	}
	sd_event_now(in->loop, CLOCK_MONOTONIC, &now);
	if (!in->dir_retry) {
		if (sd_event_add_time(in->loop, &in->dir_retry, CLOCK_MONOTONIC,
				      now + DIR_RETRY_US, 100000, on_dir_retry, in) < 0)
			return;
	} else {
		sd_event_source_set_time(in->dir_retry, now + DIR_RETRY_US);
	}
	sd_event_source_set_enabled(in->dir_retry, SD_EVENT_ONESHOT);
}

/* ---- inotify ------------------------------------------------------------------ */

static void dir_lost(struct qmp_input *in)
{
	in->inotify = sd_event_source_disable_unref(in->inotify);
	in->dir_missing_logged = false;
	/* connected VMs keep their connections; idle sockets are gone with the dir */
	qmp_endpoint_mark_all(in, false);
	qmp_endpoint_sweep(in);
	wait_for_dir(in, "was removed or moved");
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct qmp_input *in = userdata;

	(void)s;
	if (ev->mask & IN_Q_OVERFLOW) {
		hvt_notice("in_qmp: inotify queue overflowed; rescanning %s", in->socket_dir);
		qmp_watch_rescan(in);
		return 0;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		dir_lost(in);
		return 0;
	}
	if (!ev->len || !name_matches(in, ev->name))
		return 0;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		qmp_endpoint_removed(in, ev->name);
		return 0;
	}
	/* IN_CREATE / IN_MOVED_TO / IN_ATTRIB: a (new) socket to try now */
	int dfd = open(in->socket_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool sock = dfd >= 0 && is_socket_at(dfd, ev->name);
	if (dfd >= 0)
		close(dfd);
	if (sock)
		qmp_endpoint_seen(in, ev->name, true);
	return 0;
}

static int dir_start(struct qmp_input *in)
{
	struct stat st;

	if (stat(in->socket_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		wait_for_dir(in, errno == ENOENT ? "does not exist (yet)" : "is not a directory");
		return 0;
	}
	int r = sd_event_add_inotify(in->loop, &in->inotify, in->socket_dir, WATCH_MASK,
				     on_inotify, in);
	if (r < 0) {
		hvt_err("in_qmp: cannot watch %s with inotify: %s", in->socket_dir, strerror(-r));
		return -1;
	}
	if (in->dir_missing_logged)
		hvt_notice("in_qmp: socket_dir %s is there now", in->socket_dir);
	in->dir_missing_logged = false;
	/* watch first, then scan: a socket created in between is seen twice,
	 * which is harmless, rather than never */
	qmp_watch_rescan(in);
	if (!in->orphans_checked) {
		in->orphans_checked = true;
		qmp_endpoint_report_orphans(in);
	}
	return 0;
}

int qmp_watch_start(struct qmp_input *in)
{
	/* The directory is hvtrail's own: make it on first start (QEMU, or
	 * libvirt, must be allowed to create sockets in it; see the docs). */
	struct stat st;
	if (stat(in->socket_dir, &st) < 0 && errno == ENOENT) {
		int r = hvt_mkdir_p(in->socket_dir, 0750);
		if (r < 0)
			hvt_warn("in_qmp: cannot create socket_dir %s: %s", in->socket_dir, strerror(-r));
		else
			hvt_notice("in_qmp: created socket_dir %s (mode 0750)", in->socket_dir);
	}
	return dir_start(in);
}

void qmp_watch_stop(struct qmp_input *in)
{
	in->inotify = sd_event_source_disable_unref(in->inotify);
	in->dir_retry = sd_event_source_disable_unref(in->dir_retry);
	in->rescan = sd_event_source_disable_unref(in->rescan);
}
