/* table.c - see table.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "table.h"

/* Display width of UTF-8 text: one column per code point (no wide-character tables). */
static int text_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Bytes of s that fill its first `width` columns. */
static size_t head_bytes(const char *s, int width)
{
	size_t i = 0;

	for (int w = 0; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && w++ == width)
			break;
	return i;
}

void table_init(struct table *t, const struct table_col *cols, int ncols, FILE *f, int screen)
{
	memset(t, 0, sizeof *t);
	t->cols = cols;
	t->ncols = ncols < 16 ? ncols : 16;
	t->f = f;
	t->screen = screen;
	for (int i = 0; i < t->ncols; i++)
		t->width[i] = text_width(cols[i].header);
}

size_t table_rows(const struct table *t)
{
	return t->printed + t->n;
}

/* A cell too wide for its cap keeps its head and tail: the end of a type
 * or a name is what tells rows apart. */
static char *capped(const char *clean, int cap)
{
	int w = text_width(clean);

	if (cap <= 0 || w <= cap)
		return hvt_strdup(clean);
	int head = (cap - 1) / 2, tail = cap - 1 - head;
	size_t hb = head_bytes(clean, head);
	const char *tp = clean + head_bytes(clean, w - tail);
	return hvt_asprintf("%.*s\u2026%s", (int)hb, clean, tp);
}

void table_add(struct table *t, const char *const *cells, const char *color)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->cells = hvt_realloc(t->cells, t->cap * (size_t)t->ncols * sizeof(char *));
		t->color = hvt_realloc(t->color, t->cap * sizeof(char *));
	}
	char **row = &t->cells[t->n * (size_t)t->ncols];
	for (int i = 0; i < t->ncols; i++) {
		struct hvt_buf b = { 0 };
		out_sanitize(&b, cells[i] && *cells[i] ? cells[i] : i == t->ncols - 1 ? "" : "-");
		bool last = i == t->ncols - 1;
		row[i] = capped(hvt_buf_cstr(&b), last ? 0 : t->cols[i].cap);
		hvt_buf_free(&b);
	}
	t->color[t->n] = color ? hvt_strdup(color) : NULL;
	t->n++;
	if (t->streaming || t->n >= TABLE_HOLD)
		table_flush(t, t->streaming);
}

static void pad(struct hvt_buf *line, int n)
{
	for (; n > 0; n--)
		hvt_buf_append(line, " ", 1);
}

static void put_row(struct table *t, struct hvt_buf *line, char *const *row, const char *color)
{
	int used = 0;

	if (color)
		hvt_buf_append_str(line, color);
	for (int i = 0; i < t->ncols; i++) {
		int w = text_width(row[i]);
		if (i == t->ncols - 1) {
			/* names and types are never cut; when they fill the screen the
			 * text keeps a readable minimum and the line runs over */
			int room = t->screen ? HVT_MAX(t->screen - used, 20) : 0;
			if (room && w > room) {
				hvt_buf_append(line, row[i], head_bytes(row[i], room - 1));
				hvt_buf_append_str(line, "\u2026");
			} else {
				hvt_buf_append_str(line, row[i]);
			}
			break;
		}
		if (t->cols[i].right)
			pad(line, t->width[i] - w);
		hvt_buf_append_str(line, row[i]);
		if (!t->cols[i].right)
			pad(line, t->width[i] - w);
		hvt_buf_append(line, "  ", 2);
		used += t->width[i] + 2;
	}
	while (line->len && line->data[line->len - 1] == ' ')
		line->len--;
	if (color)
		hvt_buf_append_str(line, "\033[0m");
	hvt_buf_append(line, "\n", 1);
}

static void write_line(struct table *t, struct hvt_buf *line)
{
	if (!t->err && line->len && fwrite(line->data, 1, line->len, t->f) != line->len)
		t->err = errno ? errno : EIO;
	hvt_buf_reset(line);
}

int table_flush(struct table *t, bool stream)
{
	struct hvt_buf line = { 0 };

	for (size_t r = 0; r < t->n; r++)
		for (int i = 0; i < t->ncols - 1; i++) {
			int w = text_width(t->cells[r * (size_t)t->ncols + (size_t)i]);
			if (w > t->width[i])
				t->width[i] = w;
		}
	if (!t->header_done && (t->n || stream)) {
		char *hdr[16];
		for (int i = 0; i < t->ncols; i++)
			hdr[i] = (char *)t->cols[i].header;
		put_row(t, &line, hdr, NULL);
		write_line(t, &line);
		t->header_done = true;
	}
	for (size_t r = 0; r < t->n; r++) {
		put_row(t, &line, &t->cells[r * (size_t)t->ncols], t->color[r]);
		if (line.len >= 65536)
			write_line(t, &line);
		for (int i = 0; i < t->ncols; i++)
			free(t->cells[r * (size_t)t->ncols + (size_t)i]);
		free(t->color[r]);
	}
	write_line(t, &line);
	hvt_buf_free(&line);
	t->printed += t->n;
	t->n = 0;
	t->streaming = t->streaming || stream;
	if (!t->err && fflush(t->f) != 0)
		t->err = errno ? errno : EIO;
	return t->err ? -1 : 0;
}

void table_free(struct table *t)
{
	for (size_t r = 0; r < t->n; r++) {
		for (int i = 0; i < t->ncols; i++)
			free(t->cells[r * (size_t)t->ncols + (size_t)i]);
		free(t->color[r]);
	}
	free(t->cells);
	free(t->color);
	memset(t, 0, sizeof *t);
}
