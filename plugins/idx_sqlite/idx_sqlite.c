/* idx_sqlite.c - the embedded index: events in one SQLite file.
 *
 * The plugin table, its configuration and the instance life cycle; the
 * work is in store.c, query.c, streams.c and kv.c, the tables in schema.c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "log.h"
#include "util.h"

static const struct hvt_conf_key conf_keys[] = {
	{ "path", HVT_CONF_PATH, "/var/lib/hvtrail/collector/trail.db",
	  "the SQLite database (created mode 0600, its directory 0700)", NULL, 0, 0, 0 },
	{ "synchronous", HVT_CONF_ENUM, "full",
	  "normal: a stored batch survives a crash of the collector; full: also a power loss "
	  "(one fsync per batch)", "normal|full", 0, 0, 0 },
	{ "busy_timeout", HVT_CONF_DURATION, "5s",
	  "how long to wait for a lock held by another process (an operator's sqlite3 shell)",
	  NULL, 0, 600000, 0 },
	{ "cache_size", HVT_CONF_SIZE, "64M",
	  "SQLite page cache of the connection (index pages stay hot between batches)",
	  NULL, 1 << 20, 1LL << 36, 0 },
	{ "max_size", HVT_CONF_SIZE, "0",
	  "stop growing the database at this size (0 = no limit): store() then fails as on a full "
	  "disk and the collector keeps the events in its inbox", NULL, 0, 0, 0 },
	HVT_CONF_END
};

static void idx_free(struct idx *x)
{
	idx_db_close(x);
	pairmap_free(&x->streams);
	pairmap_free(&x->vms);
	free(x->slots);
	free(x->path);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

static void read_options(const struct hvt_conf_section *s, struct idx_options *o)
{
	o->path = hvt_conf_str(s, conf_keys, "path");
	o->sync_full = strcmp(hvt_conf_str(s, conf_keys, "synchronous"), "full") == 0;
	o->busy_timeout_ms = hvt_conf_duration_ms(s, conf_keys, "busy_timeout");
	o->cache_bytes = hvt_conf_size(s, conf_keys, "cache_size");
	o->max_bytes = hvt_conf_size(s, conf_keys, "max_size");
}

static int idx_init(struct hvt_instance *inst)
{
	struct idx *x = hvt_calloc(1, sizeof *x);
	struct idx_options o;
	pthread_mutexattr_t attr;

	read_options(inst->conf, &o);
	x->path = hvt_strdup(o.path);
	x->readonly = inst->readonly;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&x->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (idx_db_open(x, &o) < 0) {
		idx_free(x);
		return -1;
	}
	inst->priv = x;
	hvt_debug("idx_sqlite: opened %s%s", x->path, x->readonly ? " read-only" : "");
	return 0;
}

static void idx_stop(struct hvt_instance *inst)
{
	if (!inst->priv)
		return;
	idx_free(inst->priv);
	inst->priv = NULL;
}

static const struct hvt_index_ops ops = {
	.store = idx_store,
	.inbox_position = idx_inbox_position,
	.query = idx_query,
	.streams = idx_streams,
	.gaps = idx_gaps,
	.stream_events = idx_stream_events,
	.seals = idx_seals,
	.quarantined = idx_quarantined,
	.put_host_stats = idx_put_host_stats,
	.host_stats = idx_host_stats,
	.kv_get = idx_kv_get,
	.kv_put = idx_kv_put,
};

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "idx_sqlite",
	.kind = HVT_PLUGIN_INDEX,
	.summary = "embedded index: every event once in a SQLite file (WAL)",
	.conf_keys = conf_keys,
	.init = idx_init,
	.stop = idx_stop,
	.ops = &ops,
};
