/* test_mkindex.c - for the CLI tests: store events into an index the way
 * the collector does.  Reads one event JSON per line from stdin and stores
 * the lines as received (the exact text is what `query -o json` must print).
 * A line "#stats HOST JSON" records a forwarder stats report instead;
 * "#link ID JSON" stores the event with that correlation id (a migration).
 *
 *   test_mkindex DB [BATCH] < events.jsonl */
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

struct pending {
	struct hvt_stored *items;
	struct hvt_event **evs;
	char **raws;
	char **links;
	size_t n;
	uint64_t inbox;
};

static int flush(struct hvt_instance *inst, struct pending *p)
{
	const struct hvt_index_ops *ops = inst->plugin->ops;
	struct hvt_index_batch b = { .items = p->items, .n = p->n, .inbox_seq = ++p->inbox };
	int rc = ops->store(inst, &b);

	for (size_t i = 0; i < p->n; i++) {
		hvt_event_free(p->evs[i]);
		free(p->raws[i]);
		free(p->links[i]);
		p->links[i] = NULL;
	}
	p->n = 0;
	return rc;
}

static int stats_line(struct hvt_instance *inst, char *line)
{
	const struct hvt_index_ops *ops = inst->plugin->ops;
	char *host = line + 7, *json = strchr(host, ' ');

	if (!json)
		return -1;
	*json++ = '\0';
	return ops->put_host_stats(inst, host, json, hvt_now_us());
}

static int add_event(struct pending *p, char *line, size_t len, size_t lineno)
{
	char err[256], *link = NULL;

	if (strncmp(line, "#link ", 6) == 0) {
		char *sp = strchr(line + 6, ' ');
		if (!sp) {
			fprintf(stderr, "line %zu: #link ID JSON\n", lineno);
			return -1;
		}
		link = hvt_strndup(line + 6, (size_t)(sp - line - 6));
		len -= (size_t)(sp + 1 - line);
		line = sp + 1;
	}
	struct hvt_event *ev = hvt_event_from_json(line, len, NULL, true, err, sizeof err);

	if (!ev) {
		fprintf(stderr, "line %zu: %s\n", lineno, err);
		free(link);
		return -1;
	}
	p->evs[p->n] = ev;
	p->raws[p->n] = hvt_strndup(line, len);
	p->links[p->n] = link;
	p->items[p->n] = (struct hvt_stored){ .ev = ev, .raw = p->raws[p->n], .raw_len = len,
					      .peer = "127.0.0.1", .indexed_us = hvt_now_us(),
					      .link = link };
	p->n++;
	return 0;
}

static int load(struct hvt_instance *inst, size_t batch)
{
	struct pending p = { hvt_calloc(batch, sizeof(struct hvt_stored)),
			     hvt_calloc(batch, sizeof(struct hvt_event *)), hvt_calloc(batch, sizeof(char *)),
			     hvt_calloc(batch, sizeof(char *)), 0, 0 };
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
			rc = stats_line(inst, line);
		else
			rc = add_event(&p, line, (size_t)len, lineno);
		if (rc == 0 && p.n == batch)
			rc = flush(inst, &p);
	}
	if (rc == 0 && p.n)
		rc = flush(inst, &p);
	free(line);
	free(p.items);
	free(p.evs);
	free(p.raws);
	free(p.links);
	return rc;
}

int main(int argc, char **argv)
{
	char err[512];
	const struct hvt_plugin *pl;
	struct hvt_conf *conf;
	struct hvt_instance inst = { 0 };
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DB [BATCH] < events.jsonl\n", argv[0]);
		return 2;
	}
	hvt_log_init("test_mkindex");
	pl = hvt_plugin_load("idx_sqlite", NULL, HVT_PLUGIN_INDEX, err, sizeof err);
	if (!pl) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	char *text = hvt_asprintf("[idx_sqlite]\npath = %s\n", argv[1]);
	conf = hvt_conf_load_string(text, "mkindex", "test_mkindex");
	free(text);
	if (hvt_instance_bind(&inst, pl, conf, hvt_conf_find(conf, "idx_sqlite"), NULL) < 0 ||
	    hvt_instance_check(&inst) < 0 || hvt_instance_start(&inst) < 0)
		return 1;
	rc = load(&inst, argc > 2 ? (size_t)atoi(argv[2]) : 1000);
	hvt_instance_stop(&inst);
	hvt_conf_free(conf);
	return rc == 0 ? 0 : 1;
}
