/* alerts.c - see alerts.h: configuration, start-up (state, hosts, replay),
 * the indexer's hook, and the service thread. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts_int.h"
#include "incident.h"
#include "log.h"
#include "receiver.h"
#include "schema.h"
#include "util.h"

#define OUTBOX_CHUNK 256
#define PRUNE_EVERY_US (3600LL * 1000000)
#define REPLAY_CHUNK 512
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000

/* ---- configuration -------------------------------------------------------- */

static struct alert_rule *rule_named(struct alerts *al, const char *name)
{
	for (int i = 0; i < al->nrules; i++)
		if (strcmp(al->rules[i]->name, name) == 0)
			return al->rules[i];
	return NULL;
}


static bool action_configured(struct hvt_instances *inst, const char *name)
{
	for (int i = 0; i < inst->n; i++)
		if (inst->v[i].plugin->kind == HVT_PLUGIN_ACTION && strcmp(inst->v[i].name, name) == 0)
			return true;
	return false;
}

static void check_actions(struct hvt_conf *c, const struct hvt_conf_section *s, const struct alert_rule *r,
			  struct hvt_instances *inst)
{
	for (int i = 0; i < r->nactions; i++)
		if (!action_configured(inst, r->actions[i]))
			hvt_conf_error(c, s->file, s->line, "[%s] actions: there is no action section [%s]", s->name,
				       r->actions[i]);
}

static void add_workers(struct alerts *al, struct hvt_instances *inst)
{
	for (int i = 0; i < inst->n; i++) {
		if (inst->v[i].plugin->kind != HVT_PLUGIN_ACTION)
			continue;
		al->workers = hvt_realloc(al->workers, sizeof *al->workers * (size_t)(al->nworkers + 1));
		al->workers[al->nworkers++] = (struct action_worker){
			.al = al, .inst = &inst->v[i], .ops = inst->v[i].plugin->ops,
		};
	}
}

struct alerts *alerts_configure(struct hvt_conf *c, struct hvt_instances *inst)
{
	struct alerts *al = hvt_calloc(1, sizeof *al);
	const struct hvt_conf_section *g = hvt_conf_find(c, "alerting");
	const struct hvt_conf_key *k = col_schema_alerting;

	al->inst = inst;
	pthread_mutex_init(&al->mx, NULL);
	pthread_mutex_init(&al->wake_mx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&al->wake_cv, &ca);
	pthread_condattr_destroy(&ca);
	al->retry_min_ms = hvt_conf_duration_ms(g, k, "retry_min");
	al->retry_max_ms = HVT_MAX(al->retry_min_ms, hvt_conf_duration_ms(g, k, "retry_max"));
	al->retention_ms = hvt_conf_duration_ms(g, k, "retention");
	al->check_ms = hvt_conf_duration_ms(g, k, "check_interval");
	al->incidents_on = hvt_conf_bool(g, k, "incidents");
	al->control_path = hvt_strdup(hvt_conf_str(g, k, "control_socket"));
	al->control_group = hvt_strdup(hvt_conf_str(g, k, "control_group"));
	al->incident_wait_ms = hvt_conf_duration_ms(g, k, "incident_wait");
	for (struct hvt_conf_section *s = c->sections; s; s = s->next) {
		if (strcmp(s->kind, "alert") != 0)
			continue;
		struct alert_rule *r = alert_rule_parse(c, s, col_schema_alert);
		if (!r)
			continue;
		check_actions(c, s, r, inst);
		if (!hvt_conf_bool(s, col_schema_alert, "enabled")) {
			alert_rule_free(r);
			continue;
		}
		al->rules = hvt_realloc(al->rules, sizeof *al->rules * (size_t)(al->nrules + 1));
		al->rules[al->nrules++] = r;
	}
	for (int i = 0; i < al->nrules; i++)
		for (int j = 0; j < al->rules[i]->ninhibited_by; j++)
			if (!rule_named(al, al->rules[i]->inhibited_by[j]))
				hvt_conf_error(c, c->path, 0, "[alert:%s] inhibited_by: there is no rule [alert:%s]",
					       al->rules[i]->name, al->rules[i]->inhibited_by[j]);
	if (!al->nrules && hvt_instances_find(inst, HVT_PLUGIN_ACTION))
		hvt_log(LOG_WARNING, "action sections are configured but no [alert:NAME] rule is: nothing "
			"will use them");
	if (!al->nrules && !al->incidents_on) {
		alerts_free(al);
		return NULL;
	}
	add_workers(al, inst);
	return al;
}

/* ---- the rules' windows ----------------------------------------------------- */

static void reset_rule(struct alert_rule *r)
{
	for (size_t i = 0; i < r->ndedup; i++)
		free(r->dedup[i].key);
	r->ndedup = 0;
	r->ring_head = r->ring_n = 0;
	r->suppressed = 0;
}

static void note_fired(void *arg, const char *rule, const char *dkey, long long t_us)
{
	struct alert_rule *r = rule_named(arg, rule);

	if (r)
		alert_rule_note_fired(r, dkey, t_us / 1000);
}

static void note_suppressed(void *arg, const char *rule, uint64_t n)
{
	struct alert_rule *r = rule_named(arg, rule);

	if (r)
		r->suppressed = n;
}

void alerts_rebuild(struct alerts *al)
{
	long long window_ms = 0;

	for (int i = 0; i < al->nrules; i++) {
		reset_rule(al->rules[i]);
		window_ms = HVT_MAX(window_ms, HVT_MAX(al->rules[i]->dedup_ms, al->rules[i]->rate_ms));
	}
	if (alert_store_fired_since(al->store, hvt_now_us() - window_ms * 1000, note_fired, al) < 0 ||
	    alert_store_suppressed(al->store, note_suppressed, al) < 0)
		hvt_log(LOG_ERR, "alerts: cannot read the dedup and rate-limit state; windows start empty");
}

/* ---- evaluating stored events ------------------------------------------------- */

static bool reserved_host(const char *host)
{
	return !host || host[0] == '(';    /* the collector's own rows (rxstats.h) */
}

/* An event rules look at: a host's, or one of the collector's incidents. */
static bool rule_visible(const struct col_record *rec)
{
	if (rec->kind != COL_REC_EVENT || !rec->ev.type || !rec->ev.host)
		return false;     /* quarantined events are not in the trail */
	/* of the collector's own events only incidents: a rule on "*" would
	 * otherwise page about its own pages */
	return !reserved_host(rec->ev.host) || incident_type(rec->ev.type);
}

static void view_of(const struct col_record *rec, struct alert_view *v)
{
	const char *src = rec->ev.source;

	*v = (struct alert_view){
		.host = rec->ev.host, .type = rec->ev.type, .id = rec->ev.id, .vm_name = rec->ev.vm_name,
		.vm_uuid = rec->ev.vm_uuid, .severity = rec->ev.severity, .ts_us = rec->ev.ts_us,
		.raw = rec->raw, .raw_len = rec->raw_len,
		/* "collector" is the collector's word: a host that claims it is not believed */
		.source = src && strcmp(src, "collector") != 0 ? src : "?",
	};
	if (reserved_host(rec->ev.host)) {
		/* an incident is about data.host, and involves data.hosts */
		json_object *data = alert_view_data(v), *h;
		v->incident = true;
		v->source = "collector";
		if (data && json_object_object_get_ex(data, "host", &h) && json_object_is_type(h, json_type_string))
			v->host = json_object_get_string(h);
	}
}

struct match {
	int rec, rule;
	bool resolve;             /* the record resolves the rule's alerts (not a match) */
};

/* Per rule: does its type glob match this type (and, right after those
 * nrules, does the type resolve its alerts)?  From the cache, or computed
 * into buf (2 * nrules) when the cache is full. */
static const bool *rules_for_type(struct alerts *al, const char *type, bool *buf)
{
	unsigned b = alert_hash(type) % TYPE_BUCKETS;
	struct type_rules *t;

	for (t = al->types[b]; t; t = t->next)
		if (strcmp(t->type, type) == 0) {
			memcpy(buf + al->nrules, t->resolves, sizeof *buf * (size_t)al->nrules);
			return t->match;
		}
	bool *m = buf, *res = buf + al->nrules;
	if (al->ntypes < TYPE_CACHE_MAX) {
		t = hvt_calloc(1, sizeof *t);
		t->type = hvt_strdup(type);
		t->match = m = hvt_calloc((size_t)al->nrules, sizeof *t->match);
		t->resolves = res = hvt_calloc((size_t)al->nrules, sizeof *t->resolves);
		t->next = al->types[b];
		al->types[b] = t;
		al->ntypes++;
	}
	for (int j = 0; j < al->nrules; j++) {
		m[j] = alert_rule_type_matches(al->rules[j], type);
		res[j] = alert_rule_resolves(al->rules[j], type);
	}
	if (res != buf + al->nrules)
		memcpy(buf + al->nrules, res, sizeof *buf * (size_t)al->nrules);
	return m;
}

static void free_types(struct alerts *al)
{
	for (int b = 0; b < TYPE_BUCKETS; b++)
		while (al->types[b]) {
			struct type_rules *t = al->types[b];
			al->types[b] = t->next;
			free(t->type);
			free(t->match);
			free(t->resolves);
			free(t);
		}
}

/* Which (record, rule) pairs match; the alert's own events never do (a
 * rule on "*" would otherwise page about its own pages). */
static size_t find_matches(struct alerts *al, const struct col_record *recs, int n, struct match **out)
{
	size_t nm = 0, cap = 0;
	bool *buf = hvt_calloc(2 * (size_t)al->nrules, sizeof *buf);

	*out = NULL;
	for (int i = 0; i < n; i++) {
		const struct col_record *rec = &recs[i];
		if ((rec->kind == COL_REC_EVENT || rec->kind == COL_REC_HOST_STATS) && !reserved_host(rec->ev.host))
			alert_hosts_note(al, rec->ev.host, rec->rx_us);
		if (rec->kind == COL_REC_EVENT && !reserved_host(rec->ev.host) && rec->ev.vm_name)
			alert_hosts_note_vm(al, rec->ev.host, rec->ev.vm_name, rec->ev.type, rec->raw, rec->raw_len);
		if (!rule_visible(rec))
			continue;
		const bool *typed = rules_for_type(al, rec->ev.type, buf);
		struct alert_view v;
		view_of(rec, &v);
		const bool *resolves = buf + al->nrules;
		/* what fires, then what resolves (an event may do both) */
		for (int j = 0; j < 2 * al->nrules; j++) {
			bool res = j >= al->nrules;
			int k = res ? j - al->nrules : j;
			if (res ? !resolves[k] : !typed[k] || !alert_rule_rest_matches(al->rules[k], &v))
				continue;
			if (nm == cap) {
				cap = cap ? cap * 2 : 8;
				*out = hvt_realloc(*out, cap * sizeof **out);
			}
			(*out)[nm++] = (struct match){ i, k, res };
		}
		alert_view_free(&v);
	}
	free(buf);
	return nm;
}

static int decide_all(struct alerts *al, const struct col_record *recs, int n, const struct match *m, size_t nm,
		      uint64_t inbox_seq, int *fired)
{
	long long now = hvt_now_us();
	int rc = 0;

	*fired = 0;
	if (alert_store_begin(al->store) < 0)
		return -1;
	/* incidents first: what they make is stored (and fires) in a later batch */
	if (al->inc && incidents_wanted(recs, n)) {
		rc = incidents_batch(al->inc, al->store, recs, n, now);
		*fired += rc > 0;
	}
	alert_mute_reset(al);
	for (size_t i = 0; i < nm && rc >= 0; i++) {
		const struct col_record *rec = &recs[m[i].rec];
		struct alert_view v;
		view_of(rec, &v);
		if (m[i].resolve) {
			rc = alert_pages_resolve(al, al->rules[m[i].rule], &v, now);
			alert_view_free(&v);
			continue;
		}
		char *key = hvt_asprintf("%s/%s", rec->ev.host, rec->ev.id ? rec->ev.id : "");
		struct alert_subject s = { &v, key, rec->raw, rec->raw_len, rec->ev.severity };
		rc = alert_fire(al, al->rules[m[i].rule], &s, now);
		*fired += rc > 0;
		free(key);
		alert_view_free(&v);
	}
	alert_mute_reset(al);
	if (rc >= 0)
		rc = alert_store_set_position(al->store, inbox_seq);
	if (rc < 0) {
		alert_store_rollback(al->store);
		return -1;
	}
	return alert_store_commit(al->store);
}

/* Decide about a stored batch; retried until committed (or stopping). */
static int evaluate(struct alerts *al, const struct col_record *recs, int n, uint64_t inbox_seq)
{
	struct match *m;
	long long backoff = RETRY_MIN_MS;
	int fired = 0, rc = 0;

	pthread_mutex_lock(&al->mx);
	size_t nm = find_matches(al, recs, n, &m);
	bool inc = al->inc && incidents_wanted(recs, n);
	while ((nm || inc) && decide_all(al, recs, n, m, nm, inbox_seq, &fired) < 0) {
		alerts_rebuild(al);      /* the rolled-back decisions moved the windows */
		if (al->stop) {
			rc = -1;
			break;
		}
		hvt_log(LOG_ERR, "alerts: cannot record the decisions about a stored batch (inbox up to %" PRIu64
			"); retrying, the inbox keeps it meanwhile", inbox_seq);
		usleep((useconds_t)backoff * 1000);
		backoff = HVT_MIN(backoff * 2, RETRY_MAX_MS);
	}
	pthread_mutex_unlock(&al->mx);
	free(m);
	if (fired || nm)
		alerts_wake(al);     /* deliveries, and alerts waiting for the service thread */
	return rc;
}

int alerts_stored(void *arg, const struct col_record *recs, int n, uint64_t inbox_seq)
{
	return evaluate(arg, recs, n, inbox_seq);
}

/* ---- start-up ---------------------------------------------------------------------- */

static int host_of_stream(void *arg, const struct hvt_stream_state *s)
{
	if (!reserved_host(s->host))
		alert_hosts_note(arg, s->host, s->last_indexed_us);
	return 0;
}

static int host_of_stats(void *arg, const char *host, const char *json, long long at_us)
{
	(void)json;
	if (!reserved_host(host))
		alert_hosts_note(arg, host, at_us);
	return 0;
}

/* Evaluate inbox records from..to that the index stored but whose
 * decisions were not committed (a crash between the two commits).  The
 * inbox still holds them: the indexer acknowledges a batch only after its
 * decisions are durable. */
static int replay(struct alerts *al, struct hvt_spool *inbox, uint64_t from, uint64_t to)
{
	struct hvt_spool_reader *rd = hvt_spool_reader_new(inbox, from);
	struct col_record *recs = hvt_calloc(REPLAY_CHUNK, sizeof *recs);
	char **copies = hvt_calloc(REPLAY_CHUNK, sizeof *copies);
	struct hvt_spool_rec rec;
	uint64_t last = 0, total = 0;
	int n = 0, rc = 0;

	for (;;) {
		int got = hvt_spool_reader_next(rd, &rec);
		bool end = got != 1 || rec.seq > to;
		if (!end) {
			copies[n] = hvt_malloc(rec.len);
			memcpy(copies[n], rec.data, rec.len);
			if (col_record_unpack(copies[n], rec.len, &recs[n]) == 0)
				n++;
			else
				free(copies[n]);
			last = rec.seq;
		}
		if (n && (end || n == REPLAY_CHUNK)) {
			rc = evaluate(al, recs, n, last);
			total += (uint64_t)n;
			for (int i = 0; i < n; i++)
				free(copies[i]);
			n = 0;
		}
		if (end || rc < 0)
			break;
	}
	hvt_spool_reader_free(rd);
	free(recs);
	free(copies);
	if (total)
		hvt_log(LOG_NOTICE, "alerts: evaluated %" PRIu64 " stored records the alert state had not seen "
			"(inbox %" PRIu64 "..%" PRIu64 ")", total, from, to);
	return rc;
}

static void orphan(void *arg, const char *action, uint64_t n)
{
	struct alerts *al = arg;

	for (int i = 0; i < al->nworkers; i++)
		if (!strcmp(al->workers[i].inst->name, action))
			return;
	hvt_log(LOG_WARNING, "alerts: %" PRIu64 " deliveries to [%s] are pending, but no such action is "
		"configured: they wait until it is again (or expire)", n, action);
}

/* Deliveries queued for an action the configuration no longer has. */
static void warn_orphans(struct alerts *al)
{
	alert_store_pending(al->store, orphan, al);
}

int alerts_open(struct alerts *al, const char *state_dir, struct hvt_instance *index,
		struct hvt_spool *inbox)
{
	const struct hvt_index_ops *ops = index->plugin->ops;
	char *path = hvt_asprintf("%s/alerts.db", state_dir);
	char err[600];
	uint64_t evaluated, stored = 0;
	bool known;

	al->store = alert_store_open(path, err, sizeof err);
	free(path);
	if (!al->store) {
		hvt_log(LOG_ERR, "alerts: %s", err);
		return -1;
	}
	al->started_us = hvt_now_us();
	if (!*al->control_path) {
		free(al->control_path);
		al->control_path = hvt_asprintf("%s/control.sock", state_dir);
	}
	if (al->incidents_on)
		al->inc = incidents_new(index, al->incident_wait_ms);
	pthread_mutex_lock(&al->mx);
	alerts_rebuild(al);
	pthread_mutex_unlock(&al->mx);
	if ((ops->streams && ops->streams(index, NULL, host_of_stream, al) < 0) ||
	    (ops->host_stats && ops->host_stats(index, host_of_stats, al) < 0))
		hvt_log(LOG_WARNING, "alerts: cannot read when hosts last spoke from the index; silence rules "
			"start from now");
	if (ops->inbox_position(index, &stored) < 0 || alert_store_position(al->store, &evaluated, &known) < 0)
		return -1;
	if (!known || evaluated > stored) {
		/* a new alert state (or a new index): rules apply from here on,
		 * not to the history */
		if (alert_store_begin(al->store) < 0 || alert_store_set_position(al->store, stored) < 0 ||
		    alert_store_commit(al->store) < 0)
			return -1;
		hvt_log(LOG_INFO, "alerts: %d rule%s, state in %s/alerts.db (new); alerting on events stored from "
			"now on", al->nrules, al->nrules == 1 ? "" : "s", state_dir);
		return 0;
	}
	hvt_log(LOG_INFO, "alerts: %d rule%s, %d action%s, collector stream %s", al->nrules,
		al->nrules == 1 ? "" : "s", al->nworkers, al->nworkers == 1 ? "" : "s",
		alert_store_stream(al->store));
	warn_orphans(al);
	if (stored > hvt_spool_last_seq(inbox))
		return 0;      /* the inbox was recreated: the indexer says so, nothing to replay */
	uint64_t from = HVT_MAX(evaluated, hvt_spool_acked(inbox)) + 1;
	return from <= stored ? replay(al, inbox, from, stored) : 0;
}

/* ---- the service thread ---------------------------------------------------------- */

void alerts_wake(struct alerts *al)
{
	pthread_mutex_lock(&al->wake_mx);
	al->wake_gen++;
	pthread_cond_broadcast(&al->wake_cv);
	pthread_mutex_unlock(&al->wake_mx);
}

bool alerts_wait(struct alerts *al, uint64_t *seen_gen, long long timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&al->wake_mx);
	while (!al->stop && al->wake_gen == *seen_gen)
		if (pthread_cond_timedwait(&al->wake_cv, &al->wake_mx, &ts) == ETIMEDOUT)
			break;
	*seen_gen = al->wake_gen;
	pthread_mutex_unlock(&al->wake_mx);
	return !al->stop;
}

struct outbox_batch {
	struct hvt_buf recs[OUTBOX_CHUNK];
	int n;
	uint64_t last;
};

static int pack(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct outbox_batch *b = arg;
	char err[200];
	struct hvt_event *ev = hvt_event_from_json(json, len, NULL, true, err, sizeof err);

	if (!ev) {
		/* cannot happen (we wrote it); skip rather than block the stream */
		hvt_log(LOG_ERR, "alerts: outbox event %" PRIu64 " is unreadable (%s); dropping it", seq, err);
	} else {
		hvt_buf_reset(&b->recs[b->n]);
		col_record_pack(&b->recs[b->n++], COL_REC_EVENT, 0, ev, "collector", hvt_now_us(), json, len, NULL);
		hvt_event_free(ev);
	}
	b->last = seq;
	return 0;
}

/* Move queued alert.* events into the inbox; true when some are left
 * (the inbox was busy or full, or there are more). */
static bool inject_outbox(struct alerts *al, struct outbox_batch *b)
{
	b->n = 0;
	b->last = 0;
	if (alert_store_outbox(al->store, OUTBOX_CHUNK, pack, b) < 0 || !b->last)
		return false;
	if (b->n && receiver_inject(al->rx, b->recs, b->n, 500) < 0)
		return true;
	alert_store_outbox_done(al->store, b->last);
	return b->n == OUTBOX_CHUNK;
}

/* What waited long enough: incidents whose other side never spoke. */
static void due_now(struct alerts *al)
{
	long long now = hvt_now_us(), due = alert_store_next_due(al->store);
	int made = 0;

	if (!due || due > now || !al->inc)
		return;
	pthread_mutex_lock(&al->mx);
	if (alert_store_begin(al->store) == 0) {
		made = incidents_due(al->inc, al->store, now);
		if (made < 0)
			alert_store_rollback(al->store);
		else if (alert_store_commit(al->store) < 0)
			made = -1;
	}
	pthread_mutex_unlock(&al->mx);
	if (made < 0)
		hvt_log(LOG_ERR, "alerts: cannot record what the incidents decided; trying again");
	else if (made > 0)
		alerts_wake(al);
}

/* Alerts: silences that ended, hosts that spoke again, and, when alerts
 * changed or one is due (group_wait, group_interval, a silence's start or
 * end), what each open alert should tell people now. */
static void pages_now(struct alerts *al)
{
	long long now = hvt_now_us(), due = alert_store_next_due(al->store);
	int acted;

	if (!al->nrules)
		return;
	pthread_mutex_lock(&al->mx);
	bool all = al->pages_dirty || (due && due <= now);
	al->pages_dirty = false;
	if (alert_silences_ended(al, now) < 0)
		hvt_log(LOG_ERR, "alerts: cannot record the end of a silence; trying again");
	acted = alert_pages_service(al, now, all);
	pthread_mutex_unlock(&al->mx);
	if (acted < 0) {
		al->pages_dirty = true;
		hvt_log(LOG_ERR, "alerts: cannot record what the alerts decided; trying again");
	} else if (acted > 0) {
		alerts_wake(al);
	}
}

static void *service(void *arg)
{
	struct alerts *al = arg;
	struct outbox_batch *b = hvt_calloc(1, sizeof *b);
	long long next_check = 0, next_prune = hvt_mono_us() + 60LL * 1000000;

	while (!al->stop) {
		uint64_t gen;
		pthread_mutex_lock(&al->wake_mx);
		gen = al->wake_gen;
		pthread_mutex_unlock(&al->wake_mx);
		bool more = inject_outbox(al, b);
		long long now = hvt_mono_us();
		if (now >= next_check) {
			alert_hosts_check(al, hvt_now_us());
			next_check = now + al->check_ms * 1000;
		}
		due_now(al);
		pages_now(al);
		if (now >= next_prune) {
			alert_store_prune(al->store, hvt_now_us() - al->retention_ms * 1000);
			next_prune = now + PRUNE_EVERY_US;
		}
		long long wait_ms = more ? 100 : HVT_MAX(1, (next_check - hvt_mono_us()) / 1000);
		long long due = alert_store_next_due(al->store);
		if (due)
			wait_ms = HVT_MAX(1, HVT_MIN(wait_ms, (due - hvt_now_us()) / 1000 + 1));
		alerts_wait(al, &gen, wait_ms);
	}
	inject_outbox(al, b);    /* what the last deliveries recorded, while the receiver is there */
	for (int i = 0; i < OUTBOX_CHUNK; i++)
		hvt_buf_free(&b->recs[i]);
	free(b);
	return NULL;
}

int alerts_start(struct alerts *al, struct receiver *rx)
{
	al->rx = rx;
	if (pthread_create(&al->service, NULL, service, al) != 0) {
		hvt_log(LOG_ERR, "alerts: cannot start the service thread");
		return -1;
	}
	pthread_setname_np(al->service, "hvt-alerts");       /* top -H, perf */
	al->service_running = true;
	if (alert_workers_start(al) < 0)
		return -1;
	/* a control socket that cannot be opened costs silences and acks, not
	 * pages: logged, and the collector runs on */
	if (al->nrules && alert_control_start(al, al->control_path, al->control_group) < 0)
		hvt_log(LOG_ERR, "alerts: no control socket: hvtrail silence and hvtrail alerts ack cannot reach "
			"this collector");
	return 0;
}

void alerts_stop(struct alerts *al)
{
	if (!al)
		return;
	alert_workers_stop(al);      /* sets stop */
	alert_control_stop(al);
	if (al->service_running) {
		pthread_join(al->service, NULL);
		al->service_running = false;
	}
}

void alerts_free(struct alerts *al)
{
	if (!al)
		return;
	alerts_stop(al);
	alert_store_close(al->store);
	for (int i = 0; i < al->nrules; i++)
		alert_rule_free(al->rules[i]);
	free(al->rules);
	alert_hosts_free(al);
	incidents_free(al->inc);
	alert_mute_reset(al);
	free(al->control_path);
	free(al->control_group);
	free_types(al);
	free(al->workers);
	pthread_mutex_destroy(&al->mx);
	pthread_mutex_destroy(&al->wake_mx);
	pthread_cond_destroy(&al->wake_cv);
	free(al);
}
