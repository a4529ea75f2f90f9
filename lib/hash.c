/* hash.c - see hash.h. */
#include "config.h"

#include <stdlib.h>
#include <gnutls/crypto.h>

#include "hash.h"
#include "log.h"
#include "util.h"

void hvt_sha256(const void *data, size_t len, unsigned char out[32])
{
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) < 0) {
		hvt_log(LOG_CRIT, "SHA-256 is unavailable in GnuTLS");
		abort();
	}
}

void hvt_sha256_hex(const void *data, size_t len, char out[HVT_SHA256_HEX])
{
	unsigned char digest[32];

	hvt_sha256(data, len, digest);
	hvt_hex(digest, sizeof digest, out);
}
