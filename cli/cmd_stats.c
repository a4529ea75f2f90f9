/* cmd_stats.c - `hvtrail stats`: per host, what the index holds and what the
 * host's forwarder last reported about itself (spool depth and the like). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/file.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cli.h"
#include "index_open.h"
#include "output.h"
#include "pager.h"
#include "timefmt.h"
#include "util.h"

#define CMD "stats"
#define PARSED (-1)
#define HEALTH_SIZE 4096     /* collector/health.h HEALTH_FILE_SIZE */

struct stats_opts {
	struct cli_index_opts idx;
	const char *host;
	bool streams, json;
};

struct host_row {
	char *host;
	uint64_t events, missing;
	struct hvt_stream_state *sv;  /* its streams */
	size_t nsv;
	long long last_ts, last_indexed;
	char *report;                 /* forwarder stats JSON, or NULL */
	long long report_at;
};

struct host_table {
	struct host_row *v;
	size_t n;
	const char *only;             /* --host */
};

/* The quarantine: events kept out of the trail (identity refused at
 * arrival, or refused by the index for their content, #15): how many, and
 * the newest few. */
#define QUARANTINE_SHOWN 5
struct quarantine_row {
	char *peer, *reason, *raw;
	long long at_us;
};
struct quarantine_view {
	uint64_t n;
	struct quarantine_row recent[QUARANTINE_SHOWN];   /* ring: row n-1 at (n-1) % SHOWN */
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "Per host: events stored, streams (forwarder spool generations), events missing\n"
	       "from them (see '%s gaps'), the time of the last event, and the latest stats\n"
	       "its forwarder reported (spool depth, acknowledged position, ...).\n\n%s\n"
	       "Options:\n"
	       "      --host HOST        only this host\n"
	       "      --streams          also one line per stream\n"
	       "  -o, --output FORMAT    table (default) or json (one object per host)\n"
	       "      --no-pager         do not pipe the output into $PAGER (less) on a terminal\n"
	       "  -h, --help             this help\n\n"
	       "The row '(collector)' is the collector's own receiver: what it accepted,\n"
	       "rejected and refused.  With -c or --db it also reads the collector's health\n"
	       "file (STATE_DIR/health, the directory of --db) and says when the collector\n"
	       "cannot store what it receives (full disk, index refusing writes): since when,\n"
	       "and why.\n\n"
	       "Exit status: 0 done, 1 the collector cannot store, 2 usage error, 3 cannot open\n"
	       "the index, 4 index or output error.\n",
	       CLI_PROG, CMD, CLI_PROG, cli_index_help);
}

static int parse(int argc, char **argv, struct stats_opts *o)
{
	static const struct option longopts[] = {
		CLI_INDEX_LONG_OPTIONS,
		{ "host", required_argument, NULL, 'H' },
		{ "streams", no_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return CLI_OK;
		} else if (c == 'H') {
			o->host = optarg;
		} else if (c == 's') {
			o->streams = true;
		} else if (c == 'o') {
			if (!cli_table_or_json(CMD, optarg, &o->json))
				return cli_usage_error(CMD);
		} else if (c == '?' || !cli_index_option(&o->idx, c, optarg)) {
			return cli_usage_error(CMD);
		}
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	return PARSED;
}

/* ---- gathering --------------------------------------------------------- */

static struct host_row *host_get(struct host_table *t, const char *host)
{
	for (size_t i = t->n; i-- > 0;)   /* streams come sorted: the last one is the likely match */
		if (strcmp(t->v[i].host, host) == 0)
			return &t->v[i];
	t->v = hvt_realloc(t->v, (t->n + 1) * sizeof *t->v);
	struct host_row *h = &t->v[t->n++];
	memset(h, 0, sizeof *h);
	h->host = hvt_strdup(host);
	return h;
}

/* Only a forwarder's stream (HVT_STREAM_LEN hex digits) counts 1, 2, 3, ...;
 * the collector's "syslog" stream uses hashes as seq, so it misses nothing. */
static bool sequential(const char *stream)
{
	size_t n = strspn(stream, "0123456789abcdef");

	return n == HVT_STREAM_LEN && stream[n] == '\0';
}

static int add_stream(void *arg, const struct hvt_stream_state *s)
{
	struct host_row *h = host_get(arg, s->host);

	h->events += s->count;
	if (sequential(s->stream) && s->max_seq > s->count)
		h->missing += s->max_seq - s->count;
	h->last_ts = HVT_MAX(h->last_ts, s->last_ts_us);
	h->last_indexed = HVT_MAX(h->last_indexed, s->last_indexed_us);
	h->sv = hvt_realloc(h->sv, (h->nsv + 1) * sizeof *h->sv);
	h->sv[h->nsv++] = *s;
	return 0;
}

static int add_report(void *arg, const char *host, const char *json, long long at_us)
{
	struct host_table *t = arg;

	if (t->only && strcmp(t->only, host) != 0)
		return 0;
	struct host_row *h = host_get(t, host);
	free(h->report);
	h->report = hvt_strdup(json);
	h->report_at = at_us;
	return 0;
}

static int by_host(const void *a, const void *b)
{
	return strcmp(((const struct host_row *)a)->host, ((const struct host_row *)b)->host);
}

static int gather(struct cli_index *ix, struct host_table *t)
{
	if (ix->ops->streams(&ix->inst, t->only, add_stream, t) < 0 ||
	    (ix->ops->host_stats && ix->ops->host_stats(&ix->inst, add_report, t) < 0)) {
		cli_error(CMD, "the index failed while answering (see above)");
		return CLI_FAILED;
	}
	qsort(t->v, t->n, sizeof *t->v, by_host);
	return CLI_OK;
}

static const char *when(long long us, char *buf, size_t size);
static json_object *json_time(long long us);

static int add_quarantined(void *arg, const struct hvt_row *row)
{
	struct quarantine_view *q = arg;
	struct quarantine_row *r = &q->recent[q->n++ % QUARANTINE_SHOWN];

	free(r->peer);
	free(r->reason);
	free(r->raw);
	r->peer = hvt_strdup(row->peer ? row->peer : "?");
	r->reason = hvt_strdup(row->note ? row->note : "?");
	r->raw = hvt_strndup(row->raw ? row->raw : "", HVT_MIN(row->raw_len, (size_t)200));
	r->at_us = row->indexed_us;
	return 0;
}

static void quarantine_free(struct quarantine_view *q)
{
	for (size_t i = 0; i < QUARANTINE_SHOWN; i++) {
		free(q->recent[i].peer);
		free(q->recent[i].reason);
		free(q->recent[i].raw);
	}
}

/* The newest shown rows, oldest first: calls fn per row. */
static void quarantine_each(const struct quarantine_view *q, void (*fn)(const struct quarantine_row *, void *),
			    void *arg)
{
	uint64_t first = q->n > QUARANTINE_SHOWN ? q->n - QUARANTINE_SHOWN : 0;

	for (uint64_t i = first; i < q->n; i++)
		fn(&q->recent[i % QUARANTINE_SHOWN], arg);
}

static void print_quarantined(const struct quarantine_row *r, void *arg)
{
	struct hvt_buf peer = { 0 }, reason = { 0 }, raw = { 0 };
	char a[40];

	(void)arg;
	out_sanitize(&peer, r->peer);
	out_sanitize(&reason, r->reason);
	out_sanitize(&raw, r->raw);
	printf("    %s from %s: %s\n        %s\n", when(r->at_us, a, sizeof a), hvt_buf_cstr(&peer),
	       hvt_buf_cstr(&reason), hvt_buf_cstr(&raw));
	hvt_buf_free(&peer);
	hvt_buf_free(&reason);
	hvt_buf_free(&raw);
}

static void print_quarantine(const struct quarantine_view *q)
{
	if (!q->n)
		return;
	printf("\nQUARANTINE: %" PRIu64 " event%s kept out of the trail (refused at arrival or by the index), "
	       "newest last:\n", q->n, q->n == 1 ? "" : "s");
	quarantine_each(q, print_quarantined, NULL);
}

static void json_quarantined(const struct quarantine_row *r, void *arg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "received", json_time(r->at_us));
	json_object_object_add(o, "peer", json_object_new_string(r->peer));
	json_object_object_add(o, "reason", json_object_new_string(r->reason));
	json_object_object_add(o, "raw", json_object_new_string(r->raw));
	json_object_array_add(arg, o);
}

static void print_quarantine_json(const struct quarantine_view *q)
{
	json_object *o = json_object_new_object(), *recent = json_object_new_array();

	json_object_object_add(o, "host", json_object_new_string("(quarantine)"));
	json_object_object_add(o, "role", json_object_new_string("quarantine"));
	json_object_object_add(o, "quarantined", json_object_new_int64((int64_t)q->n));
	quarantine_each(q, json_quarantined, recent);
	json_object_object_add(o, "recent", recent);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void table_free(struct host_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].host);
		free(t->v[i].sv);
		free(t->v[i].report);
	}
	free(t->v);
}

static const char *when(long long us, char *buf, size_t size)
{
	if (!us)
		return "-";
	hvt_format_rfc3339(us, buf, size);
	buf[19] = 'Z';
	buf[20] = '\0';
	return buf;
}

/* ---- the collector's health file (collector/health.h) -------------------- */

struct health {
	bool known;                   /* the file was found and read */
	bool storing;
	bool running;                 /* its state directory is locked */
	long long updated_us;
	json_object *problems;        /* array of {part, since_us, why} */
	char path[4200];
};

/* Where the collector keeps its state: [collector] state_dir from -c, or
 * the directory of --db (the default layout, STATE_DIR/trail.db). */
static bool state_dir_of(const struct stats_opts *o, const struct cli_index *ix, char *dir, size_t size)
{
	if (o->idx.db) {
		hvt_strlcpy(dir, o->idx.db, size);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			hvt_strlcpy(dir, ".", size);
		return true;
	}
	if (o->idx.clickhouse)
		return false;
	const char *sd = "/var/lib/hvtrail/collector";
	struct hvt_conf_section *c = hvt_conf_find(ix->conf, "collector");
	for (const struct hvt_conf_entry *e = c ? c->entries : NULL; e; e = e->next)
		if (strcmp(e->key, "state_dir") == 0)
			sd = e->value;
	hvt_strlcpy(dir, sd, size);
	return true;
}

static void read_health(const struct stats_opts *o, const struct cli_index *ix, struct health *h)
{
	char dir[4096], buf[HEALTH_SIZE + 1];

	memset(h, 0, sizeof *h);
	if (!state_dir_of(o, ix, dir, sizeof dir))
		return;
	snprintf(h->path, sizeof h->path, "%s/health", dir);
	int fd = open(h->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, HEALTH_SIZE);
	close(fd);
	json_object *j = n > 0 ? json_tokener_parse((buf[n] = '\0', buf)) : NULL;
	if (!j)
		return;
	json_object *v;
	h->known = true;
	h->storing = !json_object_object_get_ex(j, "storing", &v) || json_object_get_boolean(v);
	if (json_object_object_get_ex(j, "updated_us", &v))
		h->updated_us = json_object_get_int64(v);
	if (json_object_object_get_ex(j, "problems", &v))
		h->problems = json_object_get(v);
	json_object_put(j);
	/* the collector holds STATE_DIR/lock while it runs */
	char *lock = hvt_asprintf("%s/lock", dir);
	fd = open(lock, O_RDONLY | O_CLOEXEC);
	h->running = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	if (fd >= 0)
		close(fd);
	free(lock);
}

static const char *ago(long long us, char *buf, size_t size)
{
	long long s = (hvt_now_us() - us) / 1000000;

	if (!us)
		return "-";
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%llds", s);
	else if (s < 7200)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else if (s < 172800)
		snprintf(buf, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, size, "%lldd%02lldh", s / 86400, s / 3600 % 24);
	return buf;
}

/* "the collector cannot store ..." lines, on stdout before the table. */
static void print_health(const struct health *h)
{
	char a[40], b[40];

	if (!h->known || h->storing)
		return;
	size_t n = h->problems ? json_object_array_length(h->problems) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(h->problems, i), *v;
		long long since = json_object_object_get_ex(p, "since_us", &v) ? json_object_get_int64(v) : 0;
		const char *why = json_object_object_get_ex(p, "why", &v) ? json_object_get_string(v) : "?";
		struct hvt_buf clean = { 0 };
		out_sanitize(&clean, why);
		printf("COLLECTOR CANNOT STORE since %s (%s ago): %s\n", when(since, a, sizeof a),
		       ago(since, b, sizeof b), hvt_buf_cstr(&clean));
		hvt_buf_free(&clean);
	}
	if (!h->running)
		printf("(the collector is not running now: %s is from its last run)\n", h->path);
	printf("\n");
}

/* ---- table output ------------------------------------------------------ */


/* The forwarder's JSON as "a.b=1 c=x" on one line; nested keys joined by dots. */
static void flatten(struct hvt_buf *b, const char *prefix, json_object *o)
{
	json_object_object_foreach(o, key, val) {
		char *path = *prefix ? hvt_asprintf("%s.%s", prefix, key) : hvt_strdup(key);
		if (json_object_is_type(val, json_type_object)) {
			flatten(b, path, val);
		} else {
			/* keys too came from the forwarder (#15: a key could clear
			 * the operator's screen) */
			hvt_buf_append_str(b, b->len ? " " : "");
			out_sanitize(b, path);
			hvt_buf_append(b, "=", 1);
			out_sanitize(b, json_object_is_type(val, json_type_string)
				     ? json_object_get_string(val)
				     : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
		}
		free(path);
	}
}

/* The collector's own row is its receiver's report, not a forwarder's. */
static bool is_collector(const struct host_row *h)
{
	return strcmp(h->host, "(collector)") == 0;
}

static void print_report(const struct host_row *h)
{
	struct hvt_buf b = { 0 };
	json_object *o = h->report ? json_tokener_parse(h->report) : NULL;
	char age[40];

	if (!h->report)
		hvt_buf_append_str(&b, "(no report from its forwarder)");
	else if (o && json_object_is_type(o, json_type_object))
		flatten(&b, "", o);
	else
		out_sanitize(&b, h->report);
	if (!h->report)
		printf("    forwarder: %s\n", hvt_buf_cstr(&b));
	else
		printf("    %s, reported %s ago: %s\n", is_collector(h) ? "this collector's receiver" : "forwarder",
		       ago(h->report_at, age, sizeof age), hvt_buf_cstr(&b));
	json_object_put(o);
	hvt_buf_free(&b);
}

static void print_table(const struct host_table *t, bool streams)
{
	char a[40], b[40], c[40], d[40];
	int hw = 4;

	for (size_t i = 0; i < t->n; i++) {
		struct hvt_buf host = { 0 };
		out_sanitize(&host, t->v[i].host);
		hw = HVT_MAX(hw, (int)host.len);
		hvt_buf_free(&host);
	}
	hw = HVT_MIN(hw, 64);
	printf("%-*s %10s %7s %8s  %-20s  %-20s  %-20s  %s\n", hw, "HOST", "EVENTS", "STREAMS", "MISSING",
	       "LAST EVENT (UTC)", "LAST STORED (UTC)", "LAST REPORT (UTC)", "REPORT AGE");
	for (size_t i = 0; i < t->n; i++) {
		const struct host_row *h = &t->v[i];
		struct hvt_buf host = { 0 };
		out_sanitize(&host, h->host);
		printf("%-*s %10" PRIu64 " %7zu %8" PRIu64 "  %-20s  %-20s  %-20s  %s\n", hw, hvt_buf_cstr(&host),
		       h->events, h->nsv, h->missing, when(h->last_ts, a, sizeof a),
		       when(h->last_indexed, b, sizeof b), when(h->report_at, c, sizeof c),
		       ago(h->report_at, d, sizeof d));
		hvt_buf_free(&host);
		for (size_t j = 0; streams && j < h->nsv; j++) {
			struct hvt_buf stream = { 0 };
			out_sanitize(&stream, h->sv[j].stream);
			printf("    stream %s: %" PRIu64 " events, highest seq %" PRIu64 ", last event %s\n",
			       hvt_buf_cstr(&stream), h->sv[j].count, h->sv[j].max_seq,
			       when(h->sv[j].last_ts_us, a, sizeof a));
			hvt_buf_free(&stream);
		}
		print_report(h);
	}
}

/* ---- JSON output ------------------------------------------------------- */

static json_object *json_time(long long us)
{
	char buf[40];

	if (!us)
		return NULL;
	hvt_format_rfc3339(us, buf, sizeof buf);
	return json_object_new_string(buf);
}

static json_object *streams_json(const struct host_row *h)
{
	json_object *a = json_object_new_array();

	for (size_t j = 0; j < h->nsv; j++) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "stream", json_object_new_string(h->sv[j].stream));
		json_object_object_add(s, "events", json_object_new_int64((int64_t)h->sv[j].count));
		json_object_object_add(s, "max_seq", json_object_new_int64((int64_t)h->sv[j].max_seq));
		json_object_object_add(s, "last_event", json_time(h->sv[j].last_ts_us));
		json_object_object_add(s, "last_stored", json_time(h->sv[j].last_indexed_us));
		json_object_array_add(a, s);
	}
	return a;
}

static json_object *health_json(const struct health *hl)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "storing", json_object_new_boolean(hl->storing));
	json_object_object_add(o, "running", json_object_new_boolean(hl->running));
	json_object_object_add(o, "problems", hl->problems ? json_object_get(hl->problems) : json_object_new_array());
	return o;
}

static void print_json(const struct host_table *t, bool streams, const struct health *hl)
{
	bool has_collector = false;

	for (size_t i = 0; i < t->n; i++)
		has_collector = has_collector || is_collector(&t->v[i]);
	if (hl->known && !has_collector && !t->only) {
		/* the collector's health even before its first stats report */
		json_object *o = json_object_new_object();
		json_object_object_add(o, "host", json_object_new_string("(collector)"));
		json_object_object_add(o, "collector_health", health_json(hl));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct host_row *h = &t->v[i];
		json_object *o = json_object_new_object();
		json_object *report = h->report ? json_tokener_parse(h->report) : NULL;
		if (h->report && !report)
			report = json_object_new_string(h->report);   /* keep what was sent */
		json_object_object_add(o, "host", json_object_new_string(h->host));
		json_object_object_add(o, "events", json_object_new_int64((int64_t)h->events));
		json_object_object_add(o, "streams", json_object_new_int64((int64_t)h->nsv));
		json_object_object_add(o, "missing", json_object_new_int64((int64_t)h->missing));
		json_object_object_add(o, "last_event", json_time(h->last_ts));
		json_object_object_add(o, "last_stored", json_time(h->last_indexed));
		/* "forwarder" also for the collector's row (its receiver's report),
		 * which "role" names; scripts read both the same way */
		json_object_object_add(o, "role", json_object_new_string(is_collector(h) ? "collector" : "forwarder"));
		json_object_object_add(o, "forwarder", report);
		json_object_object_add(o, "forwarder_reported", json_time(h->report_at));
		if (is_collector(h) && hl->known)
			json_object_object_add(o, "collector_health", health_json(hl));
		if (h->report_at)
			json_object_object_add(o, "report_age_s",
					       json_object_new_int64((hvt_now_us() - h->report_at) / 1000000));
		if (streams)
			json_object_object_add(o, "stream_list", streams_json(h));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
}

static int run(const struct stats_opts *o)
{
	struct cli_index ix;
	struct host_table t = { .only = o->host };
	int rc = cli_index_open(CMD, &o->idx, &ix);

	if (rc != CLI_OK)
		return rc;
	struct health hl;
	struct quarantine_view q = { 0 };
	read_health(o, &ix, &hl);
	rc = gather(&ix, &t);
	if (rc == CLI_OK && !o->host && ix.ops->quarantined && ix.ops->quarantined(&ix.inst, add_quarantined, &q) < 0) {
		cli_error(CMD, "cannot read the quarantine");
		rc = CLI_FAILED;
	}
	if (rc == CLI_OK) {
		pager_start(o->idx.no_pager);
		if (o->json) {
			print_json(&t, o->streams, &hl);
			if (q.n)
				print_quarantine_json(&q);
		} else {
			print_health(&hl);
			print_table(&t, o->streams);
			print_quarantine(&q);
		}
		rc = cli_output_status(CMD);
		if (rc == CLI_OK && hl.known && !hl.storing) {
			cli_error(CMD, "the collector cannot store what it receives (see above)");
			rc = CLI_NEGATIVE;
		}
	}
	json_object_put(hl.problems);
	quarantine_free(&q);
	table_free(&t);
	cli_index_close(&ix);
	return rc;
}

int cmd_stats(int argc, char **argv)
{
	struct stats_opts o;
	int rc = parse(argc, argv, &o);

	return rc == PARSED ? run(&o) : rc;
}
