/* output.c - see output.h. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "event.h"
#include "output.h"
#include "pager.h"
#include "table.h"
#include "timefmt.h"
#include "util.h"

/* Rows come from our own index, already validated by the collector under
 * its limits; do not refuse them here over smaller defaults. */
static const struct hvt_event_limits stored_limits = {
	.max_json = SIZE_MAX / 2, .max_depth = 1000, .max_field = SIZE_MAX / 2, .max_msg = SIZE_MAX / 2,
};

bool out_format_parse(const char *s, enum out_format *fmt)
{
	static const struct { const char *name; enum out_format f; } names[] = {
		{ "table", OUT_TABLE }, { "json", OUT_JSON }, { "csv", OUT_CSV },
	};
	for (size_t i = 0; i < HVT_ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*fmt = names[i].f;
			return true;
		}
	}
	return false;
}

static int terminal_columns(int fd)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return env && atoi(env) > 0 ? atoi(env) : 80;
}

void out_init(struct out *o, enum out_format fmt, FILE *f)
{
	const char *term = getenv("TERM");

	memset(o, 0, sizeof *o);
	o->fmt = fmt;
	o->f = f;
	/* through the pager, stdout is a pipe to it but the table is for the
	 * terminal underneath */
	o->paged = f == stdout && pager_active();
	o->tty = o->paged ? pager_tty(&o->columns) : isatty(fileno(f));
	if (o->tty && !o->paged)
		o->columns = terminal_columns(fileno(f));
	o->color = o->tty && !getenv("NO_COLOR") && !(term && strcmp(term, "dumb") == 0);
}

int out_screen(const struct out *o)
{
	return o->tty && !o->paged ? o->columns : 0;
}

void out_sanitize(struct hvt_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '\n')
			hvt_buf_append_str(b, "\\n");
		else if (*p == '\t')
			hvt_buf_append_str(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			hvt_buf_printf(b, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			hvt_buf_printf(b, "\\u%04x", *++p);   /* C1 controls, e.g. U+009B CSI */
		else
			hvt_buf_append(b, p, 1);
	}
}

void out_json_tty(struct hvt_buf *b, const char *json, size_t len)
{
	const unsigned char *p = (const unsigned char *)json, *end = p + len, *run = p;

	for (; p < end; p++) {
		bool c1 = *p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f;
		if (*p >= 0x20 && *p != 0x7f && !c1)
			continue;
		hvt_buf_append(b, run, (size_t)(p - run));
		/* a raw C0 control cannot be inside valid JSON; whatever it is,
		 * it does not reach the terminal */
		hvt_buf_printf(b, "\\u%04x", c1 ? p[1] : *p);
		p += c1;
		run = p + 1;
	}
	hvt_buf_append(b, run, (size_t)(p - run));
}

/* Severity colours as journalctl uses them. */
static const char *color_of(int severity)
{
	if (severity <= HVT_SEV_ERR)
		return "\033[1;31m";
	if (severity == HVT_SEV_WARNING)
		return "\033[1;33m";
	if (severity == HVT_SEV_NOTICE)
		return "\033[1m";
	return NULL;
}

static const struct table_col query_cols[] = {
	{ "TIME (UTC)", false, 0 },
	{ "HOST", false, 40 },
	{ "VM", false, 40 },
	{ "TYPE", false, 48 },
	{ "MESSAGE", false, 0 },
};

static void table_row(struct out *o, const struct hvt_event *ev)
{
	char ts[40];
	const char *color = o->color ? color_of(ev->severity) : NULL;

	hvt_format_rfc3339(ev->ts_us, ts, sizeof ts);
	ts[19] = 'Z';
	ts[20] = '\0';
	const char *cells[] = { ts, ev->host, ev->vm_name ? ev->vm_name : ev->vm_uuid, ev->type, ev->msg };
	if (!o->table) {
		o->table = hvt_calloc(1, sizeof *o->table);
		table_init(o->table, query_cols, (int)HVT_ARRAY_SIZE(query_cols), o->f, out_screen(o));
	}
	table_add(o->table, cells, color);
	if (o->table->err && !o->err)
		o->err = o->table->err;
}

/* A plain number, which a spreadsheet may read as one ("-12", "3.5"). */
static bool plain_number(const char *s)
{
	size_t i = s[0] == '-';
	bool digits = false, dot = false;

	for (; s[i]; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits = true;
		else if (s[i] == '.' && !dot)
			dot = true;
		else
			return false;
	}
	return digits;
}

/* A field a spreadsheet would run as a formula ("=HYPERLINK(...)", "+cmd",
 * "@SUM", "-2+3", or one starting with a TAB or CR): prefixed with a
 * quote, as OWASP's CSV-injection advice says.  Event text is written by
 * hosts and VMs, and CSV is opened in spreadsheets. */
bool out_csv_formula(const char *s)
{
	return strchr("=+-@\t\r", s[0]) && s[0] && !plain_number(s);
}

/* RFC 4180 field: quoted (quotes doubled) when it holds a comma, quote, CR
 * or LF.  Programs get the text as stored (but for the formula quote); a
 * terminal gets it sanitised. */
void out_csv_field(const struct out *o, struct hvt_buf *line, const char *s, bool last)
{
	struct hvt_buf clean = { 0 };

	s = s ? s : "";
	if (o->tty || out_csv_formula(s)) {
		if (out_csv_formula(s))
			hvt_buf_append(&clean, "'", 1);
		if (o->tty)
			out_sanitize(&clean, s);
		else
			hvt_buf_append_str(&clean, s);
		hvt_buf_append(&clean, "", 1);
		s = clean.data;
	}
	if (strpbrk(s, ",\"\r\n")) {
		hvt_buf_append(line, "\"", 1);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				hvt_buf_append(line, "\"", 1);
			hvt_buf_append(line, p, 1);
		}
		hvt_buf_append(line, "\"", 1);
	} else {
		hvt_buf_append_str(line, s);
	}
	hvt_buf_append(line, last ? "\n" : ",", 1);
	hvt_buf_free(&clean);
}

static void csv_header(struct hvt_buf *line)
{
	hvt_buf_append_str(line, "time,host,id,severity,type,vm_name,vm_uuid,message\n");
}

static void csv_row(const struct out *o, struct hvt_buf *line, const struct hvt_event *ev)
{
	char ts[40];

	hvt_format_rfc3339(ev->ts_us, ts, sizeof ts);
	out_csv_field(o, line, ts, false);
	out_csv_field(o, line, ev->host, false);
	out_csv_field(o, line, ev->id, false);
	out_csv_field(o, line, hvt_severity_name(ev->severity), false);
	out_csv_field(o, line, ev->type, false);
	out_csv_field(o, line, ev->vm_name, false);
	out_csv_field(o, line, ev->vm_uuid, false);
	out_csv_field(o, line, ev->msg, true);
}

static int write_out(struct out *o, const void *p, size_t n)
{
	if (o->err)
		return -1;
	if (n && fwrite(p, 1, n, o->f) != n) {
		o->err = errno ? errno : EIO;
		return -1;
	}
	if (o->flush_each)
		return out_flush(o);
	return 0;
}

/* A row the index holds but we cannot decode still gets a line. */
static struct hvt_event *decode(const struct hvt_row *row)
{
	char err[256];
	struct hvt_event *ev = hvt_event_from_json(row->raw, row->raw_len, &stored_limits, false,
						   err, sizeof err);

	if (!ev) {
		ev = hvt_event_new("?");
		hvt_event_set_msg(ev, "(stored event %lld cannot be decoded: %s)", (long long)row->cursor, err);
		ev->severity = HVT_SEV_ERR;
	}
	return ev;
}

int out_row(struct out *o, const struct hvt_row *row)
{
	struct hvt_buf line = { 0 };
	struct hvt_event *ev;
	int rc;

	o->rows++;
	if (o->fmt == OUT_JSON) {
		if (o->tty) {
			/* the stored text is JSON whose strings may hold DEL and C1
			 * controls raw (JSON allows them): on a terminal they are
			 * written as \u escapes, which mean the same to a JSON reader */
			out_json_tty(&line, row->raw, row->raw_len);
			rc = write_out(o, line.data, line.len);
			hvt_buf_free(&line);
			return rc < 0 ? -1 : write_out(o, "\n", 1);
		}
		if (write_out(o, row->raw, row->raw_len) < 0)
			return -1;
		return write_out(o, "\n", 1);
	}
	if (o->err)
		return -1;
	ev = decode(row);
	if (o->fmt == OUT_TABLE) {
		table_row(o, ev);
		hvt_event_free(ev);
		if (o->flush_each)
			return out_flush(o);
		return o->err ? -1 : 0;
	}
	if (!o->header_done) {
		csv_header(&line);
		o->header_done = true;
	}
	csv_row(o, &line, ev);
	hvt_event_free(ev);
	rc = write_out(o, line.data, line.len);
	hvt_buf_free(&line);
	return rc;
}

int out_flush(struct out *o)
{
	if (o->table && !o->err && table_flush(o->table, o->flush_each) < 0)
		o->err = o->table->err;
	if (o->err)
		return -1;
	if (fflush(o->f) != 0) {
		o->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

int out_finish(struct out *o)
{
	int rc = out_flush(o);

	if (rc == 0 && o->rows == 0 && o->fmt == OUT_TABLE && fprintf(o->f, OUT_NO_ENTRIES "\n") < 0)
		o->err = errno ? errno : EIO;
	if (o->table) {
		table_free(o->table);
		free(o->table);
		o->table = NULL;
	}
	return out_flush(o);
}
