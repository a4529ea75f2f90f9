/* instance.h - turning a config file into running plugin instances.
 *
 * A daemon declares its own sections (name + schema); every other section
 * must name a plugin ("in_qmp", "out_relp:backup", ...) of a kind the
 * daemon accepts.  hvt_instances_configure() loads the plugins, checks each
 * section against its schema and reports problems with file and line, so
 * --check-config exercises exactly what a start would. */
#ifndef HVT_INSTANCE_H
#define HVT_INSTANCE_H

#include <stdio.h>

#include "conf.h"
#include "hvtrail-plugin.h"

struct hvt_core_section {
	const char *name;
	const struct hvt_conf_key *schema;
	bool repeatable;          /* "[alert:x]" style labelled sections */
};

struct hvt_instances {
	struct hvt_instance *v;
	int n;
	bool *running;            /* per instance: init succeeded (stop is owed) */
	bool *ran;                /* per instance: run succeeded too */
};

/* Check core sections and load+check plugin sections.  kinds: bitmask of
 * (1u << HVT_PLUGIN_*) accepted.  Problems are counted in conf->errors. */
void hvt_instances_configure(struct hvt_conf *conf, const struct hvt_core_section *core,
			     const char *plugin_path, unsigned kinds, const struct hvt_host *host,
			     struct hvt_instances *out);
/* Run every plugin's optional check(); -1 if any failed. */
int hvt_instances_check(struct hvt_instances *in);
/* init then run every instance of the given kinds; -1 on the first failure. */
int hvt_instances_start(struct hvt_instances *in, unsigned kinds);
/* The same in two steps, for a daemon that starts as root: init opens
 * what needs privileges (sockets, keys), run - after the privilege drop -
 * starts the threads and watchers that read untrusted input. */
int hvt_instances_init(struct hvt_instances *in, unsigned kinds);
int hvt_instances_run(struct hvt_instances *in, unsigned kinds);
/* stop instances of the given kinds that were started, in reverse order. */
void hvt_instances_stop(struct hvt_instances *in, unsigned kinds);
void hvt_instances_free(struct hvt_instances *in);
/* --list-plugins: "name kind summary", one configured instance a line. */
void hvt_instances_list(const struct hvt_instances *in, FILE *f);
/* --print-schema for plugins: every loadable plugin of the given kinds in
 * the search path, its keys as docs/config.md's Markdown tables. */
void hvt_plugins_schema_markdown(const char *plugin_path, unsigned kinds);
/* STATE_DIR/<instance name> for an instance's files across restarts, the
 * name made safe as a file name ([in_qmp:a b] -> in_qmp:a_b); NULL when the
 * host has no state directory (tools).  Not created here. */
char *hvt_instance_state_dir(const struct hvt_instance *inst);
/* The first instance of a kind, or NULL. */
struct hvt_instance *hvt_instances_find(struct hvt_instances *in, enum hvt_plugin_kind kind);

#define HVT_KIND_BIT(k) (1u << (k))

/* One instance on its own (the CLI's index, tools, tests), with the same
 * lifecycle a daemon's instances get (hvtrail-plugin.h).
 * bind: check section s against p's schema, fill its options, set up x;
 *       problems are reported on conf (conf->errors); 0 or -1.
 * check: run p->check if there is one; 0 or -1.
 * start: init, then run if the plugin has one; on failure stop has been
 *       called already; 0 or -1 (logged).
 * stop: stop a started instance. */
int hvt_instance_bind(struct hvt_instance *x, const struct hvt_plugin *p, struct hvt_conf *conf,
		      struct hvt_conf_section *s, const struct hvt_host *host);
int hvt_instance_check(struct hvt_instance *x);
int hvt_instance_start(struct hvt_instance *x);
int hvt_instance_init(struct hvt_instance *x);    /* start's two halves */
int hvt_instance_run(struct hvt_instance *x);
void hvt_instance_stop(struct hvt_instance *x);

#endif
