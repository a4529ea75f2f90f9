/* lv_map.c - see lv_map.h: the domain table, dispatch by kind, the event
 * helpers every area uses, and the view across restarts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "log.h"
#include "lv_map_priv.h"

#define VIEW_VERSION 1

void lv_map_opts_default(struct lv_map_opts *o)
{
	memset(o, 0, sizeof *o);
	o->uri = "qemu:///system";
	/* libvirt sends job-completed right after "stopped (migrated)"
	 * (qemuMigrationSrcConfirmPhase): a second covers a busy daemon */
	o->hold_us = 5000000;
	o->io_error_burst = 10;
	o->defer_to_qmp = true;
}

struct lv_map *lv_map_new(const struct lv_map_opts *o, const struct lv_map_ops *ops, void *arg)
{
	struct lv_map *m = hvt_calloc(1, sizeof *m);

	m->o = *o;
	m->uri = hvt_strdup(o->uri ? o->uri : "");
	m->o.uri = m->uri;
	m->ops = *ops;
	m->arg = arg;
	return m;
}

static void dom_free(struct lv_dom *d)
{
	lv_view_clear(&d->v);
	json_object_put(d->save_job);
	hvt_event_free(d->held);
	free(d);
}

void lv_map_free(struct lv_map *m)
{
	if (!m)
		return;
	while (m->doms) {
		struct lv_dom *d = m->doms;
		m->doms = d->next;
		dom_free(d);
	}
	free(m->uri);
	free(m);
}

/* ---- the table ------------------------------------------------------------ */

struct lv_dom *dom_find(struct lv_map *m, const char *uuid)
{
	for (struct lv_dom *d = m->doms; d; d = d->next)
		if (strcmp(d->v.uuid, uuid) == 0)
			return d;
	return NULL;
}

static struct lv_dom *dom_new(struct lv_map *m, const char *uuid)
{
	struct lv_dom *d = hvt_calloc(1, sizeof *d);

	lv_view_init(&d->v, uuid);
	d->job_op = -1;
	d->next = m->doms;
	m->doms = d;
	m->st.domains++;
	return d;
}

struct lv_dom *dom_get(struct lv_map *m, const struct lv_obs *o)
{
	struct lv_dom *d = dom_find(m, o->uuid);

	if (!d) {
		d = dom_new(m, o->uuid);
		d->v.name = o->name ? hvt_strdup(o->name) : NULL;
	}
	if (o->qmp_checked)
		d->qmp_monitor = o->qmp_monitor;
	return d;
}

void dom_forget(struct lv_map *m, struct lv_dom *d)
{
	for (struct lv_dom **pp = &m->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			m->st.domains--;
			dom_free(d);
			m->dirty = true;
			return;
		}
}

/* ---- building events --------------------------------------------------------- */

struct hvt_event *dom_event(struct lv_map *m, struct lv_dom *d, const char *type, int severity,
			    long long ts_us)
{
	struct hvt_event *ev = hvt_event_new(type);

	ev->severity = severity;
	ev->ts_us = ts_us;
	hvt_event_set_vm(ev, d->v.name, d->v.uuid);
	hvt_event_set_str(&ev->source, "libvirt");
	ev_str(ev, "uri", m->uri);
	return ev;
}

void ev_str(struct hvt_event *ev, const char *key, const char *v)
{
	if (v)
		hvt_event_data_add(ev, key, json_object_new_string(v));
}

void ev_int(struct hvt_event *ev, const char *key, long long v)
{
	hvt_event_data_add(ev, key, json_object_new_int64(v));
}

void ev_bool(struct hvt_event *ev, const char *key, bool v)
{
	hvt_event_data_add(ev, key, json_object_new_boolean(v));
}

void ev_state(struct hvt_event *ev, int state)
{
	ev_str(ev, "state", lv_state_name(state));
}

void ev_libvirt(struct hvt_event *ev, const char *event, const char *detail)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string(event));
	if (detail)
		json_object_object_add(o, "detail", json_object_new_string(detail));
	hvt_event_data_add(ev, "libvirt", o);
}

void ev_late(struct hvt_event *ev)
{
	ev->flags |= HVT_EV_LATE;
	ev_str(ev, "observed", "resync");
}

long long jparam(json_object *params, const char *key)
{
	json_object *v;

	if (!params || !json_object_object_get_ex(params, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return -1;
	return json_object_get_int64(v);
}

const char *jparam_str(json_object *params, const char *key)
{
	json_object *v;

	return params && json_object_object_get_ex(params, key, &v) &&
			       json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

/* libvirt's job statistics under the keys in_qmp gives query-migrate's, so
 * `hvtrail migrations` reads both inputs alike; the statistics as libvirt
 * sent them stay under "job". */
void ev_job_figures(struct hvt_event *ev, json_object *params)
{
	long long v;

	if (!params)
		return;
	if ((v = jparam(params, VIR_DOMAIN_JOB_TIME_ELAPSED)) >= 0)
		ev_int(ev, "total_time_ms", v);
	if ((v = jparam(params, VIR_DOMAIN_JOB_DOWNTIME)) >= 0)
		ev_int(ev, "downtime_ms", v);
	if ((v = jparam(params, VIR_DOMAIN_JOB_SETUP_TIME)) >= 0)
		ev_int(ev, "setup_time_ms", v);
	if ((v = jparam(params, VIR_DOMAIN_JOB_MEMORY_ITERATION)) >= 0)
		ev_int(ev, "passes", v);
	json_object *ram = json_object_new_object();
	static const struct { const char *from, *to; } keys[] = {
		{ VIR_DOMAIN_JOB_DATA_PROCESSED, "transferred" },
		{ VIR_DOMAIN_JOB_MEMORY_TOTAL, "total" },
		{ VIR_DOMAIN_JOB_MEMORY_CONSTANT, "duplicate_pages" },
		{ VIR_DOMAIN_JOB_MEMORY_NORMAL, "normal_pages" },
	};
	for (size_t i = 0; i < HVT_ARRAY_SIZE(keys); i++)
		if ((v = jparam(params, keys[i].from)) >= 0)
			json_object_object_add(ram, keys[i].to, json_object_new_int64(v));
	if ((v = jparam(params, VIR_DOMAIN_JOB_MEMORY_BPS)) >= 0)
		json_object_object_add(ram, "mbps", json_object_new_double((double)v * 8 / 1e6));
	hvt_event_data_add(ev, "ram", ram);
	const char *err = jparam_str(params, VIR_DOMAIN_JOB_ERRMSG);
	if (err)
		ev_str(ev, "error", err);
	hvt_event_data_add(ev, "job", json_object_get(params));
}

/* ---- sending ---------------------------------------------------------------- */

/* Kept back for a domain in_qmp reports (it sees QEMU itself; see
 * docs/events.md): everything but its definition. */
static bool deferred(const struct lv_map *m, const struct lv_dom *d, const struct hvt_event *ev)
{
	return m->o.defer_to_qmp && d->qmp_monitor && strcmp(ev->type, "vm.defined") != 0 &&
	       strcmp(ev->type, "vm.undefined") != 0;
}

static void send_one(struct lv_map *m, struct lv_dom *d, struct hvt_event *ev, bool *gone)
{
	*gone = lv_view_apply(&d->v, ev);
	m->dirty = true;
	if (deferred(m, d, ev)) {
		/* the view still moves: when in_qmp lets go of the domain, its
		 * state is the one the host had, not a stale one to report */
		m->st.suppressed_qmp++;
		hvt_event_free(ev);
		return;
	}
	m->st.events++;
	if (ev->flags & HVT_EV_LATE)
		m->st.late++;
	m->ops.emit(m->arg, ev);
}

/* Send d's held event; true when that ended the domain's existence. */
static bool send_held(struct lv_map *m, struct lv_dom *d)
{
	struct hvt_event *held = d->held;
	bool gone;

	d->held = NULL;
	d->held_deadline = 0;
	if (!held->data || !json_object_object_get_ex(held->data, "total_time_ms", NULL)) {
		ev_str(held, "figures_error", "libvirt sent no job-completed event with the figures");
		m->st.held_released_without_figures++;
	}
	send_one(m, d, held, &gone);
	return gone;
}

void dom_release_held(struct lv_map *m, struct lv_dom *d)
{
	if (d->held && send_held(m, d))
		dom_forget(m, d);
}

void dom_send(struct lv_map *m, struct lv_dom *d, struct hvt_event *ev)
{
	bool gone;

	/* a held event goes first: the domain's order holds.  If it ended a
	 * transient domain, ev (about the same UUID) still goes out. */
	if (d->held)
		send_held(m, d);
	send_one(m, d, ev, &gone);
	if (gone)
		dom_forget(m, d);
}

/* ---- dispatch -------------------------------------------------------------- */

void lv_map_obs(struct lv_map *m, const struct lv_obs *o)
{
	struct lv_dom *d = NULL;

	m->st.observations++;
	switch (o->kind) {
	case LV_OBS_CONNECTED:
		map_connected(m, o);
		return;
	case LV_OBS_DOMAIN:
		map_domain(m, o);
		return;
	case LV_OBS_RESYNC_END:
		map_resync_end(m, o);
		return;
	case LV_OBS_DISCONNECTED:
		map_disconnected(m, o);
		return;
	default:
		break;
	}
	if (!o->uuid[0])
		return;
	d = dom_get(m, o);
	/* a held migration end goes out before the domain's next news,
	 * unless that news is the figures it waits for */
	if (d->held && o->kind != LV_OBS_JOB_COMPLETED) {
		dom_release_held(m, d);
		d = dom_get(m, o);      /* a transient domain that left is a new record */
	}
	switch (o->kind) {
	case LV_OBS_LIFECYCLE:
		map_lifecycle(m, d, o);
		break;
	case LV_OBS_ITERATION:
		map_iteration(m, d, o);
		break;
	case LV_OBS_JOB_COMPLETED:
		map_job_completed(m, d, o);
		break;
	case LV_OBS_JOB_ENDED:
		map_job_ended(m, d, o);
		break;
	case LV_OBS_JOB_SEEN:
		map_job_seen(m, d, o);
		break;
	case LV_OBS_BLOCK_JOB:
		map_block_job(m, d, o);
		break;
	case LV_OBS_QEMU:
		map_qemu(m, d, o);
		break;
	case LV_OBS_SNAPSHOTS:
		map_snapshots(m, d, o->snaps, o->ts_us, false);
		break;
	case LV_OBS_REBOOT:
	case LV_OBS_DEVICE_ADDED:
	case LV_OBS_DEVICE_REMOVED:
	case LV_OBS_DEVICE_REMOVAL_FAILED:
	case LV_OBS_IO_ERROR:
	case LV_OBS_WATCHDOG:
		map_device(m, d, o);
		break;
	default:
		break;
	}
	/* a record that never made it into the trail (an event we fold, about
	 * a domain nobody reported) is not worth keeping */
	if ((d = dom_find(m, o->uuid)) && d->v.state == VIR_DOMAIN_NOSTATE && !d->v.persistent &&
	    !d->held && d->job_op < 0 && !d->save_job && !m->resyncing)
		dom_forget(m, d);
}

void lv_map_tick(struct lv_map *m, long long now_us)
{
	struct lv_dom *d = m->doms;

	while (d) {
		struct lv_dom *next = d->next;
		if (d->held && now_us >= d->held_deadline)
			dom_release_held(m, d);
		d = next;
	}
}

long long lv_map_next_deadline(const struct lv_map *m)
{
	long long t = 0;

	for (const struct lv_dom *d = m->doms; d; d = d->next)
		if (d->held && (!t || d->held_deadline < t))
			t = d->held_deadline;
	return t;
}

unsigned lv_map_held(const struct lv_map *m)
{
	unsigned n = 0;

	for (const struct lv_dom *d = m->doms; d; d = d->next)
		n += d->held != NULL;
	return n;
}

void lv_map_get_stats(const struct lv_map *m, struct lv_map_stats *s)
{
	*s = m->st;
}

/* ---- the view across restarts -------------------------------------------------- */

bool lv_map_dirty(const struct lv_map *m)
{
	return m->dirty;
}

void lv_map_set_dirty(struct lv_map *m)
{
	m->dirty = true;
}

json_object *lv_map_save(struct lv_map *m)
{
	json_object *o = json_object_new_object(), *doms = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(VIEW_VERSION));
	json_object_object_add(o, "uri", json_object_new_string(m->uri));
	json_object_object_add(o, "host_uuid", json_object_new_string(m->host_uuid));
	for (const struct lv_dom *d = m->doms; d; d = d->next)
		if (d->v.state != VIR_DOMAIN_NOSTATE || d->v.persistent)
			json_object_object_add(doms, d->v.uuid, lv_view_save(&d->v));
	json_object_object_add(o, "domains", doms);
	m->dirty = false;
	return o;
}

bool lv_map_load(struct lv_map *m, json_object *saved, char *err, size_t errsize)
{
	json_object *v, *doms;

	if (!json_object_object_get_ex(saved, "version", &v) || json_object_get_int(v) != VIEW_VERSION ||
	    !json_object_object_get_ex(saved, "domains", &doms) ||
	    !json_object_is_type(doms, json_type_object)) {
		snprintf(err, errsize, "not a view of version %d", VIEW_VERSION);
		return false;
	}
	if (json_object_object_get_ex(saved, "host_uuid", &v))
		hvt_strlcpy(m->host_uuid, json_object_get_string(v), sizeof m->host_uuid);
	json_object_object_foreach(doms, uuid, dv) {
		if (strlen(uuid) >= LV_UUID_LEN || dom_find(m, uuid))
			continue;
		struct lv_dom *d = dom_new(m, uuid);
		if (!lv_view_load(&d->v, dv))
			dom_forget(m, d);
	}
	m->dirty = false;
	return true;
}

void lv_map_replay(struct lv_map *m, const struct hvt_event *ev)
{
	if (!ev->vm_uuid || strlen(ev->vm_uuid) >= LV_UUID_LEN)
		return;
	struct lv_dom *d = dom_find(m, ev->vm_uuid);
	if (!d)
		d = dom_new(m, ev->vm_uuid);
	if (lv_view_apply(&d->v, ev))
		dom_forget(m, d);
	m->dirty = true;
}
