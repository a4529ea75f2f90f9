/* act_webhook.c - POST each alert as JSON to an HTTP(S) endpoint
 * (docs/alerting.md).
 *
 * The body is the alert document; headers name the alert, its rule and
 * the attempt, and Idempotency-Key repeats the alert id, because a
 * delivery the collector could not record (killed right after the POST)
 * is made again: at least once, and a receiver can tell.  A 2xx answer is
 * a delivery; anything else (another status, no answer within timeout, a
 * certificate that does not verify) is a failure the collector retries.
 * TLS verification is always on (the system CAs, or ca); redirects are not
 * followed (a POST must not silently go elsewhere).  One curl handle per
 * instance, used only by the instance's delivery thread, keeps the
 * connection to the endpoint alive between alerts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "hvtrail-plugin.h"
#include "log.h"
#include "util.h"

#define BODY_KEEP 300             /* answer bytes kept for the error text */

static const struct hvt_conf_key keys[] = {
	{ "url", HVT_CONF_STRING, NULL, "endpoint the alert is POSTed to (http:// or https://)", NULL, 0, 0,
	  HVT_CONF_REQUIRED },
	{ "timeout", HVT_CONF_DURATION, "10s", "whole request, connect to last byte of the answer", NULL, 100,
	  600 * 1000, 0 },
	{ "connect_timeout", HVT_CONF_DURATION, "5s", "TCP and TLS connect", NULL, 100, 600 * 1000, 0 },
	{ "ca", HVT_CONF_STRING, "", "CA certificate(s) the endpoint's certificate must chain to (default: "
	  "the system's CAs); verification cannot be turned off", NULL, 0, 0, 0 },
	{ "tls_cert", HVT_CONF_STRING, "", "client certificate, for endpoints that require one", NULL, 0, 0, 0 },
	{ "tls_key", HVT_CONF_STRING, "", "its private key", NULL, 0, 0, 0 },
	{ "header", HVT_CONF_LIST, "", "extra request headers as 'Name: value' (Authorization: Bearer ...); "
	  "the key may repeat", NULL, 0, 0, HVT_CONF_BLANKS },
	HVT_CONF_END
};

struct webhook {
	struct hvt_instance *inst;
	CURL *curl;
	struct curl_slist *extra;     /* configured headers */
	char *url, *ca, *cert, *key;
	long timeout_ms, connect_ms;
	char body[BODY_KEEP + 1];     /* the answer's first bytes */
	size_t nbody;
	bool curl_ready;              /* curl_global_init succeeded: stop balances it */
};

static bool scheme_ok(const char *url)
{
	return hvt_str_has_prefix(url, "https://") || hvt_str_has_prefix(url, "http://");
}

static int check(struct hvt_instance *inst)
{
	const char *url = hvt_conf_str(inst->conf, keys, "url");
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

static char *opt_str(struct hvt_instance *inst, const char *key)
{
	const char *v = hvt_conf_str(inst->conf, keys, key);

	return *v ? hvt_strdup(v) : NULL;
}

static int init(struct hvt_instance *inst)
{
	struct webhook *w = hvt_calloc(1, sizeof *w);
	int n;

	w->inst = inst;
	inst->priv = w;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		hvt_log(LOG_ERR, "[%s] libcurl cannot be initialised", inst->name);
		return -1;
	}
	w->curl_ready = true;
	w->url = hvt_strdup(hvt_conf_str(inst->conf, keys, "url"));
	w->ca = opt_str(inst, "ca");
	w->cert = opt_str(inst, "tls_cert");
	w->key = opt_str(inst, "tls_key");
	w->timeout_ms = (long)hvt_conf_duration_ms(inst->conf, keys, "timeout");
	w->connect_ms = (long)hvt_conf_duration_ms(inst->conf, keys, "connect_timeout");
	char **h = hvt_conf_list(inst->conf, keys, "header", &n);
	for (int i = 0; i < n; i++)
		w->extra = curl_slist_append(w->extra, h[i]);
	hvt_conf_list_free(h);
	if (hvt_str_has_prefix(w->url, "http://"))
		hvt_log(LOG_WARNING, "[%s] url is plain http://: alerts (VM and host names, event data) cross "
			"the network unencrypted", inst->name);
	return 0;
}

static void stop(struct hvt_instance *inst)
{
	struct webhook *w = inst->priv;

	if (!w)
		return;
	if (w->curl)
		curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->extra);
	free(w->url);
	free(w->ca);
	free(w->cert);
	free(w->key);
	if (w->curl_ready)
		curl_global_cleanup();
	free(w);
	inst->priv = NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct webhook *w = arg;
	size_t len = size * n, room = BODY_KEEP - w->nbody;

	if (room) {
		size_t take = HVT_MIN(room, len);
		memcpy(w->body + w->nbody, p, take);
		w->nbody += take;
		w->body[w->nbody] = '\0';
	}
	return len;
}

/* The options that stay the same for every request of this instance. */
static CURL *handle(struct webhook *w)
{
	if (w->curl)
		return w->curl;
	w->curl = curl_easy_init();
	if (!w->curl)
		return NULL;
	CURL *c = w->curl;
	curl_easy_setopt(c, CURLOPT_URL, w->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, w->connect_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (w->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, w->ca);
	if (w->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, w->cert);
	if (w->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, w->key);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hvtrail-collector/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	return c;
}

static struct curl_slist *headers(struct webhook *w, const struct hvt_alert *a)
{
	struct curl_slist *h = NULL;
	char line[300];

	h = curl_slist_append(h, "Content-Type: application/json");
	snprintf(line, sizeof line, "X-Hvtrail-Alert: %s", a->id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "Idempotency-Key: %s", a->id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "X-Hvtrail-Attempt: %d", a->attempt);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "X-Hvtrail-Rule: %.200s", a->rule);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");          /* no 100-continue round trip */
	for (struct curl_slist *e = w->extra; e; e = e->next)
		h = curl_slist_append(h, e->data);
	return h;
}

/* The answer's first bytes, printable, for the error text. */
static void body_text(const struct webhook *w, char *out, size_t size)
{
	struct hvt_buf b = { 0 };

	for (size_t i = 0; i < w->nbody && b.len < 160; i++) {
		char ch = w->body[i];
		hvt_buf_append(&b, (unsigned char)ch < 0x20 || ch == 0x7f ? " " : &ch, 1);
	}
	hvt_strlcpy(out, b.data ? b.data : "", size);
	hvt_buf_free(&b);
}

static int deliver(struct hvt_instance *inst, const struct hvt_alert *a, char *err, size_t errsize)
{
	struct webhook *w = inst->priv;
	CURL *c = handle(w);
	char cerr[CURL_ERROR_SIZE] = "", text[200];
	long status = 0;

	if (!c) {
		snprintf(err, errsize, "libcurl: cannot create a handle");
		return -1;
	}
	struct curl_slist *h = headers(w, a);
	w->nbody = 0;
	w->body[0] = '\0';
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, a->json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(a->json));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(err, errsize, "%s%s%s", curl_easy_strerror(rc), cerr[0] ? ": " : "", cerr);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return 0;
	body_text(w, text, sizeof text);
	snprintf(err, errsize, "HTTP %ld%s%s", status, text[0] ? ": " : "", text);
	return -1;
}

static const struct hvt_action_ops ops = { .deliver = deliver };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "act_webhook",
	.kind = HVT_PLUGIN_ACTION,
	.summary = "POST alerts as JSON to an HTTP(S) endpoint (libcurl, TLS verified)",
	.conf_keys = keys,
	.check = check,
	.init = init,
	.stop = stop,
	.ops = &ops,
};
