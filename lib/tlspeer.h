/* tlspeer.h - what the TLS peer showed during the handshake, in words,
 * and the certificate checks librelp 1.11 leaves out.
 *
 * librelp verifies certificates inside its own GnuTLS verify callback and
 * reports a refusal only through its auth-error callback, with no more
 * than "certificate validation failed" and without the peer's address or
 * certificate.  Worse, with auth_mode certvalid its callback checks
 * nothing at all (tcp.c only handles the name and fingerprint modes), so a
 * self-signed certificate from anyone is accepted.
 *
 * libhvtrail therefore exports gnutls_certificate_set_verify_function()
 * itself.  The dynamic linker resolves librelp's call to it (librelp linked
 * by the collector, or dlopen()ed with out_relp.so into the forwarder) to
 * the first definition in the global scope, which is libhvtrail's because
 * the daemons link libhvtrail.  Our version registers hvt_tls's own
 * callback with the real GnuTLS function (found with dlsym(RTLD_NEXT)) and
 * remembers librelp's.  On every handshake our callback:
 *   1. records the peer's address, certificate names, fingerprints,
 *      validity and GnuTLS's verification status in a thread-local record;
 *   2. applies the policy hvtrail bound to those credentials (see
 *      hvt_tls_policy_begin): certvalid and fingerprint certificates must
 *      be within their validity period, certvalid ones must chain to
 *      tls_ca; a refusal here is reported through the policy's callback;
 *   3. calls librelp's callback, which may refuse and call the
 *      auth-error callback on this same thread: that callback reads the
 *      record with hvt_tls_current_peer() to say who and why in words.
 *
 * Fallback: when the interposition does not take (a binary that loads
 * GnuTLS before libhvtrail, a static build), hvt_tls_hook_active() stays
 * false; callers then log librelp's terse reasons and refuse to run
 * auth_mode certvalid, which would be unverified.  Nothing else changes. */
#ifndef HVT_TLSPEER_H
#define HVT_TLSPEER_H

#include <stdbool.h>
#include <stddef.h>

enum hvt_tls_mode { HVT_TLS_MODE_NAME, HVT_TLS_MODE_FINGERPRINT, HVT_TLS_MODE_CERTVALID };

/* The peer of the handshake being verified. */
struct hvt_tls_peer {
	char addr[64];                /* "192.0.2.7" ("?" if unknown) */
	bool has_cert;
	char names[512];              /* "CN=hv1.test, DNS=hv1.test" */
	char issuer[256];             /* issuer DN */
	char sha1[64];                /* as permitted_peers takes it: SHA1:AB:... */
	char sha256[112];             /* SHA256:AB:... */
	bool self_signed;
	long long not_before, not_after;   /* seconds since the epoch, -1 unknown */
	unsigned status;              /* GnuTLS verification status (0 = trusted) */
	char problem[256];            /* status in words, "" when trusted */
};

typedef void (*hvt_tls_refuse_fn)(void *arg, const struct hvt_tls_peer *p, const char *why);

struct hvt_tls_policy {
	enum hvt_tls_mode mode;
	hvt_tls_refuse_fn refuse;     /* our own refusals (librelp's go to its auth-error callback) */
	void *arg;
};

/* Bind policy to every GnuTLS certificate credential librelp creates on
 * this thread until hvt_tls_policy_end(): wrap relpEngineListnerConstruct-
 * Finalize (server) or relpCltConnect (client) in these two calls. */
void hvt_tls_policy_begin(const struct hvt_tls_policy *policy);
void hvt_tls_policy_end(void);

/* Has our verify callback been registered at least once (the hook works)? */
bool hvt_tls_hook_active(void);

/* Inside a verify callback (librelp's auth-error callback runs there): the
 * peer being verified; NULL elsewhere. */
const struct hvt_tls_peer *hvt_tls_current_peer(void);

/* "certificate CN=hv1.test, DNS=hv1.test (SHA256:AB:..., issuer CN=x)". */
void hvt_tls_peer_describe(const struct hvt_tls_peer *p, char *out, size_t size);

/* Why a peer was refused, for counters and rate-limit keys. */
enum hvt_tls_refusal {
	HVT_TLS_REF_NO_CERT,          /* presented no certificate */
	HVT_TLS_REF_UNTRUSTED,        /* chain, validity period, signature */
	HVT_TLS_REF_NAME,             /* names no permitted peer */
	HVT_TLS_REF_FINGERPRINT,      /* fingerprint not permitted */
	HVT_TLS_REF_COUNT
};
extern const char *const hvt_tls_refusal_keys[HVT_TLS_REF_COUNT];

/* The reason in words: "its certificate has expired (not after ...);
 * certificate CN=hv1.test, ... (SHA256:..., issuer ...)".  p: the peer
 * record (NULL when the hook is not active: librelp's authinfo and msg are
 * all there is); why: our own policy's reason, or NULL; permitted: the
 * permitted_peers list for the name case, comma-separated. */
void hvt_tls_refusal_words(enum hvt_tls_refusal kind, const struct hvt_tls_peer *p, const char *why,
			   const char *authinfo, const char *librelp_msg, const char *permitted,
			   char *out, size_t size);

/* "name" (or NULL) / "fingerprint" / "certvalid" to the mode; -1 if unknown. */
int hvt_tls_mode_parse(const char *s);

/* Words for a GnuTLS error a failed handshake reported (librelp's error
 * text carries "[gnutls error -N: ...]"); NULL when there is nothing to
 * add.  *routine: the peer just went away (a port probe), not worth a
 * warning. */
const char *hvt_tls_handshake_words(const char *librelp_msg, bool *routine);

#endif
