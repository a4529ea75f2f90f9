/* qmp_norm_state.c - the VM's run state: started, paused, resumed, reset,
 * powerdown, shutdown, panicked, vanished, and what changed across a
 * reconnect.
 *
 * STOP/RESUME are also how QEMU implements migration downtime, snapshot
 * saves and COLO checkpoints.  Those pauses belong to the activity's own
 * event (migration.completed, snapshot.created, colo.checkpoints), so a STOP
 * during one is folded into it, and a RESUME is reported only when its STOP
 * was (pause_reported). */
#include "config.h"

#include <string.h>

#include "log.h"
#include "qmp_norm_priv.h"

/* Words for QEMU's ShutdownCause, for the one-line msg. */
static const char *shutdown_words(const char *reason)
{
	static const struct { const char *r, *w; } map[] = {
		{ "host-qmp-quit", "quit requested over QMP" },
		{ "host-qmp-system-reset", "reset requested over QMP" },
		{ "host-signal", "QEMU received a termination signal" },
		{ "host-ui", "closed from QEMU's user interface" },
		{ "host-error", "QEMU hit a host error" },
		{ "guest-shutdown", "the guest powered off" },
		{ "guest-reset", "the guest rebooted" },
		{ "guest-panic", "the guest panicked" },
		{ "subsystem-reset", "a device requested a reset" },
		{ "snapshot-load", "a snapshot was loaded" },
	};
	for (size_t i = 0; reason && i < HVT_ARRAY_SIZE(map); i++)
		if (strcmp(reason, map[i].r) == 0)
			return map[i].w;
	return reason ? reason : "no reason given";
}

static bool status_is_paused_kind(const char *s)
{
	/* inmigrate is not a pause anyone asked for: the RESUME that ends it is
	 * part of migration.incoming.completed. */
	return strcmp(s, "running") != 0 && strcmp(s, "inmigrate") != 0;
}

static void set_status(struct qmp_vm *vm, const char *status)
{
	hvt_strlcpy(vm->status, status, sizeof vm->status);
	vm->status_known = true;
}

/* ---- contact ------------------------------------------------------------- */

static void started_finish(struct qmp_vm *vm, struct pend *p)
{
	const char *st = jstr(p->ev->data, "status");
	bool late = p->ev->flags & HVT_EV_LATE;

	hvt_event_set_msg(p->ev, "VM %s %s (run state %s)", qmp_vm_name(vm),
			  late ? "was already running when hvtrail first saw it" : "started",
			  st ? st : "unknown");
}

void state_contact(struct qmp_vm *vm, const struct qmp_contact *c, struct pend *p)
{
	if (!vm->contacted) {
		long long since = c->instance_since_us;
		long long ts = since > 0 && since <= c->now_us ? since : c->now_us;
		struct hvt_event *ev = norm_event(vm, "vm.started", HVT_SEV_INFO, ts);
		/* QMP tells nothing about the past: a VM we meet long after its
		 * socket appeared (forwarder restarted) started before we looked. */
		if (since <= 0 || c->now_us - since > vm->opts.late_after_us)
			ev->flags |= HVT_EV_LATE;
		data_str(ev, "socket", c->socket);
		data_str(ev, "qemu_version", c->qemu_version);
		if (c->peer_pid > 0) {
			/* client mode: who connected, as the kernel says */
			data_int(ev, "peer_pid", c->peer_pid);
			data_int(ev, "peer_uid", c->peer_uid);
			if (c->peer_exe && *c->peer_exe)
				data_str(ev, "peer_exe", c->peer_exe);
		}
		p->ev = ev;
		p->kind = PK_CONTACT;
		p->finish = started_finish;
	} else {
		p->kind = PK_RESYNC;
	}
	outq_ask(vm, p, QMP_Q_STATUS);
	outq_ask(vm, p, QMP_Q_MIGRATE);
	outq_ask(vm, p, QMP_Q_JOBS);
	if (vm->opts.block_queries)
		outq_ask(vm, p, QMP_Q_BLOCK);
}

/* ---- query-status ---------------------------------------------------------- */

static void resync_status(struct qmp_vm *vm, struct pend *p, const char *st, bool running,
			  long long now_us)
{
	struct hvt_event *ev = NULL;

	if (vm->running && !running && strcmp(st, "shutdown") != 0) {
		ev = norm_event(vm, "vm.paused", HVT_SEV_INFO, now_us);
		hvt_event_set_msg(ev,
				  "VM %s was paused while hvtrail was not connected (run state %s)",
				  qmp_vm_name(vm), st);
		vm->pause_reported = true;
		vm->paused_ts = now_us;
	} else if (!vm->running && running) {
		ev = norm_event(vm, "vm.resumed", HVT_SEV_INFO, now_us);
		hvt_event_set_msg(ev, "VM %s was resumed while hvtrail was not connected",
				  qmp_vm_name(vm));
		vm->pause_reported = false;
	} else if (strcmp(st, "shutdown") == 0 && !vm->shutdown_seen) {
		ev = norm_event(vm, "vm.shutdown", HVT_SEV_INFO, now_us);
		hvt_event_set_msg(ev, "VM %s shut down while hvtrail was not connected",
				  qmp_vm_name(vm));
		vm->shutdown_seen = true;
	}
	if (ev) {
		ev->flags |= HVT_EV_LATE;
		data_str(ev, "status", st);
		data_str(ev, "observed", "resync");
		outq_put(vm, p, ev);
	}
}

void state_on_status(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		     long long now_us)
{
	const char *st = jstr(ret, "status");
	bool running = false;

	if (err || !st || !jbool(ret, "running", &running)) {
		if (p && p->kind == PK_CONTACT)
			data_str(p->ev, "status", NULL);
		return;
	}
	if (p && p->kind == PK_CONTACT) {
		vm->running = running;
		vm->pause_reported = status_is_paused_kind(st);
		if (strcmp(st, "shutdown") == 0)
			vm->shutdown_seen = true;
		data_str(p->ev, "status", st);
		data_bool(p->ev, "running", running);
	} else if (p && p->kind == PK_RESYNC) {
		resync_status(vm, p, st, running, now_us);
		vm->running = running;
	}
	if (p && p->kind != PK_CONTACT && p->kind != PK_RESYNC) {
		pend_ctx_set(p, "status", json_object_new_string(st));
		pend_ctx_set(p, "running", json_object_new_boolean(running));
		/* The event waiting for this answer tells the VM was left paused;
		 * answers arrive in stream order, so a later RESUME is news. */
		if (!running && !vm->running && p->kind == PK_COLO_EXIT && !vm->pause_reported) {
			vm->pause_reported = true;
			vm->paused_by_failover = true;
			vm->paused_ts = now_us;
		} else if (running && p->kind == PK_COLO_EXIT && vm->paused_by_failover) {
			/* stopped when COLO ended (colo.c), running by the time QEMU
			 * answered: the failover says so; the RESUME is no news */
			vm->pause_reported = false;
			vm->paused_by_failover = false;
			vm->paused_ts = 0;
		}
		if (p->kind == PK_MIG_START)
			mig_on_start_status(vm, st);
	}
	set_status(vm, st);
}

/* ---- events ------------------------------------------------------------- */

static void paused_finish(struct qmp_vm *vm, struct pend *p)
{
	const char *st = json_object_get_string(pend_ctx_get(p, "status"));

	data_str(p->ev, "status", st);
	if (st && strcmp(st, "paused") != 0)
		hvt_event_set_msg(p->ev, "VM %s paused (run state %s)", qmp_vm_name(vm), st);
	else
		hvt_event_set_msg(p->ev, "VM %s paused", qmp_vm_name(vm));
}

bool state_fold_pause(struct qmp_vm *vm)
{
	return colo_busy(vm) || mig_busy(vm) || jobs_vm_stopping(vm);
}

void state_fold_ended(struct qmp_vm *vm, long long ts)
{
	if (!vm->running && !vm->pause_reported) {
		vm->pause_reported = true;
		vm->paused_ts = vm->last_stop_ts > 0 ? vm->last_stop_ts : ts;
	}
}

static void on_stop(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	bool was_running = vm->running;

	vm->running = false;
	vm->last_stop_ts = ts;
	if (colo_busy(vm)) {
		colo_stop(vm, ts);
		return;
	}
	if (mig_busy(vm)) {
		mig_on_stop(vm, ts);
		return;
	}
	if (jobs_vm_stopping(vm)) {
		jobs_on_stop(vm, ts);
		return;
	}
	if (!was_running && vm->pause_reported)
		return;   /* already known paused (a STOP after our resync) */
	struct hvt_event *ev = norm_event(vm, "vm.paused", HVT_SEV_INFO, ts);
	norm_attach_qmp(ev, m);
	struct pend *p = outq_add(vm, ev);
	p->kind = PK_PAUSED;
	p->finish = paused_finish;
	vm->pause_reported = true;
	vm->paused_ts = ts;
	outq_ask(vm, p, QMP_Q_STATUS);
}

static void on_resume(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	vm->running = true;
	if (!vm->pause_reported) {
		/* the pause was part of a migration, snapshot or checkpoint */
		if (colo_busy(vm))
			colo_resume(vm, ts);
		jobs_on_resume(vm, ts);
		return;
	}
	struct hvt_event *ev = norm_event(vm, "vm.resumed", HVT_SEV_INFO, ts);
	norm_attach_qmp(ev, m);
	if (vm->status_known && strcmp(vm->status, "prelaunch") == 0) {
		/* started with -S (libvirt does): this is when the guest first runs */
		hvt_event_set_msg(ev, "VM %s began running (left prelaunch)", qmp_vm_name(vm));
	} else if (vm->paused_by_failover) {
		/* a COLO failover left it paused (mid-checkpoint); completing the
		 * failover (or a cont) makes this side the one that runs it */
		data_bool(ev, "service_here", true);
		data_str(ev, "after", "colo.failover");
		if (vm->paused_ts > 0 && ts >= vm->paused_ts)
			data_ms(ev, "paused_ms", ts - vm->paused_ts);
		hvt_event_set_msg(ev, "VM %s runs again after its COLO failover: this side now "
				  "runs the service", qmp_vm_name(vm));
	} else if (vm->paused_ts > 0 && ts >= vm->paused_ts) {
		char d[32];
		data_ms(ev, "paused_ms", ts - vm->paused_ts);
		fmt_duration(d, sizeof d, ts - vm->paused_ts);
		hvt_event_set_msg(ev, "VM %s resumed after %s paused", qmp_vm_name(vm), d);
	} else {
		hvt_event_set_msg(ev, "VM %s resumed", qmp_vm_name(vm));
	}
	if (vm->status_known && strcmp(vm->status, "running") != 0)
		data_str(ev, "from_status", vm->status);
	vm->pause_reported = false;
	vm->paused_by_failover = false;
	vm->paused_ts = 0;
	set_status(vm, "running");
	outq_add(vm, ev);
}

static void on_shutdown(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	const char *reason = jstr(m->data, "reason");
	bool guest = false;
	bool have_guest = jbool(m->data, "guest", &guest);
	struct hvt_event *ev = norm_event(vm, "vm.shutdown", HVT_SEV_INFO, ts);

	norm_attach_qmp(ev, m);
	data_str(ev, "reason", reason);
	if (have_guest)
		data_bool(ev, "guest", guest);
	hvt_event_set_msg(ev, "VM %s shut down: %s", qmp_vm_name(vm), shutdown_words(reason));
	vm->shutdown_seen = true;
	vm->running = false;
	outq_add(vm, ev);
}

static void on_reset(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	const char *reason = jstr(m->data, "reason");
	bool guest = false;
	struct hvt_event *ev = norm_event(vm, "vm.reset", HVT_SEV_INFO, ts);

	norm_attach_qmp(ev, m);
	data_str(ev, "reason", reason);
	if (jbool(m->data, "guest", &guest))
		data_bool(ev, "guest", guest);
	hvt_event_set_msg(ev, "VM %s reset: %s", qmp_vm_name(vm), shutdown_words(reason));
	outq_add(vm, ev);
}

static void on_simple(struct qmp_vm *vm, const struct qmp_msg *m, long long ts, const char *type,
		      int sev, const char *what)
{
	struct hvt_event *ev = norm_event(vm, type, sev, ts);

	norm_attach_qmp(ev, m);
	hvt_event_set_msg(ev, "VM %s %s", qmp_vm_name(vm), what);
	outq_add(vm, ev);
}

static void on_panic(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	const char *action = jstr(m->data, "action");
	struct hvt_event *ev = norm_event(vm, "vm.panicked", HVT_SEV_ERR, ts);

	norm_attach_qmp(ev, m);
	data_str(ev, "action", action);
	hvt_event_set_msg(ev, "VM %s: guest panicked (QEMU action: %s)", qmp_vm_name(vm),
			  action ? action : "unknown");
	outq_add(vm, ev);
}

bool state_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us)
{
	long long ts = msg_ts(m, now_us);
	const char *e = m->event;

	if (strcmp(e, "STOP") == 0)
		on_stop(vm, m, ts);
	else if (strcmp(e, "RESUME") == 0)
		on_resume(vm, m, ts);
	else if (strcmp(e, "SHUTDOWN") == 0)
		on_shutdown(vm, m, ts);
	else if (strcmp(e, "RESET") == 0)
		on_reset(vm, m, ts);
	else if (strcmp(e, "POWERDOWN") == 0)
		on_simple(vm, m, ts, "vm.powerdown", HVT_SEV_INFO,
			  "was asked to power down (ACPI power button)");
	else if (strcmp(e, "GUEST_PANICKED") == 0)
		on_panic(vm, m, ts);
	else
		return false;
	return true;
}

/* ---- end of the connection ------------------------------------------------ */

/* What the process was part of when it died, so that the collector can tell
 * a VM that crashed from one side of a migration or a COLO pair dying (an
 * incident it reports with both hosts, docs/alerting.md): the migration
 * role, whether a migration was under way, and the COLO mode. */
static void vanished_context(const struct qmp_vm *vm, struct hvt_event *ev)
{
	if (vm->mig.role != MIG_NONE)
		data_str(ev, "migration_role", vm->mig.role == MIG_INCOMING ? "incoming" : "source");
	if (vm->mig.in_progress)
		data_bool(ev, "migration_active", true);
	if (vm->colo.phase == COLO_ON && vm->colo.mode[0])
		data_str(ev, "colo_mode", vm->colo.mode);
}

void state_gone(struct qmp_vm *vm, long long now_us)
{
	if (!vm->contacted || vm->shutdown_seen)
		return;   /* its end was reported when it happened */
	struct hvt_event *ev = norm_event(vm, "vm.vanished", HVT_SEV_NOTICE, now_us);
	/* named now: a new process on the socket may be named otherwise */
	hvt_event_set_vm(ev, qmp_vm_name(vm), vm->uuid);
	ev->flags |= HVT_EV_LATE;
	if (vm->status_known)
		data_str(ev, "last_status", vm->status);
	data_bool(ev, "was_running", vm->running);
	if (vm->mig.role != MIG_NONE && vm->mig.status[0])
		data_str(ev, "migration_status", vm->mig.status);
	vanished_context(vm, ev);
	data_str(ev, "cause", "the QEMU process ended while hvtrail was not connected (shut down, "
		 "migrated away or killed: QMP cannot tell)");
	data_str(ev, "observed", "resync");
	hvt_event_set_msg(ev, "VM %s: the QEMU process hvtrail watched before it restarted is gone "
			  "(it ended while nobody was connected)", qmp_vm_name(vm));
	outq_add(vm, ev);
}

bool state_lost(struct qmp_vm *vm, bool peer_closed, long long now_us)
{
	if (!peer_closed || !vm->contacted || vm->shutdown_seen)
		return false;
	/* EOF without SHUTDOWN: QEMU did not exit on its own terms (SIGKILL,
	 * crash, OOM killer) - or it is a migration target that gave up, which
	 * QEMU does by exiting right after "failed". */
	bool after_failed_incoming = vm->mig.role == MIG_INCOMING &&
				     strcmp(vm->mig.status, "failed") == 0;
	struct hvt_event *ev = norm_event(vm, "vm.vanished",
					  after_failed_incoming ? HVT_SEV_NOTICE : HVT_SEV_WARNING, now_us);
	if (vm->status_known)
		data_str(ev, "last_status", vm->status);
	data_bool(ev, "was_running", vm->running);
	if (vm->mig.role != MIG_NONE && vm->mig.status[0])
		data_str(ev, "migration_status", vm->mig.status);
	vanished_context(vm, ev);
	if (after_failed_incoming) {
		data_str(ev, "cause", "incoming migration failed; QEMU exits then");
		hvt_event_set_msg(ev, "VM %s: migration target QEMU exited after the incoming "
				  "migration failed", qmp_vm_name(vm));
	} else {
		data_str(ev, "cause", "monitor closed without SHUTDOWN: killed or crashed");
		hvt_event_set_msg(ev, "VM %s vanished: QEMU closed its monitor without a SHUTDOWN "
				  "event (killed or crashed)", qmp_vm_name(vm));
	}
	outq_add(vm, ev);
	return true;
}
