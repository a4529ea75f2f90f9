/* doctor_tls.c - the forwarder's certificates and its collectors.
 *
 * The collector check is a real RELP session: TCP, the TLS handshake with
 * the configured certificate, key, CA and permitted peers, and RELP's
 * "open", through out_relp's own client code (plugins/out_relp/
 * relp_client.c, compiled into the CLI).  So it fails exactly when the
 * forwarder's connect would, with the same words, and it needs no mode in
 * the daemon and no running forwarder.  librelp and GnuTLS are required by
 * hvtrail anyway; nothing optional (libcurl) comes into the CLI. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "daemon.h"
#include "doctor.h"
#include "log.h"
#include "relp_client.h"
#include "timefmt.h"
#include "tlscheck.h"
#include "util.h"

#define EXPIRY_WARN_DAYS 30

static const struct hvt_conf_key *keys_of(const struct hvt_instance *in)
{
	return in->plugin->conf_keys;
}

/* The first certificate's end of validity, or -1. */
static time_t not_after(const char *path)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	time_t t = -1;

	if (gnutls_load_file(path, &d) < 0)
		return -1;
	if (gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0) >= 0 && n > 0)
		t = gnutls_x509_crt_get_expiration_time(crts[0]);
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_free(d.data);
	return t;
}

static void day_of(time_t t, char *buf, size_t size)
{
	hvt_format_rfc3339((long long)t * 1000000, buf, size);
	if (size > 10)
		buf[10] = '\0';
}

/* Every file readable by the forwarder's user (librelp opens them again at
 * every reconnect, long after start-up). */
static void check_readable(struct doctor *d, const char *inst, const char *const *paths, int n)
{
	struct hvt_buf bad = { 0 };
	char msg[256], fix[512];

	for (int i = 0; i < n; i++)
		if (!doc_access(&d->daemon, paths[i], R_OK, msg, sizeof msg))
			hvt_buf_printf(&bad, "%s%s (%s)", bad.len ? ", " : "", paths[i], msg);
	if (bad.len) {
		snprintf(fix, sizeof fix, "let %s read them, e.g. 'chgrp %s FILE; chmod g+r FILE' (keys 0640, "
			 "never world-readable), and every directory above them searchable", d->daemon.name,
			 d->daemon.name);
		doc_report(d, DOC_FAIL, "tls files", fix, "[%s] %s cannot read: %s", inst, d->daemon.name,
			   hvt_buf_cstr(&bad));
	} else {
		doc_report(d, DOC_OK, "tls files", NULL, "[%s] tls_ca, tls_cert, tls_key readable by %s", inst,
			   d->daemon.name);
	}
	hvt_buf_free(&bad);
}

static const char *fix_for(const char *err)
{
	if (strstr(err, "does not belong"))
		return "install the key this certificate was issued for, or issue a certificate for this key";
	if (strstr(err, "expired") || strstr(err, "not valid before"))
		return "issue a new certificate (same CA, same names), install it, then "
		       "'systemctl reload hvtrail-forwarder' (SIGHUP reloads certificates)";
	if (strstr(err, "does not verify"))
		return "tls_ca must hold the CA that issued tls_cert (and the collector must trust the same CA)";
	return "fix or replace the file named above";
}

/* Is host one of the certificate's names ("CN=a,DNS=b,DNS=c")? */
static bool names_host(const char *names, const char *host)
{
	char *copy = hvt_strdup(names), *save = NULL;
	bool found = false;

	for (char *t = strtok_r(copy, ",", &save); t && !found; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		found = eq && strcasecmp(eq + 1, host) == 0;
	}
	free(copy);
	return found;
}

static void check_expiry(struct doctor *d, const char *inst, const char *what, const char *path)
{
	time_t na = not_after(path);
	char day[40], fix[256];
	long days;

	if (na == (time_t)-1)
		return;
	days = (long)((na - time(NULL)) / 86400);
	day_of(na, day, sizeof day);
	if (days < EXPIRY_WARN_DAYS) {
		snprintf(fix, sizeof fix, "renew %s before %s; the forwarder takes the new file on "
			 "'systemctl reload hvtrail-forwarder'", what, day);
		doc_report(d, DOC_WARN, "tls expiry", fix, "[%s] %s %s expires on %s (in %ld days)", inst, what,
			   path, day, days);
	} else {
		doc_report(d, DOC_OK, "tls expiry", NULL, "[%s] %s valid until %s (%ld days)", inst, what, day,
			   days);
	}
}

bool doc_check_tls(struct doctor *d, const struct hvt_instance *o, const char *host)
{
	const char *ca = doc_str(o, "tls_ca"), *cert = doc_str(o, "tls_cert"), *key = doc_str(o, "tls_key");
	const char *paths[3] = { ca, cert, key };
	char err[768], warn[512], names[512];

	if (!hvt_conf_bool(o->conf, keys_of(o), "tls")) {
		doc_report(d, DOC_WARN, "tls", "set tls = yes (the default) and give the forwarder a certificate",
			   "[%s] tls = no: events travel in plaintext and the collector cannot tell who sent "
			   "them", o->name);
		return true;
	}
	check_readable(d, o->name, paths, 3);
	/* the forwarder's own check (out_relp), for the account it runs as */
	if (hvt_private_key_check_gid(key, d->daemon.valid ? d->daemon.gid : getegid(), err, sizeof err) < 0) {
		doc_report(d, DOC_FAIL, "tls key mode", "chmod 0600 the key (or 0640 with the forwarder's "
			   "group: 'chgrp hvtrail KEY; chmod 0640 KEY'); then make a new key and certificate if "
			   "others could read it", "[%s] tls_key: %s", o->name, err);
		return false;
	}
	if (hvt_tls_check_files(ca, cert, key, err, sizeof err, warn, sizeof warn) < 0) {
		doc_report(d, DOC_FAIL, "tls certificate", fix_for(err), "[%s] %s", o->name, err);
		return false;
	}
	hvt_tls_cert_names(cert, names, sizeof names);
	doc_report(d, DOC_OK, "tls certificate", NULL, "[%s] %s: key matches, valid now, issued by the CA "
		   "in %s", o->name, names, ca);
	check_expiry(d, o->name, "tls_cert", cert);
	check_expiry(d, o->name, "tls_ca", ca);
	if (host && *names && !names_host(names, host))
		doc_report(d, DOC_WARN, "tls identity", "set [forwarder] host to a name in the certificate, "
			   "or issue a certificate that names this host",
			   "[%s] [forwarder] host %s is not a name in tls_cert (%s): the collector refuses "
			   "events it cannot bind to their host (see docs/integrity.md)", o->name, host, names);
	if (hvt_tls_check_priority(doc_str(o, "tls_priority"), err, sizeof err, warn, sizeof warn) < 0)
		doc_report(d, DOC_FAIL, "tls priority", "fix tls_priority, or remove it for the default",
			   "[%s] %s", o->name, err);
	else if (warn[0])
		doc_report(d, DOC_WARN, "tls priority", "remove SSL 3.0, TLS 1.0 and 1.1 from tls_priority",
			   "[%s] %s", o->name, warn);
	return true;
}

/* ---- reachability ---------------------------------------------------- */

static int split_target(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon = strrchr(s, ':');

	if (!colon || colon == s || !colon[1])
		return -1;
	const char *h = s, *he = colon;
	if (*h == '[' && he[-1] == ']') {
		h++;
		he--;
	}
	snprintf(host, hsize, "%.*s", (int)(he - h), h);
	snprintf(port, psize, "%s", colon + 1);
	return 0;
}

/* A TCP connect within timeout_ms: 0, or -1 with the reason. */
static int tcp_probe(const char *host, const char *port, int timeout_ms, char *err, size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res), last = 0;

	if (rc) {
		snprintf(err, size, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			int e = 0;
			socklen_t len = sizeof e;
			int pr = poll(&p, 1, timeout_ms);
			if (pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0) {
				close(fd);
				freeaddrinfo(res);
				return 0;
			}
			last = pr == 0 ? ETIMEDOUT : e ? e : errno;
		} else {
			last = errno;
		}
		close(fd);
	}
	freeaddrinfo(res);
	snprintf(err, size, "%s", strerror(last ? last : EHOSTUNREACH));
	return -1;
}

/* relp_client says why a session failed in log lines: catch them. */
static int relp_session(const struct relp_client_opts *ro, const char *host, const char *port,
			char *why, size_t size)
{
	FILE *cap = tmpfile();
	int saved = dup(STDERR_FILENO), rc;

	fflush(stderr);
	if (cap && saved >= 0)
		dup2(fileno(cap), STDERR_FILENO);
	struct relp_client *c = relp_client_new(ro);
	rc = relp_client_connect(c, host, port);
	if (rc == 0 && !relp_client_close(c, true))
		rc = -1;
	if (rc < 0)
		snprintf(why, size, "%s", relp_client_last_error(c));
	relp_client_free(c);
	fflush(stderr);
	if (cap && saved >= 0) {
		dup2(saved, STDERR_FILENO);
		char line[1024];
		rewind(cap);
		/* the log's own words are the most precise: keep the last line */
		while (rc < 0 && fgets(line, sizeof line, cap)) {
			line[strcspn(line, "\n")] = '\0';
			const char *p = strstr(line, "] ");
			snprintf(why, size, "%s", p ? p + 2 : line);
		}
	}
	if (saved >= 0)
		close(saved);
	if (cap)
		fclose(cap);
	return rc;
}

static void check_target(struct doctor *d, const struct hvt_instance *o, const char *target, char **peers,
			 int timeout_s, bool tls_ok)
{
	char host[256], port[32], err[1024], fix[512];

	if (split_target(target, host, sizeof host, port, sizeof port) < 0) {
		doc_report(d, DOC_FAIL, "collector", "write the target as host:port", "[%s] target '%s' is "
			   "not host:port", o->name, target);
		return;
	}
	if (tcp_probe(host, port, timeout_s * 1000, err, sizeof err) < 0) {
		snprintf(fix, sizeof fix, "is hvtrail-collector running on %s and listening on port %s "
			 "('ss -ltn' there)? Is a firewall in between?", host, port);
		doc_report(d, DOC_FAIL, "collector", fix, "[%s] %s: cannot connect: %s", o->name, target, err);
		return;
	}
	if (!tls_ok) {
		/* a session with those files fails, and librelp would leak its
		 * half-made TLS setup (the forwarder refuses to start instead) */
		doc_report(d, DOC_WARN, "collector", "fix the certificate problem above, then run doctor again",
			   "[%s] %s: TCP connection works; the RELP/TLS session was not tried", o->name, target);
		return;
	}
	struct relp_client_opts ro = {
		.tls = hvt_conf_bool(o->conf, keys_of(o), "tls"),
		.ca = doc_str(o, "tls_ca"), .cert = doc_str(o, "tls_cert"), .key = doc_str(o, "tls_key"),
		.auth_mode = doc_str(o, "auth_mode"),
		.permitted_peers = peers,
		.priority = doc_str(o, "tls_priority"),
		.window = 1, .timeout_s = timeout_s, .connect_timeout_s = timeout_s,
		.instance = o->name,
	};
	if (relp_session(&ro, host, port, err, sizeof err) < 0) {
		doc_report(d, DOC_FAIL, "collector", "compare the certificate names and CAs on both ends "
			   "(permitted_peers here, [listen] permitted_peers there); the collector's log says "
			   "why it refused", "[%s] %s: TCP works, the RELP%s session does not: %s", o->name,
			   target, ro.tls ? "/TLS" : "", err);
		return;
	}
	doc_report(d, DOC_OK, "collector", NULL, "[%s] %s: %s and RELP session established", o->name, target,
		   ro.tls ? "TLS handshake (mutual x509)" : "plaintext connection");
}

void doc_check_collector(struct doctor *d, const struct hvt_instance *o, bool tls_ok)
{
	int nt = 0, np = 0;
	char **targets = hvt_conf_list(o->conf, keys_of(o), "target", &nt);
	char **peers = hvt_conf_list(o->conf, keys_of(o), "permitted_peers", &np);
	int timeout_s = d->timeout_s ? d->timeout_s :
			(int)HVT_MAX(1, hvt_conf_duration_ms(o->conf, keys_of(o), "connect_timeout") / 1000);

	if (!np) {
		/* as out_relp: by default each target's host name is permitted */
		hvt_conf_list_free(peers);
		peers = hvt_calloc((size_t)nt + 1, sizeof(char *));
		for (int i = 0; i < nt; i++) {
			char host[256], port[32];
			peers[i] = hvt_strdup(split_target(targets[i], host, sizeof host, port, sizeof port) == 0 ?
					      host : targets[i]);
		}
	}
	for (int i = 0; i < nt; i++)
		check_target(d, o, targets[i], peers, timeout_s, tls_ok);
	hvt_conf_list_free(targets);
	hvt_conf_list_free(peers);
}
