/* http_metrics.c - /metrics in Prometheus's text format (version 0.0.4):
 * the collector's own counters and, per host, what the index holds and the
 * latest report its forwarder sent, with that report's age.
 *
 * Host names and report fields come from peers: only the report fields
 * named below become series (a forwarder cannot invent metric names), and
 * label values are escaped as the format says (\\, \", \n). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "health.h"
#include "http_int.h"
#include "indexer.h"
#include "receiver.h"
#include "rxstats.h"

/* Numbers of a forwarder's report (out_relp's stats) that become series. */
static const struct { const char *field, *help; bool counter; } report_fields[] = {
	{ "spool_depth", "events spooled and not yet acknowledged, as the forwarder last reported", false },
	{ "spool_bytes", "bytes in the forwarder's spool, as last reported", false },
	{ "last_seq", "the forwarder's newest spooled record, as last reported", false },
	{ "acked_seq", "the newest record the collector acknowledged, as last reported", false },
	{ "events_sent", "events the forwarder sent since it started, as last reported", true },
	{ "frames_sent", "RELP frames the forwarder sent since it started, as last reported", true },
	{ "sessions", "RELP sessions the forwarder opened since it started, as last reported", true },
	{ "failed_connects", "failed connection attempts since it started, as last reported", true },
	{ "skipped", "spooled records lost (dropped or corrupt) since it started, as last reported", true },
};

static void label(struct hvt_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			hvt_buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			hvt_buf_append_str(b, "\\n");
		else
			hvt_buf_append(b, v, 1);
	}
}

static void head(struct hvt_buf *b, const char *name, const char *type, const char *help)
{
	hvt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct hvt_buf *b, const char *name, const char *type, const char *help, double v)
{
	head(b, name, type, help);
	hvt_buf_printf(b, "%s %.17g\n", name, v);
}

/* ---- per host ------------------------------------------------------------ */

struct host_line {
	char host[256];
	uint64_t events, missing;
	long long last_ts, last_stored;
};

struct host_set {
	struct host_line *v;
	size_t n;
};

static int add_stream(void *arg, const struct hvt_stream_state *s)
{
	struct host_set *hs = arg;
	struct host_line *h = NULL;

	for (size_t i = 0; i < hs->n && !h; i++)
		if (strcmp(hs->v[i].host, s->host) == 0)
			h = &hs->v[i];
	if (!h) {
		hs->v = hvt_realloc(hs->v, (hs->n + 1) * sizeof *hs->v);
		h = &hs->v[hs->n++];
		memset(h, 0, sizeof *h);
		hvt_strlcpy(h->host, s->host, sizeof h->host);
	}
	size_t n = strspn(s->stream, "0123456789abcdef");
	h->events += s->count;
	if (n == HVT_STREAM_LEN && !s->stream[n] && s->max_seq > s->count)
		h->missing += s->max_seq - s->count;
	h->last_ts = HVT_MAX(h->last_ts, s->last_ts_us);
	h->last_stored = HVT_MAX(h->last_stored, s->last_indexed_us);
	return 0;
}

static void host_series(struct hvt_buf *b, const struct host_set *hs)
{
	static const struct { const char *name, *type, *help; } m[] = {
		{ "hvtrail_host_events_stored", "gauge", "events of this host in the index" },
		{ "hvtrail_host_events_missing", "gauge", "events missing from this host's streams (hvtrail gaps)" },
		{ "hvtrail_host_last_event_timestamp_seconds", "gauge", "when this host's newest event happened" },
		{ "hvtrail_host_last_stored_timestamp_seconds", "gauge", "when the index last stored an event of "
		  "this host" },
	};
	for (size_t k = 0; k < HVT_ARRAY_SIZE(m); k++) {
		head(b, m[k].name, m[k].type, m[k].help);
		for (size_t i = 0; i < hs->n; i++) {
			const struct host_line *h = &hs->v[i];
			double v = k == 0 ? (double)h->events : k == 1 ? (double)h->missing :
				   k == 2 ? (double)h->last_ts / 1e6 : (double)h->last_stored / 1e6;
			hvt_buf_printf(b, "%s{host=\"", m[k].name);
			label(b, h->host);
			hvt_buf_printf(b, "\"} %.17g\n", v);
		}
	}
}

struct reports {
	struct hvt_buf lines[HVT_ARRAY_SIZE(report_fields) + 1];
};

static int add_report(void *arg, const char *host, const char *json, long long at_us)
{
	struct reports *r = arg;
	json_object *o = json_tokener_parse(json), *v;
	struct hvt_buf lbl = { 0 };

	if (strcmp(host, RXSTATS_HOST) == 0 || !o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return 0;          /* the collector's own row is in the hvtrail_* counters */
	}
	hvt_buf_append_str(&lbl, "{host=\"");
	label(&lbl, host);
	hvt_buf_append_str(&lbl, "\"}");
	for (size_t i = 0; i < HVT_ARRAY_SIZE(report_fields); i++)
		if (json_object_object_get_ex(o, report_fields[i].field, &v) &&
		    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
			hvt_buf_printf(&r->lines[i], "hvtrail_forwarder_%s%s %.17g\n", report_fields[i].field,
				       hvt_buf_cstr(&lbl), json_object_get_double(v));
	hvt_buf_printf(&r->lines[HVT_ARRAY_SIZE(report_fields)], "hvtrail_forwarder_report_age_seconds%s %.3f\n",
		       hvt_buf_cstr(&lbl), (double)(hvt_now_us() - at_us) / 1e6);
	hvt_buf_free(&lbl);
	json_object_put(o);
	return 0;
}

/* ---- alerts: counted from the alert.* events, reading only new rows --------- */

static int count_alert(void *arg, const struct hvt_row *row)
{
	struct http *h = arg;

	if (row->cursor > h->alert_cursor)
		h->alert_cursor = row->cursor;
	/* "type":"alert.xxx" is in the stored JSON the collector itself wrote */
	if (memmem(row->raw, row->raw_len, "\"type\":\"alert.fired\"", 20))
		h->alerts_fired++;
	else if (memmem(row->raw, row->raw_len, "\"type\":\"alert.delivered\"", 24))
		h->alerts_delivered++;
	else if (memmem(row->raw, row->raw_len, "\"type\":\"alert.failed\"", 21))
		h->alerts_failed++;
	return 0;
}

int http_metrics(struct http *h, struct hvt_buf *b)
{
	struct rx_snapshot rx;
	struct indexer_counters ic;
	struct host_set hs = { 0 };
	struct reports rep;

	memset(&rep, 0, sizeof rep);
	receiver_snapshot(h->ctx.receiver, &rx);
	indexer_counters(h->ctx.indexer, &ic);
	struct hvt_query aq = { .type_glob = "alert.*", .after_cursor = h->alert_cursor, .host = RXSTATS_HOST };
	if (h->ops->streams(&h->ro, NULL, add_stream, &hs) < 0 ||
	    (h->ops->host_stats && h->ops->host_stats(&h->ro, add_report, &rep) < 0) ||
	    h->ops->query(&h->ro, &aq, count_alert, h) < 0) {
		free(hs.v);
		for (size_t i = 0; i <= HVT_ARRAY_SIZE(report_fields); i++)
			hvt_buf_free(&rep.lines[i]);
		return -1;
	}
	one(b, "hvtrail_frames_received_total", "counter", "RELP frames received since start", (double)rx.in.frames);
	one(b, "hvtrail_messages_received_total", "counter", "syslog messages received since start",
	    (double)rx.in.messages);
	one(b, "hvtrail_events_received_total", "counter", "hvtrail events received since start", (double)rx.in.events);
	one(b, "hvtrail_syslog_lines_received_total", "counter", "plain syslog lines received since start",
	    (double)rx.in.syslog_lines);
	one(b, "hvtrail_events_quarantined_total", "counter", "events kept out of the trail since start",
	    (double)rx.in.quarantined);
	head(b, "hvtrail_messages_rejected_total", "counter", "messages rejected since start, by reason");
	for (int i = 0; i < REJ_COUNT; i++)
		hvt_buf_printf(b, "hvtrail_messages_rejected_total{reason=\"%s\"} %" PRIu64 "\n", ingest_reject_keys[i],
			       rx.in.rejected[i]);
	head(b, "hvtrail_sessions_refused_total", "counter", "RELP sessions refused or aborted since start, by kind");
	for (int i = 0; i < RF_COUNT; i++)
		hvt_buf_printf(b, "hvtrail_sessions_refused_total{kind=\"%s\"} %" PRIu64 "\n", refusal_keys[i],
			       rx.refused[i]);
	uint64_t last = hvt_spool_last_seq(h->ctx.inbox);
	one(b, "hvtrail_inbox_depth", "gauge", "received records not yet stored in the index",
	    last > ic.position ? (double)(last - ic.position) : 0);
	one(b, "hvtrail_inbox_bytes", "gauge", "bytes in the inbox", (double)hvt_spool_bytes(h->ctx.inbox));
	one(b, "hvtrail_index_lag_seconds", "gauge", "how long the oldest record not yet indexed has waited "
	    "(0 when the index is up to date)", last > ic.position && ic.behind_since_us ?
	    (double)(hvt_mono_us() - ic.behind_since_us) / 1e6 : 0);
	one(b, "hvtrail_events_indexed_total", "counter", "events stored in the index since start", (double)ic.indexed);
	one(b, "hvtrail_duplicates_dropped_total", "counter", "resent events dropped since start", (double)ic.duplicates);
	one(b, "hvtrail_index_store_errors_total", "counter", "batches the index refused since start",
	    (double)ic.store_errors);
	one(b, "hvtrail_index_refused_total", "counter", "events the index refused for their content since start, "
	    "kept in the quarantine instead", (double)ic.refused);
	one(b, "hvtrail_index_lost_total", "counter", "events and seals not even the quarantine would take "
	    "since start (dropped; the collector's log holds their text)", (double)ic.lost);
	head(b, "hvtrail_alerts_total", "counter", "alert events in the index, by kind (fired, delivered, failed)");
	hvt_buf_printf(b, "hvtrail_alerts_total{kind=\"fired\"} %" PRIu64 "\nhvtrail_alerts_total{kind=\"delivered\"} %"
		       PRIu64 "\nhvtrail_alerts_total{kind=\"failed\"} %" PRIu64 "\n", h->alerts_fired,
		       h->alerts_delivered, h->alerts_failed);
	head(b, "hvtrail_storing", "gauge", "1 when the collector can store what it receives, else 0 (see "
	     "hvtrail_store_failing_since_seconds)");
	bool storing = true;
	struct hvt_buf fails = { 0 };
	for (int i = 0; i < HEALTH_PARTS; i++) {
		long long since;
		char why[400];
		if (health_get((enum health_part)i, &since, why, sizeof why)) {
			storing = false;
			hvt_buf_printf(&fails, "hvtrail_store_failing_since_seconds{part=\"%s\"} %.3f\n",
				       health_part_names[i], (double)since / 1e6);
		}
	}
	hvt_buf_printf(b, "hvtrail_storing %d\n", storing ? 1 : 0);
	head(b, "hvtrail_store_failing_since_seconds", "gauge", "when a part of the collector began failing to store");
	if (fails.len)
		hvt_buf_append(b, fails.data, fails.len);
	hvt_buf_free(&fails);
	one(b, "hvtrail_http_requests_total", "counter", "requests to this endpoint", (double)h->requests);
	one(b, "hvtrail_http_denied_total", "counter", "requests refused for want of a certificate or token",
	    (double)h->denied);
	one(b, "hvtrail_http_slow_requests_total", "counter", "connections closed because their request did not "
	    "arrive in full within the timeout", (double)h->too_slow);
	host_series(b, &hs);
	for (size_t i = 0; i < HVT_ARRAY_SIZE(report_fields); i++) {
		char name[80];
		snprintf(name, sizeof name, "hvtrail_forwarder_%s", report_fields[i].field);
		head(b, name, "gauge", report_fields[i].help);
		if (rep.lines[i].len)
			hvt_buf_append(b, rep.lines[i].data, rep.lines[i].len);
		hvt_buf_free(&rep.lines[i]);
	}
	head(b, "hvtrail_forwarder_report_age_seconds", "gauge", "seconds since the forwarder's last report");
	size_t last_i = HVT_ARRAY_SIZE(report_fields);
	if (rep.lines[last_i].len)
		hvt_buf_append(b, rep.lines[last_i].data, rep.lines[last_i].len);
	hvt_buf_free(&rep.lines[last_i]);
	free(hs.v);
	return 0;
}
