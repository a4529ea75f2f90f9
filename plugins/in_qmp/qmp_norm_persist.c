/* qmp_norm_persist.c - what the normaliser knows about a QEMU process, as
 * JSON, so it survives a restart of the forwarder.
 *
 * QMP replays nothing.  A forwarder that restarts while its VMs keep running
 * meets each QEMU process again knowing nothing, and without this would
 * report only what is still under way.  With the state it had (run state,
 * migration, COLO, jobs, block graph) restored, meeting the same process
 * again is a reconnect: the resync reports what changed meanwhile, flagged
 * late, and nothing that was reported before.  A process that is gone (a
 * new one on the socket, or no one listening) is reported as vanished while
 * nobody watched.
 *
 * The caller saves only when no event waits in the output queue (the state
 * must not run ahead of the events that went out) and once the events it
 * emitted are durable; a state file that is older than the trail makes a
 * resync report something twice (late), never lose it. */
#include "config.h"

#include <string.h>

#include "log.h"
#include "qmp_norm_priv.h"

#define PERSIST_VERSION 1

static void put_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void put_int(json_object *o, const char *k, long long v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static void get_str(json_object *o, const char *k, char *buf, size_t size)
{
	const char *v = jstr(o, k);

	hvt_strlcpy(buf, v ? v : "", size);
}

static long long get_int(json_object *o, const char *k)
{
	long long v = 0;

	return jint(o, k, &v) ? v : 0;
}

static bool get_bool(json_object *o, const char *k)
{
	bool v = false;

	return jbool(o, k, &v) && v;
}

static json_object *get_obj(json_object *o, const char *k, json_type t)
{
	json_object *v;

	return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, t) ? v : NULL;
}

/* ---- save ------------------------------------------------------------------- */

static json_object *save_mig(const struct qmp_mig *m)
{
	json_object *o = json_object_new_object();

	put_int(o, "role", m->role);
	put_str(o, "status", m->status);
	put_bool(o, "in_progress", m->in_progress);
	put_int(o, "start_ts", m->start_ts);
	put_int(o, "passes", m->passes);
	put_bool(o, "stopped", m->stopped);
	put_int(o, "stop_ts", m->stop_ts);
	put_str(o, "last_final", m->last_final);
	return o;
}

static json_object *save_colo(const struct qmp_colo *c)
{
	json_object *o = json_object_new_object();

	put_int(o, "phase", c->phase);
	put_str(o, "mode", c->mode);
	put_int(o, "entered_ts", c->entered_ts);
	put_int(o, "total", (long long)c->total);
	put_int(o, "win", (long long)c->win);
	put_int(o, "win_first_ts", c->win_first_ts);
	put_int(o, "win_last_ts", c->win_last_ts);
	put_int(o, "pause_sum_us", c->pause_sum_us);
	put_int(o, "pause_max_us", c->pause_max_us);
	put_int(o, "last_summary_ts", c->last_summary_ts);
	return o;
}

static json_object *save_jobs(const struct qmp_vm *vm)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < QMP_MAX_JOBS; i++) {
		const struct qmp_job *j = &vm->jobs[i];
		if (!j->used)
			continue;
		json_object *o = json_object_new_object();
		put_str(o, "id", j->id);
		put_str(o, "type", j->type);
		put_str(o, "status", j->status);
		put_int(o, "created_ts", j->created_ts);
		put_int(o, "paused_us", j->paused_us);
		put_bool(o, "aborting", j->aborting);
		put_bool(o, "concluded", j->concluded);
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *save_blk(const struct qmp_blockmap *bm)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < bm->n; i++) {
		const struct qmp_bdev *d = &bm->dev[i];
		json_object *o = json_object_new_object(), *chain = json_object_new_array(),
			    *snaps = json_object_new_array();
		put_str(o, "key", d->key);
		if (d->node)
			put_str(o, "node", d->node);
		for (int k = 0; k < d->depth; k++)
			json_object_array_add(chain, json_object_new_string(d->chain[k]));
		for (int k = 0; k < d->nsnaps; k++) {
			json_object *s = json_object_new_object();
			put_str(s, "name", d->snaps[k] ? d->snaps[k] : "");
			put_int(s, "vm_state_size", d->snap_vmstate[k]);
			json_object_array_add(snaps, s);
		}
		json_object_object_add(o, "chain", chain);
		json_object_object_add(o, "snaps", snaps);
		json_object_array_add(a, o);
	}
	return a;
}

json_object *qmp_vm_save(const struct qmp_vm *vm)
{
	if (!vm->contacted)
		return NULL;
	json_object *o = json_object_new_object();
	put_int(o, "v", PERSIST_VERSION);
	if (vm->name)
		put_str(o, "name", vm->name);
	if (vm->uuid)
		put_str(o, "uuid", vm->uuid);
	put_str(o, "status", vm->status);
	put_bool(o, "status_known", vm->status_known);
	put_bool(o, "running", vm->running);
	put_bool(o, "pause_reported", vm->pause_reported);
	put_bool(o, "paused_by_failover", vm->paused_by_failover);
	put_int(o, "paused_ts", vm->paused_ts);
	put_int(o, "last_stop_ts", vm->last_stop_ts);
	put_bool(o, "shutdown_seen", vm->shutdown_seen);
	json_object_object_add(o, "mig", save_mig(&vm->mig));
	json_object_object_add(o, "colo", save_colo(&vm->colo));
	json_object_object_add(o, "jobs", save_jobs(vm));
	if (vm->blk.valid)
		json_object_object_add(o, "blk", save_blk(&vm->blk));
	return o;
}

/* ---- restore ---------------------------------------------------------------- */

static void restore_mig(struct qmp_mig *m, json_object *o)
{
	long long role = get_int(o, "role");

	m->role = role == MIG_SOURCE || role == MIG_INCOMING ? (enum mig_role)role : MIG_NONE;
	get_str(o, "status", m->status, sizeof m->status);
	m->in_progress = get_bool(o, "in_progress");
	m->start_ts = get_int(o, "start_ts");
	m->passes = (int)HVT_MIN(HVT_MAX(get_int(o, "passes"), 0), 1000000);
	m->stopped = get_bool(o, "stopped");
	m->stop_ts = get_int(o, "stop_ts");
	get_str(o, "last_final", m->last_final, sizeof m->last_final);
}

static void restore_colo(struct qmp_colo *c, json_object *o)
{
	long long phase = get_int(o, "phase");

	c->phase = phase >= COLO_OFF && phase <= COLO_COMPLETED ? (enum colo_phase)phase : COLO_OFF;
	get_str(o, "mode", c->mode, sizeof c->mode);
	c->entered_ts = get_int(o, "entered_ts");
	c->total = (unsigned long long)HVT_MAX(get_int(o, "total"), 0);
	c->win = (unsigned long long)HVT_MAX(get_int(o, "win"), 0);
	c->win_first_ts = get_int(o, "win_first_ts");
	c->win_last_ts = get_int(o, "win_last_ts");
	c->pause_sum_us = get_int(o, "pause_sum_us");
	c->pause_max_us = get_int(o, "pause_max_us");
	c->last_summary_ts = get_int(o, "last_summary_ts");
}

static void restore_jobs(struct qmp_vm *vm, json_object *a)
{
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0, k = 0; i < n && k < QMP_MAX_JOBS; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		const char *id = jstr(o, "id");
		if (!id || !*id)
			continue;
		struct qmp_job *j = &vm->jobs[k++];
		memset(j, 0, sizeof *j);
		j->used = true;
		hvt_strlcpy(j->id, id, sizeof j->id);
		get_str(o, "type", j->type, sizeof j->type);
		get_str(o, "status", j->status, sizeof j->status);
		j->created_ts = get_int(o, "created_ts");
		j->paused_us = get_int(o, "paused_us");
		j->aborting = get_bool(o, "aborting");
		j->concluded = get_bool(o, "concluded");
	}
}

static void restore_bdev(struct qmp_bdev *d, json_object *o)
{
	json_object *chain = get_obj(o, "chain", json_type_array);
	json_object *snaps = get_obj(o, "snaps", json_type_array);
	size_t nc = chain ? HVT_MIN(json_object_array_length(chain), (size_t)QMP_MAX_CHAIN) : 0;
	size_t ns = snaps ? HVT_MIN(json_object_array_length(snaps), (size_t)QMP_MAX_SNAPS) : 0;

	d->key = qmp_strdup_max(jstr(o, "key"), 512);
	d->node = jstr(o, "node") ? qmp_strdup_max(jstr(o, "node"), 256) : NULL;
	d->chain = hvt_calloc(QMP_MAX_CHAIN, sizeof *d->chain);
	for (size_t i = 0; i < nc; i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(chain, i));
		d->chain[d->depth++] = qmp_strdup_max(f ? f : "?", 4096);
	}
	d->snaps = hvt_calloc(ns ? ns : 1, sizeof *d->snaps);
	d->snap_vmstate = hvt_calloc(ns ? ns : 1, sizeof *d->snap_vmstate);
	for (size_t i = 0; i < ns; i++) {
		json_object *s = json_object_array_get_idx(snaps, i);
		const char *name = jstr(s, "name");
		if (!name)
			continue;
		d->snaps[d->nsnaps] = qmp_strdup_max(name, 256);
		d->snap_vmstate[d->nsnaps] = get_int(s, "vm_state_size");
		d->nsnaps++;
	}
}

static void restore_blk(struct qmp_blockmap *bm, json_object *a)
{
	size_t n = HVT_MIN(json_object_array_length(a), (size_t)QMP_MAX_BDEVS);

	bm->dev = hvt_calloc(n ? n : 1, sizeof *bm->dev);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		if (!jstr(o, "key"))
			continue;
		restore_bdev(&bm->dev[bm->n++], o);
	}
	bm->valid = true;
}

bool qmp_vm_restore(struct qmp_vm *vm, json_object *o)
{
	if (!json_object_is_type(o, json_type_object) || get_int(o, "v") != PERSIST_VERSION)
		return false;
	jobs_reset(vm);
	block_reset(vm);
	hvt_event_set_str(&vm->name, jstr(o, "name"));
	hvt_event_set_str(&vm->uuid, jstr(o, "uuid"));
	get_str(o, "status", vm->status, sizeof vm->status);
	vm->status_known = get_bool(o, "status_known");
	vm->running = get_bool(o, "running");
	vm->pause_reported = get_bool(o, "pause_reported");
	vm->paused_by_failover = get_bool(o, "paused_by_failover");
	vm->paused_ts = get_int(o, "paused_ts");
	vm->last_stop_ts = get_int(o, "last_stop_ts");
	vm->shutdown_seen = get_bool(o, "shutdown_seen");
	mig_reset(vm);
	restore_mig(&vm->mig, get_obj(o, "mig", json_type_object));
	colo_reset(vm);
	restore_colo(&vm->colo, get_obj(o, "colo", json_type_object));
	restore_jobs(vm, get_obj(o, "jobs", json_type_array));
	json_object *blk = get_obj(o, "blk", json_type_array);
	if (blk)
		restore_blk(&vm->blk, blk);
	vm->contacted = true;
	vm->restored = true;
	vm->connected = false;
	return true;
}
