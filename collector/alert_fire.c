/* alert_fire.c - deciding about a match, and the documents and events an
 * alert leaves behind (docs/alerting.md). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_int.h"
#include "hash.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

void alert_make_id(const char *rule, const char *event_key, char out[17])
{
	char hash[HVT_SHA256_HEX];
	char *text = hvt_asprintf("%s\n%s", rule, event_key);

	hvt_sha256_hex(text, strlen(text), hash);
	memcpy(out, hash, 16);
	out[16] = '\0';
	free(text);
}

static void put_key_str(struct hvt_buf *b, const char *key, const char *value)
{
	hvt_buf_printf(b, ",\"%s\":", key);
	if (value)
		hvt_json_escape(b, value);
	else
		hvt_buf_append_str(b, "null");
}

static void put_key_time(struct hvt_buf *b, const char *key, long long us)
{
	char t[40];

	hvt_format_rfc3339(us, t, sizeof t);
	hvt_buf_printf(b, ",\"%s\":\"%s\"", key, t);
}

/* The alert document: what a webhook receives and an exec action reads on
 * stdin.  The key fields at the top, the stored event verbatim inside. */
static char *alert_doc(const struct alert_rule *r, const struct alert_subject *s, const char *id,
		       const char *summary, long long now_us, uint64_t suppressed)
{
	struct hvt_buf b = { 0 };
	const struct alert_view *v = s->v;

	hvt_buf_append_str(&b, "{\"alert_id\":");
	hvt_json_escape(&b, id);
	put_key_str(&b, "rule", r->name);
	put_key_str(&b, "summary", summary);
	put_key_str(&b, "severity", hvt_severity_name(s->severity));
	put_key_time(&b, "fired", now_us);
	put_key_str(&b, "host", v->host);
	put_key_str(&b, "vm", v->vm_name);
	put_key_str(&b, "vm_uuid", v->vm_uuid);
	put_key_str(&b, "type", v->type);
	put_key_time(&b, "time", v->ts_us);
	put_key_str(&b, "event_id", v->id);
	hvt_buf_printf(&b, ",\"suppressed\":%" PRIu64 ",\"event\":", suppressed);
	hvt_buf_append(&b, s->json, s->json_len);
	hvt_buf_append_str(&b, "}");
	return b.data;
}

/* Milliseconds with three decimals as written, not as a double prints. */
static json_object *ms_json(long long us)
{
	char t[32];

	snprintf(t, sizeof t, "%.3f", (double)us / 1000.0);
	return json_object_new_double_s((double)us / 1000.0, t);
}

static json_object *actions_array(const struct alert_rule *r)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < r->nactions; i++)
		json_object_array_add(a, json_object_new_string(r->actions[i]));
	return a;
}

static int fired_event(struct alerts *al, const struct alert_rule *r, const struct alert_subject *s,
		       const char *id, const char *key, const char *summary, long long now_us, uint64_t suppressed)
{
	struct hvt_event *ev = hvt_event_new("alert.fired");
	const struct alert_view *v = s->v;
	char t[40];
	int rc;

	ev->severity = s->severity;
	ev->ts_us = now_us;
	hvt_event_set_vm(ev, v->vm_name, v->vm_uuid);
	hvt_event_set_msg(ev, "%s", summary);
	hvt_event_data_add(ev, "alert_id", json_object_new_string(id));
	hvt_event_data_add(ev, "key", json_object_new_string(key));
	hvt_event_data_add(ev, "rule", json_object_new_string(r->name));
	hvt_event_data_add(ev, "summary", json_object_new_string(summary));
	hvt_event_data_add(ev, "event_id", v->id ? json_object_new_string(v->id) : NULL);
	hvt_event_data_add(ev, "event_host", json_object_new_string(v->host));
	hvt_event_data_add(ev, "event_type", json_object_new_string(v->type));
	hvt_format_rfc3339(v->ts_us, t, sizeof t);
	hvt_event_data_add(ev, "event_time", json_object_new_string(t));
	hvt_event_data_add(ev, "actions", actions_array(r));
	hvt_event_data_add(ev, "suppressed", json_object_new_int64((int64_t)suppressed));
	/* from the event's own time to the decision: the pipeline's share */
	hvt_event_data_add(ev, "latency_ms", ms_json(now_us - v->ts_us));
	rc = alert_store_add_event(al->store, ev);
	hvt_event_free(ev);
	return rc;
}

static int write_fired(struct alerts *al, const struct alert_rule *r, const struct alert_subject *s,
		       struct alert_row *row, long long now_us, uint64_t suppressed)
{
	char *summary = alert_summary(r, s->v, row->id);
	char *doc = alert_doc(r, s, row->id, summary, now_us, suppressed);
	json_object *labels = alert_group_labels(r, s->v);
	char key[17];
	int rc;

	alert_group_key(r, labels, key);
	row->summary = summary;
	row->doc = doc;
	rc = alert_store_add_alert(al->store, row) < 0 ? -1 : 0;
	if (rc == 0)
		rc = fired_event(al, r, s, row->id, key, summary, now_us, suppressed);
	if (rc == 0)
		hvt_log(LOG_INFO, "rule [%s] fired (decision %s, alert %s): %s", r->name, row->id, key, summary);
	/* what people are told is the alert's business (alert_notify.c) */
	if (rc == 0)
		rc = alert_page_decided(al, r, s->v, labels, key, row->id, summary, now_us);
	else
		json_object_put(labels);
	free(summary);
	free(doc);
	return rc;
}

int alert_fire(struct alerts *al, struct alert_rule *r, const struct alert_subject *s, long long now_us)
{
	char id[17];
	int known;

	alert_make_id(r->name, s->event_key, id);
	/* a resent or replayed event: decided before, and the rule's windows
	 * must not count it again */
	known = alert_store_known(al->store, id);
	if (known != 0)
		return known < 0 ? -1 : 0;
	char *dkey = alert_dedup_key(s->v);
	uint64_t suppressed = r->suppressed;
	enum alert_decision d = alert_rule_decide(r, dkey, now_us / 1000);
	struct alert_row row = {
		.id = id, .rule = r->name, .event_key = s->event_key, .dkey = dkey,
		.state = alert_decision_names[d], .decided_us = now_us, .severity = s->severity,
	};
	int rc;
	if (d == ALERT_FIRE) {
		rc = write_fired(al, r, s, &row, now_us, suppressed) < 0 ? -1 : 1;
	} else {
		/* a storm must not flood the log: the count is in the next alert.fired */
		static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(10000);
		rc = alert_store_add_alert(al->store, &row) < 0 ? -1 : 0;
		hvt_log_ratelimited(&rl, LOG_INFO, "alert rule [%s]: %s on %s not fired (%s; %" PRIu64 " suppressed "
				    "since it last fired)", r->name, s->v->type, s->v->host, alert_decision_names[d],
				    r->suppressed);
	}
	free(dkey);
	return rc;
}

int alert_outcome_event(struct alerts *al, const struct alert_delivery *d, const struct hvt_event *subject,
			int attempt, bool ok, bool final, const char *error, long long started_us,
			long long duration_us, long long next_us)
{
	struct hvt_event *ev = hvt_event_new(ok ? "alert.delivered" : "alert.failed");
	char t[40];
	int rc;

	ev->severity = ok ? HVT_SEV_INFO : final ? HVT_SEV_ERR : HVT_SEV_WARNING;
	ev->ts_us = hvt_now_us();
	if (subject)
		hvt_event_set_vm(ev, subject->vm_name, subject->vm_uuid);
	if (ok)
		hvt_event_set_msg(ev, "alert %s [%s] delivered by %s (attempt %d)", d->alert_id, d->rule, d->action,
				  attempt);
	else if (final)
		hvt_event_set_msg(ev, "alert %s [%s]: %s gave up after %d attempt%s: %s", d->alert_id, d->rule,
				  d->action, attempt, attempt == 1 ? "" : "s", error);
	else
		hvt_event_set_msg(ev, "alert %s [%s]: %s failed (attempt %d): %s", d->alert_id, d->rule, d->action,
				  attempt, error);
	hvt_event_data_add(ev, "alert_id", json_object_new_string(d->alert_id));
	hvt_event_data_add(ev, "key", d->key ? json_object_new_string(d->key) : NULL);
	hvt_event_data_add(ev, "transition", d->transition ? json_object_new_string(d->transition) : NULL);
	hvt_event_data_add(ev, "rule", json_object_new_string(d->rule));
	hvt_event_data_add(ev, "action", json_object_new_string(d->action));
	hvt_event_data_add(ev, "attempt", json_object_new_int(attempt));
	if (d->repeats)
		hvt_event_data_add(ev, "repeat", json_object_new_int(d->repeats));
	hvt_format_rfc3339(started_us, t, sizeof t);
	hvt_event_data_add(ev, "started", json_object_new_string(t));
	hvt_event_data_add(ev, "duration_ms", ms_json(duration_us));
	if (subject && subject->ts_us)
		/* the event's own time to this attempt's start (docs/alerting.md) */
		hvt_event_data_add(ev, "latency_ms", ms_json(started_us - subject->ts_us));
	if (!ok) {
		hvt_event_data_add(ev, "error", json_object_new_string(error ? error : ""));
		hvt_event_data_add(ev, "final", json_object_new_boolean(final));
		if (!final) {
			hvt_format_rfc3339(next_us, t, sizeof t);
			hvt_event_data_add(ev, "next_attempt", json_object_new_string(t));
		}
	}
	rc = alert_store_add_event(al->store, ev);
	hvt_event_free(ev);
	return rc;
}
