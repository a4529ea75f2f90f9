/* cmd_silence.c - `hvtrail silence add|list|expire`: silences and
 * maintenance windows (collector/alert_silence.h).
 *
 * add and expire go to the collector's control socket (cli/control.h): the
 * collector records them, with the user the kernel says asked, in its own
 * stream before it answers.  list reads those records back from the index
 * (silence.created, silence.expired), so anyone who may read the trail can
 * see who silenced what, when and why. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cli.h"
#include "control.h"
#include "event.h"
#include "index_open.h"
#include "output.h"
#include "timefmt.h"
#include "util.h"

#define CMD "silence"
#define PARSED (-1)

struct opts {
	struct cli_control_opts ctl;
	struct cli_index_opts idx;
	const char *vm, *host, *rule, *type, *reason, *author, *id;
	long long start_us, until_us, for_ms;
	bool all, json;
	const char *sub;
};

static void help(void)
{
	printf("Usage: %s %s add MATCHERS (--for DURATION | --until TIME) --reason TEXT [OPTIONS]\n"
	       "       %s %s list [--all] [-o table|json] [INDEX OPTIONS]\n"
	       "       %s %s expire ID [OPTIONS]\n\n"
	       "Silences mute the notifications of alerts whose members they match, from\n"
	       "their start (now, or --start: a maintenance window) until they end.  The\n"
	       "alerts are still decided and recorded; alert.muted says which silence held\n"
	       "them back, and a member still firing when the silence ends is notified then.\n"
	       "The collector records every silence, and who set or expired it, in its own\n"
	       "stream (silence.created, silence.expired).\n\n"
	       "Matchers (shell globs; every one given must match; at least one):\n"
	       "      --vm NAME|UUID     the member's VM\n"
	       "      --host HOST        a host the member involves\n"
	       "      --rule NAME        the [alert:NAME] rule\n"
	       "      --type TYPE        the event type it fired on\n\n"
	       "add:\n"
	       "      --for DURATION     how long (2h, 30m, 1d; at most 366 days)\n"
	       "      --until TIME       ... or until when\n"
	       "      --start TIME       begin later: a maintenance window (default: now)\n"
	       "      --reason TEXT      why (required; recorded)\n"
	       "      --author NAME      who to ask about it (recorded next to the user the\n"
	       "                         collector sees)\n"
	       "list:\n"
	       "      --all              also silences that ended\n"
	       "  -o, --output FORMAT    table (default) or json\n\n"
	       "%s\n%s\n"
	       "TIME as for 'hvtrail query'.\n"
	       "Exit status: 0 done, 2 usage error, 3 the collector or index cannot be reached,\n"
	       "4 the collector refused (the reason is printed).\n",
	       CLI_PROG, CMD, CLI_PROG, CMD, CLI_PROG, CMD, cli_control_help, cli_index_help);
}

static bool take(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case 'V': o->vm = arg; return true;
	case 'H': o->host = arg; return true;
	case 'R': o->rule = arg; return true;
	case 'T': o->type = arg; return true;
	case 'r': o->reason = arg; return true;
	case 'A': o->author = arg; return true;
	case 'a': o->all = true; return true;
	case 'o': return cli_table_or_json(CMD, arg, &o->json);
	case 'B': return cli_parse_time(CMD, "--start", arg, &o->start_us);
	case 'U': return cli_parse_time(CMD, "--until", arg, &o->until_us);
	case 'F':
		if (hvt_parse_duration_ms(arg, &o->for_ms) == 0 && o->for_ms > 0)
			return true;
		cli_error(CMD, "--for '%s' is not a duration like 2h, 30m or 1d", arg);
		return false;
	case CLI_OPT_SOCKET: o->ctl.socket = arg; return true;
	case CLI_OPT_CONFIG: o->ctl.config = arg; return cli_index_option(&o->idx, c, arg);
	}
	return cli_index_option(&o->idx, c, arg);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "socket", required_argument, NULL, CLI_OPT_SOCKET },
		{ "vm", required_argument, NULL, 'V' },
		{ "host", required_argument, NULL, 'H' },
		{ "rule", required_argument, NULL, 'R' },
		{ "type", required_argument, NULL, 'T' },
		{ "reason", required_argument, NULL, 'r' },
		{ "author", required_argument, NULL, 'A' },
		{ "for", required_argument, NULL, 'F' },
		{ "until", required_argument, NULL, 'U' },
		{ "start", required_argument, NULL, 'B' },
		{ "all", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		help();
		return CLI_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "list") && strcmp(argv[1], "expire"))) {
		cli_error(CMD, "say add, list or expire");
		return cli_usage_error(CMD);
	}
	o->sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return CLI_OK;
		}
		if (c == '?' || !take(o, c, optarg))
			return cli_usage_error(CMD);
	}
	if (!strcmp(o->sub, "expire")) {
		if (optind != argc - 1) {
			cli_error(CMD, "expire takes one silence id (hvtrail silence list)");
			return cli_usage_error(CMD);
		}
		o->id = argv[optind];
		return PARSED;
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	if (!strcmp(o->sub, "add")) {
		if (!o->vm && !o->host && !o->rule && !o->type) {
			cli_error(CMD, "add needs a matcher: --vm, --host, --rule or --type");
			return cli_usage_error(CMD);
		}
		if (!o->for_ms == !o->until_us) {
			cli_error(CMD, "add needs how long: --for DURATION or --until TIME (one of them)");
			return cli_usage_error(CMD);
		}
		if (!o->reason || !*o->reason) {
			cli_error(CMD, "add needs --reason: the trail says why alerts were muted");
			return cli_usage_error(CMD);
		}
	}
	return PARSED;
}

/* ---- add, expire --------------------------------------------------------------- */

static void put_matcher(json_object *m, const char *name, const char *glob)
{
	if (glob)
		json_object_object_add(m, name, json_object_new_string(glob));
}

static int add(const struct opts *o)
{
	json_object *req = json_object_new_object(), *m = json_object_new_object(), *ans;
	int rc;

	put_matcher(m, "vm", o->vm);
	put_matcher(m, "host", o->host);
	put_matcher(m, "rule", o->rule);
	put_matcher(m, "type", o->type);
	json_object_object_add(req, "op", json_object_new_string("silence.add"));
	json_object_object_add(req, "matchers", m);
	if (o->start_us)
		json_object_object_add(req, "starts", json_object_new_int64(o->start_us));
	if (o->until_us)
		json_object_object_add(req, "ends", json_object_new_int64(o->until_us));
	else
		json_object_object_add(req, "duration_s", json_object_new_int64((o->for_ms + 999) / 1000));
	json_object_object_add(req, "reason", json_object_new_string(o->reason));
	if (o->author)
		json_object_object_add(req, "author", json_object_new_string(o->author));
	ans = cli_control(CMD, &o->ctl, req, &rc);
	if (!ans)
		return rc;
	printf("silence %s: %s until %s\n", json_object_get_string(json_object_object_get(ans, "id")),
	       json_object_get_string(json_object_object_get(ans, "starts")),
	       json_object_get_string(json_object_object_get(ans, "ends")));
	json_object_put(ans);
	return cli_output_status(CMD);
}

static int expire(const struct opts *o)
{
	json_object *req = json_object_new_object(), *ans, *already;
	int rc;

	json_object_object_add(req, "op", json_object_new_string("silence.expire"));
	json_object_object_add(req, "id", json_object_new_string(o->id));
	ans = cli_control(CMD, &o->ctl, req, &rc);
	if (!ans)
		return rc;
	bool was = json_object_object_get_ex(ans, "already", &already) && json_object_get_boolean(already);
	printf("silence %s %s\n", o->id, was ? "had already ended" : "expired");
	json_object_put(ans);
	return cli_output_status(CMD);
}

/* ---- list -------------------------------------------------------------------------- */

struct silence {
	char *id, *matchers, *reason, *by, *author, *ended_by;
	char *starts, *ends;
	long long starts_us, ends_us, ended_us;
};

struct list {
	struct silence *v;
	size_t n, cap;
};

static char *dstr(const struct hvt_event *ev, const char *key)
{
	json_object *v;

	if (!ev->data || !json_object_object_get_ex(ev->data, key, &v) || !v)
		return NULL;
	return hvt_strdup(json_object_get_string(v));
}

static char *matchers_text(const struct hvt_event *ev)
{
	json_object *m;
	struct hvt_buf b = { 0 };

	if (ev->data && json_object_object_get_ex(ev->data, "matchers", &m) && json_object_is_type(m, json_type_object)) {
		json_object_object_foreach(m, k, v)
			hvt_buf_printf(&b, "%s%s=%s", b.len ? " " : "", k, json_object_get_string(v));
	}
	if (!b.data)
		hvt_buf_append_str(&b, "");
	return b.data;
}

static char *by_user(const struct hvt_event *ev)
{
	json_object *by, *u;

	if (ev->data && json_object_object_get_ex(ev->data, "by", &by) && by &&
	    json_object_object_get_ex(by, "user", &u) && u)
		return hvt_strdup(json_object_get_string(u));
	return NULL;
}

static struct silence *find(struct list *l, const char *id)
{
	for (size_t i = 0; id && i < l->n; i++)
		if (!strcmp(l->v[i].id, id))
			return &l->v[i];
	return NULL;
}

static long long time_of(const char *text)
{
	long long us = 0;

	return text && hvt_parse_time_spec(text, 0, &us) == 0 ? us : 0;
}

static int add_row(void *arg, const struct hvt_row *row)
{
	struct list *l = arg;
	char err[200];
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, NULL, false, err, sizeof err);

	if (!ev || !ev->type)
		goto out;
	char *id = dstr(ev, "id");
	if (!strcmp(ev->type, "silence.created") && id && !find(l, id)) {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->v = hvt_realloc(l->v, l->cap * sizeof *l->v);
		}
		struct silence *s = &l->v[l->n++];
		memset(s, 0, sizeof *s);
		s->id = id;
		id = NULL;
		s->matchers = matchers_text(ev);
		s->reason = dstr(ev, "reason");
		s->author = dstr(ev, "author");
		s->by = by_user(ev);
		s->starts = dstr(ev, "starts");
		s->ends = dstr(ev, "ends");
		s->starts_us = time_of(s->starts);
		s->ends_us = time_of(s->ends);
	} else if (!strcmp(ev->type, "silence.expired")) {
		struct silence *s = find(l, id);
		if (s && !s->ended_us) {
			s->ended_us = ev->ts_us;
			s->ended_by = by_user(ev);
		}
	}
	free(id);
out:
	hvt_event_free(ev);
	return 0;
}

static const char *state_of(const struct silence *s, long long now)
{
	if (s->ended_us || s->ends_us <= now)
		return "ended";
	return s->starts_us > now ? "pending" : "active";
}

static void print_one(const struct silence *s, bool json, long long now)
{
	struct hvt_buf b = { 0 };

	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(s->id));
		json_object_object_add(o, "state", json_object_new_string(state_of(s, now)));
		json_object_object_add(o, "matchers", json_object_new_string(s->matchers));
		json_object_object_add(o, "starts", s->starts ? json_object_new_string(s->starts) : NULL);
		json_object_object_add(o, "ends", s->ends ? json_object_new_string(s->ends) : NULL);
		json_object_object_add(o, "by", s->by ? json_object_new_string(s->by) : NULL);
		json_object_object_add(o, "author", s->author ? json_object_new_string(s->author) : NULL);
		json_object_object_add(o, "reason", s->reason ? json_object_new_string(s->reason) : NULL);
		json_object_object_add(o, "expired_by", s->ended_by ? json_object_new_string(s->ended_by) : NULL);
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	char t1[40] = "-", t2[40] = "-";
	if (s->starts_us)
		hvt_format_rfc3339(s->starts_us, t1, sizeof t1), t1[19] = 'Z', t1[20] = '\0';
	if (s->ends_us)
		hvt_format_rfc3339(s->ended_us && s->ended_us < s->ends_us ? s->ended_us : s->ends_us, t2, sizeof t2),
			t2[19] = 'Z', t2[20] = '\0';
	/* everything here came from the index: sanitised */
	out_sanitize(&b, s->id);
	printf("%-16s %-7s %-20s %-20s ", hvt_buf_cstr(&b), state_of(s, now), t1, t2);
	hvt_buf_reset(&b);
	out_sanitize(&b, s->by ? s->by : "?");
	printf("%-12s ", hvt_buf_cstr(&b));
	hvt_buf_reset(&b);
	out_sanitize(&b, s->matchers);
	hvt_buf_append_str(&b, ": ");
	out_sanitize(&b, s->reason ? s->reason : "");
	if (s->author) {
		hvt_buf_append_str(&b, " (author: ");
		out_sanitize(&b, s->author);
		hvt_buf_append_str(&b, ")");
	}
	puts(hvt_buf_cstr(&b));
	hvt_buf_free(&b);
}

static int list(const struct opts *o)
{
	struct cli_index ix;
	struct list l = { 0 };
	struct hvt_query q = { .host = "(collector)", .type_glob = "silence.*" };
	long long now = hvt_now_us();
	int rc = cli_index_open(CMD, &o->idx, &ix);
	size_t shown = 0;

	if (rc != CLI_OK)
		return rc;
	if (ix.ops->query(&ix.inst, &q, add_row, &l) < 0) {
		cli_error(CMD, "the index failed while answering (see above)");
		rc = CLI_FAILED;
		goto out;
	}
	if (!o->json)
		printf("%-16s %-7s %-20s %-20s %-12s %s\n", "ID", "STATE", "STARTS (UTC)", "ENDS (UTC)", "BY",
		       "MATCHERS: REASON");
	for (size_t i = 0; i < l.n; i++)
		if (o->all || strcmp(state_of(&l.v[i], now), "ended") != 0) {
			print_one(&l.v[i], o->json, now);
			shown++;
		}
	if (!o->json && !shown)
		printf("No silences%s.\n", o->all ? "" : " in effect or to come (--all shows those that ended)");
	rc = cli_output_status(CMD);
out:
	for (size_t i = 0; i < l.n; i++) {
		struct silence *s = &l.v[i];
		free(s->id);
		free(s->matchers);
		free(s->reason);
		free(s->by);
		free(s->author);
		free(s->ended_by);
		free(s->starts);
		free(s->ends);
	}
	free(l.v);
	cli_index_close(&ix);
	return rc;
}

int cmd_silence(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, &o);

	if (rc != PARSED)
		return rc;
	if (!strcmp(o.sub, "add"))
		return add(&o);
	if (!strcmp(o.sub, "expire"))
		return expire(&o);
	return list(&o);
}
