/* doctor_creds.c - run a check as the forwarder (or QEMU) would.
 *
 * Whether the forwarder can read its key, list the QMP directory or open
 * the journal depends on its uid and groups, not on ours: an operator runs
 * `hvtrail doctor` as root, who can read everything.  Permission bits can
 * be judged by hand, but ACLs, supplementary groups and the journal's own
 * access rules cannot, so a check that depends on them runs in a child
 * process that has dropped to exactly the daemon's credentials and simply
 * tries. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor.h"
#include "util.h"

int doc_creds_resolve(struct doc_creds *c, const char *user, const char *group, bool all_groups,
		      const char *extra_group)
{
	struct passwd *pw = getpwnam(user);
	struct group *gr;

	c->valid = false;
	hvt_strlcpy(c->name, user, sizeof c->name);
	if (!pw)
		return -1;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	if (group && *group) {
		if (!(gr = getgrnam(group)))
			return -1;
		c->gid = gr->gr_gid;
	}
	c->ngroups = 1;
	c->groups[0] = c->gid;
	if (all_groups) {
		/* systemd's User= gives the user's groups from the group database */
		int n = (int)HVT_ARRAY_SIZE(c->groups) - 1;
		if (getgrouplist(user, c->gid, c->groups, &n) < 0)
			n = (int)HVT_ARRAY_SIZE(c->groups) - 1;
		c->ngroups = n;
		if (extra_group && (gr = getgrnam(extra_group))) {
			bool have = false;
			for (int i = 0; i < n; i++)
				have |= c->groups[i] == gr->gr_gid;
			if (!have)
				c->groups[c->ngroups++] = gr->gr_gid;
		}
	}
	c->switch_to = geteuid() == 0 && c->uid != 0;
	c->valid = true;
	return 0;
}

static int drop_to(const struct doc_creds *c)
{
	return setgroups((size_t)c->ngroups, c->groups) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
	       setresuid(c->uid, c->uid, c->uid) < 0 ? -1 : 0;
}

int doc_as(const struct doc_creds *c, int (*fn)(void *arg, char *msg, size_t size), void *arg,
	   char *msg, size_t size)
{
	int pfd[2], status;
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	msg[0] = '\0';
	if (!c->switch_to)
		return fn(arg, msg, size);
	if (pipe(pfd) < 0) {
		snprintf(msg, size, "cannot run the check as %s: pipe: %s", c->name, strerror(errno));
		return -1;
	}
	fflush(NULL);       /* the child must not print our buffered output again */
	pid = fork();
	if (pid < 0) {
		snprintf(msg, size, "cannot run the check as %s: fork: %s", c->name, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int rc = 255;
		close(pfd[0]);
		if (drop_to(c) < 0)
			snprintf(msg, size, "cannot switch to user %s: %s", c->name, strerror(errno));
		else
			rc = fn(arg, msg, size) & 0xff;
		(void)!write(pfd[1], msg, strlen(msg));
		_exit(rc);
	}
	close(pfd[1]);
	while (got + 1 < size && (n = read(pfd[0], msg + got, size - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	msg[got] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

struct access_arg {
	const char *path;
	int mode;
};

static int try_access(void *arg, char *msg, size_t size)
{
	const struct access_arg *a = arg;

	/* after the switch real and effective ids are the daemon's, so
	 * access() answers for it, ACLs and all */
	if (access(a->path, a->mode) == 0)
		return 0;
	snprintf(msg, size, "%s", strerror(errno));
	return 1;
}

bool doc_access(const struct doc_creds *c, const char *path, int mode, char *msg, size_t size)
{
	struct access_arg a = { path, mode };

	return doc_as(c, try_access, &a, msg, size) == 0;
}
