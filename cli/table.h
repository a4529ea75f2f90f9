/* table.h - tables for people, with columns sized to their content.
 *
 * Rows are held until table_flush() so every column is as wide as its
 * widest cell: nothing is cut to a fixed width, and piped output keeps its
 * columns.  A cell wider than its column's cap (a hostile 4 KB VM name) is
 * cut in the middle, "migration.inc…completed", keeping both ends.  The
 * last column is free text: on a terminal with no pager it is cut at the
 * screen's edge; through the pager (less -S) or a pipe it is whole.
 * After TABLE_HOLD rows, or once streaming (follow mode), rows are printed
 * as they come; a wider cell then widens its column from that row on. */
#ifndef HVT_CLI_TABLE_H
#define HVT_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

#define TABLE_HOLD 50000

struct table_col {
	const char *header;
	bool right;                   /* numbers */
	int cap;                      /* widest it may grow (0: no cap); ignored for the last */
};

struct table {
	const struct table_col *cols;
	int ncols;
	int width[16];
	char **cells;                 /* held rows, ncols cells each */
	char **color;                 /* per held row: escape to start it with, or NULL */
	size_t n, cap;
	size_t printed;               /* rows written so far */
	bool header_done, streaming;
	int screen;                   /* cut the last column to fit this width (0: never) */
	FILE *f;
	int err;                      /* errno of the first failed write */
};

/* screen: the terminal width when the last column is to be cut, else 0. */
void table_init(struct table *t, const struct table_col *cols, int ncols, FILE *f, int screen);
/* One row of ncols cells (NULL or "" prints "-"); sanitised here.  color:
 * an escape sequence for the whole row, or NULL. */
void table_add(struct table *t, const char *const *cells, const char *color);
/* Print what is held (sizing the columns first); later rows print at once
 * when stream is true.  0, or -1 once writing failed (t->err). */
int table_flush(struct table *t, bool stream);
/* Rows added so far (printed or held). */
size_t table_rows(const struct table *t);
void table_free(struct table *t);

#endif
