/* spool_format.c - see spool_format.h. */
#include "config.h"

#include <string.h>

#include "crc32c.h"
#include "spool_format.h"

uint32_t spool_rec_crc(const struct spool_rec_hdr *h, const void *payload, const void *meta)
{
	uint32_t c = hvt_crc32c(0, &h->seq, sizeof h->seq);

	c = hvt_crc32c(c, &h->len, sizeof h->len);
	c = hvt_crc32c(c, payload, h->len);
	if (h->meta_len) {
		c = hvt_crc32c(c, &h->meta_len, sizeof h->meta_len);
		c = hvt_crc32c(c, meta, h->meta_len);
	}
	return c;
}

void spool_scan_init(struct spool_scan *s, const void *buf, uint64_t size, uint64_t base_off,
		     uint64_t expect, uint64_t limit)
{
	memset(s, 0, sizeof *s);
	s->buf = buf;
	s->base = base_off;
	s->size = size;
	s->off = base_off;
	s->expect = expect ? expect : 1;
	s->limit = limit;
}

/* Is there a complete, intact record at file offset `at`?  why says what
 * is wrong if not; *torn when the bytes end inside it. */
static bool valid_at(const struct spool_scan *s, uint64_t at, struct spool_rec_hdr *h, const char **why,
		     bool *torn)
{
	uint64_t rel = at - s->base, left = s->size - rel;

	*torn = false;
	if (left < SPOOL_REC_HDR) {
		*why = "a torn record header";
		*torn = true;
		return false;
	}
	memcpy(h, s->buf + rel, sizeof *h);     /* headers need not be aligned */
	if ((h->magic != SPOOL_REC_MAGIC && h->magic != SPOOL_HOLE_MAGIC) || h->len > SPOOL_REC_MAX || h->meta_len > SPOOL_META_MAX) {
		*why = "a corrupt record header";
		return false;
	}
	if (h->seq < s->expect || (s->limit && h->seq >= s->limit)) {
		*why = "a record header with an impossible seq";
		return false;
	}
	if (left - SPOOL_REC_HDR < (uint64_t)h->len + h->meta_len) {
		*why = "a torn record";
		*torn = true;
		return false;
	}
	const unsigned char *p = s->buf + rel + SPOOL_REC_HDR;
	if (spool_rec_crc(h, p, p + h->len) != h->crc) {
		*why = "a checksum mismatch";
		return false;
	}
	return true;
}

/* The next file offset after `from` where an intact record starts; 0 if
 * none (offset 0 is never searched for: it is where a scan starts). */
static uint64_t resync(const struct spool_scan *s, uint64_t from, struct spool_rec_hdr *h)
{
	const char *why;
	bool torn;
	uint64_t end = s->base + s->size;

	/* both magics end in 'H' at byte 0: look for that, then check */
	for (uint64_t at = from; at + SPOOL_REC_HDR <= end; at++) {
		const unsigned char *p = memchr(s->buf + (at - s->base), 'H', end - at);
		if (!p)
			return 0;
		at = s->base + (uint64_t)(p - s->buf);
		if (at + SPOOL_REC_HDR <= end && valid_at(s, at, h, &why, &torn))
			return at;
	}
	return 0;
}

enum spool_scan_kind spool_scan_next(struct spool_scan *s, struct spool_scan_item *it)
{
	uint64_t end = s->base + s->size;
	bool torn;

	memset(it, 0, sizeof *it);
	it->off = s->off;
	if (s->off >= end)
		return it->kind = SCAN_END;
	if (valid_at(s, s->off, &it->h, &it->why, &torn)) {
		it->kind = SCAN_REC;
		it->len = SPOOL_REC_HDR + (uint64_t)it->h.len + it->h.meta_len;
		it->why = NULL;
		s->off += it->len;
		s->expect = it->h.seq + 1;
		return SCAN_REC;
	}
	struct spool_rec_hdr next;
	uint64_t at = resync(s, s->off + 1, &next);
	it->lost_first = s->expect;
	if (at) {
		/* damage with intact records after it: the seqs in between */
		it->kind = SCAN_DAMAGED;
		it->len = at - s->off;
		it->lost_last = next.seq > s->expect ? next.seq - 1 : 0;
		if (!it->lost_last)
			it->lost_first = 0;       /* stray bytes, no record missing */
		s->off = at;
		return SCAN_DAMAGED;
	}
	/* nothing intact follows: an interrupted write if the record is cut
	 * short by the end, otherwise damage up to the end */
	it->kind = torn ? SCAN_TORN : SCAN_DAMAGED;
	it->len = end - s->off;
	it->lost_last = s->limit ? s->limit - 1 : 0;
	s->off = end;
	return it->kind;
}
