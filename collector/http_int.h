/* http_int.h - what the http_*.c files share (see http.h). */
#ifndef HVT_COL_HTTP_INT_H
#define HVT_COL_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http.h"
#include "util.h"

struct http {
	struct MHD_Daemon *mhd;
	struct http_ctx ctx;
	struct hvt_instance ro;       /* read-only twin of the collector's index */
	const struct hvt_index_ops *ops;
	bool ro_open;
	char *token;                  /* NULL: no bearer token accepted */
	char **permitted;             /* client certificate names (globs) */
	bool client_ca;
	long long max_rows;
	char *cert_pem, *key_pem, *ca_pem, *priority;
	const struct hvt_conf_section *s;
	int listen_fd;                /* bound before the privilege drop; -1 once MHD has it */
	bool ipv6;
	char port[16];
	/* incremental counts of alert.* events for /metrics */
	int64_t alert_cursor;
	uint64_t alerts_fired, alerts_delivered, alerts_failed;
	uint64_t requests, denied;
	/* http_loop.c: the serving thread and the request deadline */
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	int wake_fd;                  /* eventfd: stop */
	long long request_ms;         /* a request must be in within this (timeout) */
	struct http_watch *watches;   /* open connections */
	uint64_t too_slow;            /* connections cut for a late request */
};

struct http_req {
	struct MHD_Connection *conn;
};

/* A query argument, or NULL. */
const char *http_arg(struct http_req *rq, const char *name);

/* http_loop.c.  Fill opt[0..] with the connection callbacks; how many. */
int http_loop_options(struct http *h, struct MHD_OptionItem *opt);
/* The request is in, in full: headers and no body (the access handler's
 * last call). */
void http_loop_request_in(struct MHD_Connection *conn);
/* Serve h->mhd (started with MHD_USE_EPOLL, no thread) on a thread of ours. */
int http_loop_start(struct http *h);
void http_loop_stop(struct http *h);

#endif
