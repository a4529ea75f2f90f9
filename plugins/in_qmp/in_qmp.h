/* in_qmp.h - the plugin's own state, shared by its event-loop files:
 *   in_qmp.c        plugin struct, config, run/stop, pause, stats
 *   qmp_watch.c     the socket directory: initial scan + inotify
 *   qmp_endpoint.c  one socket: connect, back-off, conn <-> normaliser
 * The protocol (qmp_conn.c) and the pure logic (qmp_normalise.c and
 * friends) do not see this. */
#ifndef HVT_IN_QMP_H
#define HVT_IN_QMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hvtrail-plugin.h"
#include "qmp_conn.h"
#include "qmp_normalise.h"
#include "qmp_peer.h"

/* Endpoints of QEMUs that connected to the listen socket are named after
 * the process: "client-<pid>" (and so are their state files). */
#define QMP_CLIENT_PREFIX "client-"

struct qmp_endpoint;

struct qmp_input {
	struct hvt_instance *inst;
	sd_event *loop;
	/* config */
	char *socket_dir;             /* "" = no directory to watch (client mode only) */
	char *pattern;
	char *listen;                 /* client mode's socket, or "" */
	unsigned listen_mode;
	char *state_dir;              /* STATE_DIR/<instance>: VM states across restarts, or NULL */
	unsigned max_sockets;
	long long reconnect_min_us, reconnect_max_us;
	long long block_poll_us;      /* 0 = no periodic block poll */
	struct qmp_conn_opts copts;
	struct qmp_norm_opts nopts;
	/* directory watch */
	sd_event_source *inotify;
	sd_event_source *dir_retry;   /* while socket_dir is missing */
	sd_event_source *rescan;      /* deferred rescan (never from inside a sweep) */
	bool dir_missing_logged;
	/* sockets */
	struct qmp_endpoint *endpoints;
	unsigned nendpoints;
	bool over_limit;              /* sockets were ignored: rescan when one leaves */
	sd_event_source *poll_timer;
	bool paused;
	bool stopping;
	bool orphans_checked;         /* state files of sockets gone while we were down */
	/* client mode (qmp_listen.c) */
	int listen_fd;
	sd_event_source *listener;
	sd_event_source *client_timer;
	/* counters */
	struct qmp_conn_stats cstats;
	uint64_t emitted, connects, connect_failures, contacts, vanished, ignored_over_limit,
		 foreign_skipped, clients_refused;
};

/* ---- qmp_endpoint.c ---------------------------------------------------------- */
/* The socket NAME (in socket_dir) exists: track it and connect.  urgent:
 * it was just (re)created, so a pending back-off is cut short. */
void qmp_endpoint_seen(struct qmp_input *in, const char *name, bool urgent);
/* NAME was removed from socket_dir. */
void qmp_endpoint_removed(struct qmp_input *in, const char *name);
struct qmp_endpoint *qmp_endpoint_find(struct qmp_input *in, const char *name);
/* Forget endpoints whose file is gone and that hold no connection
 * (after a rescan marked the ones it saw). */
void qmp_endpoint_sweep(struct qmp_input *in);
void qmp_endpoint_mark_all(struct qmp_input *in, bool seen);
void qmp_endpoint_free_all(struct qmp_input *in);
void qmp_endpoint_set_paused(struct qmp_input *in, bool paused);
void qmp_endpoint_poll_all(struct qmp_input *in);
unsigned qmp_endpoint_count_ready(struct qmp_input *in);
/* The events emitted so far are durable: save the VMs' state that changed. */
void qmp_endpoint_committed(struct qmp_input *in);
/* After the first scan: VMs whose state was saved but whose socket is gone
 * ended while the forwarder was down; report them and drop their state. */
void qmp_endpoint_report_orphans(struct qmp_input *in);

/* Client mode: a QEMU connected to the listen socket (fd taken over). */
void qmp_endpoint_accepted(struct qmp_input *in, int fd, const struct qmp_peer *peer);
/* Client endpoints whose process is gone: report and forget them. */
void qmp_endpoint_check_clients(struct qmp_input *in);
/* At start: client states saved before a restart; their QEMUs reconnect. */
void qmp_endpoint_client_orphans(struct qmp_input *in);

/* ---- qmp_listen.c ------------------------------------------------------------ */
int qmp_listen_start(struct qmp_input *in);
void qmp_listen_stop(struct qmp_input *in);
void qmp_listen_set_paused(struct qmp_input *in, bool paused);

/* ---- qmp_watch.c ------------------------------------------------------------- */
int qmp_watch_start(struct qmp_input *in);
void qmp_watch_stop(struct qmp_input *in);
/* Read socket_dir again (inotify overflow). */
void qmp_watch_rescan(struct qmp_input *in);
/* The same, from the event loop shortly (a slot freed under max_sockets,
 * found while endpoints are being swept). */
void qmp_watch_rescan_soon(struct qmp_input *in);

#endif
