/* cmd_stats.c - `hvtrail stats`: per host, what the index holds and what the
 * host's forwarder last reported about itself (spool depth and the like). */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cli.h"
#include "index_open.h"
#include "output.h"
#include "timefmt.h"
#include "util.h"

#define CMD "stats"
#define PARSED (-1)

struct stats_opts {
	struct cli_index_opts idx;
	const char *host;
	bool streams, json;
};

struct host_row {
	char *host;
	uint64_t events, missing;
	struct hvt_stream_state *sv;  /* its streams */
	size_t nsv;
	long long last_ts, last_indexed;
	char *report;                 /* forwarder stats JSON, or NULL */
	long long report_at;
};

struct host_table {
	struct host_row *v;
	size_t n;
	const char *only;             /* --host */
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "Per host: events stored, streams (forwarder spool generations), events missing\n"
	       "from them (see '%s gaps'), the time of the last event, and the latest stats\n"
	       "its forwarder reported (spool depth, acknowledged position, ...).\n\n%s\n"
	       "Options:\n"
	       "      --host HOST        only this host\n"
	       "      --streams          also one line per stream\n"
	       "  -o, --output FORMAT    table (default) or json (one object per host)\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 done, 2 usage error, 3 cannot open the index, 4 index or output error.\n",
	       CLI_PROG, CMD, CLI_PROG, cli_index_help);
}

static int parse(int argc, char **argv, struct stats_opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "host", required_argument, NULL, 'H' },
		{ "streams", no_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return CLI_OK;
		} else if (c == 'H') {
			o->host = optarg;
		} else if (c == 's') {
			o->streams = true;
		} else if (c == 'o') {
			if (!cli_table_or_json(CMD, optarg, &o->json))
				return cli_usage_error(CMD);
		} else if (c == '?' || !cli_index_option(&o->idx, c, optarg)) {
			return cli_usage_error(CMD);
		}
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	return PARSED;
}

/* ---- gathering --------------------------------------------------------- */

static struct host_row *host_get(struct host_table *t, const char *host)
{
	for (size_t i = t->n; i-- > 0;)   /* streams come sorted: the last one is the likely match */
		if (strcmp(t->v[i].host, host) == 0)
			return &t->v[i];
	t->v = hvt_realloc(t->v, (t->n + 1) * sizeof *t->v);
	struct host_row *h = &t->v[t->n++];
	memset(h, 0, sizeof *h);
	h->host = hvt_strdup(host);
	return h;
}

/* Only a forwarder's stream (HVT_STREAM_LEN hex digits) counts 1, 2, 3, ...;
 * the collector's "syslog" stream uses hashes as seq, so it misses nothing. */
static bool sequential(const char *stream)
{
	size_t n = strspn(stream, "0123456789abcdef");

	return n == HVT_STREAM_LEN && stream[n] == '\0';
}

static int add_stream(void *arg, const struct hvt_stream_state *s)
{
	struct host_row *h = host_get(arg, s->host);

	h->events += s->count;
	if (sequential(s->stream) && s->max_seq > s->count)
		h->missing += s->max_seq - s->count;
	h->last_ts = HVT_MAX(h->last_ts, s->last_ts_us);
	h->last_indexed = HVT_MAX(h->last_indexed, s->last_indexed_us);
	h->sv = hvt_realloc(h->sv, (h->nsv + 1) * sizeof *h->sv);
	h->sv[h->nsv++] = *s;
	return 0;
}

static int add_report(void *arg, const char *host, const char *json, long long at_us)
{
	struct host_table *t = arg;

	if (t->only && strcmp(t->only, host) != 0)
		return 0;
	struct host_row *h = host_get(t, host);
	free(h->report);
	h->report = hvt_strdup(json);
	h->report_at = at_us;
	return 0;
}

static int by_host(const void *a, const void *b)
{
	return strcmp(((const struct host_row *)a)->host, ((const struct host_row *)b)->host);
}

static int gather(struct cli_index *ix, struct host_table *t)
{
	if (ix->ops->streams(&ix->inst, t->only, add_stream, t) < 0 ||
	    (ix->ops->host_stats && ix->ops->host_stats(&ix->inst, add_report, t) < 0)) {
		cli_error(CMD, "the index failed while answering (see above)");
		return CLI_FAILED;
	}
	qsort(t->v, t->n, sizeof *t->v, by_host);
	return CLI_OK;
}

static void table_free(struct host_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].host);
		free(t->v[i].sv);
		free(t->v[i].report);
	}
	free(t->v);
}

/* ---- table output ------------------------------------------------------ */

static const char *when(long long us, char *buf, size_t size)
{
	if (!us)
		return "-";
	hvt_format_rfc3339(us, buf, size);
	buf[19] = 'Z';
	buf[20] = '\0';
	return buf;
}

/* The forwarder's JSON as "a.b=1 c=x" on one line; nested keys joined by dots. */
static void flatten(struct hvt_buf *b, const char *prefix, json_object *o)
{
	json_object_object_foreach(o, key, val) {
		char *path = *prefix ? hvt_asprintf("%s.%s", prefix, key) : hvt_strdup(key);
		if (json_object_is_type(val, json_type_object)) {
			flatten(b, path, val);
		} else {
			hvt_buf_printf(b, "%s%s=", b->len ? " " : "", path);
			out_sanitize(b, json_object_is_type(val, json_type_string)
				     ? json_object_get_string(val)
				     : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
		}
		free(path);
	}
}

static void print_report(const struct host_row *h)
{
	struct hvt_buf b = { 0 };
	json_object *o = h->report ? json_tokener_parse(h->report) : NULL;

	if (!h->report)
		hvt_buf_append_str(&b, "(no report from its forwarder)");
	else if (o && json_object_is_type(o, json_type_object))
		flatten(&b, "", o);
	else
		out_sanitize(&b, h->report);
	printf("    forwarder: %s\n", hvt_buf_cstr(&b));
	json_object_put(o);
	hvt_buf_free(&b);
}

static void print_table(const struct host_table *t, bool streams)
{
	char a[40], b[40], c[40];

	printf("%-20s %10s %7s %8s  %-20s  %-20s  %s\n", "HOST", "EVENTS", "STREAMS", "MISSING",
	       "LAST EVENT (UTC)", "LAST STORED (UTC)", "LAST REPORT (UTC)");
	for (size_t i = 0; i < t->n; i++) {
		const struct host_row *h = &t->v[i];
		struct hvt_buf host = { 0 };
		out_sanitize(&host, h->host);
		printf("%-20s %10" PRIu64 " %7zu %8" PRIu64 "  %-20s  %-20s  %s\n", hvt_buf_cstr(&host),
		       h->events, h->nsv, h->missing, when(h->last_ts, a, sizeof a),
		       when(h->last_indexed, b, sizeof b), when(h->report_at, c, sizeof c));
		hvt_buf_free(&host);
		for (size_t j = 0; streams && j < h->nsv; j++)
			printf("    stream %s: %" PRIu64 " events, highest seq %" PRIu64 ", last event %s\n",
			       h->sv[j].stream, h->sv[j].count, h->sv[j].max_seq,
			       when(h->sv[j].last_ts_us, a, sizeof a));
		print_report(h);
	}
}

/* ---- JSON output ------------------------------------------------------- */

static json_object *json_time(long long us)
{
	char buf[40];

	if (!us)
		return NULL;
	hvt_format_rfc3339(us, buf, sizeof buf);
	return json_object_new_string(buf);
}

static json_object *streams_json(const struct host_row *h)
{
	json_object *a = json_object_new_array();

	for (size_t j = 0; j < h->nsv; j++) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "stream", json_object_new_string(h->sv[j].stream));
		json_object_object_add(s, "events", json_object_new_int64((int64_t)h->sv[j].count));
		json_object_object_add(s, "max_seq", json_object_new_int64((int64_t)h->sv[j].max_seq));
		json_object_object_add(s, "last_event", json_time(h->sv[j].last_ts_us));
		json_object_object_add(s, "last_stored", json_time(h->sv[j].last_indexed_us));
		json_object_array_add(a, s);
	}
	return a;
}

static void print_json(const struct host_table *t, bool streams)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct host_row *h = &t->v[i];
		json_object *o = json_object_new_object();
		json_object *report = h->report ? json_tokener_parse(h->report) : NULL;
		if (h->report && !report)
			report = json_object_new_string(h->report);   /* keep what was sent */
		json_object_object_add(o, "host", json_object_new_string(h->host));
		json_object_object_add(o, "events", json_object_new_int64((int64_t)h->events));
		json_object_object_add(o, "streams", json_object_new_int64((int64_t)h->nsv));
		json_object_object_add(o, "missing", json_object_new_int64((int64_t)h->missing));
		json_object_object_add(o, "last_event", json_time(h->last_ts));
		json_object_object_add(o, "last_stored", json_time(h->last_indexed));
		json_object_object_add(o, "forwarder", report);
		json_object_object_add(o, "forwarder_reported", json_time(h->report_at));
		if (streams)
			json_object_object_add(o, "stream_list", streams_json(h));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
}

static int run(const struct stats_opts *o)
{
	struct cli_index ix;
	struct host_table t = { .only = o->host };
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	rc = gather(&ix, &t);
	if (rc == CLI_OK) {
		if (o->json)
			print_json(&t, o->streams);
		else
			print_table(&t, o->streams);
		rc = cli_output_status(CMD);
	}
	table_free(&t);
	cli_index_close(&ix);
	return rc;
}

int cmd_stats(int argc, char **argv)
{
	struct stats_opts o;
	int rc = parse(argc, argv, &o);

	return rc == PARSED ? run(&o) : rc;
}
