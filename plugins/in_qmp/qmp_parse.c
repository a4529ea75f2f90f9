/* qmp_parse.c - see qmp_parse.h. */
#include "config.h"

#include <string.h>

#include "event.h"
#include "qmp_parse.h"

const char *qmp_msg_kind_name(enum qmp_msg_kind k)
{
	switch (k) {
	case QMP_MSG_GREETING: return "greeting";
	case QMP_MSG_REPLY: return "reply";
	case QMP_MSG_ERROR: return "error";
	case QMP_MSG_EVENT: return "event";
	case QMP_MSG_GARBAGE: return "garbage";
	case QMP_MSG_OVERSIZE: return "oversize";
	}
	return "?";
}

char *qmp_strdup_max(const char *s, size_t max)
{
	return hvt_strndup(s, strnlen(s, max));
}

void qmp_msg_clear(struct qmp_msg *m)
{
	if (m->obj)
		json_object_put(m->obj);
	memset(m, 0, sizeof *m);
}

static void garbage(struct qmp_msg *m, const char *reason, size_t len)
{
	m->kind = QMP_MSG_GARBAGE;
	m->reason = reason;
	m->len = len;
}

static const char *str_member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* QEMU stamps events with {"seconds": s, "microseconds": us}; anything else
 * leaves ts_us at 0 and the normaliser falls back to the receive time. */
static long long event_time(json_object *o)
{
	json_object *ts, *s, *us;

	if (!json_object_object_get_ex(o, "timestamp", &ts) ||
	    !json_object_is_type(ts, json_type_object) ||
	    !json_object_object_get_ex(ts, "seconds", &s) ||
	    !json_object_is_type(s, json_type_int) ||
	    !json_object_object_get_ex(ts, "microseconds", &us) ||
	    !json_object_is_type(us, json_type_int))
		return 0;
	long long sec = json_object_get_int64(s), usec = json_object_get_int64(us);
	if (sec <= 0 || sec > 32503680000LL || usec < 0 || usec >= 1000000)
		return 0;
	return sec * 1000000 + usec;
}

static void read_id(json_object *o, struct qmp_msg *m)
{
	json_object *id;

	if (!json_object_object_get_ex(o, "id", &id))
		return;
	m->has_id = true;
	if (json_object_is_type(id, json_type_int)) {
		m->id_is_int = true;
		m->id = json_object_get_int64(id);
	}
}

static void classify(json_object *o, struct qmp_msg *m)
{
	json_object *v;

	if (json_object_object_get_ex(o, "QMP", &v) && json_object_is_type(v, json_type_object)) {
		m->kind = QMP_MSG_GREETING;
	} else if (json_object_object_get_ex(o, "event", &v) &&
		   json_object_is_type(v, json_type_string)) {
		m->kind = QMP_MSG_EVENT;
		m->event = json_object_get_string(v);
		if (json_object_object_get_ex(o, "data", &v))
			m->data = v;
		m->ts_us = event_time(o);
	} else if (json_object_object_get_ex(o, "return", &v)) {
		m->kind = QMP_MSG_REPLY;
		m->ret = v;
		read_id(o, m);
	} else if (json_object_object_get_ex(o, "error", &v) &&
		   json_object_is_type(v, json_type_object)) {
		m->kind = QMP_MSG_ERROR;
		m->err_class = str_member(v, "class");
		m->err_desc = str_member(v, "desc");
		read_id(o, m);
	} else {
		garbage(m, "a JSON object that is not a QMP message", 0);
	}
}

void qmp_parse_line(const char *line, size_t len, struct qmp_msg *m)
{
	memset(m, 0, sizeof *m);
	m->len = len;
	/* json-c would stop at a NUL and call the rest trailing garbage; say it plainly. */
	if (memchr(line, '\0', len)) {
		garbage(m, "line contains a NUL byte", len);
		return;
	}
	if (!hvt_utf8_valid(line, len)) {
		garbage(m, "line is not valid UTF-8", len);
		return;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	struct json_tokener *tok = json_tokener_new_ex(QMP_MAX_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success || end != len) {
		if (o)
			json_object_put(o);
		/* (a bare number also ends as "incomplete": json-c cannot tell
		 * it ended without a terminator; it is garbage either way) */
		if (jerr == json_tokener_error_depth)
			garbage(m, "JSON nested too deeply", m->len);
		else if (jerr == json_tokener_continue)
			garbage(m, "incomplete JSON", m->len);
		else if (jerr == json_tokener_success)
			garbage(m, "trailing bytes after the JSON value", m->len);
		else
			garbage(m, "not valid JSON", m->len);
		return;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		garbage(m, "JSON value is not an object", m->len);
		return;
	}
	m->obj = o;
	classify(o, m);
	if (m->kind == QMP_MSG_GARBAGE) {
		json_object_put(o);
		m->obj = NULL;
		m->len = len;
	}
}

/* ---- framing ------------------------------------------------------------ */

void qmp_framer_init(struct qmp_framer *f, size_t max_line)
{
	memset(f, 0, sizeof *f);
	f->max_line = max_line;
}

void qmp_framer_free(struct qmp_framer *f)
{
	hvt_buf_free(&f->buf);
	memset(f, 0, sizeof *f);
}

size_t qmp_framer_pending(const struct qmp_framer *f)
{
	return f->buf.len - f->off;
}

void qmp_framer_push(struct qmp_framer *f, const void *p, size_t n)
{
	const char *c = p;

	if (f->skipping) {
		const char *nl = memchr(c, '\n', n);
		if (!nl) {
			f->skipped += n;
			return;
		}
		f->skipping = false;
		f->skipped = 0;
		n -= (size_t)(nl + 1 - c);
		c = nl + 1;
	}
	hvt_buf_append(&f->buf, c, n);
}

static void oversize(struct qmp_msg *m, size_t len, const char *reason)
{
	memset(m, 0, sizeof *m);
	m->kind = QMP_MSG_OVERSIZE;
	m->len = len;
	m->reason = reason;
}

/* No complete line is buffered: keep the partial tail at the front of the
 * buffer, or, when it has already outgrown max_line, drop it and skip the
 * rest of that line as it arrives. */
static bool settle_tail(struct qmp_framer *f, struct qmp_msg *m)
{
	size_t tail = f->buf.len - f->off;

	if (tail > f->max_line) {
		f->skipping = true;
		f->skipped = tail;
		hvt_buf_reset(&f->buf);
		f->off = f->scanned = 0;
		oversize(m, tail, "line longer than max_line; skipping to its end");
		return true;
	}
	if (f->off > 0) {
		memmove(f->buf.data, f->buf.data + f->off, tail);
		f->buf.len = tail;
		f->off = 0;
	}
	f->scanned = tail;
	return false;
}

bool qmp_framer_next(struct qmp_framer *f, struct qmp_msg *m)
{
	for (;;) {
		size_t avail = f->buf.len - f->off;
		if (avail <= f->scanned)
			return settle_tail(f, m);
		const char *start = f->buf.data + f->off;
		const char *nl = memchr(start + f->scanned, '\n', avail - f->scanned);
		if (!nl)
			return settle_tail(f, m);
		size_t len = (size_t)(nl - start);
		f->off += len + 1;
		f->scanned = 0;
		if (len > f->max_line) {
			oversize(m, len, "line longer than max_line");
			return true;
		}
		if (len > 0 && start[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;   /* QEMU never sends blank lines; tolerate them */
		qmp_parse_line(start, len, m);
		return true;
	}
}
