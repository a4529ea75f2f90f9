/* idx_fill.c - store events into an index the way the collector does, for
 * tests and benchmarks that compare index plugins.
 *
 *   idx_fill CONFIG [BATCH] < events.jsonl
 *
 * CONFIG names one index section ([idx_sqlite] path = ..., or
 * [idx_clickhouse] url = ...).  Every input line is one event JSON, stored
 * exactly as read.  "#link ID JSON" stores an event with a correlation id,
 * "#stats HOST JSON" records a forwarder stats report.  Metadata is
 * deterministic (peer 127.0.0.1, indexed_us = 1.8e15 + line number), so two
 * backends filled from one file must answer every query identically.
 * Prints "stored N in B batches, T s (store() S s)" on stderr: S is the time
 * spent inside the plugin's store(), which bench/clickhouse-ingest.sh sets
 * against bare INSERTs of the same rows. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "event.h"
#include "instance.h"
#include "log.h"
#include "plugin.h"
#include "util.h"

#define BASE_US 1800000000000000LL

struct pending {
	struct hvt_stored *items;
	struct hvt_event **evs;
	char **raws, **links;
	size_t n, batches, stored;
	uint64_t inbox;
	long long store_us;
};

static int flush(struct hvt_instance *inst, struct pending *p)
{
	const struct hvt_index_ops *ops = inst->plugin->ops;
	struct hvt_index_batch b = { .items = p->items, .n = p->n, .inbox_seq = ++p->inbox };
	long long t0 = hvt_mono_us();
	int rc = ops->store(inst, &b);

	p->store_us += hvt_mono_us() - t0;
	for (size_t i = 0; i < p->n; i++) {
		hvt_event_free(p->evs[i]);
		free(p->raws[i]);
		free(p->links[i]);
	}
	p->stored += p->n;
	p->batches++;
	p->n = 0;
	return rc;
}

static int stats_line(struct hvt_instance *inst, char *line, size_t lineno)
{
	const struct hvt_index_ops *ops = inst->plugin->ops;
	char *host = line + 7, *json = strchr(host, ' ');

	if (!json)
		return -1;
	*json++ = '\0';
	return ops->put_host_stats(inst, host, json, BASE_US + (long long)lineno);
}

static int add_event(struct pending *p, char *line, size_t len, size_t lineno)
{
	char err[256], *link = NULL;
	struct hvt_event *ev;

	if (strncmp(line, "#link ", 6) == 0) {
		char *sp = strchr(line + 6, ' ');
		if (!sp)
			return -1;
		link = hvt_strndup(line + 6, (size_t)(sp - line - 6));
		len -= (size_t)(sp + 1 - line);
		line = sp + 1;
	}
	ev = hvt_event_from_json(line, len, NULL, true, err, sizeof err);
	if (!ev) {
		fprintf(stderr, "line %zu: %s\n", lineno, err);
		free(link);
		return -1;
	}
	p->evs[p->n] = ev;
	p->raws[p->n] = hvt_strndup(line, len);
	p->links[p->n] = link;
	p->items[p->n] = (struct hvt_stored){ .ev = ev, .raw = p->raws[p->n], .raw_len = len,
					      .peer = "127.0.0.1", .indexed_us = BASE_US + (long long)lineno,
					      .link = link, .verdict = HVT_VERDICT_UNCHECKED };
	p->n++;
	return 0;
}

static int load(struct hvt_instance *inst, size_t batch, struct pending *p)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (strncmp(line, "#stats ", 7) == 0)
			rc = stats_line(inst, line, lineno);
		else
			rc = add_event(p, line, (size_t)len, lineno);
		if (rc == 0 && p->n == batch)
			rc = flush(inst, p);
	}
	if (rc == 0 && p->n)
		rc = flush(inst, p);
	free(line);
	return rc;
}

static struct hvt_conf_section *index_section(struct hvt_conf *c)
{
	enum hvt_plugin_kind kind;

	for (struct hvt_conf_section *s = c->sections; s; s = s->next)
		if (hvt_plugin_section_kind(s->kind, &kind) && kind == HVT_PLUGIN_INDEX)
			return s;
	return NULL;
}

int main(int argc, char **argv)
{
	char err[512];
	const struct hvt_plugin *pl;
	struct hvt_conf *conf;
	struct hvt_conf_section *s;
	struct hvt_host host = { .prog = "idx_fill", .state_dir = "idx_fill" };
	struct hvt_instance inst = { 0 };
	size_t batch = argc > 2 ? (size_t)atol(argv[2]) : 1000;
	struct pending p = { 0 };
	long long t0;
	int rc;

	if (argc < 2 || batch == 0) {
		fprintf(stderr, "usage: %s CONFIG [BATCH] < events.jsonl\n", argv[0]);
		return 2;
	}
	hvt_log_init("idx_fill");
	conf = hvt_conf_load(argv[1], "idx_fill");
	if (!conf || conf->errors || !(s = index_section(conf))) {
		fprintf(stderr, "%s: no readable config with an [idx_*] section\n", argv[1]);
		return 2;
	}
	pl = hvt_plugin_load(s->kind, NULL, HVT_PLUGIN_INDEX, err, sizeof err);
	if (!pl) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (hvt_instance_bind(&inst, pl, conf, s, &host) < 0 || hvt_instance_check(&inst) < 0 ||
	    hvt_instance_start(&inst) < 0)
		return 1;
	p.items = hvt_calloc(batch, sizeof *p.items);
	p.evs = hvt_calloc(batch, sizeof *p.evs);
	p.raws = hvt_calloc(batch, sizeof *p.raws);
	p.links = hvt_calloc(batch, sizeof *p.links);
	t0 = hvt_mono_us();
	rc = load(&inst, batch, &p);
	hvt_instance_stop(&inst);
	fprintf(stderr, "stored %zu in %zu batches, %.3f s (store() %.3f s)\n", p.stored, p.batches,
		(double)(hvt_mono_us() - t0) / 1e6, (double)p.store_us / 1e6);
	free(p.items);
	free(p.evs);
	free(p.raws);
	free(p.links);
	hvt_conf_free(conf);
	return rc == 0 ? 0 : 1;
}
