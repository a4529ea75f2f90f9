/* output.h - printing query rows: a table for people, the stored JSON or
 * CSV for programs. */
#ifndef HVT_CLI_OUTPUT_H
#define HVT_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "hvtrail-plugin.h"

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

struct table;

struct out {
	enum out_format fmt;
	FILE *f;
	bool tty;                     /* for a terminal (directly or through the pager) */
	bool paged;                   /* through the pager (cli/pager.h) */
	bool color;                   /* ... and colour by severity */
	int columns;                  /* terminal width */
	bool flush_each;              /* follow mode: every row reaches the reader at once */
	bool header_done;
	size_t rows;                  /* rows printed (or held for the table) */
	struct table *table;          /* OUT_TABLE: the rows being laid out */
	int err;                      /* errno of the first failed write, 0 if none */
};

/* "table", "json" or "csv"; false for anything else. */
bool out_format_parse(const char *s, enum out_format *fmt);
/* Set up for stream f (stdout), looking at whether it is a terminal. */
void out_init(struct out *o, enum out_format fmt, FILE *f);
/* Print one row; 0, or -1 once writing failed (o->err says why). */
int out_row(struct out *o, const struct hvt_row *row);
/* Flush (a table is laid out and printed here); 0 or -1 as out_row. */
int out_flush(struct out *o);
/* After the last row: flush, print "-- No entries --" in table format when
 * there was none, and free.  0 or -1 as out_row. */
int out_finish(struct out *o);
/* For a table: the width to cut the last column to (0: never), i.e. the
 * terminal's when printing straight to it. */
int out_screen(const struct out *o);
/* journalctl's words for an empty result, on a line of their own. */
#define OUT_NO_ENTRIES "-- No entries --"

/* Write s with control characters (C0, DEL, C1) escaped as \n, \t, \xHH:
 * event text comes from VMs and hosts and must not drive the terminal. */
void out_sanitize(struct hvt_buf *b, const char *s);
/* JSON text for a terminal: DEL and C1 controls (which JSON carries raw)
 * written as \u00XX escapes, which mean the same to a JSON reader. */
void out_json_tty(struct hvt_buf *b, const char *json, size_t len);
/* Would a spreadsheet run this CSV field as a formula (= + - @ TAB CR
 * first, and not a plain number)?  out_csv_field then prefixes a quote. */
bool out_csv_formula(const char *s);
/* One RFC 4180 field and its separator (a newline when last): quoted when
 * it holds a comma, quote, CR or LF; sanitised on a terminal; a formula
 * gets a leading quote.  NULL is "". */
void out_csv_field(const struct out *o, struct hvt_buf *line, const char *s, bool last);

#endif
