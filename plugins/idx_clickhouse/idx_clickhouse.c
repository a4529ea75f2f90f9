/* idx_clickhouse.c - the scale-out index: events in ClickHouse.
 *
 * The plugin table, its configuration and the instance life cycle; the
 * requests are in http.c, the tables in schema.c, the ops in store.c,
 * query.c, streams.c and kv.c.  docs/scale-out.md tells how to run it. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ch.h"
#include "log.h"
#include "util.h"

static const struct hvt_conf_key conf_keys[] = {
	{ "url", HVT_CONF_LIST, "http://127.0.0.1:8123/",
	  "ClickHouse HTTP(S) endpoints; requests go to the one that answered last and fail over "
	  "to the others; with cluster or replicated the tables are created on every one",
	  NULL, 0, 0, 0 },
	{ "database", HVT_CONF_STRING, "hvtrail", "database of the tables (created when missing)",
	  NULL, 0, 0, 0 },
	{ "cluster", HVT_CONF_STRING, "",
	  "remote_servers cluster: rows go through Distributed tables to NAME_local tables on its "
	  "shards; empty: the tables themselves (one server, or the replicas listed in url)",
	  NULL, 0, 0, 0 },
	{ "replicated", HVT_CONF_BOOL, "no",
	  "ReplicatedReplacingMergeTree tables (ZooKeeper, and the {shard} and {replica} macros on "
	  "every server)", NULL, 0, 0, 0 },
	{ "zookeeper_path", HVT_CONF_STRING, "",
	  "replicated: ZooKeeper path the table names are appended to (default "
	  "/clickhouse/tables/{shard}/DATABASE)", NULL, 0, 0, 0 },
	{ "user", HVT_CONF_STRING, "default", "ClickHouse user", NULL, 0, 0, 0 },
	{ "password", HVT_CONF_STRING, "", "its password (sent as X-ClickHouse-Key; prefer password_file)",
	  NULL, 0, 0, 0 },
	{ "password_file", HVT_CONF_PATH, "", "file whose first line is the password", NULL, 0, 0, 0 },
	{ "tls_ca", HVT_CONF_PATH, "", "CA certificate(s) for https:// urls (default: the system's)",
	  NULL, 0, 0, 0 },
	{ "tls_cert", HVT_CONF_PATH, "", "client certificate, when the server asks for one",
	  NULL, 0, 0, 0 },
	{ "tls_key", HVT_CONF_PATH, "", "its private key", NULL, 0, 0, 0 },
	{ "tls_verify", HVT_CONF_BOOL, "yes", "verify the server's certificate and name", NULL, 0, 0, 0 },
	{ "connect_timeout", HVT_CONF_DURATION, "5s", "TCP and TLS connect timeout",
	  NULL, 100, 600000, 0 },
	{ "timeout", HVT_CONF_DURATION, "60s", "longest request (a batch INSERT, a query); a batch that "
	  "times out is sent again", NULL, 1000, 3600000, 0 },
	{ "collector_id", HVT_CONF_STRING, "",
	  "this collector's name in the index: its inbox position is kept under it (and its state_dir); "
	  "default: the host name", NULL, 0, 0, 0 },
	{ "create_schema", HVT_CONF_BOOL, "yes",
	  "create missing tables and add missing columns at start (no: only check the tables exist)",
	  NULL, 0, 0, 0 },
	{ "flush_rows", HVT_CONF_INT, "5000",
	  "a batch of at least this many events is inserted at once; a smaller one waits until "
	  "flush_interval after the previous insert (ClickHouse makes one part per insert)",
	  NULL, 1, 1000000, 0 },
	{ "flush_interval", HVT_CONF_DURATION, "1s",
	  "at most one insert of a small batch per this interval; later events wait in the inbox",
	  NULL, 0, 60000, 0 },
	{ "follow_delay", HVT_CONF_DURATION, "2s",
	  "hvtrail query -f prints events this long after they were stored (inserts in flight, clock "
	  "differences between collectors)", NULL, 0, 600000, 0 },
	{ "settings", HVT_CONF_LIST, "",
	  "ClickHouse settings sent with every request, as name=value (e.g. insert_quorum=2)",
	  NULL, 0, 0, 0 },
	HVT_CONF_END
};

int ch_refuse_readonly(struct ch *x, const char *op)
{
	hvt_log(LOG_ERR, "idx_clickhouse [%s]: %s is not possible: the index was opened read-only",
		x->name, op);
	return -1;
}

void ch_lock(struct ch *x)
{
	pthread_mutex_lock(&x->lock);
}

void ch_unlock(struct ch *x)
{
	pthread_mutex_unlock(&x->lock);
}

/* ---- configuration ------------------------------------------------------ */

static const char *str(const struct hvt_instance *inst, const char *key)
{
	return hvt_conf_str(inst->conf, conf_keys, key);
}

static bool identifier(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(s);
}

static bool header_safe(const char *s)
{
	return !strpbrk(s, "\r\n");
}

/* Report a problem at the line that set key (or the section's line). */
static int problem(const struct hvt_instance *inst, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int problem(const struct hvt_instance *inst, const char *key, const char *fmt, ...)
{
	va_list ap;
	const struct hvt_conf_section *s = inst->conf;
	const struct hvt_conf_entry *at = NULL;
	char msg[512];

	for (const struct hvt_conf_entry *e = s ? s->entries : NULL; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			at = e;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	hvt_conf_error(inst->config, at ? at->file : s ? s->file : inst->config->path,
		       at ? at->line : s ? s->line : 0, "[%s] %s: %s", inst->name, key, msg);
	return 1;
}

/* Everything that can be wrong in the section, reported; the number of problems. */
static int validate(const struct hvt_instance *inst)
{
	int bad = 0, n;
	char **urls = hvt_conf_list(inst->conf, conf_keys, "url", &n);
	char **settings;

	if (n == 0)
		bad += problem(inst, "url", "no url given");
	for (int i = 0; i < n; i++)
		if ((!hvt_str_has_prefix(urls[i], "http://") && !hvt_str_has_prefix(urls[i], "https://")) ||
		    strpbrk(urls[i], " \t\r\n"))
			bad += problem(inst, "url", "'%s' is no http:// or https:// URL", urls[i]);
	hvt_conf_list_free(urls);
	/* A reader may list replicas without saying so: it only reads. */
	if (n > 1 && !inst->readonly && !*str(inst, "cluster") &&
	    !hvt_conf_bool(inst->conf, conf_keys, "replicated"))
		bad += problem(inst, "url", "several urls need cluster or replicated: independent servers "
			       "would each hold part of the trail");
	if (!identifier(str(inst, "database")))
		bad += problem(inst, "database", "'%s' is no plain identifier ([A-Za-z_][A-Za-z0-9_]*)",
			       str(inst, "database"));
	if (*str(inst, "cluster") && !identifier(str(inst, "cluster")))
		bad += problem(inst, "cluster", "'%s' is no plain identifier", str(inst, "cluster"));
	if (!header_safe(str(inst, "user")) || !header_safe(str(inst, "password")))
		bad += problem(inst, "user", "user and password must be one line");
	if (*str(inst, "password") && *str(inst, "password_file"))
		bad += problem(inst, "password_file", "give password or password_file, not both");
	if (*str(inst, "password_file") && access(str(inst, "password_file"), R_OK) != 0)
		bad += problem(inst, "password_file", "cannot read %s", str(inst, "password_file"));
	if (strpbrk(str(inst, "zookeeper_path"), "'\\\r\n"))
		bad += problem(inst, "zookeeper_path", "no quotes, backslashes or line breaks");
	settings = hvt_conf_list(inst->conf, conf_keys, "settings", &n);
	for (int i = 0; i < n; i++) {
		char *eq = strchr(settings[i], '=');
		char name[128];
		if (eq)
			hvt_strlcpy(name, settings[i], HVT_MIN(sizeof name, (size_t)(eq - settings[i]) + 1));
		if (!eq || !identifier(name))
			bad += problem(inst, "settings", "'%s' is not name=value", settings[i]);
	}
	hvt_conf_list_free(settings);
	return bad;
}

static int check(struct hvt_instance *inst)
{
	return validate(inst) ? -1 : 0;
}

static char *read_password(const char *path)
{
	char *text = NULL;
	size_t len;
	int rc = hvt_read_file(path, 4096, &text, &len);

	if (rc < 0) {
		hvt_log(LOG_ERR, "idx_clickhouse: cannot read password_file %s: %s", path, strerror(-rc));
		return NULL;
	}
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

static char *settings_params(const struct hvt_instance *inst)
{
	struct hvt_buf b = { 0 };
	int n;
	char **settings = hvt_conf_list(inst->conf, conf_keys, "settings", &n);

	for (int i = 0; i < n; i++) {
		char *eq = strchr(settings[i], '=');
		hvt_buf_append(&b, "&", 1);
		hvt_buf_append(&b, settings[i], (size_t)(eq - settings[i]) + 1);
		ch_urlencode(&b, eq + 1);
	}
	hvt_conf_list_free(settings);
	/* A follow poll's IN subqueries read each shard's own table: every copy
	 * of an event is on one shard, so that is enough (and 18.16 refuses a
	 * Distributed table inside a Distributed query otherwise). */
	if (*str(inst, "cluster"))
		hvt_buf_append_str(&b, "&distributed_product_mode=local");
	hvt_buf_cstr(&b);
	return b.data;
}

static char *default_collector_id(void)
{
	char host[256];

	if (gethostname(host, sizeof host) != 0 || !*host)
		hvt_strlcpy(host, "collector", sizeof host);
	host[sizeof host - 1] = '\0';
	return hvt_strdup(host);
}

static int read_options(struct hvt_instance *inst, struct ch_opts *o)
{
	const struct hvt_conf_section *s = inst->conf;

	o->urls = hvt_conf_list(s, conf_keys, "url", &o->nurls);
	o->database = str(inst, "database");
	o->cluster = str(inst, "cluster");
	o->replicated = hvt_conf_bool(s, conf_keys, "replicated");
	o->zk_path = *str(inst, "zookeeper_path") ? hvt_strdup(str(inst, "zookeeper_path"))
		: hvt_asprintf("/clickhouse/tables/{shard}/%s", o->database);
	o->user = str(inst, "user");
	o->password = *str(inst, "password_file") ? read_password(str(inst, "password_file"))
		: hvt_strdup(str(inst, "password"));
	o->tls_ca = str(inst, "tls_ca");
	o->tls_cert = str(inst, "tls_cert");
	o->tls_key = str(inst, "tls_key");
	o->tls_verify = hvt_conf_bool(s, conf_keys, "tls_verify");
	o->connect_timeout_ms = hvt_conf_duration_ms(s, conf_keys, "connect_timeout");
	o->timeout_ms = hvt_conf_duration_ms(s, conf_keys, "timeout");
	o->collector_id = *str(inst, "collector_id") ? hvt_strdup(str(inst, "collector_id"))
		: default_collector_id();
	o->create_schema = hvt_conf_bool(s, conf_keys, "create_schema");
	o->flush_rows = hvt_conf_int(s, conf_keys, "flush_rows");
	o->flush_interval_ms = hvt_conf_duration_ms(s, conf_keys, "flush_interval");
	o->follow_delay_ms = hvt_conf_duration_ms(s, conf_keys, "follow_delay");
	o->settings = settings_params(inst);
	return o->password ? 0 : -1;
}

/* ---- life cycle --------------------------------------------------------- */

static void ch_free(struct ch *x)
{
	if (x->headers)
		ch_http_free(x);
	ch_counts_free(x);
	hvt_conf_list_free(x->o.urls);
	free(x->o.zk_path);
	if (x->o.password)
		explicit_bzero(x->o.password, strlen(x->o.password));
	free(x->o.password);
	free(x->o.collector_id);
	free(x->o.settings);
	hvt_buf_free(&x->stats);
	pthread_mutex_destroy(&x->lock);
	pthread_mutex_destroy(&x->store_lock);
	free(x);
}

static int init(struct hvt_instance *inst)
{
	struct ch *x;

	/* check() has validated the section (hvtrail-plugin.h) */
	x = hvt_calloc(1, sizeof *x);
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->store_lock, NULL);
	x->name = inst->name;
	x->readonly = inst->readonly;
	x->state_dir = inst->host && inst->host->state_dir ? inst->host->state_dir : "";
	x->rl = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(10000);
	x->rl_store = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(10000);
	if (read_options(inst, &x->o) < 0 || ch_http_init(x) < 0)
		goto fail;
	if (x->readonly ? ch_schema_check(x) < 0 : ch_schema_setup(x) < 0 || ch_store_init(x) < 0)
		goto fail;
	inst->priv = x;
	hvt_debug("idx_clickhouse [%s]: %s database %s%s", x->name, x->o.urls[x->cur_url], x->o.database,
		  x->readonly ? " read-only" : "");
	return 0;
fail:
	ch_free(x);
	return -1;
}

static void stop(struct hvt_instance *inst)
{
	struct ch *x = inst->priv;

	if (!x)
		return;
	if (!x->readonly)
		ch_stats_flush(x, true);
	ch_free(x);
	inst->priv = NULL;
}

static const struct hvt_index_ops ops = {
	.store = ch_store,
	.inbox_position = ch_inbox_position,
	.query = ch_query,
	.streams = ch_streams,
	.gaps = ch_gaps,
	.stream_events = ch_stream_events,
	.seals = ch_seals,
	.quarantined = ch_quarantined,
	.put_host_stats = ch_put_host_stats,
	.host_stats = ch_host_stats,
	.kv_get = ch_kv_get,
	.kv_put = ch_kv_put,
};

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "idx_clickhouse",
	.kind = HVT_PLUGIN_INDEX,
	.summary = "scale-out index: ClickHouse over HTTP(S), one server, replicas or a sharded cluster",
	.conf_keys = conf_keys,
	.check = check,
	.init = init,
	.stop = stop,
	.ops = &ops,
};
