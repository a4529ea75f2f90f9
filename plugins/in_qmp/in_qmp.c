/* in_qmp.c - input plugin: VM lifecycle events from QEMU QMP monitors.
 *
 * Each VM gets an extra monitor for hvtrail, either a socket QEMU makes in
 * socket_dir for the forwarder to find
 *   -qmp unix:/run/hvtrail/qmp/<vm>.sock,server=on,wait=off
 * or, in client mode, a connection QEMU makes to the forwarder's listen
 * socket (qmp_listen.c).  Never a monitor another manager owns (libvirt's,
 * Xen's, Proxmox's: qmp_foreign.h): a monitor serves one client at a time.
 * This file holds the plugin struct, the config schema and the instance
 * lifecycle; qmp_watch.c finds the sockets, qmp_endpoint.c runs one monitor
 * each, qmp_conn.c speaks QMP and qmp_normalise.c turns it into events. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include <sys/un.h>

#include "in_qmp.h"
#include "instance.h"
#include "log.h"
#include "qmp_foreign.h"

static const struct hvt_conf_key qmp_keys[] = {
	{ "socket_dir", HVT_CONF_PATH, "/run/hvtrail/qmp",
	  "directory holding one QMP monitor socket per VM; empty: none (client mode only)", NULL, 0,
	  0, 0 },
	{ "listen", HVT_CONF_PATH, "",
	  "client mode: a socket QEMU connects its monitor to (-chardev socket,path=...,reconnect=N "
	  "-mon chardev=...,mode=control); empty: off", NULL, 0, 0, 0 },
	{ "listen_mode", HVT_CONF_STRING, "0660",
	  "permissions of the listen socket (whoever may write it may connect as a VM)", NULL, 0,
	  0, 0 },
	{ "pattern", HVT_CONF_STRING, "*.sock",
	  "glob for socket file names in socket_dir", NULL, 0, 0, 0 },
	{ "max_sockets", HVT_CONF_INT, "1024",
	  "most sockets watched at once; more are ignored (logged)", NULL, 1, 65536, 0 },
	{ "connect_timeout", HVT_CONF_DURATION, "5s",
	  "connect + QMP greeting + handshake must finish within this", NULL, 100, 600000, 0 },
	{ "command_timeout", HVT_CONF_DURATION, "30s",
	  "a query QEMU has not answered by then is given up", NULL, 100, 3600000, 0 },
	{ "max_line", HVT_CONF_SIZE, "1M",
	  "longest QMP line accepted; longer ones are skipped", NULL, 4096, 67108864, 0 },
	{ "max_inflight", HVT_CONF_INT, "16",
	  "queries per VM waiting for an answer at once", NULL, 1, 256, 0 },
	{ "reconnect_min", HVT_CONF_DURATION, "100ms",
	  "first delay before reconnecting to a socket that failed", NULL, 10, 3600000, 0 },
	{ "reconnect_max", HVT_CONF_DURATION, "30s",
	  "longest delay between reconnect attempts (doubling back-off)", NULL, 10, 3600000, 0 },
	{ "block_poll_interval", HVT_CONF_DURATION, "2s",
	  "query-block period to see snapshots QEMU does not announce; 0 = off", NULL, 0,
	  3600000, 0 },
	{ "colo_summary_interval", HVT_CONF_DURATION, "60s",
	  "at most one colo.checkpoints summary per VM per interval", NULL, 1000, 86400000, 0 },
	{ "migration_events", HVT_CONF_BOOL, "true",
	  "turn on QEMU's migration 'events' capability on connect", NULL, 0, 0, 0 },
	{ "unmapped_burst", HVT_CONF_INT, "20",
	  "qmp.* events (no mapping) per VM per 10 s; the rest are dropped and counted",
	  NULL, 1, 100000, 0 },
	HVT_CONF_END
};

/* The section, as hvt_conf_fill hands it over (inst->opts). */
struct qmp_opts {
	const char *socket_dir, *pattern, *listen, *listen_mode;
	long long max_sockets, max_inflight, unmapped_burst;
	long long connect_timeout, command_timeout, reconnect_min, reconnect_max, block_poll_interval,
		  colo_summary_interval;
	uint64_t max_line;
	bool migration_events;
};

static const struct hvt_conf_field qmp_fields[] = {
	HVT_CONF_FIELD(struct qmp_opts, socket_dir, "socket_dir"),
	HVT_CONF_FIELD(struct qmp_opts, pattern, "pattern"),
	HVT_CONF_FIELD(struct qmp_opts, listen, "listen"),
	HVT_CONF_FIELD(struct qmp_opts, listen_mode, "listen_mode"),
	HVT_CONF_FIELD(struct qmp_opts, max_sockets, "max_sockets"),
	HVT_CONF_FIELD(struct qmp_opts, connect_timeout, "connect_timeout"),
	HVT_CONF_FIELD(struct qmp_opts, command_timeout, "command_timeout"),
	HVT_CONF_FIELD(struct qmp_opts, max_line, "max_line"),
	HVT_CONF_FIELD(struct qmp_opts, max_inflight, "max_inflight"),
	HVT_CONF_FIELD(struct qmp_opts, reconnect_min, "reconnect_min"),
	HVT_CONF_FIELD(struct qmp_opts, reconnect_max, "reconnect_max"),
	HVT_CONF_FIELD(struct qmp_opts, block_poll_interval, "block_poll_interval"),
	HVT_CONF_FIELD(struct qmp_opts, colo_summary_interval, "colo_summary_interval"),
	HVT_CONF_FIELD(struct qmp_opts, migration_events, "migration_events"),
	HVT_CONF_FIELD(struct qmp_opts, unmapped_burst, "unmapped_burst"),
	HVT_CONF_FIELDS_END
};

/* One key against another, and shapes the types do not capture: here, so
 * that --check-config refuses what init would. */
static int qmp_check(struct hvt_instance *inst)
{
	const struct qmp_opts *c = inst->opts;
	const struct hvt_conf_section *s = inst->conf;
	int bad = 0;

	char why[512];

	if (c->socket_dir[0] && c->socket_dir[0] != '/') {
		hvt_conf_error(inst->config, s->file, s->line, "[%s] socket_dir must be an absolute path",
			       inst->name);
		bad++;
	}
	if (c->socket_dir[0] && qmp_foreign_dir(c->socket_dir, why, sizeof why)) {
		hvt_conf_error(inst->config, s->file, s->line, "[%s] socket_dir: %s; a QMP monitor serves "
			       "one client at a time, so hvtrail never attaches to another manager's "
			       "(use its own directory, or client mode: docs/deploy.md)", inst->name, why);
		bad++;
	}
	if (!c->socket_dir[0] && !c->listen[0]) {
		hvt_conf_error(inst->config, s->file, s->line, "[%s] neither socket_dir nor listen is set: "
			       "the input would watch nothing", inst->name);
		bad++;
	}
	if (c->listen[0]) {
		char *end;
		long mode = strtol(c->listen_mode, &end, 8);
		if (c->listen[0] != '/' || strlen(c->listen) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			hvt_conf_error(inst->config, s->file, s->line, "[%s] listen must be an absolute path "
				       "shorter than %zu bytes", inst->name,
				       sizeof(((struct sockaddr_un *)0)->sun_path));
			bad++;
		}
		if (!*c->listen_mode || *end || mode < 0 || mode > 0777) {
			hvt_conf_error(inst->config, s->file, s->line, "[%s] listen_mode '%s' is not an "
				       "octal mode like 0660", inst->name, c->listen_mode);
			bad++;
		}
		const char *slash = strrchr(c->listen, '/');
		size_t dl = slash ? (size_t)(slash - c->listen) : 0;
		if (c->socket_dir[0] && strlen(c->socket_dir) == dl &&
		    strncmp(c->socket_dir, c->listen, dl) == 0 && hvt_glob_match(c->pattern, slash + 1)) {
			hvt_conf_error(inst->config, s->file, s->line, "[%s] listen %s is in socket_dir and "
				       "matches pattern: the input would take its own socket for a VM's",
				       inst->name, c->listen);
			bad++;
		}
	}
	if (!c->pattern[0] || strchr(c->pattern, '/')) {
		hvt_conf_error(inst->config, s->file, s->line, "[%s] pattern must be a file name glob "
			       "without '/'", inst->name);
		bad++;
	}
	if (c->reconnect_min > c->reconnect_max) {
		hvt_conf_error(inst->config, s->file, s->line, "[%s] reconnect_min is larger than "
			       "reconnect_max", inst->name);
		bad++;
	}
	return bad ? -1 : 0;
}

static void read_config(struct qmp_input *in, const struct qmp_opts *c)
{
	in->socket_dir = hvt_strdup(c->socket_dir);
	in->pattern = hvt_strdup(c->pattern);
	in->listen = hvt_strdup(c->listen);
	in->listen_mode = (unsigned)strtoul(c->listen_mode, NULL, 8);
	in->max_sockets = (unsigned)c->max_sockets;
	in->reconnect_min_us = c->reconnect_min * 1000;
	in->reconnect_max_us = c->reconnect_max * 1000;
	in->block_poll_us = c->block_poll_interval * 1000;
	in->copts = (struct qmp_conn_opts){
		.max_line = (size_t)c->max_line,
		.connect_timeout_us = c->connect_timeout * 1000,
		.command_timeout_us = c->command_timeout * 1000,
		.max_inflight = (unsigned)c->max_inflight,
		.migration_events = c->migration_events,
		.stats = &in->cstats,
	};
	qmp_norm_opts_default(&in->nopts);
	in->nopts.colo_summary_us = c->colo_summary_interval * 1000;
	in->nopts.block_queries = in->block_poll_us > 0;
	in->nopts.unmapped_burst = (unsigned)c->unmapped_burst;
}

static void input_free(struct qmp_input *in)
{
	if (!in)
		return;
	free(in->state_dir);
	free(in->socket_dir);
	free(in->pattern);
	free(in->listen);
	free(in);
}

static int qmp_init(struct hvt_instance *inst)
{
	struct qmp_input *in = hvt_calloc(1, sizeof *in);

	in->inst = inst;
	in->listen_fd = -1;
	read_config(in, inst->opts);
	inst->priv = in;
	return 0;
}

/* ---- block poll ---------------------------------------------------------------- */

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct qmp_input *in = userdata;
	uint64_t now = usec;

	/* paused: answers would only be more events */
	if (!in->paused)
		qmp_endpoint_poll_all(in);
	/* from now, not from when it was due: a stalled loop must not catch up
	 * with a burst of polls */
	sd_event_now(in->loop, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(s, now + (uint64_t)in->block_poll_us);
	sd_event_source_set_enabled(s, SD_EVENT_ON);
	return 0;
}

static int qmp_run(struct hvt_instance *inst)
{
	struct qmp_input *in = inst->priv;
	uint64_t now;

	in->loop = inst->host->loop;
	if (!in->loop) {
		hvt_err("in_qmp: the host offers no event loop");
		return -1;
	}
	in->state_dir = hvt_instance_state_dir(inst);
	if (in->state_dir) {
		int r = hvt_mkdir_p(in->state_dir, 0700);
		if (r < 0) {
			hvt_warn("in_qmp: cannot create %s: %s; VMs are met as new after a restart",
				 in->state_dir, strerror(-r));
			free(in->state_dir);
			in->state_dir = NULL;
		}
	}
	if (in->block_poll_us > 0) {
		sd_event_now(in->loop, CLOCK_MONOTONIC, &now);
		if (sd_event_add_time(in->loop, &in->poll_timer, CLOCK_MONOTONIC,
				      now + (uint64_t)in->block_poll_us, 50000, on_poll, in) < 0) {
			hvt_err("in_qmp: cannot add the block poll timer");
			return -1;
		}
		sd_event_source_set_enabled(in->poll_timer, SD_EVENT_ON);
	}
	if (qmp_listen_start(in) < 0)
		return -1;
	if (!*in->socket_dir)
		return 0;
	hvt_info("in_qmp: watching %s/%s (max %u sockets)", in->socket_dir, in->pattern,
		 in->max_sockets);
	return qmp_watch_start(in);
}

static void qmp_stop(struct hvt_instance *inst)
{
	struct qmp_input *in = inst->priv;

	if (!in)
		return;
	in->stopping = true;
	qmp_watch_stop(in);
	qmp_listen_stop(in);
	in->poll_timer = sd_event_source_disable_unref(in->poll_timer);
	qmp_endpoint_free_all(in);
	input_free(in);
	inst->priv = NULL;
}

/* ---- input ops ----------------------------------------------------------------- */

static void qmp_pause(struct hvt_instance *inst, bool paused)
{
	struct qmp_input *in = inst->priv;

	if (!in || in->paused == paused)
		return;
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);

	in->paused = paused;
	hvt_log_ratelimited(&rl, LOG_INFO, "in_qmp: %s reading QMP sockets (spool back-pressure)",
			    paused ? "pausing" : "resuming");
	qmp_endpoint_set_paused(in, paused);
	qmp_listen_set_paused(in, paused);
}

/* QMP has no read position (it replays nothing); what is kept instead is
 * each VM's state, once the events behind it are durable. */
static void qmp_committed(struct hvt_instance *inst)
{
	struct qmp_input *in = inst->priv;

	if (in && in->state_dir)
		qmp_endpoint_committed(in);
}

static char *qmp_stats(struct hvt_instance *inst)
{
	struct qmp_input *in = inst->priv;
	json_object *o = json_object_new_object();

	if (!in)
		return hvt_strdup("{}");
#define ADD(k, v) json_object_object_add(o, k, json_object_new_int64((int64_t)(v)))
	ADD("sockets", in->nendpoints);
	ADD("connected", qmp_endpoint_count_ready(in));
	ADD("events_emitted", in->emitted);
	ADD("connects", in->connects);
	ADD("connect_failures", in->connect_failures);
	ADD("contacts", in->contacts);
	ADD("vanished", in->vanished);
	ADD("ignored_over_max_sockets", in->ignored_over_limit);
	ADD("foreign_monitors_skipped", in->foreign_skipped);
	ADD("clients_refused", in->clients_refused);
	ADD("qmp_lines", in->cstats.lines);
	ADD("qmp_events", in->cstats.events);
	ADD("garbage_lines", in->cstats.garbage);
	ADD("oversize_lines", in->cstats.oversize);
	ADD("timeouts", in->cstats.timeouts);
	ADD("unmatched_replies", in->cstats.unmatched);
#undef ADD
	json_object_object_add(o, "paused", json_object_new_boolean(in->paused));
	char *s = hvt_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static const struct hvt_input_ops qmp_ops = {
	.pause = qmp_pause,
	.committed = qmp_committed,
	.stats = qmp_stats,
};

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "in_qmp",
	.kind = HVT_PLUGIN_INPUT,
	.summary = "VM lifecycle, migration, snapshot and COLO events from QEMU QMP monitors",
	.conf_keys = qmp_keys,
	.conf_fields = qmp_fields,
	.conf_size = sizeof(struct qmp_opts),
	.check = qmp_check,
	.init = qmp_init,
	.run = qmp_run,
	.stop = qmp_stop,
	.ops = &qmp_ops,
};
