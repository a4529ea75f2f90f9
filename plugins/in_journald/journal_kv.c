/* journal_kv.c - key=value records as libvirt writes them to the audit
 * subsystem and to its own log (see journal_text.h).
 *
 * A libvirt audit record reaches the journal as
 *   VIRT_CONTROL pid=1187 uid=0 ... msg='virt=kvm op=start reason=booted
 *     vm="vm-web01" uuid=0f3c... vm-pid=20003 exe="/usr/sbin/libvirtd" ... res=success'
 * and, when libvirt logs at info level, a copy of the user part as
 *   success=yes virt=qemu op=start reason=booted vm="vm-lab01" uuid=... vm-pid=8703
 * Names that need it are hex-encoded by audit_encode_nv_string() and then
 * carry no quotes. */
#include "config.h"

#include <string.h>

#include "journal_text.h"

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* One value starting at p: quoted up to the matching quote, else up to
 * white space.  Returns where parsing continues. */
static const char *parse_value(const char *p, const char *end, struct jd_kv *kv)
{
	if (p < end && (*p == '"' || *p == '\'')) {
		char q = *p++;
		const char *close = memchr(p, q, (size_t)(end - p));
		if (!close)
			close = end;
		kv->val = p;
		kv->vlen = (size_t)(close - p);
		kv->quoted = true;
		return close < end ? close + 1 : end;
	}
	const char *v = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	kv->val = v;
	kv->vlen = (size_t)(p - v);
	kv->quoted = false;
	return p;
}

void jd_kv_parse(const char *text, size_t len, struct jd_kvset *out)
{
	const char *p = text, *end = text + len;

	out->n = 0;
	while (out->n < JD_KV_MAX) {
		p = skip_spaces(p, end);
		if (p >= end)
			return;
		const char *k = p;
		while (p < end && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		if (p >= end || *p != '=' || p == k) {
			while (p < end && *p != ' ' && *p != '\t')
				p++;            /* a bare word (the record type): skip it */
			continue;
		}
		struct jd_kv *kv = &out->kv[out->n++];
		kv->key = k;
		kv->klen = (size_t)(p - k);
		p = parse_value(p + 1, end, kv);
	}
}

const struct jd_kv *jd_kv_getn(const struct jd_kvset *s, const char *key, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->kv[i].klen == n && memcmp(s->kv[i].key, key, n) == 0)
			return &s->kv[i];
	return NULL;
}

bool jd_kv_is(const struct jd_kvset *s, const char *key, const char *value)
{
	const struct jd_kv *kv = jd_kv_get(s, key);
	size_t n = strlen(value);

	return kv && kv->vlen == n && memcmp(kv->val, value, n) == 0;
}

void jd_audit_user_part(const char *text, size_t len, const char **part, size_t *plen)
{
	static const char tag[] = "msg='";
	const char *end = text + len;

	*part = text;
	*plen = len;
	for (const char *p = text; p + sizeof tag - 1 <= end; p++) {
		p = memchr(p, 'm', (size_t)(end - p));
		if (!p || p + sizeof tag - 1 > end)
			return;
		if (memcmp(p, tag, sizeof tag - 1) != 0 || (p > text && p[-1] != ' '))
			continue;
		const char *s = p + sizeof tag - 1;
		const char *close = end;
		while (close > s && close[-1] != '\'')
			close--;            /* the last quote: values inside use double quotes */
		*part = s;
		*plen = close > s ? (size_t)(close - 1 - s) : (size_t)(end - s);
		return;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool all_hex(const char *s, size_t n)
{
	if (n < 2 || n % 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

size_t jd_audit_value(const struct jd_kv *kv, bool may_be_number, char *buf, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return 0;
	/* An encoded value is bare hex of even length.  "?" and numbers are bare
	 * too: a value that may be a number (old-mem=, new-vcpu=) is decoded only
	 * when it has a hex letter; vm= is always quoted unless encoded. */
	if (!kv->quoted && all_hex(kv->val, kv->vlen) &&
	    !(may_be_number && all_digits(kv->val, kv->vlen))) {
		for (size_t i = 0; i + 1 < kv->vlen && n + 1 < size; i += 2)
			buf[n++] = (char)(hexval(kv->val[i]) << 4 | hexval(kv->val[i + 1]));
	} else {
		n = kv->vlen < size - 1 ? kv->vlen : size - 1;
		memcpy(buf, kv->val, n);
	}
	buf[n] = '\0';
	return n;
}
