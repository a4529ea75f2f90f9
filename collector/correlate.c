/* correlate.c - see correlate.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "incident.h"
#include "log.h"
#include "util.h"

#define PAIR_WINDOW_US (30LL * 1000000)          /* start of both sides */
#define END_LOOKBACK_US (7LL * 86400 * 1000000)  /* a migration may run for days */
#define SEARCH_LIMIT 1000                        /* newest records per search */

struct correlator {
	struct hvt_instance *idx;
	const struct hvt_index_ops *ops;
};

enum side { SIDE_NONE, SIDE_SOURCE, SIDE_TARGET };
enum phase { PH_START, PH_END, PH_GONE };   /* GONE: the side's QEMU vanished */

struct candidate {
	char host[256];
	char link[LINK_MAX];
	char source[16];              /* the input that reported it (qmp, journald) */
	long long ts;
	enum side side;
	enum phase ph;
};

/* A string of the event's data (parsed from raw when the record carries
 * only the JSON text); *parsed keeps it alive, the caller frees it. */
static const char *dstr(const struct hvt_event *ev, const char *raw, size_t raw_len, const char *key,
			struct hvt_event **parsed)
{
	json_object *v;
	char err[128];

	if (!ev->data && raw && !*parsed)
		*parsed = hvt_event_from_json(raw, raw_len, NULL, false, err, sizeof err);
	if (!ev->data && *parsed)
		ev = *parsed;
	if (!ev->data || !json_object_object_get_ex(ev->data, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

/* colo.entered ends the migration that set the pair up: on the primary it
 * is the source's end, on the secondary the target's. */
static bool classify_colo(const struct hvt_event *ev, const char *raw, size_t raw_len,
			  enum side *side)
{
	struct hvt_event *parsed = NULL;
	const char *mode = dstr(ev, raw, raw_len, "mode", &parsed);
	bool ok = false;

	if (mode && strcmp(mode, "primary") == 0) {
		*side = SIDE_SOURCE;
		ok = true;
	} else if (mode && strcmp(mode, "secondary") == 0) {
		*side = SIDE_TARGET;
		ok = true;
	}
	hvt_event_free(parsed);
	return ok;
}

/* A vm.vanished belongs to the migration it cut short: a target (its QEMU
 * exists for the incoming migration until that completes; it exits after a
 * failed one) or a source that died while a migration was under way.  It
 * joins that side's latest start and never opens a link of its own.  in_qmp
 * says migration_role and migration_active; events from before it did have
 * the target's run state "inmigrate". */
static bool classify_vanished(const struct hvt_event *ev, const char *raw, size_t raw_len,
			      enum side *side)
{
	struct hvt_event *parsed = NULL;
	const char *status = dstr(ev, raw, raw_len, "migration_status", &parsed);
	const char *role = dstr(ev, raw, raw_len, "migration_role", &parsed);
	const char *active = dstr(ev, raw, raw_len, "migration_active", &parsed);
	const char *last = dstr(ev, raw, raw_len, "last_status", &parsed);
	bool ok = false;

	if (!role && last && strcmp(last, "inmigrate") == 0)
		role = "incoming";
	if (status && *status && strcmp(status, "completed") != 0 && strcmp(status, "colo") != 0 && role) {
		if (strcmp(role, "incoming") == 0) {
			*side = SIDE_TARGET;
			ok = true;
		} else if (active && strcmp(active, "true") == 0) {
			*side = SIDE_SOURCE;
			ok = true;
		}
	}
	hvt_event_free(parsed);
	return ok;
}

static bool classify(const struct hvt_event *ev, const char *raw, size_t raw_len, enum side *side,
		     enum phase *ph)
{
	const char *type = ev->type;

	if (!type)
		return false;
	if (strcmp(type, "colo.entered") == 0) {
		*ph = PH_END;
		return classify_colo(ev, raw, raw_len, side);
	}
	if (strcmp(type, "vm.vanished") == 0) {
		*ph = PH_GONE;
		return classify_vanished(ev, raw, raw_len, side);
	}
	if (!hvt_str_has_prefix(type, "migration."))
		return false;
	*side = hvt_str_has_prefix(type, "migration.incoming.") ? SIDE_TARGET : SIDE_SOURCE;
	*ph = hvt_str_has_suffix(type, ".started") ? PH_START : PH_END;
	return true;
}

static bool linkable_type(const char *type)
{
	return type && (hvt_str_has_prefix(type, "migration.") || strcmp(type, "colo.entered") == 0 ||
			strcmp(type, "vm.vanished") == 0);
}

struct correlator *correlator_new(struct hvt_instance *idx)
{
	struct correlator *c = hvt_calloc(1, sizeof *c);

	c->idx = idx;
	c->ops = idx->plugin->ops;
	return c;
}

void correlator_free(struct correlator *c)
{
	free(c);
}

static const char *vm_key(const struct hvt_event *ev)
{
	return ev->vm_uuid && *ev->vm_uuid ? ev->vm_uuid : ev->vm_name;
}

struct search {
	struct candidate *v;
	int n, cap;
};

static int collect(void *arg, const struct hvt_row *row)
{
	struct search *s = arg;
	char err[128];
	enum side side;
	enum phase ph;
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, NULL, false, err, sizeof err);

	if (!ev)
		return 0;
	/* the collector's incidents carry their link; they are no side's record */
	if (!ev->host || strcmp(ev->host, INCIDENT_HOST) == 0 || !classify(ev, NULL, 0, &side, &ph)) {
		hvt_event_free(ev);
		return 0;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = hvt_realloc(s->v, sizeof(struct candidate) * (size_t)s->cap);
	}
	struct candidate *k = &s->v[s->n++];
	hvt_strlcpy(k->host, ev->host ? ev->host : "", sizeof k->host);
	hvt_strlcpy(k->link, row->link ? row->link : "", sizeof k->link);
	hvt_strlcpy(k->source, ev->source ? ev->source : "", sizeof k->source);
	k->ts = ev->ts_us;
	k->side = side;
	k->ph = ph;
	hvt_event_free(ev);
	return 0;
}

/* Candidates from the index (the newest first: the limit must cut off the
 * oldest, never the latest start) and from the batch being stored (whose
 * links were decided a moment ago). */
static void gather(struct correlator *c, const struct hvt_event *ev, long long since, long long until,
		   const struct col_record *recs, int upto, char (*links)[LINK_MAX], struct search *s)
{
	static const char *const globs[] = { "migration.*", "colo.entered" };

	for (size_t g = 0; g < HVT_ARRAY_SIZE(globs); g++) {
		struct hvt_query q = { 0 };
		q.vm = vm_key(ev);
		q.type_glob = globs[g];
		q.since_us = since;
		q.until_us = until;
		q.limit = SEARCH_LIMIT;
		q.newest_first = true;
		if (c->ops->query(c->idx, &q, collect, s) < 0)
			hvt_log(LOG_WARNING, "correlate: cannot search the index for VM %s", q.vm);
	}
	for (int i = 0; i < upto; i++) {
		const struct hvt_event *o = &recs[i].ev;
		if (recs[i].kind != COL_REC_EVENT || !linkable_type(o->type) || !vm_key(o) ||
		    strcmp(vm_key(o), vm_key(ev)) != 0 || o->ts_us < since || o->ts_us > until)
			continue;
		struct hvt_row row = { 0 };
		row.raw = recs[i].raw;
		row.raw_len = recs[i].raw_len;
		row.link = links[i];
		collect(s, &row);
	}
}

/* Does link already hold a record of this side and phase from the same
 * input?  Then it belongs to another migration of the VM (an earlier one, or
 * the other direction): an input reports one start and one end per side of
 * a migration.  (Another input - libvirt's journal next to QMP - may report
 * the same end again, and belongs to the same migration.) */
static bool claimed(const struct search *s, const char *link, const char *source, enum side side,
		    enum phase ph)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].side == side && s->v[i].ph == ph && strcmp(s->v[i].link, link) == 0 &&
		    strcmp(s->v[i].source, source) == 0)
			return true;
	return false;
}

/* The best candidate: wanted side and phase, host same or other, the one
 * closest in time (before ev for the same host), in a link that has no
 * record of ev's own side and phase yet. */
static const char *pick(const struct search *s, const struct hvt_event *ev, enum side ev_side,
			enum phase ev_ph, bool same_host, enum side want_side,
			enum phase want_phase)
{
	const struct candidate *best = NULL;
	long long best_d = 0;

	for (int i = 0; i < s->n; i++) {
		const struct candidate *k = &s->v[i];
		if (!k->link[0] || k->side != want_side || k->ph != want_phase)
			continue;
		if ((strcmp(k->host, ev->host) == 0) != same_host)
			continue;
		if (same_host && k->ts > ev->ts_us)
			continue;
		long long d = llabs(k->ts - ev->ts_us);
		if (best && d >= best_d)
			continue;
		if (claimed(s, k->link, ev->source ? ev->source : "", ev_side, ev_ph))
			continue;
		best = k;
		best_d = d;
	}
	return best ? best->link : NULL;
}

static void link_one(struct correlator *c, const struct col_record *recs, int i, char (*links)[LINK_MAX])
{
	const struct hvt_event *ev = &recs[i].ev;
	enum side side;
	enum phase ph;
	struct search s = { 0 };
	const char *found = NULL;
	enum side other = SIDE_NONE;

	links[i][0] = '\0';
	if (recs[i].kind == COL_REC_EVENT && ev->host && strcmp(ev->host, INCIDENT_HOST) == 0) {
		/* an incident the collector made names its migration itself; the
		 * reserved host cannot come from the wire (ingest refuses it) */
		struct hvt_event *parsed = NULL;
		const char *link = dstr(ev, recs[i].raw, recs[i].raw_len, "link", &parsed);
		if (link && hvt_str_has_prefix(link, "mig-"))
			hvt_strlcpy(links[i], link, LINK_MAX);
		hvt_event_free(parsed);
		return;
	}
	if (recs[i].kind != COL_REC_EVENT || !linkable_type(ev->type) || !vm_key(ev) || !ev->host ||
	    !classify(ev, recs[i].raw, recs[i].raw_len, &side, &ph))
		return;
	other = side == SIDE_SOURCE ? SIDE_TARGET : SIDE_SOURCE;
	if (ph == PH_START) {
		/* the other side's start, on another host, moments apart */
		gather(c, ev, ev->ts_us - PAIR_WINDOW_US, ev->ts_us + PAIR_WINDOW_US, recs, i, links, &s);
		found = pick(&s, ev, side, ph, false, other, PH_START);
	} else if (ph == PH_GONE) {
		/* its own side's latest start, or nothing */
		gather(c, ev, ev->ts_us - END_LOOKBACK_US, ev->ts_us, recs, i, links, &s);
		found = pick(&s, ev, side, ph, true, side, PH_START);
		if (found)
			hvt_strlcpy(links[i], found, LINK_MAX);
		free(s.v);
		return;
	} else {
		/* our own side's latest start; failing that (seen only the end,
		 * after a reconnect) the other side's end moments apart */
		gather(c, ev, ev->ts_us - END_LOOKBACK_US, ev->ts_us + PAIR_WINDOW_US, recs, i, links, &s);
		found = pick(&s, ev, side, ph, true, side, PH_START);
		if (!found)
			found = pick(&s, ev, side, ph, false, other, PH_END);
	}
	if (found)
		hvt_strlcpy(links[i], found, LINK_MAX);
	else
		snprintf(links[i], LINK_MAX, "mig-%s", ev->id);
	free(s.v);
}

void correlate_batch(struct correlator *c, const struct col_record *recs, int n, char (*links)[LINK_MAX])
{
	for (int i = 0; i < n; i++)
		link_one(c, recs, i, links);
}
