/* tlspeer.c - see tlspeer.h for why and how GnuTLS's verify-callback
 * registration is interposed.  Everything here runs inside GnuTLS
 * handshakes on librelp's threads, so it never blocks and never logs by
 * itself: it records, enforces the bound policy, and hands words to the
 * caller's callbacks. */
#include "config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "timefmt.h"
#include "tlsleak.h"
#include "tlspeer.h"
#include "util.h"

/* Exported with GnuTLS's names and signatures: the interposition. */
void gnutls_certificate_set_verify_function(gnutls_certificate_credentials_t cred,
					    gnutls_certificate_verify_function *func);
void gnutls_certificate_free_credentials(gnutls_certificate_credentials_t sc);

typedef void set_verify_fn(gnutls_certificate_credentials_t, gnutls_certificate_verify_function *);
typedef void free_cred_fn(gnutls_certificate_credentials_t);

/* One credential librelp registered a verify callback on. */
struct binding {
	gnutls_certificate_credentials_t cred;
	gnutls_certificate_verify_function *orig;   /* librelp's callback */
	bool has_policy;
	struct hvt_tls_policy policy;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct binding *tab;       /* live credentials only: freed ones are removed */
static size_t ntab, captab;
static atomic_bool hooked;

static __thread bool pending_set;
static __thread struct hvt_tls_policy pending;
static __thread bool in_verify;
static __thread struct hvt_tls_peer cur;

/* The real GnuTLS function: the next definition after ours, or, if the
 * search order is unusual, the one in the loaded GnuTLS itself. */
void *hvt_tls_real_sym(const char *name, void *self)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p || p == self) {
		void *h = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_NOLOAD);
		p = h ? dlsym(h, name) : NULL;
		if (h)
			dlclose(h);
	}
	if (!p || p == self)
		abort();   /* no GnuTLS to forward to: verifying nothing is not an option */
	return p;
}

static struct binding *find(gnutls_certificate_credentials_t cred)
{
	for (size_t i = 0; i < ntab; i++)
		if (tab[i].cred == cred)
			return &tab[i];
	return NULL;
}

static void forget(gnutls_certificate_credentials_t cred)
{
	pthread_mutex_lock(&lock);
	struct binding *b = find(cred);
	if (b)
		*b = tab[--ntab];
	pthread_mutex_unlock(&lock);
}

/* ---- describing the peer --------------------------------------------- */

static void fmt_time(long long t, char *buf, size_t size)
{
	hvt_format_rfc3339(t * 1000000, buf, size);
	if (strlen(buf) >= 19) {
		buf[10] = ' ';
		buf[19] = '\0';         /* "YYYY-MM-DD HH:MM:SS" */
	}
}

static void peer_addr(gnutls_session_t s, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = gnutls_transport_get_int(s);

	hvt_strlcpy(out, "?", size);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)size);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)size);
}

static void fingerprint(gnutls_x509_crt_t c, gnutls_digest_algorithm_t alg, const char *label,
			char *out, size_t size)
{
	unsigned char md[64];
	size_t n = sizeof md;
	size_t o = 0;

	out[0] = '\0';
	if (gnutls_x509_crt_get_fingerprint(c, alg, md, &n) < 0)
		return;
	o = (size_t)snprintf(out, size, "%s", label);
	for (size_t i = 0; i < n && o + 4 <= size; i++)
		o += (size_t)snprintf(out + o, size - o, ":%02X", md[i]);
}

/* Names as librelp matches them: dNSName SANs and the CN (plus IP SANs). */
static void cert_names(gnutls_x509_crt_t c, char *out, size_t size)
{
	struct hvt_buf b = { 0 };
	char buf[256];
	size_t len = sizeof buf;

	if (gnutls_x509_crt_get_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) == 0)
		hvt_buf_printf(&b, "CN=%s", buf);
	for (unsigned i = 0; i < 16; i++) {
		len = sizeof buf - 1;
		int t = gnutls_x509_crt_get_subject_alt_name(c, i, buf, &len, NULL);
		if (t < 0)
			break;
		if (t == GNUTLS_SAN_DNSNAME) {
			buf[HVT_MIN(len, sizeof buf - 1)] = '\0';
			hvt_buf_printf(&b, "%sDNS=%s", b.len ? ", " : "", buf);
		} else if (t == GNUTLS_SAN_IPADDRESS && (len == 4 || len == 16)) {
			char ip[64];
			inet_ntop(len == 4 ? AF_INET : AF_INET6, buf, ip, sizeof ip);
			hvt_buf_printf(&b, "%sIP=%s", b.len ? ", " : "", ip);
		}
	}
	hvt_strlcpy(out, b.len ? b.data : "(no names)", size);
	hvt_buf_free(&b);
}

static void add_problem(struct hvt_tls_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_problem(struct hvt_tls_peer *p, const char *fmt, ...)
{
	size_t o = strlen(p->problem);
	va_list ap;

	if (o && o + 3 < sizeof p->problem) {
		memcpy(p->problem + o, "; ", 3);
		o += 2;
	}
	va_start(ap, fmt);
	vsnprintf(p->problem + o, sizeof p->problem - o, fmt, ap);
	va_end(ap);
}

/* GnuTLS's verification status in words an operator can act on. */
static void explain_status(struct hvt_tls_peer *p)
{
	unsigned st = p->status;
	char t[40];

	p->problem[0] = '\0';
	if (!st)
		return;
	if (st & GNUTLS_CERT_EXPIRED) {
		fmt_time(p->not_after, t, sizeof t);
		add_problem(p, "has expired (not after %s UTC)", t);
	}
	if (st & GNUTLS_CERT_NOT_ACTIVATED) {
		fmt_time(p->not_before, t, sizeof t);
		add_problem(p, "is not yet valid (not before %s UTC)", t);
	}
	if (st & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		if (p->self_signed)
			add_problem(p, "is self-signed, not issued by a CA in tls_ca");
		else
			add_problem(p, "was issued by an unknown CA (issuer %s), not by a CA in tls_ca", p->issuer);
	}
	if (st & GNUTLS_CERT_REVOKED)
		add_problem(p, "has been revoked");
	if (st & GNUTLS_CERT_SIGNER_NOT_CA)
		add_problem(p, "was signed by a certificate that is not a CA");
	if (st & GNUTLS_CERT_INSECURE_ALGORITHM)
		add_problem(p, "is signed with an insecure algorithm");
	if ((st & GNUTLS_CERT_SIGNATURE_FAILURE) && !(st & GNUTLS_CERT_SIGNER_NOT_FOUND))
		add_problem(p, "has a signature that does not verify");
	if (st & GNUTLS_CERT_PURPOSE_MISMATCH)
		add_problem(p, "is not meant for TLS (key purpose)");
	if (!p->problem[0]) {
		gnutls_datum_t d = { NULL, 0 };
		gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &d, 0);
		add_problem(p, "did not verify: %s", d.data ? (char *)d.data : "unknown reason");
		gnutls_free(d.data);
	}
}

static void describe(gnutls_session_t s, struct hvt_tls_peer *p)
{
	unsigned n = 0;
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t c;
	char subj[256];
	size_t len;

	memset(p, 0, sizeof *p);
	p->not_before = p->not_after = -1;
	peer_addr(s, p->addr, sizeof p->addr);
	certs = gnutls_certificate_type_get(s) == GNUTLS_CRT_X509 ? gnutls_certificate_get_peers(s, &n) : NULL;
	if (!certs || n == 0 || gnutls_x509_crt_init(&c) < 0)
		return;
	if (gnutls_x509_crt_import(c, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(c);
		return;
	}
	p->has_cert = true;
	cert_names(c, p->names, sizeof p->names);
	len = sizeof p->issuer;
	if (gnutls_x509_crt_get_issuer_dn(c, p->issuer, &len) < 0)
		hvt_strlcpy(p->issuer, "?", sizeof p->issuer);
	len = sizeof subj;
	p->self_signed = gnutls_x509_crt_get_dn(c, subj, &len) == 0 && strcmp(subj, p->issuer) == 0;
	fingerprint(c, GNUTLS_DIG_SHA1, "SHA1", p->sha1, sizeof p->sha1);
	fingerprint(c, GNUTLS_DIG_SHA256, "SHA256", p->sha256, sizeof p->sha256);
	p->not_before = (long long)gnutls_x509_crt_get_activation_time(c);
	p->not_after = (long long)gnutls_x509_crt_get_expiration_time(c);
	gnutls_x509_crt_deinit(c);
	if (gnutls_certificate_verify_peers2(s, &p->status) < 0)
		p->status = GNUTLS_CERT_INVALID;
	explain_status(p);
}

/* ---- enforcing ------------------------------------------------------- */

/* Checks librelp 1.11 skips.  Returns the reason to refuse, or NULL. */
static const char *policy_check(const struct hvt_tls_policy *pol, const struct hvt_tls_peer *p, char *buf,
				size_t size)
{
	long long now = (long long)time(NULL);
	char t[40];

	if (pol->mode == HVT_TLS_MODE_NAME)
		return NULL;            /* librelp verifies chain, time and names */
	if (!p->has_cert)
		return NULL;            /* librelp refuses it ("no certificate") */
	if (pol->mode == HVT_TLS_MODE_CERTVALID && p->status) {
		snprintf(buf, size, "%s", p->problem);
		return buf;
	}
	/* fingerprint mode pins the certificate instead of a CA, but a
	 * pinned certificate still has a validity period */
	if (p->not_after != -1 && now > p->not_after) {
		fmt_time(p->not_after, t, sizeof t);
		snprintf(buf, size, "has expired (not after %s UTC)", t);
		return buf;
	}
	if (p->not_before != -1 && now < p->not_before) {
		fmt_time(p->not_before, t, sizeof t);
		snprintf(buf, size, "is not yet valid (not before %s UTC)", t);
		return buf;
	}
	return NULL;
}

static int hook_verify(gnutls_session_t s)
{
	void *cred = NULL;
	struct binding b = { 0 };
	char why[300];

	if (gnutls_credentials_get(s, GNUTLS_CRD_CERTIFICATE, &cred) == 0) {
		pthread_mutex_lock(&lock);
		struct binding *f = find(cred);
		if (f)
			b = *f;
		pthread_mutex_unlock(&lock);
	}
	if (!b.orig)
		return GNUTLS_E_CERTIFICATE_ERROR;     /* cannot happen; fail closed */
	describe(s, &cur);
	const char *bad = b.has_policy ? policy_check(&b.policy, &cur, why, sizeof why) : NULL;
	if (bad) {
		if (b.policy.refuse)
			b.policy.refuse(b.policy.arg, &cur, bad);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	in_verify = true;
	int rc = b.orig(s);
	in_verify = false;
	return rc;
}

/* ---- the interposed GnuTLS functions ---------------------------------- */

static pthread_once_t resolved = PTHREAD_ONCE_INIT;
static set_verify_fn *real_set_verify;
static free_cred_fn *real_free_cred;

static void resolve(void)
{
	real_set_verify = (set_verify_fn *)hvt_tls_real_sym("gnutls_certificate_set_verify_function",
						    (void *)gnutls_certificate_set_verify_function);
	real_free_cred = (free_cred_fn *)hvt_tls_real_sym("gnutls_certificate_free_credentials",
						  (void *)gnutls_certificate_free_credentials);
}

void gnutls_certificate_set_verify_function(gnutls_certificate_credentials_t cred,
					    gnutls_certificate_verify_function *func)
{
	pthread_once(&resolved, resolve);
	if (!func || func == hook_verify) {
		forget(cred);
		real_set_verify(cred, func);
		return;
	}
	pthread_mutex_lock(&lock);
	struct binding *b = find(cred);
	if (!b) {
		if (ntab == captab) {
			captab = captab ? captab * 2 : 8;
			tab = hvt_realloc(tab, captab * sizeof *tab);
		}
		b = &tab[ntab++];
	}
	*b = (struct binding){ .cred = cred, .orig = func, .has_policy = pending_set, .policy = pending };
	pthread_mutex_unlock(&lock);
	hvt_tls_leak_note_cred(cred);
	atomic_store(&hooked, true);
	real_set_verify(cred, hook_verify);
}

void gnutls_certificate_free_credentials(gnutls_certificate_credentials_t sc)
{
	pthread_once(&resolved, resolve);
	forget(sc);
	hvt_tls_leak_forget_cred(sc);
	real_free_cred(sc);
}

/* ---- API --------------------------------------------------------------- */

void hvt_tls_policy_begin(const struct hvt_tls_policy *policy)
{
	pending = *policy;
	pending_set = true;
}

void hvt_tls_policy_end(void)
{
	pending_set = false;
}

bool hvt_tls_hook_active(void)
{
	return atomic_load(&hooked);
}

const struct hvt_tls_peer *hvt_tls_current_peer(void)
{
	return in_verify ? &cur : NULL;
}

void hvt_tls_peer_describe(const struct hvt_tls_peer *p, char *out, size_t size)
{
	if (!p->has_cert)
		snprintf(out, size, "no certificate");
	else
		snprintf(out, size, "certificate %s (%s, issuer %s)", p->names, p->sha256, p->issuer);
}

const char *const hvt_tls_refusal_keys[HVT_TLS_REF_COUNT] = {
	"no_certificate", "untrusted_certificate", "name_not_permitted", "fingerprint_not_permitted"
};

void hvt_tls_refusal_words(enum hvt_tls_refusal kind, const struct hvt_tls_peer *p, const char *why,
			   const char *authinfo, const char *librelp_msg, const char *permitted,
			   char *out, size_t size)
{
	char desc[900];
	const char *info = authinfo && *authinfo ? authinfo : "-";

	if (p)
		hvt_tls_peer_describe(p, desc, sizeof desc);
	switch (kind) {
	case HVT_TLS_REF_NO_CERT:
		snprintf(out, size, "it presented no certificate (a GnuTLS client such as hvtrail-forwarder "
			 "sends none when its certificate is not issued by a CA in our tls_ca)");
		break;
	case HVT_TLS_REF_NAME:
		if (p)
			snprintf(out, size, "its certificate names no permitted peer (permitted_peers: %s); %s",
				 permitted && *permitted ? permitted : "-", desc);
		else
			snprintf(out, size, "its certificate names no permitted peer (permitted_peers: %s; "
				 "certificate names: %s)", permitted && *permitted ? permitted : "-", info);
		break;
	case HVT_TLS_REF_FINGERPRINT:
		if (p)
			snprintf(out, size, "its certificate fingerprint %s (%s) is not in permitted_peers; %s",
				 p->sha1, p->sha256, desc);
		else
			snprintf(out, size, "its certificate fingerprint %s is not in permitted_peers", info);
		break;
	default:
		if (p && (why || p->problem[0]))
			snprintf(out, size, "its certificate %s; %s", why ? why : p->problem, desc);
		else
			snprintf(out, size, "its certificate did not verify against tls_ca (unknown CA, expired, "
				 "not yet valid or self-signed: %s)", librelp_msg ? librelp_msg : "no detail");
		break;
	}
}

int hvt_tls_mode_parse(const char *s)
{
	if (!s || strcmp(s, "name") == 0)     /* librelp's default for a certificate */
		return HVT_TLS_MODE_NAME;
	if (strcmp(s, "fingerprint") == 0)
		return HVT_TLS_MODE_FINGERPRINT;
	if (strcmp(s, "certvalid") == 0)
		return HVT_TLS_MODE_CERTVALID;
	return -1;
}

const char *hvt_tls_handshake_words(const char *msg, bool *routine)
{
	const char *e = msg ? strstr(msg, "gnutls error ") : NULL;
	int code = e ? atoi(e + 13) : 0;

	*routine = false;
	switch (code) {
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_UNEXPECTED_PACKET:
		return "the peer does not speak TLS (a plaintext RELP client? its tls must be yes)";
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
		/* measured: a TLS 1.1 ClientHello (OpenSSL) ends here, a plaintext
		 * RELP "open" in UNEXPECTED_PACKET */
		return "the peer offered only a TLS version tls_priority does not allow (TLS 1.1 or "
		       "older? hvtrail speaks TLS 1.2 and 1.3)";
	case GNUTLS_E_PREMATURE_TERMINATION:
		*routine = true;
		return "the peer closed the connection during the TLS handshake";
	case GNUTLS_E_UNAVAILABLE_DURING_HANDSHAKE:
		/* librelp writing to a session whose handshake a refusal ended */
		*routine = true;
		return "the session ended during the TLS handshake";
	case GNUTLS_E_PULL_ERROR:
		return "the peer broke off the TLS handshake (a peer that does not trust our certificate "
		       "does that)";
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		return "the peer aborted the TLS handshake with an alert (it probably does not trust our "
		       "certificate or offers no common TLS version)";
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
		return "no TLS version or cipher suite in common (compare tls_priority on both ends; a "
		       "librelp client without a certificate offers only anonymous cipher suites)";
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
		return "the certificate was refused";
	default:
		return NULL;
	}
}
