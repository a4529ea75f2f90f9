/* hash.c - see hash.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
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

int hvt_sha256_file(const char *path, char out[HVT_SHA256_HEX])
{
	unsigned char digest[32], buf[1 << 16];
	gnutls_hash_hd_t h;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		gnutls_hash(h, buf, (size_t)n);
	}
	gnutls_hash_deinit(h, digest);
	close(fd);
	if (err)
		return err;
	hvt_hex(digest, sizeof digest, out);
	return 0;
}
