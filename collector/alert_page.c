/* alert_page.c - see alert_page.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alert_page.h"
#include "util.h"

const char *const page_transition_names[] = { "", "opened", "updated", "resolved", "acknowledged" };

/* ---- JSON helpers ----------------------------------------------------------- */

const char *page_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long page_int(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}

static bool page_bool(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v && json_object_get_boolean(v);
}

static void set_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static void set_int(json_object *o, const char *key, long long v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void set_bool(json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

static json_object *obj(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

json_object *page_members(json_object *page)
{
	json_object *m = obj(page, "members");

	if (!m || !json_object_is_type(m, json_type_array)) {
		m = json_object_new_array();
		json_object_object_add(page, "members", m);
	}
	return m;
}

char *page_member_key(const char *host, const char *vm_uuid, const char *vm_name)
{
	const char *vm = vm_uuid && *vm_uuid ? vm_uuid : vm_name && *vm_name ? vm_name : "";

	return hvt_asprintf("%s\x1f%s", host ? host : "", vm);
}

/* ---- building ----------------------------------------------------------------- */

json_object *page_new(const char *key, long long inst, const char *rule, json_object *labels, long long now_us,
		      long long group_wait_us, bool one_shot)
{
	json_object *p = json_object_new_object(), *n = json_object_new_object();

	set_str(p, "key", key);
	set_int(p, "inst", inst);
	set_str(p, "rule", rule);
	set_str(p, "state", "pending");
	json_object_object_add(p, "labels", labels ? labels : json_object_new_object());
	set_int(p, "opened", now_us);
	set_int(p, "notify_at", now_us + group_wait_us);
	set_bool(p, "one_shot", one_shot);
	json_object_object_add(p, "members", json_object_new_array());
	set_str(n, "status", "none");
	json_object_object_add(n, "set", json_object_new_array());
	set_int(n, "at", 0);
	set_int(n, "n", 0);
	set_bool(n, "muted", false);
	json_object_object_add(p, "notified", n);
	json_object_object_add(p, "acked", NULL);
	return p;
}

static json_object *find_member(json_object *page, const char *m)
{
	json_object *ms = page_members(page);

	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *x = json_object_array_get_idx(ms, i);
		const char *k = page_str(x, "m");
		if (k && strcmp(k, m) == 0)
			return x;
	}
	return NULL;
}

void page_join(json_object *page, json_object *member, long long now_us)
{
	const char *m = page_str(member, "m");
	json_object *x = m ? find_member(page, m) : NULL;

	if (!x) {
		set_int(member, "first", now_us);
		json_object_array_add(page_members(page), member);
		x = member;
	} else {
		/* the newest decision speaks for the member */
		json_object_object_foreach(member, k, v)
			if (strcmp(k, "first") != 0)
				json_object_object_add(x, k, json_object_get(v));
		json_object_put(member);
	}
	set_str(x, "state", "firing");
	set_int(x, "last", now_us);
	json_object_object_del(x, "resolved");
	json_object_object_del(x, "resolved_by");
}

bool page_resolve(json_object *page, const char *vm_uuid, const char *vm_name, const char *host,
		  const char *by_event, long long now_us)
{
	json_object *ms = page_members(page);
	bool changed = false;

	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *x = json_object_array_get_idx(ms, i);
		const char *state = page_str(x, "state"), *mu = page_str(x, "vm_uuid"), *mn = page_str(x, "vm");
		const char *mh = page_str(x, "host");
		bool same;
		if (!state || strcmp(state, "firing") != 0)
			continue;
		if ((mu && *mu) || (mn && *mn))
			/* a VM's member: the same VM, on whatever host (it may have moved) */
			same = (mu && *mu && vm_uuid && strcmp(mu, vm_uuid) == 0) ||
			       (!(mu && *mu && vm_uuid && *vm_uuid) && mn && vm_name && strcmp(mn, vm_name) == 0);
		else
			same = mh && host && strcmp(mh, host) == 0;
		if (!same)
			continue;
		set_str(x, "state", "resolved");
		set_int(x, "resolved", now_us);
		set_str(x, "resolved_by", by_event);
		changed = true;
	}
	return changed;
}

bool page_ack(json_object *page, json_object *by, const char *comment, long long now_us)
{
	json_object *a = obj(page, "acked");

	if (a) {
		json_object_put(by);
		return false;
	}
	a = json_object_new_object();
	set_int(a, "at", now_us);
	json_object_object_add(a, "by", by);
	set_str(a, "comment", comment && *comment ? comment : NULL);
	set_bool(a, "notified", false);
	json_object_object_add(page, "acked", a);
	return true;
}

/* ---- deciding ------------------------------------------------------------------- */

int page_active(json_object *page, page_mute_fn muted, void *arg, json_object **active)
{
	json_object *ms = page_members(page);
	int firing = 0;
	char why[200];

	*active = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *x = json_object_array_get_idx(ms, i);
		const char *state = page_str(x, "state");
		if (!state || strcmp(state, "firing") != 0)
			continue;
		firing++;
		why[0] = '\0';
		if (muted && muted(arg, page, x, why, sizeof why))
			continue;
		json_object_array_add(*active, json_object_new_string(page_str(x, "m") ? page_str(x, "m") : ""));
	}
	return firing;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Do two arrays of member keys hold the same keys? */
static bool same_set(json_object *a, json_object *b)
{
	size_t n = a ? json_object_array_length(a) : 0, m = b ? json_object_array_length(b) : 0;
	bool same = n == m;

	if (!same || !n)
		return same;
	const char **x = hvt_calloc(n, sizeof *x), **y = hvt_calloc(n, sizeof *y);
	for (size_t i = 0; i < n; i++) {
		x[i] = json_object_get_string(json_object_array_get_idx(a, i));
		y[i] = json_object_get_string(json_object_array_get_idx(b, i));
	}
	qsort(x, n, sizeof *x, cmp_str);
	qsort(y, n, sizeof *y, cmp_str);
	for (size_t i = 0; i < n && same; i++)
		same = strcmp(x[i], y[i]) == 0;
	free(x);
	free(y);
	return same;
}

static bool state_is(json_object *page, const char *s)
{
	const char *st = page_str(page, "state");

	return st && strcmp(st, s) == 0;
}

void page_plan(json_object *page, long long now_us, long long group_interval_us, page_mute_fn muted, void *arg,
	       struct page_plan *plan)
{
	json_object *n = obj(page, "notified"), *ack = obj(page, "acked"), *active = NULL;
	const char *ns = page_str(n, "status");
	bool told_firing = ns && strcmp(ns, "firing") == 0;

	memset(plan, 0, sizeof *plan);
	/* an acknowledgement is told to whoever was paged, also about a
	 * one-shot page that is done (its incident stays open elsewhere) */
	if (ack && !page_bool(ack, "notified") && told_firing) {
		plan->notify = PT_ACKNOWLEDGED;
		return;
	}
	if (state_is(page, "resolved") || state_is(page, "closed"))
		return;
	if (state_is(page, "pending") && now_us < page_int(page, "notify_at")) {
		plan->wait_until_us = page_int(page, "notify_at");
		return;
	}
	int firing = page_active(page, muted, arg, &active);
	if (!firing) {
		plan->notify = told_firing ? PT_RESOLVED : PT_NONE;
		plan->close = true;
	} else if (json_object_array_length(active)) {
		long long next = page_int(n, "at") + group_interval_us;
		if (!told_firing)
			plan->notify = PT_OPENED;
		else if (!same_set(active, obj(n, "set")) && now_us >= next)
			plan->notify = PT_UPDATED;
		else if (!same_set(active, obj(n, "set")))
			plan->wait_until_us = next;
	} else if (!page_bool(n, "muted")) {
		plan->muted_now = true;
	}
	if (page_bool(page, "one_shot") && (plan->notify == PT_OPENED || plan->muted_now || told_firing))
		plan->close = true;
	json_object_put(active);
}

void page_apply(json_object *page, const struct page_plan *plan, long long now_us, page_mute_fn muted, void *arg)
{
	json_object *n = obj(page, "notified"), *active = NULL;

	if (!n) {
		n = json_object_new_object();
		json_object_object_add(page, "notified", n);
	}
	switch (plan->notify) {
	case PT_OPENED:
	case PT_UPDATED:
		page_active(page, muted, arg, &active);
		json_object_object_add(n, "set", active);
		set_str(n, "status", "firing");
		set_int(n, "at", now_us);
		set_bool(n, "muted", false);
		break;
	case PT_RESOLVED:
		set_str(n, "status", "resolved");
		set_int(n, "at", now_us);
		break;
	case PT_ACKNOWLEDGED:
		set_bool(obj(page, "acked"), "notified", true);
		break;
	case PT_NONE:
		break;
	}
	if (plan->notify != PT_NONE)
		set_int(n, "n", page_int(n, "n") + 1);
	if (plan->muted_now)
		set_bool(n, "muted", true);
	if (plan->notify != PT_ACKNOWLEDGED && state_is(page, "pending"))
		set_str(page, "state", "firing");
	if (plan->close) {
		json_object *tmp = NULL;
		bool any = page_active(page, NULL, NULL, &tmp) > 0;
		json_object_put(tmp);
		set_str(page, "state", any ? "closed" : "resolved");
		set_int(page, "closed_at", now_us);
	}
}
