/* in_libvirt.c - input plugin: every VM of a libvirt host, from libvirt's
 * domain events, with no per-VM setup and no VM restart.
 *
 * One connection per instance (default qemu:///system, read-only) on the
 * process's libvirt thread (lv_loop.c, lv_conn.c); its observations cross
 * to the forwarder's thread through a bounded queue (lv_queue.c) and are
 * mapped into events there (lv_map.c, pure).  This file holds the plugin
 * struct, the configuration, the instance's lifecycle and the forwarder's
 * side of the queue.  Events: docs/events.md, "Events from libvirt";
 * set-up: docs/deploy.md. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "in_libvirt.h"
#include "instance.h"
#include "lv_loop.h"

#define DRAIN_BATCH 512               /* observations per loop iteration */

static const struct hvt_conf_key keys[] = {
	{ "uri", HVT_CONF_STRING, "qemu:///system", "libvirt connection URI (any libvirt URI, "
	  "qemu+tls://host/system included)", NULL, 0, 0, 0 },
	{ "readonly", HVT_CONF_BOOL, "true", "connect read-only (libvirt's -sock-ro socket): "
	  "enough for every libvirt event; false only for qemu_events", NULL, 0, 0, 0 },
	{ "qemu_events", HVT_CONF_ENUM, "auto", "QEMU's own events through libvirt's passthrough "
	  "(COLO): auto = when the connection is read-write and libvirt allows it, off = never",
	  "auto|off", 0, 0, 0 },
	{ "keepalive_interval", HVT_CONF_DURATION, "5s", "libvirt keepalive probe interval (whole "
	  "seconds)", NULL, 1000, 600000, 0 },
	{ "keepalive_count", HVT_CONF_INT, "3", "unanswered keepalive probes before the connection "
	  "counts as lost", NULL, 1, 100, 0 },
	{ "reconnect_min", HVT_CONF_DURATION, "500ms", "first delay before reconnecting to libvirtd",
	  NULL, 10, 3600000, 0 },
	{ "reconnect_max", HVT_CONF_DURATION, "30s", "longest delay between reconnect attempts "
	  "(doubling back-off)", NULL, 10, 3600000, 0 },
	{ "poll_interval", HVT_CONF_DURATION, "5s", "how often every domain's snapshot list and job "
	  "are read (libvirt has no snapshot events, and none when a migration starts); 0 = only "
	  "right after the domain's own events", NULL, 0, 3600000, 0 },
	{ "job_poll_interval", HVT_CONF_DURATION, "1s", "how often an outgoing migration's job is "
	  "polled to see it fail or be cancelled", NULL, 100, 60000, 0 },
	{ "migration_figures_wait", HVT_CONF_DURATION, "5s", "how long a source's migration.completed "
	  "waits for libvirt's job-completed event with the figures", NULL, 0, 600000, 0 },
	{ "max_queue", HVT_CONF_INT, "10000", "observations waiting for the forwarder before the "
	  "connection lets go of libvirt (the spool is full); it reconnects and resyncs after",
	  NULL, 100, 10000000, 0 },
	{ "io_error_burst", HVT_CONF_INT, "10", "block.io_error events per VM per 10 s; the rest are "
	  "counted", NULL, 1, 100000, 0 },
	{ "defer_to_qmp", HVT_CONF_BOOL, "true", "VMs whose definition gives QEMU a monitor in an "
	  "[in_qmp] socket_dir (or its listen socket) are reported by in_qmp; only their definitions "
	  "here", NULL, 0, 0, 0 },
	{ "record_observations", HVT_CONF_PATH, "", "append every observation to this file as JSON "
	  "lines (bug reports, test fixtures); empty: off", NULL, 0, 0, 0 },
	HVT_CONF_END
};

static int check(struct hvt_instance *inst)
{
	const char *uri = hvt_conf_str(inst->conf, keys, "uri");
	char where[128];

	if (!*uri) {
		hvt_conf_error(inst->config, inst->conf ? inst->conf->file : inst->config->path,
			       inst->conf ? inst->conf->line : 0, "[%s] uri: empty (%s)", inst->name,
			       hvt_conf_where(inst->conf, "uri", where, sizeof where));
		return -1;
	}
	if (hvt_conf_duration_ms(inst->conf, keys, "reconnect_min") >
	    hvt_conf_duration_ms(inst->conf, keys, "reconnect_max")) {
		hvt_conf_error(inst->config, inst->conf ? inst->conf->file : inst->config->path,
			       inst->conf ? inst->conf->line : 0,
			       "[%s] reconnect_min is larger than reconnect_max", inst->name);
		return -1;
	}
	return 0;
}

static void input_free(struct lv_input *in)
{
	if (!in)
		return;
	lv_map_free(in->map);
	for (int i = 0; i < in->nqmp_dirs; i++)
		free(in->qmp_dirs[i]);
	free(in->qmp_dirs);
	free(in->uri);
	free(in->state_dir);
	free(in->view_path);
	if (in->record)
		fclose(in->record);
	pthread_mutex_destroy(&in->stat_lock);
	free(in);
}

/* ---- the forwarder's side ------------------------------------------------------------ */

static void map_emit(void *arg, struct hvt_event *ev)
{
	struct lv_input *in = arg;

	in->emitted++;
	in->inst->host->emit(in->inst, ev);
}

static void arm_hold_timer(struct lv_input *in)
{
	long long t = lv_map_next_deadline(in->map);

	if (!in->hold_timer)
		return;
	if (!t) {
		sd_event_source_set_enabled(in->hold_timer, SD_EVENT_OFF);
		return;
	}
	/* the deadline is realtime (from the observations' clock) */
	sd_event_source_set_time(in->hold_timer, (uint64_t)t);
	sd_event_source_set_enabled(in->hold_timer, SD_EVENT_ONESHOT);
}

static void record(struct lv_input *in, const struct lv_obs *o)
{
	json_object *j = lv_obs_to_json(o);

	fprintf(in->record, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	fflush(in->record);
	json_object_put(j);
}

static void drain(struct lv_input *in)
{
	struct lv_obs *list = lv_queue_take(&in->q);
	int n = 0;

	/* stopping: everything goes, whatever the spool says meanwhile - its
	 * bound may pause the inputs during this very drain, and a stop that
	 * waited for room would never end (and lose the queue to SIGKILL) */
	while (list && (in->stopping || (n < DRAIN_BATCH && !in->paused))) {
		struct lv_obs *o = list;
		list = o->next;
		o->next = NULL;
		if (in->record)
			record(in, o);
		lv_map_obs(in->map, o);
		lv_obs_free(o);
		n++;
	}
	/* the rest waits for the next iteration (or for the spool's room) */
	lv_queue_unget(&in->q, list);
	arm_hold_timer(in);
	if (!list && in->running && lv_queue_take_overflow(&in->q))
		lv_loop_call(lv_conn_unthrottle, in);
}

static int on_queue(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct lv_input *in = userdata;

	(void)fd;
	(void)revents;
	if (in->paused) {
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return 0;
	}
	drain(in);
	return 0;
}

static int on_hold(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lv_input *in = userdata;

	(void)s;
	(void)usec;
	lv_map_tick(in->map, hvt_now_us());
	arm_hold_timer(in);
	return 0;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static int init(struct hvt_instance *inst)
{
	struct lv_input *in = hvt_calloc(1, sizeof *in);
	const struct hvt_conf_section *s = inst->conf;

	inst->priv = in;
	in->inst = inst;
	pthread_mutex_init(&in->stat_lock, NULL);
	if (lv_queue_init(&in->q, (unsigned)hvt_conf_int(s, keys, "max_queue")) < 0) {
		hvt_err("[%s] cannot make the queue's eventfd: %s", inst->name, strerror(errno));
		return -1;
	}
	in->uri = hvt_strdup(hvt_conf_str(s, keys, "uri"));
	in->readonly = hvt_conf_bool(s, keys, "readonly");
	in->qemu_events = strcmp(hvt_conf_str(s, keys, "qemu_events"), "off") == 0 ? LV_QEMU_OFF : LV_QEMU_AUTO;
	in->keepalive_interval_s = (int)((hvt_conf_duration_ms(s, keys, "keepalive_interval") + 999) / 1000);
	in->keepalive_count = (unsigned)hvt_conf_int(s, keys, "keepalive_count");
	in->reconnect_min_us = hvt_conf_duration_ms(s, keys, "reconnect_min") * 1000;
	in->reconnect_max_us = hvt_conf_duration_ms(s, keys, "reconnect_max") * 1000;
	in->poll_us = hvt_conf_duration_ms(s, keys, "poll_interval") * 1000;
	in->job_poll_us = hvt_conf_duration_ms(s, keys, "job_poll_interval") * 1000;
	in->max_queue = (unsigned)hvt_conf_int(s, keys, "max_queue");
	lv_map_opts_default(&in->mopts);
	in->mopts.uri = in->uri;
	in->mopts.hold_us = hvt_conf_duration_ms(s, keys, "migration_figures_wait") * 1000;
	in->mopts.io_error_burst = (unsigned)hvt_conf_int(s, keys, "io_error_burst");
	in->mopts.defer_to_qmp = hvt_conf_bool(s, keys, "defer_to_qmp");
	in->retry_timer = in->lost_timer = in->snap_timer = in->snap_soon_timer = in->watch_timer = -1;
	in->qemu_cb = -1;
	in->state = LVC_IDLE;
	const char *rec = hvt_conf_str(s, keys, "record_observations");
	if (*rec && !(in->record = fopen(rec, "ae"))) {
		hvt_err("[%s] record_observations: cannot open %s: %s", inst->name, rec, strerror(errno));
		return -1;
	}
	lv_coexist_configure(in);
	in->state_dir = hvt_instance_state_dir(inst);
	static const struct lv_map_ops ops = { .emit = map_emit };
	in->map = lv_map_new(&in->mopts, &ops, in);
	return 0;
}

static int run(struct hvt_instance *inst)
{
	struct lv_input *in = inst->priv;
	char err[256];

	in->loop = inst->host->loop;
	if (!in->loop) {
		hvt_err("[%s] the host offers no event loop", inst->name);
		return -1;
	}
	if (lv_persist_load(in) < 0)
		return -1;
	if (sd_event_add_io(in->loop, &in->qio, in->q.efd, EPOLLIN, on_queue, in) < 0 ||
	    sd_event_add_time(in->loop, &in->hold_timer, CLOCK_REALTIME, 0, 100000, on_hold, in) < 0) {
		hvt_err("[%s] cannot register with the event loop", inst->name);
		return -1;
	}
	sd_event_source_set_enabled(in->hold_timer, SD_EVENT_OFF);
	if (lv_loop_start(err, sizeof err) < 0) {
		hvt_err("[%s] %s", inst->name, err);
		return -1;
	}
	in->loop_held = true;
	if (lv_loop_call(lv_conn_start, in) < 0) {
		hvt_err("[%s] cannot start the connection on the libvirt thread", inst->name);
		return -1;
	}
	in->running = true;
	hvt_info("[%s] following libvirt at %s (%s)", inst->name, in->uri,
		 in->readonly ? "read-only" : "read-write");
	return 0;
}

static void stop(struct hvt_instance *inst)
{
	struct lv_input *in = inst->priv;

	if (!in)
		return;
	if (in->running) {
		in->running = false;
		lv_loop_call_wait(lv_conn_stop, in);
		lv_loop_call_wait(lv_resync_free, in);
		/* what libvirt said before we let go still goes out; the spool
		 * is flushed after the inputs stop, and the next start finds
		 * these events there (lv_persist.c) */
		in->stopping = true;
		struct lv_obs *o;
		while ((o = lv_queue_take(&in->q))) {
			lv_queue_unget(&in->q, o);
			drain(in);
		}
		lv_map_tick(in->map, (long long)1 << 62);
	}
	if (in->loop_held)
		lv_loop_release();
	in->qio = sd_event_source_disable_unref(in->qio);
	in->hold_timer = sd_event_source_disable_unref(in->hold_timer);
	if (in->q.tail)         /* stop follows a failed init too */
		lv_queue_destroy(&in->q);
	input_free(in);
	inst->priv = NULL;
}

static void pause_cb(struct hvt_instance *inst, bool paused)
{
	struct lv_input *in = inst->priv;

	if (!in || in->paused == paused)
		return;
	in->paused = paused;
	/* paused: observations wait in the queue (bounded, lv_queue.h) */
	if (in->qio)
		sd_event_source_set_enabled(in->qio, paused ? SD_EVENT_OFF : SD_EVENT_ON);
}

/* libvirt replays nothing: what is kept is the view of each domain, once
 * the events behind it are durable (lv_persist.c). */
static void committed(struct hvt_instance *inst)
{
	struct lv_input *in = inst->priv;

	if (in && in->running)
		lv_persist_save(in);
}

static char *stats(struct hvt_instance *inst)
{
	struct lv_input *in = inst->priv;
	struct lv_map_stats ms;
	json_object *o = json_object_new_object();

	if (!in)
		return hvt_strdup("{}");
	lv_map_get_stats(in->map, &ms);
#define ADD(k, v) json_object_object_add(o, k, json_object_new_int64((int64_t)(v)))
	pthread_mutex_lock(&in->stat_lock);
	json_object_object_add(o, "connected", json_object_new_boolean(in->connected));
	ADD("connects", in->connects);
	ADD("connect_failures", in->connect_failures);
	ADD("disconnects", in->disconnects);
	ADD("libvirt_callbacks", in->callbacks);
	ADD("throttled", in->throttles);
	pthread_mutex_unlock(&in->stat_lock);
	ADD("queued", lv_queue_len(&in->q));
	ADD("queue_high_water", in->q.high_water);
	ADD("observations", ms.observations);
	ADD("events_emitted", in->emitted);
	ADD("late", ms.late);
	ADD("suppressed_qmp", ms.suppressed_qmp);
	ADD("dropped_io_errors", ms.dropped_io_errors);
	ADD("figures_missing", ms.held_released_without_figures);
	ADD("domains", ms.domains);
	ADD("held", lv_map_held(in->map));
#undef ADD
	json_object_object_add(o, "paused", json_object_new_boolean(in->paused));
	char *s = hvt_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static const struct hvt_input_ops ops = { .pause = pause_cb, .committed = committed, .stats = stats };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "in_libvirt",
	.kind = HVT_PLUGIN_INPUT,
	.summary = "every VM of a libvirt host from libvirt's domain events (no per-VM set-up)",
	.conf_keys = keys,
	.check = check,
	.init = init,
	.run = run,
	.stop = stop,
	.ops = &ops,
};
