/* http_post.c - the HTTP(S) POST the alert actions share (http_post.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_post.h"
#include "log.h"
#include "util.h"

static bool scheme_ok(const char *url)
{
	return hvt_str_has_prefix(url, "https://") || hvt_str_has_prefix(url, "http://");
}

int hvt_http_check(struct hvt_instance *inst, const struct hvt_conf_key *keys, const char *url)
{
	int n, bad = 0;

	if (!scheme_ok(url)) {
		hvt_conf_error(inst->config, inst->conf->file, inst->conf->line, "[%s] url must start with https:// "
			       "or http://", inst->name);
		bad++;
	}
	char **h = hvt_conf_list(inst->conf, keys, "header", &n);
	for (int i = 0; i < n; i++)
		if (!strchr(h[i], ':') || strpbrk(h[i], "\r\n")) {
			hvt_conf_error(inst->config, inst->conf->file, inst->conf->line, "[%s] header '%s' is not "
				       "'Name: value'", inst->name, h[i]);
			bad++;
		}
	hvt_conf_list_free(h);
	return bad ? -1 : 0;
}

static char *opt_str(struct hvt_instance *inst, const struct hvt_conf_key *keys, const char *key)
{
	const char *v = hvt_conf_str(inst->conf, keys, key);

	return *v ? hvt_strdup(v) : NULL;
}

int hvt_http_init(struct hvt_http *h, struct hvt_instance *inst, const struct hvt_conf_key *keys, const char *url)
{
	int n;

	memset(h, 0, sizeof *h);
	h->name = inst->name;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		hvt_log(LOG_ERR, "[%s] libcurl cannot be initialised", inst->name);
		return -1;
	}
	h->curl_ready = true;
	h->ca = opt_str(inst, keys, "ca");
	h->cert = opt_str(inst, keys, "tls_cert");
	h->key = opt_str(inst, keys, "tls_key");
	h->timeout_ms = (long)hvt_conf_duration_ms(inst->conf, keys, "timeout");
	h->connect_ms = (long)hvt_conf_duration_ms(inst->conf, keys, "connect_timeout");
	char **l = hvt_conf_list(inst->conf, keys, "header", &n);
	for (int i = 0; i < n; i++)
		h->extra = curl_slist_append(h->extra, l[i]);
	hvt_conf_list_free(l);
	if (hvt_str_has_prefix(url, "http://"))
		hvt_log(LOG_WARNING, "[%s] url is plain http://: alerts (VM and host names, event data) cross "
			"the network unencrypted", inst->name);
	return 0;
}

void hvt_http_free(struct hvt_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->extra);
	free(h->ca);
	free(h->cert);
	free(h->key);
	if (h->curl_ready)
		curl_global_cleanup();
	memset(h, 0, sizeof *h);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct hvt_http *h = arg;
	size_t len = size * n, room = HVT_HTTP_BODY_KEEP - h->nbody;

	if (room) {
		size_t take = HVT_MIN(room, len);
		memcpy(h->body + h->nbody, p, take);
		h->nbody += take;
		h->body[h->nbody] = '\0';
	}
	return len;
}

/* The options that stay the same for every request of this instance. */
static CURL *handle(struct hvt_http *h)
{
	if (h->curl)
		return h->curl;
	h->curl = curl_easy_init();
	if (!h->curl)
		return NULL;
	CURL *c = h->curl;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca);
	if (h->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
	if (h->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hvtrail-collector/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	return c;
}

int hvt_http_post(struct hvt_http *h, const char *url, const struct curl_slist *hdrs, const char *body,
		  long *status, char *err, size_t errsize)
{
	CURL *c = handle(h);
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *all = NULL;

	*status = 0;
	if (!c) {
		snprintf(err, errsize, "libcurl: cannot create a handle");
		return -1;
	}
	all = curl_slist_append(all, "Content-Type: application/json");
	all = curl_slist_append(all, "Expect:");          /* no 100-continue round trip */
	for (const struct curl_slist *e = hdrs; e; e = e->next)
		all = curl_slist_append(all, e->data);
	for (const struct curl_slist *e = h->extra; e; e = e->next)
		all = curl_slist_append(all, e->data);
	h->nbody = 0;
	h->body[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, all);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(all);
	if (rc != CURLE_OK) {
		snprintf(err, errsize, "%s%s%s", curl_easy_strerror(rc), cerr[0] ? ": " : "", cerr);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

void hvt_http_status_error(const struct hvt_http *h, long status, char *err, size_t errsize)
{
	struct hvt_buf b = { 0 };

	for (size_t i = 0; i < h->nbody && b.len < 160; i++) {
		char ch = h->body[i];
		hvt_buf_append(&b, (unsigned char)ch < 0x20 || ch == 0x7f ? " " : &ch, 1);
	}
	snprintf(err, errsize, "HTTP %ld%s%s", status, b.len ? ": " : "", b.data ? b.data : "");
	hvt_buf_free(&b);
}

bool hvt_http_refused_for_good(long status)
{
	return status >= 400 && status < 500 && status != 408 && status != 429;
}
