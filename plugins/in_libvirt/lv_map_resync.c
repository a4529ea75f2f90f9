/* lv_map_resync.c - after a (re)connect: libvirt's listing against the view.
 *
 * libvirt replays nothing: what happened while the connection was down (the
 * forwarder restarting, libvirtd restarting - which also loses the stop of
 * a QEMU that died meanwhile: it is stopped during libvirtd's start-up,
 * before any client is there) is known only by listing the domains and
 * their states.  Each difference between the listing and the view is
 * reported once, flagged late (observed: "resync"); what the view holds is
 * in the trail and is not reported again.  A domain the view has never seen
 * is met for the first time: it exists already (vm.defined, vm.started,
 * late).  A domain the view holds that is not listed is gone. */
#include "config.h"

#include <string.h>
#include <libvirt/libvirt.h>

#include "log.h"
#include "lv_map_priv.h"

static const char *vm_name(const struct lv_dom *d)
{
	return d->v.name ? d->v.name : d->v.uuid;
}

static bool listed_active(int state)
{
	return state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_NOSTATE && state >= 0;
}

static struct hvt_event *late_event(struct lv_map *m, struct lv_dom *d, const char *type, int sev,
				    const struct lv_obs *o)
{
	struct hvt_event *ev = dom_event(m, d, type, sev, o->ts_us);

	ev_late(ev);
	if (o->state >= 0) {
		ev_state(ev, o->state);
		ev_str(ev, "reason", lv_reason_name(o->state, o->reason));
	}
	if (o->id >= 0)
		ev_int(ev, "domain_id", o->id);
	return ev;
}

/* A URI without a host part (qemu:///system, qemu+unix:///system) is this
 * machine.  Its libvirtd may present another host UUID after a restart -
 * without host_uuid in libvirtd.conf and without a valid SMBIOS UUID it
 * makes one up at each start - and that is no reason to meet every VM
 * again (each would be reported a second time, late). */
static bool uri_is_local(const char *uri)
{
	const char *p = uri ? strstr(uri, "://") : NULL;

	return p && p[3] == '/';
}

void map_connected(struct lv_map *m, const struct lv_obs *o)
{
	const char *host_uuid = o->s1 ? o->s1 : "";

	if (m->host_uuid[0] && strcmp(m->host_uuid, host_uuid) != 0 && uri_is_local(m->uri)) {
		hvt_warn("in_libvirt: libvirt on this machine (%s) now calls itself host %s, not %s; "
			 "what was seen of its domains stands (set host_uuid in libvirtd.conf for a stable "
			 "one)", m->uri, host_uuid, m->host_uuid);
	} else if (m->host_uuid[0] && strcmp(m->host_uuid, host_uuid) != 0) {
		hvt_warn("in_libvirt: %s is now libvirt host %s, not %s as before: its domains are met "
			 "as new", m->uri, host_uuid, m->host_uuid);
		while (m->doms)
			dom_forget(m, m->doms);
	}
	hvt_strlcpy(m->host_uuid, host_uuid, sizeof m->host_uuid);
	m->resyncing = true;
	for (struct lv_dom *d = m->doms; d; d = d->next)
		d->listed = false;

	struct hvt_event *ev = hvt_event_new("libvirt.connected");
	ev->severity = SEV_INFO;
	ev->ts_us = o->ts_us;
	hvt_event_set_str(&ev->source, "libvirt");
	ev_str(ev, "uri", m->uri);
	ev_str(ev, "host_uuid", o->s1);
	ev_str(ev, "hostname", o->s2);
	ev_bool(ev, "readonly", (o->n & 1) != 0);
	ev_bool(ev, "qemu_events", (o->n & 2) != 0);
	if (m->disconnected_ts) {
		ev_int(ev, "disconnected_ms", (o->ts_us - m->disconnected_ts) / 1000);
		hvt_event_set_msg(ev, "connected to libvirt at %s again after %.1f s: what changed "
				  "meanwhile follows, flagged late", m->uri,
				  (double)(o->ts_us - m->disconnected_ts) / 1e6);
	} else {
		hvt_event_set_msg(ev, "connected to libvirt at %s (host %s)", m->uri,
				  o->s2 ? o->s2 : "?");
	}
	m->disconnected_ts = 0;
	m->st.events++;
	m->ops.emit(m->arg, ev);
}

void map_disconnected(struct lv_map *m, const struct lv_obs *o)
{
	/* the domains' next news will not come soon: what waits goes now */
	struct lv_dom *d = m->doms;
	while (d) {
		struct lv_dom *next = d->next;
		dom_release_held(m, d);
		d = next;
	}
	m->resyncing = false;
	if (m->disconnected_ts)
		return;     /* still down: one event per outage */
	m->disconnected_ts = o->ts_us;
	struct hvt_event *ev = hvt_event_new("libvirt.disconnected");
	ev->severity = SEV_WARNING;
	ev->ts_us = o->ts_us;
	hvt_event_set_str(&ev->source, "libvirt");
	ev_str(ev, "uri", m->uri);
	ev_str(ev, "reason", o->s1);
	hvt_event_set_msg(ev, "lost the connection to libvirt at %s (%s): changes are reported "
			  "late once it is back", m->uri, o->s1 ? o->s1 : "?");
	m->st.events++;
	m->ops.emit(m->arg, ev);
}

/* Active now, not in the view (first sight, or started meanwhile). */
static void came_up(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o, bool first)
{
	struct hvt_event *ev;
	bool running_reason = o->state == VIR_DOMAIN_RUNNING;

	if (running_reason && o->reason == VIR_DOMAIN_RUNNING_MIGRATED && !first) {
		ev = late_event(m, d, "migration.incoming.completed", SEV_INFO, o);
		ev_str(ev, "role", "incoming");
		ev_bool(ev, "running", true);
		hvt_event_set_msg(ev, "VM %s arrived by live migration while hvtrail was not connected",
				  vm_name(d));
	} else if (running_reason && o->reason == VIR_DOMAIN_RUNNING_FROM_SNAPSHOT && !first) {
		ev = late_event(m, d, "snapshot.reverted", SEV_INFO, o);
		ev_bool(ev, "snapshot_revert", true);
		hvt_event_set_msg(ev, "VM %s was reverted to a snapshot while hvtrail was not connected",
				  vm_name(d));
	} else if (o->state == VIR_DOMAIN_PAUSED && o->reason == VIR_DOMAIN_PAUSED_MIGRATION &&
		   o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN) {
		ev = late_event(m, d, "migration.incoming.started", SEV_INFO, o);
		ev_str(ev, "role", "incoming");
		hvt_event_set_msg(ev, "VM %s: an incoming live migration is under way", vm_name(d));
	} else {
		ev = late_event(m, d, "vm.started", SEV_INFO, o);
		hvt_event_set_msg(ev, first ? "VM %s was already %s when hvtrail first saw it" :
				  "VM %s was started while hvtrail was not connected (%s now)",
				  vm_name(d), lv_state_name(o->state));
	}
	dom_send(m, d, ev);
}

/* The last completed job's statistics, when that job is the one meant. */
static json_object *completed_of(const struct lv_obs *o, int op)
{
	return jparam(o->completed, VIR_DOMAIN_JOB_OPERATION) == op ? o->completed : NULL;
}

/* Not active now, active in the view: it stopped meanwhile. */
static void went_down(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	struct hvt_event *ev;

	if (d->v.mig == LV_MIG_OUT && o->reason == VIR_DOMAIN_SHUTOFF_MIGRATED) {
		ev = late_event(m, d, "migration.completed", SEV_INFO, o);
		ev_str(ev, "role", "source");
		ev_job_figures(ev, completed_of(o, VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT));
		hvt_event_set_msg(ev, "VM %s left by live migration while hvtrail was not connected",
				  vm_name(d));
	} else if (d->v.mig == LV_MIG_IN) {
		ev = late_event(m, d, "migration.incoming.failed", SEV_WARNING, o);
		ev_str(ev, "role", "incoming");
		hvt_event_set_msg(ev, "VM %s: its incoming live migration ended while hvtrail was not "
				  "connected, and it is not running", vm_name(d));
	} else {
		bool bad = o->reason == VIR_DOMAIN_SHUTOFF_CRASHED || o->reason == VIR_DOMAIN_SHUTOFF_FAILED;
		ev = late_event(m, d, "vm.stopped", bad ? SEV_WARNING : SEV_NOTICE, o);
		if (o->reason == VIR_DOMAIN_SHUTOFF_SAVED)
			ev_job_figures(ev, completed_of(o, VIR_DOMAIN_JOB_OPERATION_SAVE));
		hvt_event_set_msg(ev, "VM %s stopped while hvtrail was not connected (%s)", vm_name(d),
				  lv_reason_name(o->state, o->reason));
	}
	dom_send(m, d, ev);
}

static void state_changed(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	struct hvt_event *ev;

	if (o->state == VIR_DOMAIN_PAUSED) {
		ev = late_event(m, d, "vm.paused", o->reason == VIR_DOMAIN_PAUSED_IOERROR ? SEV_WARNING
											: SEV_INFO, o);
		hvt_event_set_msg(ev, "VM %s was paused while hvtrail was not connected (%s)", vm_name(d),
				  lv_reason_name(o->state, o->reason));
	} else if (o->state == VIR_DOMAIN_PMSUSPENDED) {
		ev = late_event(m, d, "vm.pmsuspended", SEV_INFO, o);
		hvt_event_set_msg(ev, "VM %s suspended itself while hvtrail was not connected",
				  vm_name(d));
	} else if (o->state == VIR_DOMAIN_RUNNING) {
		ev = late_event(m, d, "vm.resumed", SEV_INFO, o);
		hvt_event_set_msg(ev, "VM %s was resumed while hvtrail was not connected", vm_name(d));
	} else {
		return;     /* blocked, shutting down: passing states */
	}
	dom_send(m, d, ev);
}

void map_domain(struct lv_map *m, const struct lv_obs *o)
{
	char uuid[LV_UUID_LEN];
	struct lv_dom *d;
	struct hvt_event *ev;

	if (!o->uuid[0])
		return;
	hvt_strlcpy(uuid, o->uuid, sizeof uuid);
	d = dom_get(m, o);
	d->listed = true;
	bool first = d->v.state == VIR_DOMAIN_NOSTATE && !d->v.persistent;
	bool was_active = lv_view_active(&d->v), active = listed_active(o->state);

	if (o->name && d->v.name && strcmp(o->name, d->v.name) != 0) {
		free(d->v.name);        /* renamed meanwhile: the events name it as it is */
		d->v.name = hvt_strdup(o->name);
	}
	if (o->persistent && !d->v.persistent) {
		ev = late_event(m, d, "vm.defined", SEV_INFO, o);
		ev_str(ev, "reason", first ? "exists" : "unknown");
		hvt_event_set_msg(ev, first ? "VM %s was already defined when hvtrail first saw it" :
				  "VM %s was defined while hvtrail was not connected", vm_name(d));
		dom_send(m, d, ev);
		d = dom_find(m, uuid);
	}
	if (d && was_active && !active) {
		went_down(m, d, o);
	} else if (d && !was_active && active) {
		came_up(m, d, o, first);
	} else if (d && was_active && active && d->v.id >= 0 && o->id >= 0 && d->v.id != o->id) {
		/* a new QEMU process: stopped and started while nobody looked */
		ev = late_event(m, d, "vm.stopped", SEV_NOTICE, o);
		ev_state(ev, VIR_DOMAIN_SHUTOFF);
		ev_str(ev, "reason", "unknown");
		hvt_event_set_msg(ev, "VM %s was stopped and started again while hvtrail was not "
				  "connected", vm_name(d));
		dom_send(m, d, ev);
		if ((d = dom_find(m, uuid)))
			came_up(m, d, o, false);
	} else if (d && was_active && active) {
		bool paused_now = o->state == VIR_DOMAIN_PAUSED, paused_then = d->v.state == VIR_DOMAIN_PAUSED;
		/* a pause libvirt takes for its own job is not the VM's state */
		bool job_pause = o->reason == VIR_DOMAIN_PAUSED_MIGRATION ||
				 o->reason == VIR_DOMAIN_PAUSED_SAVE || o->reason == VIR_DOMAIN_PAUSED_SNAPSHOT ||
				 o->reason == VIR_DOMAIN_PAUSED_DUMP || o->reason == VIR_DOMAIN_PAUSED_STARTING_UP;
		if ((paused_now != paused_then && !(paused_now && job_pause)) ||
		    (o->state == VIR_DOMAIN_PMSUSPENDED) != (d->v.state == VIR_DOMAIN_PMSUSPENDED))
			state_changed(m, d, o);
	}
	/* migrations under way in the view, or met under way */
	if ((d = dom_find(m, uuid)) && active) {
		bool job_running = o->job_type == VIR_DOMAIN_JOB_BOUNDED ||
				   o->job_type == VIR_DOMAIN_JOB_UNBOUNDED;
		if (d->v.mig == LV_MIG_OUT && o->job_type == VIR_DOMAIN_JOB_NONE) {
			jobs_resync_outcome(m, d, o);
		} else if (d->v.mig == LV_MIG_IN && o->state == VIR_DOMAIN_RUNNING && !job_running) {
			ev = late_event(m, d, "migration.incoming.completed", SEV_INFO, o);
			ev_str(ev, "role", "incoming");
			ev_bool(ev, "running", true);
			hvt_event_set_msg(ev, "VM %s arrived by live migration while hvtrail was not "
					  "connected", vm_name(d));
			dom_send(m, d, ev);
		} else if (d->v.mig == LV_MIG_NONE && job_running &&
			   o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT) {
			ev = late_event(m, d, "migration.started", SEV_INFO, o);
			ev_str(ev, "role", "source");
			if (o->job_elapsed_ms > 0)
				ev->ts_us -= o->job_elapsed_ms * 1000;
			hvt_event_set_msg(ev, "VM %s: an outgoing live migration is under way", vm_name(d));
			dom_send(m, d, ev);
		}
	}
	if ((d = dom_find(m, uuid)) && d->v.persistent && !o->persistent) {
		ev = late_event(m, d, "vm.undefined", SEV_NOTICE, o);
		hvt_event_set_msg(ev, "VM %s was undefined while hvtrail was not connected", vm_name(d));
		dom_send(m, d, ev);
	}
	if ((d = dom_find(m, uuid)) && o->snaps)
		map_snapshots(m, d, o->snaps, o->ts_us, true);
}

void map_resync_end(struct lv_map *m, const struct lv_obs *o)
{
	struct lv_dom *d = m->doms;

	m->resyncing = false;
	while (d) {
		struct lv_dom *next = d->next;
		char uuid[LV_UUID_LEN];
		if (d->listed || (d->v.state == VIR_DOMAIN_NOSTATE && !d->v.persistent)) {
			d = next;
			continue;
		}
		hvt_strlcpy(uuid, d->v.uuid, sizeof uuid);
		struct hvt_event *ev;
		if (lv_view_active(&d->v)) {
			ev = dom_event(m, d, "vm.stopped", SEV_NOTICE, o->ts_us);
			ev_late(ev);
			ev_state(ev, VIR_DOMAIN_SHUTOFF);
			ev_str(ev, "reason", d->v.mig == LV_MIG_OUT ? "migrating" : "unknown");
			hvt_event_set_msg(ev, "VM %s is gone from libvirt: it stopped%s while hvtrail was "
					  "not connected", vm_name(d),
					  d->v.mig == LV_MIG_OUT ? " (it was migrating away)" : "");
			dom_send(m, d, ev);
			d = dom_find(m, uuid);
		}
		if (d) {
			ev = dom_event(m, d, "vm.undefined", SEV_NOTICE, o->ts_us);
			ev_late(ev);
			ev_state(ev, VIR_DOMAIN_SHUTOFF);
			hvt_event_set_msg(ev, "VM %s is gone from libvirt (undefined while hvtrail was not "
					  "connected)", vm_name(d));
			dom_send(m, d, ev);
		}
		d = next;
	}
	/* the records that never made it into the trail */
	d = m->doms;
	while (d) {
		struct lv_dom *next = d->next;
		if (d->v.state == VIR_DOMAIN_NOSTATE && !d->v.persistent && !d->held)
			dom_forget(m, d);
		d = next;
	}
}
