/* tidx.c - see tidx.h. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "event.h"
#include "instance.h"
#include "plugin.h"
#include "tidx.h"
#include "trail.h"
#include "util.h"

char *tidx_tmpdir(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *path = hvt_asprintf("%s/hvt-idx-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);

	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s: %s", path, strerror(errno));
	return path;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

void tidx_rmtree(char *dir)
{
	if (!dir)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

struct tidx *tidx_open(const char *path, bool readonly, const char *extra)
{
	char err[512];
	const struct hvt_plugin *p;
	struct tidx *t = hvt_calloc(1, sizeof *t);
	char *text = hvt_asprintf("[idx_sqlite]\npath = %s\n%s", path, extra ? extra : "");

	/* Always this build's plugin, whatever the environment says. */
	setenv("HVTRAIL_PLUGIN_PATH", IDX_PLUGIN_DIR, 1);
	p = hvt_plugin_load("idx_sqlite", NULL, HVT_PLUGIN_INDEX, err, sizeof err);
	ck_assert_msg(p != NULL, "%s", err);
	t->conf = hvt_conf_load_string(text, "test.conf", "test");
	free(text);
	ck_assert_int_eq(hvt_instance_bind(&t->inst, p, t->conf, hvt_conf_find(t->conf, "idx_sqlite"), NULL), 0);
	t->inst.readonly = readonly;
	ck_assert_int_eq(hvt_instance_check(&t->inst), 0);
	t->ops = p->ops;
	if (hvt_instance_start(&t->inst) < 0) {
		hvt_conf_free(t->conf);
		free(t);
		return NULL;
	}
	return t;
}

void tidx_close(struct tidx *t)
{
	if (!t)
		return;
	hvt_instance_stop(&t->inst);
	hvt_conf_free(t->conf);
	free(t);
}

/* Realistic detail: what in_qmp records for a finished migration (~300 bytes of JSON). */
static void add_data(struct hvt_event *ev, uint64_t seq)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "total_time_ms", json_object_new_int64(1200 + (int64_t)(seq % 97)));
	json_object_object_add(m, "downtime_ms", json_object_new_int64(40 + (int64_t)(seq % 13)));
	json_object_object_add(m, "setup_time_ms", json_object_new_int64(12));
	json_object_object_add(m, "passes", json_object_new_int64(3));
	json_object_object_add(m, "ram_transferred", json_object_new_int64(1073741824));
	hvt_event_data_add(ev, "migration", m);
}

static struct hvt_event *make_event(const struct tev *e)
{
	struct hvt_event *ev = hvt_event_new(e->type ? e->type : "vm.started");
	const char *stream = e->stream ? e->stream : "00000000000000aa";
	char prev[HVT_HASH_HEX_LEN + 1];

	hvt_event_set_str(&ev->host, e->host ? e->host : "hv1");
	hvt_event_set_identity(ev, stream, e->seq);
	if (e->id)                    /* a test of a malformed id */
		hvt_event_set_str(&ev->id, e->id);
	snprintf(prev, sizeof prev, "%064" PRIx64, e->seq * 2654435761u);
	hvt_event_set_str(&ev->prev, e->seq > 1 ? prev : "");
	hvt_event_set_str(&ev->source, "qmp");
	ev->severity = HVT_SEV_INFO;
	if (e->vm_name || e->vm_uuid)
		hvt_event_set_vm(ev, e->vm_name, e->vm_uuid);
	ev->ts_us = e->ts_us ? e->ts_us : TIDX_T0 + (long long)e->seq * 1000000;
	ev->received_us = ev->ts_us + 1500;
	if (e->msg)
		hvt_event_set_msg(ev, "%s", e->msg);
	else
		hvt_event_set_msg(ev, "%s %s on %s", ev->type, e->vm_name ? e->vm_name : "-", ev->host);
	if (!e->no_data)
		add_data(ev, e->seq);
	return ev;
}

void tbatch_add(struct tbatch *b, const struct tev *e)
{
	struct hvt_buf json = { 0 };

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->items = hvt_realloc(b->items, b->cap * sizeof *b->items);
		b->evs = hvt_realloc(b->evs, b->cap * sizeof *b->evs);
		b->raws = hvt_realloc(b->raws, b->cap * sizeof *b->raws);
	}
	struct hvt_event *ev = make_event(e);
	hvt_event_to_json(ev, &json);
	hvt_buf_append(&json, "", 1);
	b->evs[b->n] = ev;
	b->raws[b->n] = json.data;
	b->items[b->n] = (struct hvt_stored){
		.ev = ev, .raw = json.data, .raw_len = json.len - 1, .peer = "192.0.2.10",
		.indexed_us = ev->ts_us + 20000, .link = e->link, .verdict = HVT_VERDICT_OK,
	};
	b->n++;
}

void tbatch_add_range(struct tbatch *b, const char *host, const char *stream, uint64_t lo, uint64_t hi)
{
	for (uint64_t s = lo; s <= hi; s++)
		tbatch_add(b, &(struct tev){ .host = host, .stream = stream, .seq = s });
}

int tbatch_store(struct tidx *t, struct tbatch *b, uint64_t inbox_seq)
{
	struct hvt_index_batch ib = { .items = b->items, .n = b->n, .inbox_seq = inbox_seq };
	int rc = t->ops->store(&t->inst, &ib);

	b->inserted = ib.inserted;
	b->duplicates = ib.duplicates;
	return rc;
}

void tbatch_free(struct tbatch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		hvt_event_free(b->evs[i]);
		free(b->raws[i]);
	}
	free(b->items);
	free(b->evs);
	free(b->raws);
	memset(b, 0, sizeof *b);
}

static int collect(void *arg, const struct hvt_row *row)
{
	struct trows *r = arg;

	r->cursor = hvt_realloc(r->cursor, (r->n + 1) * sizeof *r->cursor);
	r->raw = hvt_realloc(r->raw, (r->n + 1) * sizeof *r->raw);
	r->cursor[r->n] = row->cursor;
	r->raw[r->n] = hvt_strndup(row->raw, row->raw_len);
	r->n++;
	return 0;
}

int tidx_query(struct tidx *t, const struct hvt_query *q, struct trows *out)
{
	memset(out, 0, sizeof *out);
	return t->ops->query(&t->inst, q, collect, out);
}

void trows_free(struct trows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->raw[i]);
	free(r->raw);
	free(r->cursor);
	memset(r, 0, sizeof *r);
}

bool trows_has(const struct trows *r, size_t i, const char *needle)
{
	return i < r->n && strstr(r->raw[i], needle) != NULL;
}

struct gap_text {
	char *out;
	size_t size;
};

static int gap_cb(void *arg, uint64_t lo, uint64_t hi)
{
	struct gap_text *g = arg;
	size_t len = strlen(g->out);

	snprintf(g->out + len, g->size - len, "%s%" PRIu64 "-%" PRIu64, len ? "," : "", lo, hi);
	return 0;
}

int tidx_gaps_str(struct tidx *t, const char *host, const char *stream, char *out, size_t size)
{
	struct gap_text g = { out, size };

	out[0] = '\0';
	return t->ops->gaps(&t->inst, host, stream, gap_cb, &g);
}
