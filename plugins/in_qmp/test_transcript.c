/* test_transcript.c - see test_transcript.h. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_transcript.h"
#include "util.h"

#ifndef QMP_FIXTURES
#error "QMP_FIXTURES (the transcript directory) must be defined"
#endif

static const char *jget_str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

static double jget_num(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : 0;
}

struct transcript *qtr_load(const char *name)
{
	char *path = hvt_asprintf("%s/%s", QMP_FIXTURES, name);
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		free(path);
		return NULL;
	}
	free(path);
	struct transcript *t = hvt_calloc(1, sizeof *t);
	t->name = hvt_strdup(name);
	while ((len = getline(&line, &cap, f)) > 0) {
		json_object *root = json_tokener_parse(line);
		if (!root)
			continue;
		t->r = hvt_realloc(t->r, sizeof *t->r * (t->n + 1));
		struct qtr_rec *r = &t->r[t->n++];
		memset(r, 0, sizeof *r);
		r->root = root;
		hvt_strlcpy(r->dir, jget_str(root, "dir") ? jget_str(root, "dir") : "?",
			    sizeof r->dir);
		r->t = jget_num(root, "t");
		r->ts_us = (long long)(jget_num(root, "ts") * 1e6);
		json_object *v;
		if (json_object_object_get_ex(root, "raw", &v) &&
		    json_object_is_type(v, json_type_string)) {
			r->raw = json_object_get_string(v);
			r->raw_len = (size_t)json_object_get_string_len(v);
		}
		r->truncated = json_object_object_get_ex(root, "truncated", &v) &&
			       json_object_get_boolean(v);
		if (json_object_object_get_ex(root, "msg", &v) &&
		    json_object_is_type(v, json_type_object))
			r->msg = v;
	}
	free(line);
	fclose(f);
	return t;
}

void qtr_free(struct transcript *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		json_object_put(t->r[i].root);
	free(t->r);
	free(t->name);
	free(t);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **qtr_list(void)
{
	DIR *d = opendir(QMP_FIXTURES);
	struct dirent *e;
	char **l = hvt_calloc(1, sizeof *l);
	size_t n = 0;

	while (d && (e = readdir(d))) {
		if (!hvt_str_has_suffix(e->d_name, ".jsonl"))
			continue;
		l = hvt_realloc(l, sizeof *l * (n + 2));
		l[n++] = hvt_strdup(e->d_name);
		l[n] = NULL;
	}
	if (d)
		closedir(d);
	qsort(l, n, sizeof *l, cmp_str);
	return l;
}

void qtr_list_free(char **l)
{
	for (char **p = l; p && *p; p++)
		free(*p);
	free(l);
}

/* ---- oracle ---------------------------------------------------------------- */

struct answer {
	double t;                     /* wall clock (s) when the recorded client asked */
	const char *cmd;
	json_object *reply;           /* the reply message (return or error) */
};

struct oracle {
	struct answer *a;
	size_t n;
	double window;
	double *changes;              /* when the other client changed something */
	size_t nchanges;
};

/* Commands after which the VM's state may differ: an answer recorded after
 * one of them does not tell what QEMU would have said before it. */
static bool changes_state(json_object *msg)
{
	json_object *cmd, *args, *line;

	if (!json_object_object_get_ex(msg, "execute", &cmd))
		return true;   /* raw bytes: who knows */
	const char *c = json_object_get_string(cmd);
	if (hvt_str_has_prefix(c, "query-") || hvt_str_has_prefix(c, "migrate-set-") ||
	    strcmp(c, "qmp_capabilities") == 0 || strcmp(c, "job-dismiss") == 0)
		return false;
	if (strcmp(c, "human-monitor-command") == 0 &&
	    json_object_object_get_ex(msg, "arguments", &args) &&
	    json_object_object_get_ex(args, "command-line", &line) &&
	    hvt_str_has_prefix(json_object_get_string(line), "info "))
		return false;
	return true;
}

/* Was command i answered with an error (so it changed nothing)? */
static bool refused(const struct transcript *t, size_t i)
{
	json_object *id, *rid;

	if (!t->r[i].msg || !json_object_object_get_ex(t->r[i].msg, "id", &id))
		return false;
	for (size_t j = i + 1; j < t->n; j++) {
		json_object *m = t->r[j].msg;
		if (strcmp(t->r[j].dir, "recv") == 0 && m &&
		    json_object_object_get_ex(m, "id", &rid) && json_object_equal(rid, id))
			return json_object_object_get_ex(m, "error", NULL);
	}
	return false;
}

/* Pair each command the other monitor sent with the reply carrying its id. */
static void oracle_build(struct oracle *o, const struct transcript *t, double window)
{
	o->window = window;
	for (size_t i = 0; t && i < t->n; i++) {
		const struct qtr_rec *s = &t->r[i];
		json_object *id, *cmd;
		if (strcmp(s->dir, "send") == 0 && (!s->msg || changes_state(s->msg)) &&
		    !refused(t, i)) {
			o->changes =
				hvt_realloc(o->changes, sizeof *o->changes * (o->nchanges + 1));
			o->changes[o->nchanges++] = (double)s->ts_us / 1e6;
		}
		if (strcmp(s->dir, "send") != 0 || !s->msg ||
		    !json_object_object_get_ex(s->msg, "execute", &cmd) ||
		    !json_object_object_get_ex(s->msg, "id", &id))
			continue;
		for (size_t j = i + 1; j < t->n; j++) {
			const struct qtr_rec *r = &t->r[j];
			json_object *rid;
			if (strcmp(r->dir, "recv") != 0 || !r->msg ||
			    !json_object_object_get_ex(r->msg, "id", &rid) ||
			    !json_object_equal(rid, id))
				continue;
			o->a = hvt_realloc(o->a, sizeof *o->a * (o->n + 1));
			o->a[o->n++] = (struct answer){ (double)s->ts_us / 1e6,
							json_object_get_string(cmd), r->msg };
			break;
		}
	}
}

static bool changed_between(const struct oracle *o, double from, double to)
{
	for (size_t i = 0; i < o->nchanges; i++)
		if (o->changes[i] >= from && o->changes[i] < to)
			return true;
	return false;
}

/* What QEMU would have answered at time t: the same question asked soon
 * after t by the other client, with nothing changed in between. */
static json_object *oracle_answer(const struct oracle *o, const char *cmd, double t)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->a[i].t >= t && o->a[i].t - t <= o->window && strcmp(o->a[i].cmd, cmd) == 0)
			return changed_between(o, t, o->a[i].t) ? NULL : o->a[i].reply;
	return NULL;
}

/* ---- replay ---------------------------------------------------------------- */

struct rp_ctx {
	struct replay *out;
	struct { enum qmp_query q; unsigned tag; } asked[512];
	size_t nasked;
};

static void rp_emit(void *arg, struct hvt_event *ev)
{
	struct rp_ctx *c = arg;

	c->out->ev = hvt_realloc(c->out->ev, sizeof *c->out->ev * (c->out->n + 1));
	c->out->ev[c->out->n++] = ev;
}

static bool rp_query(void *arg, enum qmp_query q, unsigned tag)
{
	struct rp_ctx *c = arg;

	if (c->nasked >= HVT_ARRAY_SIZE(c->asked))
		return false;
	c->asked[c->nasked].q = q;
	c->asked[c->nasked].tag = tag;
	c->nasked++;
	c->out->asked[q]++;
	return true;
}

static const struct qmp_norm_ops rp_ops = { .emit = rp_emit, .query = rp_query };

/* Answer what was asked, as if QEMU replied right away.  t is when it was
 * asked on the wall clock: QEMU's own timestamp of the event that made the
 * normaliser ask, else when the line was logged (which lags a little). */
static void rp_answer(struct rp_ctx *c, struct qmp_vm *vm, const struct oracle *o, double t,
		      long long now_us)
{
	for (size_t i = 0; i < c->nasked; i++) {
		enum qmp_query q = c->asked[i].q;
		json_object *reply = oracle_answer(o, qmp_query_command(q), t), *v;
		if (reply && json_object_object_get_ex(reply, "return", &v)) {
			c->out->answered[q]++;
			qmp_vm_reply(vm, q, c->asked[i].tag, v, NULL, now_us);
		} else {
			qmp_vm_reply(vm, q, c->asked[i].tag, NULL, "no recorded answer", now_us);
		}
	}
	c->nasked = 0;
}

static char *side_name(const char *file)
{
	char *s = hvt_strdup(file);
	char *dot = strstr(s, ".jsonl");

	if (dot)
		*dot = '\0';
	return s;
}

void replay_run(struct replay *out, const char *mon, const char *oracle_file, double window,
		const struct qmp_norm_opts *opts)
{
	struct transcript *t = qtr_load(mon);
	struct transcript *ot = oracle_file ? qtr_load(oracle_file) : NULL;
	struct oracle o = { 0 };
	struct rp_ctx *c = hvt_calloc(1, sizeof *c);
	char *name = side_name(mon);
	bool greeted = false, contacted = false;

	memset(out, 0, sizeof *out);
	c->out = out;
	oracle_build(&o, ot, window);
	struct qmp_vm *vm = qmp_vm_new(name, opts, &rp_ops, c);
	for (size_t i = 0; t && i < t->n; i++) {
		const struct qtr_rec *r = &t->r[i];
		double asked_at = (double)r->ts_us / 1e6;
		if (strcmp(r->dir, "recv") == 0 && r->raw && !r->truncated) {
			struct qmp_msg m;
			qmp_parse_line(r->raw, strcspn(r->raw, "\r\n"), &m);
			if (m.kind == QMP_MSG_EVENT && m.ts_us > 0)
				asked_at = (double)m.ts_us / 1e6;
			if (m.kind == QMP_MSG_GREETING) {
				greeted = true;
			} else if (greeted && !contacted && m.kind == QMP_MSG_REPLY) {
				/* qmp_capabilities answered: the forwarder makes contact */
				struct qmp_contact ct = {
					.qemu_version = "7.2.22",
					.socket = name,
					.new_instance = true,
					.instance_since_us = r->ts_us,
					.now_us = r->ts_us,
				};
				contacted = true;
				qmp_vm_contact(vm, &ct);
			} else if (contacted) {
				qmp_vm_message(vm, &m, r->ts_us);
			}
			qmp_msg_clear(&m);
		} else if (contacted &&
			   (strcmp(r->dir, "eof") == 0 || strcmp(r->dir, "close") == 0)) {
			qmp_vm_lost(vm, strcmp(r->dir, "eof") == 0, r->ts_us);
		}
		rp_answer(c, vm, &o, asked_at, r->ts_us);
	}
	qmp_vm_free(vm);
	free(o.a);
	free(o.changes);
	free(name);
	free(c);
	qtr_free(t);
	qtr_free(ot);
}

void replay_free(struct replay *r)
{
	for (size_t i = 0; i < r->n; i++)
		hvt_event_free(r->ev[i]);
	free(r->ev);
	memset(r, 0, sizeof *r);
}

char *replay_types(const struct replay *r)
{
	struct hvt_buf b = { 0 };

	for (size_t i = 0; i < r->n; i++) {
		if (i)
			hvt_buf_append(&b, " ", 1);
		hvt_buf_append_str(&b, r->ev[i]->type);
		if (r->ev[i]->flags & HVT_EV_LATE)
			hvt_buf_append_str(&b, "(late)");
	}
	char *s = hvt_strdup(b.len ? hvt_buf_cstr(&b) : "");
	hvt_buf_free(&b);
	return s;
}

struct hvt_event *replay_find(const struct replay *r, const char *type)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->ev[i]->type, type) == 0)
			return r->ev[i];
	return NULL;
}
