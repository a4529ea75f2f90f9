/* lv_map_snap.c - snapshots, from the domain's snapshot list.
 *
 * libvirt has no snapshot event: an internal snapshot shows only as a pause
 * and two migration iterations, a disk-only external one as nothing at all.
 * The connection lists each domain's snapshots (periodically, and soon
 * after any event of the domain) and sends the list when it changed; the
 * names the view does not hold are new, the ones it holds that are not
 * listed were deleted.  A snapshot's own creationTime is the event's time. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lv_map_priv.h"

static const char *vm_name(const struct lv_dom *d)
{
	return d->v.name ? d->v.name : d->v.uuid;
}

static const char *sstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static long long screated(json_object *o)
{
	json_object *v;

	return json_object_object_get_ex(o, "created", &v) ? json_object_get_int64(v) : -1;
}

static int by_created(const void *a, const void *b)
{
	long long x = screated(*(json_object *const *)a), y = screated(*(json_object *const *)b);

	return x < y ? -1 : x > y;
}

static bool listed(json_object *snaps, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(snaps); i++) {
		const char *n = sstr(json_object_array_get_idx(snaps, i), "name");
		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

static void created(struct lv_map *m, struct lv_dom *d, json_object *s, long long ts_us, bool late)
{
	const char *name = sstr(s, "name"), *loc = sstr(s, "location");
	long long c = screated(s);
	json_object *v;
	struct hvt_event *ev = dom_event(m, d, "snapshot.created", SEV_INFO, c > 0 ? c * 1000000 : ts_us);

	ev_str(ev, "snapshot", name);
	ev_str(ev, "location", loc);
	ev_str(ev, "memory", sstr(s, "memory"));
	ev_str(ev, "vm_state", sstr(s, "state"));
	ev_str(ev, "parent", sstr(s, "parent"));
	ev_str(ev, "description", sstr(s, "description"));
	if (json_object_object_get_ex(s, "disks", &v))
		hvt_event_data_add(ev, "disks", json_object_get(v));
	ev_str(ev, "detected_by", "snapshot-list");
	if (d->job_paused_us > 0 && loc && strcmp(loc, "internal") == 0) {
		/* the pause libvirt took for it (folded, not reported) */
		ev_int(ev, "vm_paused_ms", d->job_paused_us / 1000);
		d->job_paused_us = 0;
	}
	if (late)
		ev_late(ev);
	hvt_event_set_msg(ev, "VM %s: %s snapshot %s created", vm_name(d), loc ? loc : "", name);
	dom_send(m, d, ev);
}

void map_snapshots(struct lv_map *m, struct lv_dom *d, json_object *snaps, long long ts_us, bool late)
{
	char uuid[LV_UUID_LEN];
	size_t n;

	if (!snaps || !json_object_is_type(snaps, json_type_array))
		return;
	hvt_strlcpy(uuid, d->v.uuid, sizeof uuid);
	n = json_object_array_length(snaps);
	json_object **fresh = hvt_calloc(n + 1, sizeof *fresh);
	size_t nf = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(snaps, i);
		const char *name = sstr(s, "name");
		if (name && !lv_view_has_snap(&d->v, name))
			fresh[nf++] = s;
	}
	qsort(fresh, nf, sizeof *fresh, by_created);
	/* deletions first: a name deleted and made again is two facts in order */
	for (int i = 0; d && i < d->v.nsnaps;) {
		if (listed(snaps, d->v.snaps[i])) {
			i++;
			continue;
		}
		struct hvt_event *ev = dom_event(m, d, "snapshot.deleted", SEV_INFO, ts_us);
		ev_str(ev, "snapshot", d->v.snaps[i]);
		ev_str(ev, "detected_by", "snapshot-list");
		if (late)
			ev_late(ev);
		hvt_event_set_msg(ev, "VM %s: snapshot %s deleted", vm_name(d), d->v.snaps[i]);
		dom_send(m, d, ev);     /* removes it from the view: index i is the next one */
		d = dom_find(m, uuid);
	}
	for (size_t i = 0; d && i < nf; i++) {
		created(m, d, fresh[i], ts_us, late);
		d = dom_find(m, uuid);
	}
	free(fresh);
}
