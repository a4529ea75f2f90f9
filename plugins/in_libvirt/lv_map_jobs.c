/* lv_map_jobs.c - migrations, the jobs that pause a VM (save, snapshot,
 * dump), block jobs, and QEMU's own events through the passthrough.
 *
 * A live migration as libvirt 9.0 reports it (measured, lab REPORT.md):
 *   source  migration-iteration 1..n, suspended (migrated) at the switch-
 *           over, then - after the target resumed - stopped (migrated) and
 *           job-completed {operation 5, time_elapsed, downtime, ...};
 *   target  started (migrated), resumed (migrated).
 * migration-iteration also fires for a save and an internal snapshot, so an
 * iteration proves a migration only with the job's operation, which the
 * connection asks libvirt for at the first iteration (o->job_op); the
 * switch-over pause proves it too.  A source whose migration fails or is
 * cancelled gets no event at all before the switch-over; the connection
 * polls its job while one runs and reports how it ended (LV_OBS_JOB_ENDED).
 * The source's migration.completed is held until job-completed brings its
 * figures (lv_map.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "lv_map_priv.h"

static const char *vm_name(const struct lv_dom *d)
{
	return d->v.name ? d->v.name : d->v.uuid;
}

static struct hvt_event *mig_event(struct lv_map *m, struct lv_dom *d, const char *type, int sev,
				   long long ts, const char *role)
{
	struct hvt_event *ev = dom_event(m, d, type, sev, ts);

	ev_str(ev, "role", role);
	return ev;
}

static void mig_started(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	long long ts = o->ts_us;

	if (d->v.mig == LV_MIG_OUT)
		return;
	/* libvirt knows how long the job has been running */
	if (o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT && o->job_elapsed_ms > 0)
		ts -= o->job_elapsed_ms * 1000;
	struct hvt_event *ev = mig_event(m, d, "migration.started", SEV_INFO, ts, "source");
	if (o->id >= 0)
		ev_int(ev, "domain_id", o->id);
	if (o->kind == LV_OBS_JOB_SEEN)
		ev_str(ev, "detected_by", "job-poll");
	hvt_event_set_msg(ev, "VM %s: outgoing live migration started", vm_name(d));
	d->passes = 0;
	d->mig_stop_ts = 0;
	dom_send(m, d, ev);
}

static bool pausing_job(int op)
{
	return op == VIR_DOMAIN_JOB_OPERATION_SAVE || op == VIR_DOMAIN_JOB_OPERATION_SNAPSHOT ||
	       op == VIR_DOMAIN_JOB_OPERATION_DUMP;
}

/* The job a pause belongs to: from the job statistics, else from the paused
 * state's reason (libvirt 9.0 gives an internal snapshot no statistics). */
static int pause_job(const struct lv_obs *o)
{
	if (pausing_job(o->job_op))
		return o->job_op;
	if (o->state != VIR_DOMAIN_PAUSED)
		return -1;
	switch (o->reason) {
	case VIR_DOMAIN_PAUSED_SNAPSHOT: return VIR_DOMAIN_JOB_OPERATION_SNAPSHOT;
	case VIR_DOMAIN_PAUSED_SAVE: return VIR_DOMAIN_JOB_OPERATION_SAVE;
	case VIR_DOMAIN_PAUSED_DUMP: return VIR_DOMAIN_JOB_OPERATION_DUMP;
	}
	return -1;
}

bool jobs_on_lifecycle(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	struct hvt_event *ev;

	switch (o->event) {
	case VIR_DOMAIN_EVENT_STARTED:
		if (o->detail != VIR_DOMAIN_EVENT_STARTED_MIGRATED)
			return false;
		if (d->v.mig == LV_MIG_IN && d->v.id == o->id)
			return true;
		ev = mig_event(m, d, "migration.incoming.started", SEV_INFO, o->ts_us, "incoming");
		ev_libvirt(ev, "started", "migrated");
		ev_state(ev, VIR_DOMAIN_PAUSED);    /* QEMU waits for the state, not running */
		ev_int(ev, "domain_id", o->id);
		hvt_event_set_msg(ev, "VM %s: incoming live migration started", vm_name(d));
		dom_send(m, d, ev);
		return true;

	case VIR_DOMAIN_EVENT_SUSPENDED:
		if (o->detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED ||
		    o->detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY) {
			/* the switch-over: part of the migration (its downtime) */
			if (d->v.mig == LV_MIG_NONE)
				mig_started(m, d, o);   /* its first iteration did not say */
			if ((d = dom_find(m, o->uuid)))
				d->mig_stop_ts = o->ts_us;
			return true;
		}
		if (d->v.mig == LV_MIG_IN) {
			/* the target stays paused (migrate --suspend): it arrived */
			ev = mig_event(m, d, "migration.incoming.completed", SEV_INFO, o->ts_us, "incoming");
			ev_libvirt(ev, "suspended", lv_detail_name(o->event, o->detail));
			ev_state(ev, VIR_DOMAIN_PAUSED);
			ev_bool(ev, "running", false);
			ev_int(ev, "duration_ms", (o->ts_us - d->v.mig_ts) / 1000);
			hvt_event_set_msg(ev, "VM %s arrived by live migration (paused)", vm_name(d));
			dom_send(m, d, ev);
			return true;
		}
		if (pause_job(o) >= 0 && d->v.state != VIR_DOMAIN_PAUSED) {
			/* a save, snapshot or dump pauses the VM for itself */
			d->job_op = pause_job(o);
			d->job_stop_ts = o->ts_us;
			d->pause_folded = true;
			return true;
		}
		if (o->detail == VIR_DOMAIN_EVENT_SUSPENDED_PAUSED && o->state == VIR_DOMAIN_RUNNING &&
		    d->v.state != VIR_DOMAIN_PAUSED) {
			/* the pause was over before libvirt could be asked about it (the
			 * state query follows the event by a millisecond or two): one of
			 * libvirt's own, e.g. an external snapshot's (measured: a disk-only
			 * snapshot pauses for a few ms, and no job is visible).  Nobody
			 * pauses and resumes a VM by hand that fast. */
			d->job_op = VIR_DOMAIN_JOB_OPERATION_SNAPSHOT;
			d->job_stop_ts = o->ts_us;
			d->pause_folded = true;
			return true;
		}
		return false;

	case VIR_DOMAIN_EVENT_RESUMED:
		if (d->v.mig == LV_MIG_IN && (o->detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED ||
					      o->detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY)) {
			ev = mig_event(m, d, "migration.incoming.completed", SEV_INFO, o->ts_us, "incoming");
			ev_libvirt(ev, "resumed", lv_detail_name(o->event, o->detail));
			ev_state(ev, VIR_DOMAIN_RUNNING);
			ev_bool(ev, "running", true);
			if (o->detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY)
				ev_bool(ev, "postcopy", true);
			if (o->id >= 0)
				ev_int(ev, "domain_id", o->id);
			ev_int(ev, "duration_ms", (o->ts_us - d->v.mig_ts) / 1000);
			hvt_event_set_msg(ev, "VM %s arrived by live migration and runs", vm_name(d));
			dom_send(m, d, ev);
			return true;
		}
		if (o->detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED && d->v.mig == LV_MIG_NONE &&
		    !lv_view_active(&d->v)) {
			/* its start was missed: the arrival is still the end of a migration */
			ev = mig_event(m, d, "migration.incoming.completed", SEV_INFO, o->ts_us, "incoming");
			ev_libvirt(ev, "resumed", "migrated");
			ev_state(ev, VIR_DOMAIN_RUNNING);
			ev_bool(ev, "running", true);
			if (o->id >= 0)
				ev_int(ev, "domain_id", o->id);
			hvt_event_set_msg(ev, "VM %s arrived by live migration and runs", vm_name(d));
			dom_send(m, d, ev);
			return true;
		}
		if (d->v.mig == LV_MIG_OUT && o->detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED) {
			/* the source runs on: the migration failed or was cancelled
			 * after the switch-over (its job's end says which) */
			d->mig_stop_ts = 0;
			return true;
		}
		if (d->pause_folded) {
			if (d->job_op == VIR_DOMAIN_JOB_OPERATION_SNAPSHOT && d->job_stop_ts)
				d->job_paused_us = o->ts_us - d->job_stop_ts;
			d->pause_folded = false;
			d->job_op = -1;
			return true;
		}
		return false;

	case VIR_DOMAIN_EVENT_STOPPED:
		if (o->detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED) {
			if (d->v.state == VIR_DOMAIN_SHUTOFF || d->held)
				return true;    /* job-completed came first and reported it */
			ev = mig_event(m, d, "migration.completed", SEV_INFO, o->ts_us, "source");
			ev_libvirt(ev, "stopped", "migrated");
			ev_state(ev, VIR_DOMAIN_SHUTOFF);
			if (d->passes)
				ev_int(ev, "passes", d->passes);
			hvt_event_set_msg(ev, "VM %s left by live migration", vm_name(d));
			/* wait for job-completed: the figures */
			d->held = ev;
			d->held_deadline = o->ts_us + m->o.hold_us;
			return true;
		}
		if (o->detail == VIR_DOMAIN_EVENT_STOPPED_FAILED && d->v.mig == LV_MIG_IN) {
			ev = mig_event(m, d, "migration.incoming.failed", SEV_WARNING, o->ts_us, "incoming");
			ev_libvirt(ev, "stopped", "failed");
			ev_state(ev, VIR_DOMAIN_SHUTOFF);
			ev_int(ev, "duration_ms", (o->ts_us - d->v.mig_ts) / 1000);
			hvt_event_set_msg(ev, "VM %s: incoming live migration failed; the target was "
					  "stopped", vm_name(d));
			dom_send(m, d, ev);
			return true;
		}
		return false;
	}
	return false;
}

void map_iteration(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	if (o->n == 1 && o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT) {
		mig_started(m, d, o);
		d = dom_find(m, o->uuid);
	} else if (o->n == 1 && pausing_job(o->job_op)) {
		d->job_op = o->job_op;
	}
	if (d)
		d->passes = o->n;
}

static void complete_held(struct lv_map *m, struct lv_dom *d, json_object *params)
{
	ev_job_figures(d->held, params);
	dom_release_held(m, d);
}

void map_job_completed(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	long long op = jparam(o->params, VIR_DOMAIN_JOB_OPERATION);
	struct hvt_event *ev;

	switch (op) {
	case VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT:
		if (d->held) {
			complete_held(m, d, o->params);
		} else if (d->v.mig == LV_MIG_OUT && d->v.state != VIR_DOMAIN_SHUTOFF) {
			/* before its "stopped (migrated)": report it now, the stop follows */
			ev = mig_event(m, d, "migration.completed", SEV_INFO, o->ts_us, "source");
			ev_state(ev, VIR_DOMAIN_SHUTOFF);
			ev_job_figures(ev, o->params);
			hvt_event_set_msg(ev, "VM %s left by live migration", vm_name(d));
			dom_send(m, d, ev);
		}
		/* else its end went out already (held too long): the figures are late */
		return;
	case VIR_DOMAIN_JOB_OPERATION_SAVE:
		json_object_put(d->save_job);
		d->save_job = json_object_get(o->params);
		return;
	case VIR_DOMAIN_JOB_OPERATION_SNAPSHOT:
		/* the snapshot itself is found in the snapshot list */
		d->job_op = -1;
		return;
	default:
		break;
	}
	ev = dom_event(m, d, "job.completed", SEV_INFO, o->ts_us);
	ev_str(ev, "operation", lv_job_op_name((int)op));
	ev_job_figures(ev, o->params);
	hvt_event_set_msg(ev, "VM %s: %s job completed", vm_name(d), lv_job_op_name((int)op));
	dom_send(m, d, ev);
}

static void mig_ended(struct lv_map *m, struct lv_dom *d, int job_type, json_object *params,
		      long long ts, bool late, const char *note)
{
	struct hvt_event *ev;

	if (job_type == VIR_DOMAIN_JOB_COMPLETED) {
		if (d->held) {
			complete_held(m, d, params);
			return;
		}
		(void)note;
		ev = mig_event(m, d, "migration.completed", SEV_INFO, ts, "source");
		ev_state(ev, VIR_DOMAIN_SHUTOFF);
		hvt_event_set_msg(ev, "VM %s left by live migration", vm_name(d));
	} else if (job_type == VIR_DOMAIN_JOB_CANCELLED) {
		ev = mig_event(m, d, "migration.cancelled", SEV_NOTICE, ts, "source");
		hvt_event_set_msg(ev, "VM %s: outgoing live migration cancelled; it stays here",
				  vm_name(d));
	} else {
		ev = mig_event(m, d, "migration.failed", SEV_WARNING, ts, "source");
		hvt_event_set_msg(ev, "VM %s: outgoing live migration failed; it stays here", vm_name(d));
	}
	ev_job_figures(ev, params);
	if (job_type != VIR_DOMAIN_JOB_COMPLETED && job_type != VIR_DOMAIN_JOB_CANCELLED &&
	    !jparam_str(params, VIR_DOMAIN_JOB_ERRMSG))
		ev_str(ev, "error", note ? note : "libvirt gave no error text");
	if (late)
		ev_late(ev);
	dom_send(m, d, ev);
}

void map_job_seen(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	if (o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT && d->v.mig == LV_MIG_NONE)
		mig_started(m, d, o);
}

void map_job_ended(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	long long op = jparam(o->params, VIR_DOMAIN_JOB_OPERATION);

	if (d->v.mig != LV_MIG_OUT && !d->held)
		return;      /* its end went out already */
	if (op != VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)
		/* an older job's statistics: this one left none */
		mig_ended(m, d, VIR_DOMAIN_JOB_FAILED, NULL, o->ts_us, false,
			  o->s1 ? o->s1 : "libvirt keeps no statistics of a migration that did not "
			  "complete: it failed or was cancelled");
	else
		mig_ended(m, d, o->n, o->params, o->ts_us, false, o->s1);
}

/* The view has a migration out under way; libvirt says the domain is here
 * and runs no job.  Statistics of a completed migration out would mean it
 * left - it has not (it is listed active): they are an older job's. */
void jobs_resync_outcome(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	long long op = jparam(o->completed, VIR_DOMAIN_JOB_OPERATION);
	long long type = jparam(o->completed, "job_type");

	if (op != VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT || type == VIR_DOMAIN_JOB_COMPLETED)
		mig_ended(m, d, VIR_DOMAIN_JOB_FAILED, NULL, o->ts_us, true,
			  "it ended while hvtrail was not connected; libvirt kept no statistics of it");
	else
		mig_ended(m, d, (int)type, o->completed, o->ts_us, true, NULL);
}

void map_block_job(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	char type[64];

	if (o->status == VIR_DOMAIN_BLOCK_JOB_READY || o->status < 0 ||
	    o->status > VIR_DOMAIN_BLOCK_JOB_CANCELED)
		return;     /* a mirror or active commit waits for its pivot */
	snprintf(type, sizeof type, "block.%s.%s", lv_block_job_type_name(o->n),
		 lv_block_job_status_name(o->status));
	struct hvt_event *ev = dom_event(m, d, type,
					 o->status == VIR_DOMAIN_BLOCK_JOB_FAILED ? SEV_WARNING : SEV_INFO,
					 o->ts_us);
	static const char *const libvirt_types[] = { "unknown", "pull", "copy", "commit", "active-commit",
						      "backup" };
	ev_libvirt(ev, "block-job", libvirt_types[o->n >= 0 && o->n <= 5 ? o->n : 0]);
	ev_str(ev, "disk", o->s1);
	ev_str(ev, "job_type", lv_block_job_type_name(o->n));
	if (o->n == VIR_DOMAIN_BLOCK_JOB_TYPE_ACTIVE_COMMIT)
		ev_bool(ev, "active", true);
	hvt_event_set_msg(ev, "VM %s: block %s job on %s %s", vm_name(d), lv_block_job_type_name(o->n),
			  o->s1 ? o->s1 : "?", lv_block_job_status_name(o->status));
	dom_send(m, d, ev);
}

/* ---- QEMU's own events (passthrough) -------------------------------------------
 * libvirt maps most of QEMU's events itself (above); what it does not is
 * COLO: COLO_EXIT, and a migration whose status turns "colo".  Everything
 * else the passthrough brings is libvirt's already. */
static json_object *qemu_data(const struct lv_obs *o)
{
	return o->s2 ? json_tokener_parse(o->s2) : NULL;
}

static void attach_qmp(struct hvt_event *ev, const struct lv_obs *o, json_object *data)
{
	json_object *q = json_object_new_object();

	json_object_object_add(q, "event", json_object_new_string(o->s1));
	if (data)
		json_object_object_add(q, "data", json_object_get(data));
	hvt_event_data_add(ev, "qmp", q);
}

void map_qemu(struct lv_map *m, struct lv_dom *d, const struct lv_obs *o)
{
	json_object *data = qemu_data(o), *v;
	long long ts = o->qemu_ts_us > 0 ? o->qemu_ts_us : o->ts_us;
	struct hvt_event *ev = NULL;

	if (!o->s1) {
		json_object_put(data);
		return;
	}
	if (strcmp(o->s1, "COLO_EXIT") == 0) {
		const char *mode = data && json_object_object_get_ex(data, "mode", &v) ?
				   json_object_get_string(v) : NULL;
		const char *reason = data && json_object_object_get_ex(data, "reason", &v) ?
				     json_object_get_string(v) : NULL;
		ev = dom_event(m, d, "colo.failover", SEV_CRIT, ts);
		ev_str(ev, "side", mode);
		ev_str(ev, "reason", reason);
		/* measured in the QEMU lab: QEMU's reason does not say who failed */
		ev_bool(ev, "reason_reliable", false);
		hvt_event_set_msg(ev, "VM %s: COLO ended on this side (%s, reason %s as QEMU reports it)",
				  vm_name(d), mode ? mode : "?", reason ? reason : "?");
	} else if (strcmp(o->s1, "MIGRATION") == 0 && data &&
		   json_object_object_get_ex(data, "status", &v) &&
		   strcmp(json_object_get_string(v), "colo") == 0 && d->v.mig != LV_MIG_NONE) {
		bool primary = d->v.mig == LV_MIG_OUT;
		ev = dom_event(m, d, "colo.entered", SEV_INFO, ts);
		ev_str(ev, "mode", primary ? "primary" : "secondary");
		hvt_event_set_msg(ev, "VM %s: COLO fault tolerance entered (%s)", vm_name(d),
				  primary ? "primary" : "secondary");
	}
	if (ev) {
		attach_qmp(ev, o, data);
		dom_send(m, d, ev);
	}
	json_object_put(data);
}
