/* http_int.h - what the http_*.c files share (see http.h). */
#ifndef HVT_COL_HTTP_INT_H
#define HVT_COL_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>

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
};

struct http_req {
	struct MHD_Connection *conn;
};

/* A query argument, or NULL. */
const char *http_arg(struct http_req *rq, const char *name);

#endif
