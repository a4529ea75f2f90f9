/* ingest.c - see ingest.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "bindings.h"
#include "ingest.h"
#include "seal.h"
#include "record.h"
#include "rfc5424.h"
#include "timefmt.h"
#include "trail.h"
#include "util.h"

const char *const ingest_reject_names[REJ_COUNT] = {
	"oversized", "not syslog", "invalid event", "invalid control message", "header/body mismatch",
	"invalid seal", "identity not proven"
};
const char *const ingest_reject_keys[REJ_COUNT] = {
	"oversized", "not_syslog", "invalid_event", "invalid_control", "mismatch", "invalid_seal",
	"identity_not_proven"
};

/* Host names in parentheses are the collector's own rows in `hvtrail
 * stats` (collector/rxstats.h); no forwarder may report under one. */
#define RESERVED_HOST_PREFIX '('

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


static int handle_event(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *json,
			size_t jlen, const struct ingest_sink *s, struct ingest_counters *c)
{
	char err[256], detail[400];
	enum ingest_reject why = REJ_EVENT;
	struct hvt_event *ev = hvt_event_from_json(json, jlen, &lim->ev, true, err, sizeof err);

	if (!ev)
		return reject(s, c, REJ_EVENT, err);
	if (ev->host[0] == RESERVED_HOST_PREFIX) {
		snprintf(detail, sizeof detail, "host '%.80s' is reserved for the collector", ev->host);
		goto bad;
	}
	if (!hvt_host_valid(ev->host, strlen(ev->host), lim->ev.max_field)) {
		snprintf(detail, sizeof detail, "host '%.80s' is not a host name (1 to %zu printable ASCII "
			 "characters)", ev->host, lim->ev.max_field);
		goto bad;
	}
	if (!hvt_stream_id_valid(ev->stream)) {
		snprintf(detail, sizeof detail, "stream '%.40s' is not %d hex digits", ev->stream, HVT_STREAM_LEN);
		goto bad;
	}
	why = REJ_MISMATCH;
	if (!hvt_event_id_is(ev->id, ev->stream, ev->seq)) {
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
	int kind = COL_REC_EVENT;
	const char *bound = lim->bindings ? bindings_host(lim->bindings, ev->stream) : NULL;
	if (lim->identity != ID_OFF && (!bound || strcmp(bound, ev->host) != 0)) {
		if (bound)
			snprintf(detail, sizeof detail, "event %s claims host %.80s, but its stream is bound to %.80s",
				 ev->id, ev->host, bound);
		else
			snprintf(detail, sizeof detail, "event %s claims host %.80s, but no valid seal from a "
				 "certificate for that host binds stream %s", ev->id, ev->host, ev->stream);
		if (lim->identity == ID_REFUSE) {
			hvt_event_free(ev);
			return reject(s, c, REJ_IDENTITY, detail);
		}
		kind = COL_REC_QUARANTINE;
		c->quarantined++;
	} else {
		c->events++;
	}
	int rc = s->record(s->arg, kind, 0, ev, json, jlen, kind == COL_REC_QUARANTINE ? detail : NULL);
	hvt_event_free(ev);
	return rc;
bad:
	hvt_event_free(ev);
	return reject(s, c, why, detail);
}

/* A seal binds its stream to the host its certificate may speak for.  It
 * is kept either way: a bad one is evidence. */
static int handle_seal(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *json,
		       size_t jlen, const struct ingest_sink *s, struct ingest_counters *c)
{
	struct hvt_seal seal;
	char err[300], names[512], fpr[80], note[700];
	struct hvt_event ev = { 0 };

	if (hvt_seal_from_json(json, jlen, &seal, err, sizeof err) < 0)
		return reject(s, c, REJ_CONTROL, err);
	bool valid = hvt_seal_verify(&seal, lim->ca_file, lim->host_map, names, sizeof names, fpr, sizeof fpr,
				     err, sizeof err) == 0;
	if (valid && lim->bindings && !bindings_set(lim->bindings, seal.stream, seal.host, names)) {
		valid = false;
		snprintf(err, sizeof err, "stream %s is already bound to host %s", seal.stream,
			 bindings_host(lim->bindings, seal.stream));
	}
	if (valid)
		snprintf(note, sizeof note, "valid: signed by %s (SHA-256 %s)", names, fpr);
	else
		snprintf(note, sizeof note, "invalid: %s", err);
	ev.host = seal.host;
	ev.stream = seal.stream;
	ev.seq = seal.seq;
	ev.ts_us = seal.time_us;
	ev.type = (char *)hvt_control_names[HVT_CONTROL_SEAL];
	if (!valid) {
		char detail[800];
		snprintf(detail, sizeof detail, "seal for host %.80s, stream %s: %s", seal.host, seal.stream, err);
		reject(s, c, REJ_SEAL, detail);
	} else {
		c->seals++;
	}
	(void)m;
	int rc = s->record(s->arg, COL_REC_SEAL, valid ? COL_REC_SEAL_VALID : 0, &ev, json, jlen, note);
	hvt_seal_clear(&seal);
	return rc;
}

static int handle_stats(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *json,
			size_t jlen, const struct ingest_sink *s, struct ingest_counters *c)
{
	json_tokener *tok = json_tokener_new_ex(lim->ev.max_depth);
	json_object *o = tok ? json_tokener_parse_ex(tok, json, (int)jlen) : NULL;
	bool ok = o && json_object_is_type(o, json_type_object) &&
		  json_tokener_get_error(tok) == json_tokener_success && hvt_utf8_valid(json, jlen);

	if (o)
		json_object_put(o);
	if (tok)
		json_tokener_free(tok);
	if (!ok)
		return reject(s, c, REJ_CONTROL, "hvtrail.stats is not a JSON object");
	if (!hvt_host_valid(m->hostname, m->hostname_len, lim->ev.max_field))
		return reject(s, c, REJ_CONTROL, "hvtrail.stats names no usable host (reserved, or not "
			      "1 to max_field_length printable ASCII characters)");
	struct hvt_event ev = { 0 };
	char *host = hvt_strndup(m->hostname, m->hostname_len);
	ev.host = host;
	ev.type = (char *)hvt_control_names[HVT_CONTROL_STATS];
	int rc = s->record(s->arg, COL_REC_HOST_STATS, 0, &ev, json, jlen, NULL);
	free(host);
	return rc;
}

static int handle_control(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *json,
			  size_t jlen, const struct ingest_sink *s, struct ingest_counters *c)
{
	c->control++;
	switch (hvt_control_lookup(m->msgid, m->msgid_len)) {
	case HVT_CONTROL_SYNC:
		return 0;
	case HVT_CONTROL_STATS:
		return handle_stats(lim, m, json, jlen, s, c);
	case HVT_CONTROL_SEAL:
		return handle_seal(lim, m, json, jlen, s, c);
	}
	return reject(s, c, REJ_CONTROL, "unknown hvtrail control message");
}

/* At most max bytes of s (len bytes of valid UTF-8), cut before a
 * character rather than inside one: the stored JSON must stay valid UTF-8
 * (found by fuzz_ingest: a 128-byte cut through a procid's multibyte
 * character). */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = HVT_MIN(len, max);

	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The text of a plain syslog message as it is stored: whole, with a NUL
 * written as rsyslog's control-character escape "#000" (a C string would
 * end there: "a\0X" and "a\0Y" were both stored as "a"), and cut to max
 * bytes at a character boundary, which sets the truncated flag. */
static char *syslog_text(const char *msg, size_t len, size_t max, unsigned *flags)
{
	struct hvt_buf b = { 0 };
	const char *p = msg, *end = msg + len, *nul;

	while ((nul = memchr(p, '\0', (size_t)(end - p))) != NULL) {
		hvt_buf_append(&b, p, (size_t)(nul - p));
		hvt_buf_append_str(&b, "#000");
		p = nul + 1;
	}
	hvt_buf_append(&b, p, (size_t)(end - p));
	size_t n = utf8_cut(b.data ? b.data : "", b.len, max);
	if (n < b.len)
		*flags |= HVT_EV_TRUNCATED;
	char *text = hvt_strndup(b.data ? b.data : "", n);
	hvt_buf_free(&b);
	return text;
}

/* A plain syslog line: give it an identity derived from its bytes, so
 * rsyslog's resends after a reconnect are dropped like ours. */
static int handle_syslog(const struct ingest_limits *lim, const struct hvt_syslog_msg *m, const char *line,
			 size_t len, const char *peer, long long rx_us, const struct ingest_sink *s,
			 struct ingest_counters *c)
{
	char hash[HVT_SHA256_HEX];
	struct hvt_event *ev;
	struct hvt_buf raw = { 0 };
	char ts[64];

	if (!hvt_utf8_valid(line, len))
		return reject(s, c, REJ_SYSLOG, "syslog line is not valid UTF-8");
	if (!hvt_host_valid(m->hostname, m->hostname_len, lim->ev.max_field))
		return reject(s, c, REJ_SYSLOG, "syslog line has no usable hostname (reserved, or longer "
			      "than max_field_length)");
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
	uint64_t seq = strtoull(hex13, NULL, 16);
	hvt_event_set_identity(ev, HVT_SYSLOG_STREAM, seq ? seq : 1);
	size_t tl = utf8_cut(m->timestamp, m->timestamp_len, sizeof ts - 1);
	memcpy(ts, m->timestamp, tl);
	ts[tl] = '\0';
	if (hvt_parse_rfc3339(ts, &ev->ts_us) < 0)
		ev->ts_us = rx_us;
	ev->msg = syslog_text(m->msg, m->msg_len, lim->ev.max_msg, &ev->flags);
	hvt_event_data_add(ev, "facility", json_object_new_int(m->pri >> 3));
	hvt_event_data_add(ev, "program",
			   json_object_new_string_len(m->app, (int)utf8_cut(m->app, m->app_len, 128)));
	if (m->procid_len && !(m->procid_len == 1 && m->procid[0] == '-'))   /* RFC 5424 NILVALUE */
		hvt_event_data_add(ev, "procid",
				   json_object_new_string_len(m->procid, (int)utf8_cut(m->procid, m->procid_len, 128)));
	if (m->msgid_len && !(m->msgid_len == 1 && m->msgid[0] == '-'))
		hvt_event_data_add(ev, "msgid",
				   json_object_new_string_len(m->msgid, (int)utf8_cut(m->msgid, m->msgid_len, 32)));
	hvt_event_data_add(ev, "timestamp", json_object_new_string(ts));
	hvt_event_data_add(ev, "peer", json_object_new_string(peer));
	hvt_event_to_json(ev, &raw);
	c->syslog_lines++;
	int rc = s->record(s->arg, COL_REC_EVENT, 0, ev, raw.data, raw.len, NULL);
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
		if (hvt_syslog_is_control(&m))
			return handle_control(lim, &m, json, jlen, s, c);
		return handle_event(lim, &m, json, jlen, s, c);
	}
	return handle_syslog(lim, &m, line, len, peer, rx_us, s, c);
}

/* Does the frame come from an hvtrail forwarder, which batches messages one
 * a line (an event's JSON never holds a raw LF)?  Anything else is one
 * message, as RELP carries one syslog message per "syslog" command: a
 * multi-line message (a stack trace, rsyslog with control-character
 * escaping off) stays whole instead of becoming refused "not syslog"
 * continuation lines cut off from their first line. */
static bool hvtrail_batch(const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	struct hvt_syslog_msg m;
	char err[8];

	if (!nl)
		return false;
	size_t n = (size_t)(nl - data);
	if (n && data[n - 1] == '\r')
		n--;
	return hvt_syslog_parse(data, n, &m, err, sizeof err) == 0 && m.app_len == 7 &&
	       memcmp(m.app, "hvtrail", 7) == 0;
}

int ingest_frame(const struct ingest_limits *lim, const char *peer, long long rx_us,
		 const char *data, size_t len, const struct ingest_sink *sink,
		 struct ingest_counters *cnt)
{
	const char *p = data, *end = data + len;

	cnt->frames++;
	if (!hvtrail_batch(data, len)) {
		while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			len--;
		return len ? handle_message(lim, peer, rx_us, data, len, sink, cnt) : 0;
	}
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
