/* refusal.h - refused TLS peers: logged once per peer and reason, in
 * words, and counted for `hvtrail stats`.
 *
 * librelp reports a refusal in up to three places on the engine thread:
 * its auth-error callback (librelp refused a certificate), our verify
 * hook's policy callback (lib/tlspeer.h: the checks librelp skips), and
 * then its error callback for the handshake that failed because of it.
 * The first two are the refusal; the third is noise after them, but on
 * its own (plaintext client, no common cipher) it is the refusal.  The
 * oversized-frame abort reaches only the generic error callback. */
#ifndef HVT_COL_REFUSAL_H
#define HVT_COL_REFUSAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ratekey.h"
#include "tlspeer.h"

enum refusal_kind {
	/* 0 .. HVT_TLS_REF_COUNT-1 are enum hvt_tls_refusal */
	RF_NOT_TLS = HVT_TLS_REF_COUNT,   /* plaintext against a TLS listener */
	RF_HANDSHAKE,                     /* any other failed TLS handshake */
	RF_FRAME_TOO_LARGE,               /* a frame over max_frame_size: session aborted */
	RF_COUNT
};
extern const char *const refusal_keys[RF_COUNT];

struct refusals {
	pthread_mutex_t lock;         /* n and last: the stats reporter reads them */
	uint64_t n[RF_COUNT];
	char last[700];
	struct hvt_ratekey rk;
	/* engine thread: the handshake we just refused, whose failure
	 * librelp reports next and which is already logged */
	char refused_addr[64];
	long long refused_us;
};

void refusals_init(struct refusals *rf);
void refusals_destroy(struct refusals *rf);

/* librelp's auth-error callback (code: RELP_RET_AUTH_*). */
void refusal_auth(struct refusals *rf, const char *listener, const char *permitted, const char *authinfo,
		  const char *msg, int code);
/* Our verify hook refused p (lib/tlspeer.h policy). */
void refusal_policy(struct refusals *rf, const char *listener, const struct hvt_tls_peer *p, const char *why);
/* librelp's error callback; true when it was a TLS handshake failure
 * (logged here, or already logged as a refusal). */
bool refusal_session_error(struct refusals *rf, const char *listener, const char *objinfo, const char *msg,
			   int code);
/* librelp's generic error callback for an oversized frame. */
void refusal_frame_too_large(struct refusals *rf, const char *msg);

void refusals_snapshot(struct refusals *rf, uint64_t n[RF_COUNT], char *last, size_t size);

#endif
