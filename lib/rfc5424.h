/* rfc5424.h - syslog message framing for the wire.
 *
 * An hvtrail event travels as one RFC 5424 message:
 *   <PRI>1 TIMESTAMP HOSTNAME hvtrail - MSGID - @cee:{json}
 * with MSGID = the event type.  The collector also accepts plain syslog
 * lines from a stock rsyslog (RFC 5424, or RFC 3164 with either classic or
 * RFC 3339 timestamps) and indexes them as syslog.message events. */
#ifndef HVT_RFC5424_H
#define HVT_RFC5424_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "util.h"

#define HVT_CEE_COOKIE "@cee:"

/* Append the RFC 5424 message for ev (whose JSON is json/json_len). */
void hvt_syslog_format(struct hvt_buf *out, int facility, const struct hvt_event *ev,
		       const char *json, size_t json_len);

/* A parsed syslog message; pointers/lengths into the input. */
struct hvt_syslog_msg {
	int pri;                  /* -1 if absent */
	int version;              /* 1 for RFC 5424, 0 for RFC 3164 */
	const char *timestamp; size_t timestamp_len;
	const char *hostname; size_t hostname_len;
	const char *app; size_t app_len;
	const char *procid; size_t procid_len;
	const char *msgid; size_t msgid_len;
	const char *sd; size_t sd_len;
	const char *msg; size_t msg_len;
};

/* Parse one message (no trailing newline).  Returns 0, or -1 with a reason
 * in err. */
int hvt_syslog_parse(const char *line, size_t len, struct hvt_syslog_msg *out,
		     char *err, size_t errsize);

/* Is this message an hvtrail event (APP-NAME hvtrail and @cee: body)?
 * If so, points json and json_len at the JSON text. */
bool hvt_syslog_is_event(const struct hvt_syslog_msg *m, const char **json, size_t *json_len);

/* ---- control messages ----------------------------------------------------
 * hvtrail messages the collector consumes instead of indexing them: the
 * MSGID is "hvtrail." and a name from this table, the body a JSON object
 * (docs/delivery.md, docs/integrity.md).  Both ends use the table, so a
 * name exists once. */
#define HVT_CONTROL_PREFIX "hvtrail."
enum hvt_control {
	HVT_CONTROL_SYNC,         /* "{}": pushes the RELP window past real frames */
	HVT_CONTROL_STATS,        /* the forwarder's counters */
	HVT_CONTROL_SEAL,         /* a signed chain head (seal.h) */
	HVT_CONTROL_COUNT
};
/* "hvtrail.sync", ... */
extern const char *const hvt_control_names[HVT_CONTROL_COUNT];
/* Does an event's MSGID put it in the control namespace ("hvtrail.*")? */
bool hvt_syslog_is_control(const struct hvt_syslog_msg *m);
/* The control message a MSGID names, or -1 (unknown, though maybe in the
 * namespace). */
int hvt_control_lookup(const char *msgid, size_t len);
/* Append a control message from host with body json. */
void hvt_syslog_format_control(struct hvt_buf *out, int facility, const char *host, enum hvt_control c,
			       const char *json);

/* ---- facilities ----------------------------------------------------------- */
#define HVT_FACILITY_DAEMON 3
/* The facility code (0..23, not shifted) of a name (case-insensitive), or -1. */
int hvt_facility_parse(const char *name);

#endif
