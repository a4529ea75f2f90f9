/* lv_view.h - what the trail says about one domain (see lv_map.h).
 *
 * The view moves only by lv_view_apply(), from an event as it goes out (or
 * as it is found in the spool after a crash), reading the event's own type
 * and data: the keys that carry the domain's state ("state", "domain_id",
 * "snapshot", "role") are written by the mapping for exactly that.  So the
 * view is a function of the trail, and the one invariant of exactly-once
 * capture - report a change unless the trail holds it - reduces to
 * comparing libvirt with the view. */
#ifndef HVT_LV_VIEW_H
#define HVT_LV_VIEW_H

#include <stdbool.h>
#include <json-c/json.h>

#include "event.h"
#include "lv_obs.h"

enum lv_mig { LV_MIG_NONE = 0, LV_MIG_OUT, LV_MIG_IN };

struct lv_view {
	char uuid[LV_UUID_LEN];
	char *name;
	int state;                    /* virDomainState; 0 (nostate) = never reported */
	int id;                       /* libvirt's domain id while active, else -1 */
	bool persistent;              /* defined (vm.defined / vm.undefined) */
	enum lv_mig mig;              /* a migration start went out, its end not yet */
	long long mig_ts;             /* ... when it started */
	long long state_ts;           /* when the state last changed (paused_ms) */
	char **snaps;                 /* snapshot names the trail holds as existing */
	int nsnaps;
};

void lv_view_init(struct lv_view *v, const char *uuid);
void lv_view_clear(struct lv_view *v);
/* Move the view as ev says.  Returns true when ev ended the domain's
 * existence for libvirt (a transient domain stopped, a shut-off one
 * undefined): the caller forgets the record. */
bool lv_view_apply(struct lv_view *v, const struct hvt_event *ev);
bool lv_view_active(const struct lv_view *v);     /* running, paused, pmsuspended... */
bool lv_view_has_snap(const struct lv_view *v, const char *name);

json_object *lv_view_save(const struct lv_view *v);
bool lv_view_load(struct lv_view *v, json_object *o);

#endif
