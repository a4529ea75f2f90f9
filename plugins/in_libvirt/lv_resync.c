/* lv_resync.c - what the connection asks libvirt for, beyond its events
 * (on the libvirt thread):
 *   the resync   after every connect: every domain with its state, job,
 *                last completed job, snapshots and whether in_qmp reports
 *                it, then "that was all" - the mapping compares it with
 *                the view (lv_map_resync.c);
 *   job watch    an outgoing migration's job, polled every job_poll_interval
 *                until it ends: libvirt sends the source nothing when one
 *                fails or is cancelled before the switch-over;
 *   snapshots    libvirt has no snapshot events: each domain's list, soon
 *                after any of its events and every poll_interval,
 *                sent on when it changed.  The XML of a snapshot is read
 *                once (kept with its name). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "in_libvirt.h"
#include "lv_snapxml.h"

#define SNAP_SOON_MS 300

struct lv_snapcache {
	struct lv_snapcache *next;
	char uuid[LV_UUID_LEN];
	json_object *list;            /* [lv_snapxml objects], sorted by name */
	bool soon;
	bool listed;
};

struct lv_watch {
	struct lv_watch *next;
	char uuid[LV_UUID_LEN];
	char *before;                 /* the last completed job's statistics when it started */
};

/* ---- snapshot lists ----------------------------------------------------------------- */

static struct lv_snapcache *cache_get(struct lv_input *in, const char *uuid, bool create)
{
	for (struct lv_snapcache *c = in->snaps; c; c = c->next)
		if (strcmp(c->uuid, uuid) == 0)
			return c;
	if (!create)
		return NULL;
	struct lv_snapcache *c = hvt_calloc(1, sizeof *c);
	hvt_strlcpy(c->uuid, uuid, sizeof c->uuid);
	c->next = in->snaps;
	in->snaps = c;
	return c;
}

static json_object *cached_detail(const struct lv_snapcache *c, const char *name)
{
	json_object *v;

	for (size_t i = 0; c->list && i < json_object_array_length(c->list); i++) {
		json_object *s = json_object_array_get_idx(c->list, i);
		if (json_object_object_get_ex(s, "name", &v) && strcmp(json_object_get_string(v), name) == 0)
			return s;
	}
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *nx, *ny;

	json_object_object_get_ex(x, "name", &nx);
	json_object_object_get_ex(y, "name", &ny);
	return strcmp(json_object_get_string(nx), json_object_get_string(ny));
}

/* The domain's snapshots now; *changed when they differ from the cache
 * (the cache then holds them).  NULL when libvirt would not list them. */
static json_object *snap_list(struct lv_input *in, virDomainPtr dom, const char *uuid, bool *changed)
{
	virDomainSnapshotPtr *snaps = NULL;
	int n = virDomainListAllSnapshots(dom, &snaps, 0);
	struct lv_snapcache *c = cache_get(in, uuid, true);
	json_object *list = json_object_new_array();

	*changed = false;
	if (n < 0) {
		json_object_put(list);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const char *name = virDomainSnapshotGetName(snaps[i]);
		json_object *d = name ? cached_detail(c, name) : NULL;
		if (d) {
			json_object_array_add(list, json_object_get(d));
		} else if (name) {
			char *xml = virDomainSnapshotGetXMLDesc(snaps[i], 0);
			char err[128];
			d = xml ? lv_snapxml_parse(xml, strlen(xml), err, sizeof err) : NULL;
			if (!d) {
				/* listed but unreadable: still a snapshot, by name */
				d = json_object_new_object();
				json_object_object_add(d, "name", json_object_new_string(name));
			}
			free(xml);
			json_object_array_add(list, d);
		}
		virDomainSnapshotFree(snaps[i]);
	}
	free(snaps);
	json_object_array_sort(list, by_name);
	if (!c->list || !json_object_equal(c->list, list)) {
		*changed = c->list != NULL || json_object_array_length(list) > 0;
		json_object_put(c->list);
		c->list = json_object_get(list);
	}
	return list;
}

static void snap_check(struct lv_input *in, virDomainPtr dom, const char *uuid)
{
	bool changed;
	json_object *list = snap_list(in, dom, uuid, &changed);

	if (list && changed) {
		struct lv_obs *o = lv_obs_new(LV_OBS_SNAPSHOTS, hvt_now_us());
		lv_obs_domain(o, dom);
		o->snaps = list;
		lv_conn_push(in, o);
		return;
	}
	json_object_put(list);
}

static void on_snap_soon(int timer, void *opaque)
{
	struct lv_input *in = opaque;

	virEventRemoveTimeout(timer);
	in->snap_soon_timer = -1;
	for (struct lv_snapcache *c = in->snaps; c && in->state == LVC_LIVE; c = c->next) {
		if (!c->soon)
			continue;
		c->soon = false;
		virDomainPtr dom = virDomainLookupByUUIDString(in->conn, c->uuid);
		if (!dom)
			continue;       /* gone (a transient domain that stopped) */
		snap_check(in, dom, c->uuid);
		virDomainFree(dom);
	}
}

void lv_snaps_soon(struct lv_input *in, const char *uuid)
{
	if (in->state != LVC_LIVE || !uuid[0])
		return;
	cache_get(in, uuid, true)->soon = true;
	if (in->snap_soon_timer < 0)
		in->snap_soon_timer = virEventAddTimeout(SNAP_SOON_MS, on_snap_soon, in, NULL);
}

static void cache_drop_unlisted(struct lv_input *in)
{
	for (struct lv_snapcache **pp = &in->snaps; *pp;) {
		struct lv_snapcache *c = *pp;
		if (c->listed) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		json_object_put(c->list);
		free(c);
	}
}

static bool watched(struct lv_input *in, const char *uuid)
{
	for (struct lv_watch *w = in->watch; w; w = w->next)
		if (strcmp(w->uuid, uuid) == 0)
			return true;
	return false;
}

/* libvirt sends nothing when a migration starts; its first iteration may
 * not come before it fails (measured: none in 1.4 s of a migration limited
 * to 1 MiB/s).  So the poll looks at every active domain's job too. */
static void job_sweep(struct lv_input *in, virDomainPtr dom, const char *uuid)
{
	if (virDomainIsActive(dom) != 1 || watched(in, uuid))
		return;
	struct lv_obs *o = lv_obs_new(LV_OBS_JOB_SEEN, hvt_now_us());
	lv_obs_domain(o, dom);
	lv_obs_job(o, dom);
	if (o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT &&
	    (o->job_type == VIR_DOMAIN_JOB_BOUNDED || o->job_type == VIR_DOMAIN_JOB_UNBOUNDED)) {
		lv_watch_add(in, uuid);
		lv_conn_push(in, o);
		return;
	}
	lv_obs_free(o);
}

static void on_snap_poll(int timer, void *opaque)
{
	struct lv_input *in = opaque;
	virDomainPtr *doms = NULL;
	int n;

	(void)timer;
	if (in->state != LVC_LIVE || (n = virConnectListAllDomains(in->conn, &doms, 0)) < 0)
		return;
	for (struct lv_snapcache *c = in->snaps; c; c = c->next)
		c->listed = false;
	for (int i = 0; i < n; i++) {
		char uuid[LV_UUID_LEN];
		if (virDomainGetUUIDString(doms[i], uuid) == 0) {
			snap_check(in, doms[i], uuid);
			cache_get(in, uuid, true)->listed = true;
			job_sweep(in, doms[i], uuid);
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	cache_drop_unlisted(in);
}

/* ---- job watch ---------------------------------------------------------------------- */

static void watch_drop(struct lv_input *in, struct lv_watch **pp)
{
	struct lv_watch *w = *pp;

	*pp = w->next;
	free(w->before);
	free(w);
}

/* The last completed job's statistics (type in "job_type"), or NULL.
 * KEEP_COMPLETED: reading them must not take them from `virsh domjobinfo
 * --completed`. */
static json_object *completed_stats(virDomainPtr dom)
{
	int type = 0, n = 0;
	virTypedParameterPtr p = NULL;
	json_object *o = NULL;

	if (virDomainGetJobStats(dom, &type, &p, &n, VIR_DOMAIN_JOB_STATS_COMPLETED |
				 VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED) == 0 && type != VIR_DOMAIN_JOB_NONE) {
		o = lv_params_json(p, n);
		json_object_object_add(o, "job_type", json_object_new_int(type));
	}
	virTypedParamsFree(p, n);
	return o;
}

/* The watched job ended.  libvirt 9.0 keeps statistics of a completed
 * migration only: a failed or cancelled one leaves the previous job's in
 * place, which is why they were noted when the watch began. */
static void push_job_ended(struct lv_input *in, virDomainPtr dom, const struct lv_watch *w)
{
	struct lv_obs *o = lv_obs_new(LV_OBS_JOB_ENDED, hvt_now_us());
	json_object *c = completed_stats(dom), *t, *op;
	const char *now = c ? json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN) : NULL;

	lv_obs_domain(o, dom);
	if (c && (!w->before || strcmp(now, w->before) != 0) &&
	    json_object_object_get_ex(c, "job_type", &t) &&
	    json_object_object_get_ex(c, VIR_DOMAIN_JOB_OPERATION, &op) &&
	    json_object_get_int(op) == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT) {
		o->n = json_object_get_int(t);
		o->params = c;
	} else {
		json_object_put(c);
		o->n = VIR_DOMAIN_JOB_FAILED;
		o->s1 = hvt_strdup("libvirt keeps no statistics of a migration that did not complete: "
				   "it failed or was cancelled");
	}
	lv_conn_push(in, o);
}

static void on_watch(int timer, void *opaque)
{
	struct lv_input *in = opaque;

	for (struct lv_watch **pp = &in->watch; *pp && in->state == LVC_LIVE;) {
		virDomainPtr dom = virDomainLookupByUUIDString(in->conn, (*pp)->uuid);
		if (!dom) {
			watch_drop(in, pp);     /* gone: it left (its stop event says so) */
			continue;
		}
		struct lv_obs probe = { .job_type = -1, .job_op = -1 };
		lv_obs_job(&probe, dom);
		if (probe.job_type == VIR_DOMAIN_JOB_NONE) {
			push_job_ended(in, dom, *pp);
			watch_drop(in, pp);
		} else {
			pp = &(*pp)->next;
		}
		virDomainFree(dom);
	}
	if (!in->watch) {
		virEventRemoveTimeout(timer);
		in->watch_timer = -1;
	}
}

void lv_watch_add(struct lv_input *in, const char *uuid)
{
	for (struct lv_watch *w = in->watch; w; w = w->next)
		if (strcmp(w->uuid, uuid) == 0)
			return;
	struct lv_watch *w = hvt_calloc(1, sizeof *w);
	hvt_strlcpy(w->uuid, uuid, sizeof w->uuid);
	virDomainPtr dom = in->conn ? virDomainLookupByUUIDString(in->conn, uuid) : NULL;
	if (dom) {
		json_object *c = completed_stats(dom);
		if (c)
			w->before = hvt_strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));
		json_object_put(c);
		virDomainFree(dom);
	}
	w->next = in->watch;
	in->watch = w;
	if (in->watch_timer < 0)
		in->watch_timer = virEventAddTimeout((int)(in->job_poll_us / 1000), on_watch, in, NULL);
}

void lv_watch_remove(struct lv_input *in, const char *uuid)
{
	for (struct lv_watch **pp = &in->watch; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->uuid, uuid) == 0) {
			watch_drop(in, pp);
			return;
		}
}

/* ---- the resync -------------------------------------------------------------------- */

static struct lv_obs *domain_record(struct lv_input *in, virDomainPtr dom)
{
	struct lv_obs *o = lv_obs_new(LV_OBS_DOMAIN, hvt_now_us());
	int state = 0, reason = 0, p;
	bool changed;

	lv_obs_domain(o, dom);
	if (virDomainGetState(dom, &state, &reason, 0) == 0) {
		o->state = state;
		o->reason = reason;
	}
	p = virDomainIsPersistent(dom);
	o->persistent = p == 1;
	if (state != VIR_DOMAIN_SHUTOFF) {
		lv_obs_job(o, dom);
		if (o->job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT &&
		    (o->job_type == VIR_DOMAIN_JOB_BOUNDED || o->job_type == VIR_DOMAIN_JOB_UNBOUNDED))
			lv_watch_add(in, o->uuid);
	}
	if (o->job_type <= VIR_DOMAIN_JOB_NONE)
		o->completed = completed_stats(dom);
	o->qmp_monitor = lv_coexist_qmp_monitor(in, dom, &o->qmp_checked);
	o->snaps = snap_list(in, dom, o->uuid, &changed);
	return o;
}

void lv_resync(struct lv_input *in)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(in->conn, &doms, 0);

	if (n < 0) {
		hvt_warn("in_libvirt: %s: cannot list the domains: %s", in->uri, lv_last_error());
		lv_conn_lost(in, "cannot list the domains");
		return;
	}
	for (struct lv_snapcache *c = in->snaps; c; c = c->next)
		c->listed = false;
	for (int i = 0; i < n; i++) {
		struct lv_obs *o = domain_record(in, doms[i]);
		cache_get(in, o->uuid, true)->listed = true;
		lv_conn_push(in, o);
		virDomainFree(doms[i]);
	}
	free(doms);
	cache_drop_unlisted(in);
	lv_conn_push(in, lv_obs_new(LV_OBS_RESYNC_END, hvt_now_us()));
	hvt_debug("in_libvirt: %s: resync listed %d domains", in->uri, n);
}

void lv_resync_timers_start(struct lv_input *in)
{
	in->snap_timer = in->poll_us > 0 ?
		virEventAddTimeout((int)(in->poll_us / 1000), on_snap_poll, in, NULL) : -1;
}

void lv_resync_stop(struct lv_input *in)
{
	if (in->snap_timer >= 0)
		virEventRemoveTimeout(in->snap_timer);
	if (in->snap_soon_timer >= 0)
		virEventRemoveTimeout(in->snap_soon_timer);
	if (in->watch_timer >= 0)
		virEventRemoveTimeout(in->watch_timer);
	in->snap_timer = in->snap_soon_timer = in->watch_timer = -1;
	while (in->watch)
		watch_drop(in, &in->watch);
	/* the cache stays: the next resync sends the whole lists anyway, and a
	 * snapshot's XML need not be read twice */
}

void lv_resync_free(void *arg)
{
	struct lv_input *in = arg;

	lv_resync_stop(in);
	while (in->snaps) {
		struct lv_snapcache *c = in->snaps;
		in->snaps = c->next;
		json_object_put(c->list);
		free(c);
	}
}
