/* instance.c - see instance.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "log.h"
#include "plugin.h"
#include "util.h"

static const struct hvt_core_section *core_find(const struct hvt_core_section *core,
						 const struct hvt_conf_section *s)
{
	for (const struct hvt_core_section *c = core; c && c->name; c++) {
		if (strcmp(c->name, s->name) == 0)
			return c;
		if (c->repeatable && strcmp(c->name, s->kind) == 0 && *s->label)
			return c;
	}
	return NULL;
}

void hvt_instances_configure(struct hvt_conf *conf, const struct hvt_core_section *core,
			     const char *plugin_path, unsigned kinds, const struct hvt_host *host,
			     struct hvt_instances *out)
{
	memset(out, 0, sizeof *out);
	for (struct hvt_conf_section *s = conf->sections; s; s = s->next) {
		const struct hvt_core_section *c = core_find(core, s);
		enum hvt_plugin_kind kind;
		char err[512];

		if (strcmp(s->name, "include") == 0)
			continue;       /* handled by the loader */
		if (c) {
			hvt_conf_check_section(conf, s, c->schema);
			continue;
		}
		if (!hvt_plugin_section_kind(s->kind, &kind)) {
			hvt_conf_error(conf, s->file, s->line, "unknown section [%s]", s->name);
			continue;
		}
		if (!(kinds & HVT_KIND_BIT(kind))) {
			hvt_conf_error(conf, s->file, s->line, "[%s]: %s plugins do not belong in this daemon's config",
				       s->name, hvt_plugin_kind_name(kind));
			continue;
		}
		const struct hvt_plugin *p = hvt_plugin_load(s->kind, plugin_path, kind, err, sizeof err);
		if (!p) {
			hvt_conf_error(conf, s->file, s->line, "[%s]: %s", s->name, err);
			continue;
		}
		out->v = hvt_realloc(out->v, sizeof(struct hvt_instance) * (size_t)(out->n + 1));
		hvt_instance_bind(&out->v[out->n++], p, conf, s, host);
	}
}

int hvt_instance_bind(struct hvt_instance *x, const struct hvt_plugin *p, struct hvt_conf *conf,
		      struct hvt_conf_section *s, const struct hvt_host *host)
{
	int errors = conf->errors;

	memset(x, 0, sizeof *x);
	x->plugin = p;
	x->name = s->name;
	x->config = conf;
	x->conf = s;
	x->host = host;
	hvt_conf_check_section(conf, s, p->conf_keys);
	if (p->conf_fields)     /* hvt_plugin_load checked them against the schema */
		x->opts = hvt_conf_fill(s, p->conf_keys, p->conf_fields, p->conf_size);
	return conf->errors == errors ? 0 : -1;
}

int hvt_instance_check(struct hvt_instance *x)
{
	return x->plugin->check ? x->plugin->check(x) : 0;
}

int hvt_instance_init(struct hvt_instance *x)
{
	if (x->plugin->init(x) < 0) {
		hvt_log(LOG_ERR, "[%s]: initialisation failed", x->name);
		x->plugin->stop(x);        /* the contract: stop follows a failed init too */
		return -1;
	}
	return 0;
}

int hvt_instance_run(struct hvt_instance *x)
{
	if (x->plugin->run && x->plugin->run(x) < 0) {
		hvt_log(LOG_ERR, "[%s]: could not start", x->name);
		x->plugin->stop(x);
		return -1;
	}
	return 0;
}

int hvt_instance_start(struct hvt_instance *x)
{
	return hvt_instance_init(x) < 0 ? -1 : hvt_instance_run(x);
}

void hvt_instance_stop(struct hvt_instance *x)
{
	x->plugin->stop(x);
}

int hvt_instances_check(struct hvt_instances *in)
{
	int bad = 0;

	for (int i = 0; i < in->n; i++)
		if (hvt_instance_check(&in->v[i]) < 0)
			bad++;
	return bad ? -1 : 0;
}

int hvt_instances_init(struct hvt_instances *in, unsigned kinds)
{
	if (!in->running)
		in->running = hvt_calloc((size_t)in->n + 1, sizeof(bool));
	if (!in->ran)
		in->ran = hvt_calloc((size_t)in->n + 1, sizeof(bool));
	for (int i = 0; i < in->n; i++) {
		struct hvt_instance *x = &in->v[i];
		if (!(kinds & HVT_KIND_BIT(x->plugin->kind)) || in->running[i])
			continue;
		if (hvt_instance_init(x) < 0)
			return -1;
		in->running[i] = true;
		in->ran[i] = false;
	}
	return 0;
}

int hvt_instances_run(struct hvt_instances *in, unsigned kinds)
{
	for (int i = 0; in->running && i < in->n; i++) {
		struct hvt_instance *x = &in->v[i];
		if (!(kinds & HVT_KIND_BIT(x->plugin->kind)) || !in->running[i] || in->ran[i])
			continue;
		if (hvt_instance_run(x) < 0) {
			in->running[i] = false;    /* stopped by hvt_instance_run */
			return -1;
		}
		in->ran[i] = true;
	}
	return 0;
}

int hvt_instances_start(struct hvt_instances *in, unsigned kinds)
{
	return hvt_instances_init(in, kinds) < 0 ? -1 : hvt_instances_run(in, kinds);
}

void hvt_instances_stop(struct hvt_instances *in, unsigned kinds)
{
	for (int i = in->n - 1; i >= 0; i--) {
		struct hvt_instance *x = &in->v[i];
		if (!(kinds & HVT_KIND_BIT(x->plugin->kind)) || !in->running || !in->running[i])
			continue;
		hvt_instance_stop(x);
		in->running[i] = false;
	}
}

struct hvt_instance *hvt_instances_find(struct hvt_instances *in, enum hvt_plugin_kind kind)
{
	for (int i = 0; i < in->n; i++)
		if (in->v[i].plugin->kind == kind)
			return &in->v[i];
	return NULL;
}

void hvt_instances_list(const struct hvt_instances *in, FILE *f)
{
	for (int i = 0; i < in->n; i++)
		fprintf(f, "%-14s %-7s %s\n", in->v[i].plugin->name,
			hvt_plugin_kind_name(in->v[i].plugin->kind), in->v[i].plugin->summary);
}

static void print_plugin_schema(void *arg, const struct hvt_plugin *p)
{
	(void)arg;
	hvt_conf_schema_markdown(p->name, p->conf_keys);
}

void hvt_plugins_schema_markdown(const char *plugin_path, unsigned kinds)
{
	hvt_plugin_foreach(plugin_path, kinds, print_plugin_schema, NULL);
}

void hvt_instances_free(struct hvt_instances *in)
{
	free(in->v);
	free(in->running);
	free(in->ran);
	memset(in, 0, sizeof *in);
}

char *hvt_instance_state_dir(const struct hvt_instance *inst)
{
	if (!inst->host || !inst->host->state_dir || !*inst->host->state_dir)
		return NULL;
	char *name = hvt_strdup(inst->name);
	for (char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.' || *p == ':'))
			*p = '_';
	char *dir = hvt_asprintf("%s/%s", inst->host->state_dir, name);
	free(name);
	return dir;
}
