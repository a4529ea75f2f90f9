/* kv.c - the small tables next to the events: collector key/value state
 * and the latest stats each forwarder reported.
 *
 * Both are ReplacingMergeTree tables where the newest row of a key counts
 * (argMax at read time), so a write is one INSERT and never an update.
 *
 * Host stats arrive one report at a time (every forwarder, every 30 s by
 * default); one INSERT each would make one part each.  So a report goes in
 * at once only when the previous stats INSERT is more than STATS_EVERY_US
 * old, and is otherwise buffered and sent with the next report or batch
 * after that.  The buffer is memory only: a collector killed with it loses
 * at most the reports of that second, which the next reports replace. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ch.h"
#include "log.h"
#include "util.h"

#define STATS_EVERY_US 1000000LL
#define STATS_MAX_PENDING 10000

void ch_stats_flush(struct ch *x, bool force)
{
	struct hvt_buf rows = { 0 };
	size_t n;
	long long now = hvt_mono_us();

	ch_lock(x);
	n = x->nstats;
	if (!n || (!force && now - x->stats_since_mono_us < STATS_EVERY_US)) {
		ch_unlock(x);
		return;
	}
	rows = x->stats;              /* take the buffer; new reports start a new one */
	memset(&x->stats, 0, sizeof x->stats);
	x->nstats = 0;
	x->stats_since_mono_us = now;
	ch_unlock(x);
	if (ch_insert(x, "host_stats", rows.data, rows.len, NULL, 0) < 0) {
		ch_lock(x);
		if (x->nstats + n <= STATS_MAX_PENDING) {   /* keep them for the next try */
			hvt_buf_append(&rows, x->stats.data, x->stats.len);
			hvt_buf_free(&x->stats);
			x->stats = rows;
			x->nstats += n;
			memset(&rows, 0, sizeof rows);
		}
		ch_unlock(x);
	}
	hvt_buf_free(&rows);
}

int ch_put_host_stats(struct hvt_instance *inst, const char *host, const char *json,
		      long long at_us)
{
	struct ch *x = inst->priv;

	if (x->readonly)
		return ch_refuse_readonly(x, "put_host_stats()");
	ch_lock(x);
	hvt_buf_append_str(&x->stats, "{\"host\":");
	ch_json_str(&x->stats, host, strlen(host));
	hvt_buf_append_str(&x->stats, ",\"json\":");
	ch_json_str(&x->stats, json, strlen(json));
	hvt_buf_printf(&x->stats, ",\"at_us\":%lld}\n", HVT_MAX(at_us, 0));
	x->nstats++;
	ch_unlock(x);
	ch_stats_flush(x, false);
	return 0;
}

struct stats_walk {
	int (*cb)(void *arg, const char *host, const char *json, long long at_us);
	void *arg;
};

static int on_stats(void *arg, const struct ch_val *v)
{
	struct stats_walk *w = arg;

	return w->cb(w->arg, v[0].s, v[1].s, v[2].i);
}

int ch_host_stats(struct hvt_instance *inst,
		  int (*cb)(void *arg, const char *host, const char *json, long long at_us), void *arg)
{
	static const enum ch_col cols[] = { CH_STR, CH_STR, CH_U64 };
	struct ch *x = inst->priv;
	struct stats_walk w = { cb, arg };
	struct hvt_buf sql = { 0 };
	int rc;

	if (!x->readonly)
		ch_stats_flush(x, true);  /* what this instance was told is part of the answer */
	hvt_buf_append_str(&sql, "SELECT host, argMax(json, at_us), max(at_us) FROM ");
	ch_table(&sql, x, "host_stats");
	hvt_buf_append_str(&sql, " GROUP BY host ORDER BY host");
	rc = ch_select(x, hvt_buf_cstr(&sql), cols, 3, on_stats, &w);
	hvt_buf_free(&sql);
	return rc;
}

int ch_kv_put(struct hvt_instance *inst, const char *key, const char *value)
{
	struct ch *x = inst->priv;
	struct hvt_buf row = { 0 };
	int rc;

	if (x->readonly)
		return ch_refuse_readonly(x, "kv_put()");
	hvt_buf_append_str(&row, "{\"key\":");
	ch_json_str(&row, key, strlen(key));
	hvt_buf_append_str(&row, ",\"value\":");
	ch_json_str(&row, value, strlen(value));
	hvt_buf_printf(&row, ",\"written_us\":%llu}\n", (unsigned long long)ch_next_version(x));
	rc = ch_insert(x, "kv", row.data, row.len, NULL, 0);
	hvt_buf_free(&row);
	return rc;
}

static int take_value(void *arg, const struct ch_val *v)
{
	*(char **)arg = hvt_strndup(v[0].s, v[0].len);
	return 1;
}

/* *value is a malloc'ed copy, or NULL when the key is not set (still 0). */
int ch_kv_get(struct hvt_instance *inst, const char *key, char **value)
{
	static const enum ch_col cols[] = { CH_STR };
	struct ch *x = inst->priv;
	struct hvt_buf sql = { 0 };
	int rc;

	*value = NULL;
	hvt_buf_append_str(&sql, "SELECT value FROM ");
	ch_table(&sql, x, "kv");
	hvt_buf_append_str(&sql, " WHERE key = ");
	ch_quote_str(&sql, key);
	hvt_buf_append_str(&sql, " ORDER BY written_us DESC LIMIT 1");
	rc = ch_select(x, hvt_buf_cstr(&sql), cols, 1, take_value, value);
	hvt_buf_free(&sql);
	if (rc < 0) {
		free(*value);
		*value = NULL;
	}
	return rc;
}
