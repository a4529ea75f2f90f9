/* act_alertmanager.c - hand alerts to a Prometheus Alertmanager through its
 * API v2 (POST /api/v2/alerts; docs/alerting.md).
 *
 * One hvtrail alert is one Alertmanager alert.  Its labels identify it and
 * never change while it lives, because Alertmanager tells alerts apart by
 * their label set: alertname (the rule), hvtrail_key (the alert's stable
 * key, what `hvtrail alerts ack` takes), the rule's group_by labels (host,
 * vm, ...) and the instance's static labels (severity=critical, team=...).
 * Everything that changes - the summary, which VMs are affected, the
 * severity, who acknowledged - goes into annotations.  Alertmanager then
 * does what it is for: its own routing, grouping, silences, receivers.
 *
 * Alertmanager is at-least-once and forgets: an alert whose endsAt passed
 * is resolved.  So, as Prometheus does, a firing alert is re-sent every
 * `resend` (the collector schedules it through resend_ms) with endsAt four
 * resends ahead: if the collector dies, Alertmanager resolves the alert by
 * itself a few minutes later rather than paging forever.  A resolution is
 * sent with endsAt = when it resolved.  A 4xx answer (but 408/429: an
 * alert Alertmanager finds invalid) will not succeed on retry: refused. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "http_post.h"
#include "hvtrail-plugin.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

#define ENDS_AFTER_RESENDS 4      /* Prometheus: 4 x max(evaluation interval, resend delay) */

static const struct hvt_conf_key keys[] = {
	{ "url", HVT_CONF_STRING, NULL, "Alertmanager's base URL (http://127.0.0.1:9093); alerts are POSTed "
	  "to URL/api/v2/alerts", NULL, 0, 0, HVT_CONF_REQUIRED },
	{ "resend", HVT_CONF_DURATION, "1m", "re-send a firing alert this often; it ends 4 resends after the "
	  "last one Alertmanager got, so it resolves by itself if the collector stops", NULL, 1000,
	  3600 * 1000, 0 },
	{ "labels", HVT_CONF_LIST, "", "static labels added to every alert, 'name=value' (severity=critical, "
	  "team=virt): for Alertmanager's routes", NULL, 0, 0, 0 },
	{ "generator_url", HVT_CONF_STRING, "", "generatorURL of every alert (e.g. the collector's web UI)",
	  NULL, 0, 0, 0 },
	HVT_HTTP_CONF_KEYS,
	HVT_CONF_END
};

struct am {
	struct hvt_http http;
	char *endpoint;               /* URL/api/v2/alerts */
	char *generator_url;
	long long resend_ms;
	char **labels;                /* name=value */
	int nlabels;
};

/* Prometheus' label names: [a-zA-Z_][a-zA-Z0-9_]* ("__" is reserved). */
static bool label_name_ok(const char *s, size_t n)
{
	if (!n || (!isalpha((unsigned char)s[0]) && s[0] != '_') || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* A group_by label as a label name: data.cause -> data_cause. */
static char *label_name(const char *s)
{
	char *out = hvt_asprintf("%s%s", isdigit((unsigned char)s[0]) ? "_" : "", s);

	for (char *p = out; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			*p = '_';
	return out;
}

static bool reserved(const char *name, size_t n)
{
	return (n == 9 && !strncmp(name, "alertname", n)) || (n == 11 && !strncmp(name, "hvtrail_key", n));
}

static int check(struct hvt_instance *inst)
{
	const char *url = hvt_conf_str(inst->conf, keys, "url");
	int bad = hvt_http_check(inst, keys, url) < 0, n;
	char **l = hvt_conf_list(inst->conf, keys, "labels", &n);

	for (int i = 0; i < n; i++) {
		const char *eq = strchr(l[i], '=');
		size_t len = eq ? (size_t)(eq - l[i]) : 0;
		if (!eq || !label_name_ok(l[i], len) || reserved(l[i], len)) {
			hvt_conf_error(inst->config, inst->conf->file, inst->conf->line, "[%s] labels: '%s' is not "
				       "name=value with a Prometheus label name (not alertname or hvtrail_key)",
				       inst->name, l[i]);
			bad++;
		}
	}
	hvt_conf_list_free(l);
	return bad ? -1 : 0;
}

static int init(struct hvt_instance *inst)
{
	struct am *m = hvt_calloc(1, sizeof *m);
	const char *url = hvt_conf_str(inst->conf, keys, "url");
	size_t n = strlen(url);

	inst->priv = m;
	while (n && url[n - 1] == '/')
		n--;
	m->endpoint = hvt_asprintf("%.*s/api/v2/alerts", (int)n, url);
	m->generator_url = hvt_strdup(hvt_conf_str(inst->conf, keys, "generator_url"));
	m->resend_ms = hvt_conf_duration_ms(inst->conf, keys, "resend");
	m->labels = hvt_conf_list(inst->conf, keys, "labels", &m->nlabels);
	return hvt_http_init(&m->http, inst, keys, url);
}

static void stop(struct hvt_instance *inst)
{
	struct am *m = inst->priv;

	if (!m)
		return;
	hvt_http_free(&m->http);
	free(m->endpoint);
	free(m->generator_url);
	hvt_conf_list_free(m->labels);
	free(m);
	inst->priv = NULL;
}

static long long resend_ms(struct hvt_instance *inst)
{
	return ((struct am *)inst->priv)->resend_ms;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static void put(json_object *o, const char *key, const char *val)
{
	if (val && *val)
		json_object_object_add(o, key, json_object_new_string(val));
}

/* "web01, web02" from an array of strings. */
static char *joined(json_object *doc, const char *key)
{
	json_object *a;
	struct hvt_buf b = { 0 };

	if (!json_object_object_get_ex(doc, key, &a) || !json_object_is_type(a, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		hvt_buf_printf(&b, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(a, i)));
	return b.data;
}

static json_object *labels_of(struct am *m, const struct hvt_alert *a, json_object *doc)
{
	json_object *l = json_object_new_object(), *group;

	put(l, "alertname", a->rule);
	put(l, "hvtrail_key", a->key);
	if (json_object_object_get_ex(doc, "group", &group) && json_object_is_type(group, json_type_object)) {
		json_object_object_foreach(group, k, v) {
			char *name = label_name(k);
			if (!reserved(name, strlen(name)))
				put(l, name, json_object_get_string(v));
			free(name);
		}
	}
	for (int i = 0; i < m->nlabels; i++) {
		const char *eq = strchr(m->labels[i], '=');
		char *name = hvt_asprintf("%.*s", (int)(eq - m->labels[i]), m->labels[i]);
		put(l, name, eq + 1);
		free(name);
	}
	return l;
}

static json_object *annotations_of(const struct hvt_alert *a, json_object *doc)
{
	json_object *an = json_object_new_object(), *ack, *by, *count;
	char *vms = joined(doc, "vms"), *hosts = joined(doc, "hosts");

	put(an, "summary", a->summary);
	put(an, "severity", str_of(doc, "severity"));
	put(an, "transition", a->transition);
	put(an, "vms", vms);
	put(an, "hosts", hosts);
	if (json_object_object_get_ex(doc, "count", &count))
		put(an, "count", json_object_get_string(count));
	put(an, "hvtrail_alert_id", a->id);
	if (json_object_object_get_ex(doc, "acknowledged", &ack) && ack && json_object_object_get_ex(ack, "by", &by)) {
		put(an, "acknowledged_by", str_of(by, "user"));
		put(an, "acknowledged_comment", str_of(ack, "comment"));
	}
	free(vms);
	free(hosts);
	return an;
}

/* The body: a list of one alert. */
static char *body_of(struct am *m, const struct hvt_alert *a, json_object *doc)
{
	json_object *al = json_object_new_object(), *list = json_object_new_array();
	char ends[40], starts[40];
	const char *opened = str_of(doc, "opened"), *resolved_at = str_of(doc, "resolved_at");
	bool resolved = a->status && !strcmp(a->status, "resolved");

	hvt_format_rfc3339(a->fired_us, starts, sizeof starts);
	if (resolved)
		hvt_format_rfc3339(a->fired_us, ends, sizeof ends);
	else
		hvt_format_rfc3339(hvt_now_us() + ENDS_AFTER_RESENDS * m->resend_ms * 1000, ends, sizeof ends);
	json_object_object_add(al, "labels", labels_of(m, a, doc));
	json_object_object_add(al, "annotations", annotations_of(a, doc));
	json_object_object_add(al, "startsAt", json_object_new_string(opened ? opened : starts));
	json_object_object_add(al, "endsAt", json_object_new_string(resolved && resolved_at ? resolved_at : ends));
	put(al, "generatorURL", m->generator_url);
	json_object_array_add(list, al);
	char *s = hvt_strdup(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(list);
	return s;
}

static int deliver(struct hvt_instance *inst, const struct hvt_alert *a, char *err, size_t errsize)
{
	struct am *m = inst->priv;
	json_object *doc = json_tokener_parse(a->json);
	long status;

	if (!doc || !a->key || !*a->key) {
		json_object_put(doc);
		snprintf(err, errsize, "the alert document has no key (not an alert of hvtrail's lifecycle)");
		return HVT_ACTION_REFUSED;
	}
	char *body = body_of(m, a, doc);
	json_object_put(doc);
	int rc = hvt_http_post(&m->http, m->endpoint, NULL, body, &status, err, errsize);
	free(body);
	if (rc < 0)
		return -1;
	if (status >= 200 && status < 300)
		return 0;
	hvt_http_status_error(&m->http, status, err, errsize);
	return hvt_http_refused_for_good(status) ? HVT_ACTION_REFUSED : -1;
}

static const struct hvt_action_ops ops = { .deliver = deliver, .resend_ms = resend_ms };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "act_alertmanager",
	.kind = HVT_PLUGIN_ACTION,
	.summary = "hand alerts to a Prometheus Alertmanager (API v2; re-sent while firing)",
	.conf_keys = keys,
	.check = check,
	.init = init,
	.stop = stop,
	.ops = &ops,
};
