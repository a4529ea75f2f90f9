/* lv_obs.c - observations: allocation, libvirt's enums in words, and the
 * recorded-sequence format the unit tests replay. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "lv_obs.h"
#include "util.h"

struct lv_obs *lv_obs_new(enum lv_obs_kind kind, long long ts_us)
{
	struct lv_obs *o = hvt_calloc(1, sizeof *o);

	o->kind = kind;
	o->ts_us = ts_us;
	o->id = -1;
	o->job_type = o->job_op = -1;
	o->job_elapsed_ms = -1;
	o->state = o->reason = -1;
	return o;
}

void lv_obs_free(struct lv_obs *o)
{
	if (!o)
		return;
	free(o->name);
	free(o->s1);
	free(o->s2);
	free(o->s3);
	json_object_put(o->params);
	json_object_put(o->completed);
	json_object_put(o->snaps);
	free(o);
}

/* ---- names ---------------------------------------------------------------- */

#define NAME_AT(tbl, i) ((i) >= 0 && (size_t)(i) < HVT_ARRAY_SIZE(tbl) && (tbl)[i] ? (tbl)[i] : "unknown")

static const char *const event_names[] = {
	[VIR_DOMAIN_EVENT_DEFINED] = "defined", [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
	[VIR_DOMAIN_EVENT_STARTED] = "started", [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
	[VIR_DOMAIN_EVENT_RESUMED] = "resumed", [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
	[VIR_DOMAIN_EVENT_SHUTDOWN] = "shutdown", [VIR_DOMAIN_EVENT_PMSUSPENDED] = "pmsuspended",
	[VIR_DOMAIN_EVENT_CRASHED] = "crashed",
};

static const char *const defined_details[] = { "added", "updated", "renamed", "from-snapshot" };
static const char *const undefined_details[] = { "removed", "renamed" };
static const char *const started_details[] = { "booted", "migrated", "restored", "from-snapshot", "wakeup" };
static const char *const suspended_details[] = {
	"paused", "migrated", "io-error", "watchdog", "restored", "from-snapshot", "api-error",
	"postcopy", "postcopy-failed",
};
static const char *const resumed_details[] = {
	"unpaused", "migrated", "from-snapshot", "postcopy", "postcopy-failed",
};
static const char *const stopped_details[] = {
	"shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from-snapshot",
};
static const char *const shutdown_details[] = { "finished", "guest", "host" };
static const char *const pmsuspended_details[] = { "memory", "disk" };
static const char *const crashed_details[] = { "panicked", "crashloaded" };

const char *lv_event_name(int event)
{
	return NAME_AT(event_names, event);
}

const char *lv_detail_name(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED: return NAME_AT(defined_details, detail);
	case VIR_DOMAIN_EVENT_UNDEFINED: return NAME_AT(undefined_details, detail);
	case VIR_DOMAIN_EVENT_STARTED: return NAME_AT(started_details, detail);
	case VIR_DOMAIN_EVENT_SUSPENDED: return NAME_AT(suspended_details, detail);
	case VIR_DOMAIN_EVENT_RESUMED: return NAME_AT(resumed_details, detail);
	case VIR_DOMAIN_EVENT_STOPPED: return NAME_AT(stopped_details, detail);
	case VIR_DOMAIN_EVENT_SHUTDOWN: return NAME_AT(shutdown_details, detail);
	case VIR_DOMAIN_EVENT_PMSUSPENDED: return NAME_AT(pmsuspended_details, detail);
	case VIR_DOMAIN_EVENT_CRASHED: return NAME_AT(crashed_details, detail);
	}
	return "unknown";
}

static const char *const state_names[] = {
	[VIR_DOMAIN_NOSTATE] = "nostate", [VIR_DOMAIN_RUNNING] = "running",
	[VIR_DOMAIN_BLOCKED] = "blocked", [VIR_DOMAIN_PAUSED] = "paused",
	[VIR_DOMAIN_SHUTDOWN] = "shutting-down", [VIR_DOMAIN_SHUTOFF] = "shutoff",
	[VIR_DOMAIN_CRASHED] = "crashed", [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

const char *lv_state_name(int state)
{
	return NAME_AT(state_names, state);
}

int lv_state_parse(const char *name)
{
	for (size_t i = 0; name && i < HVT_ARRAY_SIZE(state_names); i++)
		if (state_names[i] && strcmp(state_names[i], name) == 0)
			return (int)i;
	return -1;
}

static const char *const running_reasons[] = {
	"unknown", "booted", "migrated", "restored", "from-snapshot", "unpaused",
	"migration-canceled", "save-canceled", "wakeup", "crashed", "postcopy", "postcopy-failed",
};
static const char *const paused_reasons[] = {
	"unknown", "user", "migration", "save", "dump", "io-error", "watchdog", "from-snapshot",
	"shutting-down", "snapshot", "crashed", "starting-up", "postcopy", "postcopy-failed",
	"api-error",
};
static const char *const shutoff_reasons[] = {
	"unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
	"from-snapshot", "daemon",
};

const char *lv_reason_name(int state, int reason)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING: return NAME_AT(running_reasons, reason);
	case VIR_DOMAIN_PAUSED: return NAME_AT(paused_reasons, reason);
	case VIR_DOMAIN_SHUTOFF: return NAME_AT(shutoff_reasons, reason);
	case VIR_DOMAIN_CRASHED: return reason == VIR_DOMAIN_CRASHED_PANICKED ? "panicked" : "unknown";
	}
	return "unknown";
}

static const char *const job_ops[] = {
	"unknown", "start", "save", "restore", "migration-in", "migration-out", "snapshot",
	"snapshot-revert", "dump", "backup", "snapshot-delete",
};

const char *lv_job_op_name(int op)
{
	return NAME_AT(job_ops, op);
}

static const char *const job_types[] = {
	"none", "bounded", "unbounded", "completed", "failed", "cancelled",
};

const char *lv_job_type_name(int type)
{
	return NAME_AT(job_types, type);
}

/* As in_qmp names QEMU's block jobs, so both inputs give one type. */
static const char *const block_job_types[] = {
	"unknown", "stream", "mirror", "commit", "commit", "backup",
};

const char *lv_block_job_type_name(int type)
{
	return NAME_AT(block_job_types, type);
}

static const char *const block_job_status[] = { "completed", "failed", "cancelled", "ready" };

const char *lv_block_job_status_name(int status)
{
	return NAME_AT(block_job_status, status);
}

static const char *const kind_names[] = {
	[LV_OBS_LIFECYCLE] = "lifecycle", [LV_OBS_REBOOT] = "reboot",
	[LV_OBS_ITERATION] = "migration-iteration", [LV_OBS_JOB_COMPLETED] = "job-completed",
	[LV_OBS_JOB_ENDED] = "job-ended", [LV_OBS_JOB_SEEN] = "job-seen",
	[LV_OBS_BLOCK_JOB] = "block-job-2",
	[LV_OBS_DEVICE_ADDED] = "device-added", [LV_OBS_DEVICE_REMOVED] = "device-removed",
	[LV_OBS_DEVICE_REMOVAL_FAILED] = "device-removal-failed", [LV_OBS_IO_ERROR] = "io-error",
	[LV_OBS_WATCHDOG] = "watchdog", [LV_OBS_QEMU] = "qemu-monitor-event",
	[LV_OBS_SNAPSHOTS] = "snapshots", [LV_OBS_CONNECTED] = "connected",
	[LV_OBS_DOMAIN] = "domain", [LV_OBS_RESYNC_END] = "resync-end",
	[LV_OBS_DISCONNECTED] = "connection-closed",
};

const char *lv_obs_kind_name(enum lv_obs_kind k)
{
	return NAME_AT(kind_names, (int)k);
}

/* ---- recorded sequences ------------------------------------------------------ */

/* The lab wrote libvirt's constant names (STARTED, FROM_SNAPSHOT); ours
 * are the words above (started, from-snapshot).  Both are read. */
static bool same_word(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a == '_' ? '-' : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b == '_' ? '-' : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

static int word_index(const char *s, const char *(*name)(int), int max)
{
	for (int i = 0; s && i < max; i++)
		if (same_word(s, name(i)))
			return i;
	return -1;
}

static const char *ev_name_fn(int i) { return lv_event_name(i); }

static int detail_of(int event, const char *s)
{
	for (int i = 0; s && i < 16; i++)
		if (same_word(s, lv_detail_name(event, i)))
			return i;
	/* the lab's ev.py printed the raw number when it found no name */
	return s ? atoi(s) : -1;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static bool jint(json_object *o, const char *k, long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static bool jbool(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

static json_object *jtake(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get(v) : NULL;
}

/* "06:04:59.015" on the day day_us, or an absolute "ts_us". */
static long long obs_time(json_object *o, long long day_us)
{
	long long us;
	const char *t = jstr(o, "t");
	int h, m;
	double s;

	if (jint(o, "ts_us", &us))
		return us;
	if (t && sscanf(t, "%d:%d:%lf", &h, &m, &s) == 3)
		return day_us + ((long long)h * 3600 + m * 60) * 1000000LL + (long long)(s * 1e6 + 0.5);
	return day_us;
}

static const struct {
	const char *name;
	enum lv_obs_kind kind;
} kinds[] = {
	{ "lifecycle", LV_OBS_LIFECYCLE }, { "reboot", LV_OBS_REBOOT },
	{ "migration-iteration", LV_OBS_ITERATION }, { "job-completed", LV_OBS_JOB_COMPLETED },
	{ "job-ended", LV_OBS_JOB_ENDED }, { "job-seen", LV_OBS_JOB_SEEN },
	{ "block-job-2", LV_OBS_BLOCK_JOB },
	{ "device-added", LV_OBS_DEVICE_ADDED },
	{ "device-removed", LV_OBS_DEVICE_REMOVED },
	{ "device-removal-failed", LV_OBS_DEVICE_REMOVAL_FAILED }, { "io-error", LV_OBS_IO_ERROR },
	{ "watchdog", LV_OBS_WATCHDOG }, { "qemu-monitor-event", LV_OBS_QEMU },
	{ "snapshots", LV_OBS_SNAPSHOTS }, { "connected", LV_OBS_CONNECTED },
	{ "domain", LV_OBS_DOMAIN }, { "resync-end", LV_OBS_RESYNC_END },
	{ "connection-closed", LV_OBS_DISCONNECTED },
};

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? hvt_strdup(s) : NULL;
}

/* A name-only fixture (the lab's) gets a UUID made from the name, so the
 * mapping, which keys domains by UUID, can follow it. */
static void fake_uuid(const char *name, char *out)
{
	unsigned h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, LV_UUID_LEN, "00000000-0000-4000-8000-%012x", h);
}

static void read_common(struct lv_obs *o, json_object *j)
{
	long long v;
	const char *s;

	set_str(&o->name, jstr(j, "dom"));
	if ((s = jstr(j, "uuid")))
		hvt_strlcpy(o->uuid, s, sizeof o->uuid);
	else if (o->name)
		fake_uuid(o->name, o->uuid);
	if (jint(j, "id", &v))
		o->id = (int)v;
	if (jint(j, "job_type", &v))
		o->job_type = (int)v;
	if (jint(j, "job_op", &v))
		o->job_op = (int)v;
	if (jint(j, "job_elapsed_ms", &v))
		o->job_elapsed_ms = v;
	o->qmp_checked = json_object_object_get_ex(j, "qmp_monitor", NULL);
	o->qmp_monitor = jbool(j, "qmp_monitor");
}

/* The lab's "connected" line lists the domains as {name: [state, reason]}:
 * a resync of its own. */
static struct lv_obs *expand_connected(struct lv_obs *c, json_object *j)
{
	json_object *doms;
	struct lv_obs **tail = &c->next;

	if (!json_object_object_get_ex(j, "domains", &doms) || !json_object_is_type(doms, json_type_object))
		return c;
	json_object_object_foreach(doms, name, st) {
		struct lv_obs *d = lv_obs_new(LV_OBS_DOMAIN, c->ts_us);
		d->name = hvt_strdup(name);
		fake_uuid(name, d->uuid);
		if (json_object_is_type(st, json_type_array) && json_object_array_length(st) >= 2) {
			d->state = json_object_get_int(json_object_array_get_idx(st, 0));
			d->reason = json_object_get_int(json_object_array_get_idx(st, 1));
		}
		d->persistent = true;
		*tail = d;
		tail = &d->next;
	}
	*tail = lv_obs_new(LV_OBS_RESYNC_END, c->ts_us);
	return c;
}

struct lv_obs *lv_obs_from_json(json_object *j, long long day_us, char *err, size_t errsize)
{
	const char *ev = jstr(j, "ev");
	enum lv_obs_kind kind = 0;
	long long v;

	for (size_t i = 0; ev && i < HVT_ARRAY_SIZE(kinds); i++)
		if (strcmp(ev, kinds[i].name) == 0)
			kind = kinds[i].kind;
	if (!kind) {
		snprintf(err, errsize, "unknown \"ev\": %s", ev ? ev : "(none)");
		return NULL;
	}
	struct lv_obs *o = lv_obs_new(kind, obs_time(j, day_us));
	read_common(o, j);
	switch (kind) {
	case LV_OBS_LIFECYCLE:
		o->event = word_index(jstr(j, "event"), ev_name_fn, 9);
		o->detail = detail_of(o->event, jstr(j, "detail"));
		if (jint(j, "state", &v))
			o->state = (int)v;
		if (jint(j, "reason", &v))
			o->reason = (int)v;
		break;
	case LV_OBS_ITERATION:
		if (jint(j, "iteration", &v))
			o->n = (int)v;
		break;
	case LV_OBS_JOB_COMPLETED:
	case LV_OBS_JOB_ENDED:
		o->params = jtake(j, "params");
		if (jint(j, "job_type", &v))
			o->n = (int)v;
		set_str(&o->s1, jstr(j, "note"));
		break;
	case LV_OBS_BLOCK_JOB:
		set_str(&o->s1, jstr(j, "disk"));
		if (jint(j, "type", &v))
			o->n = (int)v;
		if (jint(j, "status", &v))
			o->status = (int)v;
		break;
	case LV_OBS_DEVICE_ADDED:
	case LV_OBS_DEVICE_REMOVED:
	case LV_OBS_DEVICE_REMOVAL_FAILED:
		set_str(&o->s1, jstr(j, "alias"));
		break;
	case LV_OBS_IO_ERROR:
		set_str(&o->s1, jstr(j, "path"));
		set_str(&o->s2, jstr(j, "alias"));
		set_str(&o->s3, jstr(j, "reason"));
		if (jint(j, "action", &v))
			o->n = (int)v;
		break;
	case LV_OBS_WATCHDOG:
		if (jint(j, "action", &v))
			o->n = (int)v;
		break;
	case LV_OBS_QEMU: {
		const char *qts = jstr(j, "qemu_ts");
		set_str(&o->s1, jstr(j, "qemu_event"));
		set_str(&o->s2, jstr(j, "details"));
		if (qts)
			o->qemu_ts_us = (long long)(atof(qts) * 1e6 + 0.5);
		break;
	}
	case LV_OBS_SNAPSHOTS:
		o->snaps = jtake(j, "snapshots");
		break;
	case LV_OBS_CONNECTED:
		set_str(&o->s1, jstr(j, "host_uuid"));
		set_str(&o->s2, jstr(j, "hostname"));
		return expand_connected(o, j);
	case LV_OBS_DOMAIN:
		if (jint(j, "state", &v))
			o->state = (int)v;
		if (jint(j, "reason", &v))
			o->reason = (int)v;
		o->persistent = jbool(j, "persistent");
		o->completed = jtake(j, "completed");
		o->snaps = jtake(j, "snapshots");
		break;
	case LV_OBS_DISCONNECTED:
		set_str(&o->s1, jstr(j, "reason"));
		break;
	default:
		break;
	}
	return o;
}

static void put_str(json_object *j, const char *k, const char *v)
{
	if (v)
		json_object_object_add(j, k, json_object_new_string(v));
}

static void put_int(json_object *j, const char *k, long long v)
{
	json_object_object_add(j, k, json_object_new_int64(v));
}

json_object *lv_obs_to_json(const struct lv_obs *o)
{
	json_object *j = json_object_new_object();

	put_str(j, "ev", lv_obs_kind_name(o->kind));
	put_int(j, "ts_us", o->ts_us);
	put_str(j, "dom", o->name);
	if (o->uuid[0])
		put_str(j, "uuid", o->uuid);
	if (o->id >= 0)
		put_int(j, "id", o->id);
	if (o->job_type >= 0)
		put_int(j, "job_type", o->job_type);
	if (o->job_op >= 0)
		put_int(j, "job_op", o->job_op);
	if (o->job_elapsed_ms >= 0)
		put_int(j, "job_elapsed_ms", o->job_elapsed_ms);
	if (o->qmp_checked)
		json_object_object_add(j, "qmp_monitor", json_object_new_boolean(o->qmp_monitor));
	switch (o->kind) {
	case LV_OBS_LIFECYCLE:
		put_str(j, "event", lv_event_name(o->event));
		put_str(j, "detail", lv_detail_name(o->event, o->detail));
		if (o->state >= 0) {
			put_int(j, "state", o->state);
			put_int(j, "reason", o->reason);
		}
		break;
	case LV_OBS_ITERATION:
		put_int(j, "iteration", o->n);
		break;
	case LV_OBS_JOB_COMPLETED:
	case LV_OBS_JOB_ENDED:
		if (o->kind == LV_OBS_JOB_ENDED) {
			put_int(j, "job_type", o->n);
			put_str(j, "note", o->s1);
		}
		if (o->params)
			json_object_object_add(j, "params", json_object_get(o->params));
		break;
	case LV_OBS_BLOCK_JOB:
		put_str(j, "disk", o->s1);
		put_int(j, "type", o->n);
		put_int(j, "status", o->status);
		break;
	case LV_OBS_DEVICE_ADDED:
	case LV_OBS_DEVICE_REMOVED:
	case LV_OBS_DEVICE_REMOVAL_FAILED:
		put_str(j, "alias", o->s1);
		break;
	case LV_OBS_IO_ERROR:
		put_str(j, "path", o->s1);
		put_str(j, "alias", o->s2);
		put_str(j, "reason", o->s3);
		put_int(j, "action", o->n);
		break;
	case LV_OBS_WATCHDOG:
		put_int(j, "action", o->n);
		break;
	case LV_OBS_QEMU: {
		char ts[40];
		snprintf(ts, sizeof ts, "%lld.%06lld", o->qemu_ts_us / 1000000, o->qemu_ts_us % 1000000);
		put_str(j, "qemu_event", o->s1);
		put_str(j, "qemu_ts", ts);
		put_str(j, "details", o->s2);
		break;
	}
	case LV_OBS_CONNECTED:
		put_str(j, "host_uuid", o->s1);
		put_str(j, "hostname", o->s2);
		break;
	case LV_OBS_DOMAIN:
		put_int(j, "state", o->state);
		put_int(j, "reason", o->reason);
		json_object_object_add(j, "persistent", json_object_new_boolean(o->persistent));
		if (o->completed)
			json_object_object_add(j, "completed", json_object_get(o->completed));
		break;
	case LV_OBS_DISCONNECTED:
		put_str(j, "reason", o->s1);
		break;
	default:
		break;
	}
	if (o->snaps)
		json_object_object_add(j, "snapshots", json_object_get(o->snaps));
	return j;
}
