/* lv_events.c - libvirt's domain events, and QEMU's own through libvirt's
 * passthrough, turned into observations (on the libvirt thread).
 *
 * A callback records what libvirt said and, where the mapping needs more
 * than the event carries, asks libvirt right away while the domain is in
 * that state: the job under way at a migration's first iteration or at a
 * pause (is it a migration, a save, a snapshot?), whether a domain that was
 * defined or started has an in_qmp monitor, which snapshot a revert went
 * to.  These are read-only calls a read-only connection may make.
 *
 * The passthrough (virConnectDomainQemuMonitorEventRegister, libvirt's
 * QEMU-specific API) needs a read-write connection ("connect:write" in
 * libvirt's ACL).  Without it the plugin says once what it cannot see. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <libvirt/libvirt-qemu.h>

#include "in_libvirt.h"

static void note_callback(struct lv_input *in)
{
	pthread_mutex_lock(&in->stat_lock);
	in->callbacks++;
	pthread_mutex_unlock(&in->stat_lock);
}

void lv_obs_domain(struct lv_obs *o, virDomainPtr dom)
{
	const char *name = virDomainGetName(dom);     /* local: no RPC */

	if (virDomainGetUUIDString(dom, o->uuid) < 0)
		o->uuid[0] = '\0';
	o->name = name ? hvt_strdup(name) : NULL;
	o->id = (int)virDomainGetID(dom);
	if (o->id == (int)(unsigned)-1)
		o->id = -1;
}

json_object *lv_params_json(virTypedParameterPtr p, int n)
{
	json_object *o = json_object_new_object();

	for (int i = 0; p && i < n; i++) {
		json_object *v = NULL;
		switch (p[i].type) {
		case VIR_TYPED_PARAM_INT: v = json_object_new_int64(p[i].value.i); break;
		case VIR_TYPED_PARAM_UINT: v = json_object_new_int64(p[i].value.ui); break;
		case VIR_TYPED_PARAM_LLONG: v = json_object_new_int64(p[i].value.l); break;
		case VIR_TYPED_PARAM_ULLONG: v = json_object_new_uint64(p[i].value.ul); break;
		case VIR_TYPED_PARAM_DOUBLE: v = json_object_new_double(p[i].value.d); break;
		case VIR_TYPED_PARAM_BOOLEAN: v = json_object_new_boolean(p[i].value.b); break;
		case VIR_TYPED_PARAM_STRING:
			v = p[i].value.s ? json_object_new_string(p[i].value.s) : NULL;
			break;
		}
		if (v)
			json_object_object_add(o, p[i].field, v);
	}
	return o;
}

void lv_obs_job(struct lv_obs *o, virDomainPtr dom)
{
	int type = 0, n = 0;
	virTypedParameterPtr p = NULL;

	if (virDomainGetJobStats(dom, &type, &p, &n, 0) < 0)
		return;
	o->job_type = type;
	for (int i = 0; i < n; i++) {
		if (strcmp(p[i].field, VIR_DOMAIN_JOB_OPERATION) == 0 && p[i].type == VIR_TYPED_PARAM_INT)
			o->job_op = p[i].value.i;
		else if (strcmp(p[i].field, VIR_DOMAIN_JOB_TIME_ELAPSED) == 0 &&
			 p[i].type == VIR_TYPED_PARAM_ULLONG)
			o->job_elapsed_ms = (long long)p[i].value.ul;
	}
	virTypedParamsFree(p, n);
}

static struct lv_obs *dom_obs(enum lv_obs_kind kind, virDomainPtr dom)
{
	struct lv_obs *o = lv_obs_new(kind, hvt_now_us());

	lv_obs_domain(o, dom);
	return o;
}

/* ---- callbacks ---------------------------------------------------------------------- */

static int on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct lv_input *in = opaque;
	struct lv_obs *o = dom_obs(LV_OBS_LIFECYCLE, dom);

	(void)c;
	note_callback(in);
	o->event = event;
	o->detail = detail;
	switch (event) {
	case VIR_DOMAIN_EVENT_SUSPENDED: {
		/* a pause of a migration, save, snapshot or dump belongs to it:
		 * the event says only "paused", the state's reason says whose
		 * (an internal snapshot shows no job statistics at all) */
		int st, why;
		if (virDomainGetState(dom, &st, &why, 0) == 0) {
			o->state = st;
			o->reason = why;
		}
		lv_obs_job(o, dom);
		if (o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)
			lv_watch_add(in, o->uuid);
		break;
	}
	case VIR_DOMAIN_EVENT_DEFINED:
	case VIR_DOMAIN_EVENT_STARTED:
		o->qmp_monitor = lv_coexist_qmp_monitor(in, dom, &o->qmp_checked);
		if (event == VIR_DOMAIN_EVENT_STARTED && detail == VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT) {
			virDomainSnapshotPtr s = virDomainSnapshotCurrent(dom, 0);
			if (s) {
				o->s1 = hvt_strdup(virDomainSnapshotGetName(s));
				virDomainSnapshotFree(s);
			}
		}
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		if (detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
			lv_watch_remove(in, o->uuid);
		break;
	default:
		break;
	}
	/* whatever a domain did may have made or dropped a snapshot (asked
	 * before the push: the observation is the forwarder's thread's then) */
	lv_snaps_soon(in, o->uuid);
	lv_conn_push(in, o);
	return 0;
}

static void on_reboot(virConnectPtr c, virDomainPtr dom, void *opaque)
{
	(void)c;
	note_callback(opaque);
	lv_conn_push(opaque, dom_obs(LV_OBS_REBOOT, dom));
}

static void on_iteration(virConnectPtr c, virDomainPtr dom, int iteration, void *opaque)
{
	struct lv_input *in = opaque;
	struct lv_obs *o = dom_obs(LV_OBS_ITERATION, dom);

	(void)c;
	note_callback(in);
	o->n = iteration;
	/* an iteration proves a migration only with its job (a save or an
	 * internal snapshot iterates too) */
	if (iteration == 1) {
		lv_obs_job(o, dom);
		if (o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)
			lv_watch_add(in, o->uuid);
	}
	lv_conn_push(in, o);
}

static void on_job_completed(virConnectPtr c, virDomainPtr dom, virTypedParameterPtr p, int n,
			    void *opaque)
{
	struct lv_input *in = opaque;
	struct lv_obs *o = dom_obs(LV_OBS_JOB_COMPLETED, dom);

	(void)c;
	note_callback(in);
	o->params = lv_params_json(p, n);
	lv_watch_remove(in, o->uuid);
	lv_snaps_soon(in, o->uuid);
	lv_conn_push(in, o);
}

static void on_block_job(virConnectPtr c, virDomainPtr dom, const char *disk, int type, int status,
			void *opaque)
{
	struct lv_input *in = opaque;
	struct lv_obs *o = dom_obs(LV_OBS_BLOCK_JOB, dom);

	(void)c;
	note_callback(in);
	o->s1 = disk ? hvt_strdup(disk) : NULL;
	o->n = type;
	o->status = status;
	lv_snaps_soon(in, o->uuid);
	lv_conn_push(in, o);
}

static void device_obs(struct lv_input *in, enum lv_obs_kind k, virDomainPtr dom, const char *alias)
{
	struct lv_obs *o = dom_obs(k, dom);

	note_callback(in);
	o->s1 = alias ? hvt_strdup(alias) : NULL;
	lv_conn_push(in, o);
}

static void on_device_added(virConnectPtr c, virDomainPtr dom, const char *alias, void *opaque)
{
	(void)c;
	device_obs(opaque, LV_OBS_DEVICE_ADDED, dom, alias);
}

static void on_device_removed(virConnectPtr c, virDomainPtr dom, const char *alias, void *opaque)
{
	(void)c;
	device_obs(opaque, LV_OBS_DEVICE_REMOVED, dom, alias);
}

static void on_device_removal_failed(virConnectPtr c, virDomainPtr dom, const char *alias,
				    void *opaque)
{
	(void)c;
	device_obs(opaque, LV_OBS_DEVICE_REMOVAL_FAILED, dom, alias);
}

static void on_io_error(virConnectPtr c, virDomainPtr dom, const char *path, const char *alias,
		       int action, const char *reason, void *opaque)
{
	struct lv_input *in = opaque;
	struct lv_obs *o = dom_obs(LV_OBS_IO_ERROR, dom);

	(void)c;
	note_callback(in);
	o->s1 = path ? hvt_strdup(path) : NULL;
	o->s2 = alias ? hvt_strdup(alias) : NULL;
	o->s3 = reason ? hvt_strdup(reason) : NULL;
	o->n = action;
	lv_conn_push(in, o);
}

static void on_watchdog(virConnectPtr c, virDomainPtr dom, int action, void *opaque)
{
	struct lv_input *in = opaque;
	struct lv_obs *o = dom_obs(LV_OBS_WATCHDOG, dom);

	(void)c;
	note_callback(in);
	o->n = action;
	lv_conn_push(in, o);
}

static void on_qemu_event(virConnectPtr c, virDomainPtr dom, const char *event, long long secs,
			  unsigned int micros, const char *details, void *opaque)
{
	struct lv_input *in = opaque;

	(void)c;
	note_callback(in);
	/* libvirt maps all but COLO itself: pass only what it does not */
	if (!event || (strcmp(event, "COLO_EXIT") != 0 && strcmp(event, "MIGRATION") != 0))
		return;
	if (strcmp(event, "MIGRATION") == 0 && (!details || !strstr(details, "\"colo\"")))
		return;
	struct lv_obs *o = dom_obs(LV_OBS_QEMU, dom);
	o->s1 = hvt_strdup(event);
	o->s2 = details ? hvt_strdup(details) : NULL;
	o->qemu_ts_us = secs * 1000000 + micros;
	lv_conn_push(in, o);
}

/* ---- registration -------------------------------------------------------------------- */

static const struct {
	int id;
	virConnectDomainEventGenericCallback cb;
} callbacks[] = {
	{ VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle) },
	{ VIR_DOMAIN_EVENT_ID_REBOOT, VIR_DOMAIN_EVENT_CALLBACK(on_reboot) },
	{ VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, VIR_DOMAIN_EVENT_CALLBACK(on_iteration) },
	{ VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, VIR_DOMAIN_EVENT_CALLBACK(on_job_completed) },
	{ VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2, VIR_DOMAIN_EVENT_CALLBACK(on_block_job) },
	{ VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_CALLBACK(on_device_added) },
	{ VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removed) },
	{ VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removal_failed) },
	{ VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, VIR_DOMAIN_EVENT_CALLBACK(on_io_error) },
	{ VIR_DOMAIN_EVENT_ID_WATCHDOG, VIR_DOMAIN_EVENT_CALLBACK(on_watchdog) },
};

static void say_blind(struct lv_input *in, const char *why)
{
	if (in->said_qemu_events)
		return;
	in->said_qemu_events = true;
	hvt_notice("in_libvirt: %s: %s: QEMU's own events are not visible, so COLO (colo.entered, "
		   "colo.failover) is not reported; everything libvirt reports is (docs/deploy.md, "
		   "\"QEMU's own events\")", in->uri, why);
}

int lv_events_register(struct lv_input *in)
{
	in->ncb = 0;
	for (size_t i = 0; i < HVT_ARRAY_SIZE(callbacks) && i < LV_NCALLBACKS; i++) {
		int id = virConnectDomainEventRegisterAny(in->conn, NULL, callbacks[i].id, callbacks[i].cb,
							  in, NULL);
		if (id < 0) {
			/* an older libvirtd without this event: the others still work */
			hvt_notice("in_libvirt: %s: libvirtd does not offer event %d: %s", in->uri,
				   callbacks[i].id, lv_last_error());
			if (callbacks[i].id == VIR_DOMAIN_EVENT_ID_LIFECYCLE)
				return -1;
			continue;
		}
		in->cb[in->ncb++] = id;
	}
	in->qemu_cb = -1;
	if (in->qemu_events == LV_QEMU_OFF) {
		say_blind(in, "qemu_events = off");
	} else if (in->readonly) {
		say_blind(in, "the connection is read-only (readonly = true)");
	} else {
		in->qemu_cb = virConnectDomainQemuMonitorEventRegister(in->conn, NULL, NULL, on_qemu_event,
								       in, NULL, 0);
		if (in->qemu_cb < 0) {
			char why[300];
			snprintf(why, sizeof why, "libvirt refused QEMU's event passthrough (%s)",
				 lv_last_error());
			say_blind(in, why);
		}
	}
	return 0;
}

void lv_events_deregister(struct lv_input *in)
{
	for (int i = 0; i < in->ncb; i++)
		virConnectDomainEventDeregisterAny(in->conn, in->cb[i]);
	in->ncb = 0;
	if (in->qemu_cb >= 0)
		virConnectDomainQemuMonitorEventDeregister(in->conn, in->qemu_cb);
	in->qemu_cb = -1;
}
