/* rowbin.c - reading answers in FORMAT RowBinary as they arrive.
 *
 * RowBinary is the one output format that needs no unescaping: integers
 * are little-endian, a String is a LEB128 length and the bytes.  So the raw
 * JSON of an event comes back exactly as stored, and rows are handed to the
 * caller while the answer streams in (an export of every event never sits
 * in memory as a whole). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "log.h"

void ch_rows_init(struct ch_rows *r, const enum ch_col *cols, int ncols,
		  int (*row)(void *arg, const struct ch_val *v), void *arg)
{
	memset(r, 0, sizeof *r);
	r->cols = cols;
	r->ncols = ncols;
	r->row = row;
	r->arg = arg;
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Parse one row at p (n bytes available); its length, or 0 if incomplete. */
static size_t parse_row(const struct ch_rows *r, const unsigned char *p, size_t n, struct ch_val *v)
{
	size_t off = 0;

	for (int c = 0; c < r->ncols; c++) {
		memset(&v[c], 0, sizeof v[c]);
		switch (r->cols[c]) {
		case CH_U8:
			if (n - off < 1)
				return 0;
			v[c].u = p[off++];
			break;
		case CH_U64:
		case CH_I64:
			if (n - off < 8)
				return 0;
			v[c].u = le(p + off, 8);
			v[c].i = (int64_t)v[c].u;
			off += 8;
			break;
		case CH_STR: {
			uint64_t len = 0;
			int shift = 0;
			for (;;) {
				if (off >= n || shift > 63)
					return 0;
				unsigned char b = p[off++];
				len |= (uint64_t)(b & 0x7f) << shift;
				shift += 7;
				if (!(b & 0x80))
					break;
			}
			if (n - off < len)
				return 0;
			v[c].s = (const char *)p + off;
			v[c].len = (size_t)len;
			off += (size_t)len;
			break;
		}
		}
	}
	return off;
}

/* Strings are handed out NUL-terminated: the byte after each one is saved,
 * overwritten for the callback, and put back. */
static int deliver(struct ch_rows *r, struct ch_val *v)
{
	char saved[CH_MAX_COLS];
	int rc;

	for (int c = 0; c < r->ncols; c++)
		if (r->cols[c] == CH_STR) {
			saved[c] = v[c].s[v[c].len];
			((char *)v[c].s)[v[c].len] = '\0';
		}
	rc = r->row(r->arg, v);
	for (int c = 0; c < r->ncols; c++)
		if (r->cols[c] == CH_STR)
			((char *)v[c].s)[v[c].len] = saved[c];
	r->rows++;
	return rc;
}

bool ch_rows_sink(void *arg, const char *p, size_t n)
{
	struct ch_rows *r = arg;
	struct ch_val v[CH_MAX_COLS];
	size_t off = 0, len;

	/* +1: room for the NUL deliver() puts after the last string */
	hvt_buf_reserve(&r->pending, n + 1);
	hvt_buf_append(&r->pending, p, n);
	hvt_buf_cstr(&r->pending);
	while (!r->stopped && (len = parse_row(r, (unsigned char *)r->pending.data + off,
					       r->pending.len - off, v)) > 0) {
		off += len;
		if (deliver(r, v) != 0)
			r->stopped = true;
	}
	if (off) {
		memmove(r->pending.data, r->pending.data + off, r->pending.len - off);
		r->pending.len -= off;
	}
	return !r->stopped;
}

int ch_rows_finish(struct ch_rows *r)
{
	int rc = r->stopped || r->pending.len == 0 ? 0 : -1;

	hvt_buf_free(&r->pending);
	return rc;
}

int ch_select(struct ch *x, const char *sql, const enum ch_col *cols, int ncols,
	      int (*row)(void *arg, const struct ch_val *v), void *arg)
{
	struct ch_rows r;
	char *text = hvt_asprintf("%s FORMAT RowBinary", sql);
	struct ch_req req = { .sql = text, .url = -1, .sink = ch_rows_sink };
	int rc;

	ch_rows_init(&r, cols, ncols, row, arg);
	req.sink_arg = &r;
	rc = ch_http(x, &req);
	if (ch_rows_finish(&r) < 0 && rc == 0) {
		hvt_log(LOG_ERR, "idx_clickhouse [%s]: the answer ended inside a row", x->name);
		rc = -1;
	}
	free(text);
	return rc;
}
