/* cmd_migrations.c - `hvtrail migrations`: one row per migration.
 *
 * The collector gives every record of one migration - the source's start
 * and end (with query-migrate's figures), the target's start and end, and
 * colo.entered when the migration set up a COLO pair - the same link id
 * (collector/correlate.c).  This view reads those records and folds each
 * link into one row: the VM, where it went from and to, when it started,
 * how it ended, and the source's figures. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cli.h"
#include "pager.h"
#include "table.h"
#include "event.h"
#include "index_open.h"
#include "output.h"
#include "timefmt.h"
#include "util.h"

#define CMD "migrations"
#define PARSED (-1)
/* How far before --since / after --until the records of a migration that
 * started in the window may lie (as far as the collector looks back). */
#define SPAN_US (7LL * 86400 * 1000000)

struct mig_opts {
	struct cli_index_opts idx;
	const char *vm, *host, *link;
	long long since_us, until_us;
	long long lines;              /* the newest N; 0 = all */
	bool reverse;
	enum out_format fmt;
};

/* One linked record, decoded. */
struct rec {
	char *link;
	struct hvt_event *ev;
};

struct recs {
	struct rec *v;
	size_t n, cap;
	size_t undecodable;
};

enum { SIDE_NONE, SIDE_SOURCE, SIDE_TARGET };

/* One migration. */
struct mig {
	const char *link;
	const char *vm_name, *vm_uuid;
	const char *from, *to;
	long long started, ended;     /* ended 0 = not yet */
	const char *outcome;
	long long total_ms, down_ms, setup_ms, passes, ram;   /* -1 = unknown */
	const char *error;
	const char *target_error;     /* how the destination ended, when it failed */
	bool late;
	int events;
};

/* Rows come from our own index, validated by the collector under its limits. */
static const struct hvt_event_limits stored_limits = {
	.max_json = SIZE_MAX / 2, .max_depth = 1000, .max_field = SIZE_MAX / 2,
	.max_msg = SIZE_MAX / 2,
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "One row per live migration: the records both hosts reported (start, end,\n"
	       "figures) that the collector linked as one migration.\n\n%s\n"
	       "Filters (all must match):\n"
	       "      --vm NAME|UUID     migrations of this VM\n"
	       "      --host HOST        migrations from or to this hypervisor\n"
	       "  -S, --since TIME       migrations that started at or after TIME\n"
	       "  -U, --until TIME       ... at or before TIME\n"
	       "      --link ID          the migration with this link id\n"
	       "  TIME as for 'hvtrail query'.\n\n"
	       "Output:\n"
	       "  -n, --lines N|all      only the newest N migrations\n"
	       "  -r, --reverse          newest first\n"
	       "  -o, --output FORMAT    table (default), json (one object per line) or csv\n"
	       "  -h, --help             this help\n\n"
	       "Columns: the start time, the VM, source host -> target host ('?' when that\n"
	       "side reported nothing), the outcome (completed, failed, cancelled, colo = the\n"
	       "migration set up a COLO pair, in-progress = no end reported yet), and the\n"
	       "source's figures from query-migrate: total time (for a failed or cancelled\n"
	       "migration, for which QEMU gives none, the time between QEMU's own start and\n"
	       "end events), downtime, RAM passes, RAM transferred, and the error of a failed\n"
	       "migration ('; destination: CAUSE' when the destination failed too, e.g. its\n"
	       "QEMU vanished; json: target_error).  json and csv also give the\n"
	       "link id (for 'hvtrail query --link'), the VM's UUID, the end time, the setup\n"
	       "time, whether a record was observed late (after a reconnect) and the number\n"
	       "of records; unknown values are left out (json) or empty (csv).\n\n"
	       "Exit status: 0 done, 2 usage error, 3 cannot open the index, 4 index or output\n"
	       "error.\n",
	       CLI_PROG, CMD, cli_index_help);
}

static bool take_option(struct mig_opts *o, int c, const char *arg)
{
	char *end;

	switch (c) {
	case 'V': o->vm = arg; return true;
	case 'H': o->host = arg; return true;
	case 'L': o->link = arg; return true;
	case 'S': return cli_parse_time(CMD, "--since", arg, &o->since_us);
	case 'U': return cli_parse_time(CMD, "--until", arg, &o->until_us);
	case 'r': o->reverse = true; return true;
	case 'n':
		if (strcmp(arg, "all") == 0) {
			o->lines = 0;
			return true;
		}
		errno = 0;
		o->lines = strtoll(arg, &end, 10);
		if (!*arg || *end || errno || o->lines <= 0) {
			cli_error(CMD, "-n needs a positive number or 'all', not '%s'", arg);
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

static int parse(int argc, char **argv, struct mig_opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "vm", required_argument, NULL, 'V' },
		{ "host", required_argument, NULL, 'H' },
		{ "link", required_argument, NULL, 'L' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "lines", required_argument, NULL, 'n' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:S:U:n:ro:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return CLI_OK;
		}
		if (c == '?' || !take_option(o, c, optarg))
			return cli_usage_error(CMD);
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	if (o->since_us && o->until_us && o->since_us > o->until_us) {
		cli_error(CMD, "--since is later than --until: nothing can match");
		return CLI_USAGE;
	}
	return PARSED;
}

/* ---- reading the linked records ------------------------------------------ */

static int add_rec(void *arg, const struct hvt_row *row)
{
	struct recs *r = arg;
	char err[256];

	if (!row->link || !*row->link)
		return 0;   /* never correlated (stored before the collector linked) */
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, &stored_limits, false,
						   err, sizeof err);
	if (!ev || !ev->type) {
		hvt_event_free(ev);
		r->undecodable++;
		return 0;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = hvt_realloc(r->v, r->cap * sizeof *r->v);
	}
	r->v[r->n++] = (struct rec){ hvt_strdup(row->link), ev };
	return 0;
}

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].link);
		hvt_event_free(r->v[i].ev);
	}
	free(r->v);
}

static int fetch(struct cli_index *ix, const struct mig_opts *o, struct recs *r)
{
	/* a side's vm.vanished is linked when it cut the migration short */
	static const char *const globs[] = { "migration.*", "colo.entered", "vm.vanished" };
	struct hvt_query q = { 0 };

	q.vm = o->vm;
	if (o->link) {
		q.link = o->link;
		return ix->ops->query(&ix->inst, &q, add_rec, r);
	}
	q.since_us = o->since_us ? o->since_us - SPAN_US : 0;
	q.until_us = o->until_us ? o->until_us + SPAN_US : 0;
	for (size_t i = 0; i < HVT_ARRAY_SIZE(globs); i++) {
		q.type_glob = globs[i];
		if (ix->ops->query(&ix->inst, &q, add_rec, r) < 0)
			return -1;
	}
	return 0;
}

static int by_link_then_time(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->link, y->link);

	if (c)
		return c;
	return x->ev->ts_us < y->ev->ts_us ? -1 : x->ev->ts_us > y->ev->ts_us;
}

/* ---- folding one link into a row ------------------------------------------ */

static const char *dstr(const struct hvt_event *ev, const char *key)
{
	json_object *v;

	if (!ev->data || !json_object_object_get_ex(ev->data, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long dint(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return -1;
	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
						     : (long long)json_object_get_double(v);
}

/* Which side reported it: the target runs migration.incoming.*, and
 * colo.entered says its mode; libvirt's journal tells the direction. */
static int side_of(const struct hvt_event *ev)
{
	const char *t = ev->type;

	if (strcmp(t, "vm.vanished") == 0) {
		const char *role = dstr(ev, "migration_role"), *last = dstr(ev, "last_status");
		if ((role && strcmp(role, "incoming") == 0) || (!role && last && strcmp(last, "inmigrate") == 0))
			return SIDE_TARGET;
		return SIDE_SOURCE;
	}
	if (strcmp(t, "colo.entered") == 0) {
		const char *mode = dstr(ev, "mode");
		if (!mode)
			return SIDE_NONE;
		return strcmp(mode, "secondary") == 0 ? SIDE_TARGET : SIDE_SOURCE;
	}
	if (hvt_str_has_prefix(t, "migration.incoming."))
		return SIDE_TARGET;
	const char *dir = dstr(ev, "direction");
	if (dir && strcmp(dir, "incoming") == 0)
		return SIDE_TARGET;
	return hvt_str_has_prefix(t, "migration.") ? SIDE_SOURCE : SIDE_NONE;
}

static bool is_end(const char *t)
{
	return strcmp(t, "colo.entered") == 0 || strcmp(t, "vm.vanished") == 0 ||
	       hvt_str_has_suffix(t, ".completed") || hvt_str_has_suffix(t, ".failed") ||
	       hvt_str_has_suffix(t, ".cancelled");
}

static void take_figures(struct mig *m, const struct hvt_event *ev)
{
	json_object *ram, *dur;

	m->total_ms = dint(ev->data, "total_time_ms");
	if (m->total_ms < 0 && ev->data && json_object_object_get_ex(ev->data, "duration_ms", &dur))
		m->total_ms = (long long)(json_object_get_double(dur) + 0.5);
	m->down_ms = dint(ev->data, "downtime_ms");
	m->setup_ms = dint(ev->data, "setup_time_ms");
	m->passes = dint(ev->data, "passes");
	m->ram = ev->data && json_object_object_get_ex(ev->data, "ram", &ram) ?
		 dint(ram, "transferred") : -1;
}

static void fold(struct mig *m, const struct rec *v, size_t n)
{
	bool src_ok = false, src_fail = false, src_cancel = false, tgt_ok = false, tgt_fail = false;
	bool colo = false, have_src_figures = false;
	const char *tgt_error = NULL, *tgt_cause = NULL, *incident_cause = NULL;

	memset(m, 0, sizeof *m);
	m->link = v[0].link;
	m->started = v[0].ev->ts_us;
	m->total_ms = m->down_ms = m->setup_ms = m->passes = m->ram = -1;
	m->events = (int)n;
	for (size_t i = 0; i < n; i++) {
		const struct hvt_event *ev = v[i].ev;
		const char *t = ev->type;
		bool qmp = ev->source && strcmp(ev->source, "qmp") == 0;

		if (ev->host && ev->host[0] == '(') {
			/* the collector's incident: both sides' causes, no side's record */
			incident_cause = incident_cause ? incident_cause : dstr(ev, "target_cause");
			continue;
		}
		int side = side_of(ev);

		if (!m->vm_name || (qmp && ev->vm_name))
			m->vm_name = ev->vm_name ? ev->vm_name : m->vm_name;
		if (!m->vm_uuid)
			m->vm_uuid = ev->vm_uuid;
		if (side == SIDE_SOURCE && !m->from)
			m->from = ev->host;
		if (side == SIDE_TARGET && !m->to)
			m->to = ev->host;
		m->late |= (ev->flags & HVT_EV_LATE) != 0;
		if (!is_end(t))
			continue;
		m->ended = HVT_MAX(m->ended, ev->ts_us);
		if (strcmp(t, "colo.entered") == 0) {
			colo = true;
		} else if (strcmp(t, "vm.vanished") == 0) {
			/* that side's QEMU died while the migration ran */
			if (side == SIDE_SOURCE) {
				src_fail = true;
				if (!m->error)
					m->error = dstr(ev, "cause");
			} else {
				tgt_fail = true;
				tgt_cause = dstr(ev, "cause");
			}
		} else if (side == SIDE_SOURCE) {
			src_ok |= hvt_str_has_suffix(t, ".completed");
			src_fail |= hvt_str_has_suffix(t, ".failed");
			src_cancel |= hvt_str_has_suffix(t, ".cancelled");
			if (dstr(ev, "error") && (!m->error || qmp))
				m->error = dstr(ev, "error");
			/* the figures are the source's, from query-migrate (libvirt's
			 * journal reports a failure without them) */
			if (!have_src_figures && (dint(ev->data, "total_time_ms") >= 0 ||
						  dint(ev->data, "duration_ms") >= 0 ||
						  dint(ev->data, "passes") >= 0)) {
				take_figures(m, ev);
				have_src_figures = true;
			}
		} else if (side == SIDE_TARGET) {
			tgt_ok |= hvt_str_has_suffix(t, ".completed");
			tgt_fail |= hvt_str_has_suffix(t, ".failed");
			if (dstr(ev, "error") && !tgt_error)
				tgt_error = dstr(ev, "error");
		}
	}
	if (colo)
		m->outcome = "colo";
	else if (src_ok)
		m->outcome = "completed";
	else if (src_cancel)
		m->outcome = "cancelled";
	else if (src_fail)
		m->outcome = "failed";
	else if (tgt_ok)
		m->outcome = "completed";
	else if (tgt_fail)
		m->outcome = "failed";
	else
		m->outcome = "in-progress";
	if (strcmp(m->outcome, "failed") == 0) {
		/* the destination's own account: its QEMU vanishing says more than
		 * the incoming.failed before an orderly exit */
		m->target_error = tgt_cause ? tgt_cause : tgt_error ? tgt_error : incident_cause;
		if (!m->error) {
			m->error = m->target_error;
			m->target_error = NULL;
		}
	}
}

/* ---- printing ------------------------------------------------------------- */

static void fmt_ms(char *buf, size_t size, long long ms)
{
	if (ms < 0)
		snprintf(buf, size, "-");
	else if (ms >= 10000)
		snprintf(buf, size, "%.1f s", (double)ms / 1000.0);
	else if (ms >= 1000)
		snprintf(buf, size, "%.3f s", (double)ms / 1000.0);
	else
		snprintf(buf, size, "%lld ms", ms);
}

static void fmt_bytes(char *buf, size_t size, long long b)
{
	if (b < 0)
		snprintf(buf, size, "-");
	else if (b >= 1LL << 30)
		snprintf(buf, size, "%.1f GiB", (double)b / (double)(1LL << 30));
	else if (b >= 1LL << 20)
		snprintf(buf, size, "%.1f MiB", (double)b / (double)(1LL << 20));
	else if (b >= 1LL << 10)
		snprintf(buf, size, "%.1f KiB", (double)b / 1024.0);
	else
		snprintf(buf, size, "%lld B", b);
}

static const struct table_col mig_cols[] = {
	{ "STARTED (UTC)", false, 0 }, { "VM", false, 40 }, { "FROM -> TO", false, 84 },
	{ "OUTCOME", false, 0 }, { "TOTAL", true, 0 }, { "DOWNTIME", true, 0 }, { "PASSES", true, 0 },
	{ "RAM", true, 0 }, { "ERROR", false, 0 },
};

static void table_row(struct table *t, const struct mig *m)
{
	char ts[40], route[600], total[32], down[32], passes[32], ram[32];

	hvt_format_rfc3339(m->started, ts, sizeof ts);
	ts[19] = 'Z';
	ts[20] = '\0';
	snprintf(route, sizeof route, "%s -> %s", m->from ? m->from : "?", m->to ? m->to : "?");
	fmt_ms(total, sizeof total, m->total_ms);
	fmt_ms(down, sizeof down, m->down_ms);
	if (m->passes >= 0)
		snprintf(passes, sizeof passes, "%lld", m->passes);
	else
		snprintf(passes, sizeof passes, "-");
	fmt_bytes(ram, sizeof ram, m->ram);
	struct hvt_buf err = { 0 };
	hvt_buf_append_str(&err, m->error ? m->error : "");
	if (m->target_error)
		hvt_buf_printf(&err, "; destination: %s", m->target_error);
	const char *cells[] = { ts, m->vm_name ? m->vm_name : m->vm_uuid, route, m->outcome, total, down, passes,
				ram, hvt_buf_cstr(&err) };
	table_add(t, cells, NULL);
	hvt_buf_free(&err);
}

static void json_num(json_object *o, const char *key, long long v)
{
	if (v >= 0)
		json_object_object_add(o, key, json_object_new_int64(v));
}

static void json_row(struct hvt_buf *line, const struct mig *m)
{
	json_object *o = json_object_new_object(), *vm = json_object_new_object();
	char ts[40];

	json_object_object_add(o, "link", json_object_new_string(m->link));
	if (m->vm_name)
		json_object_object_add(vm, "name", json_object_new_string(m->vm_name));
	if (m->vm_uuid)
		json_object_object_add(vm, "uuid", json_object_new_string(m->vm_uuid));
	json_object_object_add(o, "vm", vm);
	if (m->from)
		json_object_object_add(o, "from", json_object_new_string(m->from));
	if (m->to)
		json_object_object_add(o, "to", json_object_new_string(m->to));
	hvt_format_rfc3339(m->started, ts, sizeof ts);
	json_object_object_add(o, "started", json_object_new_string(ts));
	if (m->ended) {
		hvt_format_rfc3339(m->ended, ts, sizeof ts);
		json_object_object_add(o, "ended", json_object_new_string(ts));
	}
	json_object_object_add(o, "outcome", json_object_new_string(m->outcome));
	json_num(o, "total_time_ms", m->total_ms);
	json_num(o, "downtime_ms", m->down_ms);
	json_num(o, "setup_time_ms", m->setup_ms);
	json_num(o, "passes", m->passes);
	json_num(o, "ram_transferred", m->ram);
	if (m->error)
		json_object_object_add(o, "error", json_object_new_string(m->error));
	if (m->target_error)
		json_object_object_add(o, "target_error", json_object_new_string(m->target_error));
	json_object_object_add(o, "late", json_object_new_boolean(m->late));
	json_object_object_add(o, "events", json_object_new_int(m->events));
	hvt_buf_append_str(line, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	hvt_buf_append(line, "\n", 1);
	json_object_put(o);
}

static void csv_num(const struct out *o, struct hvt_buf *line, long long v)
{
	char b[32] = "";

	if (v >= 0)
		snprintf(b, sizeof b, "%lld", v);
	out_csv_field(o, line, b, false);
}

static void csv_row(const struct out *o, struct hvt_buf *line, const struct mig *m)
{
	char started[40], ended[40] = "";

	hvt_format_rfc3339(m->started, started, sizeof started);
	if (m->ended)
		hvt_format_rfc3339(m->ended, ended, sizeof ended);
	out_csv_field(o, line, started, false);
	out_csv_field(o, line, m->link, false);
	out_csv_field(o, line, m->vm_name, false);
	out_csv_field(o, line, m->vm_uuid, false);
	out_csv_field(o, line, m->from, false);
	out_csv_field(o, line, m->to, false);
	out_csv_field(o, line, m->outcome, false);
	out_csv_field(o, line, ended, false);
	csv_num(o, line, m->total_ms);
	csv_num(o, line, m->down_ms);
	csv_num(o, line, m->setup_ms);
	csv_num(o, line, m->passes);
	csv_num(o, line, m->ram);
	char *error = m->target_error ? hvt_asprintf("%s; destination: %s", m->error ? m->error : "",
						      m->target_error) : NULL;
	out_csv_field(o, line, error ? error : m->error, true);
	free(error);
}

static int print_rows(struct out *o, const struct mig *rows, size_t n, const struct mig_opts *opts)
{
	struct hvt_buf line = { 0 };
	size_t first = opts->lines > 0 && (size_t)opts->lines < n ? n - (size_t)opts->lines : 0;
	struct table t;

	if (o->fmt == OUT_TABLE) {
		table_init(&t, mig_cols, (int)HVT_ARRAY_SIZE(mig_cols), o->f, out_screen(o));
		for (size_t k = first; k < n; k++)
			table_row(&t, &rows[opts->reverse ? n - 1 - (k - first) : k]);
		table_flush(&t, false);
		table_free(&t);
		if (n == first)
			printf(OUT_NO_ENTRIES "\n");
		return cli_output_status(CMD);
	}
	if (o->fmt == OUT_CSV)
		hvt_buf_append_str(&line, "started,link,vm_name,vm_uuid,from,to,outcome,ended,"
				   "total_time_ms,downtime_ms,setup_time_ms,passes,"
				   "ram_transferred,error\n");
	for (size_t k = first; k < n; k++) {
		const struct mig *m = &rows[opts->reverse ? n - 1 - (k - first) : k];
		if (o->fmt == OUT_JSON)
			json_row(&line, m);
		else
			csv_row(o, &line, m);
		if (line.len >= 65536) {
			if (fwrite(line.data, 1, line.len, o->f) != line.len)
				break;
			hvt_buf_reset(&line);
		}
	}
	if (line.len)
		(void)fwrite(line.data, 1, line.len, o->f);
	hvt_buf_free(&line);
	return cli_output_status(CMD);
}

static bool wanted(const struct mig *m, const struct mig_opts *o)
{
	if (o->host && !(m->from && strcmp(m->from, o->host) == 0) &&
	    !(m->to && strcmp(m->to, o->host) == 0))
		return false;
	if (o->since_us && m->started < o->since_us)
		return false;
	if (o->until_us && m->started > o->until_us)
		return false;
	return true;
}

static int by_start(const void *a, const void *b)
{
	const struct mig *x = a, *y = b;

	if (x->started != y->started)
		return x->started < y->started ? -1 : 1;
	return strcmp(x->link, y->link);
}

static int run(const struct mig_opts *o)
{
	struct cli_index ix;
	struct recs r = { 0 };
	struct mig *rows = NULL;
	size_t nrows = 0;
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	if (fetch(&ix, o, &r) < 0) {
		cli_error(CMD, "the index failed while answering (see above)");
		rc = CLI_FAILED;
		goto out;
	}
	if (r.undecodable)
		cli_error(CMD, "%zu stored migration records cannot be decoded; left out",
			  r.undecodable);
	if (r.n)
		qsort(r.v, r.n, sizeof *r.v, by_link_then_time);
	rows = hvt_calloc(r.n ? r.n : 1, sizeof *rows);
	for (size_t i = 0, j; i < r.n; i = j) {
		for (j = i + 1; j < r.n && strcmp(r.v[j].link, r.v[i].link) == 0; j++)
			;
		fold(&rows[nrows], &r.v[i], j - i);
		if (wanted(&rows[nrows], o))
			nrows++;
	}
	if (nrows)
		qsort(rows, nrows, sizeof *rows, by_start);
	struct out out;
	pager_start(o->idx.no_pager);
	out_init(&out, o->fmt, stdout);
	rc = print_rows(&out, rows, nrows, o);
	if (rc == CLI_OK && nrows == 0)
		rc = CLI_NEGATIVE;      /* as query: nothing matched */
out:
	free(rows);
	recs_free(&r);
	cli_index_close(&ix);
	return rc;
}

int cmd_migrations(int argc, char **argv)
{
	struct mig_opts o;
	int rc = parse(argc, argv, &o);

	return rc == PARSED ? run(&o) : rc;
}
