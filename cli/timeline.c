/* timeline.c - `hvtrail query --timeline --vm X`: the life of one VM across
 * hosts, oldest first.
 *
 * A migration is reported by both hosts (start, end, figures) and a COLO
 * failover by both sides; an operator asking "what happened to this VM"
 * wants each as one row.  Migration records come linked by the collector
 * (collector/correlate.c gives all records of one migration one link id,
 * the same grouping `hvtrail migrations` shows); COLO failovers are not
 * linked, so the colo.failover events of the VM that lie within
 * FAILOVER_WINDOW of each other are taken as one failover.  Every other
 * event is a row of its own. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pager.h"
#include "event.h"
#include "index_open.h"
#include "timefmt.h"
#include "timeline.h"
#include "util.h"

#define CMD "query"
#define PARSED (-1)
/* Both sides of a COLO pair report the failover within moments (the lab
 * saw well under a second); a later failover of the same VM is another. */
#define FAILOVER_WINDOW_US (60LL * 1000000)

struct tl_opts {
	struct cli_index_opts idx;
	const char *vm, *host;
	long long since_us, until_us;
	enum out_format fmt;
};

struct rec {
	struct hvt_event *ev;
	char *link;
	bool used;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static const struct hvt_event_limits stored_limits = {
	.max_json = SIZE_MAX / 2, .max_depth = 1000, .max_field = SIZE_MAX / 2, .max_msg = SIZE_MAX / 2,
};

static void help(void)
{
	printf("Usage: %s %s --timeline --vm NAME|UUID [OPTIONS]\n\n"
	       "One VM across hosts, oldest first: every event of the VM, except that the\n"
	       "records of one live migration (both hosts' start and end, linked by the\n"
	       "collector) are one row 'migration  FROM -> TO  outcome, figures', and the\n"
	       "colo.failover events both sides of a COLO pair report are one row saying\n"
	       "where the service runs now (or that both sides claim it: split brain).\n\n%s\n"
	       "Options:\n"
	       "      --timeline         this view (of 'hvtrail query')\n"
	       "      --vm NAME|UUID     the VM (required)\n"
	       "      --host HOST        only rows that involve this hypervisor\n"
	       "  -S, --since TIME       from TIME (as for 'hvtrail query')\n"
	       "  -U, --until TIME       up to TIME\n"
	       "  -o, --output FORMAT    table (default), json (one object per row) or csv\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 done, 2 usage error, 3 cannot open the index, 4 index or output error.\n",
	       CLI_PROG, CMD, cli_index_help);
}

static int parse(int argc, char **argv, struct tl_opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "timeline", no_argument, NULL, 'T' },
		{ "vm", required_argument, NULL, 'V' },
		{ "host", required_argument, NULL, 'H' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	bool ok;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:S:U:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': help(); return CLI_OK;
		case 'T': ok = true; break;
		case 'V': o->vm = optarg; ok = true; break;
		case 'H': o->host = optarg; ok = true; break;
		case 'S': ok = cli_parse_time(CMD, "--since", optarg, &o->since_us); break;
		case 'U': ok = cli_parse_time(CMD, "--until", optarg, &o->until_us); break;
		case 'o':
			ok = out_format_parse(optarg, &o->fmt);
			if (!ok)
				cli_error(CMD, "-o takes table, json or csv, not '%s'", optarg);
			break;
		case '?': ok = false; break;
		default: ok = cli_index_option(&o->idx, c, optarg);
		}
		if (!ok)
			return cli_usage_error(CMD);
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	if (!o->vm) {
		cli_error(CMD, "--timeline shows one VM: give --vm NAME|UUID");
		return cli_usage_error(CMD);
	}
	return PARSED;
}

/* ---- reading ------------------------------------------------------------ */

static int add_rec(void *arg, const struct hvt_row *row)
{
	struct recs *r = arg;
	char err[256];
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, &stored_limits, false,
						   err, sizeof err);

	if (!ev || !ev->type || !ev->host) {
		hvt_event_free(ev);
		return 0;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = hvt_realloc(r->v, r->cap * sizeof *r->v);
	}
	r->v[r->n++] = (struct rec){ ev, row->link && *row->link ? hvt_strdup(row->link) : NULL, false };
	return 0;
}

static const char *dstr(const struct hvt_event *ev, const char *key)
{
	json_object *v;

	if (!ev->data || !json_object_object_get_ex(ev->data, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long dnum(const struct hvt_event *ev, const char *key)
{
	json_object *v;

	if (!ev->data || !json_object_object_get_ex(ev->data, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return -1;
	return (long long)(json_object_get_double(v) + 0.5);
}

static bool dtrue(const struct hvt_event *ev, const char *key)
{
	json_object *v;

	return ev->data && json_object_object_get_ex(ev->data, key, &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* ---- one migration: the records of one link ---------------------------- */

static bool migration_record(const struct rec *r)
{
	const char *t = r->ev->type;

	return r->link && (hvt_str_has_prefix(t, "migration.") || strcmp(t, "colo.entered") == 0 ||
			   strcmp(t, "vm.vanished") == 0);
}

/* The collector's incidents (its own host): conclusions about a migration
 * or a failover, folded into that row, never a side of it. */
static bool incident_record(const struct rec *r)
{
	return r->ev->host[0] == '(' && (hvt_str_has_prefix(r->ev->type, "colo.") ||
					 hvt_str_has_prefix(r->ev->type, "migration."));
}

/* The target reports migration.incoming.*, colo.entered says its mode,
 * libvirt's journal says the direction. */
static bool target_side(const struct hvt_event *ev)
{
	const char *m = dstr(ev, "mode"), *dir = dstr(ev, "direction");

	if (strcmp(ev->type, "colo.entered") == 0)
		return m && strcmp(m, "secondary") == 0;
	if (strcmp(ev->type, "vm.vanished") == 0) {
		const char *role = dstr(ev, "migration_role"), *last = dstr(ev, "last_status");
		return (role && strcmp(role, "incoming") == 0) || (!role && last && strcmp(last, "inmigrate") == 0);
	}
	return hvt_str_has_prefix(ev->type, "migration.incoming.") || (dir && strcmp(dir, "incoming") == 0);
}

static void fmt_ms(struct hvt_buf *b, const char *what, long long ms)
{
	if (ms < 0)
		return;
	if (ms >= 1000)
		hvt_buf_printf(b, ", %s %.3f s", what, (double)ms / 1000.0);
	else
		hvt_buf_printf(b, ", %s %lld ms", what, ms);
}

static void fold_migration(struct tl_row *row, struct rec *v, size_t n)
{
	const char *from = NULL, *to = NULL, *outcome = NULL, *tgt_outcome = NULL, *error = NULL;
	long long total = -1, down = -1, ended = 0;
	json_object *o = json_object_new_object(), *ids = json_object_new_array();
	struct hvt_buf s = { 0 };

	row->ts = v[0].ev->ts_us;
	for (size_t i = 0; i < n; i++) {
		const struct hvt_event *ev = v[i].ev;
		const char *t = ev->type;
		bool tgt = target_side(ev), vanished = strcmp(t, "vm.vanished") == 0;
		bool end = strcmp(t, "colo.entered") == 0 || hvt_str_has_suffix(t, ".completed") ||
			   hvt_str_has_suffix(t, ".failed") || hvt_str_has_suffix(t, ".cancelled") || vanished;
		v[i].used = true;
		json_object_array_add(ids, json_object_new_string(ev->id ? ev->id : ""));
		if (incident_record(&v[i]))
			continue;
		row->ts = HVT_MIN(row->ts, ev->ts_us);
		if (tgt && !to)
			to = ev->host;
		if (!tgt && !from)
			from = ev->host;
		if (!end)
			continue;
		ended = HVT_MAX(ended, ev->ts_us);
		/* a side's QEMU that vanished mid-way failed the migration */
		const char *oc = strcmp(t, "colo.entered") == 0 ? "colo" : vanished ? "failed" : strrchr(t, '.') + 1;
		if (strcmp(oc, "colo") == 0 || (!tgt && !outcome))
			outcome = oc;
		else if (tgt && !tgt_outcome)
			tgt_outcome = oc;
		if (!error)
			error = dstr(ev, vanished ? "cause" : "error");
		if (!tgt && total < 0 && !vanished) {   /* the source's figures, from query-migrate */
			total = dnum(ev, "total_time_ms");
			if (total < 0)     /* failed or cancelled: QEMU's own start to end */
				total = dnum(ev, "duration_ms");
			down = dnum(ev, "downtime_ms");
		}
	}
	outcome = outcome ? outcome : tgt_outcome ? tgt_outcome : "in-progress";
	row->kind = TL_MIGRATION;
	row->type = "migration";
	row->ref = v[0].link;
	row->hosts = hvt_asprintf("%s -> %s", from ? from : "?", to ? to : "?");
	row->host_list = json_object_new_array();
	if (from)
		json_object_array_add(row->host_list, json_object_new_string(from));
	if (to)
		json_object_array_add(row->host_list, json_object_new_string(to));
	hvt_buf_printf(&s, "%s", strcmp(outcome, "colo") == 0 ? "colo: the pair entered COLO" : outcome);
	fmt_ms(&s, "total", total);
	fmt_ms(&s, "downtime", down);
	if (error)
		hvt_buf_printf(&s, ": %s", error);
	row->summary = hvt_strdup(hvt_buf_cstr(&s));
	hvt_buf_free(&s);
	json_object_object_add(o, "link", json_object_new_string(v[0].link));
	if (from)
		json_object_object_add(o, "from", json_object_new_string(from));
	if (to)
		json_object_object_add(o, "to", json_object_new_string(to));
	json_object_object_add(o, "outcome", json_object_new_string(outcome));
	if (ended) {
		char t[40];
		hvt_format_rfc3339(ended, t, sizeof t);
		json_object_object_add(o, "ended", json_object_new_string(t));
	}
	if (total >= 0)
		json_object_object_add(o, "total_time_ms", json_object_new_int64(total));
	if (down >= 0)
		json_object_object_add(o, "downtime_ms", json_object_new_int64(down));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "events", ids);
	row->json = o;
}

/* ---- one COLO failover: both sides' colo.failover ---------------------- */

static void fold_failover(struct tl_row *row, struct rec *v, size_t n)
{
	json_object *o = json_object_new_object(), *sides = json_object_new_array();
	json_object *on = json_object_new_array();
	struct hvt_buf hosts = { 0 }, running = { 0 }, s = { 0 };
	int nrunning = 0;

	row->host_list = json_object_new_array();
	row->ts = v[0].ev->ts_us;
	for (size_t i = 0; i < n; i++) {
		const struct hvt_event *ev = v[i].ev;
		const char *side = dstr(ev, "side"), *reason = dstr(ev, "reason");
		bool here = dtrue(ev, "service_here");
		json_object *e = json_object_new_object();
		v[i].used = true;
		hvt_buf_printf(&hosts, "%s%s", hosts.len ? ", " : "", ev->host);
		json_object_array_add(row->host_list, json_object_new_string(ev->host));
		if (here) {
			hvt_buf_printf(&running, "%s%s", running.len ? " and " : "", ev->host);
			json_object_array_add(on, json_object_new_string(ev->host));
			nrunning++;
		}
		json_object_object_add(e, "host", json_object_new_string(ev->host));
		if (side)
			json_object_object_add(e, "side", json_object_new_string(side));
		if (reason)
			json_object_object_add(e, "reason", json_object_new_string(reason));
		json_object_object_add(e, "service_here", json_object_new_boolean(here));
		json_object_object_add(e, "id", json_object_new_string(ev->id ? ev->id : ""));
		json_object_array_add(sides, e);
		hvt_buf_printf(&s, "%s%s: %s%s%s%s", i ? "; " : " (", ev->host, side ? side : "?",
			       reason ? ", reason " : "", reason ? reason : "", here ? ", runs it" : ", stopped");
	}
	if (n)
		hvt_buf_append_str(&s, ")");
	row->kind = TL_FAILOVER;
	row->type = "colo.failover";
	row->ref = v[0].ev->id;
	row->hosts = hvt_strdup(hvt_buf_cstr(&hosts));
	if (nrunning > 1)
		row->summary = hvt_asprintf("SPLIT BRAIN: both %s run the VM%s", hvt_buf_cstr(&running),
					    hvt_buf_cstr(&s));
	else if (nrunning == 1)
		row->summary = hvt_asprintf("service now on %s%s", hvt_buf_cstr(&running), hvt_buf_cstr(&s));
	else
		row->summary = hvt_asprintf("no side reports running the VM%s", hvt_buf_cstr(&s));
	json_object_object_add(o, "service_on", on);
	json_object_object_add(o, "split_brain", json_object_new_boolean(nrunning > 1));
	json_object_object_add(o, "sides", sides);
	row->json = o;
	hvt_buf_free(&hosts);
	hvt_buf_free(&running);
	hvt_buf_free(&s);
}

static void one_event(struct tl_row *row, struct rec *r)
{
	const struct hvt_event *ev = r->ev;
	json_object *o = json_object_new_object();

	r->used = true;
	row->ts = ev->ts_us;
	row->kind = TL_EVENT;
	row->type = ev->type;
	row->ref = ev->id;
	row->hosts = hvt_strdup(ev->host);
	row->host_list = json_object_new_array();
	json_object_array_add(row->host_list, json_object_new_string(ev->host));
	row->summary = hvt_strdup(ev->msg ? ev->msg : "");
	json_object_object_add(o, "id", json_object_new_string(ev->id ? ev->id : ""));
	json_object_object_add(o, "severity", json_object_new_string(hvt_severity_name(ev->severity)));
	row->json = o;
}

/* Common fields of every JSON row, in front of the kind's own. */
static void json_common(struct tl_row *row)
{
	json_object *o = json_object_new_object();
	char t[40];

	hvt_format_rfc3339(row->ts, t, sizeof t);
	json_object_object_add(o, "time", json_object_new_string(t));
	json_object_object_add(o, "kind", json_object_new_string(row->kind == TL_MIGRATION ? "migration" :
						row->kind == TL_FAILOVER ? "failover" : "event"));
	json_object_object_add(o, "type", json_object_new_string(row->type));
	json_object_object_add(o, "hosts", json_object_get(row->host_list));
	json_object_object_add(o, "summary", json_object_new_string(row->summary));
	json_object_object_foreach(row->json, k, val)
		json_object_object_add(o, k, json_object_get(val));
	json_object_put(row->json);
	row->json = o;
}

/* ---- putting it together ------------------------------------------------ */

static int by_link_then_time(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->link ? x->link : "", y->link ? y->link : "");

	return c ? c : (x->ev->ts_us > y->ev->ts_us) - (x->ev->ts_us < y->ev->ts_us);
}

static int by_time(const void *a, const void *b)
{
	const struct tl_row *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static bool involves(const struct tl_row *r, const char *host)
{
	for (size_t i = 0; i < json_object_array_length(r->host_list); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(r->host_list, i)), host) == 0)
			return true;
	return false;
}

static void row_free(struct tl_row *r)
{
	json_object_put(r->json);
	json_object_put(r->host_list);
	free(r->hosts);
	free(r->summary);
}

static int rec_by_time(const void *a, const void *b)
{
	const struct rec *x = *(const struct rec *const *)a, *y = *(const struct rec *const *)b;

	return (x->ev->ts_us > y->ev->ts_us) - (x->ev->ts_us < y->ev->ts_us);
}

static size_t build_rows(struct recs *r, struct tl_row *rows)
{
	size_t n = 0;

	/* migrations: sorted by link, each run of one link is one row */
	qsort(r->v, r->n, sizeof *r->v, by_link_then_time);
	for (size_t i = 0, j; i < r->n; i = j) {
		for (j = i + 1; j < r->n && r->v[i].link && r->v[j].link && strcmp(r->v[i].link, r->v[j].link) == 0;
		     j++)
			;
		bool all = true;
		for (size_t k = i; k < j; k++)
			all &= migration_record(&r->v[k]);
		if (r->v[i].link && all)
			fold_migration(&rows[n++], &r->v[i], j - i);
	}
	/* the rest in time order; failovers close in time fold into one row */
	struct rec **rest = hvt_calloc(r->n ? r->n : 1, sizeof *rest);
	size_t m = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!r->v[i].used)
			rest[m++] = &r->v[i];
	qsort(rest, m, sizeof *rest, rec_by_time);
	for (size_t i = 0; i < m; i++) {
		if (rest[i]->used)
			continue;
		if (strcmp(rest[i]->ev->type, "colo.failover") != 0) {
			one_event(&rows[n++], rest[i]);
			continue;
		}
		struct rec *group = hvt_calloc(m, sizeof *group);
		json_object *incidents = json_object_new_array();
		size_t g = 0;
		for (size_t k = i; k < m; k++) {
			if (rest[k]->used || llabs(rest[k]->ev->ts_us - rest[i]->ev->ts_us) > FAILOVER_WINDOW_US)
				continue;
			if (strcmp(rest[k]->ev->type, "colo.failover") == 0) {
				group[g++] = *rest[k];
				rest[k]->used = true;
			} else if (incident_record(rest[k]) &&
				   strcmp(rest[k]->ev->type, "colo.protection_restored") != 0) {
				/* the collector's verdict on this failover */
				json_object *x = json_object_new_object();
				json_object_object_add(x, "type", json_object_new_string(rest[k]->ev->type));
				json_object_object_add(x, "id", json_object_new_string(rest[k]->ev->id ? rest[k]->ev->id : ""));
				json_object_array_add(incidents, x);
				rest[k]->used = true;
			}
		}
		fold_failover(&rows[n], group, g);
		json_object_object_add(rows[n++].json, "incidents", incidents);
		free(group);
	}
	free(rest);
	for (size_t i = 0; i < n; i++)
		json_common(&rows[i]);
	qsort(rows, n, sizeof *rows, by_time);
	return n;
}

static int run(const struct tl_opts *o)
{
	struct cli_index ix;
	struct recs r = { 0 };
	struct hvt_query q = { 0 };
	struct tl_row *rows = NULL;
	size_t n = 0, kept = 0;
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	q.vm = o->vm;
	q.since_us = o->since_us;
	q.until_us = o->until_us;
	if (ix.ops->query(&ix.inst, &q, add_rec, &r) < 0) {
		cli_error(CMD, "the index failed while answering (see above)");
		rc = CLI_FAILED;
		goto out;
	}
	rows = hvt_calloc(r.n ? r.n : 1, sizeof *rows);
	n = build_rows(&r, rows);
	for (size_t i = 0; i < n; i++) {
		if (!o->host || involves(&rows[i], o->host))
			rows[kept++] = rows[i];
		else
			row_free(&rows[i]);
	}
	struct out out;
	pager_start(o->idx.no_pager);
	out_init(&out, o->fmt, stdout);
	rc = tl_print(&out, rows, kept);
	if (rc == CLI_OK && kept == 0)
		rc = CLI_NEGATIVE;      /* as query: nothing matched */
out:
	for (size_t i = 0; i < kept; i++)
		row_free(&rows[i]);
	free(rows);
	for (size_t i = 0; i < r.n; i++) {
		hvt_event_free(r.v[i].ev);
		free(r.v[i].link);
	}
	free(r.v);
	cli_index_close(&ix);
	return rc;
}

int cmd_timeline(int argc, char **argv)
{
	struct tl_opts o;
	int rc = parse(argc, argv, &o);

	return rc == PARSED ? run(&o) : rc;
}
