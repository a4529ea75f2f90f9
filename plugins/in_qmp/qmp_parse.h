/* qmp_parse.h - QMP wire format: line framing and message classification.
 *
 * QEMU writes one JSON object per line, terminated by "\r\n".  The framer
 * cuts a byte stream into lines without ever holding more than max_line
 * bytes of one line (a longer line is skipped up to its newline and reported
 * once as QMP_MSG_OVERSIZE), and the classifier turns one line into a tagged
 * message.  No I/O happens here, so the recorded transcripts can be replayed
 * through it in unit tests. */
#ifndef HVT_QMP_PARSE_H
#define HVT_QMP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "util.h"

/* JSON nesting we accept: query-block nests one level per backing file, so
 * this bounds the chains we can read (QEMU itself allows 1024). */
#define QMP_MAX_DEPTH 64

enum qmp_msg_kind {
	QMP_MSG_GREETING,     /* {"QMP": {...}} */
	QMP_MSG_REPLY,        /* {"return": ..., "id": ...} */
	QMP_MSG_ERROR,        /* {"error": {"class", "desc"}, "id": ...}; id may be absent */
	QMP_MSG_EVENT,        /* {"event": "NAME", "data": ..., "timestamp": ...} */
	QMP_MSG_GARBAGE,      /* not a QMP message; reason says why */
	QMP_MSG_OVERSIZE,     /* a line longer than max_line, skipped */
};

struct qmp_msg {
	enum qmp_msg_kind kind;
	json_object *obj;             /* the whole object (owned), NULL for garbage/oversize */
	/* reply / error */
	bool has_id;
	bool id_is_int;               /* our commands carry integer ids */
	long long id;
	json_object *ret;             /* borrowed from obj: "return" value */
	const char *err_class;        /* borrowed, "" when absent */
	const char *err_desc;
	/* event */
	const char *event;            /* borrowed */
	json_object *data;            /* borrowed, may be NULL */
	long long ts_us;              /* QEMU's timestamp, or 0 when absent/invalid */
	/* garbage / oversize */
	const char *reason;           /* static text */
	size_t len;                   /* bytes of the offending line */
};

const char *qmp_msg_kind_name(enum qmp_msg_kind k);

/* Copy a string QEMU sent, cut at max bytes: names and paths we keep are
 * bounded whatever the peer says. */
char *qmp_strdup_max(const char *s, size_t max);

/* Classify one line (without its line terminator).  Always fills *m; free
 * with qmp_msg_clear. */
void qmp_parse_line(const char *line, size_t len, struct qmp_msg *m);
void qmp_msg_clear(struct qmp_msg *m);

/* ---- framing ------------------------------------------------------------ */
struct qmp_framer {
	struct hvt_buf buf;           /* unconsumed bytes start at off */
	size_t off;
	size_t scanned;               /* bytes after off known to hold no '\n' */
	size_t max_line;
	bool skipping;                /* inside an oversized line: drop up to '\n' */
	size_t skipped;               /* bytes dropped of that line so far */
};

void qmp_framer_init(struct qmp_framer *f, size_t max_line);
void qmp_framer_free(struct qmp_framer *f);
/* Append received bytes.  Call only after qmp_framer_next returned false, so
 * the buffer never holds more than max_line plus one read. */
void qmp_framer_push(struct qmp_framer *f, const void *p, size_t n);
/* Next complete message, if any: returns true and fills *m. */
bool qmp_framer_next(struct qmp_framer *f, struct qmp_msg *m);
/* Bytes buffered (a partial line, or lines not yet taken). */
size_t qmp_framer_pending(const struct qmp_framer *f);

#endif
