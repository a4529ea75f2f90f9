/* lv_map_priv.h - the mapping's per-domain record, shared by its files:
 *   lv_map.c         the table, dispatch, event helpers, save/load/replay
 *   lv_map_life.c    lifecycle: defined, started, paused, resumed, stopped...
 *   lv_map_jobs.c    migrations, jobs (save, snapshot), block jobs, QEMU's
 *                    own events (passthrough)
 *   lv_map_devices.c reboot, devices, I/O errors, watchdog
 *   lv_map_snap.c    snapshot lists
 *   lv_map_resync.c  a (re)connect's listing against the view
 * Nothing outside the mapping includes this. */
#ifndef HVT_LV_MAP_PRIV_H
#define HVT_LV_MAP_PRIV_H

#include "lv_map.h"
#include "lv_view.h"

#define SEV_CRIT 2
#define SEV_ERR 3
#define SEV_WARNING 4
#define SEV_NOTICE 5
#define SEV_INFO 6

#define IO_ERROR_WINDOW_US 10000000LL

struct lv_dom {
	struct lv_dom *next;
	struct lv_view v;             /* what the trail says (lv_view.h) */
	/* work: never persisted */
	bool listed;                  /* named by the resync under way */
	bool qmp_monitor;             /* in_qmp reports this domain (lv_coexist.c) */
	int job_op;                   /* the job under way (VIR_DOMAIN_JOB_OPERATION_*), -1 */
	long long job_stop_ts;        /* the VM was paused for that job at */
	bool pause_folded;            /* ... and that pause was not reported */
	long long job_paused_us;      /* how long a snapshot job kept it paused */
	int passes;                   /* migration iterations seen */
	long long mig_stop_ts;        /* the source paused for the switch-over */
	char shutdown_by[16];         /* who asked QEMU to shut down (for vm.stopped) */
	json_object *save_job;        /* job-completed of a save, for its vm.stopped */
	struct hvt_event *held;       /* migration.completed waiting for its figures */
	long long held_deadline;
	long long io_win_ts;          /* block.io_error budget */
	unsigned io_in_win, io_dropped;
};

struct lv_map {
	struct lv_map_opts o;
	char *uri;
	struct lv_map_ops ops;
	void *arg;
	struct lv_dom *doms;
	char host_uuid[LV_UUID_LEN];  /* the libvirtd the view is about */
	bool dirty;
	bool resyncing;               /* between CONNECTED and RESYNC_END */
	bool connected_once;
	long long disconnected_ts;
	struct lv_map_stats st;
};

/* ---- lv_map.c ----------------------------------------------------------- */
struct lv_dom *dom_find(struct lv_map *m, const char *uuid);
/* Found, or a new record with an empty view (named after o). */
struct lv_dom *dom_get(struct lv_map *m, const struct lv_obs *o);
/* A new event about d: vm name/uuid, ts, data.uri, data.domain_id. */
struct hvt_event *dom_event(struct lv_map *m, struct lv_dom *d, const char *type, int severity,
			    long long ts_us);
/* The libvirt event it came from, as data.libvirt. */
void ev_libvirt(struct hvt_event *ev, const char *event, const char *detail);
void ev_str(struct hvt_event *ev, const char *key, const char *v);    /* skips NULL */
void ev_int(struct hvt_event *ev, const char *key, long long v);
void ev_bool(struct hvt_event *ev, const char *key, bool v);
void ev_state(struct hvt_event *ev, int state);                          /* data.state */
void ev_late(struct hvt_event *ev);                           /* LATE, observed: resync */
/* Send: release d's held event first, move the view, emit (or keep back a
 * domain in_qmp reports).  d may be freed when it ceased to exist. */
void dom_send(struct lv_map *m, struct lv_dom *d, struct hvt_event *ev);
/* Release d's held event now (without the figures it waited for). */
void dom_release_held(struct lv_map *m, struct lv_dom *d);
void dom_forget(struct lv_map *m, struct lv_dom *d);
/* Typed statistics as JSON -> the figures keys of migration/save events. */
void ev_job_figures(struct hvt_event *ev, json_object *params);
long long jparam(json_object *params, const char *key);                   /* -1 if absent */
const char *jparam_str(json_object *params, const char *key);

/* ---- per area ------------------------------------------------------------ */
void map_lifecycle(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_iteration(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_job_completed(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_job_ended(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_job_seen(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_block_job(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_qemu(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_device(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
void map_snapshots(struct lv_map *m, struct lv_dom *d, json_object *snaps, long long ts_us,
		   bool late);
void map_connected(struct lv_map *m, const struct lv_obs *o);
void map_domain(struct lv_map *m, const struct lv_obs *o);
void map_resync_end(struct lv_map *m, const struct lv_obs *o);
void map_disconnected(struct lv_map *m, const struct lv_obs *o);

/* lv_map_jobs.c: the migration/job side of a lifecycle event; true when it
 * was folded into a migration or job (nothing more to report). */
bool jobs_on_lifecycle(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);
/* A migration's end found by a resync (the VM left, came back, or stayed). */
void jobs_resync_outcome(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o);

#endif
