/* qmp_normalise.c - entry points of the normaliser and shared helpers.
 * See qmp_normalise.h for the contract and qmp_norm_priv.h for the state. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qmp_norm_priv.h"

const char *qmp_query_command(enum qmp_query q)
{
	switch (q) {
	case QMP_Q_STATUS: return "query-status";
	case QMP_Q_MIGRATE: return "query-migrate";
	case QMP_Q_JOBS: return "query-jobs";
	case QMP_Q_BLOCK: return "query-block";
	case QMP_Q_COLO: return "query-colo-status";
	case QMP_Q_COUNT: break;
	}
	return "?";
}

void qmp_norm_opts_default(struct qmp_norm_opts *o)
{
	o->colo_summary_us = 60 * 1000000LL;
	o->block_queries = true;
	o->unmapped_burst = 20;
	o->late_after_us = 5 * 1000000LL;
}

struct qmp_vm *qmp_vm_new(const char *fallback_name, const struct qmp_norm_opts *opts,
			  const struct qmp_norm_ops *ops, void *arg)
{
	struct qmp_vm *vm = hvt_calloc(1, sizeof *vm);

	vm->ops = ops;
	vm->arg = arg;
	if (opts)
		vm->opts = *opts;
	else
		qmp_norm_opts_default(&vm->opts);
	vm->fallback_name = hvt_strdup(fallback_name);
	vm->next_tag = 1;
	return vm;
}

void qmp_vm_free(struct qmp_vm *vm)
{
	if (!vm)
		return;
	outq_free(vm);
	jobs_reset(vm);
	block_free(&vm->blk);
	free(vm->fallback_name);
	free(vm->name);
	free(vm->uuid);
	free(vm->qemu_version);
	free(vm->socket);
	free(vm);
}

const char *qmp_vm_name(const struct qmp_vm *vm)
{
	return vm->name ? vm->name : vm->fallback_name;
}

const char *qmp_vm_uuid(const struct qmp_vm *vm)
{
	return vm->uuid;
}

unsigned qmp_vm_pending(const struct qmp_vm *vm)
{
	return vm->npend;
}

bool qmp_vm_settled(const struct qmp_vm *vm)
{
	return vm->settling;
}

bool qmp_vm_ending(const struct qmp_vm *vm)
{
	return vm->ending;
}

/* QEMU without -uuid reports all zeroes: that identifies nothing. */
static bool uuid_is_real(const char *u)
{
	if (!u || !*u)
		return false;
	for (const char *p = u; *p; p++)
		if (*p != '0' && *p != '-')
			return true;
	return false;
}

static void forget_instance(struct qmp_vm *vm)
{
	vm->contacted = false;
	vm->status[0] = '\0';
	vm->status_known = false;
	vm->running = false;
	vm->pause_reported = false;
	vm->paused_by_failover = false;
	vm->paused_ts = 0;
	vm->shutdown_seen = false;
	mig_reset(vm);
	colo_reset(vm);
	jobs_reset(vm);
	block_reset(vm);
}

bool qmp_vm_restored(const struct qmp_vm *vm)
{
	return vm->restored;
}

bool qmp_vm_dirty(const struct qmp_vm *vm)
{
	return vm->dirty;
}

void qmp_vm_mark_saved(struct qmp_vm *vm)
{
	vm->dirty = false;
}

void qmp_vm_gone(struct qmp_vm *vm, long long now_us)
{
	if (!vm->restored)
		return;
	vm->restored = false;
	vm->dirty = true;
	state_gone(vm, now_us);
	vm->ending = true;
	outq_flush(vm);
	vm->ending = false;
	forget_instance(vm);
}

void qmp_vm_contact(struct qmp_vm *vm, const struct qmp_contact *c)
{
	bool was_restored = vm->restored;

	vm->restored = false;
	vm->dirty = true;
	/* the process we knew before a restart was replaced while we were away */
	if (was_restored && c->new_instance)
		state_gone(vm, c->now_us);
	if (c->new_instance || !vm->contacted)
		forget_instance(vm);
	hvt_event_set_str(&vm->name, c->name && *c->name ? c->name : NULL);
	hvt_event_set_str(&vm->uuid, uuid_is_real(c->uuid) ? c->uuid : NULL);
	hvt_event_set_str(&vm->qemu_version, c->qemu_version);
	hvt_event_set_str(&vm->socket, c->socket);
	vm->connected = true;
	struct pend *p = outq_add(vm, NULL);
	state_contact(vm, c, p);
	vm->contacted = true;
	outq_flush(vm);
}

/* Events nobody maps keep their QEMU name: qmp.<event_lowercase>.  A chatty
 * guest must not flood the trail, so they share a small budget per VM. */
static bool unmapped_allowed(struct qmp_vm *vm, long long ts)
{
	if (ts - vm->unmapped_win_ts >= QMP_UNMAPPED_WINDOW_US || ts < vm->unmapped_win_ts) {
		vm->unmapped_win_ts = ts;
		vm->unmapped_in_win = 0;
	}
	if (vm->unmapped_in_win >= vm->opts.unmapped_burst) {
		vm->unmapped_dropped++;
		return false;
	}
	vm->unmapped_in_win++;
	return true;
}

static void unmapped_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us)
{
	char type[65] = "qmp.";
	size_t n = 4;
	long long ts = msg_ts(m, now_us);

	if (!unmapped_allowed(vm, ts))
		return;
	for (const char *s = m->event; *s && n < sizeof type - 1; s++) {
		unsigned char ch = (unsigned char)*s;
		type[n++] = isalnum(ch) ? (char)tolower(ch) : '_';
	}
	type[n] = '\0';
	if (n == 4 || !hvt_type_valid(type))
		hvt_strlcpy(type, "qmp.unknown", sizeof type);
	struct hvt_event *ev = norm_event(vm, type, HVT_SEV_INFO, ts);
	norm_attach_qmp(ev, m);
	if (vm->unmapped_dropped) {
		data_int(ev, "dropped_before", vm->unmapped_dropped);
		vm->unmapped_dropped = 0;
	}
	hvt_event_set_msg(ev, "QEMU event %.64s on VM %s", m->event, qmp_vm_name(vm));
	outq_add(vm, ev);
}

void qmp_vm_message(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us)
{
	if (m->kind != QMP_MSG_EVENT || !m->event)
		return;
	vm->dirty = true;
	/* Each area claims the events it understands; order matters only for
	 * STOP/RESUME, which the run state hands to whoever folds them. */
	if (!colo_on_event(vm, m, now_us) && !mig_on_event(vm, m, now_us) &&
	    !jobs_on_event(vm, m, now_us) && !state_on_event(vm, m, now_us))
		unmapped_event(vm, m, now_us);
	outq_flush(vm);
}

void qmp_vm_reply(struct qmp_vm *vm, enum qmp_query q, unsigned tag, json_object *ret,
		  const char *error, long long now_us)
{
	struct pend *p = NULL;

	if (tag) {
		p = outq_find(vm, tag);
		if (!p || !(p->waiting & QBIT(q)))
			return;   /* released already (queue full or reconnect) */
		p->waiting &= ~QBIT(q);
	} else if (q == QMP_Q_BLOCK && vm->block_polls) {
		vm->block_polls--;
	}
	if (!ret && !error)
		error = "empty answer";
	switch (q) {
	case QMP_Q_STATUS: state_on_status(vm, p, ret, error, now_us); break;
	case QMP_Q_MIGRATE: mig_on_reply(vm, p, ret, error, now_us); break;
	case QMP_Q_JOBS: jobs_on_reply(vm, p, ret, error, now_us); break;
	case QMP_Q_BLOCK: block_on_reply(vm, p, ret, error, now_us); break;
	case QMP_Q_COLO: colo_on_reply(vm, p, ret, error); break;
	case QMP_Q_COUNT: break;
	}
	outq_flush(vm);
}

bool qmp_vm_lost(struct qmp_vm *vm, bool peer_closed, long long now_us)
{
	vm->connected = false;
	vm->dirty = true;
	vm->block_polls = 0;   /* their answers will not come */
	outq_release_all(vm);
	colo_flush(vm, NULL, now_us);
	bool vanished = state_lost(vm, peer_closed, now_us);
	vm->ending = peer_closed;
	outq_flush(vm);
	vm->ending = false;
	if (peer_closed)
		forget_instance(vm);
	return vanished;
}

void qmp_vm_poll(struct qmp_vm *vm, long long now_us)
{
	(void)now_us;
	/* a slow QEMU must not collect a pile of polls */
	if (!vm->connected || !vm->contacted || !vm->opts.block_queries || vm->block_polls)
		return;
	outq_ask(vm, NULL, QMP_Q_BLOCK);
}

/* ---- helpers ------------------------------------------------------------- */

struct hvt_event *norm_event(struct qmp_vm *vm, const char *type, int severity, long long ts_us)
{
	struct hvt_event *ev = hvt_event_new(type);

	(void)vm;
	ev->severity = severity;
	ev->ts_us = ts_us;
	hvt_event_set_str(&ev->source, "qmp");
	return ev;
}

void norm_attach_qmp(struct hvt_event *ev, const struct qmp_msg *m)
{
	json_object *q = json_object_new_object();

	json_object_object_add(q, "event", json_object_new_string(m->event));
	if (m->data) {
		/* QEMU's event payloads are small; the bound keeps one odd event
		 * from outgrowing what the collector accepts. */
		size_t len =
			strlen(json_object_to_json_string_ext(m->data, JSON_C_TO_STRING_PLAIN));
		if (len <= QMP_MAX_DATA_JSON) {
			json_object_object_add(q, "data", json_object_get(m->data));
		} else {
			json_object *t = json_object_new_object();
			json_object_object_add(t, "truncated", json_object_new_boolean(1));
			json_object_object_add(t, "bytes", json_object_new_int64((int64_t)len));
			json_object_object_add(q, "data", t);
			ev->flags |= HVT_EV_TRUNCATED;
		}
	}
	hvt_event_data_add(ev, "qmp", q);
}

long long msg_ts(const struct qmp_msg *m, long long now_us)
{
	return m && m->ts_us > 0 ? m->ts_us : now_us;
}

const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool jint(json_object *o, const char *key, long long *out)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return false;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return true;
	}
	if (json_object_is_type(v, json_type_double)) {
		*out = (long long)json_object_get_double(v);
		return true;
	}
	return false;
}

bool jbool(json_object *o, const char *key, bool *out)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

void data_str(struct hvt_event *ev, const char *key, const char *v)
{
	if (v)
		hvt_event_data_add(ev, key, json_object_new_string(v));
}

void data_int(struct hvt_event *ev, const char *key, long long v)
{
	hvt_event_data_add(ev, key, json_object_new_int64(v));
}

void data_bool(struct hvt_event *ev, const char *key, bool v)
{
	hvt_event_data_add(ev, key, json_object_new_boolean(v));
}

/* Milliseconds with microsecond precision, as a JSON number. */
void data_ms(struct hvt_event *ev, const char *key, long long us)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld.%03lld", us / 1000, (us < 0 ? -us : us) % 1000);
	hvt_event_data_add(ev, key, json_object_new_double_s((double)us / 1000.0, buf));
}

void fmt_duration(char *buf, size_t size, long long us)
{
	if (us >= 10 * 1000000LL)
		snprintf(buf, size, "%.1f s", (double)us / 1e6);
	else if (us >= 1000000)
		snprintf(buf, size, "%.3f s", (double)us / 1e6);
	else if (us >= 10000)
		snprintf(buf, size, "%lld ms", (us + 500) / 1000);
	else
		snprintf(buf, size, "%.1f ms", (double)us / 1000.0);
}

void fmt_bytes(char *buf, size_t size, long long bytes)
{
	if (bytes >= 1LL << 30)
		snprintf(buf, size, "%.1f GiB", (double)bytes / (double)(1LL << 30));
	else if (bytes >= 1LL << 20)
		snprintf(buf, size, "%.1f MiB", (double)bytes / (double)(1LL << 20));
	else if (bytes >= 1LL << 10)
		snprintf(buf, size, "%.1f KiB", (double)bytes / 1024.0);
	else
		snprintf(buf, size, "%lld B", bytes);
}
