/* qmp_peer.h - who is at the other end of a monitor QEMU connected to us
 * (client mode): the kernel's word for it (SO_PEERCRED), and the process it
 * names, identified across pid reuse by its start time. */
#ifndef HVT_QMP_PEER_H
#define HVT_QMP_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct qmp_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	unsigned long long start;     /* /proc/PID/stat starttime (clock ticks since boot) */
	long long start_us;           /* the same, realtime; 0 = unknown */
	char exe[256];                /* /proc/PID/exe, "" when unreadable */
};

/* The peer of connected socket fd.  0, or -errno. */
int qmp_peer_of(int fd, struct qmp_peer *p);
/* Start time of pid (ticks since boot), 0 when the process is gone. */
unsigned long long qmp_peer_start(pid_t pid);
/* Does the process pid that started at start still run? */
bool qmp_peer_alive(pid_t pid, unsigned long long start);

#endif
