/* http_server.c - the HTTPS endpoint: TLS, who may ask, limits, routing.
 * See http.h. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "daemon.h"
#include "http_assets.h"
#include "http_int.h"
#include "instance.h"
#include "log.h"
#include "schema.h"
#include "tlscheck.h"

#define HEADER_MEMORY (32 * 1024)     /* URL and headers of one request */
#define TOKEN_MAX 512

/* ---- configuration ------------------------------------------------------ */

static const char *str(const struct hvt_conf_section *s, const char *key)
{
	return hvt_conf_str(s, col_schema_http, key);
}

/* The token: the file's first line, trimmed. */
static char *read_token(const char *path, char *err, size_t errsize)
{
	char line[TOKEN_MAX + 2];
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errsize, "token_file %s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	fclose(f);
	char *t = hvt_str_trim(line);
	if (strlen(t) < 16 || strlen(t) > TOKEN_MAX) {
		snprintf(err, errsize, "token_file %s: the token must be 16 to %d characters on the first line",
			 path, TOKEN_MAX);
		return NULL;
	}
	return hvt_strdup(t);
}

void http_check(struct hvt_conf *c, struct hvt_conf_section *s, bool files)
{
	char err[700], warn[300];
	struct hvt_conf_section *sc = hvt_conf_find(c, "collector");
	const char *user = hvt_conf_str(sc, col_schema_collector, "user"),
		   *group = hvt_conf_str(sc, col_schema_collector, "group");
	const char *ca = str(s, "client_ca"), *tok = str(s, "token_file");

	if (!*ca && !*tok)
		hvt_conf_error(c, s->file, s->line, "[http] neither client_ca nor token_file is set: the endpoint "
			       "would serve the trail to anyone who can connect");
	if (hvt_tls_check_priority(str(s, "tls_priority"), err, sizeof err, warn, sizeof warn) < 0)
		hvt_conf_error(c, s->file, s->line, "[http] %s", err);
	if (!files)
		return;
	/* the certificate checks against itself when no client CA is given */
	if (hvt_tls_check_files(*ca ? ca : str(s, "tls_cert"), str(s, "tls_cert"), str(s, "tls_key"), err,
				sizeof err, warn, sizeof warn) < 0 && !strstr(err, "does not verify"))
		hvt_conf_error(c, s->file, s->line, "[http] %s", err);
	else if (warn[0])
		hvt_log(LOG_WARNING, "[http] %s", warn);
	if (hvt_private_key_check(str(s, "tls_key"), user, group, err, sizeof err) < 0)
		hvt_conf_error(c, s->file, s->line, "[http] tls_key: %s", err);
	if (*tok) {
		char *t = read_token(tok, err, sizeof err);
		if (!t)
			hvt_conf_error(c, s->file, s->line, "[http] %s", err);
		free(t);
		if (hvt_private_key_check(tok, user, group, err, sizeof err) < 0)
			hvt_conf_error(c, s->file, s->line, "[http] token_file: %s", err);
	}
}

/* ---- who is asking ------------------------------------------------------ */

const char *http_arg(struct http_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result arg_has_nul(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				   const char *value, size_t value_size)
{
	bool *nul = cls;
	(void)kind;

	if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
		*nul = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/* Does a query argument hold a NUL (%00)?  http_arg() would see it cut
 * there, and answer for a filter the client did not ask for
 * (vm=web01%00x is not vm=web01). */
static bool args_have_nul(struct MHD_Connection *conn)
{
	bool nul = false;

	MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, arg_has_nul, &nul);
	return nul;
}

/* Equal without telling how much matched (timing). */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0;
}

/* One certificate name against one permitted_clients pattern, compared
 * as RFC 6125 (6.4) compares DNS names: case-insensitively and label by
 * label, so a '*' (or any glob) matches within one label: "*.ops.example"
 * takes a.ops.example, not a.b.ops.example nor ops.example.  (A glob
 * bracket holding a '.' is therefore never one: "[.]" is two labels.) */
static bool name_matches(const char *pattern, const char *name)
{
	const char *p = pattern, *n = name;

	for (;;) {
		size_t pl = strcspn(p, "."), nl = strcspn(n, ".");
		char pb[256], nb[256];
		if (pl >= sizeof pb || nl >= sizeof nb || nl == 0)
			return false;         /* an empty label (".x", "x..y", "x.") names no host */
		memcpy(pb, p, pl);
		pb[pl] = '\0';
		memcpy(nb, n, nl);
		nb[nl] = '\0';
		if (fnmatch(pb, nb, FNM_CASEFOLD) != 0)
			return false;
		if (!p[pl] || !n[nl])
			return !p[pl] && !n[nl];      /* as many labels on both sides */
		p += pl + 1;
		n += nl + 1;
	}
}

static bool any_permitted(struct http *h, const char *name)
{
	for (char **p = h->permitted; *p; p++)
		if (name_matches(*p, name))
			return true;
	return false;
}

/* The certificate's DNS names (subjectAltName), or its CN when it has
 * none: RFC 6125 6.4.4 - a CN is not looked at once a certificate names
 * DNS names, so CN=prometheus.ops.example, DNS=hv7.example is hv7. */
static bool name_permitted(struct http *h, gnutls_x509_crt_t crt)
{
	char buf[256];
	size_t len;
	bool dns = false;

	if (!h->permitted || !h->permitted[0])
		return true;
	for (unsigned i = 0;; i++) {
		len = sizeof buf - 1;
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &len, NULL);
		if (t == GNUTLS_E_SHORT_MEMORY_BUFFER) {
			dns = true;           /* too long for a DNS name: matches nothing */
			continue;
		}
		if (t < 0)
			break;
		if (t != GNUTLS_SAN_DNSNAME)
			continue;
		dns = true;
		buf[len] = '\0';
		if (strlen(buf) == len && any_permitted(h, buf))   /* a NUL inside is no name */
			return true;
	}
	if (dns)
		return false;
	len = sizeof buf;
	return gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) == 0 &&
	       strlen(buf) == len && any_permitted(h, buf);
}

/* A certificate client_ca issued for TLS clients (and, with
 * permitted_clients, one of those).  The purpose matters: a certificate
 * whose extended key usage says TLS server only (a web server's, the
 * collector's own) is no client's, as RFC 5280 4.2.1.12 reads it; one
 * without that extension may serve any purpose. */
static bool client_cert_ok(struct http *h, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
	unsigned status = 0, n = 0;

	if (!h->client_ca || !ci || !ci->tls_session)
		return false;
	gnutls_session_t s = (gnutls_session_t)ci->tls_session;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n || gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 || status != 0)
		return false;
	gnutls_x509_crt_t crt;
	bool ok = false;
	if (gnutls_x509_crt_init(&crt) == 0) {
		ok = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 && name_permitted(h, crt);
		gnutls_x509_crt_deinit(crt);
	}
	return ok;
}

static bool authorized(struct http *h, struct MHD_Connection *conn)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	if (h->token && auth && strncasecmp(auth, "Bearer ", 7) == 0 && same_secret(auth + 7, h->token))
		return true;
	return client_cert_ok(h, conn);
}

/* ---- answers ------------------------------------------------------------ */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, const void *data,
			       size_t len, bool copy)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data,
								 copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	/* the UI is our files only; nothing from the index may run or frame it */
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; script-src 'self'; "
				"style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; "
				"form-action 'none'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"hvtrail\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result error(struct MHD_Connection *conn, unsigned status, const char *words)
{
	struct hvt_buf b = { 0 };

	hvt_buf_append_str(&b, "{\"error\":");
	hvt_json_escape(&b, words);
	hvt_buf_append_str(&b, "}\n");
	enum MHD_Result rc = respond(conn, status, "application/json", b.data, b.len, true);
	hvt_buf_free(&b);
	return rc;
}

static const struct http_asset *asset(const char *url)
{
	if (strcmp(url, "/") == 0)
		url = "/index.html";
	for (const struct http_asset *a = http_assets; a->path; a++)
		if (strcmp(a->path, url) == 0)
			return a;
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct http *h = cls;
	static int first_call;
	(void)version;
	(void)upload;

	if (!*state) {                /* headers only so far */
		*state = &first_call;
		return MHD_YES;
	}
	/* the request's deadline runs on until it is in full: a body announced
	 * (chunked, say) but never sent must not hold the connection either */
	if (*upload_size)             /* read-only: no request bodies */
		return error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "this endpoint takes no request body");
	http_loop_request_in(conn);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD only");
	h->requests++;
	const struct http_asset *a = asset(url);
	if (a)
		return respond(conn, MHD_HTTP_OK, a->type, a->data, a->len, false);
	if (!authorized(h, conn)) {
		h->denied++;
		return error(conn, MHD_HTTP_UNAUTHORIZED, "a client certificate from client_ca or the bearer "
			     "token is needed");
	}
	if (args_have_nul(conn))
		return error(conn, MHD_HTTP_BAD_REQUEST, "a query argument holds a NUL byte (%00)");
	struct http_req rq = { conn };
	struct hvt_buf out = { 0 };
	const char *type = "application/json";
	int rc;
	if (strcmp(url, "/metrics") == 0) {
		rc = http_metrics(h, &out);
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else if (strcmp(url, "/api/events") == 0) {
		rc = http_api_events(h, &rq, &out);
	} else if (strcmp(url, "/api/hosts") == 0) {
		rc = http_api_hosts(h, &rq, &out);
	} else if (strcmp(url, "/api/status") == 0) {
		rc = http_api_status(h, &rq, &out);
	} else {
		return error(conn, MHD_HTTP_NOT_FOUND, "no such page");
	}
	enum MHD_Result r;
	if (rc == 400)
		r = error(conn, MHD_HTTP_BAD_REQUEST, out.data ? out.data : "bad request");
	else if (rc != 0)
		r = error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "the index failed while answering (the "
			  "collector's log says why)");
	else
		r = respond(conn, MHD_HTTP_OK, type, out.data ? out.data : "", out.len, true);
	hvt_buf_free(&out);
	return r;
}

/* libmicrohttpd's MHD_LogCallback: a printf format and its va_list.  The
 * attribute lets the compiler check our use of it (-Wformat=2 under clang). */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(10000);
	char msg[512];
	(void)cls;

	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	hvt_log_ratelimited(&rl, LOG_INFO, "[http] libmicrohttpd: %s", msg);
}

/* ---- start and stop ------------------------------------------------------ */

static char *slurp(const char *path)
{
	gnutls_datum_t d = { NULL, 0 };

	if (!*path || gnutls_load_file(path, &d) < 0)
		return NULL;
	char *s = hvt_strndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static int open_index(struct http *h)
{
	const struct hvt_instance *ix = h->ctx.index;

	if (hvt_instance_bind(&h->ro, ix->plugin, ix->config, ix->conf, h->ctx.host) < 0)
		return -1;
	h->ro.readonly = true;
	if (hvt_instance_start(&h->ro) < 0)
		return -1;
	h->ops = ix->plugin->ops;
	h->ro_open = true;
	return 0;
}

/* A listening TCP socket for addr (MHD takes it over in http_serve). */
static int listen_on(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct http *http_open(const struct hvt_conf_section *s)
{
	struct http *h = hvt_calloc(1, sizeof *h);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST },
			*ai = NULL;
	char err[300];

	h->listen_fd = -1;
	h->s = s;
	h->wake_fd = -1;
	h->request_ms = hvt_conf_duration_ms(s, col_schema_http, "timeout");
	h->max_rows = hvt_conf_int(s, col_schema_http, "max_rows");
	h->cert_pem = slurp(str(s, "tls_cert"));
	h->key_pem = slurp(str(s, "tls_key"));
	h->ca_pem = slurp(str(s, "client_ca"));
	h->client_ca = h->ca_pem != NULL;
	h->priority = hvt_strdup(str(s, "tls_priority"));
	h->permitted = hvt_conf_list(s, col_schema_http, "permitted_clients", NULL);
	if (*str(s, "token_file") && !(h->token = read_token(str(s, "token_file"), err, sizeof err))) {
		hvt_log(LOG_ERR, "[http] %s", err);
		goto fail;
	}
	if (!h->cert_pem || !h->key_pem) {
		hvt_log(LOG_ERR, "[http] cannot read tls_cert or tls_key");
		goto fail;
	}
	snprintf(h->port, sizeof h->port, "%lld", hvt_conf_int(s, col_schema_http, "port"));
	int gai = getaddrinfo(str(s, "address"), h->port, &hints, &ai);
	if (gai != 0) {
		hvt_log(LOG_ERR, "[http] address %s: %s", str(s, "address"), gai_strerror(gai));
		goto fail;
	}
	h->ipv6 = ai->ai_family == AF_INET6;
	h->listen_fd = listen_on(ai);
	freeaddrinfo(ai);
	if (h->listen_fd < 0) {
		hvt_log(LOG_ERR, "[http] cannot listen on %s:%s: %s", str(s, "address"), h->port, strerror(errno));
		goto fail;
	}
	return h;
fail:
	http_stop(h);
	return NULL;
}

int http_serve(struct http *h, const struct http_ctx *ctx)
{
	const struct hvt_conf_section *s = h->s;

	h->ctx = *ctx;
	if (open_index(h) < 0) {
		hvt_log(LOG_ERR, "[http] cannot open the index read-only");
		return -1;
	}
	/* no thread of libmicrohttpd's: http_loop.c runs it (and says why) */
	unsigned flags = MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ERROR_LOG;
	if (h->ipv6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem opt[16];
	int n = 0;
	n += http_loop_options(h, opt + n);
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert_pem };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->key_pem };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, h->priority };
	if (h->ca_pem)    /* ask for a client certificate; checked per request */
		opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, h->ca_pem };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
		(intptr_t)hvt_conf_int(s, col_schema_http, "max_connections"), NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(intptr_t)hvt_conf_int(s, col_schema_http, "max_per_ip"), NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
		(intptr_t)(hvt_conf_duration_ms(s, col_schema_http, "timeout") / 1000), NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HEADER_MEMORY, NULL };
	opt[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* the socket bound before the privilege drop: the thread that parses
	 * what clients send (http_loop.c) starts only now */
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->listen_fd, MHD_OPTION_ARRAY, opt,
				  MHD_OPTION_END);
	if (!h->mhd) {
		hvt_log(LOG_ERR, "[http] cannot serve HTTPS on %s:%s (the TLS files?)", str(s, "address"), h->port);
		return -1;
	}
	h->listen_fd = -1;        /* MHD's now */
	if (http_loop_start(h) < 0)
		return -1;
	hvt_log(LOG_INFO, "[http] serving the web UI, /api and /metrics on https://%s:%s/ (%s%s%s)",
		str(s, "address"), h->port, h->client_ca ? "client certificates" : "",
		h->client_ca && h->token ? " or " : "", h->token ? "bearer token" : "");
	return 0;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	http_loop_stop(h);            /* first: it runs h->mhd */
	if (h->mhd)
		MHD_stop_daemon(h->mhd);      /* closes what is open (http_loop.c forgets each) */
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->ro_open)
		hvt_instance_stop(&h->ro);
	free(h->cert_pem);
	if (h->key_pem)
		explicit_bzero(h->key_pem, strlen(h->key_pem));
	free(h->key_pem);
	free(h->ca_pem);
	free(h->priority);
	if (h->token)
		explicit_bzero(h->token, strlen(h->token));
	free(h->token);
	hvt_conf_list_free(h->permitted);
	free(h);
}
