/* seal.h - a host's signature over its hash chain.
 *
 * A seal says: "the event with this host, stream and seq has this SHA-256,
 * and so - through the prev links - does everything before it in the
 * stream", signed with the private key of the forwarder's TLS certificate,
 * which travels with it.  The collector checks seals as they arrive and
 * keeps them; `hvtrail verify` re-checks them from the index alone.
 *
 * Signed text (exactly these bytes):
 *   "hvtrail-seal-v1\nhost=H\nstream=S\nseq=N\nhash=X\ntime=T\nfinal=0|1\n"
 * T is the RFC 3339 time of signing; final=1 at a clean shutdown (nothing
 * follows in this stream until the next start). */
#ifndef HVT_SEAL_H
#define HVT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

struct hvt_seal {
	char host[256];
	char stream[64];
	uint64_t seq;                 /* 0: the stream has no event yet */
	char hash[HVT_SHA256_HEX];    /* of the event at seq ("" when seq = 0) */
	long long time_us;
	bool final;
	char *cert_pem;               /* the signer's certificate (owned) */
	char *sig_b64;                /* base64 signature (owned) */
};

void hvt_seal_clear(struct hvt_seal *s);

/* ---- signing (forwarder) ----------------------------------------------- */
struct hvt_signer;
struct hvt_signer *hvt_signer_open(const char *cert_file, const char *key_file, char *err, size_t errsize);
void hvt_signer_free(struct hvt_signer *sg);
/* Fill cert_pem and sig_b64 of s (host, stream, seq, hash, time, final set). */
int hvt_seal_sign(struct hvt_signer *sg, struct hvt_seal *s, char *err, size_t errsize);

/* ---- wire form ----------------------------------------------------------- */
/* JSON object text (malloc'ed). */
char *hvt_seal_to_json(const struct hvt_seal *s);
int hvt_seal_from_json(const char *json, size_t len, struct hvt_seal *s, char *err, size_t errsize);

/* ---- verifying (collector, hvtrail verify) ------------------------------- */
/* Check the signature with the enclosed certificate, that the certificate
 * was valid at the seal's time, chains to ca_file (NULL: not checked), and
 * that one of its names may speak for s->host: equal to it, or mapped to it
 * by host_map ("certname:host" items, NULL-terminated).  On success fills
 * names (the certificate's CN/DNS names) and fpr (SHA-256 fingerprint, hex).
 * Returns 0, or -1 with the reason in words. */
int hvt_seal_verify(const struct hvt_seal *s, const char *ca_file, char *const *host_map,
		    char *names, size_t names_size, char *fpr, size_t fpr_size, char *err, size_t errsize);

#endif
