/* main.c - hvtrail-collector: accept RELP/TLS from permitted forwarders,
 * store every event exactly once, and keep the trail queryable.
 *
 * Threads: the main thread handles signals and start/stop; the receiver
 * thread runs librelp's engine and writes the inbox; the indexer thread
 * moves the inbox into the index plugin. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "alerts.h"
#include "bindings.h"
#include "daemon.h"
#include "health.h"
#include "http.h"
#include "indexer.h"
#include "instance.h"
#include "log.h"
#include "plugin.h"
#include "receiver.h"
#include "schema.h"
#include "spool.h"
#include "util.h"

#define PROG "hvtrail-collector"
#define PLUGIN_KINDS (HVT_KIND_BIT(HVT_PLUGIN_INDEX) | HVT_KIND_BIT(HVT_PLUGIN_ACTION))
#define DRAIN_MS 5000

struct collector {
	struct hvt_conf *conf;
	struct hvt_conf_section *sec_col, *sec_inbox;
	struct hvt_instances inst;
	struct hvt_instance *index;
	struct hvt_host host;
	char *state_dir, *inbox_dir;
	struct hvt_spool *inbox;
	struct receiver *receiver;
	struct indexer *indexer;
	char **host_map;
	struct bindings *bindings;
	struct alerts *alerts;        /* NULL: no [alert:NAME] rule */
	struct http *http;            /* NULL: no [http] section */
	struct hvt_conf **old_confs;  /* replaced by reloads; instances still point in */
	int nold_confs;
	bool debug;                   /* -d: keep logging at debug across reloads */
	atomic_bool stopping;         /* read by plugins' threads */
};

static struct collector col;

static const char *cstr(const char *key)
{
	return hvt_conf_str(col.sec_col, col_schema_collector, key);
}

/* Beyond the schemas: something to listen on, exactly one index.  reload:
 * the running collector checks a new configuration (see http_check). */
static struct hvt_instance *check_semantics(struct hvt_conf *c, struct hvt_instances *inst, bool reload)
{
	struct hvt_instance *index = NULL;
	int listeners = 0, indexes = 0;

	for (struct hvt_conf_section *s = c->sections; s; s = s->next) {
		if (strcmp(s->kind, "listen") == 0) {
			listeners++;
			receiver_check_listener(c, s);
		}
		if (strcmp(s->name, "http") == 0)
			http_check(c, s, !reload);
	}
	for (int i = 0; i < inst->n; i++)
		if (inst->v[i].plugin->kind == HVT_PLUGIN_INDEX) {
			indexes++;
			index = &inst->v[i];
		}
	if (!listeners)
		hvt_conf_error(c, c->path, 0, "no [listen] section: the collector would accept nothing");
	if (indexes != 1)
		hvt_conf_error(c, c->path, 0, "exactly one index section is needed (e.g. [idx_sqlite]); found %d",
			       indexes);
	return index;
}

static int configure(const struct hvt_daemon_args *a)
{
	col.conf = hvt_conf_load(a->config, PROG);
	if (!col.conf)
		return -1;
	col.sec_col = hvt_conf_find(col.conf, "collector");
	col.sec_inbox = hvt_conf_find(col.conf, "inbox");
	col.host.prog = PROG;
	col.host.stopping = &col.stopping;
	hvt_instances_configure(col.conf, col_core_sections, cstr("plugin_dir"), PLUGIN_KINDS, &col.host,
				&col.inst);
	col.state_dir = hvt_strdup(cstr("state_dir"));
	const char *d = hvt_conf_str(col.sec_inbox, col_schema_inbox, "dir");
	col.inbox_dir = *d ? hvt_strdup(d) : hvt_asprintf("%s/inbox", col.state_dir);
	col.host.state_dir = col.state_dir;
	col.host.hostname = "collector";
	col.host.run_user = hvt_strdup(cstr("user"));     /* read once, as state_dir */
	col.host.run_group = hvt_strdup(cstr("group"));
	int lvl = hvt_log_level_parse(cstr("log_level"));
	if (!a->debug && lvl >= 0)
		hvt_log_set_level(lvl);
	col.debug = a->debug;
	if (col.conf->errors == 0) {
		col.index = check_semantics(col.conf, &col.inst, false);
		col.alerts = alerts_configure(col.conf, &col.inst);
		hvt_instances_check(&col.inst);
	}
	if (col.conf->errors) {
		hvt_log(LOG_ERR, "%s: %d problem%s in the configuration", a->config, col.conf->errors,
			col.conf->errors == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

static struct hvt_spool_opts inbox_opts(void)
{
	const struct hvt_conf_key *k = col_schema_inbox;

	return (struct hvt_spool_opts){
		.dir = col.inbox_dir,
		.name = "inbox",
		.max_bytes = hvt_conf_size(col.sec_inbox, k, "max_size"),
		.segment_bytes = hvt_conf_size(col.sec_inbox, k, "segment_size"),
		.fsync = hvt_fsync_policy_parse(hvt_conf_str(col.sec_inbox, k, "fsync")),
		.fsync_interval_ms = hvt_conf_duration_ms(col.sec_inbox, k, "fsync_interval"),
	};
}

static int open_inbox(void)
{
	struct hvt_spool_opts o = inbox_opts();
	char err[512];
	int rc = hvt_mkdir_p(col.state_dir, 0700);

	if (rc < 0) {
		hvt_log(LOG_ERR, "cannot create state_dir %s: %s", col.state_dir, strerror(-rc));
		return -1;
	}
	if (hvt_lock_state_dir(col.state_dir, PROG) < 0 || health_open(col.state_dir) < 0)
		return -1;
	col.inbox = hvt_spool_open(&o, err, sizeof err);
	if (!col.inbox) {
		hvt_log(LOG_ERR, "cannot open the inbox: %s", err);
		return -1;
	}
	/* damage was set aside as the inbox opened (each logged): sum it up;
	 * received events lost to it were acknowledged to their forwarders,
	 * so they show as gaps of those streams */
	hvt_spool_log_repairs(col.inbox, LOG_ERR, "received and acknowledged: they show as gaps of their streams");
	return 0;
}

/* The receiver's limits and identity policy from a [collector] section;
 * *host_map is the caller's to free once no receiver uses lim. */
static void receiver_limits(const struct hvt_conf_section *sc, struct ingest_limits *lim, char ***host_map)
{
	const struct hvt_conf_key *k = col_schema_collector;

	memset(lim, 0, sizeof *lim);
	lim->ev.max_json = hvt_conf_size(sc, k, "max_message_size");
	lim->ev.max_depth = (int)hvt_conf_int(sc, k, "max_json_depth");
	lim->ev.max_field = (size_t)hvt_conf_int(sc, k, "max_field_length");
	lim->ev.max_msg = 4096;
	lim->max_message = lim->ev.max_json + 1024;    /* room for the RFC 5424 header */
	const char *id = hvt_conf_str(sc, k, "identity");
	lim->identity = !strcmp(id, "off") ? ID_OFF : !strcmp(id, "quarantine") ? ID_QUARANTINE : ID_REFUSE;
	*host_map = hvt_conf_list(sc, k, "host_map", NULL);
	lim->host_map = *host_map;
	lim->bindings = col.bindings;
}

/* The listeners: bound (and their TLS files read) before the privilege
 * drop; receiver_start() runs the engine after it. */
static int open_receiver(void)
{
	struct ingest_limits lim;

	col.bindings = bindings_new();
	receiver_limits(col.sec_col, &lim, &col.host_map);
	col.receiver = receiver_new(col.inbox, &lim);
	if (!col.receiver || receiver_listen(col.receiver, col.conf) < 0)
		return -1;
	return 0;
}

/* ---- SIGHUP ------------------------------------------------------------- */

/* [collector] keys read once at start. */
static const char *const restart_keys[] = { "state_dir", "plugin_dir", "user", "group", "batch_size",
					    "batch_delay" };

/* Tell the operator what a reload does not apply: the index, the actions
 * and the alert rules run on (their state is in the index and alerts.db,
 * and an index or action restart is not worth a missed event), the inbox,
 * and the keys read once at start. */
static void warn_restart_needed(struct hvt_conf *nc)
{
	struct hvt_conf_section *nsc = hvt_conf_find(nc, "collector");

	for (size_t i = 0; i < HVT_ARRAY_SIZE(restart_keys); i++)
		if (strcmp(hvt_conf_str(nsc, col_schema_collector, restart_keys[i]), cstr(restart_keys[i])) != 0)
			hvt_log(LOG_WARNING, "reload: [collector] %s changed; it takes effect at the next restart",
				restart_keys[i]);
	/* every other section but [listen], in both directions */
	for (int pass = 0; pass < 2; pass++) {
		struct hvt_conf *from = pass ? nc : col.conf, *to = pass ? col.conf : nc;
		for (struct hvt_conf_section *s = from->sections; s; s = s->next) {
			if (!strcmp(s->kind, "listen") || !strcmp(s->kind, "collector"))
				continue;
			struct hvt_conf_section *t = hvt_conf_find(to, s->name);
			if (pass == 0 && !hvt_conf_section_same(s, t))
				hvt_log(LOG_WARNING, "reload: [%s] %s; that takes effect at the next restart", s->name,
					t ? "changed" : "was removed");
			else if (pass == 1 && !t)
				hvt_log(LOG_WARNING, "reload: [%s] was added; that takes effect at the next restart",
					s->name);
		}
	}
}

/* Does the new configuration check out (as --check-config would)? */
static bool reload_checks(struct hvt_conf *nc)
{
	struct hvt_instances ni;

	hvt_instances_configure(nc, col_core_sections, cstr("plugin_dir"), PLUGIN_KINDS, &col.host, &ni);
	if (nc->errors == 0) {
		check_semantics(nc, &ni, true);
		alerts_free(alerts_configure(nc, &ni));
		hvt_instances_check(&ni);
	}
	hvt_instances_free(&ni);
	if (nc->errors)
		hvt_log(LOG_ERR, "reload refused: %d problem%s in %s (above); keeping the running configuration",
			nc->errors, nc->errors == 1 ? "" : "s", nc->path);
	return nc->errors == 0;
}

/* SIGHUP: re-read the configuration and the certificates it names.  What
 * takes effect: every [listen] section (addresses, certificates, CA,
 * permitted peers, TLS settings), the [collector] limits, identity and
 * host_map, and log_level.  The listeners restart: sessions close, the
 * forwarders reconnect and resend whatever was not acknowledged, which
 * the index stores once.  A configuration that does not check out, or
 * whose listeners cannot be opened, changes nothing.  -1 only when not
 * even the old listeners could be reopened. */
static int reload(void)
{
	struct hvt_conf *nc = hvt_conf_load(col.conf->path, PROG);
	struct ingest_limits lim, old_lim;
	char **host_map, **old_map;

	hvt_log(LOG_NOTICE, "SIGHUP: reloading %s", col.conf->path);
	if (!nc) {
		hvt_log(LOG_ERR, "reload refused: cannot read %s; keeping the running configuration", col.conf->path);
		return 0;
	}
	if (!reload_checks(nc)) {
		hvt_conf_free(nc);
		return 0;
	}
	warn_restart_needed(nc);
	receiver_limits(hvt_conf_find(nc, "collector"), &lim, &host_map);
	if (receiver_relisten(col.receiver, nc, &lim) < 0) {
		hvt_log(LOG_ERR, "reload refused: cannot listen as the new configuration says (above); "
			"reopening the running configuration's listeners");
		hvt_conf_list_free(host_map);
		hvt_conf_free(nc);
		receiver_limits(col.sec_col, &old_lim, &old_map);
		hvt_conf_list_free(col.host_map);
		col.host_map = old_map;
		if (receiver_relisten(col.receiver, col.conf, &old_lim) < 0) {
			hvt_log(LOG_CRIT, "cannot reopen the listeners either: the collector accepts nothing; "
				"stopping so that it can be restarted");
			return -1;
		}
		return 0;
	}
	hvt_conf_list_free(col.host_map);
	col.host_map = host_map;
	/* the index, actions and alert rules still read their old sections */
	col.old_confs = hvt_realloc(col.old_confs, sizeof(struct hvt_conf *) * (size_t)(col.nold_confs + 1));
	col.old_confs[col.nold_confs++] = col.conf;
	col.conf = nc;
	col.sec_col = hvt_conf_find(nc, "collector");
	int lvl = hvt_log_level_parse(cstr("log_level"));
	if (lvl >= 0 && !col.debug)
		hvt_log_set_level(lvl);
	hvt_log(LOG_NOTICE, "configuration reloaded: listeners reopened");
	return 0;
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	(void)ud;
	hvt_log(LOG_NOTICE, "received %s: shutting down", strsignal((int)si->ssi_signo));
	atomic_store(&col.stopping, true);
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	(void)si;
	(void)ud;
	if (reload() < 0) {
		atomic_store(&col.stopping, true);
		return sd_event_exit(sd_event_source_get_event(s), 1);
	}
	return 0;
}

static int run(void)
{
	sd_event *loop = NULL;
	sigset_t ss;
	int rc = 1;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGUSR1);       /* only the receiver thread takes it */
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (open_inbox() < 0)
		return 1;
	/* Started as root: bind the ports and read the keys, give the state
	 * to the user and drop; only then do threads start that read what
	 * forwarders, HTTPS clients or the index send (#15: frames were
	 * parsed as root until the drop). */
	if (open_receiver() < 0)
		goto out;
	struct hvt_conf_section *hs = hvt_conf_find(col.conf, "http");
	if (hs && !(col.http = http_open(hs)))
		goto out;
	/* what start-up created as root must stay usable after the drop */
	if (hvt_hand_over(col.state_dir, cstr("user"), cstr("group")) < 0 ||
	    hvt_hand_over(col.inbox_dir, cstr("user"), cstr("group")) < 0 ||
	    hvt_drop_privileges(cstr("user"), cstr("group")) < 0)
		goto out;
	if (hvt_instances_start(&col.inst, HVT_KIND_BIT(HVT_PLUGIN_INDEX)) < 0)
		goto out;
	long bound = bindings_load(col.bindings, col.index);
	if (bound < 0)
		goto out;
	hvt_debug("%ld streams bound to their hosts as the index holds them", bound);
	/* before the indexer: alerts evaluate what it stored but they never saw */
	if (col.alerts && alerts_open(col.alerts, col.state_dir, col.index, col.inbox) < 0)
		goto out;
	col.indexer = indexer_new(col.index, col.inbox,
				  (int)hvt_conf_int(col.sec_col, col_schema_collector, "batch_size"),
				  hvt_conf_duration_ms(col.sec_col, col_schema_collector, "batch_delay"));
	if (col.alerts)
		indexer_set_hook(col.indexer, alerts_stored, col.alerts);
	if (indexer_start(col.indexer) < 0 || receiver_start(col.receiver) < 0)
		goto out;
	if (col.http) {
		struct http_ctx hc = { col.index, &col.host, col.receiver, col.indexer, col.inbox };
		if (http_serve(col.http, &hc) < 0)
			goto out;
	}
	/* actions run (and spawn programs) as the unprivileged user */
	if (col.alerts && (hvt_instances_start(&col.inst, HVT_KIND_BIT(HVT_PLUGIN_ACTION)) < 0 ||
			   alerts_start(col.alerts, col.receiver) < 0))
		goto out;

	sd_event_default(&loop);
	sd_event_add_signal(loop, NULL, SIGTERM, on_stop_signal, NULL);
	sd_event_add_signal(loop, NULL, SIGINT, on_stop_signal, NULL);
	sd_event_add_signal(loop, NULL, SIGHUP, on_hup, NULL);
	sd_event_set_watchdog(loop, 1);
	hvt_log(LOG_NOTICE, "started: inbox %s, index [%s]", col.inbox_dir, col.index->name);
	hvt_daemon_notify("READY=1\nSTATUS=running");
	rc = sd_event_loop(loop) != 0 ? 1 : 0;   /* an error, or exit code 1 */
	hvt_daemon_notify("STOPPING=1");
out:
	atomic_store(&col.stopping, true);
	alerts_stop(col.alerts);      /* its service thread writes through the receiver */
	http_stop(col.http);          /* reads the receiver's and indexer's counters */
	col.http = NULL;
	if (col.receiver)
		receiver_free(col.receiver);
	if (col.indexer) {
		indexer_stop(col.indexer, DRAIN_MS);
		indexer_free(col.indexer);
	}
	alerts_free(col.alerts);      /* the indexer's hook is gone */
	col.alerts = NULL;
	hvt_instances_stop(&col.inst, PLUGIN_KINDS);
	hvt_spool_close(col.inbox);
	health_close();
	bindings_free(col.bindings);
	hvt_conf_list_free(col.host_map);
	sd_event_unref(loop);
	return rc;
}

/* Every key this daemon understands: its own sections and every plugin of
 * its kinds that the plugin path holds (docs/config.md is checked against
 * this output). */
static void print_schema(const char *plugin_dir)
{
	hvt_conf_schema_markdown("collector", col_schema_collector);
	hvt_conf_schema_markdown("listen", col_schema_listen);
	hvt_conf_schema_markdown("inbox", col_schema_inbox);
	hvt_conf_schema_markdown("alerting", col_schema_alerting);
	hvt_conf_schema_markdown("alert:NAME", col_schema_alert);
	hvt_conf_schema_markdown("http", col_schema_http);
	hvt_plugins_schema_markdown(plugin_dir, PLUGIN_KINDS);
}

int main(int argc, char **argv)
{
	struct hvt_daemon_args a;
	int rc;

	hvt_log_init(PROG);
	hvt_daemon_parse_args(argc, argv, PROG, HVT_SYSCONFDIR "/collector.conf", "inbox",
			      "Receive hvtrail events over RELP/TLS and index each exactly once.", &a);
	if (a.debug)
		hvt_log_set_level(LOG_DEBUG);
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
		hvt_instances_list(&col.inst, stdout);
		rc = 0;
	} else if (a.check_store || a.repair_store) {
		struct hvt_spool_opts o = inbox_opts();
		rc = hvt_daemon_check_store(&o, col.state_dir, PROG, a.repair_store);
	} else {
		rc = run();
	}
	alerts_free(col.alerts);      /* --check-config and friends */
	hvt_instances_free(&col.inst);
	hvt_conf_free(col.conf);
	for (int i = 0; i < col.nold_confs; i++)
		hvt_conf_free(col.old_confs[i]);
	free(col.old_confs);
	free(col.state_dir);
	free(col.inbox_dir);
	free((char *)col.host.run_user);
	free((char *)col.host.run_group);
	return rc;
}
