/* in_libvirt.h - one in_libvirt instance, shared by its files:
 *   in_libvirt.c     plugin struct, config, init/run/stop, pause, stats
 *   lv_persist.c     the view on disk, and the spool replay after a crash
 *   lv_conn.c        [libvirt thread] the connection: connect, keepalive,
 *                    close, back-off, throttling
 *   lv_events.c      [libvirt thread] event registration and callbacks
 *   lv_resync.c      [libvirt thread] domain listing, job watch, snapshot
 *                    lists
 *   lv_coexist.c     which domains in_qmp reports (their definition gives
 *                    QEMU a monitor in an in_qmp socket directory)
 * Fields marked [lv] belong to the libvirt thread, [fwd] to the forwarder's
 * thread; the rest are set before the thread sees the instance and only
 * read afterwards, or are the queue (locked). */
#ifndef HVT_IN_LIBVIRT_H
#define HVT_IN_LIBVIRT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <systemd/sd-event.h>
#include <libvirt/libvirt.h>

#include "hvtrail-plugin.h"
#include "log.h"
#include "lv_loop.h"
#include "lv_map.h"
#include "lv_queue.h"

#define LV_NCALLBACKS 10

enum lv_qemu_events { LV_QEMU_AUTO, LV_QEMU_OFF };

enum lv_conn_state {
	LVC_IDLE,                     /* no connection; retry timer armed (or throttled) */
	LVC_LIVE,                     /* connected, events registered, resync sent */
	LVC_STOPPED,                  /* the instance is going away */
};

struct lv_snapcache;
struct lv_watch;

struct lv_input {
	struct hvt_instance *inst;
	/* configuration */
	char *uri;
	bool readonly;
	enum lv_qemu_events qemu_events;
	int keepalive_interval_s;
	unsigned keepalive_count;
	long long reconnect_min_us, reconnect_max_us;
	long long poll_us;            /* snapshot lists and jobs; 0 = only after events */
	long long job_poll_us;
	unsigned max_queue;
	char **qmp_dirs;              /* in_qmp's socket directories (lv_coexist.c) */
	int nqmp_dirs;
	struct lv_map_opts mopts;
	char *state_dir;              /* STATE_DIR/<instance> */
	FILE *record;                 /* record_observations, or NULL */

	struct lv_queue q;

	/* [fwd] */
	sd_event *loop;
	sd_event_source *qio;         /* the queue's eventfd */
	sd_event_source *hold_timer;  /* the mapping's held events */
	struct lv_map *map;
	bool paused;
	bool running;
	bool stopping;                /* stop(): the last drain ignores paused (see drain) */
	bool loop_held;               /* counted as a user of the libvirt thread */
	char *view_path;
	uint64_t emitted;

	/* [lv] */
	virConnectPtr conn;
	enum lv_conn_state state;
	int retry_timer;              /* -1 = none */
	int lost_timer;               /* teardown pending (lv_conn_lost) */
	char lost_why[128];
	long long backoff_us;
	bool throttled;               /* let go of libvirt until the forwarder reads again */
	int cb[LV_NCALLBACKS];
	int ncb;
	int qemu_cb;                  /* -1 = not registered */
	bool said_qemu_events;        /* "cannot see QEMU's own events" said once */
	char last_fail[256];          /* the connect failure last logged */
	struct lv_snapcache *snaps;
	int snap_timer, snap_soon_timer;
	struct lv_watch *watch;       /* outgoing migrations whose job is polled */
	int watch_timer;
	pthread_mutex_t stat_lock;    /* the counters below, read by stats() */
	unsigned long long connects, connect_failures, disconnects, callbacks, throttles;
	bool connected;
};

/* ---- lv_conn.c [lv] ------------------------------------------------------------ */
void lv_conn_start(void *in);         /* lv_loop_call targets */
void lv_conn_stop(void *in);
void lv_conn_unthrottle(void *in);
/* Queue an observation; at the queue's bound, let go of libvirt. */
void lv_conn_push(struct lv_input *in, struct lv_obs *o);
/* The connection died or must be dropped: tear down, say why, retry later. */
void lv_conn_lost(struct lv_input *in, const char *why);

/* ---- lv_events.c [lv] ---------------------------------------------------------- */
int lv_events_register(struct lv_input *in);
void lv_events_deregister(struct lv_input *in);
/* Fill o's domain identity from dom. */
void lv_obs_domain(struct lv_obs *o, virDomainPtr dom);
/* The domain's current job into o (job_type, job_op, job_elapsed_ms). */
void lv_obs_job(struct lv_obs *o, virDomainPtr dom);
/* Typed parameters as a JSON object. */
json_object *lv_params_json(virTypedParameterPtr p, int n);

/* ---- lv_resync.c [lv] ---------------------------------------------------------- */
/* After connecting: CONNECTED, one DOMAIN per domain, RESYNC_END. */
void lv_resync(struct lv_input *in);
/* Watch dom's outgoing migration job until it ends (LV_OBS_JOB_ENDED). */
void lv_watch_add(struct lv_input *in, const char *uuid);
void lv_watch_remove(struct lv_input *in, const char *uuid);
/* Look at dom's snapshot list soon (after one of its events). */
void lv_snaps_soon(struct lv_input *in, const char *uuid);
void lv_resync_timers_start(struct lv_input *in);
void lv_resync_stop(struct lv_input *in);     /* timers off, watch dropped */
void lv_resync_free(void *in);                /* and the snapshot cache (lv_loop_call) */

/* ---- lv_coexist.c ------------------------------------------------------------- */
/* in_qmp's socket directories, from the forwarder's configuration. */
void lv_coexist_configure(struct lv_input *in);
/* [lv] Does dom's definition give QEMU a monitor in one of them? */
bool lv_coexist_qmp_monitor(struct lv_input *in, virDomainPtr dom, bool *checked);

/* ---- lv_persist.c [fwd] -------------------------------------------------------- */
/* Load the saved view and replay this input's events the spool holds
 * after it.  -1: the state directory is unusable (logged). */
int lv_persist_load(struct lv_input *in);
void lv_persist_save(struct lv_input *in);

#endif
