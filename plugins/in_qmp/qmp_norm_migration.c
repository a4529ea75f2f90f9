/* qmp_norm_migration.c - live migration, as the source and as the target.
 *
 * QEMU reports MIGRATION {status} transitions (only with the "events"
 * capability, which the connection turns on) and MIGRATION_PASS {pass} per
 * RAM pass on the source.  The figures an auditor wants (total time,
 * downtime, setup time, RAM moved) exist only in query-migrate, asked right
 * after the final status.  Which side we are on is the run state: a target
 * sits in "inmigrate" until the migration ends.  A migration that ends in
 * COLO is not "completed": colo.entered takes over.
 *
 * savevm runs the migration code too: a snapshot-save job and HMP savevm
 * each send MIGRATION setup, two MIGRATION_PASS and MIGRATION completed
 * (total-time 0), with no "active" in between, which a real migration always
 * passes through.  So a source's migration.started is held at "setup" until
 * the next status: "completed" straight from "setup" is a savevm (reported
 * by its job, or by the block poll for HMP savevm) and is dropped. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "qmp_norm_priv.h"

static bool status_in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static bool status_running(const char *s)
{
	static const char *const l[] = {
		"setup", "active", "pre-switchover", "device", "wait-unplug", "cancelling",
		"postcopy-active", "postcopy-paused", "postcopy-recover", NULL
	};
	return status_in(s, l);
}

static bool status_final(const char *s)
{
	static const char *const l[] = { "completed", "failed", "cancelled", NULL };
	return status_in(s, l);
}

bool mig_busy(const struct qmp_vm *vm)
{
	return vm->mig.in_progress;
}

void mig_reset(struct qmp_vm *vm)
{
	memset(&vm->mig, 0, sizeof vm->mig);
}

void mig_on_stop(struct qmp_vm *vm, long long ts)
{
	vm->mig.stopped = true;
	vm->mig.stop_ts = ts;
}

/* QEMU leaves "inmigrate" only when its incoming migration ends (completed,
 * failed, or on into COLO); until the next RESUME or query-status says which
 * state it went to, the last known one must not say "inmigrate" any more, or
 * the VM's next migration - out of it - would be taken for an incoming one. */
static void left_inmigrate(struct qmp_vm *vm)
{
	if (vm->status_known && strcmp(vm->status, "inmigrate") == 0)
		vm->status_known = false;
}

void mig_absorbed_by_colo(struct qmp_vm *vm)
{
	vm->mig.in_progress = false;
	hvt_strlcpy(vm->mig.status, "colo", sizeof vm->mig.status);
	left_inmigrate(vm);
}

static const char *role_name(enum mig_role r)
{
	return r == MIG_INCOMING ? "incoming" : r == MIG_SOURCE ? "source" : "unknown";
}

/* A target waits in run state "inmigrate"; everything else is a source. */
static enum mig_role guess_role(const struct qmp_vm *vm)
{
	return vm->status_known && strcmp(vm->status, "inmigrate") == 0 ? MIG_INCOMING : MIG_SOURCE;
}

/* ---- started --------------------------------------------------------------- */

static void started_msg(struct qmp_vm *vm, struct hvt_event *ev)
{
	bool in = vm->mig.role == MIG_INCOMING;

	hvt_event_set_str(&ev->type, in ? "migration.incoming.started" : "migration.started");
	if (ev->data)
		json_object_object_del(ev->data, "role");
	data_str(ev, "role", role_name(vm->mig.role));
	if (in)
		hvt_event_set_msg(ev, "VM %s: incoming migration started", qmp_vm_name(vm));
	else
		hvt_event_set_msg(ev, "VM %s: migration to another host started", qmp_vm_name(vm));
}

static struct hvt_event *started_event(struct qmp_vm *vm, long long ts)
{
	struct hvt_event *ev = norm_event(vm, "migration.started", HVT_SEV_INFO, ts);

	started_msg(vm, ev);
	return ev;
}

static void started_finish(struct qmp_vm *vm, struct pend *p)
{
	started_msg(vm, p->ev);
}

/* The run state right at the start tells the side: only a target is in
 * "inmigrate".  Answers come in stream order, so the role is known before
 * the migration's next event is read.  But QEMU answers with the state it is
 * in when it reads the query, which may be after a fast incoming migration
 * has already ended (COLO's secondary leaves "inmigrate" some 50 ms after
 * its first MIGRATION event; a busy forwarder asks later than that): a VM
 * known to be in "inmigrate" when the migration started (begin() guessed
 * MIG_INCOMING) is the target, whatever the answer says now. */
void mig_on_start_status(struct qmp_vm *vm, const char *status)
{
	if (status && strcmp(status, "inmigrate") == 0)
		vm->mig.role = MIG_INCOMING;
	else if (status && vm->mig.role != MIG_INCOMING)
		vm->mig.role = MIG_SOURCE;
}

static void begin(struct qmp_vm *vm, long long ts, const char *status)
{
	vm->mig.role = guess_role(vm);
	vm->mig.in_progress = true;
	vm->mig.start_ts = ts;
	vm->mig.passes = 0;
	vm->mig.stopped = false;
	hvt_strlcpy(vm->mig.status, status, sizeof vm->mig.status);
}

/* ---- figures from query-migrate -------------------------------------------- */

static void fingerprint(json_object *ret, char *buf, size_t size)
{
	long long total = -1, down = -1, xfer = -1;
	json_object *ram = NULL;

	jint(ret, "total-time", &total);
	jint(ret, "downtime", &down);
	if (json_object_object_get_ex(ret, "ram", &ram))
		jint(ram, "transferred", &xfer);
	snprintf(buf, size, "%s/%lld/%lld/%lld", jstr(ret, "status") ? jstr(ret, "status") : "?",
		 total, down, xfer);
}

static void copy_int(json_object *from, const char *key, json_object *to, const char *as)
{
	long long v;

	if (jint(from, key, &v))
		json_object_object_add(to, as, json_object_new_int64(v));
}

/* Derived fields only; query-migrate's full answer is larger than useful. */
static void add_figures(struct qmp_vm *vm, struct hvt_event *ev, json_object *ret)
{
	long long v;
	json_object *ram;

	if (jint(ret, "total-time", &v))
		data_int(ev, "total_time_ms", v);
	if (jint(ret, "downtime", &v))
		data_int(ev, "downtime_ms", v);
	if (jint(ret, "setup-time", &v))
		data_int(ev, "setup_time_ms", v);
	int passes = vm->mig.passes;
	if (json_object_object_get_ex(ret, "ram", &ram) &&
	    json_object_is_type(ram, json_type_object)) {
		json_object *r = json_object_new_object();
		copy_int(ram, "transferred", r, "transferred");
		copy_int(ram, "total", r, "total");
		copy_int(ram, "duplicate", r, "duplicate_pages");
		copy_int(ram, "normal", r, "normal_pages");
		copy_int(ram, "downtime-bytes", r, "downtime_bytes");
		copy_int(ram, "dirty-sync-count", r, "dirty_sync_count");
		json_object *mbps;
		if (json_object_object_get_ex(ram, "mbps", &mbps))
			json_object_object_add(r, "mbps", json_object_get(mbps));
		hvt_event_data_add(ev, "ram", r);
		if (jint(ram, "dirty-sync-count", &v) && v > passes)
			passes = (int)v;
	}
	if (passes > 0)
		data_int(ev, "passes", passes);
	data_str(ev, "error", jstr(ret, "error-desc"));
}

static long long data_get_int(struct hvt_event *ev, const char *key, long long def)
{
	long long v;

	return ev->data && jint(ev->data, key, &v) ? v : def;
}

/* msg for the source's final event, once the figures are in (or not). */
static void end_finish(struct qmp_vm *vm, struct pend *p)
{
	struct hvt_event *ev = p->ev;
	long long total = data_get_int(ev, "total_time_ms", -1);
	long long down = data_get_int(ev, "downtime_ms", -1);
	long long passes = data_get_int(ev, "passes", vm->mig.passes);
	long long dur_us = total >= 0 ? total * 1000 : data_get_int(ev, "elapsed_us", -1);
	const char *err = jstr(ev->data, "error");
	char d[32] = "?", b[32] = "", extra[96] = "";
	json_object *ram;

	if (dur_us >= 0)
		fmt_duration(d, sizeof d, dur_us);
	if (ev->data && json_object_object_get_ex(ev->data, "ram", &ram)) {
		long long x;
		if (jint(ram, "transferred", &x))
			fmt_bytes(b, sizeof b, x);
	}
	if (!ev->data || !json_object_object_get_ex(ev->data, "total_time_ms", NULL))
		snprintf(extra, sizeof extra, " (query-migrate figures unavailable)");
	if (strcmp(ev->type, "migration.completed") == 0) {
		char dd[32] = "?";
		if (down >= 0)
			fmt_duration(dd, sizeof dd, down * 1000);
		hvt_event_set_msg(ev,
				  "VM %s migrated out: %s total, %s downtime, %lld passes%s%s%s%s",
				  qmp_vm_name(vm), d, dd, passes, b[0] ? ", " : "", b,
				  b[0] ? " transferred" : "", extra);
	} else if (strcmp(ev->type, "migration.cancelled") == 0) {
		hvt_event_set_msg(ev, "VM %s: migration cancelled after %s, %lld passes%s",
				  qmp_vm_name(vm), d, passes, extra);
	} else if (strstr(ev->type, "incoming")) {
		hvt_event_set_msg(ev, "VM %s: incoming migration failed: %s", qmp_vm_name(vm),
				  err ? err : "QEMU gave no reason");
	} else {
		hvt_event_set_msg(ev, "VM %s: migration failed after %s: %s", qmp_vm_name(vm), d,
				  err ? err : "QEMU gave no reason");
	}
	if (ev->data) {
		/* QEMU 7.2 has no total-time for a failed or cancelled migration:
		 * keep the time between its own start and end events instead */
		long long el = data_get_int(ev, "elapsed_us", -1);
		if (el >= 0 && !json_object_object_get_ex(ev->data, "total_time_ms", NULL))
			data_ms(ev, "duration_ms", el);
		json_object_object_del(ev->data, "elapsed_us");
	}
}

static const char *end_type(enum mig_role role, const char *status)
{
	if (strcmp(status, "completed") == 0)
		return role == MIG_INCOMING ? "migration.incoming.completed"
					    : "migration.completed";
	if (strcmp(status, "failed") == 0)
		return role == MIG_INCOMING ? "migration.incoming.failed" : "migration.failed";
	return "migration.cancelled";
}

static void incoming_completed(struct qmp_vm *vm, struct hvt_event *ev, long long ts)
{
	char d[32];

	data_bool(ev, "running", vm->running);
	if (vm->mig.start_ts > 0 && ts >= vm->mig.start_ts) {
		data_ms(ev, "duration_ms", ts - vm->mig.start_ts);
		fmt_duration(d, sizeof d, ts - vm->mig.start_ts);
		hvt_event_set_msg(ev, "VM %s arrived by incoming migration in %s; %s",
				  qmp_vm_name(vm), d, vm->running ? "running" : "not running yet");
	} else {
		hvt_event_set_msg(ev, "VM %s arrived by incoming migration; %s", qmp_vm_name(vm),
				  vm->running ? "running" : "not running yet");
	}
}

/* A final MIGRATION status, live (p == NULL) or found by a resync (p, late). */
static void end(struct qmp_vm *vm, const struct qmp_msg *m, long long ts, const char *status,
		struct pend *resync, json_object *ret)
{
	if (vm->mig.role == MIG_NONE)
		vm->mig.role = guess_role(vm);
	bool ok = strcmp(status, "completed") == 0;
	bool fail = strcmp(status, "failed") == 0;
	struct hvt_event *ev = norm_event(vm, end_type(vm->mig.role, status),
					  fail ? HVT_SEV_WARNING : HVT_SEV_INFO, ts);
	if (m)
		norm_attach_qmp(ev, m);
	data_str(ev, "role", role_name(vm->mig.role));
	if (vm->mig.start_ts > 0 && ts >= vm->mig.start_ts)
		data_int(ev, "elapsed_us", ts - vm->mig.start_ts);
	if (vm->mig.role == MIG_SOURCE && ok && vm->mig.stopped)
		data_str(ev, "source_state", "paused (postmigrate)");
	vm->mig.in_progress = false;
	hvt_strlcpy(vm->mig.status, status, sizeof vm->mig.status);
	if (vm->mig.role == MIG_INCOMING)
		left_inmigrate(vm);

	if (resync) {
		ev->flags |= HVT_EV_LATE;
		data_str(ev, "observed", "resync");
		add_figures(vm, ev, ret);
		struct pend tmp = { .ev = ev };
		if (vm->mig.role == MIG_INCOMING && ok)
			incoming_completed(vm, ev, ts);
		else
			end_finish(vm, &tmp);
		outq_put(vm, resync, ev);
	} else if (vm->mig.role == MIG_INCOMING && ok) {
		/* the target's query-migrate holds no figures */
		incoming_completed(vm, ev, ts);
		json_object_object_del(ev->data, "elapsed_us");
		outq_add(vm, ev);
	} else {
		struct pend *p = outq_add(vm, ev);
		p->kind = PK_MIG_END;
		p->finish = end_finish;
		outq_ask(vm, p, QMP_Q_MIGRATE);
	}
	state_fold_ended(vm, ts);
}

/* The status after "setup" decides whether the held migration.started goes
 * out; true when it was a savevm, whose events are then dropped. */
static bool release_hold(struct qmp_vm *vm, const char *status)
{
	struct pend *p = outq_find(vm, vm->mig.hold_tag);
	bool savevm = strcmp(status, "completed") == 0 && strcmp(vm->mig.status, "setup") == 0;

	vm->mig.hold_tag = 0;
	if (p)
		p->waiting &= ~QBIT(QMP_HOLD_NEXT_STATUS);
	if (!savevm)
		return false;
	if (p) {
		hvt_event_free(p->ev);
		p->ev = NULL;
		p->finish = NULL;
		p->kind = PK_PLAIN;
	}
	vm->mig.in_progress = false;
	vm->mig.role = MIG_NONE;
	vm->mig.status[0] = '\0';
	vm->mig.passes = 0;
	vm->mig.stopped = false;
	return true;
}

static void on_migration(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	const char *status = jstr(m->data, "status");

	if (!status)
		return;
	if (vm->mig.hold_tag && release_hold(vm, status))
		return;
	if (strcmp(status, "colo") == 0) {
		colo_enter(vm, m, ts, NULL);
		return;
	}
	if (strcmp(status, "completed") == 0 && colo_migration_completed(vm, ts)) {
		hvt_strlcpy(vm->mig.status, status, sizeof vm->mig.status);
		return;
	}
	if (status_running(status)) {
		if (!vm->mig.in_progress) {
			begin(vm, ts, status);
			struct hvt_event *ev = started_event(vm, ts);
			norm_attach_qmp(ev, m);
			struct pend *p = outq_add(vm, ev);
			p->kind = PK_MIG_START;
			p->finish = started_finish;
			outq_ask(vm, p, QMP_Q_STATUS);
			if (vm->mig.role == MIG_SOURCE && strcmp(status, "setup") == 0) {
				p->waiting |= QBIT(QMP_HOLD_NEXT_STATUS);
				vm->mig.hold_tag = p->tag;
			}
		}
		hvt_strlcpy(vm->mig.status, status, sizeof vm->mig.status);
		return;
	}
	if (status_final(status))
		end(vm, m, ts, status, NULL, NULL);
}

bool mig_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us)
{
	long long ts = msg_ts(m, now_us), pass;

	if (strcmp(m->event, "MIGRATION_PASS") == 0) {
		if (jint(m->data, "pass", &pass) && pass > vm->mig.passes && pass < 1000000)
			vm->mig.passes = (int)pass;
		return true;   /* folded into the final migration event */
	}
	if (strcmp(m->event, "MIGRATION") == 0) {
		on_migration(vm, m, ts);
		return true;
	}
	return false;
}

/* ---- answers ------------------------------------------------------------- */

/* After a (re)connect: a migration may have started, ended or both while
 * nobody listened.  First contact reports only what is still going on. */
static void resync(struct qmp_vm *vm, struct pend *p, json_object *ret, long long now_us)
{
	const char *st = jstr(ret, "status");
	char fp[sizeof vm->mig.last_final];
	long long total;

	if (!st || strcmp(st, "none") == 0)
		return;
	if (strcmp(st, "colo") == 0) {
		if (!colo_busy(vm))
			colo_enter(vm, NULL, now_us, p);
		return;
	}
	if (colo_busy(vm) && p->kind == PK_RESYNC) {
		colo_resync_ended(vm, p, now_us);
		fingerprint(ret, vm->mig.last_final, sizeof vm->mig.last_final);
		return;
	}
	if (status_running(st)) {
		if (vm->mig.in_progress)
			return;
		long long start = jint(ret, "total-time", &total) ? now_us - total * 1000 : now_us;
		begin(vm, start, st);
		struct hvt_event *ev = started_event(vm, start);
		ev->flags |= HVT_EV_LATE;
		data_str(ev, "observed", "resync");
		outq_put(vm, p, ev);
		return;
	}
	if (!status_final(st))
		return;
	fingerprint(ret, fp, sizeof fp);
	long long down = -1, setup = -1;
	if (strcmp(st, "completed") == 0 && jint(ret, "total-time", &total) && total == 0 &&
	    jint(ret, "downtime", &down) && down == 0 && jint(ret, "setup-time", &setup) &&
	    setup == 0 && (!vm->mig.in_progress || strcmp(vm->mig.status, "setup") == 0)) {
		/* a savevm's (see the top of this file), not a migration */
		hvt_strlcpy(vm->mig.last_final, fp, sizeof vm->mig.last_final);
		vm->mig.in_progress = false;
		vm->mig.role = MIG_NONE;
		return;
	}
	bool news = strcmp(fp, vm->mig.last_final) != 0;
	hvt_strlcpy(vm->mig.last_final, fp, sizeof vm->mig.last_final);
	if (p->kind == PK_CONTACT && !vm->mig.in_progress)
		return;   /* an old migration of this process: not news to anyone */
	if (!vm->mig.in_progress && !news)
		return;
	if (!vm->mig.in_progress) {
		long long start = jint(ret, "total-time", &total) ? now_us - total * 1000 : now_us;
		begin(vm, start, st);
		struct hvt_event *ev = started_event(vm, start);
		ev->flags |= HVT_EV_LATE;
		data_str(ev, "observed", "resync");
		outq_put(vm, p, ev);
	}
	end(vm, NULL, now_us, st, p, ret);
}

#define FIGURE_RETRIES 20

/* Count re-asks for figures in the slot's scratch; false when spent. */
static bool figure_retry(struct pend *p)
{
	json_object *n = NULL;
	int tries = 0;

	if (p->ctx && json_object_object_get_ex(p->ctx, "figure_retries", &n))
		tries = json_object_get_int(n);
	if (tries >= FIGURE_RETRIES)
		return false;
	pend_ctx_set(p, "figure_retries", json_object_new_int(tries + 1));
	return true;
}

void mig_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		  long long now_us)
{
	if (!p)
		return;
	if (p->kind == PK_CONTACT || p->kind == PK_RESYNC) {
		if (!err)
			resync(vm, p, ret, now_us);
		return;
	}
	if (p->kind != PK_MIG_END || !p->ev)
		return;
	if (err) {
		data_str(p->ev, "figures_error", err);
		return;
	}
	/* QEMU 7.2 emits MIGRATION "completed" before it has filled in
	 * total-time and downtime: an answer that quick reads zeros.  Ask
	 * again (a QMP round trip each) a few times before settling. */
	long long total;
	const char *st = jstr(ret, "status");
	if (st && strcmp(st, "completed") == 0 && (!jint(ret, "total-time", &total) || total == 0) &&
	    figure_retry(p)) {
		outq_ask(vm, p, QMP_Q_MIGRATE);
		if (p->waiting)
			return;
	}
	add_figures(vm, p->ev, ret);
	fingerprint(ret, vm->mig.last_final, sizeof vm->mig.last_final);
}
