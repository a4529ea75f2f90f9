/* incidents.c - the incident engine: feeds stored host events to the COLO
 * and migration state machines and keeps their state in alerts.db
 * (incident.h).  Runs inside the alert engine's transactions: the indexer
 * hook's (with the batch's inbox position) and the service thread's (for
 * deadlines), so what an incident machine saw and what it made commit
 * together with the position, exactly once. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_rules.h"
#include "hvtrail-plugin.h"
#include "incident.h"
#include "log.h"
#include "record.h"
#include "util.h"

#define PAIR_LOOKUP 16            /* newest colo.entered looked at for a pair's hosts */
#define LINK_LOOKUP 64            /* records of one migration read to open a watch */

struct incidents {
	struct hvt_instance *idx;
	const struct hvt_index_ops *ops;
	long long wait_us;
};

struct incidents *incidents_new(struct hvt_instance *index, long long wait_ms)
{
	struct incidents *inc = hvt_calloc(1, sizeof *inc);

	inc->idx = index;
	inc->ops = index ? index->plugin->ops : NULL;
	inc->wait_us = wait_ms * 1000;
	return inc;
}

void incidents_free(struct incidents *inc)
{
	free(inc);
}

static bool type_wanted(const char *t)
{
	if (!t)
		return false;
	if (strcmp(t, "colo.entered") == 0 || strcmp(t, "colo.failover") == 0 || strcmp(t, "vm.resumed") == 0 ||
	    strcmp(t, "vm.vanished") == 0)
		return true;
	return hvt_str_has_prefix(t, "migration.") &&
	       (hvt_str_has_suffix(t, ".failed") || hvt_str_has_suffix(t, ".cancelled") ||
		hvt_str_has_suffix(t, ".completed"));
}

static bool host_event(const struct col_record *r)
{
	return r->kind == COL_REC_EVENT && r->ev.host && r->ev.host[0] != '(' && r->ev.id;
}

bool incidents_wanted(const struct col_record *recs, int n)
{
	for (int i = 0; i < n; i++)
		if (host_event(&recs[i]) && type_wanted(recs[i].ev.type))
			return true;
	return false;
}

static void input_of(const struct hvt_event *ev, json_object *data, const char *link, struct incident_input *in)
{
	*in = (struct incident_input){
		.host = ev->host, .type = ev->type, .id = ev->id, .vm_name = ev->vm_name, .vm_uuid = ev->vm_uuid,
		.link = link, .severity = ev->severity, .ts_us = ev->ts_us, .data = data,
	};
}

static const char *vm_key(const struct incident_input *in)
{
	return in->vm_uuid && *in->vm_uuid ? in->vm_uuid : in->vm_name && *in->vm_name ? in->vm_name : NULL;
}

static int record(struct alert_store *st, struct incident_out *out)
{
	int rc = 0;

	for (int i = 0; i < out->n && rc == 0; i++) {
		hvt_log(LOG_NOTICE, "incident %s: %s", out->v[i]->type, out->v[i]->msg ? out->v[i]->msg : "");
		rc = alert_store_add_event(st, out->v[i]);
	}
	return rc < 0 ? -1 : out->n;
}

/* ---- COLO pairs ----------------------------------------------------------------- */

struct pair_hosts {
	struct colo_pair *p;
};

static int pair_host(void *arg, const struct hvt_row *row)
{
	struct colo_pair *p = arg;
	char err[128];
	json_object *m;
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, NULL, false, err, sizeof err);

	if (ev && ev->host && ev->data && json_object_object_get_ex(ev->data, "mode", &m) && m) {
		/* newest first: the first of each mode is the current one */
		const char *mode = json_object_get_string(m);
		if (strcmp(mode, "primary") == 0 && !p->primary[0])
			hvt_strlcpy(p->primary, ev->host, sizeof p->primary);
		else if (strcmp(mode, "secondary") == 0 && !p->secondary[0])
			hvt_strlcpy(p->secondary, ev->host, sizeof p->secondary);
	}
	hvt_event_free(ev);
	return 0;
}

/* A pair the engine never saw enter COLO (alerts.db is newer than the
 * pair): its hosts from the index. */
static void pair_hosts_from_index(struct incidents *inc, struct colo_pair *p, const char *vm)
{
	struct hvt_query q = { 0 };

	if (!inc->ops)
		return;
	q.vm = vm;
	q.type_glob = "colo.entered";
	q.newest_first = true;
	q.limit = PAIR_LOOKUP;
	if (inc->ops->query(inc->idx, &q, pair_host, p) < 0)
		hvt_log(LOG_WARNING, "incidents: cannot look up the COLO pair of VM %s in the index", vm);
}

static int feed_colo(struct incidents *inc, struct alert_store *st, const struct incident_input *in,
		     long long now_us, struct incident_out *out)
{
	const char *vm = vm_key(in);
	struct colo_pair p;
	char *json = NULL, *key;
	int rc = 0;

	if (!vm)
		return 0;
	key = hvt_asprintf("colo/%s", vm);
	int got = alert_store_incident_get(st, key, &json);
	bool opener = strcmp(in->type, "colo.entered") == 0 || strcmp(in->type, "colo.failover") == 0 ||
		      (strcmp(in->type, "vm.vanished") == 0 && in->data && json_object_object_get_ex(in->data,
										 "colo_mode", NULL));
	if (got < 0 || (got == 0 && !opener)) {
		rc = got < 0 ? -1 : 0;
		goto out;
	}
	if (got == 1 && colo_pair_from_json(&p, json) < 0) {
		hvt_log(LOG_ERR, "incidents: the saved state of %s is unreadable; starting it anew", key);
		got = 0;
	}
	if (got == 0)
		colo_pair_init(&p, in->vm_name, in->vm_uuid);
	if (strcmp(in->type, "colo.entered") != 0 && (!p.primary[0] || !p.secondary[0]))
		pair_hosts_from_index(inc, &p, vm);
	if (colo_feed(&p, in, now_us, inc->wait_us, out)) {
		char *s = colo_pair_to_json(&p);
		rc = alert_store_incident_put(st, key, s, p.deadline_us, now_us);
		free(s);
	}
out:
	free(json);
	free(key);
	return rc;
}

/* ---- migrations ------------------------------------------------------------------ */

struct link_lookup {
	char link[96];
};

static int take_link(void *arg, const struct hvt_row *row)
{
	struct link_lookup *l = arg;

	if (row->link)
		hvt_strlcpy(l->link, row->link, sizeof l->link);
	return 1;
}

/* The link the index holds for a stored event: the one correlate gave it
 * when it was first stored (a resend's recomputed link may differ). */
static void stored_link(struct incidents *inc, const struct hvt_event *ev, char *out, size_t size)
{
	struct link_lookup l = { "" };
	struct hvt_query q = { 0 };

	out[0] = '\0';
	if (!inc->ops)
		return;
	q.id = ev->id;
	q.host = ev->host;
	q.limit = 1;
	inc->ops->query(inc->idx, &q, take_link, &l);
	hvt_strlcpy(out, l.link, size);
}

struct watch_fill {
	struct mig_watch *w;
	struct incidents *inc;
	long long now_us;
	struct incident_out *out;
	struct hvt_event **evs;
	int n;
};

static int collect_link(void *arg, const struct hvt_row *row)
{
	struct watch_fill *f = arg;
	char err[128];
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, NULL, false, err, sizeof err);

	if (!ev || !ev->host || ev->host[0] == '(' || f->n >= LINK_LOOKUP) {
		hvt_event_free(ev);
		return 0;
	}
	f->evs[f->n++] = ev;
	return 0;
}

/* A new watch learns what the index already holds of its migration: both
 * hosts (from the starts) and ends reported before the failure that opened
 * it (a source that cancelled before its target gave up). */
static void fill_watch(struct incidents *inc, struct mig_watch *w, long long now_us, struct incident_out *out)
{
	struct hvt_event *evs[LINK_LOOKUP];
	struct watch_fill f = { w, inc, now_us, out, evs, 0 };
	struct hvt_query q = { 0 };

	if (!inc->ops)
		return;
	q.link = w->link;
	q.limit = LINK_LOOKUP;
	if (inc->ops->query(inc->idx, &q, collect_link, &f) < 0)
		hvt_log(LOG_WARNING, "incidents: cannot read migration %s from the index", w->link);
	for (int i = 0; i < f.n; i++) {
		struct incident_input in;
		input_of(evs[i], evs[i]->data, w->link, &in);
		if (strcmp(in.type, "migration.started") == 0)
			hvt_strlcpy(w->src_host, in.host, sizeof w->src_host);
		else if (strcmp(in.type, "migration.incoming.started") == 0)
			hvt_strlcpy(w->tgt_host, in.host, sizeof w->tgt_host);
		else if (mig_relevant(&in))
			mig_feed(w, &in, now_us, inc->wait_us, out);
	}
	for (int i = 0; i < f.n; i++)
		hvt_event_free(evs[i]);
}

static int feed_mig(struct incidents *inc, struct alert_store *st, const struct hvt_event *ev, json_object *data,
		    long long now_us, struct incident_out *out)
{
	char link[96], *json = NULL, *key;
	struct incident_input in;
	struct mig_watch w;
	int rc = 0;

	stored_link(inc, ev, link, sizeof link);
	input_of(ev, data, link[0] ? link : NULL, &in);
	if (!mig_relevant(&in) || (!link[0] && (!mig_opens(&in) || strcmp(in.type, "vm.vanished") == 0)))
		return 0;
	/* a failure the collector could not link (no VM named): alone, at once */
	key = link[0] ? hvt_asprintf("mig/%s", link) : hvt_asprintf("mig/%s", ev->id);
	int got = alert_store_incident_get(st, key, &json);
	if (got < 0 || (got == 0 && !mig_opens(&in))) {
		rc = got < 0 ? -1 : 0;
		goto out;
	}
	bool changed;
	if (got == 1 && mig_watch_from_json(&w, json) == 0) {
		changed = mig_feed(&w, &in, now_us, inc->wait_us, out);
	} else {
		mig_watch_init(&w, link, ev->vm_name, ev->vm_uuid);
		if (link[0])
			fill_watch(inc, &w, now_us, out);
		mig_feed(&w, &in, now_us, inc->wait_us, out);     /* if the index did not have it yet */
		if (!link[0])
			mig_due(&w, w.deadline_us, out);
		changed = true;
	}
	if (changed) {
		char *s = mig_watch_to_json(&w);
		rc = alert_store_incident_put(st, key, s, w.deadline_us, now_us);
		free(s);
	}
out:
	free(json);
	free(key);
	return rc;
}

/* ---- the engine ----------------------------------------------------------------- */

int incidents_batch(struct incidents *inc, struct alert_store *st, const struct col_record *recs, int n,
		    long long now_us)
{
	struct incident_out out = { 0 };
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++) {
		const struct col_record *r = &recs[i];
		if (!host_event(r) || !type_wanted(r->ev.type))
			continue;
		json_object *root = alert_json_parse(r->raw, r->raw_len), *data = NULL;
		if (root && !json_object_object_get_ex(root, "data", &data))
			data = NULL;
		struct incident_input in;
		input_of(&r->ev, data, NULL, &in);
		if (colo_relevant(&in))
			rc = feed_colo(inc, st, &in, now_us, &out);
		if (rc == 0 && (hvt_str_has_prefix(r->ev.type, "migration.") || strcmp(r->ev.type, "vm.vanished") == 0))
			rc = feed_mig(inc, st, &r->ev, data, now_us, &out);
		if (root)
			json_object_put(root);
	}
	if (rc == 0)
		rc = record(st, &out);
	incident_out_clear(&out);
	return rc;
}

struct due_ctx {
	struct incidents *inc;
	struct alert_store *st;
	long long now_us;
	struct incident_out *out;
};

static int due_one(void *arg, const char *key, const char *json)
{
	struct due_ctx *c = arg;
	long long deadline = 0;
	char *s = NULL;

	if (hvt_str_has_prefix(key, "colo/")) {
		struct colo_pair p;
		if (colo_pair_from_json(&p, json) == 0 && colo_due(&p, c->now_us, c->out)) {
			s = colo_pair_to_json(&p);
			deadline = p.deadline_us;
		}
	} else if (hvt_str_has_prefix(key, "mig/")) {
		struct mig_watch w;
		if (mig_watch_from_json(&w, json) == 0 && mig_due(&w, c->now_us, c->out)) {
			s = mig_watch_to_json(&w);
			deadline = w.deadline_us;
		}
	}
	/* a state that cannot decide (unreadable) must not come due forever */
	int rc = alert_store_incident_put(c->st, key, s ? s : json, deadline, c->now_us);
	free(s);
	return rc;
}

int incidents_due(struct incidents *inc, struct alert_store *st, long long now_us)
{
	struct incident_out out = { 0 };
	struct due_ctx c = { inc, st, now_us, &out };
	int rc = alert_store_incidents_due(st, now_us, due_one, &c);

	if (rc == 0)
		rc = record(st, &out);
	incident_out_clear(&out);
	return rc;
}
