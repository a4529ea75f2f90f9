/* ingest.c - see ingest.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ingest.h"
#include "record.h"
#include "rfc5424.h"
#include "timefmt.h"
#include "util.h"

const char *const ingest_reject_names[REJ_COUNT] = {
	"oversized", "not syslog", "invalid event", "invalid control message"
};

#define SYSLOG_STREAM_PREFIX "syslog"

static int reject(const struct ingest_sink *s, struct ingest_counters *c, enum ingest_reject why,
		  const char *detail)
{
	c->rejected[why]++;
	if (s->reject)
		s->reject(s->arg, why, detail);
	return 0;
}

static bool field_eq(const char *s, const char *p, size_t n)
{
	return s && strlen(s) == n && memcmp(s, p, n) == 0;
}

static bool stream_valid(const char *s)
{
	return strlen(s) == HVT_STREAM_LEN && strspn(s, "0123456789abcdef") == HVT_STREAM_LEN;
}

static int handle_event(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *json,
			size_t jlen, const struct ingest_sink *s, struct ingest_counters *c)
{
	char err[256], detail[400], want_id[64];
	struct hvt_event *ev = hvt_event_from_json(json, jlen, &lim->ev, true, err, sizeof err);

	if (!ev)
		return reject(s, c, REJ_EVENT, err);
	if (!stream_valid(ev->stream)) {
		snprintf(detail, sizeof detail, "stream '%.40s' is not %d hex digits", ev->stream, HVT_STREAM_LEN);
		goto bad;
	}
	snprintf(want_id, sizeof want_id, "%s-%" PRIu64, ev->stream, ev->seq);
	if (strcmp(ev->id, want_id) != 0) {
		snprintf(detail, sizeof detail, "id '%.80s' does not match stream and seq", ev->id);
		goto bad;
	}
	/* the RFC 5424 header repeats host and type; a mismatch means someone
	 * edited one and not the other */
	if (!field_eq(ev->host, m->hostname, m->hostname_len) ||
	    (m->msgid_len < 32 && !field_eq(ev->type, m->msgid, m->msgid_len))) {
		snprintf(detail, sizeof detail, "header (%.*s, %.*s) disagrees with the event (%.80s, %.64s)",
			 (int)HVT_MIN(m->hostname_len, 80), m->hostname, (int)HVT_MIN(m->msgid_len, 64),
			 m->msgid, ev->host, ev->type);
		goto bad;
	}
	c->events++;
	int rc = s->record(s->arg, COL_REC_EVENT, ev, json, jlen);
	hvt_event_free(ev);
	return rc;
bad:
	hvt_event_free(ev);
	return reject(s, c, REJ_EVENT, detail);
}

static int handle_control(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *json,
			  size_t jlen, const struct ingest_sink *s, struct ingest_counters *c)
{
	c->control++;
	if (m->msgid_len == 12 && memcmp(m->msgid, "hvtrail.sync", 12) == 0)
		return 0;
	if (m->msgid_len == 13 && memcmp(m->msgid, "hvtrail.stats", 13) == 0) {
		json_tokener *tok = json_tokener_new_ex(lim->ev.max_depth);
		json_object *o = tok ? json_tokener_parse_ex(tok, json, (int)jlen) : NULL;
		bool ok = o && json_object_is_type(o, json_type_object) &&
			  json_tokener_get_error(tok) == json_tokener_success &&
			  m->hostname_len > 0 && m->hostname_len <= lim->ev.max_field &&
			  hvt_utf8_valid(json, jlen);
		if (o)
			json_object_put(o);
		if (tok)
			json_tokener_free(tok);
		if (!ok)
			return reject(s, c, REJ_CONTROL, "hvtrail.stats is not a JSON object");
		struct hvt_event ev = { 0 };
		char *host = hvt_strndup(m->hostname, m->hostname_len);
		ev.host = host;
		ev.type = (char *)"hvtrail.stats";
		int rc = s->record(s->arg, COL_REC_HOST_STATS, &ev, json, jlen);
		free(host);
		return rc;
	}
	return reject(s, c, REJ_CONTROL, "unknown hvtrail control message");
}

/* A plain syslog line: give it an identity derived from its bytes, so
 * rsyslog's resends after a reconnect are dropped like ours. */
static int handle_syslog(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *line,
			 size_t len, const char *peer, long long rx_us, const struct ingest_sink *s,
			 struct ingest_counters *c)
{
	char hash[HVT_SHA256_HEX], id[HVT_STREAM_LEN + 40];
	struct hvt_event *ev;
	struct hvt_buf raw = { 0 };
	char ts[64];

	if (!hvt_utf8_valid(line, len))
		return reject(s, c, REJ_SYSLOG, "syslog line is not valid UTF-8");
	if (m->hostname_len == 0 || m->hostname_len > lim->ev.max_field)
		return reject(s, c, REJ_SYSLOG, "syslog line has no usable hostname");
	ev = hvt_event_new("syslog.message");
	ev->host = hvt_strndup(m->hostname, m->hostname_len);
	ev->source = hvt_strdup("syslog");
	ev->severity = m->pri & 7;
	ev->received_us = rx_us;
	/* id = stream-seq like every event; the "seq" of a syslog line is 52
	 * bits of its hash (exact in JSON numbers), so identical resends
	 * collapse while distinct lines practically never collide */
	hvt_sha256_hex(line, len, hash);
	char hex13[14];
	memcpy(hex13, hash, 13);
	hex13[13] = '\0';
	ev->seq = strtoull(hex13, NULL, 16);
	if (!ev->seq)
		ev->seq = 1;
	snprintf(id, sizeof id, "%s-%" PRIu64, SYSLOG_STREAM_PREFIX, ev->seq);
	ev->id = hvt_strdup(id);
	ev->stream = hvt_strdup(SYSLOG_STREAM_PREFIX);
	size_t tl = HVT_MIN(m->timestamp_len, sizeof ts - 1);
	memcpy(ts, m->timestamp, tl);
	ts[tl] = '\0';
	if (hvt_parse_rfc3339(ts, &ev->ts_us) < 0)
		ev->ts_us = rx_us;
	ev->msg = hvt_strndup(m->msg, HVT_MIN(m->msg_len, lim->ev.max_msg));
	hvt_event_data_add(ev, "facility", json_object_new_int(m->pri >> 3));
	hvt_event_data_add(ev, "program", json_object_new_string_len(m->app, (int)HVT_MIN(m->app_len, 128)));
	if (m->procid_len)
		hvt_event_data_add(ev, "procid",
				   json_object_new_string_len(m->procid, (int)HVT_MIN(m->procid_len, 128)));
	if (m->msgid_len && !(m->msgid_len == 1 && m->msgid[0] == '-'))
		hvt_event_data_add(ev, "msgid", json_object_new_string_len(m->msgid, (int)HVT_MIN(m->msgid_len, 32)));
	hvt_event_data_add(ev, "timestamp", json_object_new_string(ts));
	hvt_event_data_add(ev, "peer", json_object_new_string(peer));
	hvt_event_to_json(ev, &raw);
	c->syslog_lines++;
	int rc = s->record(s->arg, COL_REC_EVENT, ev, raw.data, raw.len);
	hvt_buf_free(&raw);
	hvt_event_free(ev);
	return rc;
}

static int handle_message(const struct ingest_limits *lim, const char *peer, long long rx_us,
			  const char *line, size_t len, const struct ingest_sink *s, struct ingest_counters *c)
{
	struct hvt_syslog_msg m;
	char err[128], detail[160];
	const char *json;
	size_t jlen;

	c->messages++;
	if (len > lim->max_message) {
		snprintf(detail, sizeof detail, "message of %zu bytes exceeds max_message_size (%zu)", len,
			 lim->max_message);
		return reject(s, c, REJ_OVERSIZED, detail);
	}
	if (hvt_syslog_parse(line, len, &m, err, sizeof err) < 0)
		return reject(s, c, REJ_SYSLOG, err);
	if (hvt_syslog_is_event(&m, &json, &jlen)) {
		if (m.msgid_len > 8 && memcmp(m.msgid, "hvtrail.", 8) == 0)
			return handle_control(lim, &m, json, jlen, s, c);
		return handle_event(lim, &m, json, jlen, s, c);
	}
	return handle_syslog(lim, &m, line, len, peer, rx_us, s, c);
}

int ingest_frame(const struct ingest_limits *lim, const char *peer, long long rx_us,
		 const char *data, size_t len, const struct ingest_sink *sink,
		 struct ingest_counters *cnt)
{
	const char *p = data, *end = data + len;

	cnt->frames++;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		size_t n = (size_t)(e - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n && handle_message(lim, peer, rx_us, p, n, sink, cnt) < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
