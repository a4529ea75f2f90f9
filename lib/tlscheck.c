/* tlscheck.c - see tlscheck.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "timefmt.h"
#include "tlscheck.h"
#include "util.h"

static int load_crts(const char *path, gnutls_x509_crt_t **crts, unsigned *n, char *err, size_t errsize,
		     const char *what)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc = gnutls_load_file(path, &d);

	if (rc < 0) {
		snprintf(err, errsize, "%s %s: cannot read: %s", what, path, gnutls_strerror(rc));
		return -1;
	}
	rc = gnutls_x509_crt_list_import2(crts, n, &d, GNUTLS_X509_FMT_PEM, 0);
	gnutls_free(d.data);
	if (rc < 0 || *n == 0) {
		snprintf(err, errsize, "%s %s: no PEM certificate in it (%s)", what, path,
			 rc < 0 ? gnutls_strerror(rc) : "empty");
		return -1;
	}
	return 0;
}

static void free_crts(gnutls_x509_crt_t *crts, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
}

static void fmt_time(time_t t, char *buf, size_t size)
{
	hvt_format_rfc3339((long long)t * 1000000, buf, size);
	buf[10] = ' ';
	buf[19] = '\0';         /* "YYYY-MM-DD HH:MM:SS" */
}

int hvt_tls_cert_names(const char *cert, char *out, size_t size)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	char err[256], buf[256];
	size_t len;
	struct hvt_buf b = { 0 };

	out[0] = '\0';
	if (load_crts(cert, &crts, &n, err, sizeof err, "certificate") < 0)
		return -1;
	len = sizeof buf;
	if (gnutls_x509_crt_get_dn_by_oid(crts[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) == 0)
		hvt_buf_printf(&b, "CN=%s", buf);
	for (unsigned i = 0;; i++) {
		len = sizeof buf;
		int t = gnutls_x509_crt_get_subject_alt_name(crts[0], i, buf, &len, NULL);
		if (t < 0)
			break;
		if (t == GNUTLS_SAN_DNSNAME)
			hvt_buf_printf(&b, "%sDNS=%s", b.len ? "," : "", buf);
	}
	hvt_strlcpy(out, b.data ? b.data : "", size);
	hvt_buf_free(&b);
	free_crts(crts, n);
	return 0;
}

int hvt_tls_check_files(const char *ca, const char *cert, const char *key,
			char *err, size_t errsize, char *warn, size_t warnsize)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_x509_crt_t *cas = NULL, *crts = NULL;
	unsigned nca = 0, ncrt = 0, status = 0;
	time_t now = time(NULL);
	char t1[40];
	int rc = -1;

	warn[0] = '\0';
	if (load_crts(ca, &cas, &nca, err, errsize, "tls_ca") < 0 ||
	    load_crts(cert, &crts, &ncrt, err, errsize, "tls_cert") < 0)
		goto out;
	gnutls_certificate_allocate_credentials(&cred);
	int r = gnutls_certificate_set_x509_key_file2(cred, cert, key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		snprintf(err, errsize, r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH ?
			 "tls_key %s does not belong to tls_cert %s" : "tls_key %s with tls_cert %s: %s",
			 key, cert, gnutls_strerror(r));
		goto out;
	}
	time_t nb = gnutls_x509_crt_get_activation_time(crts[0]);
	time_t na = gnutls_x509_crt_get_expiration_time(crts[0]);
	if (nb != (time_t)-1 && now < nb) {
		fmt_time(nb, t1, sizeof t1);
		snprintf(err, errsize, "tls_cert %s is not valid before %s UTC", cert, t1);
		goto out;
	}
	if (na != (time_t)-1 && now > na) {
		fmt_time(na, t1, sizeof t1);
		snprintf(err, errsize, "tls_cert %s expired on %s UTC", cert, t1);
		goto out;
	}
	if (gnutls_x509_crt_list_verify(crts, ncrt, cas, nca, NULL, 0, 0, &status) < 0 || status) {
		gnutls_datum_t why = { NULL, 0 };
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		snprintf(err, errsize, "tls_cert %s does not verify against tls_ca %s: %s", cert, ca,
			 why.data ? (char *)why.data : "unknown reason");
		gnutls_free(why.data);
		goto out;
	}
	if (na != (time_t)-1 && na - now < 30 * 86400) {
		fmt_time(na, t1, sizeof t1);
		snprintf(warn, warnsize, "tls_cert %s expires on %s UTC (in %ld days)", cert, t1,
			 (long)((na - now) / 86400));
	}
	rc = 0;
out:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	free_crts(cas, nca);
	free_crts(crts, ncrt);
	return rc;
}

int hvt_tls_check_priority(const char *priority, char *err, size_t errsize, char *warn, size_t warnsize)
{
	gnutls_priority_t p;
	const char *pos = NULL;
	const unsigned *protos = NULL;

	warn[0] = '\0';
	int rc = gnutls_priority_init(&p, priority, &pos);
	if (rc < 0) {
		snprintf(err, errsize, "tls_priority '%s' is not a GnuTLS priority string GnuTLS %s accepts: %s%s%.40s",
			 priority, gnutls_check_version(NULL), gnutls_strerror(rc), pos ? " at: " : "", pos ? pos : "");
		return -1;
	}
	int n = gnutls_priority_protocol_list(p, &protos);
	for (int i = 0; i < n; i++) {
		if (protos[i] == GNUTLS_SSL3 || protos[i] == GNUTLS_TLS1_0 || protos[i] == GNUTLS_TLS1_1) {
			snprintf(warn, warnsize, "tls_priority '%s' enables %s, which is obsolete and weak; "
				 "use TLS 1.2 or later", priority, gnutls_protocol_get_name(protos[i]));
			break;
		}
	}
	if (n == 0)
		snprintf(err, errsize, "tls_priority '%s' enables no TLS version", priority);
	gnutls_priority_deinit(p);
	return n == 0 ? -1 : 0;
}
