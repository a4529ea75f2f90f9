/* lv_obs.h - one observation: what the libvirt connection saw, as data.
 *
 * The libvirt thread turns each callback (a domain event, a domain found by
 * a resync listing, a snapshot list, a job that ended) into an observation
 * and queues it; the forwarder's thread maps observations into events
 * (lv_map.h).  Nothing here calls libvirt: an observation is plain data, so
 * recorded sequences replay through the mapping in the unit tests
 * (lv_obs_from_json reads the lab's event-watcher format). */
#ifndef HVT_LV_OBS_H
#define HVT_LV_OBS_H

#include <stdbool.h>
#include <json-c/json.h>

#define LV_UUID_LEN 37                 /* VIR_UUID_STRING_BUFLEN */

enum lv_obs_kind {
	LV_OBS_LIFECYCLE = 1,   /* event, detail (VIR_DOMAIN_EVENT_*) */
	LV_OBS_REBOOT,
	LV_OBS_ITERATION,       /* n = migration iteration */
	LV_OBS_JOB_COMPLETED,   /* params: the job's statistics (libvirt's event) */
	LV_OBS_JOB_ENDED,       /* polled: n = job type (COMPLETED/FAILED/CANCELLED), params
				 * (NULL: libvirt kept no statistics of it; s1 says so) */
	LV_OBS_JOB_SEEN,        /* polled: a job runs (job_type, job_op, job_elapsed_ms) */
	LV_OBS_BLOCK_JOB,       /* s1 = disk target, n = job type, status */
	LV_OBS_DEVICE_ADDED,    /* s1 = device alias */
	LV_OBS_DEVICE_REMOVED,
	LV_OBS_DEVICE_REMOVAL_FAILED,
	LV_OBS_IO_ERROR,        /* s1 = source path, s2 = device alias, n = action, s3 = reason */
	LV_OBS_WATCHDOG,        /* n = action */
	LV_OBS_QEMU,            /* passthrough: s1 = QEMU event, s2 = its data (JSON), qemu_ts_us */
	LV_OBS_SNAPSHOTS,       /* snaps = every snapshot the domain has now */
	LV_OBS_CONNECTED,       /* s1 = libvirt's host UUID, s2 = its host name */
	LV_OBS_DOMAIN,          /* a domain of a resync listing: state, reason, persistent, jobs */
	LV_OBS_RESYNC_END,      /* the listing is complete: what it did not name is gone */
	LV_OBS_DISCONNECTED,    /* s1 = why */
	LV_OBS_KIND_MAX
};

struct lv_obs {
	struct lv_obs *next;          /* queue link */
	enum lv_obs_kind kind;
	long long ts_us;              /* realtime when the plugin saw it */
	char uuid[LV_UUID_LEN];       /* "" for connection-level observations */
	char *name;
	int id;                       /* libvirt's domain id (-1: inactive) */
	int event, detail;            /* LIFECYCLE */
	int n, status;
	char *s1, *s2, *s3;
	long long qemu_ts_us;         /* QEMU: QEMU's own timestamp */
	json_object *params;          /* JOB_COMPLETED, JOB_ENDED: statistics (owned) */
	/* the domain's job when the event came (ITERATION, LIFECYCLE SUSPENDED),
	 * or in a DOMAIN record: job_type -1 = not asked */
	int job_type, job_op;
	long long job_elapsed_ms;
	/* DOMAIN */
	int state, reason;
	bool persistent;
	json_object *completed;       /* the last completed job's statistics, or NULL (owned) */
	json_object *snaps;           /* DOMAIN, SNAPSHOTS: array of lv_snapxml objects, or NULL */
	/* LIFECYCLE DEFINED/STARTED, DOMAIN: the definition gives QEMU a monitor
	 * of in_qmp's (lv_coexist.c); qmp_checked false = not looked at */
	bool qmp_checked, qmp_monitor;
};

struct lv_obs *lv_obs_new(enum lv_obs_kind kind, long long ts_us);
void lv_obs_free(struct lv_obs *o);

/* ---- names ----------------------------------------------------------------
 * libvirt's enums in words, lower case with '-' ("from-snapshot"), for the
 * events' data and log lines.  Unknown values give "unknown". */
const char *lv_event_name(int event);
const char *lv_detail_name(int event, int detail);
const char *lv_state_name(int state);
int lv_state_parse(const char *name);                     /* -1 if unknown */
const char *lv_reason_name(int state, int reason);
const char *lv_job_op_name(int op);
const char *lv_job_type_name(int type);
const char *lv_block_job_type_name(int type);
const char *lv_block_job_status_name(int status);
const char *lv_obs_kind_name(enum lv_obs_kind k);

/* ---- recorded sequences ----------------------------------------------------
 * One JSON object per observation, as the lab's event watcher wrote them
 * (/work/shared/lab/libvirt/ev.py):
 *   {"t": "06:04:59.015", "ev": "lifecycle", "dom": "tiny", "id": 1,
 *    "event": "STARTED", "detail": "BOOTED"}
 *   {"ev": "migration-iteration", "iteration": 2}, {"ev": "job-completed",
 *    "params": {...}}, {"ev": "connected", "domains": {...}}, ...
 * plus what this plugin adds ("uuid", "job_op", "snapshots", "state"...).
 * day_us is the midnight the "t" clock times refer to.  NULL with err set
 * when the line is not such an object. */
struct lv_obs *lv_obs_from_json(json_object *o, long long day_us, char *err, size_t errsize);
/* The same format back (for the debug dump and new fixtures). */
json_object *lv_obs_to_json(const struct lv_obs *o);

#endif
