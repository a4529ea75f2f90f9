/* lv_map_life.c - libvirt's lifecycle events: defined, undefined, started,
 * suspended, resumed, stopped, shutdown, pmsuspended, crashed.
 *
 * libvirt reports a state change as it happens, with a detail saying why;
 * the view says what the trail holds, so an event that changes nothing the
 * trail does not already say is folded: libvirt's "resumed (unpaused)" that
 * comes just before "started (booted)" (QEMU starts paused and is let go),
 * the "resumed (snapshot)" after "started (restored)", or an event that a
 * resync after a reconnect has already reported late.  Migrations and the
 * pauses of save and snapshot jobs are lv_map_jobs.c's. */
#include "config.h"

#include <string.h>
#include <libvirt/libvirt.h>

#include "lv_map_priv.h"

static const char *vm_name(const struct lv_dom *d)
{
	return d->v.name ? d->v.name : d->v.uuid;
}

static struct hvt_event *life_event(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o,
				    const char *type, int severity, int state_after)
{
	struct hvt_event *ev = dom_event(m, d, type, severity, o->ts_us);

	ev_libvirt(ev, lv_event_name(o->event), lv_detail_name(o->event, o->detail));
	if (state_after >= 0)
		ev_state(ev, state_after);
	if (o->id >= 0)
		ev_int(ev, "domain_id", o->id);
	return ev;
}

static void on_defined(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	const char *why = lv_detail_name(o->event, o->detail);
	struct hvt_event *ev = life_event(m, d, o, "vm.defined", SEV_INFO, -1);

	ev_str(ev, "reason", why);
	if (!lv_view_active(&d->v))
		ev_state(ev, VIR_DOMAIN_SHUTOFF);
	hvt_event_set_msg(ev, "VM %s %s", vm_name(d),
			  o->detail == VIR_DOMAIN_EVENT_DEFINED_ADDED ? "defined" :
			  o->detail == VIR_DOMAIN_EVENT_DEFINED_RENAMED ? "defined under a new name" :
			  o->detail == VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT ?
			  "definition restored from a snapshot" : "definition updated");
	dom_send(m, d, ev);
}

static void on_undefined(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	struct hvt_event *ev = life_event(m, d, o, "vm.undefined", SEV_NOTICE, -1);

	ev_str(ev, "reason", lv_detail_name(o->event, o->detail));
	if (!lv_view_active(&d->v))
		ev_state(ev, VIR_DOMAIN_SHUTOFF);
	/* libvirt refuses to undefine a domain with snapshots unless their
	 * metadata goes too (--snapshots-metadata): they are no longer listed */
	if (d->v.nsnaps)
		ev_int(ev, "snapshots_metadata_removed", d->v.nsnaps);
	hvt_event_set_msg(ev, "VM %s undefined%s", vm_name(d),
			  lv_view_active(&d->v) ? " (it keeps running as a transient domain)" : "");
	dom_send(m, d, ev);
}

static void on_started(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	struct hvt_event *ev;

	/* already in the trail (a resync reported it while this event waited) */
	if (lv_view_active(&d->v) && d->v.id == o->id)
		return;
	if (o->detail == VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT) {
		ev = life_event(m, d, o, "snapshot.reverted", SEV_INFO, VIR_DOMAIN_RUNNING);
		ev_bool(ev, "snapshot_revert", true);
		ev_str(ev, "snapshot", o->s1);     /* libvirt's current snapshot: the one reverted to */
		if (o->s1)
			hvt_event_set_msg(ev, "VM %s runs again from snapshot %s", vm_name(d), o->s1);
		else
			hvt_event_set_msg(ev, "VM %s runs again from a snapshot", vm_name(d));
	} else {
		const char *why = lv_detail_name(o->event, o->detail);
		ev = life_event(m, d, o, "vm.started", SEV_INFO, VIR_DOMAIN_RUNNING);
		ev_str(ev, "reason", why);
		hvt_event_set_msg(ev, "VM %s started%s", vm_name(d),
				  o->detail == VIR_DOMAIN_EVENT_STARTED_RESTORED ? " from a saved state" :
				  o->detail == VIR_DOMAIN_EVENT_STARTED_WAKEUP ? " (woken up)" : "");
	}
	d->shutdown_by[0] = '\0';
	dom_send(m, d, ev);
}

static bool severe_pause(int detail)
{
	return detail == VIR_DOMAIN_EVENT_SUSPENDED_IOERROR ||
	       detail == VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG ||
	       detail == VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR ||
	       detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED;
}

static void on_suspended(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	if (d->v.state == VIR_DOMAIN_PAUSED)
		return;
	struct hvt_event *ev = life_event(m, d, o, "vm.paused",
					  severe_pause(o->detail) ? SEV_WARNING : SEV_INFO, VIR_DOMAIN_PAUSED);
	const char *why = lv_detail_name(o->event, o->detail);
	ev_str(ev, "reason", why);
	if (o->detail == VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
		hvt_event_set_msg(ev, "VM %s paused", vm_name(d));
	else
		hvt_event_set_msg(ev, "VM %s paused (%s)", vm_name(d), why);
	dom_send(m, d, ev);
}

static void on_resumed(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	/* reported only after a reported pause: a start resumes QEMU too */
	if (d->v.state != VIR_DOMAIN_PAUSED)
		return;
	struct hvt_event *ev = life_event(m, d, o, "vm.resumed", SEV_INFO, VIR_DOMAIN_RUNNING);
	ev_str(ev, "reason", lv_detail_name(o->event, o->detail));
	if (d->v.state_ts > 0 && o->ts_us >= d->v.state_ts)
		ev_int(ev, "paused_ms", (o->ts_us - d->v.state_ts) / 1000);
	hvt_event_set_msg(ev, "VM %s resumed", vm_name(d));
	dom_send(m, d, ev);
}

static void on_stopped(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	if (d->v.state == VIR_DOMAIN_SHUTOFF)
		return;
	const char *why = lv_detail_name(o->event, o->detail);
	bool bad = o->detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ||
		   o->detail == VIR_DOMAIN_EVENT_STOPPED_FAILED;
	struct hvt_event *ev = life_event(m, d, o, "vm.stopped", bad ? SEV_WARNING : SEV_NOTICE,
					  VIR_DOMAIN_SHUTOFF);

	ev_str(ev, "reason", why);
	if (d->shutdown_by[0])
		ev_str(ev, "shutdown_by", d->shutdown_by);
	if (o->detail == VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT)
		ev_bool(ev, "snapshot_revert", true);
	if (o->detail == VIR_DOMAIN_EVENT_STOPPED_SAVED && d->save_job) {
		/* the save's figures came with its job-completed, before the stop */
		ev_job_figures(ev, d->save_job);
		json_object_put(d->save_job);
		d->save_job = NULL;
	}
	switch (o->detail) {
	case VIR_DOMAIN_EVENT_STOPPED_SAVED:
		hvt_event_set_msg(ev, "VM %s stopped: its state was saved to a file", vm_name(d));
		break;
	case VIR_DOMAIN_EVENT_STOPPED_FAILED:
		hvt_event_set_msg(ev, "VM %s stopped: QEMU failed or was killed", vm_name(d));
		break;
	case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT:
		hvt_event_set_msg(ev, "VM %s stopped to revert to a snapshot", vm_name(d));
		break;
	default:
		hvt_event_set_msg(ev, "VM %s stopped (%s)", vm_name(d), why);
	}
	d->shutdown_by[0] = '\0';
	d->job_op = -1;
	d->pause_folded = false;
	dom_send(m, d, ev);
}

/* QEMU shut the guest down; the stop (with its reason) follows. */
static void on_shutdown(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	const char *by = o->detail == VIR_DOMAIN_EVENT_SHUTDOWN_GUEST ? "guest" :
			 o->detail == VIR_DOMAIN_EVENT_SHUTDOWN_HOST ? "host" : "unknown";
	struct hvt_event *ev = life_event(m, d, o, "vm.shutdown", SEV_INFO, -1);

	hvt_strlcpy(d->shutdown_by, by, sizeof d->shutdown_by);
	ev_str(ev, "initiated_by", by);
	hvt_event_set_msg(ev, "VM %s shut down%s", vm_name(d),
			  strcmp(by, "guest") == 0 ? " (the guest asked)" :
			  strcmp(by, "host") == 0 ? " (the host asked)" : "");
	dom_send(m, d, ev);
}

static void on_pmsuspended(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	if (d->v.state == VIR_DOMAIN_PMSUSPENDED)
		return;
	struct hvt_event *ev = life_event(m, d, o, "vm.pmsuspended", SEV_INFO, VIR_DOMAIN_PMSUSPENDED);
	ev_str(ev, "target", lv_detail_name(o->event, o->detail));
	hvt_event_set_msg(ev, "VM %s suspended itself (to %s)", vm_name(d),
			  lv_detail_name(o->event, o->detail));
	dom_send(m, d, ev);
}

static void on_crashed(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	struct hvt_event *ev = life_event(m, d, o, "vm.panicked", SEV_ERR, -1);

	ev_str(ev, "action", lv_detail_name(o->event, o->detail));
	hvt_event_set_msg(ev, "VM %s: the guest crashed (%s)", vm_name(d),
			  lv_detail_name(o->event, o->detail));
	dom_send(m, d, ev);
}

void map_lifecycle(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	if (jobs_on_lifecycle(m, d, o))
		return;
	switch (o->event) {
	case VIR_DOMAIN_EVENT_DEFINED: on_defined(m, d, o); break;
	case VIR_DOMAIN_EVENT_UNDEFINED: on_undefined(m, d, o); break;
	case VIR_DOMAIN_EVENT_STARTED: on_started(m, d, o); break;
	case VIR_DOMAIN_EVENT_SUSPENDED: on_suspended(m, d, o); break;
	case VIR_DOMAIN_EVENT_RESUMED: on_resumed(m, d, o); break;
	case VIR_DOMAIN_EVENT_STOPPED: on_stopped(m, d, o); break;
	case VIR_DOMAIN_EVENT_SHUTDOWN: on_shutdown(m, d, o); break;
	case VIR_DOMAIN_EVENT_PMSUSPENDED: on_pmsuspended(m, d, o); break;
	case VIR_DOMAIN_EVENT_CRASHED: on_crashed(m, d, o); break;
	default: break;
	}
}
