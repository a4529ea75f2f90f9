/* index_open.c - see index_open.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "index_open.h"
#include "instance.h"
#include "log.h"
#include "plugin.h"
#include "util.h"

/* The one key of [collector] we need: where its plugins are. */
static const struct hvt_conf_key collector_keys[] = {
	{ "plugin_dir", HVT_CONF_STRING, "", NULL, NULL, 0, 0, 0 },
	HVT_CONF_END
};

bool cli_index_option(struct cli_index_opts *o, int opt, const char *arg)
{
	if (opt == CLI_OPT_DB)
		o->db = arg;
	else if (opt == CLI_OPT_CLICKHOUSE)
		o->clickhouse = arg;
	else if (opt == CLI_OPT_CONFIG)
		o->config = arg;
	else if (opt == CLI_OPT_NO_PAGER)
		o->no_pager = true;
	else
		return false;
	return true;
}

/* A config with one key: [idx_sqlite] path = PATH, or [idx_clickhouse]
 * url = URL.  The value is set after parsing, not spliced into the INI
 * text: a path may hold ';', '#' or leading blanks that INI syntax would eat. */
static struct hvt_conf *one_key_conf(const char *cmd, const char *section, const char *key,
				     const char *option, const char *value)
{
	char *text = hvt_asprintf("[%s]\n%s = -\n", section, key);
	struct hvt_conf *c = hvt_conf_load_string(text, option, CLI_PROG);
	struct hvt_conf_section *s = hvt_conf_find(c, section);

	free(text);
	if (!*value) {
		cli_error(cmd, "%s needs a value", option);
		hvt_conf_free(c);
		return NULL;
	}
	free(s->entries->value);
	s->entries->value = hvt_strdup(value);
	return c;
}

static struct hvt_conf_section *find_index_section(const char *cmd, struct hvt_conf *c)
{
	struct hvt_conf_section *found = NULL;
	enum hvt_plugin_kind kind;

	for (struct hvt_conf_section *s = c->sections; s; s = s->next) {
		if (!hvt_plugin_section_kind(s->kind, &kind) || kind != HVT_PLUGIN_INDEX)
			continue;
		if (found) {
			cli_error(cmd, "%s has two index sections, [%s] and [%s]; the collector uses one",
				  c->path, found->name, s->name);
			return NULL;
		}
		found = s;
	}
	if (!found)
		cli_error(cmd, "%s has no [idx_*] section: it does not say where the index is "
			  "(or use --db PATH or --clickhouse URL)", c->path);
	return found;
}

static const struct hvt_plugin *load_plugin(const char *cmd, struct hvt_conf *c,
					    struct hvt_conf_section *s)
{
	struct hvt_conf_section *col = hvt_conf_find(c, "collector");
	const char *dir = hvt_conf_str(col, collector_keys, "plugin_dir");
	char err[512];
	const struct hvt_plugin *p = hvt_plugin_load(s->kind, dir, HVT_PLUGIN_INDEX, err, sizeof err);

	if (!p) {
		cli_error(cmd, "%s", err);
		return NULL;
	}
	if (!p->ops) {
		cli_error(cmd, "plugin %s has no index operations", s->kind);
		return NULL;
	}
	return p;
}

static struct hvt_conf *load_conf(const char *cmd, const struct cli_index_opts *o)
{
	const char *path = o->config ? o->config : HVT_SYSCONFDIR "/collector.conf";
	struct hvt_conf *c;

	if (o->db)
		return one_key_conf(cmd, "idx_sqlite", "path", "--db", o->db);
	if (o->clickhouse)
		return one_key_conf(cmd, "idx_clickhouse", "url", "--clickhouse", o->clickhouse);
	c = hvt_conf_load(path, CLI_PROG);
	if (!c) {
		cli_error(cmd, "cannot read %s%s", path,
			  o->config ? "" : " (the default; use -c FILE, --db PATH or --clickhouse URL)");
		return NULL;
	}
	if (c->errors) {
		cli_error(cmd, "%s has syntax errors (see above)", path);
		hvt_conf_free(c);
		return NULL;
	}
	return c;
}

int cli_index_open(const char *cmd, const struct cli_index_opts *o, struct cli_index *ix)
{
	struct hvt_conf_section *s;
	const struct hvt_plugin *p;

	memset(ix, 0, sizeof *ix);
	if (!!o->db + !!o->clickhouse + !!o->config > 1) {
		cli_error(cmd, "--db, --clickhouse and --config each name an index; give one");
		return CLI_USAGE;
	}
	ix->conf = load_conf(cmd, o);
	if (!ix->conf)
		return CLI_NO_INDEX;
	if (!(s = find_index_section(cmd, ix->conf)) || !(p = load_plugin(cmd, ix->conf, s)))
		goto fail;
	ix->host = (struct hvt_host){ .prog = CLI_PROG };
	/* the section must pass the plugin's schema and check, as in the collector */
	if (hvt_instance_bind(&ix->inst, p, ix->conf, s, &ix->host) < 0 || hvt_instance_check(&ix->inst) < 0) {
		cli_error(cmd, "%s: [%s] has errors (see above)", ix->conf->path, s->name);
		goto fail;
	}
	ix->inst.readonly = true;
	if (hvt_instance_start(&ix->inst) < 0) {
		cli_error(cmd, "cannot open the index of [%s]", s->name);
		goto fail;
	}
	ix->ops = p->ops;
	ix->open = true;
	return CLI_OK;
fail:
	hvt_conf_free(ix->conf);
	ix->conf = NULL;
	return CLI_NO_INDEX;
}

void cli_index_close(struct cli_index *ix)
{
	if (ix->open)
		hvt_instance_stop(&ix->inst);
	hvt_conf_free(ix->conf);
	memset(ix, 0, sizeof *ix);
}
