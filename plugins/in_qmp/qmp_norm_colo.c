/* qmp_norm_colo.c - COLO fault tolerance: entering, checkpoints, failover.
 *
 * A COLO pair starts as a migration whose status becomes "colo" on both
 * sides.  From then on each checkpoint is a STOP (+ MIGRATION_PASS on the
 * primary) and a RESUME every x-checkpoint-delay: useful as a heartbeat, a
 * flood as individual events, so they are summarised (colo.checkpoints, at
 * most one per colo_summary interval, and before a failover).  The failover
 * itself is COLO_EXIT {mode, reason}; QEMU's reason is recorded as reported
 * but is not reliable (the lab saw "error" for a request and "request" for
 * a dead peer), so what the auditor needs - does this side run the service
 * now? - comes from query-status right after the event (or, when that cannot
 * be read, from the run state the events left). */
#include "config.h"

#include <string.h>

#include "log.h"
#include "qmp_norm_priv.h"
#include "timefmt.h"

bool colo_busy(const struct qmp_vm *vm)
{
	return vm->colo.phase != COLO_OFF;
}

void colo_reset(struct qmp_vm *vm)
{
	memset(&vm->colo, 0, sizeof vm->colo);
}

static void reset_window(struct qmp_colo *c, long long ts)
{
	c->win = 0;
	c->win_first_ts = c->win_last_ts = 0;
	c->pause_sum_us = c->pause_max_us = 0;
	c->last_summary_ts = ts;
}

/* ---- entering -------------------------------------------------------------- */

static void entered_finish(struct qmp_vm *vm, struct pend *p)
{
	const char *mode = json_object_get_string(pend_ctx_get(p, "mode"));

	if (mode && (strcmp(mode, "primary") == 0 || strcmp(mode, "secondary") == 0)) {
		hvt_strlcpy(vm->colo.mode, mode, sizeof vm->colo.mode);
		json_object_object_del(p->ev->data, "mode");
		data_str(p->ev, "mode", mode);
	}
	hvt_event_set_msg(p->ev, "VM %s entered COLO fault tolerance as the %s",
			  qmp_vm_name(vm), vm->colo.mode[0] ? vm->colo.mode : "(unknown side)");
}

void colo_enter(struct qmp_vm *vm, const struct qmp_msg *m, long long ts, struct pend *resync)
{
	struct qmp_colo *c = &vm->colo;
	long long sync_us =
		vm->mig.in_progress && vm->mig.start_ts > 0 ? ts - vm->mig.start_ts : -1;
	enum mig_role role = vm->mig.role;

	if (role == MIG_NONE)
		role = vm->status_known && strcmp(vm->status, "inmigrate") == 0 ? MIG_INCOMING
										  : MIG_SOURCE;
	colo_reset(vm);
	c->phase = COLO_ON;
	c->entered_ts = ts;
	c->last_summary_ts = ts;
	hvt_strlcpy(c->mode, role == MIG_INCOMING ? "secondary" : "primary", sizeof c->mode);
	mig_absorbed_by_colo(vm);

	struct hvt_event *ev = norm_event(vm, "colo.entered", HVT_SEV_INFO, ts);
	if (m)
		norm_attach_qmp(ev, m);
	data_str(ev, "mode", c->mode);
	if (sync_us >= 0)
		data_ms(ev, "initial_sync_ms", sync_us);
	if (resync) {
		ev->flags |= HVT_EV_LATE;
		data_str(ev, "observed", "resync");
		hvt_event_set_msg(ev, "VM %s is in COLO fault tolerance as the %s", qmp_vm_name(vm),
				  c->mode);
		outq_put(vm, resync, ev);
		return;
	}
	struct pend *p = outq_add(vm, ev);
	p->kind = PK_COLO_ENTER;
	p->finish = entered_finish;
	outq_ask(vm, p, QMP_Q_COLO);
}

/* ---- checkpoints ----------------------------------------------------------- */

void colo_stop(struct qmp_vm *vm, long long ts)
{
	struct qmp_colo *c = &vm->colo;

	if (c->phase != COLO_ON)
		return;
	c->stopped = true;
	c->stop_ts = ts;
}

/* A checkpoint is complete when the VM runs again. */
void colo_resume(struct qmp_vm *vm, long long ts)
{
	struct qmp_colo *c = &vm->colo;

	if (c->phase != COLO_ON || !c->stopped)
		return;
	c->stopped = false;
	long long pause = ts >= c->stop_ts ? ts - c->stop_ts : 0;
	c->total++;
	if (c->win++ == 0)
		c->win_first_ts = c->stop_ts;
	c->win_last_ts = ts;
	c->pause_sum_us += pause;
	if (pause > c->pause_max_us)
		c->pause_max_us = pause;
	if (ts - c->last_summary_ts >= vm->opts.colo_summary_us)
		colo_flush(vm, NULL, ts);
}

void colo_flush(struct qmp_vm *vm, struct pend *p, long long ts)
{
	struct qmp_colo *c = &vm->colo;
	char first[40], last[40], avg[32], max[32];

	if (c->win == 0)
		return;
	struct hvt_event *ev = norm_event(vm, "colo.checkpoints", HVT_SEV_INFO, c->win_last_ts);
	hvt_format_rfc3339(c->win_first_ts, first, sizeof first);
	hvt_format_rfc3339(c->win_last_ts, last, sizeof last);
	long long avg_us = c->pause_sum_us / (long long)c->win;
	data_str(ev, "mode", c->mode);
	data_int(ev, "count", (long long)c->win);
	data_int(ev, "total", (long long)c->total);
	data_str(ev, "first", first);
	data_str(ev, "last", last);
	data_ms(ev, "pause_avg_ms", avg_us);
	data_ms(ev, "pause_max_ms", c->pause_max_us);
	fmt_duration(avg, sizeof avg, avg_us);
	fmt_duration(max, sizeof max, c->pause_max_us);
	hvt_event_set_msg(ev, "VM %s: %llu COLO checkpoints as the %s from %s to %s "
			  "(pause avg %s, max %s; %llu since entering COLO)", qmp_vm_name(vm),
			  c->win, c->mode[0] ? c->mode : "?", first, last, avg, max, c->total);
	reset_window(c, ts);
	outq_put(vm, p, ev);
}

/* ---- leaving --------------------------------------------------------------- */

/* QEMU ends COLO with two messages in either order: COLO_EXIT and
 * MIGRATION completed.  Pauses between them are part of the failover; if
 * the VM stays paused, the failover's own query-status says so (and makes
 * the next RESUME a reported vm.resumed, see state_on_status). */
static void exit_step(struct qmp_vm *vm, enum colo_phase next_if_on)
{
	struct qmp_colo *c = &vm->colo;

	c->stopped = false;
	c->phase = c->phase == COLO_ON ? next_if_on : COLO_OFF;
}

bool colo_migration_completed(struct qmp_vm *vm, long long ts)
{
	(void)ts;
	if (vm->colo.phase == COLO_OFF || vm->colo.phase == COLO_COMPLETED)
		return vm->colo.phase == COLO_COMPLETED;
	exit_step(vm, COLO_COMPLETED);
	/* COLO's block replication rearranges the disks while it runs and when
	 * it fails over (a copy-before-write filter, the secondary's active and
	 * hidden images): the chain after it is the new baseline, not a
	 * block.chain.changed (see block_compare). */
	if (vm->opts.block_queries) {
		vm->block_explained = true;
		outq_ask(vm, NULL, QMP_Q_BLOCK);
	}
	return true;
}



static void failover_finish(struct qmp_vm *vm, struct pend *p)
{
	struct hvt_event *ev = p->ev;
	json_object *jr = pend_ctx_get(p, "running");
	const char *st = json_object_get_string(pend_ctx_get(p, "status"));
	const char *side = jstr(ev->data, "side");
	const char *reason = jstr(ev->data, "reason");
	json_object *cs = pend_ctx_get(p, "colo_status");
	/* query-status failed (QEMU busy failing over, a timeout): the run
	 * state the events left is the best there is, and the event says so */
	bool by_events = !jr && pend_ctx_get(p, "running_at_exit");
	const char *outcome;

	if (cs)
		hvt_event_data_add(ev, "colo_status", json_object_get(cs));
	if (by_events) {
		jr = pend_ctx_get(p, "running_at_exit");
		data_str(ev, "run_state_from", "events");
	}
	if (jr) {
		bool running = json_object_get_boolean(jr);
		data_bool(ev, "vm_running", running);
		data_str(ev, "status", st);
		data_bool(ev, "service_here", running);
		outcome = running ? (side && strcmp(side, "secondary") == 0
				     ? "the secondary took over and now runs the service"
				     : "the primary continues alone and runs the service")
			: by_events
			? "the VM was stopped when COLO ended: this side runs the service only once "
			  "it resumes"
			: st && strcmp(st, "colo") == 0
			? "the VM is paused mid-checkpoint: this side runs the service only once "
			  "the failover is completed (x-colo-lost-heartbeat) and it resumes"
			: "the VM was left paused: this side does not run the service";
	} else {
		outcome = "run state after failover unknown";
	}
	hvt_event_set_msg(ev, "COLO failover on VM %s (%s side): %s%s (QEMU reports reason '%s', "
			  "which is not reliable)", qmp_vm_name(vm), side ? side : "?", outcome,
			  by_events ? ", by its events (QEMU's run state could not be read)" : "",
			  reason ? reason : "none");
}

static void on_colo_exit(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	const char *mode = jstr(m->data, "mode");
	const char *reason = jstr(m->data, "reason");

	colo_flush(vm, NULL, ts);
	struct hvt_event *ev = norm_event(vm, "colo.failover", HVT_SEV_CRIT, ts);
	norm_attach_qmp(ev, m);
	data_str(ev, "side", mode ? mode : vm->colo.mode[0] ? vm->colo.mode : NULL);
	data_str(ev, "reason", reason);
	data_bool(ev, "reason_reliable", false);
	if (vm->colo.entered_ts > 0 && ts >= vm->colo.entered_ts)
		data_ms(ev, "colo_duration_ms", ts - vm->colo.entered_ts);
	data_int(ev, "checkpoints", (long long)vm->colo.total);
	struct pend *p = outq_add(vm, ev);
	p->kind = PK_COLO_EXIT;
	p->finish = failover_finish;
	/* The VM as its events leave it: stopped (mid-checkpoint, or by the
	 * failover itself) until the RESUME that completes the failover, which
	 * is then news - this side runs the VM now - however the question below
	 * turns out: answered after that RESUME, failed, or timed out while the
	 * RESUME was read (state_on_status undoes this if QEMU says it runs). */
	pend_ctx_set(p, "running_at_exit", json_object_new_boolean(vm->running));
	if (!vm->running && !vm->pause_reported) {
		vm->pause_reported = true;
		vm->paused_by_failover = true;
		vm->paused_ts = ts;
	}
	outq_ask(vm, p, QMP_Q_STATUS);
	outq_ask(vm, p, QMP_Q_COLO);
	exit_step(vm, COLO_EXITED);
}

/* Reconnected and COLO is over: the failover happened while nobody
 * listened.  Its reason is lost; the run state still tells who serves. */
void colo_resync_ended(struct qmp_vm *vm, struct pend *p, long long now_us)
{
	struct hvt_event *ev = norm_event(vm, "colo.failover", HVT_SEV_CRIT, now_us);

	colo_flush(vm, p, now_us);
	ev->flags |= HVT_EV_LATE;
	data_str(ev, "side", vm->colo.mode[0] ? vm->colo.mode : NULL);
	data_bool(ev, "reason_reliable", false);
	data_str(ev, "observed", "resync");
	data_bool(ev, "vm_running", vm->running);
	data_bool(ev, "service_here", vm->running);
	hvt_event_set_msg(ev, "COLO on VM %s (%s side) ended while hvtrail was not connected; "
			  "the VM %s", qmp_vm_name(vm), vm->colo.mode[0] ? vm->colo.mode : "?",
			  vm->running ? "runs here now" : "is paused here");
	colo_reset(vm);
	outq_put(vm, p, ev);
}

bool colo_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us)
{
	if (strcmp(m->event, "COLO_EXIT") != 0)
		return false;
	on_colo_exit(vm, m, msg_ts(m, now_us));
	return true;
}

void colo_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err)
{
	(void)vm;
	if (!p || err || !json_object_is_type(ret, json_type_object))
		return;
	if (p->kind == PK_COLO_ENTER) {
		const char *mode = jstr(ret, "mode");
		if (mode)
			pend_ctx_set(p, "mode", json_object_new_string(mode));
	} else if (p->kind == PK_COLO_EXIT) {
		pend_ctx_set(p, "colo_status", json_object_get(ret));
	}
}
