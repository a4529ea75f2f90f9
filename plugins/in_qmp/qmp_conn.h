/* qmp_conn.h - one QMP monitor connection on an sd-event loop.
 *
 * Non-blocking unix socket, the handshake (greeting -> qmp_capabilities ->
 * query-name, query-uuid, migrate-set-capabilities events=on), then a
 * command queue whose replies are matched by integer id while events flow
 * in between.  Every wait is bounded: the whole handshake by
 * connect_timeout, every command by command_timeout.  Events that arrive
 * during the handshake are held (bounded) and delivered after ready(), so
 * the owner always knows the VM's identity first.
 *
 * The owner learns that a connection died only through ops->closed, which is
 * always called from its own event-loop dispatch (never from inside another
 * callback or a qmp_conn_* call), so the owner may free the connection
 * there. */
#ifndef HVT_QMP_CONN_H
#define HVT_QMP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "qmp_parse.h"

typedef struct sd_event sd_event;

enum qmp_close {
	QMP_CLOSE_EOF = 1,            /* QEMU closed the monitor (it exited) */
	QMP_CLOSE_REFUSED,            /* nobody listens: a stale socket file */
	QMP_CLOSE_NOENT,              /* the socket file is gone */
	QMP_CLOSE_BUSY,               /* listen backlog full */
	QMP_CLOSE_TIMEOUT,            /* no greeting / handshake answer in time */
	QMP_CLOSE_NOT_QMP,            /* the peer does not speak QMP */
	QMP_CLOSE_HANDSHAKE,          /* qmp_capabilities was refused */
	QMP_CLOSE_OVERFLOW,           /* too many events before the handshake ended */
	QMP_CLOSE_IO,                 /* socket error */
};
const char *qmp_close_name(enum qmp_close why);

struct qmp_identity {
	const char *name;             /* NULL when QEMU has no -name */
	const char *uuid;
	const char *version;          /* "7.2.22" */
	bool migration_events;        /* the events capability is on */
};

/* Counters shared by all connections of one plugin instance. */
struct qmp_conn_stats {
	uint64_t lines;
	uint64_t events;
	uint64_t garbage;
	uint64_t oversize;
	uint64_t timeouts;
	uint64_t unmatched;           /* replies with no command waiting (id-less errors too) */
};

struct qmp_conn_opts {
	size_t max_line;
	long long connect_timeout_us; /* connect + greeting + handshake */
	long long command_timeout_us;
	unsigned max_inflight;
	bool migration_events;        /* send migrate-set-capabilities events=on */
	struct qmp_conn_stats *stats; /* may be NULL */
};

struct qmp_conn_ops {
	void (*ready)(void *arg, const struct qmp_identity *id);
	void (*message)(void *arg, const struct qmp_msg *m);   /* events, after ready */
	void (*closed)(void *arg, enum qmp_close why, const char *detail);
};

/* The reply to one command: reply is a QMP_MSG_REPLY or QMP_MSG_ERROR, or
 * NULL with error set (timeout).  Never called after the connection closed. */
typedef void (*qmp_reply_fn)(void *arg, uint64_t cookie, const struct qmp_msg *reply,
			     const char *error);

struct qmp_conn;

/* Connect to path.  Returns the connection, or NULL with *why and detail
 * set when connect() itself failed (refused, missing, ...). */
struct qmp_conn *qmp_conn_open(sd_event *loop, const char *path, const struct qmp_conn_opts *o,
			       const struct qmp_conn_ops *ops, void *arg, enum qmp_close *why,
			       char *detail, size_t detail_size);
/* The same over a socket QEMU connected to us with (client mode: QEMU's
 * -chardev socket,reconnect=N); fd is taken over (closed on failure too),
 * label names it in log lines.  The handshake is the same: QEMU greets
 * whoever is at the other end of its monitor. */
struct qmp_conn *qmp_conn_adopt(sd_event *loop, int fd, const char *label, const struct qmp_conn_opts *o,
				const struct qmp_conn_ops *ops, void *arg, enum qmp_close *why,
				char *detail, size_t detail_size);
void qmp_conn_free(struct qmp_conn *c);

/* Queue a command (args owned, may be NULL).  Returns false when not ready,
 * closed, or max_inflight commands are waiting. */
bool qmp_conn_command(struct qmp_conn *c, const char *cmd, json_object *args, qmp_reply_fn fn,
		      void *arg, uint64_t cookie);

/* Back-pressure: stop reading (and stop the clocks of pending waits). */
void qmp_conn_set_paused(struct qmp_conn *c, bool paused);

bool qmp_conn_ready(const struct qmp_conn *c);
unsigned qmp_conn_inflight(const struct qmp_conn *c);

#endif
