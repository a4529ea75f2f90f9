/* util.c - see util.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

long long hvt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long hvt_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void oom(size_t n)
{
	hvt_log(LOG_CRIT, "out of memory allocating %zu bytes", n);
	abort();
}

void *hvt_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *hvt_calloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (!p)
		oom(n * m);
	return p;
}

void *hvt_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *hvt_strdup(const char *s)
{
	return hvt_strndup(s, strlen(s));
}

char *hvt_strndup(const char *s, size_t n)
{
	char *p;

	n = strnlen(s, n);          /* like strndup(3): stop at a NUL */
	p = hvt_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *hvt_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(0);
	va_end(ap);
	return s;
}

size_t hvt_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

bool hvt_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool hvt_str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

char *hvt_str_trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

bool hvt_glob_match(const char *pattern, const char *s)
{
	return fnmatch(pattern, s, 0) == 0;
}

void hvt_buf_reserve(struct hvt_buf *b, size_t extra)
{
	/* len + extra + 1 must not wrap: a wrapped sum "fits" and the append
	 * that follows writes past the buffer.  No caller can want that much,
	 * so it is a bug or hostile arithmetic: stop like an allocation that
	 * failed. */
	if (extra > SIZE_MAX - b->len - 1) {
		hvt_log(LOG_CRIT, "buffer of %zu bytes cannot grow by %zu more", b->len, extra);
		abort();
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = hvt_realloc(b->data, cap);
	b->cap = cap;
}

void hvt_buf_append(struct hvt_buf *b, const void *p, size_t n)
{
	hvt_buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void hvt_buf_append_str(struct hvt_buf *b, const char *s)
{
	hvt_buf_append(b, s, strlen(s));
}

void hvt_buf_printf(struct hvt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* one formatting pass when the text fits in the room there is (the
	 * usual case); measuring first cost a second pass on every event */
	hvt_buf_reserve(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		hvt_buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void hvt_buf_append_u64(struct hvt_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	hvt_buf_append(b, tmp + i, sizeof tmp - i);
}

void hvt_buf_reset(struct hvt_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void hvt_buf_free(struct hvt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *hvt_buf_cstr(struct hvt_buf *b)
{
	if (!b->data)
		hvt_buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return b->data;
}

int hvt_mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t n = hvt_strlcpy(tmp, path, sizeof tmp);

	if (n >= sizeof tmp)
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

ssize_t hvt_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, c + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

int hvt_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int hvt_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4200], dir[4096];
	int fd, rc = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	ssize_t w = hvt_write_all(fd, data, len);
	if (w < 0)
		rc = (int)w;
	else if (fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	hvt_strlcpy(dir, path, sizeof dir);
	return hvt_fsync_dir(dirname(dir));
}

int hvt_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct hvt_buf b = { 0 };
	char chunk[8192];

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			close(fd);
			hvt_buf_free(&b);
			return e;
		}
		if (r == 0)
			break;
		if (b.len + (size_t)r > max) {
			close(fd);
			hvt_buf_free(&b);
			return -EFBIG;
		}
		hvt_buf_append(&b, chunk, (size_t)r);
	}
	close(fd);
	hvt_buf_cstr(&b);
	*out = b.data;
	if (len)
		*len = b.len;
	return 0;
}

void hvt_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hvt_unhex(const char *in, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(in[2 * i]), lo = hi < 0 ? -1 : hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return in[2 * n] == '\0' ? 0 : -1;
}

void hvt_random(void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			hvt_log(LOG_CRIT, "getrandom failed: %s", strerror(errno));
			abort();
		}
		p += r;
		n -= (size_t)r;
	}
}
