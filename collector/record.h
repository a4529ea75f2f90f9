/* record.h - what the receiver writes to the inbox and the indexer reads.
 *
 * The receiver has already parsed and validated each event, so the record
 * carries the extracted fields next to the exact JSON text; the indexer
 * stores them without parsing JSON again.  Strings are stored with their
 * terminating NUL so unpacked fields point straight into the record. */
#ifndef HVT_COL_RECORD_H
#define HVT_COL_RECORD_H

#include <stddef.h>

#include "event.h"
#include "util.h"

enum col_record_kind {
	COL_REC_EVENT = 1,        /* an event to index */
	COL_REC_HOST_STATS = 2,   /* a forwarder's stats report (raw = JSON) */
	COL_REC_SEAL = 3,         /* a seal (raw = its JSON; note = its signer, or why it is not valid) */
	COL_REC_QUARANTINE = 4,   /* an event kept out of the trail (note = why) */
};

enum col_record_flags {
	COL_REC_SEAL_VALID = 1u << 0,   /* a seal that verified on arrival (docs/integrity.md) */
};

struct col_record {
	int kind;
	long long rx_us;          /* when the collector received it */
	const char *peer;         /* "host/ip" of the RELP session */
	struct hvt_event ev;      /* strings point into the record; never free */
	const char *raw;
	size_t raw_len;
	const char *note;         /* seal verdict or quarantine reason, or NULL */
	unsigned flags;           /* COL_REC_* flags */
};

void col_record_pack(struct hvt_buf *out, int kind, unsigned flags, const struct hvt_event *ev,
		     const char *peer, long long rx_us, const char *raw, size_t raw_len, const char *note);
/* 0, or -1 when the record is malformed (a bug or disk corruption). */
int col_record_unpack(const char *data, size_t len, struct col_record *r);

#endif
