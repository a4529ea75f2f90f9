/* tlscheck.h - check TLS files when the daemon starts, not at first connect. */
#ifndef HVT_TLSCHECK_H
#define HVT_TLSCHECK_H

#include <stddef.h>

/* The default GnuTLS priority string of both ends: GnuTLS's SECURE128
 * set, TLS 1.3 and 1.2 only, within TLS 1.2 only forward-secret ECDHE key
 * exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305), and peer
 * certificates verified at GnuTLS's "medium" profile (keys of 112-bit
 * strength or more: RSA 2048, ECDSA P-256).  librelp 1.11 with GnuTLS 3.7
 * accepts it on both ends; tests/tls-matrix.test runs every case with it
 * (ECDSA keys; PKI_KEY_TYPE=rsa for RSA 2048). */
#define HVT_TLS_PRIORITY_DEFAULT "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:" \
	"+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:-MAC-ALL:+AEAD:%PROFILE_MEDIUM"

/* Parse ca (one or more PEM certificates), cert and key; check that the
 * key belongs to the certificate, that the certificate is valid now and
 * that it chains to ca.  Returns 0, or -1 with the problem in words in err.
 * A certificate expiring within 30 days fills warn (else warn[0] = 0). */
int hvt_tls_check_files(const char *ca, const char *cert, const char *key,
			char *err, size_t errsize, char *warn, size_t warnsize);

/* Check a GnuTLS priority string as librelp will use it (at each session,
 * too late for a clear error): -1 with the reason and the position in err
 * when GnuTLS refuses it; warn is filled when it enables a protocol older
 * than TLS 1.2. */
int hvt_tls_check_priority(const char *priority, char *err, size_t errsize, char *warn, size_t warnsize);

/* The names (CN and dNSName SANs) of the first certificate in a PEM file,
 * comma-separated; for log lines. */
int hvt_tls_cert_names(const char *cert, char *out, size_t size);

#endif
