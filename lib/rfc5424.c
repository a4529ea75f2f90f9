/* rfc5424.c - see rfc5424.h. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rfc5424.h"
#include "timefmt.h"

static const char *const facility_names[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"
};

int hvt_facility_parse(const char *name)
{
	for (int i = 0; i < 24; i++)
		if (strcasecmp(name, facility_names[i]) == 0)
			return i;
	return -1;
}

/* RFC 5424 header fields are PRINTUSASCII without spaces; anything else is
 * replaced so a hostile host or type cannot break the framing. */
static void append_field(struct hvt_buf *out, const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s) {
		hvt_buf_append(out, "-", 1);
		return;
	}
	while (s[n] && n < max)
		n++;
	hvt_buf_reserve(out, n);
	char *w = out->data + out->len;
	for (size_t i = 0; i < n; i++)
		w[i] = (s[i] >= 33 && s[i] <= 126) ? s[i] : '_';
	out->len += n;
	out->data[out->len] = '\0';
}

void hvt_syslog_format(struct hvt_buf *out, int facility, const struct hvt_event *ev,
		       const char *json, size_t json_len)
{
	char ts[40];

	hvt_format_rfc3339(ev->ts_us ? ev->ts_us : ev->received_us, ts, sizeof ts);
	hvt_buf_append(out, "<", 1);
	hvt_buf_append_u64(out, (uint64_t)(facility * 8 + (ev->severity & 7)));
	hvt_buf_append(out, ">1 ", 3);
	hvt_buf_append(out, ts, strlen(ts));
	hvt_buf_append(out, " ", 1);
	append_field(out, ev->host, 255);
	hvt_buf_append_str(out, " hvtrail - ");
	append_field(out, ev->type, 32);
	hvt_buf_append_str(out, " - " HVT_CEE_COOKIE);
	hvt_buf_append(out, json, json_len);
}

const char *const hvt_control_names[HVT_CONTROL_COUNT] = {
	[HVT_CONTROL_SYNC] = HVT_CONTROL_PREFIX "sync",
	[HVT_CONTROL_STATS] = HVT_CONTROL_PREFIX "stats",
	[HVT_CONTROL_SEAL] = HVT_CONTROL_PREFIX "seal",
};

bool hvt_syslog_is_control(const struct hvt_syslog_msg *m)
{
	const size_t pl = sizeof HVT_CONTROL_PREFIX - 1;

	return m->msgid_len > pl && memcmp(m->msgid, HVT_CONTROL_PREFIX, pl) == 0;
}

int hvt_control_lookup(const char *msgid, size_t len)
{
	for (int i = 0; i < HVT_CONTROL_COUNT; i++)
		if (strlen(hvt_control_names[i]) == len && memcmp(msgid, hvt_control_names[i], len) == 0)
			return i;
	return -1;
}

void hvt_syslog_format_control(struct hvt_buf *out, int facility, const char *host, enum hvt_control c,
			       const char *json)
{
	/* framed like an event of type hvtrail.<name>, so one formatter
	 * decides what a header may contain */
	const struct hvt_event ev = {
		.host = (char *)host,
		.type = (char *)hvt_control_names[c],
		.severity = HVT_SEV_INFO,
		.ts_us = hvt_now_us(),
	};

	hvt_syslog_format(out, facility, &ev, json, strlen(json));
}

static int fail(char *err, size_t errsize, const char *what)
{
	snprintf(err, errsize, "%s", what);
	return -1;
}

/* Next space-delimited token. */
static bool token(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;

	if (s >= end)
		return false;
	const char *sp = memchr(s, ' ', (size_t)(end - s));
	if (!sp)
		return false;
	*tok = s;
	*len = (size_t)(sp - s);
	*p = sp + 1;
	return *len > 0;
}

/* RFC 5424 header fields are PRINTUSASCII (33..126).  A control byte in
 * one (a NUL host name, an ESC in an app name) is not a syslog header but
 * an attack on whatever prints or stores it: the whole message is refused
 * (found by review: a host name of one NUL byte was stored as an empty
 * host, which no index accepts).  Host names are held to the letter of
 * the RFC; see hvt_syslog_parse for the other fields. */
static bool printusascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return false;
	return true;
}

/* RFC 3164 tags and PIDs from old senders may hold UTF-8, but no control
 * character: no C0, DEL or C1 (U+0080..U+009F, encoded C2 80..C2 9F). */
static bool no_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 32 || c == 127 || (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0))
			return false;
	}
	return true;
}

static int bad_field(char *err, size_t errsize, const char *field)
{
	snprintf(err, errsize, "%s holds a control character or a byte outside printable ASCII", field);
	return -1;
}

/* STRUCTURED-DATA: "-" or one or more [id k="v" ...] with \] \" \\ escapes. */
static bool skip_sd(const char **p, const char *end)
{
	const char *s = *p;

	if (s < end && *s == '-') {
		*p = s + 1;
		return true;
	}
	while (s < end && *s == '[') {
		bool in_quote = false;
		s++;
		while (s < end) {
			if (in_quote && *s == '\\' && s + 1 < end) {
				s += 2;
				continue;
			}
			if (*s == '"')
				in_quote = !in_quote;
			else if (*s == ']' && !in_quote)
				break;
			s++;
		}
		if (s >= end)
			return false;
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	return true;
}

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int parse_3164(const char *p, const char *end, struct hvt_syslog_msg *m,
		      char *err, size_t errsize)
{
	/* TIMESTAMP: "Mmm dd hh:mm:ss" or an RFC 3339 token */
	bool classic = false;
	if (end - p >= 16 && p[3] == ' ' && p[6] == ' ' && p[9] == ':' && p[12] == ':' && p[15] == ' ')
		for (int i = 0; i < 12; i++)
			if (memcmp(p, months[i], 3) == 0)
				classic = true;
	if (classic) {
		m->timestamp = p;
		m->timestamp_len = 15;
		p += 16;
	} else if (!token(&p, end, &m->timestamp, &m->timestamp_len)) {
		return fail(err, errsize, "no timestamp after PRI");
	}
	if (!no_controls(m->timestamp, m->timestamp_len))
		return bad_field(err, errsize, "TIMESTAMP");
	if (!token(&p, end, &m->hostname, &m->hostname_len))
		return fail(err, errsize, "no hostname after timestamp");
	if (!printusascii(m->hostname, m->hostname_len))
		return bad_field(err, errsize, "HOSTNAME");
	/* TAG: up to ':' , '[' or ' ' */
	const char *t = p;
	while (p < end && *p != ':' && *p != '[' && *p != ' ')
		p++;
	m->app = t;
	m->app_len = (size_t)(p - t);
	if (p < end && *p == '[') {
		const char *pid = ++p;
		while (p < end && *p != ']')
			p++;
		m->procid = pid;
		m->procid_len = (size_t)(p - pid);
		if (p < end)
			p++;
	}
	if (!no_controls(m->app, m->app_len))
		return bad_field(err, errsize, "TAG");
	if (m->procid && !no_controls(m->procid, m->procid_len))
		return bad_field(err, errsize, "PID");
	if (p < end && *p == ':')
		p++;
	if (p < end && *p == ' ')
		p++;
	m->msg = p;
	m->msg_len = (size_t)(end - p);
	return 0;
}

int hvt_syslog_parse(const char *line, size_t len, struct hvt_syslog_msg *m,
		     char *err, size_t errsize)
{
	const char *p = line, *end = line + len;

	memset(m, 0, sizeof *m);
	m->pri = -1;
	if (p >= end || *p != '<')
		return fail(err, errsize, "message does not start with <PRI>");
	int pri = 0, digits = 0;
	for (p++; p < end && isdigit((unsigned char)*p) && digits < 4; p++, digits++)
		pri = pri * 10 + (*p - '0');
	if (!digits || p >= end || *p != '>' || pri > 191)
		return fail(err, errsize, "invalid <PRI>");
	m->pri = pri;
	p++;
	if (end - p >= 2 && p[0] == '1' && p[1] == ' ') {
		m->version = 1;
		p += 2;
		if (!token(&p, end, &m->timestamp, &m->timestamp_len) ||
		    !token(&p, end, &m->hostname, &m->hostname_len) ||
		    !token(&p, end, &m->app, &m->app_len) ||
		    !token(&p, end, &m->procid, &m->procid_len) ||
		    !token(&p, end, &m->msgid, &m->msgid_len))
			return fail(err, errsize, "truncated RFC 5424 header");
		/* a host name is an identity: strictly RFC 5424; senders put
		 * UTF-8 in the others, which is harmless without controls */
		if (!printusascii(m->hostname, m->hostname_len))
			return bad_field(err, errsize, "HOSTNAME");
		if (!no_controls(m->timestamp, m->timestamp_len))
			return bad_field(err, errsize, "TIMESTAMP");
		if (!no_controls(m->app, m->app_len))
			return bad_field(err, errsize, "APP-NAME");
		if (!no_controls(m->procid, m->procid_len))
			return bad_field(err, errsize, "PROCID");
		if (!no_controls(m->msgid, m->msgid_len))
			return bad_field(err, errsize, "MSGID");
		const char *sd = p;
		if (!skip_sd(&p, end))
			return fail(err, errsize, "invalid STRUCTURED-DATA");
		m->sd = sd;
		m->sd_len = (size_t)(p - sd);
		if (p < end && *p == ' ')
			p++;
		/* a UTF-8 BOM may precede MSG */
		if (end - p >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
		    (unsigned char)p[2] == 0xbf)
			p += 3;
		m->msg = p;
		m->msg_len = (size_t)(end - p);
		return 0;
	}
	return parse_3164(p, end, m, err, errsize);
}

bool hvt_syslog_is_event(const struct hvt_syslog_msg *m, const char **json, size_t *json_len)
{
	const size_t cl = sizeof HVT_CEE_COOKIE - 1;

	if (m->app_len != 7 || memcmp(m->app, "hvtrail", 7) != 0)
		return false;
	if (m->msg_len < cl || memcmp(m->msg, HVT_CEE_COOKIE, cl) != 0)
		return false;
	*json = m->msg + cl;
	*json_len = m->msg_len - cl;
	return true;
}
