/* act_webhook.c - POST each alert as JSON to an HTTP(S) endpoint
 * (docs/alerting.md).
 *
 * The body is the alert document; headers name the alert, its rule and
 * the attempt, and Idempotency-Key repeats the alert id, because a
 * delivery the collector could not record (killed right after the POST)
 * is made again: at least once, and a receiver can tell.  A 2xx answer is
 * a delivery; anything else (another status, no answer within timeout, a
 * certificate that does not verify) is a failure the collector retries.
 * The HTTP side (TLS always verified, no redirects, timeouts, one kept-alive
 * connection per instance) is plugins/lib_http, shared with the other HTTP
 * actions. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_post.h"
#include "hvtrail-plugin.h"
#include "util.h"

static const struct hvt_conf_key keys[] = {
	{ "url", HVT_CONF_STRING, NULL, "endpoint the alert is POSTed to (http:// or https://)", NULL, 0, 0,
	  HVT_CONF_REQUIRED },
	HVT_HTTP_CONF_KEYS,
	HVT_CONF_END
};

struct webhook {
	struct hvt_http http;
	char *url;
};

static int check(struct hvt_instance *inst)
{
	return hvt_http_check(inst, keys, hvt_conf_str(inst->conf, keys, "url"));
}

static int init(struct hvt_instance *inst)
{
	struct webhook *w = hvt_calloc(1, sizeof *w);

	inst->priv = w;
	w->url = hvt_strdup(hvt_conf_str(inst->conf, keys, "url"));
	return hvt_http_init(&w->http, inst, keys, w->url);
}

static void stop(struct hvt_instance *inst)
{
	struct webhook *w = inst->priv;

	if (!w)
		return;
	hvt_http_free(&w->http);
	free(w->url);
	free(w);
	inst->priv = NULL;
}

static struct curl_slist *headers(const struct hvt_alert *a)
{
	struct curl_slist *h = NULL;
	char line[300];

	snprintf(line, sizeof line, "X-Hvtrail-Alert: %s", a->id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "Idempotency-Key: %s", a->id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "X-Hvtrail-Attempt: %d", a->attempt);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "X-Hvtrail-Rule: %.200s", a->rule);
	h = curl_slist_append(h, line);
	return h;
}

static int deliver(struct hvt_instance *inst, const struct hvt_alert *a, char *err, size_t errsize)
{
	struct webhook *w = inst->priv;
	struct curl_slist *h = headers(a);
	long status;
	int rc = hvt_http_post(&w->http, w->url, h, a->json, &status, err, errsize);

	curl_slist_free_all(h);
	if (rc < 0)
		return -1;
	if (status >= 200 && status < 300)
		return 0;
	hvt_http_status_error(&w->http, status, err, errsize);
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
