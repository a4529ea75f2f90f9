/* qmp_norm_jobs.c - QEMU jobs: internal snapshots and block jobs.
 *
 * Internal snapshots (snapshot-save/-load/-delete, QEMU >= 6.0) run as jobs
 * that only say JOB_STATUS_CHANGE {id, status}: created, running, (aborting),
 * waiting, pending, concluded, null.  The job's type and its error text
 * exist only in query-jobs, and only until the job is dismissed, so the type
 * is asked when the job is created and the error when it concludes.  One
 * event per job is reported when it concludes; the steps are folded.  A job
 * that went through "aborting" failed even when query-jobs came too late to
 * say why.  Block jobs (commit, stream, mirror, backup) also send
 * BLOCK_JOB_COMPLETED/CANCELLED with their type, which is what we report for
 * them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qmp_norm_priv.h"

/* What a job-end event is built from: a copy, because the job leaves the
 * table ("null") before query-jobs may have answered. */
struct jobinfo {
	const char *id;
	const char *type;             /* "" = unknown */
	long long created_ts, concluded_ts, paused_us;
	bool failed;
	const char *error;
	const char *tag;              /* internal snapshot tag from the block graph */
	long long vm_state_size;
	bool left_paused;
	const char *status;           /* run state queried after it ended */
};

static struct qmp_job *job_find(struct qmp_vm *vm, const char *id)
{
	for (int i = 0; i < QMP_MAX_JOBS; i++)
		if (vm->jobs[i].used && strcmp(vm->jobs[i].id, id) == 0)
			return &vm->jobs[i];
	return NULL;
}

static struct qmp_job *job_add(struct qmp_vm *vm, const char *id, long long ts)
{
	for (int i = 0; i < QMP_MAX_JOBS; i++) {
		struct qmp_job *j = &vm->jobs[i];
		if (j->used)
			continue;
		memset(j, 0, sizeof *j);
		j->used = true;
		hvt_strlcpy(j->id, id, sizeof j->id);
		j->created_ts = ts;
		return j;
	}
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
	hvt_log_ratelimited(&rl, LOG_WARNING, "in_qmp: VM %s runs more than %d jobs; job %.64s "
			    "is reported without its duration and pauses", qmp_vm_name(vm),
			    QMP_MAX_JOBS, id);
	return NULL;
}

static void job_drop(struct qmp_job *j)
{
	free(j->error);
	memset(j, 0, sizeof *j);
}

void jobs_reset(struct qmp_vm *vm)
{
	for (int i = 0; i < QMP_MAX_JOBS; i++)
		if (vm->jobs[i].used)
			job_drop(&vm->jobs[i]);
}

static bool is_snapshot_vm_job(const char *type)
{
	return strcmp(type, "snapshot-save") == 0 || strcmp(type, "snapshot-load") == 0;
}

/* Does a running job stop the VM (so its STOP/RESUME are folded)?  A job
 * whose type is not known yet might. */
bool jobs_vm_stopping(const struct qmp_vm *vm)
{
	for (int i = 0; i < QMP_MAX_JOBS; i++) {
		const struct qmp_job *j = &vm->jobs[i];
		if (j->used && !j->concluded && (!j->type[0] || is_snapshot_vm_job(j->type)))
			return true;
	}
	return false;
}

void jobs_on_stop(struct qmp_vm *vm, long long ts)
{
	for (int i = 0; i < QMP_MAX_JOBS; i++) {
		struct qmp_job *j = &vm->jobs[i];
		if (j->used && !j->concluded && !j->stop_ts)
			j->stop_ts = ts;
	}
}

void jobs_on_resume(struct qmp_vm *vm, long long ts)
{
	for (int i = 0; i < QMP_MAX_JOBS; i++) {
		struct qmp_job *j = &vm->jobs[i];
		if (j->used && j->stop_ts && ts >= j->stop_ts) {
			j->paused_us += ts - j->stop_ts;
			j->stop_ts = 0;
		}
	}
}

static bool any_snapshot_job(const struct qmp_vm *vm)
{
	for (int i = 0; i < QMP_MAX_JOBS; i++) {
		const struct qmp_job *j = &vm->jobs[i];
		if (j->used && !j->concluded &&
		    (!j->type[0] || hvt_str_has_prefix(j->type, "snapshot-")))
			return true;
	}
	return false;
}

/* ---- the event ------------------------------------------------------------- */

static void job_event_type(const struct jobinfo *ji, char *type, size_t size, int *sev)
{
	const char *t = ji->type;

	*sev = ji->failed ? HVT_SEV_WARNING : HVT_SEV_INFO;
	if (strcmp(t, "snapshot-save") == 0)
		hvt_strlcpy(type, ji->failed ? "snapshot.failed" : "snapshot.created", size);
	else if (strcmp(t, "snapshot-load") == 0)
		hvt_strlcpy(type, ji->failed ? "snapshot.load_failed" : "snapshot.loaded", size);
	else if (strcmp(t, "snapshot-delete") == 0)
		hvt_strlcpy(type, ji->failed ? "snapshot.delete_failed" : "snapshot.deleted", size);
	else if (strcmp(t, "create") == 0)
		hvt_strlcpy(type, ji->failed ? "block.create.failed" : "", size);
	else if (strcmp(t, "commit") == 0 || strcmp(t, "stream") == 0 ||
		 strcmp(t, "mirror") == 0 || strcmp(t, "backup") == 0)
		hvt_strlcpy(type, "", size);   /* BLOCK_JOB_* report these */
	else
		hvt_strlcpy(type, ji->failed ? "job.failed" : "job.completed", size);
}

static void job_msg(struct qmp_vm *vm, struct hvt_event *ev, const struct jobinfo *ji)
{
	char d[48] = "", p[64] = "", tag[160] = "";
	const char *name = qmp_vm_name(vm);
	const char *err = ji->error ? ji->error : "QEMU gave no reason";

	if (ji->created_ts > 0 && ji->concluded_ts >= ji->created_ts) {
		char x[32];
		fmt_duration(x, sizeof x, ji->concluded_ts - ji->created_ts);
		snprintf(d, sizeof d, " in %s", x);
	}
	if (ji->paused_us > 0) {
		char x[32];
		fmt_duration(x, sizeof x, ji->paused_us);
		snprintf(p, sizeof p, " (VM paused %s)", x);
	}
	if (ji->tag)
		snprintf(tag, sizeof tag, " '%.128s'", ji->tag);
	const char *t = ev->type;
	if (strcmp(t, "snapshot.created") == 0)
		hvt_event_set_msg(ev, "VM %s: snapshot%s created%s%s", name, tag, d, p);
	else if (strcmp(t, "snapshot.failed") == 0)
		hvt_event_set_msg(ev, "VM %s: snapshot%s failed: %s", name, tag, err);
	else if (strcmp(t, "snapshot.loaded") == 0)
		hvt_event_set_msg(ev, "VM %s: snapshot%s loaded%s%s", name, tag, d, p);
	else if (strcmp(t, "snapshot.load_failed") == 0)
		hvt_event_set_msg(ev, "VM %s: loading snapshot%s failed: %s%s", name, tag, err,
				  ji->left_paused ? "; the VM was left paused" : "");
	else if (strcmp(t, "snapshot.deleted") == 0)
		hvt_event_set_msg(ev, "VM %s: snapshot%s deleted%s", name, tag, d);
	else if (strcmp(t, "snapshot.delete_failed") == 0)
		hvt_event_set_msg(ev, "VM %s: deleting snapshot%s failed: %s", name, tag, err);
	else if (strcmp(t, "block.create.failed") == 0)
		hvt_event_set_msg(ev, "VM %s: creating an image (job %s) failed: %s", name, ji->id,
				  err);
	else if (strcmp(t, "job.failed") == 0)
		hvt_event_set_msg(ev, "VM %s: %s job %s failed: %s", name,
				  ji->type[0] ? ji->type : "unknown", ji->id, err);
	else
		hvt_event_set_msg(ev, "VM %s: %s job %s completed%s", name,
				  ji->type[0] ? ji->type : "unknown", ji->id, d);
}

static struct hvt_event *job_event(struct qmp_vm *vm, const struct jobinfo *ji)
{
	char type[40];
	int sev;

	job_event_type(ji, type, sizeof type, &sev);
	if (!type[0])
		return NULL;
	struct hvt_event *ev = norm_event(vm, type, sev, ji->concluded_ts);
	data_str(ev, "job_id", ji->id);
	data_str(ev, "job_type", ji->type[0] ? ji->type : "unknown");
	data_str(ev, "tag", ji->tag);
	if (ji->tag && ji->vm_state_size > 0)
		data_int(ev, "vm_state_size", ji->vm_state_size);
	if (ji->created_ts > 0 && ji->concluded_ts >= ji->created_ts)
		data_ms(ev, "duration_ms", ji->concluded_ts - ji->created_ts);
	if (ji->paused_us > 0)
		data_ms(ev, "vm_paused_ms", ji->paused_us);
	if (ji->failed)
		data_str(ev, "error", ji->error ? ji->error : "unknown (the job was dismissed "
			 "before query-jobs answered)");
	if (strcmp(type, "snapshot.load_failed") == 0) {
		data_bool(ev, "vm_left_paused", ji->left_paused);
		data_str(ev, "status", ji->status);
	}
	job_msg(vm, ev, ji);
	return ev;
}

static const char *ctx_str(struct pend *p, const char *key)
{
	return json_object_get_string(pend_ctx_get(p, key));
}

static long long ctx_int(struct pend *p, const char *key)
{
	json_object *v = pend_ctx_get(p, key);

	return v ? json_object_get_int64(v) : 0;
}

static void end_finish(struct qmp_vm *vm, struct pend *p)
{
	const char *error = ctx_str(p, "error");
	struct jobinfo ji = {
		.id = p->job_id,
		.type = ctx_str(p, "type") ? ctx_str(p, "type") : "",
		.created_ts = ctx_int(p, "created_ts"),
		.concluded_ts = ctx_int(p, "concluded_ts"),
		.paused_us = ctx_int(p, "paused_us"),
		.failed = error || json_object_get_boolean(pend_ctx_get(p, "aborting")),
		.error = error,
		.tag = ctx_str(p, "tag"),
		.vm_state_size = ctx_int(p, "vm_state_size"),
		.left_paused = json_object_get_boolean(pend_ctx_get(p, "left_paused")),
		.status = ctx_str(p, "status"),
	};
	struct hvt_event *ev = job_event(vm, &ji);

	if (!ev)
		return;
	json_object *qmp = pend_ctx_get(p, "qmp");
	if (qmp)
		hvt_event_data_add(ev, "qmp", json_object_get(qmp));
	p->ev = ev;
}

/* ---- JOB_STATUS_CHANGE ----------------------------------------------------- */

static void concluded(struct qmp_vm *vm, const struct qmp_msg *m, struct qmp_job *j, long long ts)
{
	struct pend *p = outq_add(vm, NULL);

	p->kind = PK_JOB_END;
	p->finish = end_finish;
	p->job_id = hvt_strdup(j->id);
	j->concluded = true;
	jobs_on_resume(vm, ts);   /* close an open pause interval */
	pend_ctx_set(p, "type", json_object_new_string(j->type));
	pend_ctx_set(p, "created_ts", json_object_new_int64(j->created_ts));
	pend_ctx_set(p, "concluded_ts", json_object_new_int64(ts));
	pend_ctx_set(p, "paused_us", json_object_new_int64(j->paused_us));
	pend_ctx_set(p, "aborting", json_object_new_boolean(j->aborting));
	pend_ctx_set(p, "left_paused", json_object_new_boolean(!vm->running));
	json_object *q = json_object_new_object();
	json_object_object_add(q, "event", json_object_new_string(m->event));
	if (m->data)
		json_object_object_add(q, "data", json_object_get(m->data));
	pend_ctx_set(p, "qmp", q);
	outq_ask(vm, p, QMP_Q_JOBS);
	if (!j->type[0] || strcmp(j->type, "snapshot-load") == 0)
		outq_ask(vm, p, QMP_Q_STATUS);
	if (vm->opts.block_queries && (!j->type[0] || strcmp(j->type, "snapshot-save") == 0 ||
				       strcmp(j->type, "snapshot-delete") == 0)) {
		outq_ask(vm, p, QMP_Q_BLOCK);
		/* the tag change is this job's until its own answer is read, also
		 * in answers to queries sent before it concluded (block_on_reply) */
		pend_ctx_set(p, "holds_snaps", json_object_new_boolean(1));
		vm->snap_ends_open++;
	}
	state_fold_ended(vm, ts);
}

static void on_job_status(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	const char *id = jstr(m->data, "id");
	const char *st = jstr(m->data, "status");

	if (!id || !st)
		return;
	struct qmp_job *j = job_find(vm, id);
	if (strcmp(st, "null") == 0) {
		if (j)
			job_drop(j);
		return;
	}
	if (!j) {
		j = job_add(vm, id, ts);
		if (!j) {
			/* table full: still report its end, from what query-jobs says */
			struct qmp_job untracked = { .used = true };
			hvt_strlcpy(untracked.id, id, sizeof untracked.id);
			untracked.aborting = strcmp(st, "aborting") == 0;
			if (strcmp(st, "concluded") == 0)
				concluded(vm, m, &untracked, ts);
			return;
		}
		if (!j->type[0])
			outq_ask(vm, NULL, QMP_Q_JOBS);   /* learn its type while it exists */
	}
	hvt_strlcpy(j->status, st, sizeof j->status);
	if (strcmp(st, "aborting") == 0)
		j->aborting = true;
	else if (strcmp(st, "concluded") == 0 && !j->concluded)
		concluded(vm, m, j, ts);
}

/* ---- BLOCK_JOB_* ------------------------------------------------------------ */

static void block_job_type(const char *qtype, const char *suffix, char *out, size_t size)
{
	char t[24];
	size_t n = 0;

	for (const char *s = qtype ? qtype : "job"; *s && n < sizeof t - 1; s++)
		t[n++] = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ? *s : '_';
	t[n] = '\0';
	snprintf(out, size, "block.%s.%s", n ? t : "job", suffix);
	if (!hvt_type_valid(out))
		snprintf(out, size, "block.job.%s", suffix);
}

static void on_block_job_end(struct qmp_vm *vm, const struct qmp_msg *m, long long ts,
			     bool cancelled)
{
	const char *qtype = jstr(m->data, "type");
	const char *dev = jstr(m->data, "device");
	const char *err = jstr(m->data, "error");
	char type[64], d[48] = "";
	long long v;

	block_job_type(qtype, cancelled ? "cancelled" : err ? "failed" : "completed",
		       type, sizeof type);
	struct hvt_event *ev = norm_event(vm, type, err ? HVT_SEV_WARNING : HVT_SEV_INFO, ts);
	norm_attach_qmp(ev, m);
	data_str(ev, "job_id", dev);
	data_str(ev, "job_type", qtype);
	data_str(ev, "error", err);
	if (jint(m->data, "len", &v))
		data_int(ev, "len", v);
	if (jint(m->data, "offset", &v))
		data_int(ev, "offset", v);
	struct qmp_job *j = dev ? job_find(vm, dev) : NULL;
	if (j && !j->type[0] && qtype)
		hvt_strlcpy(j->type, qtype, sizeof j->type);   /* its conclusion is ours */
	if (j && j->created_ts > 0 && ts >= j->created_ts) {
		data_ms(ev, "duration_ms", ts - j->created_ts);
		char x[32];
		fmt_duration(x, sizeof x, ts - j->created_ts);
		snprintf(d, sizeof d, " in %s", x);
	}
	if (err)
		hvt_event_set_msg(ev, "VM %s: block %s job %s failed: %s", qmp_vm_name(vm),
				  qtype ? qtype : "?", dev ? dev : "?", err);
	else
		hvt_event_set_msg(ev, "VM %s: block %s job %s %s%s", qmp_vm_name(vm),
				  qtype ? qtype : "?", dev ? dev : "?",
				  cancelled ? "cancelled" : "completed", d);
	outq_add(vm, ev);
	/* The block graph changed on purpose: refresh what the poll compares. */
	if (!cancelled && vm->opts.block_queries) {
		vm->block_explained = true;
		outq_ask(vm, NULL, QMP_Q_BLOCK);
	}
}

static void on_block_job_error(struct qmp_vm *vm, const struct qmp_msg *m, long long ts)
{
	const char *dev = jstr(m->data, "device");
	const char *op = jstr(m->data, "operation");
	const char *action = jstr(m->data, "action");
	struct hvt_event *ev = norm_event(vm, "block.job.error", HVT_SEV_WARNING, ts);

	norm_attach_qmp(ev, m);
	data_str(ev, "job_id", dev);
	data_str(ev, "operation", op);
	data_str(ev, "action", action);
	hvt_event_set_msg(ev, "VM %s: block job %s hit an I/O error on %s (action: %s)",
			  qmp_vm_name(vm), dev ? dev : "?", op ? op : "?", action ? action : "?");
	outq_add(vm, ev);
}

bool jobs_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us)
{
	long long ts = msg_ts(m, now_us);
	const char *e = m->event;

	if (strcmp(e, "JOB_STATUS_CHANGE") == 0)
		on_job_status(vm, m, ts);
	else if (strcmp(e, "BLOCK_JOB_COMPLETED") == 0)
		on_block_job_end(vm, m, ts, false);
	else if (strcmp(e, "BLOCK_JOB_CANCELLED") == 0)
		on_block_job_end(vm, m, ts, true);
	else if (strcmp(e, "BLOCK_JOB_ERROR") == 0)
		on_block_job_error(vm, m, ts);
	else if (strcmp(e, "BLOCK_JOB_READY") == 0 || strcmp(e, "BLOCK_JOB_PENDING") == 0)
		;   /* steps of a block job: its end is what gets reported */
	else
		return false;
	return true;
}

/* ---- query-jobs ------------------------------------------------------------- */

/* Learn types (and errors of concluded jobs) from one query-jobs answer. */
static void learn(struct qmp_vm *vm, json_object *info, long long now_us)
{
	const char *id = jstr(info, "id");
	const char *type = jstr(info, "type");
	const char *st = jstr(info, "status");
	const char *err = jstr(info, "error");

	if (!id || !type)
		return;
	struct qmp_job *j = job_find(vm, id);
	if (!j && st && strcmp(st, "null") != 0)
		j = job_add(vm, id, now_us);
	if (!j)
		return;
	hvt_strlcpy(j->type, type, sizeof j->type);
	if (err && !j->error)
		j->error = qmp_strdup_max(err, 1024);
}

static json_object *find_job(json_object *list, const char *id)
{
	size_t n = json_object_array_length(list);

	for (size_t i = 0; i < n; i++) {
		json_object *info = json_object_array_get_idx(list, i);
		const char *jid = jstr(info, "id");
		if (jid && strcmp(jid, id) == 0)
			return info;
	}
	return NULL;
}

/* Reconnected: jobs that concluded while nobody listened are reported late
 * (still listed until dismissed); at first contact they are history. */
static void resync(struct qmp_vm *vm, struct pend *p, json_object *list, long long now_us)
{
	size_t n = json_object_array_length(list);

	for (size_t i = 0; i < n; i++) {
		json_object *info = json_object_array_get_idx(list, i);
		const char *id = jstr(info, "id"), *st = jstr(info, "status");
		if (!id || !st)
			continue;
		struct qmp_job *j = job_find(vm, id);
		bool known_open = j && !j->concluded;
		learn(vm, info, now_us);
		j = job_find(vm, id);
		if (!j || strcmp(st, "concluded") != 0 || j->concluded)
			continue;
		j->concluded = true;
		if (p->kind == PK_CONTACT && !known_open)
			continue;
		struct jobinfo ji = {
			.id = id, .type = j->type, .created_ts = j->created_ts,
			.concluded_ts = now_us, .paused_us = j->paused_us,
			.failed = jstr(info, "error") != NULL, .error = jstr(info, "error"),
		};
		struct hvt_event *ev = job_event(vm, &ji);
		if (ev) {
			ev->flags |= HVT_EV_LATE;
			data_str(ev, "observed", "resync");
			outq_put(vm, p, ev);
		}
	}
}

void jobs_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		   long long now_us)
{
	if (err || !json_object_is_type(ret, json_type_array))
		return;
	if (p && (p->kind == PK_CONTACT || p->kind == PK_RESYNC)) {
		resync(vm, p, ret, now_us);
		return;
	}
	size_t n = json_object_array_length(ret);
	for (size_t i = 0; i < n; i++)
		learn(vm, json_object_array_get_idx(ret, i), now_us);
	if (!p || p->kind != PK_JOB_END)
		return;
	/* The type may have been learnt from an earlier answer. */
	struct qmp_job *j = job_find(vm, p->job_id);
	json_object *info = find_job(ret, p->job_id);
	const char *type = info ? jstr(info, "type") : j && j->type[0] ? j->type : NULL;
	if (type)
		pend_ctx_set(p, "type", json_object_new_string(type));
	const char *error = info ? jstr(info, "error") : NULL;
	if (error)
		pend_ctx_set(p, "error",
			     json_object_new_string_len(error, (int)strnlen(error, 1024)));
}

bool jobs_snapshot_running(const struct qmp_vm *vm)
{
	return any_snapshot_job(vm) || vm->snap_ends_open > 0;
}
