/* lv_view.c - see lv_view.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "lv_view.h"
#include "util.h"

#define MAX_SNAPS 4096                /* per domain; more are not followed */

void lv_view_init(struct lv_view *v, const char *uuid)
{
	memset(v, 0, sizeof *v);
	hvt_strlcpy(v->uuid, uuid, sizeof v->uuid);
	v->id = -1;
}

void lv_view_clear(struct lv_view *v)
{
	free(v->name);
	for (int i = 0; i < v->nsnaps; i++)
		free(v->snaps[i]);
	free(v->snaps);
	v->name = NULL;
	v->snaps = NULL;
	v->nsnaps = 0;
}

bool lv_view_active(const struct lv_view *v)
{
	return v->state != VIR_DOMAIN_NOSTATE && v->state != VIR_DOMAIN_SHUTOFF;
}

bool lv_view_has_snap(const struct lv_view *v, const char *name)
{
	for (int i = 0; i < v->nsnaps; i++)
		if (strcmp(v->snaps[i], name) == 0)
			return true;
	return false;
}

static void snap_add(struct lv_view *v, const char *name)
{
	if (lv_view_has_snap(v, name) || v->nsnaps >= MAX_SNAPS)
		return;
	v->snaps = hvt_realloc(v->snaps, sizeof(char *) * (size_t)(v->nsnaps + 1));
	v->snaps[v->nsnaps++] = hvt_strdup(name);
}

static void snap_del(struct lv_view *v, const char *name)
{
	for (int i = 0; i < v->nsnaps; i++)
		if (strcmp(v->snaps[i], name) == 0) {
			free(v->snaps[i]);
			v->snaps[i] = v->snaps[--v->nsnaps];
			return;
		}
}

static const char *dstr(const struct hvt_event *ev, const char *k)
{
	json_object *x;

	return ev->data && json_object_object_get_ex(ev->data, k, &x) &&
			       json_object_is_type(x, json_type_string)
		       ? json_object_get_string(x) : NULL;
}

static bool dint(const struct hvt_event *ev, const char *k, long long *out)
{
	json_object *x;

	if (!ev->data || !json_object_object_get_ex(ev->data, k, &x) ||
	    !json_object_is_type(x, json_type_int))
		return false;
	*out = json_object_get_int64(x);
	return true;
}

static bool type_is(const struct hvt_event *ev, const char *t)
{
	return strcmp(ev->type, t) == 0;
}

bool lv_view_apply(struct lv_view *v, const struct hvt_event *ev)
{
	const char *s;
	long long n;

	if (!ev->type)
		return false;
	if (ev->vm_name && (!v->name || strcmp(v->name, ev->vm_name) != 0)) {
		free(v->name);
		v->name = hvt_strdup(ev->vm_name);
	}
	if ((s = dstr(ev, "state")) && lv_state_parse(s) >= 0) {
		int st = lv_state_parse(s);
		if (st != v->state)
			v->state_ts = ev->ts_us;
		v->state = st;
		if (st == VIR_DOMAIN_SHUTOFF)
			v->id = -1;
	}
	if (dint(ev, "domain_id", &n))
		v->id = v->state == VIR_DOMAIN_SHUTOFF ? -1 : (int)n;

	if (type_is(ev, "vm.defined")) {
		v->persistent = true;
	} else if (type_is(ev, "vm.undefined")) {
		/* libvirt undefines a domain with snapshots only with their
		 * metadata (--snapshots-metadata): they are no longer listed */
		v->persistent = false;
		for (int i = 0; i < v->nsnaps; i++)
			free(v->snaps[i]);
		v->nsnaps = 0;
	} else if (type_is(ev, "migration.started")) {
		v->mig = LV_MIG_OUT;
		v->mig_ts = ev->ts_us;
	} else if (type_is(ev, "migration.incoming.started")) {
		v->mig = LV_MIG_IN;
		v->mig_ts = ev->ts_us;
	} else if (hvt_str_has_prefix(ev->type, "migration.") && !hvt_str_has_suffix(ev->type, ".started")) {
		v->mig = LV_MIG_NONE;
	} else if (type_is(ev, "colo.entered")) {
		v->mig = LV_MIG_NONE;
	} else if (type_is(ev, "snapshot.created") && (s = dstr(ev, "snapshot"))) {
		snap_add(v, s);
	} else if (type_is(ev, "snapshot.deleted") && (s = dstr(ev, "snapshot"))) {
		snap_del(v, s);
	}
	/* a transient domain exists only while it runs; a shut-off one only
	 * while it is defined */
	return !v->persistent && v->state == VIR_DOMAIN_SHUTOFF;
}

json_object *lv_view_save(const struct lv_view *v)
{
	json_object *o = json_object_new_object(), *s = json_object_new_array();

	if (v->name)
		json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "state", json_object_new_string(lv_state_name(v->state)));
	json_object_object_add(o, "id", json_object_new_int(v->id));
	json_object_object_add(o, "persistent", json_object_new_boolean(v->persistent));
	json_object_object_add(o, "mig", json_object_new_int(v->mig));
	json_object_object_add(o, "mig_ts", json_object_new_int64(v->mig_ts));
	json_object_object_add(o, "state_ts", json_object_new_int64(v->state_ts));
	for (int i = 0; i < v->nsnaps; i++)
		json_object_array_add(s, json_object_new_string(v->snaps[i]));
	json_object_object_add(o, "snapshots", s);
	return o;
}

bool lv_view_load(struct lv_view *v, json_object *o)
{
	json_object *x;

	if (!json_object_is_type(o, json_type_object))
		return false;
	if (json_object_object_get_ex(o, "name", &x) && json_object_is_type(x, json_type_string))
		v->name = hvt_strdup(json_object_get_string(x));
	if (!json_object_object_get_ex(o, "state", &x) ||
	    (v->state = lv_state_parse(json_object_get_string(x))) < 0)
		return false;
	if (json_object_object_get_ex(o, "id", &x))
		v->id = json_object_get_int(x);
	if (json_object_object_get_ex(o, "persistent", &x))
		v->persistent = json_object_get_boolean(x);
	if (json_object_object_get_ex(o, "mig", &x)) {
		int m = json_object_get_int(x);
		v->mig = m == LV_MIG_OUT || m == LV_MIG_IN ? (enum lv_mig)m : LV_MIG_NONE;
	}
	if (json_object_object_get_ex(o, "mig_ts", &x))
		v->mig_ts = json_object_get_int64(x);
	if (json_object_object_get_ex(o, "state_ts", &x))
		v->state_ts = json_object_get_int64(x);
	if (json_object_object_get_ex(o, "snapshots", &x) && json_object_is_type(x, json_type_array))
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			json_object *n = json_object_array_get_idx(x, i);
			if (json_object_is_type(n, json_type_string))
				snap_add(v, json_object_get_string(n));
		}
	return true;
}
