/* timeline_print.c - the rows of `hvtrail query --timeline` as a table for
 * people, JSON lines or CSV for programs. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "table.h"
#include "timefmt.h"
#include "timeline.h"
#include "util.h"

static const struct table_col tl_cols[] = {
	{ "TIME (UTC)", false, 0 }, { "HOST", false, 84 }, { "WHAT", false, 48 }, { "DETAIL", false, 0 },
};

static void table_row(struct table *t, const struct tl_row *r)
{
	char ts[40];

	hvt_format_rfc3339(r->ts, ts, sizeof ts);
	ts[19] = 'Z';           /* seconds are enough to read; -o json has the rest */
	ts[20] = '\0';
	const char *cells[] = { ts, r->hosts, r->type, r->summary ? r->summary : "" };
	table_add(t, cells, NULL);
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
	struct table t;

	if (o->fmt == OUT_TABLE) {
		table_init(&t, tl_cols, (int)HVT_ARRAY_SIZE(tl_cols), o->f, out_screen(o));
		for (size_t i = 0; i < n; i++)
			table_row(&t, &rows[i]);
		table_flush(&t, false);
		table_free(&t);
		if (n == 0)
			fprintf(o->f, OUT_NO_ENTRIES "\n");
		return cli_output_status("query");
	}
	if (o->fmt == OUT_CSV) {
		hvt_buf_append_str(&line, "time,kind,type,hosts,summary,ref\n");
	}
	for (size_t i = 0; i < n; i++) {
		if (o->fmt == OUT_CSV) {
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
