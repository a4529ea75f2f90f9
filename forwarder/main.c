/* main.c - hvtrail-forwarder: capture lifecycle events on a hypervisor
 * host, spool them durably and ship them to the collectors.
 *
 * Threads: the main thread runs the sd-event loop that every input plugin
 * registers on and owns the spool's writer side; each output plugin runs
 * its own thread reading the spool. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "daemon.h"
#include "instance.h"
#include "log.h"
#include "pipeline.h"
#include "plugin.h"
#include "rfc5424.h"
#include "schema.h"
#include "spool.h"
#include "util.h"

#define PROG "hvtrail-forwarder"
#define IO_KINDS (HVT_KIND_BIT(HVT_PLUGIN_INPUT) | HVT_KIND_BIT(HVT_PLUGIN_OUTPUT))

struct forwarder {
	struct hvt_conf *conf;
	struct hvt_conf_section *sec_fwd, *sec_spool;
	struct hvt_instances inst;
	struct hvt_host host;
	sd_event *loop;
	struct hvt_spool *spool;
	struct fwd_pipeline *pipeline;
	char *hostname;
	char *state_dir;
	char *spool_dir;
	struct hvt_conf **old_confs;  /* replaced by reloads; instances may still point in */
	int nold_confs;
	bool debug;
	atomic_bool stopping;         /* read by the output threads */
};

static struct forwarder fwd;

static int emit_trampoline(struct hvt_instance *inst, struct hvt_event *ev)
{
	return fwd_pipeline_emit(fwd.pipeline, inst, ev);
}

static int emit_with_trampoline(struct hvt_instance *inst, struct hvt_event *ev, const struct hvt_emit_opts *o)
{
	return fwd_pipeline_emit_with(fwd.pipeline, inst, ev, o);
}

static const char *position_trampoline(struct hvt_instance *inst)
{
	return fwd_pipeline_position(fwd.pipeline, inst);
}

static const char *position_in_trampoline(struct hvt_instance *inst, const char *scope)
{
	return fwd_pipeline_position_in(fwd.pipeline, inst, scope);
}

static const char *fstr(const char *key)
{
	return hvt_conf_str(fwd.sec_fwd, fwd_schema_forwarder, key);
}

static const char *sstr(const char *key)
{
	return hvt_conf_str(fwd.sec_spool, fwd_schema_spool, key);
}

static bool host_name_valid(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253)
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.' || *p == '_'))
			return false;
	return true;
}

/* Checks that need more than one key or the running system. */
static void check_semantics(void)
{
	struct hvt_conf *c = fwd.conf;
	const char *file = c->path;
	int inputs = 0, outputs = 0;

	if (hvt_facility_parse(fstr("facility")) < 0)
		hvt_conf_error(c, file, fwd.sec_fwd ? fwd.sec_fwd->line : 0,
			       "[forwarder] facility: '%s' is not a syslog facility", fstr("facility"));
	if (!host_name_valid(fwd.hostname))
		hvt_conf_error(c, file, fwd.sec_fwd ? fwd.sec_fwd->line : 0,
			       "[forwarder] host: '%s' is not a valid host name", fwd.hostname);
	for (int i = 0; i < fwd.inst.n; i++) {
		if (fwd.inst.v[i].plugin->kind == HVT_PLUGIN_INPUT)
			inputs++;
		else
			outputs++;
	}
	if (!inputs)
		hvt_conf_error(c, file, 0, "no input configured (add an [in_qmp] section, for example)");
	if (!outputs)
		hvt_conf_error(c, file, 0, "no output configured (add an [out_relp] section)");
}

static int configure(const struct hvt_daemon_args *a)
{
	fwd.conf = hvt_conf_load(a->config, PROG);
	if (!fwd.conf)
		return -1;
	fwd.sec_fwd = hvt_conf_find(fwd.conf, "forwarder");
	fwd.sec_spool = hvt_conf_find(fwd.conf, "spool");
	/* plugin_dir is needed before the plugin sections can be checked */
	const char *plugin_dir = hvt_conf_str(fwd.sec_fwd, fwd_schema_forwarder, "plugin_dir");
	fwd.host.prog = PROG;
	fwd.host.emit = emit_trampoline;
	fwd.host.emit_with = emit_with_trampoline;
	fwd.host.position = position_trampoline;
	fwd.host.position_in = position_in_trampoline;
	fwd.host.stopping = &fwd.stopping;
	hvt_instances_configure(fwd.conf, fwd_core_sections, plugin_dir, IO_KINDS, &fwd.host, &fwd.inst);
	const char *h = fstr("host");
	fwd.hostname = *h ? hvt_strdup(h) : hvt_default_hostname();
	fwd.state_dir = hvt_strdup(fstr("state_dir"));
	fwd.spool_dir = *sstr("dir") ? hvt_strdup(sstr("dir")) : hvt_asprintf("%s/spool", fwd.state_dir);
	fwd.host.hostname = fwd.hostname;
	fwd.host.state_dir = fwd.state_dir;
	/* read once: a reload warns that a new user needs a restart */
	fwd.host.run_user = hvt_strdup(fstr("user"));
	fwd.host.run_group = hvt_strdup(fstr("group"));
	int lvl = hvt_log_level_parse(fstr("log_level"));
	if (!a->debug && lvl >= 0)
		hvt_log_set_level(lvl);
	if (fwd.conf->errors == 0) {
		check_semantics();
		hvt_instances_check(&fwd.inst);
	}
	if (fwd.conf->errors) {
		hvt_log(LOG_ERR, "%s: %d problem%s in the configuration", a->config, fwd.conf->errors,
			fwd.conf->errors == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

static struct hvt_spool_opts spool_opts(void)
{
	return (struct hvt_spool_opts){
		.dir = fwd.spool_dir,
		.name = "spool",
		.max_bytes = hvt_conf_size(fwd.sec_spool, fwd_schema_spool, "max_size"),
		.segment_bytes = hvt_conf_size(fwd.sec_spool, fwd_schema_spool, "segment_size"),
		.fsync = hvt_fsync_policy_parse(sstr("fsync")),
		.fsync_interval_ms = hvt_conf_duration_ms(fwd.sec_spool, fwd_schema_spool, "fsync_interval"),
		.hold_for_state = true,       /* the pipeline's carried state (carry.h) */
	};
}

static int open_spool(void)
{
	struct hvt_spool_opts o = spool_opts();
	char err[512];
	int rc = hvt_mkdir_p(fwd.state_dir, 0700);

	if (rc < 0) {
		hvt_log(LOG_ERR, "cannot create state_dir %s: %s", fwd.state_dir, strerror(-rc));
		return -1;
	}
	if (hvt_lock_state_dir(fwd.state_dir, PROG) < 0)
		return -1;
	fwd.spool = hvt_spool_open(&o, err, sizeof err);
	if (!fwd.spool) {
		hvt_log(LOG_ERR, "cannot open the spool: %s", err);
		return -1;
	}
	fwd.host.spool = fwd.spool;
	return 0;
}

/* The instances of one kind, by section name, and their contents, agree. */
static bool kind_same(const struct hvt_instances *a, const struct hvt_instances *b, enum hvt_plugin_kind k,
		      bool compare_contents)
{
	int i = 0, j = 0;

	for (;;) {
		while (i < a->n && a->v[i].plugin->kind != k)
			i++;
		while (j < b->n && b->v[j].plugin->kind != k)
			j++;
		if (i == a->n || j == b->n)
			return i == a->n && j == b->n;
		if (strcmp(a->v[i].name, b->v[j].name) ||
		    (compare_contents && !hvt_conf_section_same(a->v[i].conf, b->v[j].conf)))
			return false;
		i++;
		j++;
	}
}

/* Values read once at start; changing them needs a restart. */
static void warn_restart_keys(struct hvt_conf *nc)
{
	static const char *const fkeys[] = { "host", "state_dir", "plugin_dir", "user", "group" };
	struct hvt_conf_section *nf = hvt_conf_find(nc, "forwarder"), *ns = hvt_conf_find(nc, "spool");

	for (size_t i = 0; i < HVT_ARRAY_SIZE(fkeys); i++)
		if (strcmp(hvt_conf_str(nf, fwd_schema_forwarder, fkeys[i]), fstr(fkeys[i])) != 0)
			hvt_log(LOG_WARNING, "reload: [forwarder] %s changed; it takes effect at the next restart",
				fkeys[i]);
	if (!hvt_conf_section_same(ns, fwd.sec_spool))
		hvt_log(LOG_WARNING, "reload: [spool] changed; it takes effect at the next restart");
}

/* SIGHUP: re-read the configuration and the certificates it names.  A bad
 * new configuration changes nothing.  Outputs always restart (that is how
 * renewed certificates are picked up; the spool's checkpoint makes it
 * lossless).  Inputs keep running when their sections are unchanged, so
 * no QMP monitor is dropped; otherwise every instance restarts (QMP
 * inputs reconnect and report what changed meanwhile as late). */
static void reload(void)
{
	struct hvt_instances ni;
	struct hvt_conf *nc = hvt_conf_load(fwd.conf->path, PROG);

	hvt_log(LOG_NOTICE, "SIGHUP: reloading %s", fwd.conf->path);
	if (!nc) {
		hvt_log(LOG_ERR, "reload refused: cannot read %s; keeping the running configuration", fwd.conf->path);
		return;
	}
	hvt_instances_configure(nc, fwd_core_sections, fstr("plugin_dir"), IO_KINDS, &fwd.host, &ni);
	if (nc->errors == 0)
		hvt_instances_check(&ni);
	if (nc->errors) {
		hvt_log(LOG_ERR, "reload refused: %d problem%s in %s (above); keeping the running configuration",
			nc->errors, nc->errors == 1 ? "" : "s", nc->path);
		hvt_instances_free(&ni);
		hvt_conf_free(nc);
		return;
	}
	warn_restart_keys(nc);
	bool keep_inputs = kind_same(&fwd.inst, &ni, HVT_PLUGIN_INPUT, true) &&
			   kind_same(&fwd.inst, &ni, HVT_PLUGIN_OUTPUT, false);
	hvt_instances_stop(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_OUTPUT));
	if (keep_inputs) {
		/* same slots: swap in the outputs' new sections */
		for (int i = 0, j = 0; i < fwd.inst.n; i++) {
			if (fwd.inst.v[i].plugin->kind != HVT_PLUGIN_OUTPUT)
				continue;
			while (ni.v[j].plugin->kind != HVT_PLUGIN_OUTPUT)
				j++;
			fwd.inst.v[i] = ni.v[j++];
		}
		hvt_instances_free(&ni);
	} else {
		fwd_pipeline_flush(fwd.pipeline);
		hvt_instances_stop(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_INPUT));
		hvt_instances_free(&fwd.inst);
		fwd.inst = ni;
	}
	/* running inputs still read their old sections: keep that memory */
	fwd.old_confs = hvt_realloc(fwd.old_confs, sizeof(struct hvt_conf *) * (size_t)(fwd.nold_confs + 1));
	fwd.old_confs[fwd.nold_confs++] = fwd.conf;
	fwd.conf = nc;
	fwd.sec_fwd = hvt_conf_find(nc, "forwarder");
	fwd.sec_spool = hvt_conf_find(nc, "spool");
	int lvl = hvt_log_level_parse(fstr("log_level"));
	if (lvl >= 0 && !fwd.debug)
		hvt_log_set_level(lvl);
	if (hvt_instances_start(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_OUTPUT)) < 0 ||
	    hvt_instances_start(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_INPUT)) < 0)
		hvt_log(LOG_ERR, "reload: an instance failed to start (above); the others run");
	hvt_log(LOG_NOTICE, "configuration reloaded: outputs restarted, inputs %s",
		keep_inputs ? "kept running" : "restarted");
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	(void)ud;
	hvt_log(LOG_NOTICE, "received %s: shutting down", strsignal((int)si->ssi_signo));
	atomic_store(&fwd.stopping, true);
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	(void)s;
	(void)si;
	(void)ud;
	reload();
	return 0;
}

static void emit_lifecycle(const char *type, const char *msg)
{
	struct hvt_event *ev = hvt_event_new(type);

	hvt_event_set_msg(ev, "%s", msg);
	hvt_event_data_add(ev, "version", json_object_new_string(PACKAGE_VERSION));
	hvt_event_data_add(ev, "spool_depth", json_object_new_int64(
		(int64_t)(hvt_spool_last_seq(fwd.spool) - hvt_spool_acked(fwd.spool))));
	if (strcmp(type, "forwarder.stopped") == 0) {
		struct fwd_pipeline_counters c;
		fwd_pipeline_counters(fwd.pipeline, &c);
		hvt_event_data_add(ev, "repeats_dropped", json_object_new_int64((int64_t)c.repeats));
		hvt_event_data_add(ev, "dropped_by_policy", json_object_new_int64((int64_t)c.dropped));
		hvt_event_data_add(ev, "keys_in_window", json_object_new_int64((int64_t)c.keys));
		hvt_log(LOG_INFO, "since start: %" PRIu64 " repeats of keyed events dropped, %" PRIu64 " events "
			"dropped by full_policy in %" PRIu64 " episode%s", c.repeats, c.dropped, c.drop_episodes,
			c.drop_episodes == 1 ? "" : "s");
	}
	if (strcmp(type, "forwarder.started") == 0) {
		hvt_event_data_add(ev, "chain_continued",
				   json_object_new_boolean(fwd_pipeline_chain_continued(fwd.pipeline)));
		hvt_event_data_add(ev, "spool_cut_bytes", json_object_new_int64(
			(int64_t)hvt_spool_recovered_cut_bytes(fwd.spool)));
		uint64_t found, lost, bytes;
		hvt_spool_damage_totals(fwd.spool, &found, &lost, &bytes);
		if (found) {
			hvt_event_data_add(ev, "spool_damage", json_object_new_int64((int64_t)found));
			hvt_event_data_add(ev, "spool_damage_lost", json_object_new_int64((int64_t)lost));
		}
	}
	fwd_pipeline_emit(fwd.pipeline, NULL, ev);
}

static int run(void)
{
	sigset_t ss;
	int rc = 1;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (open_spool() < 0)
		return 1;
	sd_event_default(&fwd.loop);
	fwd.host.loop = fwd.loop;
	sd_event_add_signal(fwd.loop, NULL, SIGTERM, on_stop_signal, NULL);
	sd_event_add_signal(fwd.loop, NULL, SIGINT, on_stop_signal, NULL);
	sd_event_add_signal(fwd.loop, NULL, SIGHUP, on_hup, NULL);
	sd_event_set_watchdog(fwd.loop, 1);

	struct fwd_pipeline_opts po = {
		.host = fwd.hostname,
		.facility = hvt_facility_parse(fstr("facility")),
		.max_event = hvt_conf_size(fwd.sec_fwd, fwd_schema_forwarder, "max_event_size"),
		.drop_oldest = strcmp(sstr("full_policy"), "drop-oldest") == 0,
		.fsync = hvt_fsync_policy_parse(sstr("fsync")),
		.fsync_interval_ms = hvt_conf_duration_ms(fwd.sec_spool, fwd_schema_spool, "fsync_interval"),
		.state_dir = fwd.state_dir,
		.key_window = (size_t)hvt_conf_int(fwd.sec_spool, fwd_schema_spool, "key_window"),
	};
	fwd.pipeline = fwd_pipeline_new(&po, fwd.spool, fwd.loop, &fwd.inst);

	/* Started as root: init opens what needs privileges (the local
	 * socket, keys), then the privileges go, and only then do the outputs'
	 * threads and the inputs' watchers meet untrusted input (#15: network
	 * and QMP input was parsed as root until the drop).  Outputs first,
	 * so the spool drains from the start. */
	if (hvt_instances_init(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_OUTPUT)) < 0 ||
	    hvt_instances_init(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_INPUT)) < 0)
		goto out;
	/* what start-up created as root must stay usable after the drop */
	if (hvt_hand_over(fwd.state_dir, fstr("user"), fstr("group")) < 0 ||
	    hvt_hand_over(fwd.spool_dir, fstr("user"), fstr("group")) < 0 ||
	    hvt_drop_privileges(fstr("user"), fstr("group")) < 0)
		goto out;
	if (hvt_instances_run(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_OUTPUT)) < 0 ||
	    hvt_instances_run(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_INPUT)) < 0)
		goto out;
	emit_lifecycle("forwarder.started", "forwarder started");
	fwd_pipeline_announce_chain(fwd.pipeline);
	fwd_pipeline_report_damage(fwd.pipeline);
	fwd_pipeline_commit(fwd.pipeline);
	hvt_log(LOG_NOTICE, "started: host %s, stream %s, spool %s (%" PRIu64 " unacknowledged)",
		fwd.hostname, hvt_spool_id(fwd.spool), fwd.spool_dir,
		hvt_spool_last_seq(fwd.spool) - hvt_spool_acked(fwd.spool));
	hvt_spool_log_repairs(fwd.spool, LOG_WARNING, "reported as spool.damaged events");
	hvt_daemon_notify("READY=1\nSTATUS=running");

	rc = sd_event_loop(fwd.loop) < 0 ? 1 : 0;

	hvt_daemon_notify("STOPPING=1");
	emit_lifecycle("forwarder.stopped", "forwarder stopped cleanly");
out:
	/* commit first so local clients get their answers, then stop inputs */
	fwd_pipeline_flush(fwd.pipeline);
	hvt_instances_stop(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_INPUT));
	fwd_pipeline_flush(fwd.pipeline);
	atomic_store(&fwd.stopping, true);
	hvt_spool_wake(fwd.spool);
	hvt_instances_stop(&fwd.inst, HVT_KIND_BIT(HVT_PLUGIN_OUTPUT));
	fwd_pipeline_free(fwd.pipeline);
	hvt_spool_close(fwd.spool);
	sd_event_unref(fwd.loop);
	return rc;
}

/* Every key this daemon understands: its own sections and every plugin of
 * its kinds that the plugin path holds (docs/config.md is checked against
 * this output). */
static void print_schema(const char *plugin_dir)
{
	hvt_conf_schema_markdown("forwarder", fwd_schema_forwarder);
	hvt_conf_schema_markdown("spool", fwd_schema_spool);
	hvt_plugins_schema_markdown(plugin_dir, IO_KINDS);
}

int main(int argc, char **argv)
{
	struct hvt_daemon_args a;
	int rc;

	hvt_log_init(PROG);
	hvt_daemon_parse_args(argc, argv, PROG, HVT_SYSCONFDIR "/forwarder.conf", "spool",
			      "Capture VM lifecycle events on this host and ship them to hvtrail-collector.", &a);
	if (a.debug)
		hvt_log_set_level(LOG_DEBUG);
	fwd.debug = a.debug;
	if (a.print_schema) {          /* needs no configuration file */
		print_schema(NULL);
		return 0;
	}
	if (configure(&a) < 0) {
		rc = 1;
	} else if (a.check_config) {
		printf("%s: configuration OK\n", a.config);
		rc = 0;
	} else if (a.list_plugins) {
		hvt_instances_list(&fwd.inst, stdout);
		rc = 0;
	} else if (a.check_store || a.repair_store) {
		struct hvt_spool_opts o = spool_opts();
		rc = hvt_daemon_check_store(&o, fwd.state_dir, PROG, a.repair_store);
	} else {
		rc = run();
	}
	hvt_instances_free(&fwd.inst);
	hvt_conf_free(fwd.conf);
	for (int i = 0; i < fwd.nold_confs; i++)
		hvt_conf_free(fwd.old_confs[i]);
	free(fwd.old_confs);
	free(fwd.hostname);
	free(fwd.state_dir);
	free(fwd.spool_dir);
	free((char *)fwd.host.run_user);
	free((char *)fwd.host.run_group);
	return rc;
}
