/* cmd_query.c - `hvtrail query`: events by VM, host, type and time. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "filter.h"
#include "pager.h"
#include "query.h"
#include "util.h"

#define CMD "query"
#define FOLLOW_DEFAULT_LINES 10
#define PARSED (-1)   /* parse(): go on and run */

struct query_opts {
	struct cli_index_opts idx;
	struct hvt_query q;
	long long lines;              /* the newest N; 0 = all */
	bool lines_given, reverse, follow;
	int case_sensitive;           /* -1: decide from the pattern */
	enum out_format fmt;
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "Show stored events, oldest first, like journalctl.\n\n%s\n"
	       "Filters (all must match):\n"
	       "      --vm NAME|UUID     events of this VM (by name or UUID)\n"
	       "      --host HOST        events from this hypervisor\n"
	       "  -t, --type GLOB        event types matching a shell glob ('migration.*')\n"
	       "  -S, --since TIME       events that happened at or after TIME\n"
	       "  -U, --until TIME       ... at or before TIME\n"
	       "      --id ID            the event with this id (<stream>-<seq>)\n"
	       "      --link ID          events correlated by this id (a migration; see\n"
	       "                         'hvtrail migrations' for one row per migration)\n"
	       "  -p, --priority PRIO    events of this severity or more important: a name (emerg,\n"
	       "                         alert, crit, err, warning, notice, info, debug) or 0-7;\n"
	       "                         FROM..TO for a range ('err..warning')\n"
	       "  -g, --grep PATTERN     events whose message matches PATTERN, a POSIX extended\n"
	       "                         regular expression (as grep -E); ignores case when the\n"
	       "                         pattern has no capital letter, like journalctl\n"
	       "      --case-sensitive[=yes|no]  match -g with (or without) regard to case\n"
	       "  TIME is '2026-11-22 10:00' (local), '2026-11-22T10:00:00Z', 'now', 'today',\n"
	       "  'yesterday', '1 hour ago', '-30m', 'in 5 min' or '@EPOCH'.\n\n"
	       "Output:\n"
	       "  -n, --lines N|all      only the newest N events (default with -f: %d)\n"
	       "  -r, --reverse          newest first\n"
	       "  -o, --output FORMAT    table (default), json (each stored event exactly as\n"
	       "                         received, one per line) or csv\n"
	       "  -f, --follow           keep printing new events as they are stored; stop with\n"
	       "                         Ctrl-C\n"
	       "      --no-pager         do not pipe the output into $PAGER (less) on a terminal\n"
	       "      --timeline         one VM (--vm) across hosts, a migration or failover as one\n"
	       "                         row ('hvtrail query --timeline --help')\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 done, 1 no event matched (the table says '-- No entries --'),\n"
	       "2 usage error, 3 cannot open the index, 4 index or output error.\n",
	       CLI_PROG, CMD, cli_index_help, FOLLOW_DEFAULT_LINES);
}

static bool parse_lines(const char *s, long long *out)
{
	char *end;

	if (strcmp(s, "all") == 0) {
		*out = 0;
		return true;
	}
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (!*s || *end || errno || *out <= 0) {
		cli_error(CMD, "-n needs a positive number or 'all', not '%s'", s);
		return false;
	}
	return true;
}

/* -p: journalctl's priorities (filter.h, shared with the HTTPS API). */
static bool parse_priority(const char *arg, uint8_t *mask)
{
	char err[200];

	if (hvt_priority_mask_parse(arg, mask, err, sizeof err) == 0)
		return true;
	cli_error(CMD, "-p: %s", err);
	return false;
}

/* -g: refused here if it is no pattern; its case decided as journalctl
 * does (filter.h). */
static bool grep_ready(struct query_opts *o)
{
	char err[200];

	if (!o->q.grep)
		return true;
	if (hvt_grep_prepare(o->q.grep, o->case_sensitive, false, &o->q.grep_icase, err, sizeof err) == 0)
		return true;
	cli_error(CMD, "-g '%s' is %s", o->q.grep, err);
	return false;
}

/* One option into o; false (reported) when its value is wrong. */
static bool take_option(struct query_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'V': o->q.vm = arg; return true;
	case 'H': o->q.host = arg; return true;
	case 't': o->q.type_glob = arg; return true;
	case 'I': o->q.id = arg; return true;
	case 'L': o->q.link = arg; return true;
	case 'S': return cli_parse_time(CMD, "--since", arg, &o->q.since_us);
	case 'U': return cli_parse_time(CMD, "--until", arg, &o->q.until_us);
	case 'n': o->lines_given = true; return parse_lines(arg, &o->lines);
	case 'r': o->reverse = true; return true;
	case 'f': o->follow = true; return true;
	case 'p': return parse_priority(arg, &o->q.severities);
	case 'g': o->q.grep = arg; return true;
	case 'C':
		if (!arg || strcmp(arg, "yes") == 0 || strcmp(arg, "true") == 0 || strcmp(arg, "1") == 0)
			o->case_sensitive = 1;
		else if (strcmp(arg, "no") == 0 || strcmp(arg, "false") == 0 || strcmp(arg, "0") == 0)
			o->case_sensitive = 0;
		else {
			cli_error(CMD, "--case-sensitive takes yes or no, not '%s'", arg);
			return false;
		}
		return true;
	case 'o':
		if (out_format_parse(arg, &o->fmt))
			return true;
		cli_error(CMD, "-o takes table, json or csv, not '%s'", arg);
		return false;
	}
	return cli_index_option(&o->idx, c, arg);
}

static int check_combination(struct query_opts *o)
{
	if (o->q.since_us && o->q.until_us && o->q.since_us > o->q.until_us) {
		cli_error(CMD, "--since is later than --until: nothing can match");
		return CLI_USAGE;
	}
	if (o->follow && o->reverse) {
		cli_error(CMD, "--follow prints new events as they come, so it cannot go --reverse");
		return CLI_USAGE;
	}
	if (o->follow && !o->lines_given)
		o->lines = FOLLOW_DEFAULT_LINES;
	return PARSED;
}

static int parse(int argc, char **argv, struct query_opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "vm", required_argument, NULL, 'V' },
		{ "host", required_argument, NULL, 'H' },
		{ "type", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "id", required_argument, NULL, 'I' },
		{ "link", required_argument, NULL, 'L' },
		{ "lines", required_argument, NULL, 'n' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "follow", no_argument, NULL, 'f' },
		{ "priority", required_argument, NULL, 'p' },
		{ "grep", required_argument, NULL, 'g' },
		{ "case-sensitive", optional_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	o->case_sensitive = -1;
	while ((c = getopt_long(argc, argv, "c:t:S:U:n:ro:fp:g:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return CLI_OK;
		}
		if (c == '?' || !take_option(o, c, optarg))
			return cli_usage_error(CMD);
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	if (!grep_ready(o))
		return CLI_USAGE;
	return check_combination(o);
}

/* ---- printing ---------------------------------------------------------- */

/* The newest rows, kept to be printed oldest first. */
struct tail {
	struct hvt_row *rows;
	size_t n, cap;
};

static int tail_add(void *arg, const struct hvt_row *row)
{
	struct tail *t = arg;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->rows = hvt_realloc(t->rows, t->cap * sizeof *t->rows);
	}
	struct hvt_row *r = &t->rows[t->n++];
	*r = *row;
	/* the row's strings live only during the callback */
	r->raw = hvt_strndup(row->raw, row->raw_len);
	r->peer = row->peer ? hvt_strdup(row->peer) : NULL;
	r->link = row->link ? hvt_strdup(row->link) : NULL;
	return 0;
}

static void tail_free(struct tail *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free((char *)t->rows[i].raw);
		free((char *)t->rows[i].peer);
		free((char *)t->rows[i].link);
	}
	free(t->rows);
}

struct printer {
	struct out *out;
	int64_t max_cursor;
};

static int print_row(void *arg, const struct hvt_row *row)
{
	struct printer *p = arg;

	p->max_cursor = HVT_MAX(p->max_cursor, row->cursor);
	return out_row(p->out, row) < 0 ? 1 : 0;   /* stop reading once output fails */
}

int query_output_status(struct out *out)
{
	out_flush(out);
	if (!out->err || out->err == EPIPE)
		return CLI_OK;            /* a closed pipe: the reader has all it wanted */
	cli_error(CMD, "cannot write the output: %s", strerror(out->err));
	return CLI_FAILED;
}

int query_print(struct cli_index *ix, const struct hvt_query *q, long long lines, bool reverse,
		struct out *out, int64_t *max_cursor)
{
	struct hvt_query qq = *q;
	struct printer p = { out, 0 };
	struct tail t = { 0 };
	int rc;

	if (lines == 0 || reverse) {
		/* stream straight through: everything, or the newest N newest first */
		qq.newest_first = reverse;
		qq.limit = lines;
		rc = ix->ops->query(&ix->inst, &qq, print_row, &p);
	} else {
		qq.newest_first = true;
		qq.limit = lines;
		rc = ix->ops->query(&ix->inst, &qq, tail_add, &t);
		for (size_t i = t.n; rc == 0 && i-- > 0;)
			if (print_row(&p, &t.rows[i]) != 0)
				break;
		tail_free(&t);
	}
	*max_cursor = p.max_cursor;
	if (rc < 0) {
		cli_error(CMD, "the index failed while answering (see above)");
		return CLI_FAILED;
	}
	return query_output_status(out);
}

static int run(struct query_opts *o)
{
	struct cli_index ix;
	struct out out;
	int64_t printed = 0, mark = 0;
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	/* journalctl pages, except when following */
	if (!o->follow)
		pager_start(o->idx.no_pager);
	out_init(&out, o->fmt, stdout);
	/* Take the index's high-water mark before printing, so the follow
	 * loop starts after everything that was already there. */
	if (o->follow && follow_watermark(&ix, &mark) < 0)
		rc = CLI_FAILED;
	if (rc == CLI_OK)
		rc = query_print(&ix, &o->q, o->lines, o->reverse, &out, &printed);
	if (rc == CLI_OK && o->follow && !out.err) {
		out.flush_each = true;
		rc = follow_run(&ix, &o->q, &out, HVT_MAX(mark, printed));
	} else if (rc == CLI_OK) {
		/* "-- No entries --" and exit 1, so that a mistyped --vm does
		 * not look like a quiet trail (docs: hvtrail(1), EXIT STATUS) */
		out_finish(&out);
		rc = query_output_status(&out);
		if (rc == CLI_OK && out.rows == 0)
			rc = CLI_NEGATIVE;
	}
	if (out.table)
		out_finish(&out);
	cli_index_close(&ix);
	return rc;
}

int cmd_query(int argc, char **argv)
{
	struct query_opts o;
	int rc = parse(argc, argv, &o);

	return rc == PARSED ? run(&o) : rc;
}
