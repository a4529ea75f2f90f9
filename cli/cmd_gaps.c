/* cmd_gaps.c - `hvtrail gaps`: which events never reached the index.
 *
 * Every forwarder numbers the events of a stream 1, 2, 3, ... without holes,
 * so a missing seq is an event that was lost or is still on its way. */
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
#include "util.h"

#define CMD "gaps"
#define PARSED (-1)

struct gaps_opts {
	struct cli_index_opts idx;
	const char *host;
	bool json;
};

struct stream_list {
	struct hvt_stream_state *v;
	size_t n;
};

struct gap_report {
	const struct hvt_stream_state *s;
	bool json;
	uint64_t ranges, missing;
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "List the seq ranges missing from each host's streams (a stream is one\n"
	       "forwarder spool; its events are numbered from 1 without holes).\n\n%s\n"
	       "Options:\n"
	       "      --host HOST        only this host\n"
	       "  -o, --output FORMAT    table (default) or json (one object per missing range)\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 no gaps, 1 gaps found, 2 usage error, 3 cannot open the index,\n"
	       "4 index or output error.\n", CLI_PROG, CMD, cli_index_help);
}

static int parse(int argc, char **argv, struct gaps_opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "host", required_argument, NULL, 'H' },
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

/* Streams are listed first and examined after: a callback of one index
 * query is no place to start another. */
static int add_stream(void *arg, const struct hvt_stream_state *s)
{
	struct stream_list *l = arg;

	l->v = hvt_realloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = *s;
	return 0;
}

static int print_gap(void *arg, uint64_t lo, uint64_t hi)
{
	struct gap_report *r = arg;
	if (r->json) {
		/* made by json-c: the host and stream are the index's, as stored */
		json_object *o = json_object_new_object();
		json_object_object_add(o, "host", json_object_new_string(r->s->host));
		json_object_object_add(o, "stream", json_object_new_string(r->s->stream));
		json_object_object_add(o, "from", json_object_new_int64((int64_t)lo));
		json_object_object_add(o, "to", json_object_new_int64((int64_t)hi));
		json_object_object_add(o, "missing", json_object_new_int64((int64_t)(hi - lo + 1)));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		struct hvt_buf host = { 0 }, stream = { 0 };
		out_sanitize(&host, r->s->host);
		out_sanitize(&stream, r->s->stream);
		printf("%-20s %-18s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 "\n", hvt_buf_cstr(&host),
		       hvt_buf_cstr(&stream), lo, hi, hi - lo + 1);
		hvt_buf_free(&host);
		hvt_buf_free(&stream);
	}
	r->ranges++;
	r->missing += hi - lo + 1;
	return 0;
}

static int count_hosts(const struct stream_list *l)
{
	int n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += i == 0 || strcmp(l->v[i].host, l->v[i - 1].host) != 0;   /* listed sorted by host */
	return n;
}

static void summary(const struct stream_list *l, uint64_t ranges, uint64_t missing, size_t holed)
{
	if (!ranges)
		printf("No gaps: %zu stream%s of %d host%s complete.\n", l->n, l->n == 1 ? "" : "s",
		       count_hosts(l), count_hosts(l) == 1 ? "" : "s");
	else
		printf("%" PRIu64 " event%s missing in %" PRIu64 " range%s, in %zu of %zu streams.\n",
		       missing, missing == 1 ? "" : "s", ranges, ranges == 1 ? "" : "s", holed, l->n);
}

static int report(struct cli_index *ix, const struct stream_list *l, bool json)
{
	uint64_t ranges = 0, missing = 0;
	size_t holed = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct gap_report r = { &l->v[i], json, 0, 0 };
		if (!json && i == 0)
			printf("%-20s %-18s %12s %12s %10s\n", "HOST", "STREAM", "FROM SEQ", "TO SEQ", "MISSING");
		if (ix->ops->gaps(&ix->inst, l->v[i].host, l->v[i].stream, print_gap, &r) < 0) {
			cli_error(CMD, "the index failed while answering (see above)");
			return CLI_FAILED;
		}
		ranges += r.ranges;
		missing += r.missing;
		holed += r.ranges > 0;
	}
	if (!json)
		summary(l, ranges, missing, holed);
	return ranges ? CLI_NEGATIVE : CLI_OK;
}

static int run(const struct gaps_opts *o)
{
	struct cli_index ix;
	struct stream_list l = { 0 };
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	if (ix.ops->streams(&ix.inst, o->host, add_stream, &l) < 0) {
		cli_error(CMD, "the index failed while answering (see above)");
		rc = CLI_FAILED;
	} else {
		rc = report(&ix, &l, o->json);
		int out = cli_output_status(CMD);
		if (out != CLI_OK)
			rc = out;
	}
	free(l.v);
	cli_index_close(&ix);
	return rc;
}

int cmd_gaps(int argc, char **argv)
{
	struct gaps_opts o;
	int rc = parse(argc, argv, &o);

	return rc == PARSED ? run(&o) : rc;
}
