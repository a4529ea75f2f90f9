/* util.h - small helpers shared by everything: clocks, strings, files. */
#ifndef HVT_UTIL_H
#define HVT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HVT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HVT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HVT_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Clocks, in microseconds. */
long long hvt_now_us(void);        /* CLOCK_REALTIME */
long long hvt_mono_us(void);       /* CLOCK_MONOTONIC */

/* Allocation that never returns NULL: on exhaustion we log and abort,
 * because a half-built event is worse than a restart from the spool. */
void *hvt_malloc(size_t n);
void *hvt_calloc(size_t n, size_t m);
void *hvt_realloc(void *p, size_t n);
char *hvt_strdup(const char *s);
char *hvt_strndup(const char *s, size_t n);     /* at most n bytes, stops at NUL */
char *hvt_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy at most size-1 bytes and always terminate; returns strlen(src). */
size_t hvt_strlcpy(char *dst, const char *src, size_t size);
bool hvt_str_has_prefix(const char *s, const char *prefix);
bool hvt_str_has_suffix(const char *s, const char *suffix);
char *hvt_str_trim(char *s);                 /* in place; returns s moved */
bool hvt_glob_match(const char *pattern, const char *s);   /* fnmatch, no flags */

/* A growable byte buffer. */
struct hvt_buf {
	char *data;
	size_t len;
	size_t cap;
};
void hvt_buf_reserve(struct hvt_buf *b, size_t extra);
void hvt_buf_append(struct hvt_buf *b, const void *p, size_t n);
void hvt_buf_append_str(struct hvt_buf *b, const char *s);
void hvt_buf_printf(struct hvt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hvt_buf_append_u64(struct hvt_buf *b, uint64_t v);        /* decimal, no printf */
void hvt_buf_reset(struct hvt_buf *b);
void hvt_buf_free(struct hvt_buf *b);
const char *hvt_buf_cstr(struct hvt_buf *b);   /* NUL-terminates without growing len */

/* Files.  All return 0 on success, -errno on failure. */
int hvt_mkdir_p(const char *path, mode_t mode);
/* Write a whole file atomically (tmp + fsync + rename + fsync dir). */
int hvt_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole small file (<= max bytes), NUL-terminated. */
int hvt_read_file(const char *path, size_t max, char **out, size_t *len);
int hvt_fsync_dir(const char *dir);
ssize_t hvt_write_all(int fd, const void *p, size_t n);

/* Hex encoding of binary data (2n+1 bytes of output). */
void hvt_hex(const unsigned char *in, size_t n, char *out);
int hvt_unhex(const char *in, unsigned char *out, size_t n);

/* Random bytes from getrandom(2). */
void hvt_random(void *buf, size_t n);

#endif
