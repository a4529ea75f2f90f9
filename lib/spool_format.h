/* spool_format.h - the on-disk record of lib/spool.c and the scanner that
 * finds intact records in a segment, also after damage (internal to the
 * spool; see spool.h for the API).
 *
 * A record is [magic len seq crc meta_len][payload: len][meta: meta_len].
 * The CRC-32C covers seq, len, the payload and, when there is meta,
 * meta_len and the meta (so records written before meta existed, with
 * meta_len 0, keep their checksum).  Payloads are what the spool ships
 * (RFC 5424 messages, inbox records); meta is the owner's private
 * bookkeeping stored in the same write (an input's read position, an
 * idempotency key) and never shipped.
 *
 * Within a segment seqs increase; they are consecutive except where a
 * repair set damaged records aside (a hole).  The scanner walks a segment's
 * bytes and yields intact records, and for anything else the byte range
 * and the seqs it must have held: after a damaged record it looks for the
 * next position where an intact record (magic, sane header, checksum, seq
 * above the last good one) starts, so one flipped byte costs one record,
 * not the rest of the segment. */
#ifndef HVT_SPOOL_FORMAT_H
#define HVT_SPOOL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_REC_MAGIC 0x52545648u     /* "HVTR" little-endian */
/* A hole record: seqs lost to damage that a repair set aside, recorded
 * where they were, so the hole is explained rather than found again.  Same
 * header as a record; seq = the last seq lost; payload = "lost=A..B why=...";
 * readers skip it (the seq jump after it counts what was lost). */
#define SPOOL_HOLE_MAGIC 0x484c4f48u    /* "HOLH" little-endian */
#define SPOOL_REC_HDR 24u
#define SPOOL_REC_MAX (64u << 20)
#define SPOOL_META_MAX (1u << 20)

struct spool_rec_hdr {
	uint32_t magic;
	uint32_t len;
	uint64_t seq;
	uint32_t crc;
	uint32_t meta_len;
};

uint32_t spool_rec_crc(const struct spool_rec_hdr *h, const void *payload, const void *meta);

enum spool_scan_kind {
	SCAN_END,         /* nothing more */
	SCAN_REC,         /* an intact record (h.magic: a record or a hole record) */
	SCAN_DAMAGED,     /* bytes that are no intact record, followed by one (or the end) */
	SCAN_TORN,        /* an incomplete last record: an interrupted write */
};

struct spool_scan_item {
	enum spool_scan_kind kind;
	uint64_t off, len;            /* bytes in the segment */
	struct spool_rec_hdr h;       /* SCAN_REC */
	/* SCAN_DAMAGED / SCAN_TORN: the seqs those bytes held, as far as the
	 * records around them tell: lost_first..lost_last; lost_last is 0
	 * when nothing after them says (the segment's end, no next segment) */
	uint64_t lost_first, lost_last;
	const char *why;              /* what was wrong, in words */
};

/* Scanning a segment image held in memory. */
struct spool_scan {
	const unsigned char *buf;     /* bytes [base, base + size) of the segment file */
	uint64_t base, size;
	uint64_t off;                 /* file offset of the next item */
	uint64_t expect;              /* the lowest seq the next record may have */
	uint64_t limit;               /* seqs must be below this (the next segment's first); 0 = none */
};

void spool_scan_init(struct spool_scan *s, const void *buf, uint64_t size, uint64_t base_off,
		     uint64_t expect, uint64_t limit);
/* The next item from s->off on. */
enum spool_scan_kind spool_scan_next(struct spool_scan *s, struct spool_scan_item *it);

#endif
