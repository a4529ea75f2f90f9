/* qmp_peer.c - see qmp_peer.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "qmp_peer.h"
#include "util.h"

unsigned long long qmp_peer_start(pid_t pid)
{
	char path[64], buf[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: fields resume
	 * after the last ')'; starttime is field 22, the 20th after it */
	char *p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2])
		return 0;
	p++;
	/* a zombie (not yet reaped) or dead process has exited */
	if (p[1] == 'Z' || p[1] == 'X')
		return 0;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

bool qmp_peer_alive(pid_t pid, unsigned long long start)
{
	return pid > 0 && start && qmp_peer_start(pid) == start;
}

/* Boot time in realtime us: now - CLOCK_BOOTTIME (what /proc/PID/stat
 * counts from). */
static long long boot_us(void)
{
	struct timespec b;

	if (clock_gettime(CLOCK_BOOTTIME, &b) < 0)
		return 0;
	return hvt_now_us() - ((long long)b.tv_sec * 1000000 + b.tv_nsec / 1000);
}

int qmp_peer_of(int fd, struct qmp_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	char path[64];
	long hz = sysconf(_SC_CLK_TCK);

	memset(p, 0, sizeof *p);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	p->start = qmp_peer_start(cred.pid);
	if (p->start && hz > 0)
		p->start_us = boot_us() + (long long)(p->start * 1000000ULL / (unsigned long long)hz);
	snprintf(path, sizeof path, "/proc/%d/exe", (int)cred.pid);
	ssize_t n = readlink(path, p->exe, sizeof p->exe - 1);
	p->exe[n > 0 ? n : 0] = '\0';
	return 0;
}
