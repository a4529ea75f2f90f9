/* ingest.h - one received RELP frame to validated records.
 *
 * A frame holds one or more syslog messages separated by LF (hvtrail
 * forwarders batch; rsyslog sends one).  Each message is one of:
 *   - an hvtrail event: RFC 5424, APP-NAME hvtrail, MSG "@cee:{json}";
 *     decoded under the size/depth limits and checked for consistency
 *     (header host/type equal the JSON's, id = stream-seq);
 *   - a control message from a forwarder (MSGID hvtrail.sync, hvtrail.stats);
 *   - any other syslog line (a stock rsyslog feeding us): indexed as a
 *     syslog.message event with host, program and severity.
 * Anything else is rejected with a reason and counted; the rest of the
 * frame is still processed.  No I/O here: the fuzz harness drives it. */
#ifndef HVT_COL_INGEST_H
#define HVT_COL_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum ingest_reject {
	REJ_OVERSIZED,
	REJ_SYSLOG,               /* not a syslog message */
	REJ_EVENT,                /* hvtrail event that fails validation */
	REJ_CONTROL,              /* malformed control message */
	REJ_MISMATCH,             /* RFC 5424 header and event disagree (host, type, id) */
	REJ_SEAL,                 /* a seal that does not verify (docs/integrity.md) */
	REJ_IDENTITY,             /* an event of a stream not proven to be its host's */
	REJ_COUNT
};

/* What to do with an event whose stream no valid seal binds to its host. */
enum ingest_identity {
	ID_REFUSE,                /* reject it (logged, counted) */
	ID_QUARANTINE,            /* keep it out of the trail, in the quarantine */
	ID_OFF,                   /* accept it (no integrity binding) */
};
extern const char *const ingest_reject_names[REJ_COUNT];
extern const char *const ingest_reject_keys[REJ_COUNT];     /* snake_case, for stats */

struct ingest_counters {
	uint64_t frames, messages, events, syslog_lines, control, seals, quarantined;
	uint64_t rejected[REJ_COUNT];
};

struct ingest_sink {
	/* kind: COL_REC_*; flags: COL_REC_SEAL_VALID for a seal that
	 * verified; ev fully decoded; raw = JSON text to store; note: a seal's
	 * signer or why it is not valid, or the reason for quarantine.
	 * Returns 0, or -1 to abandon the frame (shutdown). */
	int (*record)(void *arg, int kind, unsigned flags, const struct hvt_event *ev, const char *raw,
		      size_t raw_len, const char *note);
	void (*reject)(void *arg, enum ingest_reject why, const char *detail);
	void *arg;
};

struct bindings;

struct ingest_limits {
	struct hvt_event_limits ev;
	size_t max_message;       /* a whole syslog message */
	/* identity (docs/integrity.md) */
	enum ingest_identity identity;
	const char *ca_file;      /* seals' certificates must chain to it (the listener's CA) */
	char **host_map;          /* "certname:host" items, NULL-terminated */
	struct bindings *bindings;
};

/* Process one frame.  peer: "host/ip" of the session (for syslog lines'
 * identity and the log).  Returns 0, or -1 when the sink abandoned it. */
int ingest_frame(const struct ingest_limits *lim, const char *peer, long long rx_us,
		 const char *data, size_t len, const struct ingest_sink *sink,
		 struct ingest_counters *cnt);

#endif
