/* lv_map.h - libvirt's observations in, hvtrail events out.
 *
 * Pure logic: no libvirt calls, no sockets, no event loop.  The mapping
 * keeps one record per domain (by UUID) with two halves:
 *   the view     what the trail says about the domain: its state, libvirt id,
 *                whether it is defined, a migration under way, its
 *                snapshots.  It changes ONLY through the events that go
 *                out (lv_view_apply), so it is a function of the trail: it
 *                is what a restart persists, and what a resync compares
 *                libvirt's listing with to report what changed meanwhile
 *                ("late"), never what the trail already holds.
 *   the work     what folding needs for a while: the job under way, a pause
 *                that belongs to it, the figures a save left for its stop,
 *                a migration's end held for its figures.
 * Events keep each domain's order.  One event waits: the source's
 * migration.completed, which libvirt reports as "stopped (migrated)"
 * followed by job-completed with the figures; it is held until those come,
 * the domain's next observation arrives, or hold_us passes (lv_map_tick).
 * Types and data keys: docs/events.md, "Events from libvirt". */
#ifndef HVT_LV_MAP_H
#define HVT_LV_MAP_H

#include <stdbool.h>
#include <json-c/json.h>

#include "event.h"
#include "lv_obs.h"

struct lv_map_opts {
	const char *uri;              /* the connection's URI: data.uri of every event */
	long long hold_us;            /* a migration's end waits this long for its figures */
	unsigned io_error_burst;      /* block.io_error per domain per 10 s; the rest counted */
	bool defer_to_qmp;            /* domains with an in_qmp monitor: definitions only */
};
void lv_map_opts_default(struct lv_map_opts *o);

struct lv_map_ops {
	/* A finished event; ownership passes. */
	void (*emit)(void *arg, struct hvt_event *ev);
};

struct lv_map_stats {
	unsigned long long observations, events, late, suppressed_qmp, dropped_io_errors,
		held_released_without_figures, domains;
};

struct lv_map;

struct lv_map *lv_map_new(const struct lv_map_opts *o, const struct lv_map_ops *ops, void *arg);
void lv_map_free(struct lv_map *m);

void lv_map_obs(struct lv_map *m, const struct lv_obs *o);
/* Release held events whose time is up (now: realtime). */
void lv_map_tick(struct lv_map *m, long long now_us);
/* The earliest hold deadline (realtime), 0 = nothing held. */
long long lv_map_next_deadline(const struct lv_map *m);
unsigned lv_map_held(const struct lv_map *m);
void lv_map_get_stats(const struct lv_map *m, struct lv_map_stats *s);

/* ---- the view across restarts -----------------------------------------------
 * save(): the view as JSON (what the trail holds); dirty(): it changed since
 * the last save.  load(): take a saved view back (false: not one of ours).
 * replay(): an event of this input found in the spool after the point the
 * saved view was taken at (the forwarder was killed between spooling it and
 * saving): the view moves as when it was sent, so it is not reported again. */
json_object *lv_map_save(struct lv_map *m);
bool lv_map_dirty(const struct lv_map *m);
void lv_map_set_dirty(struct lv_map *m);        /* a save that failed */
bool lv_map_load(struct lv_map *m, json_object *saved, char *err, size_t errsize);
void lv_map_replay(struct lv_map *m, const struct hvt_event *ev);

#endif
