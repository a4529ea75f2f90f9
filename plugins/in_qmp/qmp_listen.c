/* qmp_listen.c - client mode: QEMU connects to the forwarder.
 *
 * Hosts without libvirt that start QEMU themselves (Proxmox VE's qm, scripts)
 * can point an extra monitor at one socket of the forwarder's instead of
 * making a socket per VM for it to find:
 *   -chardev socket,id=hvtrail,path=/run/hvtrail/qmp-client.sock,reconnect=5
 *   -mon chardev=hvtrail,mode=control
 * (reconnect-ms=5000 on QEMU 9.2 and later).  QEMU connects when it starts
 * and again whenever the connection drops - a forwarder restart included -
 * so a QEMU started before the forwarder is met once the socket is there.
 * Each connection is one VM: the kernel names the process (SO_PEERCRED),
 * QEMU names the VM (query-name, query-uuid), and the process's pid and
 * start time tell a reconnect from a new QEMU (qmp_endpoint.c).  Anyone who
 * may write the socket may connect and claim to be any VM, so it is made
 * with listen_mode (0660 by default) and every VM's events carry the peer's
 * pid, uid and executable. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "in_qmp.h"
#include "log.h"

#define CHECK_US 1000000LL

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct qmp_input *in = userdata;

	(void)s;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				hvt_warn("in_qmp: %s: accept: %s", in->listen, strerror(errno));
			return 0;
		}
		struct qmp_peer peer;
		int r = qmp_peer_of(c, &peer);
		if (r < 0 || peer.pid <= 0) {
			in->clients_refused++;
			hvt_warn("in_qmp: %s: a peer the kernel cannot name (%s): refused", in->listen,
				 r < 0 ? strerror(-r) : "no pid");
			close(c);
			continue;
		}
		hvt_debug("in_qmp: %s: pid %d (uid %d, %s) connected", in->listen, (int)peer.pid,
			  (int)peer.uid, peer.exe[0] ? peer.exe : "?");
		qmp_endpoint_accepted(in, c, &peer);
	}
	return 0;
}

static int on_check(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct qmp_input *in = userdata;

	qmp_endpoint_check_clients(in);
	sd_event_source_set_time(s, usec + CHECK_US);
	sd_event_source_set_enabled(s, SD_EVENT_ON);
	return 0;
}

int qmp_listen_start(struct qmp_input *in)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	uint64_t now;

	in->listen_fd = -1;
	if (!in->listen || !*in->listen)
		return 0;
	/* a socket left by an earlier run (the state directory's lock says
	 * no other forwarder runs); anything else there is not ours to remove */
	if (lstat(in->listen, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			hvt_err("in_qmp: listen %s exists and is not a socket", in->listen);
			return -1;
		}
		unlink(in->listen);
	}
	memcpy(sa.sun_path, in->listen, strlen(in->listen) + 1);   /* length checked by check() */
	in->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0777 & ~in->listen_mode);
	int r = in->listen_fd < 0 ? -1 : bind(in->listen_fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || chmod(in->listen, in->listen_mode) < 0 || listen(in->listen_fd, 64) < 0) {
		hvt_err("in_qmp: cannot listen on %s: %s", in->listen, strerror(errno));
		return -1;
	}
	sd_event_now(in->loop, CLOCK_MONOTONIC, &now);
	if (sd_event_add_io(in->loop, &in->listener, in->listen_fd, EPOLLIN, on_accept, in) < 0 ||
	    sd_event_add_time(in->loop, &in->client_timer, CLOCK_MONOTONIC, now + CHECK_US, 100000,
			      on_check, in) < 0) {
		hvt_err("in_qmp: cannot register %s with the event loop", in->listen);
		return -1;
	}
	sd_event_source_set_enabled(in->client_timer, SD_EVENT_ON);
	if (in->paused)
		sd_event_source_set_enabled(in->listener, SD_EVENT_OFF);
	hvt_info("in_qmp: listening on %s (mode %04o) for QEMUs that connect (client mode)", in->listen,
		 in->listen_mode);
	qmp_endpoint_client_orphans(in);
	return 0;
}

void qmp_listen_set_paused(struct qmp_input *in, bool paused)
{
	/* paused: new connections wait in the backlog */
	if (in->listener)
		sd_event_source_set_enabled(in->listener, paused ? SD_EVENT_OFF : SD_EVENT_ON);
}

void qmp_listen_stop(struct qmp_input *in)
{
	in->listener = sd_event_source_disable_unref(in->listener);
	in->client_timer = sd_event_source_disable_unref(in->client_timer);
	if (in->listen_fd >= 0) {
		close(in->listen_fd);
		/* QEMU keeps reconnecting to the path: a restart finds it again */
		unlink(in->listen);
	}
	in->listen_fd = -1;
}
