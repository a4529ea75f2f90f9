/* refusal.c - see refusal.h. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <librelp.h>

#include "log.h"
#include "refusal.h"
#include "tlsleak.h"
#include "util.h"

/* A peer that keeps retrying is named again after this long. */
#define REFUSAL_LOG_INTERVAL_MS 60000

const char *const refusal_keys[RF_COUNT] = {
	"no_certificate", "untrusted_certificate", "name_not_permitted", "fingerprint_not_permitted",
	"not_tls", "handshake_failed", "frame_too_large"
};

void refusals_init(struct refusals *rf)
{
	memset(rf, 0, sizeof *rf);
	pthread_mutex_init(&rf->lock, NULL);
	hvt_ratekey_init(&rf->rk, REFUSAL_LOG_INTERVAL_MS);
}

void refusals_destroy(struct refusals *rf)
{
	pthread_mutex_destroy(&rf->lock);
	hvt_ratekey_destroy(&rf->rk);
}

/* Count, remember for stats, and log once per (address, reason). */
static void record(struct refusals *rf, int kind, int level, const char *listener, const char *addr,
		   const char *words)
{
	char line[sizeof rf->last], key[sizeof rf->last + 100];

	snprintf(line, sizeof line, "[%s] refused %s: %s", listener, addr, words);
	pthread_mutex_lock(&rf->lock);
	rf->n[kind]++;
	hvt_strlcpy(rf->last, line, sizeof rf->last);
	pthread_mutex_unlock(&rf->lock);
	/* the key is the listener, the peer and the whole reason: another
	 * certificate or problem from the same address is news, a retry is not */
	snprintf(key, sizeof key, "%s %s", refusal_keys[kind], line);
	hvt_log_ratekey(&rf->rk, key, level, "%s", line);
}

static void note_refused(struct refusals *rf, const char *addr)
{
	hvt_strlcpy(rf->refused_addr, addr ? addr : "", sizeof rf->refused_addr);
	rf->refused_us = hvt_mono_us();
}

/* Is this failed handshake the one we refused a moment ago? */
static bool just_refused(struct refusals *rf, const char *addr)
{
	bool same = rf->refused_us && hvt_mono_us() - rf->refused_us < 2000000 &&
		    (!rf->refused_addr[0] || strcmp(rf->refused_addr, addr) == 0);

	rf->refused_us = 0;
	return same;
}

static int auth_kind(int code)
{
	switch (code) {
	case RELP_RET_AUTH_NO_CERT: return HVT_TLS_REF_NO_CERT;
	case RELP_RET_AUTH_ERR_NAME: return HVT_TLS_REF_NAME;
	case RELP_RET_AUTH_ERR_FP: return HVT_TLS_REF_FINGERPRINT;
	default: return HVT_TLS_REF_UNTRUSTED;
	}
}

void refusal_auth(struct refusals *rf, const char *listener, const char *permitted, const char *authinfo,
		  const char *msg, int code)
{
	const struct hvt_tls_peer *p = hvt_tls_current_peer();
	char words[sizeof rf->last];
	int kind = auth_kind(code);

	hvt_tls_refusal_words((enum hvt_tls_refusal)kind, p, NULL, authinfo, msg, permitted, words, sizeof words);
	record(rf, kind, LOG_WARNING, listener, p ? p->addr : "a forwarder", words);
	note_refused(rf, p ? p->addr : NULL);
}

void refusal_policy(struct refusals *rf, const char *listener, const struct hvt_tls_peer *p, const char *why)
{
	char words[sizeof rf->last];

	hvt_tls_refusal_words(HVT_TLS_REF_UNTRUSTED, p, why, NULL, NULL, NULL, words, sizeof words);
	record(rf, HVT_TLS_REF_UNTRUSTED, LOG_WARNING, listener, p->addr, words);
	note_refused(rf, p->addr);
}

/* librelp's objinfo: "lstn 2514: conn to clt 192.0.2.7/192.0.2.7". */
static void objinfo_addr(const char *objinfo, char *out, size_t size)
{
	const char *p = objinfo ? strstr(objinfo, "conn to clt ") : NULL;

	hvt_strlcpy(out, "a peer", size);
	if (!p)
		return;
	p += 12;
	size_t n = strcspn(p, "/ ");
	if (n && n < size) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

bool refusal_session_error(struct refusals *rf, const char *listener, const char *objinfo, const char *msg,
			   int code)
{
	bool routine;
	char addr[64], words[400];

	if (!msg || !strstr(msg, "gnutls error "))
		return false;
	/* with GnuTLS, librelp reports only a handshake that fails right at the
	 * accept with ERR_TLS_HANDS - and leaks that session (lib/tlsleak.h) */
	if (code == RELP_RET_ERR_TLS_HANDS)
		hvt_tls_reclaim_failed_accept();
	objinfo_addr(objinfo, addr, sizeof addr);
	if (code != RELP_RET_ERR_TLS_HANDS && code != RELP_RET_ERR_TLS_SETUP) {
		/* a TLS error in an established session: only the ones that
		 * belong to a refused or abandoned handshake are handled here */
		if (!hvt_tls_handshake_words(msg, &routine) || !routine)
			return false;
		hvt_debug("[%s] %s: %s", listener, addr, msg);
		return true;
	}
	if (just_refused(rf, addr))
		return true;          /* the handshake our refusal aborted: logged once already */
	const char *why = hvt_tls_handshake_words(msg, &routine);
	snprintf(words, sizeof words, "TLS handshake failed: %s (%s)", why ? why : "see the detail", msg);
	if (routine) {
		/* a port probe or a client that gave up: no refusal, no warning */
		hvt_debug("[%s] %s: %s", listener, addr, words);
		return true;
	}
	record(rf, why && strstr(why, "does not speak TLS") ? RF_NOT_TLS : RF_HANDSHAKE, LOG_WARNING, listener,
	       addr, words);
	return true;
}

void refusal_frame_too_large(struct refusals *rf, const char *msg)
{
	char words[400];

	snprintf(words, sizeof words, "%s; its events stay unacknowledged in its spool: keep the forwarder's "
		 "[out_relp] max_frame_size at or below this listener's max_frame_size", msg);
	record(rf, RF_FRAME_TOO_LARGE, LOG_ERR, "listen", "a forwarder", words);
}

void refusals_snapshot(struct refusals *rf, uint64_t n[RF_COUNT], char *last, size_t size)
{
	pthread_mutex_lock(&rf->lock);
	memcpy(n, rf->n, sizeof rf->n);
	hvt_strlcpy(last, rf->last, size);
	pthread_mutex_unlock(&rf->lock);
}
