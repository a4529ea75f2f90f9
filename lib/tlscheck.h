/* tlscheck.h - check TLS files when the daemon starts, not at first connect. */
#ifndef HVT_TLSCHECK_H
#define HVT_TLSCHECK_H

#include <stddef.h>

/* Parse ca (one or more PEM certificates), cert and key; check that the
 * key belongs to the certificate, that the certificate is valid now and
 * that it chains to ca.  Returns 0, or -1 with the problem in words in err.
 * A certificate expiring within 30 days fills warn (else warn[0] = 0). */
int hvt_tls_check_files(const char *ca, const char *cert, const char *key,
			char *err, size_t errsize, char *warn, size_t warnsize);

/* The names (CN and dNSName SANs) of the first certificate in a PEM file,
 * comma-separated; for log lines. */
int hvt_tls_cert_names(const char *cert, char *out, size_t size);

#endif
