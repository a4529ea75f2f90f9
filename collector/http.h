/* http.h - the collector's optional HTTPS endpoint (libmicrohttpd on
 * GnuTLS): the web UI, a JSON API with hvtrail query's filters, and
 * Prometheus /metrics.  Off unless the configuration has an [http]
 * section; loopback by default; read-only (GET and HEAD, no request
 * bodies); every data path needs a client certificate from client_ca or
 * the bearer token of token_file (the UI's own files need neither: they
 * hold no data).  Bounded: connections at once, per address, an idle
 * timeout, a deadline for each request to arrive in full (http_loop.c),
 * request header memory, rows per answer.
 *
 * One thread (ours, driving libmicrohttpd) serves every request, reading the index
 * through a read-only instance of the same index plugin, never through
 * the indexer's.  Everything that comes from the index came from peers:
 * it is serialised by json-c (JSON) or escaped (Prometheus labels), and
 * the UI only ever puts it into the page as text. */
#ifndef HVT_COL_HTTP_H
#define HVT_COL_HTTP_H

#include "conf.h"
#include "hvtrail-plugin.h"
#include "spool.h"

struct receiver;
struct indexer;
struct http;

struct http_ctx {
	const struct hvt_instance *index;  /* the collector's: its plugin and section */
	const struct hvt_host *host;
	struct receiver *receiver;
	struct indexer *indexer;
	struct hvt_spool *inbox;
};

/* --check-config and start (files true): files readable, key private, some
 * way to authenticate.  A reload passes files false: [http] takes effect
 * at the next start only, and after the privilege drop its token and key
 * may rightly be root's alone (they were read before the drop). */
void http_check(struct hvt_conf *c, struct hvt_conf_section *s, bool files);
/* Read the TLS files and bind the port per s, before the privilege drop;
 * NULL (logged) on failure.  s must outlive the endpoint. */
struct http *http_open(const struct hvt_conf_section *s);
/* After the drop: open the index read-only and start serving; 0 or -1
 * (logged; http_stop it then). */
int http_serve(struct http *h, const struct http_ctx *ctx);
void http_stop(struct http *h);

/* http_api.c: the answers (the lock is held, the index is open). */
struct http_req;
struct hvt_buf;
int http_api_events(struct http *h, struct http_req *rq, struct hvt_buf *out);
int http_api_hosts(struct http *h, struct http_req *rq, struct hvt_buf *out);
int http_api_status(struct http *h, struct http_req *rq, struct hvt_buf *out);
/* http_metrics.c */
int http_metrics(struct http *h, struct hvt_buf *out);

#endif
