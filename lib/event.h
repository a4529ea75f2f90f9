/* event.h - the hvtrail event: one model for spool, wire and index.
 *
 * An event is serialised as one compact JSON object with a fixed key order
 * (see docs/events.md for every field).  The forwarder assigns the identity
 * fields (stream, seq, id, prev) when it spools the event; from then on the
 * JSON bytes never change, so a resend is byte-identical and the hash chain
 * (prev = SHA-256 of the previous event's JSON, per host) can be verified
 * from what the collector stored. */
#ifndef HVT_EVENT_H
#define HVT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "util.h"

#define HVT_EVENT_VERSION 1
#define HVT_STREAM_LEN 16         /* hex characters of a stream id */
/* The stream of plain syslog lines the collector receives (from rsyslog):
 * their seq is a hash of the line's bytes, so one id is one line; the JSON
 * the collector makes of it also says when and from which relay it came,
 * which differs between a line and its resend. */
#define HVT_SYSLOG_STREAM "syslog"
#define HVT_HASH_HEX_LEN 64       /* SHA-256 in hex */

/* Syslog severities (RFC 5424), the scale of hvt_event.severity. */
enum hvt_severity {
	HVT_SEV_EMERG = 0,
	HVT_SEV_ALERT = 1,
	HVT_SEV_CRIT = 2,
	HVT_SEV_ERR = 3,
	HVT_SEV_WARNING = 4,
	HVT_SEV_NOTICE = 5,
	HVT_SEV_INFO = 6,
	HVT_SEV_DEBUG = 7,
};

enum hvt_event_flags {
	HVT_EV_LATE = 1u << 0,        /* observed after the fact (resync) */
	HVT_EV_TRUNCATED = 1u << 1,   /* data was cut to fit max_event_size */
};

struct hvt_event {
	/* identity, assigned at spool time */
	char *host;
	char *stream;                 /* random per spool generation (hex) */
	uint64_t seq;                 /* per stream, from 1, no holes */
	char *id;                     /* "<stream>-<seq>" (trail.h) */
	char *prev;                   /* hex SHA-256 of the previous event's JSON, or "" */
	char *source;                 /* qmp, journald, local, forwarder, collector */
	char *key;                    /* the client's idempotency key (local events), or NULL */
	/* what happened */
	char *type;                   /* dotted: migration.completed */
	int severity;                 /* enum hvt_severity */
	char *vm_name;
	char *vm_uuid;
	long long ts_us;              /* when it happened */
	long long received_us;        /* when the forwarder saw it */
	unsigned flags;
	char *msg;                    /* one readable line */
	json_object *data;            /* detail; owned; may be NULL */
};

/* Limits a decoder enforces on untrusted input (collector, in_local). */
struct hvt_event_limits {
	size_t max_json;              /* bytes of the whole JSON text */
	int max_depth;                /* JSON nesting */
	size_t max_field;             /* host, type, vm name/uuid, source, id */
	size_t max_msg;               /* the msg string */
};
extern const struct hvt_event_limits hvt_event_default_limits;

struct hvt_event *hvt_event_new(const char *type);
void hvt_event_free(struct hvt_event *ev);
/* Setters copy their argument (NULL clears). */
void hvt_event_set_str(char **field, const char *value);
void hvt_event_set_vm(struct hvt_event *ev, const char *name, const char *uuid);
void hvt_event_set_msg(struct hvt_event *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Take ownership of obj and add it to data (creating data if needed). */
void hvt_event_data_add(struct hvt_event *ev, const char *key, json_object *obj);

/* Serialise to compact JSON (appended to out). */
void hvt_event_to_json(const struct hvt_event *ev, struct hvt_buf *out);

/* Parse and validate JSON text.  On failure returns NULL and writes a
 * reason in words to err.  require_identity: the identity fields must be
 * present (events arriving at the collector); otherwise they are optional
 * (events submitted by local tools, which the forwarder stamps). */
struct hvt_event *hvt_event_from_json(const char *text, size_t len,
				      const struct hvt_event_limits *lim,
				      bool require_identity, char *err, size_t errsize);

const char *hvt_severity_name(int sev);
int hvt_severity_parse(const char *name);      /* -1 if unknown */

/* JSON string escaping for hand-built JSON. */
void hvt_json_escape(struct hvt_buf *out, const char *s);

/* Does well-formed JSON text (as json-c accepted it) repeat a key within
 * one object, comparing keys as decoded strings? */
bool hvt_json_has_duplicate_keys(const char *text, size_t len);

/* UTF-8 validation (RFC 3629: no overlongs, no surrogates). */
bool hvt_utf8_valid(const char *s, size_t len);

/* Is a type name well-formed: [a-z0-9_]+ separated by dots, <= 64 chars. */
bool hvt_type_valid(const char *type);

/* Can this be a host name in the trail: 1..max bytes of printable ASCII
 * (33..126, what an RFC 5424 HOSTNAME may hold), not starting with '('
 * (the collector's own rows in `hvtrail stats`)?  Every record the
 * collector stores names a host that passes this. */
bool hvt_host_valid(const char *host, size_t len, size_t max);

#endif
