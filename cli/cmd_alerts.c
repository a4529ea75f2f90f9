/* cmd_alerts.c - `hvtrail alerts`: the alerts people were paged about, what
 * they were told and how each delivery went, from the index alone; and
 * `hvtrail alerts ack KEY`, through the collector's control socket.
 *
 * The collector records every notification of an alert (alert.firing,
 * alert.updated, alert.resolved, alert.acknowledged), what it held back
 * (alert.muted) and every delivery outcome (alert.delivered, alert.failed),
 * all under host "(collector)" (docs/alerting.md).  This reads them back
 * and folds them per alert (key and instance: one opening of the key):
 * its status (fired for a one-shot alert, firing, resolved, muted), who
 * acknowledged it, and per notification each action's delivery state.
 * Alerts recorded before alerts had keys (alert.fired with actions) show
 * as one-shot alerts of their own. */
#include "config.h"

#include <errno.h>
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

#define CMD "alerts"
#define PARSED (-1)
#define DEFAULT_LINES 20

struct opts {
	struct cli_index_opts idx;
	struct cli_control_opts ctl;
	long long since, until, lines;
	const char *rule, *vm, *host, *state, *status, *key, *comment;
	bool json, ack;
};

struct delivery {
	char *action, *error;
	const char *state;        /* pending, delivered, retrying, failed */
	int attempts;
};

struct notification {
	char *id, *transition;
	long long at_us;
	struct delivery *d;
	int nd;
};

struct alert {
	char *key, *rule, *summary, *acked_by, *comment;
	long long inst, opened_us, last_us;
	const char *status;       /* fired, firing, resolved, muted */
	bool one_shot;
	int severity;
	json_object *members, *hosts, *vms;   /* from the latest event */
	struct notification *n;
	int nn;
};

struct alerts {
	struct alert *v;
	size_t n, cap;
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n"
	       "       %s %s ack KEY [--comment TEXT] [--socket PATH | -c FILE]\n\n"
	       "List the alerts people were paged about: their status, what they were told\n"
	       "(opened, updated, resolved, acknowledged) and how each delivery went, from the\n"
	       "collector's alert.* events in the index.  An alert is one rule's matches with\n"
	       "equal group labels; its KEY stays the same while it is open (PagerDuty's\n"
	       "dedup_key).  Status: fired (one-shot: sent once), firing, resolved, muted\n"
	       "(held back by a silence or an inhibiting alert); 'acked' when acknowledged.\n\n"
	       "ack KEY (or its first 6+ digits) tells the collector someone is on it: it\n"
	       "records who (the user the kernel names) and tells the actions (PagerDuty:\n"
	       "acknowledge).\n\n%s\n%s\n"
	       "Filters:\n"
	       "  -S, --since TIME       alerts opened at or after TIME\n"
	       "  -U, --until TIME       ... at or before TIME\n"
	       "      --rule NAME        alerts of this [alert:NAME] rule\n"
	       "      --vm NAME|UUID     alerts about this VM\n"
	       "      --host HOST        alerts involving this host\n"
	       "      --key KEY          the alert with this key\n"
	       "      --status STATUS    fired, firing, resolved, muted or acked\n"
	       "      --state STATE      deliveries: pending, delivered, failed or recorded (no actions)\n\n"
	       "Output:\n"
	       "  -n, --lines N|all      the newest N alerts (default %d)\n"
	       "  -o, --output FORMAT    table (default: one line per alert, one per notification\n"
	       "                         and delivery) or json (one object per alert)\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 done, 2 usage error, 3 cannot open the index (or reach the\n"
	       "collector), 4 index or output error (or the collector refused).\n",
	       CLI_PROG, CMD, CLI_PROG, CMD, cli_index_help, cli_control_help, DEFAULT_LINES);
}

static bool one_of(const char *arg, const char *const *v)
{
	for (; *v; v++)
		if (!strcmp(arg, *v))
			return true;
	return false;
}

static bool take_option(struct opts *o, int c, const char *arg)
{
	static const char *const states[] = { "pending", "delivered", "failed", "recorded", NULL };
	static const char *const statuses[] = { "fired", "firing", "resolved", "muted", "acked", NULL };
	char *end;

	switch (c) {
	case 'S': return cli_parse_time(CMD, "--since", arg, &o->since);
	case 'U': return cli_parse_time(CMD, "--until", arg, &o->until);
	case 'R': o->rule = arg; return true;
	case 'V': o->vm = arg; return true;
	case 'H': o->host = arg; return true;
	case 'K': o->key = arg; return true;
	case 'C': o->comment = arg; return true;
	case CLI_OPT_SOCKET: o->ctl.socket = arg; return true;
	case 'T':
		o->state = arg;
		if (one_of(arg, states))
			return true;
		cli_error(CMD, "--state takes pending, delivered, failed or recorded, not '%s'", arg);
		return false;
	case 'Z':
		o->status = arg;
		if (one_of(arg, statuses))
			return true;
		cli_error(CMD, "--status takes fired, firing, resolved, muted or acked, not '%s'", arg);
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
	case CLI_OPT_CONFIG:
		o->ctl.config = arg;
		return cli_index_option(&o->idx, c, arg);
	}
	return cli_index_option(&o->idx, c, arg);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "socket", required_argument, NULL, CLI_OPT_SOCKET },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "rule", required_argument, NULL, 'R' },
		{ "vm", required_argument, NULL, 'V' },
		{ "host", required_argument, NULL, 'H' },
		{ "key", required_argument, NULL, 'K' },
		{ "state", required_argument, NULL, 'T' },
		{ "status", required_argument, NULL, 'Z' },
		{ "comment", required_argument, NULL, 'C' },
		{ "lines", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	o->lines = DEFAULT_LINES;
	optind = 1;
	if (argc >= 2 && !strcmp(argv[1], "ack")) {
		o->ack = true;
		optind = 2;
	}
	while ((c = getopt_long(argc, argv, "c:S:U:n:o:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return CLI_OK;
		}
		if (c == '?' || !take_option(o, c, optarg))
			return cli_usage_error(CMD);
	}
	if (o->ack) {
		if (optind != argc - 1) {
			cli_error(CMD, "ack takes one alert key (hvtrail alerts)");
			return cli_usage_error(CMD);
		}
		o->key = argv[optind];
		return PARSED;
	}
	if (o->comment) {
		cli_error(CMD, "--comment goes with ack");
		return cli_usage_error(CMD);
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	return PARSED;
}

/* ---- ack ------------------------------------------------------------------------ */

static int ack(const struct opts *o)
{
	json_object *req = json_object_new_object(), *ans, *already;
	int rc;

	json_object_object_add(req, "op", json_object_new_string("alert.ack"));
	json_object_object_add(req, "key", json_object_new_string(o->key));
	if (o->comment)
		json_object_object_add(req, "comment", json_object_new_string(o->comment));
	ans = cli_control(CMD, &o->ctl, req, &rc);
	if (!ans)
		return rc;
	bool was = json_object_object_get_ex(ans, "already", &already) && json_object_get_boolean(already);
	printf("alert %s %s\n", json_object_get_string(json_object_object_get(ans, "key")),
	       was ? "was already acknowledged" : "acknowledged");
	json_object_put(ans);
	return cli_output_status(CMD);
}

/* ---- folding the events --------------------------------------------------------- */

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

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}

static struct alert *find(struct alerts *l, const char *key, long long inst)
{
	for (size_t i = l->n; key && i-- > 0;)
		if (!strcmp(l->v[i].key, key) && l->v[i].inst == inst)
			return &l->v[i];
	return NULL;
}

static struct alert *open_alert(struct alerts *l, const char *key, long long inst, const struct hvt_event *ev,
				json_object *data)
{
	struct alert *a = find(l, key, inst);

	if (a)
		return a;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = hvt_realloc(l->v, l->cap * sizeof *l->v);
	}
	a = &l->v[l->n++];
	memset(a, 0, sizeof *a);
	a->key = hvt_strdup(key);
	a->inst = inst;
	a->rule = str_of(data, "rule");
	a->opened_us = ev->ts_us;
	a->status = "firing";
	a->severity = ev->severity;
	return a;
}

static void add_notification(struct alert *a, const struct hvt_event *ev, json_object *data, const char *transition)
{
	json_object *acts;
	char *id = str_of(data, "notification");

	if (!id)
		return;
	a->n = hvt_realloc(a->n, sizeof *a->n * (size_t)(a->nn + 1));
	struct notification *n = &a->n[a->nn++];
	memset(n, 0, sizeof *n);
	n->id = id;
	n->transition = hvt_strdup(transition);
	n->at_us = ev->ts_us;
	if (json_object_object_get_ex(data, "actions", &acts) && json_object_is_type(acts, json_type_array)) {
		n->nd = (int)json_object_array_length(acts);
		n->d = hvt_calloc((size_t)n->nd + 1, sizeof *n->d);
		for (int i = 0; i < n->nd; i++) {
			n->d[i].action = hvt_strdup(json_object_get_string(json_object_array_get_idx(acts, (size_t)i)));
			n->d[i].state = "pending";
		}
	}
}

static void keep(json_object **slot, json_object *data, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(data, key, &v) && v) {
		json_object_put(*slot);
		*slot = json_object_get(v);
	}
}

static void on_page_event(struct alerts *l, const struct hvt_event *ev, json_object *data)
{
	char *key = str_of(data, "key");
	const char *t = ev->type + strlen("alert.");
	struct alert *a;

	if (!key)
		return;
	a = open_alert(l, key, int_of(data, "instance"), ev, data);
	free(key);
	a->last_us = ev->ts_us;
	if (strcmp(t, "acknowledged") != 0 && strcmp(t, "muted") != 0) {
		free(a->summary);
		a->summary = str_of(data, "summary");
		keep(&a->members, data, "members");
		keep(&a->hosts, data, "hosts");
		keep(&a->vms, data, "vms");
	} else if (!a->summary) {
		a->summary = str_of(data, "summary");
		keep(&a->members, data, "members");
		keep(&a->hosts, data, "hosts");
		keep(&a->vms, data, "vms");
	}
	if (!strcmp(t, "firing")) {
		a->status = "firing";
		a->severity = ev->severity;
		a->one_shot = json_object_get_boolean(json_object_object_get(data, "one_shot"));
		if (a->one_shot)
			a->status = "fired";
	} else if (!strcmp(t, "resolved")) {
		a->status = "resolved";
	} else if (!strcmp(t, "muted") && !a->nn) {
		a->status = "muted";
	} else if (!strcmp(t, "acknowledged")) {
		json_object *ack = json_object_object_get(data, "acknowledged"), *by;
		if (ack && json_object_object_get_ex(ack, "by", &by)) {
			free(a->acked_by);
			a->acked_by = str_of(by, "user");
		}
		free(a->comment);
		a->comment = str_of(ack, "comment");
	}
	add_notification(a, ev, data, t);
}

/* Version 1: an alert.fired with actions was an alert of its own. */
static void on_legacy_fired(struct alerts *l, const struct hvt_event *ev, json_object *data)
{
	char *id = str_of(data, "alert_id");
	struct alert *a;

	if (!id)
		return;
	a = open_alert(l, id, 0, ev, data);
	a->status = "fired";
	a->one_shot = true;
	a->summary = str_of(data, "summary");
	json_object_object_add(data, "notification", json_object_new_string(id));
	add_notification(a, ev, data, "opened");
	free(id);
}

static struct delivery *delivery_of(struct alerts *l, const char *id, const char *action)
{
	for (size_t i = l->n; id && action && i-- > 0;)
		for (int j = l->v[i].nn; j-- > 0;) {
			struct notification *n = &l->v[i].n[j];
			if (strcmp(n->id, id) != 0)
				continue;
			for (int k = 0; k < n->nd; k++)
				if (!strcmp(n->d[k].action, action))
					return &n->d[k];
		}
	return NULL;
}

static void on_outcome(struct alerts *l, json_object *data, bool ok)
{
	char *id = str_of(data, "alert_id"), *action = str_of(data, "action");
	struct delivery *d = delivery_of(l, id, action);
	json_object *fin;

	if (d && int_of(data, "repeat") == 0) {
		bool final = json_object_object_get_ex(data, "final", &fin) && json_object_get_boolean(fin);
		d->state = ok ? "delivered" : final ? "failed" : "retrying";
		d->attempts = (int)int_of(data, "attempt");
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
	const char *t = ev->type;
	if (!data || !t) {
		/* nothing */
	} else if (!strcmp(t, "alert.firing") || !strcmp(t, "alert.updated") || !strcmp(t, "alert.resolved") ||
		   !strcmp(t, "alert.acknowledged") || !strcmp(t, "alert.muted")) {
		on_page_event(l, ev, data);
	} else if (!strcmp(t, "alert.fired") && !json_object_object_get_ex(data, "key", NULL)) {
		on_legacy_fired(l, ev, data);
	} else if (!strcmp(t, "alert.delivered")) {
		on_outcome(l, data, true);
	} else if (!strcmp(t, "alert.failed")) {
		on_outcome(l, data, false);
	}
	hvt_event_free(ev);
	return 0;
}

/* The deliveries' state: failed if one failed for good, pending while one
 * is under way, delivered when all were; recorded when there were none. */
static const char *state_of(const struct alert *a)
{
	bool any = false, all = true;

	for (int i = 0; i < a->nn; i++)
		for (int j = 0; j < a->n[i].nd; j++) {
			any = true;
			if (!strcmp(a->n[i].d[j].state, "failed"))
				return "failed";
			all = all && !strcmp(a->n[i].d[j].state, "delivered");
		}
	return !any ? "recorded" : all ? "delivered" : "pending";
}

static bool in_list(json_object *list, const char *v)
{
	for (size_t i = 0; list && json_object_is_type(list, json_type_array) && i < json_object_array_length(list);
	     i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(list, i)), v))
			return true;
	return false;
}

static bool about_vm(const struct alert *a, const char *vm)
{
	for (size_t i = 0; a->members && i < json_object_array_length(a->members); i++) {
		json_object *m = json_object_array_get_idx(a->members, i), *v;
		if ((json_object_object_get_ex(m, "vm", &v) && v && !strcmp(json_object_get_string(v), vm)) ||
		    (json_object_object_get_ex(m, "vm_uuid", &v) && v && !strcmp(json_object_get_string(v), vm)))
			return true;
	}
	return in_list(a->vms, vm);
}

static bool wanted(const struct opts *o, const struct alert *a)
{
	if (o->status && (!strcmp(o->status, "acked") ? !a->acked_by : strcmp(o->status, a->status) != 0))
		return false;
	return (!o->rule || (a->rule && !strcmp(o->rule, a->rule))) &&
	       (!o->key || !strncmp(a->key, o->key, strlen(o->key))) &&
	       (!o->host || in_list(a->hosts, o->host)) && (!o->vm || about_vm(a, o->vm)) &&
	       (!o->since || a->opened_us >= o->since) && (!o->until || a->opened_us <= o->until) &&
	       (!o->state || !strcmp(o->state, state_of(a)));
}

/* ---- printing --------------------------------------------------------------------- */

static void put_str(struct hvt_buf *b, const char *key, const char *v)
{
	hvt_buf_printf(b, ",\"%s\":", key);
	if (v)
		hvt_json_escape(b, v);
	else
		hvt_buf_append_str(b, "null");
}

static void put_json(struct hvt_buf *b, const char *key, json_object *v)
{
	hvt_buf_printf(b, ",\"%s\":%s", key, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
										 JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
}

static void print_json(const struct alert *a)
{
	struct hvt_buf b = { 0 };
	char t[40];

	hvt_buf_append_str(&b, "{\"key\":");
	hvt_json_escape(&b, a->key);
	hvt_buf_printf(&b, ",\"instance\":%lld", a->inst);
	put_str(&b, "alert_id", a->nn ? a->n[0].id : NULL);
	put_str(&b, "rule", a->rule);
	hvt_format_rfc3339(a->opened_us, t, sizeof t);
	put_str(&b, "opened", t);
	put_str(&b, "severity", hvt_severity_name(a->severity));
	put_str(&b, "status", a->status);
	put_str(&b, "state", state_of(a));
	put_str(&b, "acknowledged_by", a->acked_by);
	put_str(&b, "comment", a->comment);
	put_str(&b, "summary", a->summary);
	put_json(&b, "hosts", a->hosts);
	put_json(&b, "vms", a->vms);
	put_json(&b, "members", a->members);
	hvt_buf_append_str(&b, ",\"notifications\":[");
	for (int i = 0; i < a->nn; i++) {
		hvt_buf_append_str(&b, i ? ",{\"id\":" : "{\"id\":");
		hvt_json_escape(&b, a->n[i].id);
		put_str(&b, "transition", a->n[i].transition);
		hvt_format_rfc3339(a->n[i].at_us, t, sizeof t);
		put_str(&b, "time", t);
		hvt_buf_append_str(&b, "}");
	}
	/* every delivery of every notification, in order */
	hvt_buf_append_str(&b, "],\"deliveries\":[");
	bool first = true;
	for (int i = 0; i < a->nn; i++)
		for (int j = 0; j < a->n[i].nd; j++) {
			const struct delivery *d = &a->n[i].d[j];
			hvt_buf_append_str(&b, first ? "{\"action\":" : ",{\"action\":");
			first = false;
			hvt_json_escape(&b, d->action);
			put_str(&b, "notification", a->n[i].id);
			put_str(&b, "transition", a->n[i].transition);
			put_str(&b, "state", d->state);
			hvt_buf_printf(&b, ",\"attempts\":%d", d->attempts);
			put_str(&b, "last_error", d->error);
			hvt_buf_append_str(&b, "}");
		}
	hvt_buf_append_str(&b, "]}");
	puts(b.data);
	hvt_buf_free(&b);
}

static void short_time(long long us, char *t, size_t size)
{
	hvt_format_rfc3339(us, t, size);
	t[19] = 'Z';
	t[20] = '\0';
}

/* s, made safe for a terminal, in b (reset first). */
static const char *clean(struct hvt_buf *b, const char *s)
{
	hvt_buf_reset(b);
	out_sanitize(b, s ? s : "");
	return hvt_buf_cstr(b);
}

static void print_table(const struct alert *a)
{
	/* everything but our own words came from hosts, VMs or the state
	 * files: sanitised */
	struct hvt_buf s = { 0 }, k = { 0 }, r = { 0 };
	char t[40], status[40];

	short_time(a->opened_us, t, sizeof t);
	snprintf(status, sizeof status, "%s%s", a->status, a->acked_by ? ",acked" : "");
	printf("%-21s %-16s %-20s %-14s %-10s %s\n", t, clean(&k, a->key), clean(&r, a->rule ? a->rule : "?"), status,
	       state_of(a), clean(&s, a->summary));
	if (a->acked_by)
		printf("%-21s   acknowledged by %s%s%s\n", "", clean(&k, a->acked_by), a->comment ? ": " : "",
		       clean(&s, a->comment));
	for (int i = 0; i < a->nn; i++) {
		const struct notification *n = &a->n[i];
		if (a->nn > 1 || !a->one_shot) {
			short_time(n->at_us, t, sizeof t);
			printf("%-21s   %-12s %s\n", "", clean(&k, n->transition), t);
		}
		for (int j = 0; j < n->nd; j++) {
			const struct delivery *d = &n->d[j];
			printf("%-21s   %-30s %-10s", "", clean(&k, d->action), clean(&r, d->state));
			if (d->attempts)
				printf(" attempt %d", d->attempts);
			printf("%s%s\n", d->error ? ": " : "", d->error ? clean(&s, d->error) : "");
		}
	}
	hvt_buf_free(&s);
	hvt_buf_free(&k);
	hvt_buf_free(&r);
}

static void free_all(struct alerts *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct alert *a = &l->v[i];
		free(a->key);
		free(a->rule);
		free(a->summary);
		free(a->acked_by);
		free(a->comment);
		json_object_put(a->members);
		json_object_put(a->hosts);
		json_object_put(a->vms);
		for (int j = 0; j < a->nn; j++) {
			for (int k = 0; k < a->n[j].nd; k++) {
				free(a->n[j].d[k].action);
				free(a->n[j].d[k].error);
			}
			free(a->n[j].d);
			free(a->n[j].id);
			free(a->n[j].transition);
		}
		free(a->n);
	}
	free(l->v);
}

static int by_opened(const void *x, const void *y)
{
	const struct alert *a = x, *b = y;

	return (a->opened_us > b->opened_us) - (a->opened_us < b->opened_us);
}

static int run(const struct opts *o)
{
	struct cli_index ix;
	struct alerts l = { 0 };
	/* an alert opened before --since may have been told about after it */
	struct hvt_query q = { .host = "(collector)", .type_glob = "alert.*" };
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	if (ix.ops->query(&ix.inst, &q, add_row, &l) < 0) {
		cli_error(CMD, "the index failed while answering (see above)");
		rc = CLI_FAILED;
	} else {
		size_t shown = 0, first = l.n;
		if (l.n)
			qsort(l.v, l.n, sizeof *l.v, by_opened);
		/* the newest N that pass the filters, printed oldest first */
		while (first > 0 && (!o->lines || shown < (size_t)o->lines))
			shown += wanted(o, &l.v[--first]);
		if (!o->json)
			printf("%-21s %-16s %-20s %-14s %-10s %s\n", "OPENED (UTC)", "KEY", "RULE", "STATUS", "DELIVERY",
			       "SUMMARY");
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

	if (rc != PARSED)
		return rc;
	return o.ack ? ack(&o) : run(&o);
}
