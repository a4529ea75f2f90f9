/* event.c - see event.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "timefmt.h"

const struct hvt_event_limits hvt_event_default_limits = {
	.max_json = 64 * 1024,
	.max_depth = 32,
	.max_field = 256,
	.max_msg = 4096,
};

static const char *const severity_names[8] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

const char *hvt_severity_name(int sev)
{
	return severity_names[sev & 7];
}

int hvt_severity_parse(const char *name)
{
	for (int i = 0; i < 8; i++)
		if (strcasecmp(name, severity_names[i]) == 0)
			return i;
	if (strcasecmp(name, "error") == 0)
		return HVT_SEV_ERR;
	if (strcasecmp(name, "warn") == 0)
		return HVT_SEV_WARNING;
	return -1;
}

struct hvt_event *hvt_event_new(const char *type)
{
	struct hvt_event *ev = hvt_calloc(1, sizeof *ev);

	ev->type = type ? hvt_strdup(type) : NULL;
	ev->severity = HVT_SEV_INFO;
	return ev;
}

void hvt_event_free(struct hvt_event *ev)
{
	if (!ev)
		return;
	free(ev->host);
	free(ev->stream);
	free(ev->id);
	free(ev->prev);
	free(ev->source);
	free(ev->key);
	free(ev->type);
	free(ev->vm_name);
	free(ev->vm_uuid);
	free(ev->msg);
	if (ev->data)
		json_object_put(ev->data);
	free(ev);
}

void hvt_event_set_str(char **field, const char *value)
{
	free(*field);
	*field = value ? hvt_strdup(value) : NULL;
}

void hvt_event_set_vm(struct hvt_event *ev, const char *name, const char *uuid)
{
	hvt_event_set_str(&ev->vm_name, name);
	hvt_event_set_str(&ev->vm_uuid, uuid);
}

void hvt_event_set_msg(struct hvt_event *ev, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(ev->msg);
	ev->msg = s;
}

void hvt_event_data_add(struct hvt_event *ev, const char *key, json_object *obj)
{
	if (!ev->data)
		ev->data = json_object_new_object();
	json_object_object_add(ev->data, key, obj);
}

void hvt_json_escape(struct hvt_buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;

	hvt_buf_append(out, "\"", 1);
	for (; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		hvt_buf_append(out, run, (size_t)(p - run));
		switch (*p) {
		case '"': hvt_buf_append(out, "\\\"", 2); break;
		case '\\': hvt_buf_append(out, "\\\\", 2); break;
		case '\n': hvt_buf_append(out, "\\n", 2); break;
		case '\r': hvt_buf_append(out, "\\r", 2); break;
		case '\t': hvt_buf_append(out, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			hvt_buf_append(out, u, 6);
		}
		}
		run = p + 1;
	}
	hvt_buf_append(out, run, (size_t)(p - run));
	hvt_buf_append(out, "\"", 1);
}

static void put_key(struct hvt_buf *out, const char *key, bool *first)
{
	if (!*first)
		hvt_buf_append(out, ",", 1);
	*first = false;
	hvt_buf_append(out, "\"", 1);
	hvt_buf_append_str(out, key);
	hvt_buf_append(out, "\":", 2);
}

static void put_str(struct hvt_buf *out, const char *key, const char *v, bool *first)
{
	if (!v)
		return;
	put_key(out, key, first);
	hvt_json_escape(out, v);
}

static void put_time(struct hvt_buf *out, const char *key, long long us, bool *first)
{
	char ts[40];

	if (!us)
		return;
	hvt_format_rfc3339(us, ts, sizeof ts);
	put_key(out, key, first);
	hvt_buf_append(out, "\"", 1);
	hvt_buf_append(out, ts, strlen(ts));
	hvt_buf_append(out, "\"", 1);
}

void hvt_event_to_json(const struct hvt_event *ev, struct hvt_buf *out)
{
	bool first = true;

	hvt_buf_append(out, "{", 1);
	put_key(out, "v", &first);
	hvt_buf_append_u64(out, HVT_EVENT_VERSION);
	put_str(out, "id", ev->id, &first);
	put_str(out, "host", ev->host, &first);
	put_str(out, "stream", ev->stream, &first);
	if (ev->seq) {
		put_key(out, "seq", &first);
		hvt_buf_append_u64(out, ev->seq);
	}
	put_str(out, "prev", ev->prev, &first);
	put_str(out, "source", ev->source, &first);
	put_str(out, "key", ev->key, &first);
	put_str(out, "type", ev->type, &first);
	put_str(out, "severity", hvt_severity_name(ev->severity), &first);
	if (ev->vm_name || ev->vm_uuid) {
		bool vf = true;
		put_key(out, "vm", &first);
		hvt_buf_append(out, "{", 1);
		put_str(out, "name", ev->vm_name, &vf);
		put_str(out, "uuid", ev->vm_uuid, &vf);
		hvt_buf_append(out, "}", 1);
	}
	put_time(out, "ts", ev->ts_us, &first);
	put_time(out, "received", ev->received_us, &first);
	if (ev->flags & HVT_EV_LATE) {
		put_key(out, "late", &first);
		hvt_buf_append_str(out, "true");
	}
	if (ev->flags & HVT_EV_TRUNCATED) {
		put_key(out, "truncated", &first);
		hvt_buf_append_str(out, "true");
	}
	put_str(out, "msg", ev->msg, &first);
	if (ev->data) {
		size_t n;
		const char *d = json_object_to_json_string_length(ev->data,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
		put_key(out, "data", &first);
		hvt_buf_append(out, d, n);
	}
	hvt_buf_append(out, "}", 1);
}

bool hvt_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			/* events are mostly ASCII: skip it eight bytes at a time */
			uint64_t w;
			while (end - p >= 8 && (memcpy(&w, p, 8), (w & 0x8080808080808080ULL) == 0))
				p += 8;
			while (p < end && *p < 0x80)
				p++;
			continue;
		}
		int n;
		unsigned cp;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (end - p <= n)
			return false;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

bool hvt_type_valid(const char *type)
{
	size_t n = strlen(type);
	bool seg_start = true;

	if (n == 0 || n > 64)
		return false;
	for (const char *p = type; *p; p++) {
		if (*p == '.') {
			if (seg_start)
				return false;
			seg_start = true;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
		seg_start = false;
	}
	return !seg_start;
}

bool hvt_host_valid(const char *host, size_t len, size_t max)
{
	if (!host || len == 0 || len > max || host[0] == '(')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)host[i] < 33 || (unsigned char)host[i] > 126)
			return false;
	return true;
}

/* ---- decoding ---------------------------------------------------------- */

struct decode {
	const struct hvt_event_limits *lim;
	char *err;
	size_t errsize;
};

static bool fail(struct decode *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct decode *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, d->errsize, fmt, ap);
	va_end(ap);
	return false;
}

static bool get_string(struct decode *d, json_object *o, const char *key, size_t max,
		       bool required, char **out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return fail(d, "missing field '%s'", key);
		return true;
	}
	if (!json_object_is_type(v, json_type_string))
		return fail(d, "field '%s' must be a string", key);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n > max)
		return fail(d, "field '%s' is %zu bytes, more than the limit of %zu", key, n, max);
	const char *s = json_object_get_string(v);
	if (memchr(s, '\0', n))
		return fail(d, "field '%s' contains a NUL character", key);
	*out = hvt_strndup(s, n);
	return true;
}

static bool get_time(struct decode *d, json_object *o, const char *key, bool required, long long *out)
{
	char *s = NULL;

	if (!get_string(d, o, key, 64, required, &s))
		return false;
	if (!s)
		return true;
	int rc = hvt_parse_rfc3339(s, out);
	free(s);
	if (rc < 0)
		return fail(d, "field '%s' is not an RFC 3339 timestamp", key);
	return true;
}

/* A boolean flag; json-c would read "late":"no" (any string) as true. */
static bool get_flag(struct decode *d, json_object *o, const char *key, unsigned bit,
		     unsigned *flags)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(d, "field '%s' must be true or false", key);
	if (json_object_get_boolean(v))
		*flags |= bit;
	return true;
}

static bool decode_fields(struct decode *d, json_object *o, struct hvt_event *ev, bool require_identity)
{
	const struct hvt_event_limits *lim = d->lim;
	json_object *v;
	char *sev = NULL;

	if (json_object_object_get_ex(o, "v", &v) &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int(v) != HVT_EVENT_VERSION))
		return fail(d, "unsupported event version (this collector speaks v%d)", HVT_EVENT_VERSION);
	if (!get_string(d, o, "type", lim->max_field, true, &ev->type))
		return false;
	if (!hvt_type_valid(ev->type))
		return fail(d, "field 'type' must be dotted lowercase words, got '%.64s'", ev->type);
	if (!get_string(d, o, "id", lim->max_field, require_identity, &ev->id) ||
	    !get_string(d, o, "host", lim->max_field, require_identity, &ev->host) ||
	    !get_string(d, o, "stream", lim->max_field, require_identity, &ev->stream) ||
	    !get_string(d, o, "prev", lim->max_field, false, &ev->prev) ||
	    !get_string(d, o, "source", lim->max_field, require_identity, &ev->source) ||
	    !get_string(d, o, "key", lim->max_field, false, &ev->key) ||
	    !get_string(d, o, "msg", lim->max_msg, false, &ev->msg) ||
	    !get_string(d, o, "severity", 16, false, &sev))
		return false;
	if (sev) {
		ev->severity = hvt_severity_parse(sev);
		free(sev);
		if (ev->severity < 0)
			return fail(d, "field 'severity' is not a syslog severity name");
	}
	if (json_object_object_get_ex(o, "seq", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
			return fail(d, "field 'seq' must be a positive integer");
		ev->seq = (uint64_t)json_object_get_int64(v);
	} else if (require_identity) {
		return fail(d, "missing field 'seq'");
	}
	if (json_object_object_get_ex(o, "vm", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_object))
			return fail(d, "field 'vm' must be an object {name, uuid}");
		if (!get_string(d, v, "name", lim->max_field, false, &ev->vm_name) ||
		    !get_string(d, v, "uuid", lim->max_field, false, &ev->vm_uuid))
			return false;
	}
	if (!get_time(d, o, "ts", require_identity, &ev->ts_us) ||
	    !get_time(d, o, "received", false, &ev->received_us))
		return false;
	if (!get_flag(d, o, "late", HVT_EV_LATE, &ev->flags) ||
	    !get_flag(d, o, "truncated", HVT_EV_TRUNCATED, &ev->flags))
		return false;
	if (json_object_object_get_ex(o, "data", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_object))
			return fail(d, "field 'data' must be an object");
		ev->data = json_object_get(v);
	}
	return true;
}

/* ---- duplicate keys ------------------------------------------------------- */

/* json-c keeps the last of two equal keys; another reader (a SIEM, Python,
 * ClickHouse's JSON functions) may keep the first.  An event whose "host"
 * or "type" means one thing to the collector and another to whoever reads
 * the stored text later is refused instead.  The text is JSON json-c
 * already accepted, so this only follows strings and nesting; keys are
 * compared as the strings they decode to ("a" and "\u0061" are one key). */
struct jkey {
	const char *p;                /* the key's text between its quotes */
	size_t len;
	char *dec;                    /* decoded, when it holds escapes (owned) */
};

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static void put_utf8(struct hvt_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	hvt_buf_append(b, u, n);
}

/* The decoded key (NUL-terminated, length in *n). */
static char *key_decode(const char *p, size_t len, size_t *n)
{
	struct hvt_buf b = { 0 };

	hvt_buf_reserve(&b, len);
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\\' || i + 1 >= len) {
			hvt_buf_append(&b, p + i, 1);
			continue;
		}
		char c = p[++i];
		if (c == 'u' && i + 4 < len) {
			unsigned cp = hex4(p + i + 1);
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < len && p[i + 1] == '\\' && p[i + 2] == 'u') {
				unsigned lo = hex4(p + i + 3);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;  /* a lone surrogate, as json-c decodes it */
			put_utf8(&b, cp);
			continue;
		}
		static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
		const char *f = strchr(from, c);
		char out = f && c ? to[f - from] : c;    /* \" \\ \/ stand for themselves */
		hvt_buf_append(&b, &out, 1);
	}
	*n = b.len;
	hvt_buf_append(&b, "", 1);
	return b.data;
}

static int key_cmp(const void *a, const void *b)
{
	const struct jkey *x = a, *y = b;
	size_t n = HVT_MIN(x->len, y->len);
	int c = memcmp(x->dec ? x->dec : x->p, y->dec ? y->dec : y->p, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Are two of keys[0..n) equal?  Sorts them. */
static bool keys_repeat(struct jkey *keys, size_t n)
{
	if (n < 2)
		return false;
	if (n <= 24) {
		/* an event's objects are small: compare pairs, no sorting */
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (keys[i].len == keys[j].len && key_cmp(&keys[i], &keys[j]) == 0)
					return true;
		return false;
	}
	qsort(keys, n, sizeof *keys, key_cmp);
	for (size_t i = 1; i < n; i++)
		if (key_cmp(&keys[i - 1], &keys[i]) == 0)
			return true;
	return false;
}

/* Grow an array that starts in a stack buffer (every event is scanned:
 * the usual one fits without an allocation). */
static void *grow(void *v, void *stack, size_t *cap, size_t size)
{
	size_t n = *cap * 2;
	void *w = v == stack ? hvt_malloc(n * size) : hvt_realloc(v, n * size);

	if (v == stack)
		memcpy(w, stack, *cap * size);
	*cap = n;
	return w;
}

bool hvt_json_has_duplicate_keys(const char *text, size_t len)
{
	struct jkey keys0[64], *keys = keys0;
	size_t nkeys = 0, capkeys = HVT_ARRAY_SIZE(keys0);
	/* per open container: where its keys start; SIZE_MAX for an array */
	size_t frames0[32], *frames = frames0, nframes = 0, capframes = HVT_ARRAY_SIZE(frames0);
	bool expect_key = false, dup = false;

	for (size_t i = 0; i < len && !dup; i++) {
		char c = text[i];
		if (c == '{' || c == '[') {
			if (nframes == capframes)
				frames = grow(frames, frames0, &capframes, sizeof *frames);
			frames[nframes++] = c == '{' ? nkeys : SIZE_MAX;
			expect_key = c == '{';
		} else if (c == '}' || c == ']') {
			if (!nframes)
				break;
			size_t start = frames[--nframes];
			if (start != SIZE_MAX) {
				dup = keys_repeat(keys + start, nkeys - start);
				for (size_t k = start; k < nkeys; k++)
					free(keys[k].dec);
				nkeys = start;
			}
			expect_key = false;
		} else if (c == ',') {
			expect_key = nframes && frames[nframes - 1] != SIZE_MAX;
		} else if (c == '"') {
			size_t start = ++i;
			for (;;) {
				const char *q = memchr(text + i, '"', len - i);
				if (!q) {
					i = len;
					break;
				}
				size_t e = (size_t)(q - text), bs = 0;
				while (e - bs > start && text[e - bs - 1] == '\\')
					bs++;
				i = e;
				if (bs % 2 == 0)
					break;          /* not escaped: the end of the string */
				i++;
			}
			if (expect_key) {
				if (nkeys == capkeys)
					keys = grow(keys, keys0, &capkeys, sizeof *keys);
				struct jkey *k = &keys[nkeys++];
				k->p = text + start;
				k->len = i - start;
				k->dec = memchr(k->p, '\\', k->len) ? key_decode(k->p, k->len, &k->len) : NULL;
				expect_key = false;
			}
		}
	}
	for (size_t k = 0; k < nkeys; k++)
		free(keys[k].dec);
	if (keys != keys0)
		free(keys);
	if (frames != frames0)
		free(frames);
	return dup;
}

/* One JSON tokener per thread and nesting limit, reset between events:
 * making one per event (four allocations) showed in the profiles.  Freed
 * at thread exit through the key's destructor.
 *
 * Only a tokener whose last parse succeeded is kept: json-c 0.16's
 * json_tokener_reset() leaves a pending \uD800-style high surrogate behind
 * when a parse stops inside one, and the next event's first \u escape would
 * then decode to U+FFFD plus its own character - a hostile fragment could
 * change the content (and so the hash) of whatever this thread decodes
 * next.  Found by fuzz_event; test_event.c:failed_parse_leaves_no_state. */
struct tl_tokener {
	json_tokener *tok;
	int depth;
};
static pthread_key_t tokener_key;
static pthread_once_t tokener_once = PTHREAD_ONCE_INIT;

static void tokener_free(void *p)
{
	struct tl_tokener *t = p;

	if (t->tok)
		json_tokener_free(t->tok);
	free(t);
}

static void tokener_key_init(void)
{
	pthread_key_create(&tokener_key, tokener_free);
}

static void thread_tokener_discard(void)
{
	struct tl_tokener *t = pthread_getspecific(tokener_key);

	if (t && t->tok) {
		json_tokener_free(t->tok);
		t->tok = NULL;
		t->depth = 0;
	}
}

static json_tokener *thread_tokener(int depth)
{
	struct tl_tokener *t;

	pthread_once(&tokener_once, tokener_key_init);
	t = pthread_getspecific(tokener_key);
	if (t && t->tok && t->depth == depth)
		return t->tok;
	if (!t) {
		t = hvt_calloc(1, sizeof *t);
		pthread_setspecific(tokener_key, t);
	}
	if (t->tok)
		json_tokener_free(t->tok);
	t->tok = json_tokener_new_ex(depth);
	t->depth = depth;
	if (t->tok)
		json_tokener_set_flags(t->tok, JSON_TOKENER_STRICT);
	return t->tok;
}

struct hvt_event *hvt_event_from_json(const char *text, size_t len,
				      const struct hvt_event_limits *lim,
				      bool require_identity, char *err, size_t errsize)
{
	struct decode d = { lim ? lim : &hvt_event_default_limits, err, errsize };
	struct hvt_event *ev;
	json_tokener *tok;
	json_object *o;

	if (len > d.lim->max_json) {
		fail(&d, "event is %zu bytes, more than the limit of %zu", len, d.lim->max_json);
		return NULL;
	}
	if (!hvt_utf8_valid(text, len)) {
		fail(&d, "event is not valid UTF-8");
		return NULL;
	}
	tok = thread_tokener(d.lim->max_depth);
	if (!tok) {
		fail(&d, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_reset(tok);
	if (!o || jerr != json_tokener_success) {
		thread_tokener_discard();
		if (o)
			json_object_put(o);
		if (jerr == json_tokener_continue)
			fail(&d, "event JSON is incomplete");
		else if (jerr == json_tokener_error_depth)
			fail(&d, "event JSON nests deeper than %d levels", d.lim->max_depth);
		else
			fail(&d, "event is not valid JSON: %s", json_tokener_error_desc(jerr));
		return NULL;
	}
	while (used < len && (text[used] == ' ' || text[used] == '\n' || text[used] == '\r'))
		used++;
	if (used != len) {
		json_object_put(o);
		fail(&d, "trailing data after the event JSON");
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		fail(&d, "event must be a JSON object");
		return NULL;
	}
	if (hvt_json_has_duplicate_keys(text, len)) {
		json_object_put(o);
		fail(&d, "event JSON repeats a key in one object (readers disagree on which copy counts)");
		return NULL;
	}
	ev = hvt_calloc(1, sizeof *ev);
	ev->severity = HVT_SEV_INFO;
	if (!decode_fields(&d, o, ev, require_identity)) {
		hvt_event_free(ev);
		ev = NULL;
	}
	json_object_put(o);
	return ev;
}
