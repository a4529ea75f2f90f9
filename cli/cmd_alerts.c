/* cmd_alerts.c - `hvtrail alerts`: recent alerts and how their deliveries
 * went, from the index alone.
 *
 * The collector records every alert and every delivery outcome as its own
 * events (host "(collector)": alert.fired, alert.delivered, alert.failed;
 * docs/alerting.md), so this reads them back and folds them per alert:
 * fired -> each action pending; delivered -> delivered at attempt N;
 * failed -> retrying, or failed for good when the collector gave up. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cli.h"
#include "event.h"
#include "index_open.h"
#include "output.h"
#include "timefmt.h"
#include "util.h"

#define CMD "alerts"
#define PARSED (-1)
#define DEFAULT_LINES 20

struct opts {
	struct cli_index_opts idx;
	long long since, until, lines;
	const char *rule, *vm, *host, *state;
	bool json;
};

struct delivery {
	char *action, *error;
	const char *state;        /* pending, delivered, retrying, failed */
	int attempts;
	long long at_us;
};

struct alert {
	char *id, *rule, *summary, *host, *vm, *vm_uuid, *type, *event_id;
	int severity;
	long long fired_us, suppressed;
	struct delivery *d;
	int nd;
};

struct alerts {
	struct alert *v;
	size_t n, cap;
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "List recent alerts and the state of their deliveries, from the collector's\n"
	       "alert.fired, alert.delivered and alert.failed events in the index.\n\n%s\n"
	       "Filters:\n"
	       "  -S, --since TIME       alerts fired at or after TIME\n"
	       "  -U, --until TIME       ... at or before TIME\n"
	       "      --rule NAME        alerts of this [alert:NAME] rule\n"
	       "      --vm NAME|UUID     alerts about this VM\n"
	       "      --host HOST        alerts about events of this host\n"
	       "      --state STATE      pending, delivered, failed or recorded (no actions)\n\n"
	       "Output:\n"
	       "  -n, --lines N|all      the newest N alerts (default %d)\n"
	       "  -o, --output FORMAT    table (default: one line per alert, one per delivery)\n"
	       "                         or json (one object per alert)\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 done, 2 usage error, 3 cannot open the index, 4 index or output error.\n",
	       CLI_PROG, CMD, cli_index_help, DEFAULT_LINES);
}

static bool take_option(struct opts *o, int c, const char *arg)
{
	char *end;

	switch (c) {
	case 'S': return cli_parse_time(CMD, "--since", arg, &o->since);
	case 'U': return cli_parse_time(CMD, "--until", arg, &o->until);
	case 'R': o->rule = arg; return true;
	case 'V': o->vm = arg; return true;
	case 'H': o->host = arg; return true;
	case 'T':
		o->state = arg;
		if (!strcmp(arg, "pending") || !strcmp(arg, "delivered") || !strcmp(arg, "failed") ||
		    !strcmp(arg, "recorded"))
			return true;
		cli_error(CMD, "--state takes pending, delivered, failed or recorded, not '%s'", arg);
		return false;
	case 'n':
		if (!strcmp(arg, "all")) {
			o->lines = 0;
			return true;
		}
		errno = 0;
		o->lines = strtoll(arg, &end, 10);
		if (*arg && !*end && !errno && o->lines > 0)
			return true;
		cli_error(CMD, "-n needs a positive number or 'all', not '%s'", arg);
		return false;
	case 'o':
		return cli_table_or_json(CMD, arg, &o->json);
	}
	return cli_index_option(&o->idx, c, arg);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "rule", required_argument, NULL, 'R' },
		{ "vm", required_argument, NULL, 'V' },
		{ "host", required_argument, NULL, 'H' },
		{ "state", required_argument, NULL, 'T' },
		{ "lines", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	o->lines = DEFAULT_LINES;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:S:U:n:o:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return CLI_OK;
		}
		if (c == '?' || !take_option(o, c, optarg))
			return cli_usage_error(CMD);
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	return PARSED;
}

/* ---- folding the events ------------------------------------------------- */

static char *str_of(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return hvt_strdup(json_object_get_string(v));
}

static long long int_of(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static struct alert *find(struct alerts *l, const char *id)
{
	for (size_t i = l->n; id && i-- > 0;)
		if (!strcmp(l->v[i].id, id))
			return &l->v[i];
	return NULL;
}

static void on_fired(struct alerts *l, const struct hvt_event *ev, json_object *data)
{
	json_object *acts;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = hvt_realloc(l->v, l->cap * sizeof *l->v);
	}
	struct alert *a = &l->v[l->n++];
	memset(a, 0, sizeof *a);
	a->id = str_of(data, "alert_id");
	a->rule = str_of(data, "rule");
	a->summary = str_of(data, "summary");
	a->host = str_of(data, "event_host");
	a->type = str_of(data, "event_type");
	a->event_id = str_of(data, "event_id");
	a->vm = ev->vm_name ? hvt_strdup(ev->vm_name) : NULL;
	a->vm_uuid = ev->vm_uuid ? hvt_strdup(ev->vm_uuid) : NULL;
	a->severity = ev->severity;
	a->fired_us = ev->ts_us;
	a->suppressed = int_of(data, "suppressed");
	if (!a->id)
		a->id = hvt_strdup("?");
	if (json_object_object_get_ex(data, "actions", &acts) && json_object_is_type(acts, json_type_array)) {
		a->nd = (int)json_object_array_length(acts);
		a->d = hvt_calloc((size_t)a->nd + 1, sizeof *a->d);
		for (int i = 0; i < a->nd; i++) {
			a->d[i].action = hvt_strdup(json_object_get_string(json_object_array_get_idx(acts, (size_t)i)));
			a->d[i].state = "pending";
		}
	}
}

static void on_outcome(struct alerts *l, const struct hvt_event *ev, json_object *data, bool ok)
{
	char *id = str_of(data, "alert_id"), *action = str_of(data, "action");
	struct alert *a = find(l, id);
	json_object *fin;

	for (int i = 0; a && action && i < a->nd; i++) {
		struct delivery *d = &a->d[i];
		if (strcmp(d->action, action) != 0)
			continue;
		bool final = json_object_object_get_ex(data, "final", &fin) && json_object_get_boolean(fin);
		d->state = ok ? "delivered" : final ? "failed" : "retrying";
		d->attempts = (int)int_of(data, "attempt");
		d->at_us = ev->ts_us;
		free(d->error);
		d->error = ok ? NULL : str_of(data, "error");
	}
	free(id);
	free(action);
}

static int add_row(void *arg, const struct hvt_row *row)
{
	struct alerts *l = arg;
	char err[200];
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, NULL, false, err, sizeof err);

	if (!ev)
		return 0;
	json_object *data = ev->data;
	if (data && !strcmp(ev->type, "alert.fired"))
		on_fired(l, ev, data);
	else if (data && !strcmp(ev->type, "alert.delivered"))
		on_outcome(l, ev, data, true);
	else if (data && !strcmp(ev->type, "alert.failed"))
		on_outcome(l, ev, data, false);
	hvt_event_free(ev);
	return 0;
}

static const char *state_of(const struct alert *a)
{
	bool all = true;

	if (!a->nd)
		return "recorded";
	for (int i = 0; i < a->nd; i++) {
		if (!strcmp(a->d[i].state, "failed"))
			return "failed";
		all = all && !strcmp(a->d[i].state, "delivered");
	}
	return all ? "delivered" : "pending";
}

static bool wanted(const struct opts *o, const struct alert *a)
{
	return (!o->rule || (a->rule && !strcmp(o->rule, a->rule))) &&
	       (!o->host || (a->host && !strcmp(o->host, a->host))) &&
	       (!o->vm || (a->vm && !strcmp(o->vm, a->vm)) || (a->vm_uuid && !strcmp(o->vm, a->vm_uuid))) &&
	       (!o->state || !strcmp(o->state, state_of(a)));
}

/* ---- printing --------------------------------------------------------------- */

static void put_str(struct hvt_buf *b, const char *key, const char *v)
{
	hvt_buf_printf(b, ",\"%s\":", key);
	if (v)
		hvt_json_escape(b, v);
	else
		hvt_buf_append_str(b, "null");
}

static void print_json(const struct alert *a)
{
	struct hvt_buf b = { 0 };
	char t[40];

	hvt_buf_append_str(&b, "{\"alert_id\":");
	hvt_json_escape(&b, a->id);
	put_str(&b, "rule", a->rule);
	hvt_format_rfc3339(a->fired_us, t, sizeof t);
	put_str(&b, "fired", t);
	put_str(&b, "severity", hvt_severity_name(a->severity));
	put_str(&b, "state", state_of(a));
	put_str(&b, "summary", a->summary);
	put_str(&b, "host", a->host);
	put_str(&b, "vm", a->vm);
	put_str(&b, "vm_uuid", a->vm_uuid);
	put_str(&b, "event_type", a->type);
	put_str(&b, "event_id", a->event_id);
	hvt_buf_printf(&b, ",\"suppressed\":%lld,\"deliveries\":[", a->suppressed);
	for (int i = 0; i < a->nd; i++) {
		const struct delivery *d = &a->d[i];
		hvt_buf_append_str(&b, i ? ",{\"action\":" : "{\"action\":");
		hvt_json_escape(&b, d->action);
		put_str(&b, "state", d->state);
		hvt_buf_printf(&b, ",\"attempts\":%d", d->attempts);
		put_str(&b, "last_error", d->error);
		hvt_buf_append_str(&b, "}");
	}
	hvt_buf_append_str(&b, "]}");
	puts(b.data);
	hvt_buf_free(&b);
}

static void print_table(const struct alert *a)
{
	struct hvt_buf s = { 0 };
	char t[40];

	hvt_format_rfc3339(a->fired_us, t, sizeof t);
	t[19] = 'Z';
	t[20] = '\0';
	struct hvt_buf id = { 0 }, rule = { 0 };
	/* everything but our own words came from hosts, VMs or the state
	 * files: sanitised */
	out_sanitize(&s, a->summary ? a->summary : "");
	out_sanitize(&id, a->id);
	out_sanitize(&rule, a->rule ? a->rule : "?");
	printf("%-21s %-16s %-16s %-10s %s\n", t, hvt_buf_cstr(&id), hvt_buf_cstr(&rule), state_of(a),
	       hvt_buf_cstr(&s));
	hvt_buf_free(&id);
	hvt_buf_free(&rule);
	for (int i = 0; i < a->nd; i++) {
		const struct delivery *d = &a->d[i];
		struct hvt_buf action = { 0 }, state = { 0 };
		out_sanitize(&action, d->action);
		out_sanitize(&state, d->state);
		hvt_buf_reset(&s);
		out_sanitize(&s, d->error ? d->error : "");
		printf("%-21s   %-30s %-10s", "", hvt_buf_cstr(&action), hvt_buf_cstr(&state));
		hvt_buf_free(&action);
		hvt_buf_free(&state);
		if (d->attempts)
			printf(" attempt %d", d->attempts);
		printf("%s%s\n", d->error ? ": " : "", d->error ? hvt_buf_cstr(&s) : "");
	}
	hvt_buf_free(&s);
}

static void free_all(struct alerts *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct alert *a = &l->v[i];
		free(a->id);
		free(a->rule);
		free(a->summary);
		free(a->host);
		free(a->vm);
		free(a->vm_uuid);
		free(a->type);
		free(a->event_id);
		for (int j = 0; j < a->nd; j++) {
			free(a->d[j].action);
			free(a->d[j].error);
		}
		free(a->d);
	}
	free(l->v);
}

static int run(const struct opts *o)
{
	struct cli_index ix;
	struct alerts l = { 0 };
	struct hvt_query q = {
		.host = "(collector)", .type_glob = "alert.*", .since_us = o->since, .until_us = o->until,
	};
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	if (ix.ops->query(&ix.inst, &q, add_row, &l) < 0) {
		cli_error(CMD, "the index failed while answering (see above)");
		rc = CLI_FAILED;
	} else {
		size_t shown = 0, first = l.n;
		/* the newest N that pass the filters, printed oldest first */
		while (first > 0 && (!o->lines || shown < (size_t)o->lines))
			shown += wanted(o, &l.v[--first]);
		if (!o->json)
			printf("%-21s %-16s %-16s %-10s %s\n", "FIRED (UTC)", "ALERT", "RULE", "STATE", "SUMMARY");
		for (size_t i = first; i < l.n; i++)
			if (wanted(o, &l.v[i]))
				o->json ? print_json(&l.v[i]) : print_table(&l.v[i]);
		if (!o->json && !shown)
			printf("No alerts.\n");
		rc = cli_output_status(CMD);
	}
	free_all(&l);
	cli_index_close(&ix);
	return rc;
}

int cmd_alerts(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, &o);

	return rc == PARSED ? run(&o) : rc;
}
