/* http.c - requests to ClickHouse's HTTP interface with libcurl.
 *
 * - Keep-alive: an easy handle keeps its connection between requests, so
 *   the handles live in a pool (ch.h) instead of being made per request.
 * - Failover: url lists the nodes the collector may use; a request that
 *   cannot reach one (or gets a 5xx before any row arrived) goes to the next,
 *   and the one that answered is tried first next time.  Resending an INSERT
 *   elsewhere is safe: duplicates collapse on read (see store.c).
 * - Errors: ClickHouse answers a failed statement with a non-200 status and
 *   "Code: N, e.displayText() = ..." in the body.  SELECTs are sent with
 *   wait_end_of_query=1 so that an error in the middle of a long answer
 *   still arrives as a status, not as text appended to the rows.
 * - Secrets: the password goes in the X-ClickHouse-Key header, never in a
 *   URL (URLs end up in logs). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "log.h"
#include "util.h"

#define ERR_BODY_MAX 2048

int ch_http_init(struct ch *x)
{
	char *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: libcurl cannot initialise", x->name);
		return -1;
	}
	h = hvt_asprintf("X-ClickHouse-User: %s", x->o.user);
	x->headers = curl_slist_append(x->headers, h);
	free(h);
	if (x->o.password && *x->o.password) {
		h = hvt_asprintf("X-ClickHouse-Key: %s", x->o.password);
		x->headers = curl_slist_append(x->headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	/* No "Expect: 100-continue" round trip before a large INSERT body. */
	x->headers = curl_slist_append(x->headers, "Expect:");
	for (struct curl_slist *l = x->headers; l; l = l->next)
		x->headers_chunked = curl_slist_append(x->headers_chunked, l->data);
	x->headers_chunked = curl_slist_append(x->headers_chunked, "Transfer-Encoding: chunked");
	return 0;
}

void ch_http_free(struct ch *x)
{
	for (int i = 0; i < CH_POOL; i++)
		if (x->pool[i].curl)
			curl_easy_cleanup(x->pool[i].curl);
	memset(x->pool, 0, sizeof x->pool);
	for (struct curl_slist *l = x->headers_chunked; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->headers_chunked);
	x->headers = x->headers_chunked = NULL;
	curl_global_cleanup();
}

static CURL *new_handle(struct ch *x)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);          /* threads: no SIGALRM for DNS timeouts */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, x->o.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, x->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (*x->o.tls_ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, x->o.tls_ca);
	if (*x->o.tls_cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, x->o.tls_cert);
	if (*x->o.tls_key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, x->o.tls_key);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, x->o.tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, x->o.tls_verify ? 2L : 0L);
	return c;
}

/* A pooled handle, or a fresh one when every pooled one is in use (then
 * *slot is -1 and the caller frees it). */
static CURL *take(struct ch *x, int *slot)
{
	CURL *c = NULL;

	*slot = -1;
	ch_lock(x);
	for (int i = 0; i < CH_POOL && *slot < 0; i++) {
		if (x->pool[i].busy)
			continue;
		if (!x->pool[i].curl)
			x->pool[i].curl = new_handle(x);
		if (x->pool[i].curl) {
			x->pool[i].busy = true;
			*slot = i;
			c = x->pool[i].curl;
		}
	}
	ch_unlock(x);
	return c ? c : new_handle(x);
}

static void give_back(struct ch *x, CURL *c, int slot)
{
	if (slot < 0) {
		curl_easy_cleanup(c);
		return;
	}
	ch_lock(x);
	x->pool[slot].busy = false;
	ch_unlock(x);
}

struct xfer {
	struct ch_req *r;
	CURL *c;
	long status;
	struct hvt_buf errbody;
	bool stopped;                 /* the sink wanted no more */
	bool delivered;               /* the sink got bytes: no resending elsewhere */
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *t = arg;
	size_t n = size * nmemb;

	if (!t->status)
		curl_easy_getinfo(t->c, CURLINFO_RESPONSE_CODE, &t->status);
	if (t->status != 200) {
		if (t->errbody.len < ERR_BODY_MAX)
			hvt_buf_append(&t->errbody, p, HVT_MIN(n, ERR_BODY_MAX - t->errbody.len));
		return n;
	}
	if (t->r->sink) {
		t->delivered = true;
		if (!t->r->sink(t->r->sink_arg, p, n)) {
			t->stopped = true;
			return 0;     /* curl ends the transfer with CURLE_WRITE_ERROR */
		}
	} else if (t->r->out) {
		hvt_buf_append(t->r->out, p, n);
	}
	return n;
}

static char *request_url(struct ch *x, const struct ch_req *r, int u)
{
	const char *base = x->o.urls[u];
	struct hvt_buf b = { 0 };

	hvt_buf_append_str(&b, base);
	hvt_buf_append_str(&b, strchr(base, '?') ? "&" : "?");
	if (r->data || r->produce) {
		hvt_buf_append_str(&b, "query=");
		ch_urlencode(&b, r->sql);
	} else {
		hvt_buf_append_str(&b, "wait_end_of_query=1");
	}
	hvt_buf_append_str(&b, x->o.settings);
	if (r->params)
		hvt_buf_append_str(&b, r->params);
	hvt_buf_append(&b, "", 1);
	return b.data;
}

/* An INSERT body made while it is sent: rows are built (escaping every
 * event's JSON) while ClickHouse parses the ones before, instead of first
 * building the whole batch and then waiting for the server. */
struct feed {
	struct ch_req *r;
	struct hvt_buf buf;
	size_t off;
	bool done;
};

static size_t on_read(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct feed *f = arg;
	size_t n;

	while (f->off == f->buf.len && !f->done) {
		hvt_buf_reset(&f->buf);
		f->off = 0;
		f->done = !f->r->produce(f->r->produce_arg, &f->buf);
	}
	n = HVT_MIN(size * nmemb, f->buf.len - f->off);
	memcpy(dst, f->buf.data + f->off, n);
	f->off += n;
	return n;       /* 0: the end of the body */
}

/* ClickHouse's message: "Code: 60, e.displayText() = DB::Exception: ..." on
 * one line (18.16), or more lines with a stack trace on newer servers. */
static void server_error(struct ch_req *r, long status, struct hvt_buf *body)
{
	const char *t = hvt_buf_cstr(body);
	size_t n = strcspn(t, "\n");
	const char *code = strstr(t, "Code: ");

	r->ch_code = code ? atoi(code + 6) : 0;
	snprintf(r->err, sizeof r->err, "HTTP %ld: %.*s", status, (int)HVT_MIN(n, 400),
		 n ? t : "(empty answer)");
}

/* One attempt at URL u.  Returns 0, or -1 with *retry telling whether
 * another URL might do better. */
static int attempt(struct ch *x, struct ch_req *r, int u, bool *retry)
{
	struct xfer t = { .r = r };
	struct feed feed = { .r = r };
	char curl_err[CURL_ERROR_SIZE] = "";
	size_t out_len = r->out ? r->out->len : 0;   /* a failed attempt leaves no partial answer */
	char *url;
	int slot;
	CURLcode rc;

	*retry = false;
	t.c = take(x, &slot);
	if (!t.c) {
		snprintf(r->err, sizeof r->err, "libcurl cannot make a handle");
		return -1;
	}
	url = request_url(x, r, u);
	curl_easy_setopt(t.c, CURLOPT_URL, url);
	if (r->produce) {
		r->rewind(r->produce_arg);
		curl_easy_setopt(t.c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(t.c, CURLOPT_POST, 1L);
		curl_easy_setopt(t.c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
		curl_easy_setopt(t.c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(t.c, CURLOPT_READDATA, &feed);
		curl_easy_setopt(t.c, CURLOPT_HTTPHEADER, x->headers_chunked);
	} else {
		curl_easy_setopt(t.c, CURLOPT_POSTFIELDS, r->data ? r->data : r->sql);
		curl_easy_setopt(t.c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(r->data ? r->data_len : strlen(r->sql)));
		curl_easy_setopt(t.c, CURLOPT_HTTPHEADER, x->headers);
	}
	curl_easy_setopt(t.c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(t.c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(t.c, CURLOPT_ERRORBUFFER, curl_err);
	rc = curl_easy_perform(t.c);
	if (!t.status)
		curl_easy_getinfo(t.c, CURLINFO_RESPONSE_CODE, &t.status);
	curl_easy_setopt(t.c, CURLOPT_ERRORBUFFER, NULL);
	free(url);
	hvt_buf_free(&feed.buf);
	give_back(x, t.c, slot);

	int ret = 0;
	if (t.stopped) {
		ret = 0;
	} else if (rc != CURLE_OK) {
		snprintf(r->err, sizeof r->err, "%s%s%s", curl_easy_strerror(rc), *curl_err ? ": " : "",
			 curl_err);
		*retry = !t.delivered;
		ret = -1;
	} else if (t.status != 200) {
		server_error(r, t.status, &t.errbody);
		*retry = t.status >= 500 && !t.delivered;
		ret = -1;
	}
	hvt_buf_free(&t.errbody);
	if (ret < 0 && r->out) {
		r->out->len = out_len;
		hvt_buf_cstr(r->out);
	}
	return ret;
}

/* What to call a statement in a log line: its first words. */
static void describe(const char *sql, char *out, size_t size)
{
	size_t n = HVT_MIN(strlen(sql), size - 1), i;

	for (i = 0; i < n; i++)
		out[i] = sql[i] == '\n' || sql[i] == '\t' ? ' ' : sql[i];
	out[i] = '\0';
	if (strlen(sql) > n && n > 3)
		memcpy(out + n - 3, "...", 4);
}

int ch_http(struct ch *x, struct ch_req *r)
{
	int start, tries, u = 0;
	bool retry = false;

	ch_lock(x);
	start = r->url >= 0 ? r->url : x->cur_url;
	ch_unlock(x);
	tries = r->url >= 0 ? 1 : x->o.nurls;
	r->err[0] = '\0';
	r->ch_code = 0;
	for (int k = 0; k < tries; k++) {
		u = (start + k) % x->o.nurls;
		if (attempt(x, r, u, &retry) == 0) {
			if (r->url < 0 && u != start) {
				hvt_log(LOG_NOTICE, "idx_clickhouse [%s]: now using %s", x->name, x->o.urls[u]);
				ch_lock(x);
				x->cur_url = u;
				ch_unlock(x);
			}
			return 0;
		}
		if (!retry)
			break;
	}
	/* The reason names the server (and says when every url failed). */
	char *why = hvt_asprintf("%s%s: %s", x->o.urls[u],
				 tries > 1 && retry ? " (and every other url)" : "", r->err);
	hvt_strlcpy(r->err, why, sizeof r->err);
	free(why);
	if (!r->quiet) {
		char what[72];
		describe(r->sql, what, sizeof what);
		hvt_log_ratelimited(&x->rl, LOG_ERR, "idx_clickhouse [%s]: %s (%s)", x->name, r->err, what);
	}
	return -1;
}

int ch_exec(struct ch *x, int url, const char *sql)
{
	struct ch_req r = { .sql = sql, .url = url };

	return ch_http(x, &r);
}

int ch_scalar(struct ch *x, const char *sql, struct hvt_buf *out)
{
	struct ch_req r = { .sql = sql, .url = -1, .out = out };

	hvt_buf_reset(out);
	if (ch_http(x, &r) < 0)
		return -1;
	while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
		out->len--;
	hvt_buf_cstr(out);
	return 0;
}
