/* daemon.c - see daemon.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <dirent.h>
#include <stdint.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "spool.h"
#include "util.h"

static void usage(FILE *f, const char *prog, const char *default_config, const char *store,
		  const char *summary)
{
	fprintf(f,
		"Usage: %s [-c FILE] [--check-config] [-d]\n"
		"%s\n\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"      --check-config  check the configuration (and the files it names) and exit;\n"
		"                      problems are printed as FILE:LINE: problem, exit status 1\n"
		"      --check-%s     verify every record of the %s (the daemon must be stopped);\n"
		"                      exit status 0 intact, 1 damage found, 2 cannot check\n"
		"      --repair-%s    set damaged records aside (DIR/damaged/, with the reason) and\n"
		"                      keep every intact one, as a start does; exit status 0 or 2\n"
		"  -d, --debug         log at debug level\n"
		"      --list-plugins  load and list the plugins the configuration names\n"
		"      --print-schema[=FORMAT]\n"
		"                      print every configuration key: markdown (the default,\n"
		"                      docs/config.md) or man (troff, hvtrail.conf(5))\n"
		"  -V, --version       print the version\n"
		"  -h, --help          this help\n", prog, summary, default_config, store, store, store);
}

void hvt_daemon_parse_args(int argc, char **argv, const char *prog, const char *default_config,
			   const char *store, const char *summary, struct hvt_daemon_args *a)
{
	char check_opt[32], repair_opt[32];

	snprintf(check_opt, sizeof check_opt, "check-%s", store);
	snprintf(repair_opt, sizeof repair_opt, "repair-%s", store);
	const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ check_opt, no_argument, NULL, 'K' },
		{ repair_opt, no_argument, NULL, 'R' },
		{ "debug", no_argument, NULL, 'd' },
		{ "list-plugins", no_argument, NULL, 'L' },
		{ "print-schema", optional_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(a, 0, sizeof *a);
	a->config = default_config;
	while ((c = getopt_long(argc, argv, "c:dVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'C': a->check_config = true; break;
		case 'd': a->debug = true; break;
		case 'L': a->list_plugins = true; break;
		case 'K': a->check_store = true; break;
		case 'R': a->repair_store = true; break;
		case 'S':
			/* the daemons print through hvt_conf_schema_markdown, which
			 * follows the format chosen here */
			if (optarg && strcmp(optarg, "man") == 0) {
				hvt_conf_schema_set_format(HVT_SCHEMA_MAN);
			} else if (optarg && strcmp(optarg, "markdown") != 0) {
				fprintf(stderr, "%s: --print-schema takes markdown or man, not '%s'\n", prog, optarg);
				exit(2);
			}
			a->print_schema = true;
			break;
		case 'V': printf("%s %s\n", prog, PACKAGE_VERSION); exit(0);
		case 'h': usage(stdout, prog, default_config, store, summary); exit(0);
		default: usage(stderr, prog, default_config, store, summary); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr, prog, default_config, store, summary);
		exit(2);
	}
}

int hvt_daemon_check_store(const struct hvt_spool_opts *o, const char *state_dir, const char *prog,
			   bool repair)
{
	char err[512];
	struct stat st;

	if (stat(state_dir, &st) < 0) {
		fprintf(stderr, "%s: there is no state directory %s: %s\n", prog, state_dir, strerror(errno));
		return 2;
	}
	if (hvt_lock_state_dir(state_dir, prog) < 0)
		return 2;         /* the log line names the process that has it */
	int rc = hvt_spool_check(o, repair, stdout, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 2;
	}
	return rc;
}

void hvt_daemon_notify(const char *state)
{
	sd_notify(0, state);
}

static int lookup(const char *user, const char *group, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		hvt_log(LOG_ERR, "user '%s' does not exist", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (!gr) {
			hvt_log(LOG_ERR, "group '%s' does not exist", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* The hand-over walk runs as root through directories the service user
 * owns, so everything is done relative to a directory file descriptor and
 * without following a symbolic link: a name swapped for a link to
 * /etc/shadow between our look and our chown meets O_NOFOLLOW, and a
 * directory swapped for a link cannot lead the walk out of the tree
 * (found by review: nftw() walked paths and chmod() followed links).  A
 * file with more than one hard link is left alone: it may be a link to a
 * file outside the tree (on a system without fs.protected_hardlinks). */
struct walk {
	uid_t uid;
	gid_t gid;
	dev_t dev;                    /* stay on the file system we started on */
	unsigned handed, tightened;
	int err;
};

#define WALK_MAX_DEPTH 32

/* Give the open file fd (described by st, reached as path) to the user. */
static void hand_fd(struct walk *w, int fd, const struct stat *st, const char *path)
{
	if ((st->st_uid != w->uid || st->st_gid != w->gid) && fchown(fd, w->uid, w->gid) < 0) {
		hvt_log(LOG_ERR, "cannot hand %s to the daemon's user: %s", path, strerror(errno));
		w->err = -1;
		return;
	}
	w->handed++;
	if ((st->st_mode & 077) && fchmod(fd, st->st_mode & 07700) == 0) {
		hvt_log(LOG_NOTICE, "%s was accessible to group or others (mode %04o); now %04o", path,
			(unsigned)(st->st_mode & 07777), (unsigned)(st->st_mode & 07700));
		w->tightened++;
	}
}

/* Open name in dir without following a link, and check that what was
 * opened is what fstatat saw (type and inode): 0 with *fd and *st, 1 to
 * skip it quietly, -1 on an error worth a line. */
static int open_entry(int dir, const char *name, const struct stat *seen, int *fd, struct stat *st)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

	if (S_ISDIR(seen->st_mode))
		flags |= O_DIRECTORY;
	*fd = openat(dir, name, flags);
	if (*fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 1 : -1;
	if (fstat(*fd, st) < 0 || st->st_ino != seen->st_ino || st->st_dev != seen->st_dev ||
	    (st->st_mode & S_IFMT) != (seen->st_mode & S_IFMT)) {
		close(*fd);
		return 1;             /* replaced meanwhile: not what we looked at */
	}
	return 0;
}

static void walk_dir(struct walk *w, int dir, const char *path, int depth)
{
	int dfd = dup(dir);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		hvt_log(LOG_ERR, "cannot read %s: %s", path, strerror(errno));
		w->err = -1;
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat seen, st;
		int fd;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dir, e->d_name, &seen, AT_SYMLINK_NOFOLLOW) < 0)
			continue;         /* vanished meanwhile (a segment deleted) */
		if ((!S_ISDIR(seen.st_mode) && !S_ISREG(seen.st_mode)) || seen.st_dev != w->dev)
			continue;         /* links, sockets, FIFOs; other file systems */
		char *sub = hvt_asprintf("%s/%s", path, e->d_name);
		if (S_ISREG(seen.st_mode) && seen.st_nlink > 1) {
			hvt_log(LOG_WARNING, "%s has %ju hard links: not handing it to the daemon's user (it may "
				"be a link to a file elsewhere)", sub, (uintmax_t)seen.st_nlink);
			free(sub);
			continue;
		}
		int rc = open_entry(dir, e->d_name, &seen, &fd, &st);
		if (rc < 0) {
			hvt_log(LOG_ERR, "cannot open %s: %s", sub, strerror(errno));
			w->err = -1;
		} else if (rc == 0) {
			hand_fd(w, fd, &st, sub);
			if (S_ISDIR(st.st_mode)) {
				if (depth < WALK_MAX_DEPTH)
					walk_dir(w, fd, sub, depth + 1);
				else
					hvt_log(LOG_WARNING, "%s is nested deeper than %d directories: not handing over "
						"what is below it", sub, WALK_MAX_DEPTH);
			}
			close(fd);
		}
		free(sub);
	}
	closedir(d);
}

int hvt_hand_over(const char *path, const char *user, const char *group)
{
	struct walk w = { 0 };
	struct stat st;

	if (!user || !*user || !path || !*path)
		return 0;
	if (lookup(user, group, &w.uid, &w.gid) < 0)
		return -1;
	/* the configured path itself may be a symlink (the operator's choice);
	 * nothing below it is followed */
	int top = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0 && errno == ENOENT)
		return 0;
	if (top < 0 || fstat(top, &st) < 0) {
		hvt_log(LOG_ERR, "cannot open %s to hand it to %s: %s", path, user, strerror(errno));
		if (top >= 0)
			close(top);
		return -1;
	}
	w.dev = st.st_dev;
	hand_fd(&w, top, &st, path);
	walk_dir(&w, top, path, 1);
	close(top);
	hvt_debug("handed %u files and directories under %s to %s", w.handed, path, user);
	return w.err;
}

int hvt_drop_privileges(const char *user, const char *group)
{
	uid_t uid;
	gid_t gid;

	umask(077);
	if (!user || !*user)
		return 0;
	if (lookup(user, group, &uid, &gid) < 0)
		return -1;
	if (getuid() == uid && geteuid() == uid)
		return 0;
	/* the user's groups as /etc/group lists them (a forwarder reading the
	 * journal is in systemd-journal), with gid as the primary one */
	if (initgroups(user, gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		hvt_log(LOG_ERR, "cannot drop privileges to %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {       /* must not be able to regain root */
		hvt_log(LOG_CRIT, "privileges could be regained after dropping them; refusing to run");
		return -1;
	}
	hvt_log(LOG_INFO, "running as user %s (uid %d, gid %d)", user, (int)uid, (int)gid);
	return 0;
}

/* Is the file's group one of the user's after the drop (gid and the
 * groups /etc/group lists the user in: initgroups)? */
static bool in_groups(const char *user, gid_t gid, gid_t file_gid)
{
	gid_t groups[256];
	int n = (int)HVT_ARRAY_SIZE(groups);

	if (file_gid == gid)
		return true;
	if (getgrouplist(user, gid, groups, &n) < 0)
		n = (int)HVT_ARRAY_SIZE(groups);      /* the first 256 are there */
	for (int i = 0; i < n; i++)
		if (groups[i] == file_gid)
			return true;
	return false;
}

/* Does the permission triple that applies to the user grant want? */
static bool grants(const struct stat *st, const char *user, uid_t uid, gid_t gid, mode_t want_user)
{
	mode_t bits = st->st_uid == uid ? want_user : in_groups(user, gid, st->st_gid) ? want_user >> 3 :
		      want_user >> 6;

	return (st->st_mode & bits) == bits;
}

int hvt_readable_after_drop(const char *path, const char *user, const char *group, char *err, size_t errsize)
{
	uid_t uid;
	gid_t gid;
	struct stat st;
	char dir[4096];

	err[0] = '\0';
	if (!user || !*user || !path || !*path)
		return 0;
	if (lookup(user, group, &uid, &gid) < 0) {
		snprintf(err, errsize, "user '%s' or group '%s' does not exist", user, group ? group : "");
		return -1;
	}
	if (uid == 0)
		return 0;
	/* every directory on the way must be searchable: after the drop the
	 * process has that uid, that group and the user's groups (initgroups) */
	hvt_strlcpy(dir, path, sizeof dir);
	for (char *sl = strchr(dir + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
		*sl = '\0';
		if (stat(dir, &st) == 0 && !grants(&st, user, uid, gid, S_IXUSR)) {
			snprintf(err, errsize, "directory %s (%d:%d, mode %04o) cannot be searched by user %s", dir,
				 (int)st.st_uid, (int)st.st_gid, (unsigned)(st.st_mode & 07777), user);
			return -1;
		}
		*sl = '/';
	}
	if (stat(path, &st) == 0 && !grants(&st, user, uid, gid, S_IRUSR)) {
		snprintf(err, errsize, "%s (%d:%d, mode %04o) cannot be read by user %s", path, (int)st.st_uid,
			 (int)st.st_gid, (unsigned)(st.st_mode & 07777), user);
		return -1;
	}
	return 0;
}

char *hvt_default_hostname(void)
{
	char name[256];

	if (gethostname(name, sizeof name) < 0)
		return hvt_strdup("localhost");
	name[sizeof name - 1] = '\0';
	return hvt_strdup(name);
}

/* STATE_DIR/lock, opened as root in a directory the service user owns:
 * never through a symbolic link, never a file with other hard links
 * (truncating and writing a pid into a planted link to /etc/shadow would
 * destroy it).  Such a planted name is removed and the lock made anew. */
static int open_lock(const char *dir, const char *path)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (dfd < 0) {
		hvt_log(LOG_ERR, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
			close(dfd);
			return fd;
		}
		int e = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		if (fd < 0 && e != ELOOP) {
			hvt_log(LOG_ERR, "cannot open %s: %s", path, strerror(e));
			break;
		}
		hvt_log(LOG_WARNING, "%s is not a lock file of its own (a symbolic link, hard link or "
			"special file was put there); removing that name and making the lock anew", path);
		if (unlinkat(dfd, "lock", 0) < 0) {
			hvt_log(LOG_ERR, "cannot remove %s: %s", path, strerror(errno));
			break;
		}
	}
	close(dfd);
	return -1;
}

int hvt_lock_state_dir(const char *dir, const char *prog)
{
	char *path = hvt_asprintf("%s/lock", dir);
	int fd = open_lock(dir, path);

	if (fd < 0) {
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char other[32] = "";
		ssize_t n = pread(fd, other, sizeof other - 1, 0);
		other[n > 0 ? n : 0] = '\0';
		hvt_log(LOG_ERR, "%s is in use by another %s (pid %s); two daemons must never share a "
			"state directory", dir, prog, n > 0 ? hvt_str_trim(other) : "unknown");
		close(fd);
		free(path);
		return -1;
	}
	char pid[32];
	int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0)
		hvt_log(LOG_WARNING, "cannot write %s: %s", path, strerror(errno));
	free(path);
	return 0;     /* fd stays open: the lock lives as long as we do */
}

int hvt_private_key_check_gid(const char *path, gid_t group_may_read, char *err, size_t errsize)
{
	struct stat st;

	err[0] = '\0';
	if (!path || !*path || stat(path, &st) < 0)
		return 0;         /* a missing file is reported by whoever reads it */
	mode_t m = st.st_mode & 07777;
	const char *who = NULL;
	if (m & 0007)
		who = "others";
	else if (m & 0030)
		who = "its group (write or execute)";
	else if ((m & 0040) && (group_may_read == (gid_t)-1 || st.st_gid != group_may_read))
		who = "its group";
	if (!who)
		return 0;
	struct group *gr = getgrgid(st.st_gid);
	char gname[64];
	if (gr)
		snprintf(gname, sizeof gname, "%s", gr->gr_name);
	else
		snprintf(gname, sizeof gname, "%d", (int)st.st_gid);
	if (group_may_read == (gid_t)-1)
		snprintf(err, errsize, "private key %s is accessible to %s (mode %04o, group %s): a private key "
			 "must be readable by its owner only: chmod 0600 it", path, who, (unsigned)m, gname);
	else {
		struct group *mine = getgrgid(group_may_read);
		char myname[64];
		snprintf(myname, sizeof myname, "%s", mine ? mine->gr_name : "?");
		snprintf(err, errsize, "private key %s is accessible to %s (mode %04o, group %s): a private key "
			 "must be readable by its owner only (0600), or also by the group the daemon runs as "
			 "(0640, group %s)", path, who, (unsigned)m, gname, myname);
	}
	return -1;
}

int hvt_private_key_check(const char *path, const char *user, const char *group, char *err, size_t errsize)
{
	uid_t uid;
	gid_t gid = getegid();        /* no user: the group we run as (systemd's Group=) */

	err[0] = '\0';
	if (user && *user && lookup(user, group, &uid, &gid) < 0) {
		snprintf(err, errsize, "user '%s' or group '%s' does not exist", user, group ? group : "");
		return -1;
	}
	return hvt_private_key_check_gid(path, gid, err, errsize);
}
