/* http_post.h - the HTTP(S) POST the alert actions share (act_webhook,
 * act_alertmanager): libcurl, TLS always verified (the
 * system CAs or ca), redirects never followed (a POST must not silently go
 * elsewhere), bounded by the instance's timeouts, one handle per instance
 * so the connection stays alive between alerts.  Only the instance's
 * delivery thread uses it.  What a status means is the action's business:
 * this says only which status came back, or why none did. */
#ifndef HVT_HTTP_POST_H
#define HVT_HTTP_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

#include "hvtrail-plugin.h"

/* The connection keys every HTTP action declares, after its own. */
#define HVT_HTTP_CONF_KEYS \
	{ "timeout", HVT_CONF_DURATION, "10s", "whole request, connect to last byte of the answer", NULL, 100, \
	  600 * 1000, 0 }, \
	{ "connect_timeout", HVT_CONF_DURATION, "5s", "TCP and TLS connect", NULL, 100, 600 * 1000, 0 }, \
	{ "ca", HVT_CONF_STRING, "", "CA certificate(s) the endpoint's certificate must chain to (default: " \
	  "the system's CAs); verification cannot be turned off", NULL, 0, 0, 0 }, \
	{ "tls_cert", HVT_CONF_STRING, "", "client certificate, for endpoints that require one", NULL, 0, 0, 0 }, \
	{ "tls_key", HVT_CONF_STRING, "", "its private key", NULL, 0, 0, 0 }, \
	{ "header", HVT_CONF_LIST, "", "extra request headers as 'Name: value' (Authorization: Bearer ...); " \
	  "the key may repeat", NULL, 0, 0, HVT_CONF_BLANKS }

#define HVT_HTTP_BODY_KEEP 300    /* answer bytes kept for the error text */

struct hvt_http {
	const char *name;             /* the instance's, for messages */
	CURL *curl;
	struct curl_slist *extra;     /* configured headers */
	char *ca, *cert, *key;
	long timeout_ms, connect_ms;
	char body[HVT_HTTP_BODY_KEEP + 1];   /* the last answer's first bytes */
	size_t nbody;
	bool curl_ready;              /* curl_global_init succeeded: free balances it */
};

/* Configuration errors of url (a scheme other than http/https) and of the
 * header list, reported through hvt_conf_error; -1 when any. */
int hvt_http_check(struct hvt_instance *inst, const struct hvt_conf_key *keys, const char *url);
/* Read the HTTP keys; warns once when url is plain http.  -1: no libcurl. */
int hvt_http_init(struct hvt_http *h, struct hvt_instance *inst, const struct hvt_conf_key *keys, const char *url);
void hvt_http_free(struct hvt_http *h);
/* POST body (JSON) to url with hdrs, then the configured headers.  0 and
 * *status set when an answer came; -1 and err when none did (connect,
 * TLS, timeout). */
int hvt_http_post(struct hvt_http *h, const char *url, const struct curl_slist *hdrs, const char *body,
		  long *status, char *err, size_t errsize);
/* "HTTP 400: <the answer's first bytes, printable>" */
void hvt_http_status_error(const struct hvt_http *h, long status, char *err, size_t errsize);
/* A status that will not change by trying again: a 4xx but 408 and 429. */
bool hvt_http_refused_for_good(long status);

#endif
