/* record.c - see record.h.  Layout (little-endian, host order on x86):
 *   u8 format(2) u8 kind u8 flags u8 0 | i64 rx_us i64 ts_us i64 received_us
 *   u64 seq | i32 severity u32 flags | 9 strings: u32 len, bytes, NUL
 *   (peer host stream id prev source type vm_name vm_uuid) | u32 len raw NUL
 *   | u32 len note NUL */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "record.h"

#define FORMAT 2
/* Format 1 had no flags: a seal's validity was only in the words of its
 * note.  Records of an inbox written before the upgrade are read as
 * format 1 wrote them, here and nowhere else. */
#define FORMAT_NOFLAGS 1
#define LEGACY_VALID_NOTE "valid:"

static void put(struct hvt_buf *b, const void *p, size_t n)
{
	hvt_buf_append(b, p, n);
}

static void put_str(struct hvt_buf *b, const char *s, size_t n)
{
	uint32_t l = (uint32_t)n;

	put(b, &l, sizeof l);
	if (n)
		put(b, s, n);
	put(b, "", 1);
}

static void put_cstr(struct hvt_buf *b, const char *s)
{
	put_str(b, s ? s : "", s ? strlen(s) : 0);
}

void col_record_pack(struct hvt_buf *out, int kind, unsigned flags, const struct hvt_event *ev,
		     const char *peer, long long rx_us, const char *raw, size_t raw_len, const char *note)
{
	uint8_t head[4] = { FORMAT, (uint8_t)kind, (uint8_t)flags, 0 };
	int64_t t[3] = { rx_us, ev->ts_us, ev->received_us };
	uint64_t seq = ev->seq;
	int32_t sev = ev->severity;
	uint32_t evflags = ev->flags;

	put(out, head, sizeof head);
	put(out, t, sizeof t);
	put(out, &seq, sizeof seq);
	put(out, &sev, sizeof sev);
	put(out, &evflags, sizeof evflags);
	put_cstr(out, peer);
	put_cstr(out, ev->host);
	put_cstr(out, ev->stream);
	put_cstr(out, ev->id);
	put_cstr(out, ev->prev);
	put_cstr(out, ev->source);
	put_cstr(out, ev->type);
	put_cstr(out, ev->vm_name);
	put_cstr(out, ev->vm_uuid);
	put_str(out, raw, raw_len);
	put_cstr(out, note);
}

struct cursor {
	const char *p, *end;
};

static int take(struct cursor *c, void *dst, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	memcpy(dst, c->p, n);
	c->p += n;
	return 0;
}

/* Points *s at the string; NULL for an empty optional one. */
static int take_str(struct cursor *c, const char **s, size_t *len, int keep_empty)
{
	uint32_t l;

	if (take(c, &l, sizeof l) < 0 || (size_t)(c->end - c->p) < (size_t)l + 1 || c->p[l] != '\0')
		return -1;
	*s = (l || keep_empty) ? c->p : NULL;
	if (len)
		*len = l;
	c->p += l + 1;
	return 0;
}

int col_record_unpack(const char *data, size_t len, struct col_record *r)
{
	struct cursor c = { data, data + len };
	uint8_t head[4];
	int64_t t[3];
	uint64_t seq;
	int32_t sev;
	uint32_t flags;

	memset(r, 0, sizeof *r);
	if (take(&c, head, sizeof head) < 0 || (head[0] != FORMAT && head[0] != FORMAT_NOFLAGS) ||
	    take(&c, t, sizeof t) < 0 || take(&c, &seq, sizeof seq) < 0 ||
	    take(&c, &sev, sizeof sev) < 0 || take(&c, &flags, sizeof flags) < 0)
		return -1;
	r->kind = head[1];
	r->flags = head[0] == FORMAT ? head[2] : 0;
	r->rx_us = t[0];
	r->ev.ts_us = t[1];
	r->ev.received_us = t[2];
	r->ev.seq = seq;
	r->ev.severity = sev;
	r->ev.flags = flags;
	if (take_str(&c, &r->peer, NULL, 1) < 0 ||
	    take_str(&c, (const char **)&r->ev.host, NULL, 1) < 0 ||
	    take_str(&c, (const char **)&r->ev.stream, NULL, 0) < 0 ||
	    take_str(&c, (const char **)&r->ev.id, NULL, 0) < 0 ||
	    take_str(&c, (const char **)&r->ev.prev, NULL, 1) < 0 ||
	    take_str(&c, (const char **)&r->ev.source, NULL, 0) < 0 ||
	    take_str(&c, (const char **)&r->ev.type, NULL, 0) < 0 ||
	    take_str(&c, (const char **)&r->ev.vm_name, NULL, 0) < 0 ||
	    take_str(&c, (const char **)&r->ev.vm_uuid, NULL, 0) < 0 ||
	    take_str(&c, &r->raw, &r->raw_len, 1) < 0 ||
	    take_str(&c, &r->note, NULL, 0) < 0)
		return -1;
	if (head[0] == FORMAT_NOFLAGS && r->kind == COL_REC_SEAL && r->note &&
	    strncmp(r->note, LEGACY_VALID_NOTE, sizeof LEGACY_VALID_NOTE - 1) == 0)
		r->flags |= COL_REC_SEAL_VALID;
	return c.p == c.end ? 0 : -1;
}
