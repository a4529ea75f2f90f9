/* index_ceiling.c - the bare insert ceiling of an index plugin for given
 * rows: what the collector's indexer could do if receiving cost nothing.
 *
 *   index_ceiling PLUGIN 'CONFIG' EVENTS.jsonl [BATCH]
 *   e.g. index_ceiling idx_sqlite '[idx_sqlite]\npath = /tmp/x.db' rows.jsonl
 *
 * Reads the events (one JSON object per line, e.g. `hvtrail query -o json`
 * of a pipeline run), decodes them all first, then times only the store()
 * calls, in batches of BATCH (default 10000, the collector's batch_size).
 * Prints "rows seconds rows_per_second". */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "event.h"
#include "hvtrail-plugin.h"
#include "instance.h"
#include "log.h"
#include "plugin.h"
#include "util.h"

struct row {
	struct hvt_event *ev;
	char *raw;
	size_t len;
};

static struct row *load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, err[256];
	size_t cap = 0, have = 0, alloc = 0;
	ssize_t len;
	struct row *rows = NULL;

	if (!f) {
		perror(path);
		exit(2);
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		struct hvt_event *ev = hvt_event_from_json(line, (size_t)len, NULL, true, err, sizeof err);
		if (!ev) {
			fprintf(stderr, "skipping a line: %s\n", err);
			continue;
		}
		if (have == alloc) {
			alloc = alloc ? alloc * 2 : 65536;
			rows = hvt_realloc(rows, alloc * sizeof *rows);
		}
		rows[have++] = (struct row){ ev, hvt_strndup(line, (size_t)len), (size_t)len };
	}
	free(line);
	fclose(f);
	*n = have;
	return rows;
}

int main(int argc, char **argv)
{
	char err[512], *cfg;
	size_t n, batch = argc > 4 ? strtoul(argv[4], NULL, 10) : 10000;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PLUGIN CONFIG EVENTS.jsonl [BATCH]\n", argv[0]);
		return 2;
	}
	hvt_log_init("index_ceiling");
	hvt_log_set_level(LOG_WARNING);
	/* the shell cannot pass a newline easily: accept a literal \n */
	cfg = hvt_strdup(argv[2]);
	for (char *p = cfg; (p = strstr(p, "\\n"));)
		memmove(p + 1, p + 2, strlen(p + 2) + 1), *p = '\n';
	struct hvt_conf *conf = hvt_conf_load_string(cfg, "ceiling.conf", "index_ceiling");
	const struct hvt_plugin *p = hvt_plugin_load(argv[1], NULL, HVT_PLUGIN_INDEX, err, sizeof err);
	if (!p) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct hvt_conf_section *sec = hvt_conf_find(conf, argv[1]);
	struct hvt_host host = { .prog = "index_ceiling", .hostname = "bench" };
	struct hvt_instance inst;
	if (!sec || hvt_instance_bind(&inst, p, conf, sec, &host) < 0 || hvt_instance_check(&inst) < 0 ||
	    hvt_instance_start(&inst) < 0)
		return 2;
	const struct hvt_index_ops *ops = p->ops;
	struct row *rows = load(argv[3], &n);
	struct hvt_stored *items = hvt_calloc(batch, sizeof *items);
	long long t0 = hvt_mono_us();
	for (size_t off = 0; off < n; off += batch) {
		size_t k = HVT_MIN(batch, n - off);
		for (size_t i = 0; i < k; i++)
			items[i] = (struct hvt_stored){ .ev = rows[off + i].ev, .raw = rows[off + i].raw,
							.raw_len = rows[off + i].len, .peer = "bench",
							.indexed_us = rows[off + i].ev->ts_us };
		struct hvt_index_batch b = { .items = items, .n = k, .inbox_seq = off + k };
		if (ops->store(&inst, &b) < 0) {
			fprintf(stderr, "store() failed\n");
			return 1;
		}
	}
	double s = (double)(hvt_mono_us() - t0) / 1e6;
	printf("%zu %.3f %.0f\n", n, s, s > 0 ? (double)n / s : 0.0);
	hvt_instance_stop(&inst);
	return 0;
}
