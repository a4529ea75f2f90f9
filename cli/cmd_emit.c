/* cmd_emit.c - hvtrail emit: hand events to the local forwarder.
 *
 *   hvtrail emit --type T [--vm NAME] [--uuid U] [--msg TEXT] [KEY=VALUE ...]
 *   hvtrail emit --stdin                 JSON events, one per line
 *   hvtrail emit --count N [--rate R]    numbered load (data.n), for tests/benchmarks
 *
 * It talks to the forwarder's in_local socket (docs/local-socket.md): one
 * JSON event per line, one answer per line, "ok" once the event is durably
 * spooled.  Exit status 0 only when every event was acknowledged, so a hook
 * script can tell whether its event is safe.
 *
 * Every event carries an idempotency key, so sending it again is harmless:
 * the forwarder drops a key it has seen (within its window, across its own
 * restarts).  By default the key is "<client id>:<n>" with a random client
 * id per run, which makes this run's own resends (--retry-for) safe; --id
 * (one event) or --client-id (a series) give a key that stays the same
 * when a script runs emit again, which makes a retrying hook script safe. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli.h"
#include "conf.h"
#include "event.h"
#include "timefmt.h"
#include "util.h"

#define CMD "emit"
#define DEFAULT_SOCKET "/run/hvtrail/local.sock"
/* Unanswered events on the wire.  Answers come once events are synced
 * (up to the forwarder's fsync_interval later), so the window must hold
 * what arrives in that time at full speed. */
#define MAX_INFLIGHT (1 << 21)

/* Lines queued ahead of the socket: a partial send moves the rest to the
 * front, so the queue stays about one socket buffer long (a megabyte made
 * the load generator spend its time in memmove). */
#define OUT_HIGH (64u << 10)

struct emitter {
	const char *socket;
	int fd;
	/* what to send */
	FILE *in;                     /* --stdin */
	char *single;                 /* one event from the command line */
	long long count, start;       /* --count N from --start */
	const char *type;
	size_t size;                  /* --size: pad generated events to about this */
	double rate;                  /* events per second, 0 = as fast as possible */
	long long retry_ms;           /* reconnect for this long after a failure */
	const char *report;
	char client[80];              /* the client id in generated keys */
	/* progress */
	long long next;               /* next generated number to send */
	long long sent, acked, failed;
	long long *inflight;          /* numbers sent, not yet answered (FIFO) */
	size_t in_head, in_tail;
	long long *resent;            /* numbers sent again after a lost connection */
	size_t nresent;
	bool input_done;
	struct hvt_buf out, in_buf;
	long long t0;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s emit [--socket PATH | -c FORWARDER.CONF] EVENT\n"
		"Hand events to the local hvtrail-forwarder (its [in_local] socket).\n\n"
		"EVENT is one of:\n"
		"  -t, --type TYPE [--vm NAME] [--uuid UUID] [--severity S] [--msg TEXT]\n"
		"       [--ts TIME] [KEY=VALUE ...]   one event; KEY=VALUE pairs go to data\n"
		"                                      (numbers, true/false/null as JSON)\n"
		"      --stdin                        JSON events from standard input, one per line\n"
		"      --count N [--type TYPE] [--start K] [--size BYTES] [--rate R]\n"
		"                                      N numbered events (data.n = K, K+1, ...) for\n"
		"                                      tests and benchmarks; --rate per second\n\n"
		"Options:\n"
		"      --socket PATH      the forwarder's local socket (default %s)\n"
		"  -c, --config FILE      take the socket from this forwarder config's [in_local]\n"
		"      --id KEY           the event's idempotency key: the forwarder stores an event\n"
		"                         with a key it has seen only once, so a hook script that\n"
		"                         runs emit again with the same --id is safe (one event)\n"
		"      --client-id ID     keys are ID:N (N = data.n with --count, the line number\n"
		"                         with --stdin, 0 for one event); default: a random ID\n"
		"      --retry-for SECS   on a lost connection, reconnect and resend the unanswered\n"
		"                         events for up to SECS (their keys make that harmless;\n"
		"                         they are listed by --report)\n"
		"      --report FILE      write {sent, acked, failed, resent:[n...]} as JSON\n"
		"  -h, --help             this help\n\n"
		"Exit status: 0 every event acknowledged, 1 some refused (reasons on stderr),\n"
		"2 usage error, 3 the forwarder cannot be reached or went away.\n",
		CLI_PROG, DEFAULT_SOCKET);
}

/* KEY=VALUE: a JSON value when VALUE parses as a number, bool or null. */
static json_object *value_of(const char *v)
{
	char *end;

	if (!strcmp(v, "true") || !strcmp(v, "false"))
		return json_object_new_boolean(v[0] == 't');
	if (!strcmp(v, "null"))
		return NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*v && !*end && !errno)
		return json_object_new_int64(n);
	double d = strtod(v, &end);
	if (*v && !*end)
		return json_object_new_double(d);
	return json_object_new_string(v);
}

static char *build_single(const char *type, const char *vm, const char *uuid, const char *sev,
			  const char *msg, long long ts, const char *key, char **pairs, int npairs)
{
	struct hvt_event *ev = hvt_event_new(type);
	struct hvt_buf b = { 0 };

	hvt_event_set_vm(ev, vm, uuid);
	hvt_event_set_str(&ev->key, key);
	if (sev)
		ev->severity = hvt_severity_parse(sev);
	if (msg)
		hvt_event_set_msg(ev, "%s", msg);
	ev->ts_us = ts;
	for (int i = 0; i < npairs; i++) {
		char *eq = strchr(pairs[i], '=');
		char *name = hvt_strndup(pairs[i], (size_t)(eq - pairs[i]));
		hvt_event_data_add(ev, name, value_of(eq + 1));
		free(name);
	}
	hvt_event_to_json(ev, &b);
	hvt_event_free(ev);
	return b.data;
}

static const char *socket_from_config(const char *file)
{
	static char path[4096];
	const struct hvt_conf_key keys[] = {
		{ "socket", HVT_CONF_PATH, DEFAULT_SOCKET, "", NULL, 0, 0, 0 }, HVT_CONF_END
	};
	struct hvt_conf *c = hvt_conf_load(file, CLI_PROG);

	if (!c)
		return NULL;
	hvt_strlcpy(path, hvt_conf_str(hvt_conf_find(c, "in_local"), keys, "socket"), sizeof path);
	hvt_conf_free(c);
	return path;
}

static int connect_socket(struct emitter *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(e->socket) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	hvt_strlcpy(sa.sun_path, e->socket, sizeof sa.sun_path);
	e->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (e->fd < 0 || connect(e->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int err = -errno;
		if (e->fd >= 0)
			close(e->fd);
		e->fd = -1;
		return err;
	}
	return 0;
}

static size_t inflight_n(const struct emitter *e)
{
	return e->in_tail - e->in_head;
}

/* A line from --stdin, with a key "<client>:<line number>" unless it has
 * one (a line that is not a JSON object goes as it is: the forwarder says
 * what is wrong with it). */
static void add_key(struct emitter *e, const char *line, size_t n, long long lineno)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, line, (int)n), *k;

	if (o && json_object_is_type(o, json_type_object) && !json_object_object_get_ex(o, "key", &k)) {
		char key[120];
		size_t len;
		snprintf(key, sizeof key, "%s:%lld", e->client, lineno);
		json_object_object_add(o, "key", json_object_new_string(key));
		const char *t = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		hvt_buf_append(&e->out, t, len);
	} else {
		hvt_buf_append(&e->out, line, n);
	}
	json_object_put(o);
	json_tokener_free(tok);
}

/* Queue the next event's line; false when there is nothing more. */
static bool queue_next(struct emitter *e)
{
	if (e->single) {
		if (e->sent)
			return false;
		hvt_buf_append_str(&e->out, e->single);
		hvt_buf_append(&e->out, "\n", 1);
		e->inflight[e->in_tail++ % MAX_INFLIGHT] = 0;
		return true;
	}
	if (e->in) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n = getline(&line, &cap, e->in);
		if (n <= 0) {
			free(line);
			return false;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n) {
			add_key(e, line, (size_t)n, e->sent);
			hvt_buf_append(&e->out, "\n", 1);
			e->inflight[e->in_tail++ % MAX_INFLIGHT] = e->sent;
		}
		free(line);
		return n ? true : queue_next(e);
	}
	if (e->next >= e->start + e->count)
		return false;
	size_t before = e->out.len;
	hvt_buf_printf(&e->out, "{\"type\":\"%s\",\"key\":\"%s:%lld\",\"vm\":{\"name\":\"vm%lld\"},"
		       "\"msg\":\"load event %lld\",\"data\":{\"n\":%lld", e->type, e->client, e->next, e->next % 100,
		       e->next, e->next);
	size_t len = e->out.len - before + 4;
	if (e->size > len + 10) {
		size_t pad = e->size - (len + 10);
		hvt_buf_append_str(&e->out, ",\"pad\":\"");
		hvt_buf_reserve(&e->out, pad);
		memset(e->out.data + e->out.len, 'x', pad);
		e->out.len += pad;
		hvt_buf_append(&e->out, "\"", 1);
	}
	hvt_buf_append_str(&e->out, "}}\n");
	e->inflight[e->in_tail++ % MAX_INFLIGHT] = e->next++;
	return true;
}

/* Take the answers that arrived; returns -1 when the forwarder went away. */
static int read_answers(struct emitter *e)
{
	char buf[65536];
	ssize_t r = read(e->fd, buf, sizeof buf);

	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (r < 0)
		return 0;
	hvt_buf_append(&e->in_buf, buf, (size_t)r);
	char *p = e->in_buf.data, *end = p + e->in_buf.len, *nl;
	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		*nl = '\0';
		long long n = inflight_n(e) ? e->inflight[e->in_head++ % MAX_INFLIGHT] : -1;
		if (strcmp(p, "ok") == 0) {
			e->acked++;
		} else {
			e->failed++;
			if (e->count)
				cli_error(CMD, "event %lld refused: %s", n, p);
			else
				cli_error(CMD, "refused: %s", p);
		}
		p = nl + 1;
	}
	size_t rest = (size_t)(end - p);
	memmove(e->in_buf.data, p, rest);
	e->in_buf.len = rest;
	return 0;
}

/* Wait time before the next event may be queued at --rate. */
static int rate_wait_ms(const struct emitter *e)
{
	if (e->rate <= 0)
		return 0;
	double due_s = (double)(e->sent) / e->rate;
	double now_s = (double)(hvt_mono_us() - e->t0) / 1e6;
	return due_s > now_s ? (int)((due_s - now_s) * 1000) + 1 : 0;
}

static int pump(struct emitter *e)
{
	for (;;) {
		/* fill the output while the window and the rate allow */
		while (!e->input_done && inflight_n(e) < MAX_INFLIGHT - 1 && e->out.len < OUT_HIGH &&
		       rate_wait_ms(e) == 0) {
			if (!queue_next(e))
				e->input_done = true;
			else
				e->sent++;
		}
		if (e->input_done && !e->out.len && !inflight_n(e))
			return 0;
		struct pollfd pfd = { e->fd, POLLIN | (e->out.len ? POLLOUT : 0), 0 };
		int wait = e->input_done || inflight_n(e) >= MAX_INFLIGHT - 1 ? 1000 : HVT_MAX(rate_wait_ms(e), 0);
		if (poll(&pfd, 1, e->out.len ? -1 : wait) < 0 && errno != EINTR)
			return -1;
		if (pfd.revents & POLLIN && read_answers(e) < 0)
			return -1;
		if (pfd.revents & (POLLERR | POLLHUP) && !(pfd.revents & POLLIN))
			return -1;
		if (pfd.revents & POLLOUT) {
			ssize_t w = send(e->fd, e->out.data, e->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
			if (w > 0) {
				memmove(e->out.data, e->out.data + w, e->out.len - (size_t)w);
				e->out.len -= (size_t)w;
			}
		}
	}
}

/* The connection broke: unanswered generated events are sent again (they
 * may have been spooled already - the report lists them). */
static void requeue_unanswered(struct emitter *e)
{
	long long lowest = e->next;

	for (size_t i = e->in_head; i < e->in_tail; i++) {
		long long n = e->inflight[i % MAX_INFLIGHT];
		if (n < lowest)
			lowest = n;
		e->resent = hvt_realloc(e->resent, sizeof(long long) * (e->nresent + 1));
		e->resent[e->nresent++] = n;
	}
	e->sent -= (long long)inflight_n(e);
	e->next = lowest;
	e->in_head = e->in_tail = 0;
	hvt_buf_reset(&e->out);
	hvt_buf_reset(&e->in_buf);
}

static void write_report(const struct emitter *e)
{
	FILE *f = fopen(e->report, "w");

	if (!f) {
		cli_error(CMD, "cannot write %s: %s", e->report, strerror(errno));
		return;
	}
	fprintf(f, "{\"sent\":%lld,\"acked\":%lld,\"failed\":%lld,\"resent\":[", e->sent, e->acked, e->failed);
	for (size_t i = 0; i < e->nresent; i++)
		fprintf(f, "%s%lld", i ? "," : "", e->resent[i]);
	fprintf(f, "]}\n");
	fclose(f);
}

static int run(struct emitter *e)
{
	long long give_up = 0;
	int rc;

	e->inflight = hvt_calloc(MAX_INFLIGHT, sizeof(long long));
	e->t0 = hvt_mono_us();
	e->next = e->start;
	for (;;) {
		rc = connect_socket(e);
		if (rc == 0) {
			give_up = 0;
			if (pump(e) == 0)
				break;
			close(e->fd);
			e->fd = -1;
			if (!e->retry_ms || (!e->count && !e->single)) {
				cli_error(CMD, "the forwarder closed %s with %zu events unanswered", e->socket,
					  inflight_n(e));
				return CLI_NO_INDEX;
			}
			cli_error(CMD, "the forwarder went away with %zu events unanswered; reconnecting",
				  inflight_n(e));
			requeue_unanswered(e);
			e->input_done = false;
			continue;
		}
		if (!give_up)
			give_up = hvt_mono_us() + e->retry_ms * 1000;
		if (hvt_mono_us() >= give_up) {
			cli_error(CMD, "cannot reach the forwarder at %s: %s", e->socket, strerror(-rc));
			return CLI_NO_INDEX;
		}
		usleep(50000);
	}
	close(e->fd);
	if (e->count) {
		double s = (double)(hvt_mono_us() - e->t0) / 1e6;
		fprintf(stderr, "%s %s: %lld events acknowledged in %.2f s (%.0f/s), %lld refused, %zu resent\n",
			CLI_PROG, CMD, e->acked, s, s > 0 ? (double)e->acked / s : 0.0, e->failed, e->nresent);
	}
	return e->failed ? CLI_NEGATIVE : CLI_OK;
}

int cmd_emit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "type", required_argument, NULL, 't' },
		{ "vm", required_argument, NULL, 'v' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "severity", required_argument, NULL, 'p' },
		{ "msg", required_argument, NULL, 'm' },
		{ "ts", required_argument, NULL, 'T' },
		{ "stdin", no_argument, NULL, 'I' },
		{ "count", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 'z' },
		{ "rate", required_argument, NULL, 'r' },
		{ "retry-for", required_argument, NULL, 'R' },
		{ "id", required_argument, NULL, 'i' },
		{ "client-id", required_argument, NULL, 'C' },
		{ "report", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct emitter e = { .socket = DEFAULT_SOCKET, .fd = -1 };
	const char *vm = NULL, *uuid = NULL, *sev = NULL, *msg = NULL;
	long long ts = 0;
	bool use_stdin = false;
	const char *id = NULL, *client = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "c:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': e.socket = optarg; break;
		case 'c':
			if (!(e.socket = socket_from_config(optarg))) {
				cli_error(CMD, "cannot read %s", optarg);
				return CLI_USAGE;
			}
			break;
		case 't': e.type = optarg; break;
		case 'v': vm = optarg; break;
		case 'u': uuid = optarg; break;
		case 'p':
			if (hvt_severity_parse(optarg) < 0) {
				cli_error(CMD, "--severity '%s' is not a syslog severity (emerg ... debug)", optarg);
				return CLI_USAGE;
			}
			sev = optarg;
			break;
		case 'm': msg = optarg; break;
		case 'T':
			if (!cli_parse_time(CMD, "--ts", optarg, &ts))
				return CLI_USAGE;
			break;
		case 'I': use_stdin = true; break;
		case 'n': e.count = strtoll(optarg, NULL, 10); break;
		case 'k': e.start = strtoll(optarg, NULL, 10); break;
		case 'z': e.size = (size_t)strtoull(optarg, NULL, 10); break;
		case 'r': e.rate = strtod(optarg, NULL); break;
		case 'R': e.retry_ms = (long long)(strtod(optarg, NULL) * 1000); break;
		case 'o': e.report = optarg; break;
		case 'i': id = optarg; break;
		case 'C': client = optarg; break;
		case 'h': usage(stdout); return CLI_OK;
		default: return cli_usage_error(CMD);
		}
	}
	int modes = (use_stdin ? 1 : 0) + (e.count > 0 ? 1 : 0);
	if (modes > 1 || (!modes && !e.type)) {
		cli_error(CMD, "say what to send: --type TYPE, --stdin or --count N");
		return cli_usage_error(CMD);
	}
	if (!e.type)
		e.type = "load.event";
	if ((id && (use_stdin || e.count)) || (id && client)) {
		cli_error(CMD, "--id is the key of one event; for --count or --stdin give --client-id");
		return cli_usage_error(CMD);
	}
	for (const char *k = id ? id : client; k && *k; k++)
		if ((unsigned char)*k < 0x20 || *k == '"' || *k == '\\' || *k == 0x7f) {
			cli_error(CMD, "--id/--client-id: printable characters only, no quotes or backslashes");
			return CLI_USAGE;
		}
	if ((id && !*id) || (id && strlen(id) > 200) || (client && (!*client || strlen(client) > 60))) {
		cli_error(CMD, "--id takes 1 to 200 characters, --client-id 1 to 60");
		return CLI_USAGE;
	}
	if (client) {
		hvt_strlcpy(e.client, client, sizeof e.client);
	} else {
		unsigned char raw[8];
		hvt_random(raw, sizeof raw);
		hvt_hex(raw, sizeof raw, e.client);
	}
	char single_key[100];
	snprintf(single_key, sizeof single_key, "%s:0", e.client);
	if (!hvt_type_valid(e.type)) {
		cli_error(CMD, "--type '%s' must be dotted lowercase words (e.g. vm.hook.started)", e.type);
		return CLI_USAGE;
	}
	if (use_stdin) {
		e.in = stdin;
	} else if (!e.count) {
		for (int i = optind; i < argc; i++)
			if (!strchr(argv[i], '=') || argv[i][0] == '=') {
				cli_error(CMD, "'%s' is not KEY=VALUE", argv[i]);
				return cli_usage_error(CMD);
			}
		e.single = build_single(e.type, vm, uuid, sev, msg, ts, id ? id : single_key, argv + optind,
					argc - optind);
	} else if (optind < argc) {
		return cli_usage_error(CMD);
	}
	int rc = run(&e);
	if (e.report)
		write_report(&e);
	free(e.single);
	free(e.inflight);
	free(e.resent);
	hvt_buf_free(&e.out);
	hvt_buf_free(&e.in_buf);
	return rc;
}
