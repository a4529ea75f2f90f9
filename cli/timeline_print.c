/* timeline_print.c - the rows of `hvtrail query --timeline` as a table for
 * people, JSON lines or CSV for programs. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "timefmt.h"
#include "timeline.h"
#include "util.h"

#define W_TIME 20
#define W_HOSTS 28
#define W_TYPE 26

static void cell(struct hvt_buf *line, const char *text, int width)
{
	struct hvt_buf c = { 0 };
	int w = 0;

	out_sanitize(&c, text && *text ? text : "-");
	for (size_t i = 0; i < c.len; i++)
		w += ((unsigned char)c.data[i] & 0xc0) != 0x80;
	hvt_buf_append(line, c.data, c.len);
	for (int i = w; i < width; i++)
		hvt_buf_append(line, " ", 1);
	hvt_buf_append(line, " ", 1);
	hvt_buf_free(&c);
}

static void table_row(struct hvt_buf *line, const struct tl_row *r)
{
	char ts[40];

	hvt_format_rfc3339(r->ts, ts, sizeof ts);
	ts[19] = 'Z';           /* seconds are enough to read; -o json has the rest */
	ts[20] = '\0';
	cell(line, ts, W_TIME);
	cell(line, r->hosts, W_HOSTS);
	cell(line, r->type, W_TYPE);
	out_sanitize(line, r->summary ? r->summary : "");
	while (line->len && line->data[line->len - 1] == ' ')
		line->len--;
	hvt_buf_append(line, "\n", 1);
}

static const char *kind_name(enum tl_kind k)
{
	return k == TL_MIGRATION ? "migration" : k == TL_FAILOVER ? "failover" : "event";
}

static void csv_row(const struct out *o, struct hvt_buf *line, const struct tl_row *r)
{
	char ts[40];

	hvt_format_rfc3339(r->ts, ts, sizeof ts);
	out_csv_field(o, line, ts, false);
	out_csv_field(o, line, kind_name(r->kind), false);
	out_csv_field(o, line, r->type, false);
	out_csv_field(o, line, r->hosts, false);
	out_csv_field(o, line, r->summary, false);
	out_csv_field(o, line, r->ref, true);
}

int tl_print(struct out *o, const struct tl_row *rows, size_t n)
{
	struct hvt_buf line = { 0 };

	if (o->fmt == OUT_TABLE) {
		cell(&line, "TIME (UTC)", W_TIME);
		cell(&line, "HOST", W_HOSTS);
		cell(&line, "WHAT", W_TYPE);
		hvt_buf_append_str(&line, "DETAIL\n");
	} else if (o->fmt == OUT_CSV) {
		hvt_buf_append_str(&line, "time,kind,type,hosts,summary,ref\n");
	}
	for (size_t i = 0; i < n; i++) {
		if (o->fmt == OUT_TABLE) {
			table_row(&line, &rows[i]);
		} else if (o->fmt == OUT_CSV) {
			csv_row(o, &line, &rows[i]);
		} else {
			hvt_buf_append_str(&line, json_object_to_json_string_ext(rows[i].json,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			hvt_buf_append(&line, "\n", 1);
		}
		if (line.len >= 65536) {
			if (fwrite(line.data, 1, line.len, o->f) != line.len)
				break;
			hvt_buf_reset(&line);
		}
	}
	if (line.len)
		(void)fwrite(line.data, 1, line.len, o->f);
	hvt_buf_free(&line);
	return cli_output_status("query");
}
