/* doctor_host.c - what the forwarder needs from its host: a QMP socket
 * directory QEMU can write and the forwarder can read, a readable journal,
 * a writable spool with room in it.  Each permission is tried with the
 * credentials of whoever needs it (doctor_creds.c). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "doctor.h"
#include "timefmt.h"
#include "util.h"

#define SPOOL_WARN_PCT 80
#define SPOOL_FAIL_PCT 95

static void human(unsigned long long b, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* ---- QMP socket directory --------------------------------------------- */

/* Connect to a unix socket (as whoever doc_as runs this as): 0 when a
 * listener took the connection, else 1 with the error in msg.  Permission
 * bits alone cannot tell a live monitor from the socket file a dead QEMU
 * left behind, which refuses every connection. */
static int try_connect(void *arg, char *msg, size_t size)
{
	const char *path = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = 1;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(msg, size, "path too long for a unix socket");
		return 1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(msg, size, "socket: %s", strerror(errno));
		return 1;
	}
	/* a unix connect() does not wait for accept(): it succeeds as soon as
	 * the listener's backlog takes it.  QEMU serves one client at a time
	 * and stops accepting while the forwarder holds the monitor, so a full
	 * backlog (EAGAIN, never a wait: the socket is non-blocking) is a live
	 * listener too; the queued connection it may accept later just ends. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN)
		rc = 0;
	else
		snprintf(msg, size, "%s", errno == ECONNREFUSED ? "connection refused: nothing listens (a "
			 "QEMU that exited left it behind)" : strerror(errno));
	close(fd);
	return rc;
}

struct sock_scan {
	int total, live, denied, dead;
	struct hvt_buf denied_list, dead_list;
};

static void note_socket(struct hvt_buf *list, int n, const char *name, const struct stat *st, const char *why)
{
	if (n <= 5)
		hvt_buf_printf(list, "%s%s (mode %04o, uid %d, gid %d: %s)", list->len ? ", " : "", name,
			       (unsigned)(st->st_mode & 07777), (int)st->st_uid, (int)st->st_gid, why);
}

/* Connect to each socket in dir matching pattern as the daemon's user. */
static void scan_sockets(struct doctor *d, const char *dir, const char *pattern, struct sock_scan *sc)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char msg[256];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		char path[4096];
		struct stat st;
		if (fnmatch(pattern, e->d_name, 0) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		sc->total++;
		int rc = doc_as(&d->daemon, try_connect, path, msg, sizeof msg);
		if (rc == 0)
			sc->live++;
		else if (strstr(msg, "connection refused"))
			note_socket(&sc->dead_list, ++sc->dead, e->d_name, &st, msg);
		else
			note_socket(&sc->denied_list, ++sc->denied, e->d_name, &st, msg);
	}
	closedir(dp);
}

/* Client mode: the forwarder makes its listen socket; QEMU connects to it. */
static void check_listen(struct doctor *d, const struct hvt_instance *q, const char *listen)
{
	char *dir = hvt_strdup(listen), *slash = strrchr(dir, '/'), msg[256], fix[512];

	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (doc_access(&d->daemon, dir, W_OK | X_OK, msg, sizeof msg)) {
		doc_report(d, DOC_OK, "qmp listen", NULL, "[%s] %s can make its client-mode socket %s; QEMU "
			   "connects with -chardev socket,path=%s,reconnect=5 -mon chardev=...,mode=control",
			   q->name, d->daemon.name, listen, listen);
	} else {
		snprintf(fix, sizeof fix, "put the socket where %s may create files (/run/hvtrail/, which "
			 "the unit's RuntimeDirectory makes)", d->daemon.name);
		doc_report(d, DOC_FAIL, "qmp listen", fix, "[%s] %s cannot create %s in %s: %s", q->name,
			   d->daemon.name, listen, dir, msg);
	}
	free(dir);
}

void doc_check_qmp(struct doctor *d, const struct hvt_instance *q)
{
	const char *dir = doc_str(q, "socket_dir"), *pattern = doc_str(q, "pattern");
	const char *listen = doc_str(q, "listen");

	if (listen && *listen)
		check_listen(d, q, listen);
	if (!*dir)
		return;     /* client mode only */
	const char *qu = d->qemu.valid ? d->qemu.name : "QEMUUSER";
	char msg[256], fix[512];
	struct stat st;
	struct sock_scan sc = { 0 };
	bool ok = true;

	int sr = stat(dir, &st);
	if (sr < 0 || !S_ISDIR(st.st_mode)) {
		const char *why = sr < 0 ? strerror(errno) : "not a directory";
		snprintf(fix, sizeof fix, "hvtrail's tmpfiles.d/hvtrail.conf makes /run/hvtrail/qmp so that QEMU "
			 "(libvirt-qemu) can add sockets and %s can use them: 'systemd-tmpfiles --create "
			 "hvtrail.conf'; for another directory or QEMU user copy its lines to "
			 "/etc/tmpfiles.d/hvtrail.conf and adapt them (docs/deploy.md)", d->daemon.name);
		doc_report(d, DOC_FAIL, "qmp socket dir", fix, "[%s] socket_dir %s: %s", q->name, dir, why);
		return;
	}
	if (!doc_access(&d->daemon, dir, R_OK | X_OK, msg, sizeof msg)) {
		snprintf(fix, sizeof fix, "let %s list it: 'chgrp GROUP %s; chmod 2770 %s' with %s in GROUP",
			 d->daemon.name, dir, dir, d->daemon.name);
		doc_report(d, DOC_FAIL, "qmp socket dir", fix, "[%s] %s cannot list %s: %s", q->name,
			   d->daemon.name, dir, msg);
		ok = false;
	}
	if (!d->qemu.valid) {
		doc_report(d, DOC_WARN, "qmp socket dir", "name QEMU's user with --qemu-user USER",
			   "[%s] cannot tell whether QEMU may create sockets in %s: no account '%s' (libvirt's)",
			   q->name, dir, d->qemu.name);
		ok = false;
	} else if (!doc_access(&d->qemu, dir, W_OK | X_OK, msg, sizeof msg)) {
		snprintf(fix, sizeof fix, "let QEMU's user in: 'setfacl -m u:%s:rwx %s' (the directory "
			 "stays mode 2770, group %s, so the sockets get that group); make it last with an "
			 "'a+' line in /etc/tmpfiles.d/hvtrail.conf (docs/deploy.md)", qu, dir, d->daemon.name);
		doc_report(d, DOC_FAIL, "qmp socket dir", fix, "[%s] QEMU (user %s) cannot create its monitor "
			   "sockets in %s: %s", q->name, qu, dir, msg);
		ok = false;
	}
	if (st.st_mode & S_IWOTH && !(st.st_mode & S_ISVTX)) {
		doc_report(d, DOC_WARN, "qmp socket dir", "'chmod o-w' it; give QEMU write access by group",
			   "[%s] %s is writable by everyone: any local user can plant a socket that feeds the "
			   "forwarder events", q->name, dir);
		ok = false;
	}
	scan_sockets(d, dir, pattern, &sc);
	if (sc.denied) {
		snprintf(fix, sizeof fix, "QEMU creates its sockets with its umask: the group must be able to "
			 "write them (libvirt starts QEMU with umask 002; start QEMU by hand the same way) and "
			 "the directory must be set-group-ID with group %s (mode 2770)", d->daemon.name);
		doc_report(d, DOC_FAIL, "qmp sockets", fix, "[%s] %s cannot connect to %d of %d sockets in %s: "
			   "%s", q->name, d->daemon.name, sc.denied, sc.total, dir, hvt_buf_cstr(&sc.denied_list));
		ok = false;
	}
	if (sc.dead) {
		doc_report(d, DOC_WARN, "qmp sockets", "remove sockets whose QEMU is gone (the forwarder keeps "
			   "trying them); a running VM's socket refusing connections means its -qmp monitor is "
			   "not a server", "[%s] %d of %d sockets in %s refuse connections: %s", q->name, sc.dead,
			   sc.total, dir, hvt_buf_cstr(&sc.dead_list));
		ok = false;
	}
	hvt_buf_free(&sc.denied_list);
	hvt_buf_free(&sc.dead_list);
	if (ok)
		doc_report(d, DOC_OK, "qmp socket dir", NULL, "[%s] %s: %s can list it, QEMU (user %s) can "
			   "create sockets in it; %d socket%s, %s", q->name, dir, d->daemon.name, qu, sc.total,
			   sc.total == 1 ? "" : "s", sc.total ? "each accepted a connection" : "none yet");
}

/* ---- journal --------------------------------------------------------- */

struct jarg {
	const char *directory, *ns;
};

enum { J_OK, J_EMPTY, J_OPEN_FAILED, J_UNREADABLE };

/* Journal files below dir (two levels: machine-id subdirectories) that
 * we cannot open. */
static void count_files(const char *dir, int depth, int *total, int *unreadable)
{
	DIR *dp = opendir(dir);
	struct dirent *e;

	if (!dp) {
		if (errno == EACCES)
			(*unreadable)++, (*total)++;
		return;
	}
	while ((e = readdir(dp))) {
		char path[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (hvt_str_has_suffix(e->d_name, ".journal") || hvt_str_has_suffix(e->d_name, ".journal~")) {
			(*total)++;
			*unreadable += access(path, R_OK) != 0;
		} else if (depth > 0 && e->d_type == DT_DIR) {
			count_files(path, depth - 1, total, unreadable);
		}
	}
	closedir(dp);
}

static int try_journal(void *arg, char *msg, size_t size)
{
	const struct jarg *a = arg;
	sd_journal *j = NULL;
	uint64_t us;
	int r, total = 0, unreadable = 0;

	if (a->directory && *a->directory)
		r = sd_journal_open_directory(&j, a->directory, 0);
	else if (a->ns && *a->ns)
		r = sd_journal_open_namespace(&j, a->ns, SD_JOURNAL_LOCAL_ONLY);
	else
		r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
	if (r < 0) {
		snprintf(msg, size, "%s", strerror(-r));
		return J_OPEN_FAILED;
	}
	if (sd_journal_seek_tail(j) >= 0 && sd_journal_previous(j) > 0 &&
	    sd_journal_get_realtime_usec(j, &us) >= 0) {
		char t[40];
		hvt_format_rfc3339((long long)us, t, sizeof t);
		snprintf(msg, size, "newest entry %.19sZ", t);
		sd_journal_close(j);
		return J_OK;
	}
	sd_journal_close(j);
	if (a->directory && *a->directory) {
		count_files(a->directory, 1, &total, &unreadable);
	} else {
		count_files("/var/log/journal", 1, &total, &unreadable);
		count_files("/run/log/journal", 1, &total, &unreadable);
	}
	snprintf(msg, size, "%d of %d journal files unreadable", unreadable, total);
	return unreadable ? J_UNREADABLE : J_EMPTY;
}

void doc_check_journal(struct doctor *d, const struct hvt_instance *j)
{
	struct jarg a = { doc_str(j, "directory"), doc_str(j, "namespace") };
	const char *what = *a.directory ? a.directory : *a.ns ? a.ns : "the system journal";
	char msg[256], fix[512];
	int r = doc_as(&d->daemon, try_journal, &a, msg, sizeof msg);

	if (*a.directory)
		snprintf(fix, sizeof fix, "let %s read %s and the journal files in it (group-readable, "
			 "directories searchable)", d->daemon.name, a.directory);
	else
		snprintf(fix, sizeof fix, "add %s to group systemd-journal (the shipped unit does so with "
			 "SupplementaryGroups=systemd-journal)", d->daemon.name);
	switch (r) {
	case J_OK:
		doc_report(d, DOC_OK, "journal", NULL, "[%s] %s readable by %s; %s", j->name, what,
			   d->daemon.name, msg);
		break;
	case J_EMPTY:
		doc_report(d, DOC_WARN, "journal", "check [in_journald] directory / namespace",
			   "[%s] %s holds no entries (%s)", j->name, what, msg);
		break;
	case J_OPEN_FAILED:
		doc_report(d, DOC_FAIL, "journal", fix, "[%s] %s cannot open %s: %s", j->name, d->daemon.name,
			   what, msg);
		break;
	case J_UNREADABLE:
		doc_report(d, DOC_FAIL, "journal", fix, "[%s] %s cannot read %s: %s", j->name, d->daemon.name,
			   what, msg);
		break;
	default:
		doc_report(d, DOC_FAIL, "journal", NULL, "[%s] the check could not run: %s", j->name, msg);
	}
}

/* ---- spool ----------------------------------------------------------- */

static unsigned long long dir_bytes(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	unsigned long long sum = 0;

	if (!dp)
		return 0;
	while ((e = readdir(dp))) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			sum += (unsigned long long)st.st_size;
	}
	closedir(dp);
	return sum;
}

void doc_check_spool(struct doctor *d, const char *dir, unsigned long long max_size)
{
	char msg[256], fix[512], used_s[32], max_s[32], free_s[32];
	struct stat st;
	struct statvfs vfs;

	if (stat(dir, &st) < 0) {
		/* not made yet: the nearest existing directory must let us make it */
		char *up = hvt_strdup(dir), *slash;
		while ((slash = strrchr(up, '/')) && slash != up && stat(up, &st) < 0)
			*slash = '\0';
		if (slash == up)
			up[1] = '\0';
		if (doc_access(&d->daemon, up, W_OK | X_OK, msg, sizeof msg)) {
			doc_report(d, DOC_OK, "spool", NULL, "%s does not exist yet; %s can create it in %s", dir,
				   d->daemon.name, up);
		} else {
			snprintf(fix, sizeof fix, "create it for %s: 'install -d -m 0700 -o %s %s'", d->daemon.name,
				 d->daemon.name, dir);
			doc_report(d, DOC_FAIL, "spool", fix, "%s does not exist and %s cannot create it in %s: %s",
				   dir, d->daemon.name, up, msg);
		}
		free(up);
		return;
	}
	if (!doc_access(&d->daemon, dir, W_OK | X_OK, msg, sizeof msg)) {
		snprintf(fix, sizeof fix, "'chown -R %s %s' (the forwarder does this itself when it starts as "
			 "root with [forwarder] user set)", d->daemon.name, dir);
		doc_report(d, DOC_FAIL, "spool", fix, "%s cannot write to %s: %s", d->daemon.name, dir, msg);
		return;
	}
	unsigned long long used = dir_bytes(dir);
	unsigned pct = max_size ? (unsigned)(used * 100 / max_size) : 0;
	human(used, used_s, sizeof used_s);
	human(max_size, max_s, sizeof max_s);
	if (pct >= SPOOL_WARN_PCT)
		doc_report(d, pct >= SPOOL_FAIL_PCT ? DOC_FAIL : DOC_WARN, "spool",
			   "the collector is not taking events fast enough, or not at all: see the collector "
			   "check above and 'hvtrail stats' on the collector",
			   "%s holds %s of max_size %s (%u%%); at max_size the forwarder %s", dir, used_s,
			   max_s, pct, "pauses its inputs (full_policy block) or drops the oldest events");
	if (statvfs(dir, &vfs) == 0) {
		unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		human(avail, free_s, sizeof free_s);
		if (max_size > used && avail < max_size - used)
			doc_report(d, DOC_WARN, "spool", "free space there, or lower [spool] max_size",
				   "%s: the filesystem has %s free, less than the spool may still grow (to %s)",
				   dir, free_s, max_s);
	} else {
		snprintf(free_s, sizeof free_s, "?");
	}
	if (pct < SPOOL_WARN_PCT)
		doc_report(d, DOC_OK, "spool", NULL, "%s: writable by %s; %s used of %s (%u%%), %s free on its "
			   "filesystem", dir, d->daemon.name, used_s, max_s, pct, free_s);
}
