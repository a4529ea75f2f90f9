/* fuzz_ingest.c - libFuzzer harness for the collector's frame path
 * (collector/libingest.la: a RELP frame split into messages, each parsed
 * as RFC 5424/3164 by lib/rfc5424.c, hvtrail events decoded and checked
 * against their header, plain syslog lines given an identity), exactly
 * what the receiver runs on every frame a forwarder sends.
 *
 * Input: the frame.  Checked beyond "no crash, no leak, no UB": every
 * message is either stored or rejected with a reason, never both or
 * neither; every stored record survives the inbox record format
 * (pack/unpack) unchanged and its JSON is valid UTF-8 within the limit. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "log.h"
#include "record.h"
#include "trail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* identity: ID_OFF or ID_QUARANTINE by the input's length (seals are
 * verified without a CA: the signature and names still are) */
static struct ingest_limits lim = {
	.ev = { .max_json = 8192, .max_depth = 16, .max_field = 64, .max_msg = 1024 },
	.max_message = 8192 + 1024,
};
static uint64_t stored, rejected;

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int record(void *arg, int kind, unsigned flags, const struct hvt_event *ev, const char *raw,
		  size_t raw_len, const char *note)
{
	struct hvt_buf b = { 0 };
	struct col_record r;

	(void)arg;
	stored++;
	if (!hvt_utf8_valid(raw, raw_len) || (kind == COL_REC_EVENT && raw_len > lim.ev.max_json * 4))
		abort();
	/* every host the trail holds is one (#15: a NUL host name was stored
	 * as "", which no index plugin accepts) */
	if (kind != COL_REC_QUARANTINE && kind != COL_REC_SEAL &&
	    !hvt_host_valid(ev->host, ev->host ? strlen(ev->host) : 0, lim.ev.max_field))
		abort();
	/* ... and every event can be stored exactly once by both index
	 * plugins (they refuse what fails these checks) */
	char why[200];
	if (kind == COL_REC_EVENT && (!hvt_event_identity_check(ev, why, sizeof why) || ev->seq > INT64_MAX))
		abort();
	col_record_pack(&b, kind, flags, ev, "fuzz/127.0.0.1", 1, raw, raw_len, note);
	if (col_record_unpack(b.data, b.len, &r) < 0 || r.kind != kind || r.flags != flags || r.raw_len != raw_len ||
	    memcmp(r.raw, raw, raw_len) != 0 || !str_eq(r.ev.host, ev->host) || !str_eq(r.ev.type, ev->type) ||
	    (kind == COL_REC_EVENT && (!str_eq(r.ev.id, ev->id) || r.ev.seq != ev->seq)))
		abort();
	hvt_buf_free(&b);
	return 0;
}

static void reject(void *arg, enum ingest_reject why, const char *detail)
{
	(void)arg;
	rejected++;
	if ((unsigned)why >= REJ_COUNT || !detail || !*detail)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct ingest_sink sink = { record, reject, NULL };
	struct ingest_counters c;

	if (!once++)
		hvt_log_set_level(LOG_EMERG);
	memset(&c, 0, sizeof c);
	stored = rejected = 0;
	lim.identity = size & 1 ? ID_QUARANTINE : ID_OFF;
	if (ingest_frame(&lim, "fuzz/127.0.0.1", 1, (const char *)data, size, &sink, &c) < 0)
		abort();              /* only a sink abandons a frame */
	uint64_t nrej = 0;
	for (int i = 0; i < REJ_COUNT; i++)
		nrej += c.rejected[i];
	/* every message is accounted for exactly once (control messages -
	 * seals among them - are counted as such before they may be rejected;
	 * a rejected seal is still kept as evidence; sync frames store
	 * nothing) */
	uint64_t kept = c.events + c.syslog_lines + c.quarantined + c.control;
	if (nrej != rejected ||
	    kept + nrej - c.rejected[REJ_CONTROL] - c.rejected[REJ_SEAL] != c.messages || stored > kept)
		abort();
	return 0;
}
