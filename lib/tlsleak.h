/* tlsleak.h - give back what librelp 1.11 leaks when a TLS handshake fails.
 *
 * librelp frees a connection's GnuTLS session (and a client's certificate
 * credentials) in relpTcpDestructTLS only once bTLSActive is set, which
 * happens after the first handshake call succeeded or asked to be retried.
 * A handshake that fails at once therefore leaks them: on the collector
 * every plaintext or otherwise hopeless client that sends its first bytes
 * before the accept (~20 KB each, measured under LeakSanitizer - a stranger
 * looping on it would exhaust the collector's memory), on the forwarder
 * every connect whose handshake fails (a collector it does not trust: the
 * session plus the loaded CA, certificate and key, every reconnect).
 *
 * libhvtrail interposes gnutls_init() and gnutls_deinit() (as tlspeer.h
 * explains for the verify function) to know which sessions are alive:
 *   - server: the error callback for an accept-time handshake failure
 *     (librelp's only RELP_RET_ERR_TLS_HANDS for GnuTLS) calls
 *     hvt_tls_reclaim_failed_accept(): the session most recently initialised
 *     on that thread is the leaked one; it is freed at the next gnutls_init()
 *     on the thread, when librelp has certainly let go of it;
 *   - client: sessions and credentials created between hvt_tls_track_begin()
 *     and _end() (around relpCltConnect) that are still alive after the
 *     failed client was destructed are freed by hvt_tls_reclaim_tracked().
 * Without the interposition these are no-ops and the leak stays. */
#ifndef HVT_TLSLEAK_H
#define HVT_TLSLEAK_H

#include <gnutls/gnutls.h>

void hvt_tls_reclaim_failed_accept(void);
/* Free a session hvt_tls_reclaim_failed_accept left for later, now: call
 * it on the thread that ran the engine once relpEngineRun has returned. */
void hvt_tls_reclaim_flush(void);
void hvt_tls_track_begin(void);
void hvt_tls_track_end(void);
void hvt_tls_reclaim_tracked(void);

/* Internal (lib/tlspeer.c): the real GnuTLS symbol behind our definition,
 * and the credentials librelp registers and frees. */
void *hvt_tls_real_sym(const char *name, void *self);
void hvt_tls_leak_note_cred(gnutls_certificate_credentials_t cred);
void hvt_tls_leak_forget_cred(gnutls_certificate_credentials_t cred);

#endif
