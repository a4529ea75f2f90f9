/* cmd_verify.c - hvtrail verify: prove from the index alone that each
 * host's trail is complete and unaltered (docs/integrity.md). */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "event.h"
#include "index_open.h"
#include "output.h"
#include "seal.h"
#include "trail.h"
#include "util.h"
#include "verify.h"

#define CMD "verify"

struct opts {
	struct cli_index_opts idx;
	const char *host;
	const char *ca;
	long long since, until;
	bool json, strict;
};

struct streams {
	struct hvt_stream_state *v;
	size_t n;
};

struct loaded {
	const char *host, *stream;
	struct v_row *rows;
	size_t n, cap;
	struct v_seal *seals;
	size_t nseals, cap_seals;
	const char *ca;
	char **host_map;
	long long next_progress_us;
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "Prove from the index alone that each host's trail is complete and unaltered:\n"
	       "recompute every event's hash, follow the prev links of each stream, and re-check\n"
	       "every seal (signature, certificate, host).  Names the first event that is not.\n\n"
	       "%s"
	       "      --clickhouse URL   an idx_clickhouse server\n\n"
	       "Options:\n"
	       "      --host HOST        only this host's streams\n"
	       "  -S, --since TIME       report problems with events at or after TIME\n"
	       "  -U, --until TIME       ... at or before TIME\n"
	       "      --ca FILE          the CA the forwarders' certificates must chain to (default:\n"
	       "                         tls_ca of the first [listen] in the collector config)\n"
	       "      --strict           events no seal covers yet are a failure too\n"
	       "  -o, --output FORMAT    table (default) or json (one object per stream)\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 verified; 10 edited, 11 deleted, 12 reordered, 13 injected,\n"
	       "14 signed by the wrong key, 15 not yet sealed (--strict) - the kind of the first\n"
	       "problem found; else 16 dropped by policy, 17 lost to spool damage - holes the\n"
	       "forwarder itself recorded in a sealed spool.dropped/spool.damaged event;\n"
	       "2 usage error, 3 cannot open the index, 4 index error.\n",
	       CLI_PROG, CMD, cli_index_help);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "host", required_argument, NULL, 'H' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "ca", required_argument, NULL, 'A' },
		{ "strict", no_argument, NULL, 'X' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:S:U:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': help(); return -1;
		case 'H': o->host = optarg; break;
		case 'A': o->ca = optarg; break;
		case 'X': o->strict = true; break;
		case 'S':
			if (!cli_parse_time(CMD, "--since", optarg, &o->since))
				return CLI_USAGE;
			break;
		case 'U':
			if (!cli_parse_time(CMD, "--until", optarg, &o->until))
				return CLI_USAGE;
			break;
		case 'o':
			if (!cli_table_or_json(CMD, optarg, &o->json))
				return cli_usage_error(CMD);
			break;
		default:
			if (c == '?' || !cli_index_option(&o->idx, c, optarg))
				return cli_usage_error(CMD);
		}
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	return CLI_OK;
}

static int add_stream(void *arg, const struct hvt_stream_state *s)
{
	struct streams *l = arg;

	/* plain syslog lines have no chain */
	if (strcmp(s->stream, "syslog") == 0)
		return 0;
	l->v = hvt_realloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = *s;
	return 0;
}

static void progress(struct loaded *L)
{
	if (!isatty(STDERR_FILENO) || hvt_mono_us() < L->next_progress_us)
		return;
	L->next_progress_us = hvt_mono_us() + 500000;
	struct hvt_buf where = { 0 };
	out_sanitize(&where, L->host);
	hvt_buf_append(&where, "/", 1);
	out_sanitize(&where, L->stream);
	fprintf(stderr, "\r%s %s: %s: %zu events read", CLI_PROG, CMD, hvt_buf_cstr(&where), L->n);
	hvt_buf_free(&where);
	fflush(stderr);
}

static uint64_t data_seq(const struct hvt_event *ev, const char *key)
{
	json_object *o;

	if (!ev->data || !json_object_object_get_ex(ev->data, key, &o) || !json_object_is_type(o, json_type_int))
		return 0;
	int64_t v = json_object_get_int64(o);
	return v > 0 ? (uint64_t)v : 0;
}

/* The forwarder's own record of a hole it made (full_policy = drop-oldest)
 * or found (spool damage): verify.c decides whether it counts. */
static void hole_statement(const struct hvt_event *ev, struct v_row *v)
{
	enum verify_kind k = V_OK;

	if (!ev->source || strcmp(ev->source, "forwarder") != 0 || !ev->type)
		return;
	if (strcmp(ev->type, "spool.dropped") == 0)
		k = V_DROPPED;
	else if (strcmp(ev->type, "spool.damaged") == 0)
		k = V_LOST;
	uint64_t from = data_seq(ev, "from_seq"), to = data_seq(ev, "to_seq");
	if (k == V_OK || !from || to < from || to >= ev->seq)
		return;
	v->hole_kind = k;
	v->hole_from = from;
	v->hole_to = to;
}

static int add_row(void *arg, const struct hvt_row *r)
{
	struct loaded *L = arg;
	char err[200];
	struct hvt_event *ev;

	if (L->n == L->cap) {
		L->cap = L->cap ? L->cap * 2 : 1024;
		L->rows = hvt_realloc(L->rows, L->cap * sizeof *L->rows);
	}
	struct v_row *v = &L->rows[L->n++];
	memset(v, 0, sizeof *v);
	v->seq = r->seq;
	hvt_chain_hash(r->raw, r->raw_len, v->hash);
	ev = hvt_event_from_json(r->raw, r->raw_len, NULL, true, err, sizeof err);
	if (ev) {
		v->ts_us = ev->ts_us;
		v->json_seq = ev->seq;
		hvt_strlcpy(v->prev, ev->prev ? ev->prev : "", sizeof v->prev);
		hvt_strlcpy(v->id, ev->id, sizeof v->id);
		v->consistent = strcmp(ev->host, L->host) == 0 && strcmp(ev->stream, L->stream) == 0;
		hole_statement(ev, v);
		hvt_event_free(ev);
	} else {
		hvt_event_id_format(v->id, sizeof v->id, L->stream, r->seq);
		v->json_seq = r->seq;
	}
	progress(L);
	return 0;
}

static int add_seal(void *arg, const struct hvt_seal_row *r)
{
	struct loaded *L = arg;
	struct hvt_seal s;
	char names[512], fpr[80];

	if (L->nseals == L->cap_seals) {
		L->cap_seals = L->cap_seals ? L->cap_seals * 2 : 64;
		L->seals = hvt_realloc(L->seals, L->cap_seals * sizeof *L->seals);
	}
	struct v_seal *v = &L->seals[L->nseals++];
	memset(v, 0, sizeof *v);
	v->seq = r->seq;
	v->time_us = r->time_us;
	if (hvt_seal_from_json(r->json, r->json_len, &s, v->why, sizeof v->why) < 0)
		return 0;
	v->seq = s.seq;
	v->final = s.final;
	hvt_strlcpy(v->hash, s.hash, sizeof v->hash);
	/* the stored seal must be about this stream, and verify now */
	if (strcmp(s.host, L->host) || strcmp(s.stream, L->stream))
		snprintf(v->why, sizeof v->why, "the seal is about host %.100s stream %.40s", s.host, s.stream);
	else
		v->valid = hvt_seal_verify(&s, L->ca, L->host_map, names, sizeof names, fpr, sizeof fpr, v->why,
					   sizeof v->why) == 0;
	hvt_seal_clear(&s);
	return 0;
}

/* The collector's own events (alert.*, host "(collector)"): chained, never
 * sealed - no certificate speaks for "(collector)" (docs/alerting.md). */
static bool own_stream(const struct loaded *L)
{
	return L->host[0] == '(' && L->nseals == 0;
}

/* One JSON object a line, made by json-c: every string in it came from
 * the index (host, stream, ids, the seal's own words), so none is spliced
 * in by hand. */
static void print_json_line(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static json_object *json_stream(const struct loaded *L, size_t events)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "host", json_object_new_string(L->host));
	json_object_object_add(o, "stream", json_object_new_string(L->stream));
	json_object_object_add(o, "events", json_object_new_int64((int64_t)events));
	return o;
}

/* The table's first columns, every index-derived string sanitised. */
static void print_columns(const struct loaded *L, size_t events, uint64_t sealed)
{
	struct hvt_buf host = { 0 }, stream = { 0 };

	out_sanitize(&host, L->host);
	out_sanitize(&stream, L->stream);
	printf("%-20s %-18s %9zu %9" PRIu64 "  ", hvt_buf_cstr(&host), hvt_buf_cstr(&stream), events, sealed);
	hvt_buf_free(&host);
	hvt_buf_free(&stream);
}

static void print_result(const struct opts *o, const struct loaded *L, const struct v_result *r, int kind)
{
	if (o->json) {
		json_object *j = json_stream(L, L->n);
		json_object_object_add(j, "seals", json_object_new_int64((int64_t)L->nseals));
		json_object_object_add(j, "sealed_upto", json_object_new_int64((int64_t)r->sealed_upto));
		json_object_object_add(j, "result", json_object_new_string(verify_kind_name((enum verify_kind)kind)));
		if (kind != V_OK) {
			json_object_object_add(j, "seq", json_object_new_int64((int64_t)r->seq));
			json_object_object_add(j, "id", json_object_new_string(r->id));
			json_object_object_add(j, "detail", json_object_new_string(r->detail));
		}
		if (r->unsealed_from) {
			json_object *u = json_object_new_array();
			json_object_array_add(u, json_object_new_int64((int64_t)r->unsealed_from));
			json_object_array_add(u, json_object_new_int64((int64_t)r->unsealed_to));
			json_object_object_add(j, "unsealed", u);
		}
		if (own_stream(L))
			json_object_object_add(j, "chain_only", json_object_new_boolean(1));
		if (r->holes) {
			/* holes the forwarder recorded, whatever else was found */
			json_object_object_add(j, "recorded_holes", json_object_new_int64((int64_t)r->holes));
			json_object_object_add(j, "recorded_hole_events", json_object_new_int64((int64_t)r->holes_events));
		}
		print_json_line(j);
		return;
	}
	print_columns(L, L->n, r->sealed_upto);
	if (kind == V_OK && own_stream(L)) {
		printf("verified (hash chain only: the collector's own events are not sealed)");
	} else if (kind == V_OK) {
		printf("verified");
	} else if (kind == V_UNSEALED) {
		printf("not yet sealed: events %" PRIu64 "..%" PRIu64, r->unsealed_from, r->unsealed_to);
	} else {
		struct hvt_buf id = { 0 }, detail = { 0 };
		out_sanitize(&id, r->id);
		out_sanitize(&detail, r->detail);
		printf("%s at seq %" PRIu64 " (%s): %s", verify_kind_name((enum verify_kind)kind), r->seq,
		       hvt_buf_cstr(&id), hvt_buf_cstr(&detail));
		hvt_buf_free(&id);
		hvt_buf_free(&detail);
	}
	if (kind == V_OK && r->unsealed_from)
		printf(" up to %" PRIu64 "; %" PRIu64 "..%" PRIu64 " not yet sealed", r->sealed_upto,
		       r->unsealed_from, r->unsealed_to);
	printf("\n");
}

static void print_refused(const struct opts *o, const struct loaded *L, const struct v_result *r)
{
	if (o->json) {
		json_object *j = json_stream(L, 0);
		json_object_object_add(j, "result", json_object_new_string("refused"));
		json_object_object_add(j, "detail", json_object_new_string(r->detail));
		print_json_line(j);
		return;
	}
	struct hvt_buf detail = { 0 };
	out_sanitize(&detail, r->detail);
	print_columns(L, 0, 0);
	printf("refused (nothing indexed): %s\n", hvt_buf_cstr(&detail));
	hvt_buf_free(&detail);
}

static int verify_one(struct cli_index *ix, const struct opts *o, struct loaded *L)
{
	struct v_result r;

	L->n = L->nseals = 0;
	if (ix->ops->stream_events(&ix->inst, L->host, L->stream, 1, add_row, L) < 0 ||
	    ix->ops->seals(&ix->inst, L->host, L->stream, add_seal, L) < 0) {
		cli_error(CMD, "the index failed reading host %s stream %s", L->host, L->stream);
		return CLI_FAILED;
	}
	if (isatty(STDERR_FILENO) && L->next_progress_us)
		fprintf(stderr, "\r\033[K");
	if (own_stream(L))
		verify_chain(L->rows, L->n, o->since, o->until, &r);
	else
		verify_stream(L->rows, L->n, L->seals, L->nseals, o->since, o->until, &r);
	int kind = r.kind;
	if (L->n == 0 && kind == V_WRONG_KEY) {
		/* only refused seals and no event: an impersonation the collector
		 * turned away; evidence, not a flaw in the trail */
		print_refused(o, L, &r);
		return V_OK;
	}
	if (kind == V_OK && o->strict && r.unsealed_from)
		kind = V_UNSEALED;
	print_result(o, L, &r, kind);
	return kind;
}

/* --ca, else the first [listen] tls_ca of the collector's config. */
static const char *ca_from(const struct opts *o, struct cli_index *ix)
{
	if (o->ca)
		return o->ca;
	for (struct hvt_conf_section *s = ix->conf ? ix->conf->sections : NULL; s; s = s->next)
		if (strcmp(s->kind, "listen") == 0)
			for (struct hvt_conf_entry *e = s->entries; e; e = e->next)
				if (strcmp(e->key, "tls_ca") == 0)
					return e->value;
	return NULL;
}

static char **host_map_from(struct cli_index *ix)
{
	static const struct hvt_conf_key k[] = { { "host_map", HVT_CONF_LIST, "", "", NULL, 0, 0, 0 }, HVT_CONF_END };

	return hvt_conf_list(ix->conf ? hvt_conf_find(ix->conf, "collector") : NULL, k, "host_map", NULL);
}

int cmd_verify(int argc, char **argv)
{
	struct opts o;
	struct cli_index ix;
	struct streams l = { 0 };
	int rc = parse(argc, argv, &o);

	if (rc < 0)
		return CLI_OK;
	if (rc != CLI_OK)
		return rc;
	if ((rc = cli_index_open(CMD, &o.idx, &ix)) != CLI_OK)
		return rc;
	if (!ix.ops->stream_events || !ix.ops->seals) {
		cli_error(CMD, "this index (%s) cannot be verified: it keeps no seals", ix.inst.plugin->name);
		cli_index_close(&ix);
		return CLI_FAILED;
	}
	if (ix.ops->streams(&ix.inst, o.host, add_stream, &l) < 0) {
		cli_index_close(&ix);
		return CLI_FAILED;
	}
	struct loaded L = { .ca = ca_from(&o, &ix), .host_map = host_map_from(&ix) };
	if (!L.ca && !o.json)
		fprintf(stderr, "%s %s: no CA given (--ca): signatures are checked, certificate chains are not\n",
			CLI_PROG, CMD);
	if (!o.json && l.n)
		printf("%-20s %-18s %9s %9s  %s\n", "HOST", "STREAM", "EVENTS", "SEALED", "RESULT");
	int worst = V_OK;
	for (size_t i = 0; i < l.n && rc != CLI_FAILED; i++) {
		L.host = l.v[i].host;
		L.stream = l.v[i].stream;
		int k = verify_one(&ix, &o, &L);
		if (k == CLI_FAILED)
			rc = CLI_FAILED;
		else if (k != V_OK && (worst == V_OK || (worst >= V_DROPPED && k < V_DROPPED)))
			worst = k;    /* the first problem; tampering before a recorded hole */
	}
	if (!l.n && !o.json)
		printf("No streams%s%s.\n", o.host ? " for host " : "", o.host ? o.host : "");
	free(L.rows);
	free(L.seals);
	hvt_conf_list_free(L.host_map);
	free(l.v);
	cli_index_close(&ix);
	if (rc == CLI_FAILED)
		return rc;
	int out = cli_output_status(CMD);
	return out != CLI_OK ? out : worst;
}
