/* hash.h - SHA-256 (GnuTLS) for the per-host hash chain. */
#ifndef HVT_HASH_H
#define HVT_HASH_H

#include <stddef.h>

#define HVT_SHA256_HEX 65     /* 64 hex digits + NUL */

/* The 32 bytes of the digest. */
void hvt_sha256(const void *data, size_t len, unsigned char out[32]);
/* out receives 64 lowercase hex digits and a NUL. */
void hvt_sha256_hex(const void *data, size_t len, char out[HVT_SHA256_HEX]);
/* The SHA-256 of a file's content, read in pieces; 0 or -errno. */
int hvt_sha256_file(const char *path, char out[HVT_SHA256_HEX]);

#endif
