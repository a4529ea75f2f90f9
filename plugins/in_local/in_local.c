/* in_local.c - events from local tools over a unix socket.
 *
 * Protocol (docs/local-socket.md): a client connects to the stream socket
 * and writes one JSON event per line ({"type":..., "vm":{...}, "msg":...,
 * "data":{...}, "key":...}; identity fields are assigned by the forwarder).
 * For every line it gets one answer line, in order: "ok" once the event is
 * durably spooled, or "error <reason>".  `hvtrail emit` and libvirt/Xen hook
 * scripts use it; it is also the load generator of the benchmarks.
 *
 * "key" is the client's idempotency key: a line whose key the forwarder
 * has seen within its window is answered "ok" without a second event
 * (pipeline.h).  Keys are scoped by the client's uid, so one local user
 * cannot suppress another's events by sending their keys first.
 *
 * Back-pressure: a client that does not read its answers, or a paused
 * pipeline, stops us reading from that client; nothing is dropped. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "event.h"
#include "hvtrail-plugin.h"
#include "log.h"
#include "util.h"

#define READ_CHUNK 65536
#define MAX_PENDING_REPLY (1u << 20)   /* stop reading a client that does not read */
#define MAX_KEY 256

static const struct hvt_conf_key keys[] = {
	{ "socket", HVT_CONF_PATH, "/run/hvtrail/local.sock", "unix socket local tools write events to",
	  NULL, 0, 0, 0 },
	{ "mode", HVT_CONF_STRING, "0660", "permissions of the socket (octal)", NULL, 0, 0, 0 },
	{ "group", HVT_CONF_STRING, "", "group owning the socket (empty: the forwarder's group)", NULL, 0, 0, 0 },
	{ "max_line", HVT_CONF_SIZE, "64K", "longest event line accepted", NULL, 256, 16 << 20, 0 },
	{ "max_clients", HVT_CONF_INT, "64", "connections served at once", NULL, 1, 100000, 0 },
	HVT_CONF_END
};

struct client {
	struct local *l;
	int fd;
	sd_event_source *src;
	struct hvt_buf in;            /* partial line */
	struct hvt_buf out;           /* answers ready to write */
	char **answers;               /* answers in line order; NULL = "ok" awaiting the commit */
	size_t nanswers, cap_answers;
	unsigned waiting;             /* NULL entries in answers */
	bool discarding;              /* inside an over-long line */
	bool eof;
	uid_t uid;                    /* the client's (SO_PEERCRED): keys are scoped by it */
	struct client *next;
};

struct local {
	struct hvt_instance *inst;
	char *path;
	mode_t mode;
	gid_t gid;
	size_t max_line;
	int max_clients;
	int fd;
	sd_event_source *listen_src;
	struct client *clients;
	int nclients;
	bool paused;
	uint64_t accepted, rejected, repeats;
	struct hvt_ratelimit rl;
};

static void client_free(struct client *c)
{
	struct local *l = c->l;

	for (struct client **p = &l->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	l->nclients--;
	sd_event_source_unref(c->src);
	close(c->fd);
	hvt_buf_free(&c->in);
	hvt_buf_free(&c->out);
	for (size_t i = 0; i < c->nanswers; i++)
		free(c->answers[i]);
	free(c->answers);
	free(c);
	if (l->listen_src && !l->paused)
		sd_event_source_set_enabled(l->listen_src, SD_EVENT_ON);
}

/* Read when there is room for answers and the pipeline takes events;
 * write while answers are pending. */
static void client_update_events(struct client *c)
{
	uint32_t ev = 0;

	if (!c->l->paused && !c->eof && c->out.len < MAX_PENDING_REPLY)
		ev |= EPOLLIN;
	if (c->out.len)
		ev |= EPOLLOUT;
	sd_event_source_set_io_events(c->src, ev);
	sd_event_source_set_enabled(c->src, ev ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void push_answer(struct client *c, char *text)
{
	if (c->nanswers == c->cap_answers) {
		c->cap_answers = c->cap_answers ? c->cap_answers * 2 : 64;
		c->answers = hvt_realloc(c->answers, sizeof(char *) * c->cap_answers);
	}
	c->answers[c->nanswers++] = text;
	if (!text)
		c->waiting++;
}

/* Move answers that are final, in order, to the output buffer. */
static void release_answers(struct client *c, bool commit_done)
{
	size_t i = 0;

	for (; i < c->nanswers; i++) {
		char *a = c->answers[i];
		if (!a && !commit_done)
			break;
		if (a) {
			hvt_buf_append_str(&c->out, a);
			free(a);
		} else {
			hvt_buf_append(&c->out, "ok", 2);
			c->waiting--;
		}
		hvt_buf_append(&c->out, "\n", 1);
	}
	memmove(c->answers, c->answers + i, sizeof(char *) * (c->nanswers - i));
	c->nanswers -= i;
}

static void reply(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct client *c, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = hvt_strdup("error");
	va_end(ap);
	for (char *p = text; *p; p++)        /* one line per answer */
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	push_answer(c, text);
	release_answers(c, false);
}

static void handle_line(struct client *c, const char *line, size_t len)
{
	struct local *l = c->l;
	char err[256];
	struct hvt_event_limits lim = hvt_event_default_limits;

	lim.max_json = l->max_line;
	struct hvt_event *ev = hvt_event_from_json(line, len, &lim, false, err, sizeof err);
	if (!ev) {
		l->rejected++;
		hvt_log_ratelimited(&l->rl, LOG_WARNING, "[%s] rejected an event from a local client: %s",
				    l->inst->name, err);
		reply(c, "error %s", err);
		return;
	}
	/* identity is the forwarder's to assign; a client may not choose it */
	hvt_event_set_str(&ev->id, NULL);
	hvt_event_set_str(&ev->stream, NULL);
	hvt_event_set_str(&ev->prev, NULL);
	hvt_event_set_str(&ev->host, NULL);
	ev->seq = 0;
	if (!ev->source)
		ev->source = hvt_strdup("local");
	char *scoped = NULL;
	if (ev->key) {
		size_t n = strlen(ev->key);
		bool printable = n > 0 && n <= MAX_KEY;
		for (size_t i = 0; i < n && printable; i++)
			printable = (unsigned char)ev->key[i] >= 0x20 && ev->key[i] != 0x7f;
		if (!printable) {
			l->rejected++;
			hvt_event_free(ev);
			reply(c, "error field 'key' must be 1 to %d printable characters", MAX_KEY);
			return;
		}
		scoped = hvt_asprintf("%u:%s", (unsigned)c->uid, ev->key);
	}
	struct hvt_emit_opts o = { .key = scoped };
	push_answer(c, NULL);
	if (l->inst->host->emit_with(l->inst, ev, &o) == HVT_EMIT_REPEAT)
		l->repeats++;         /* answered "ok" with the others at the next commit */
	else
		l->accepted++;
	free(scoped);
}

static void consume_input(struct client *c, const char *p, size_t n)
{
	struct local *l = c->l;

	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (!c->discarding) {
			if (c->in.len + take > l->max_line) {
				c->discarding = true;
				hvt_buf_reset(&c->in);
			} else {
				hvt_buf_append(&c->in, p, take);
			}
		}
		if (!nl)
			return;
		if (c->discarding) {
			l->rejected++;
			reply(c, "error line longer than max_line (%zu bytes)", l->max_line);
			c->discarding = false;
		} else if (c->in.len) {
			size_t len = c->in.len;
			if (c->in.data[len - 1] == '\r')
				len--;
			if (len)
				handle_line(c, c->in.data, len);
		}
		hvt_buf_reset(&c->in);
		p = nl + 1;
		n -= take + 1;
	}
}

static int flush_out(struct client *c)
{
	while (c->out.len) {
		ssize_t w = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		memmove(c->out.data, c->out.data + w, c->out.len - (size_t)w);
		c->out.len -= (size_t)w;
	}
	return 0;
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct client *c = ud;
	char buf[READ_CHUNK];

	(void)s;
	if (revents & EPOLLIN) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r > 0)
			consume_input(c, buf, (size_t)r);
		else if (r == 0 || (errno != EAGAIN && errno != EINTR))
			c->eof = true;
	}
	if ((revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && flush_out(c) < 0) {
		client_free(c);
		return 0;
	}
	if (c->eof && !c->waiting && !c->out.len) {
		client_free(c);
		return 0;
	}
	if ((revents & EPOLLHUP) && !(revents & EPOLLIN) && !c->waiting) {
		client_free(c);
		return 0;
	}
	client_update_events(c);
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct local *l = ud;

	(void)revents;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return 0;
	if (l->nclients >= l->max_clients) {
		hvt_log_ratelimited(&l->rl, LOG_WARNING, "[%s] %d clients connected (max_clients): refusing "
				    "another until one leaves", l->inst->name, l->nclients);
		close(cfd);
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return 0;
	}
	struct client *c = hvt_calloc(1, sizeof *c);
	struct ucred cred;
	socklen_t clen = sizeof cred;
	c->l = l;
	c->fd = cfd;
	c->uid = getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 ? cred.uid : (uid_t)-1;
	if (sd_event_add_io(l->inst->host->loop, &c->src, cfd, EPOLLIN, on_client, c) < 0) {
		close(cfd);
		free(c);
		return 0;
	}
	c->next = l->clients;
	l->clients = c;
	l->nclients++;
	client_update_events(c);
	return 0;
}

/* ---- plugin callbacks ------------------------------------------------- */

static int check(struct hvt_instance *inst)
{
	const char *mode = hvt_conf_str(inst->conf, keys, "mode");
	const char *group = hvt_conf_str(inst->conf, keys, "group");
	char *end;

	strtoul(mode, &end, 8);
	if (!*mode || *end) {
		hvt_conf_error(inst->config, inst->conf ? inst->conf->file : inst->config->path,
			       inst->conf ? inst->conf->line : 0, "[%s] mode: '%s' is not an octal mode",
			       inst->name, mode);
		return -1;
	}
	if (*group && !getgrnam(group)) {
		hvt_conf_error(inst->config, inst->conf ? inst->conf->file : inst->config->path,
			       inst->conf ? inst->conf->line : 0, "[%s] group: no group '%s'", inst->name, group);
		return -1;
	}
	return 0;
}

static int listen_socket(struct local *l);

static int init(struct hvt_instance *inst)
{
	struct local *l = hvt_calloc(1, sizeof *l);
	const char *group = hvt_conf_str(inst->conf, keys, "group");

	inst->priv = l;
	l->inst = inst;
	l->fd = -1;
	l->path = hvt_strdup(hvt_conf_str(inst->conf, keys, "socket"));
	l->mode = (mode_t)strtoul(hvt_conf_str(inst->conf, keys, "mode"), NULL, 8);
	l->gid = (gid_t)-1;
	if (*group) {
		struct group *g = getgrnam(group);
		if (g)
			l->gid = g->gr_gid;
	}
	l->max_line = hvt_conf_size(inst->conf, keys, "max_line");
	l->max_clients = (int)hvt_conf_int(inst->conf, keys, "max_clients");
	l->rl = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(5000);
	return listen_socket(l);
}

/* Make the listening socket.  The forwarder may still be root here and
 * the socket's directory may belong to the service user, so nothing is
 * done through a path a link could redirect: the directory is opened once,
 * the socket is bound inside it (through /proc/self/fd) with its final
 * mode already in the umask, and its group set without following a link.
 * (Found by review: chmod() and chown() on the path after bind() follow a
 * link put there meanwhile - to /etc/shadow, say.) */
static int listen_socket(struct local *l)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof sa.sun_path];
	const char *base = l->path;

	if (strlen(l->path) >= sizeof sa.sun_path) {
		hvt_log(LOG_ERR, "[%s] socket path %s is too long", l->inst->name, l->path);
		return -1;
	}
	hvt_strlcpy(dir, l->path, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash) {
		base = l->path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		hvt_mkdir_p(dir, 0755);
	} else {
		hvt_strlcpy(dir, ".", sizeof dir);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		hvt_log(LOG_ERR, "[%s] cannot open the socket's directory %s: %s", l->inst->name, dir, strerror(errno));
		return -1;
	}
	unlinkat(dfd, base, 0);         /* a stale socket from an earlier run (or a link: only it goes) */
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int n = snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, base);
	bool via_proc = n > 0 && (size_t)n < sizeof sa.sun_path && access("/proc/self/fd", X_OK) == 0;
	if (!via_proc)
		hvt_strlcpy(sa.sun_path, l->path, sizeof sa.sun_path);
	mode_t old = umask(~l->mode & 0777);
	int rc = l->fd < 0 ? -1 : bind(l->fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || listen(l->fd, 64) < 0) {
		hvt_log(LOG_ERR, "[%s] cannot listen on %s: %s", l->inst->name, l->path, strerror(errno));
		close(dfd);
		return -1;
	}
	if (l->gid != (gid_t)-1 && fchownat(dfd, base, (uid_t)-1, l->gid, AT_SYMLINK_NOFOLLOW) < 0)
		hvt_log(LOG_WARNING, "[%s] cannot give %s to group %d: %s", l->inst->name, l->path, (int)l->gid,
			strerror(errno));
	close(dfd);
	return 0;
}

/* After the privilege drop: serve the socket init made. */
static int run(struct hvt_instance *inst)
{
	struct local *l = inst->priv;

	if (sd_event_add_io(inst->host->loop, &l->listen_src, l->fd, EPOLLIN, on_accept, l) < 0)
		return -1;
	hvt_log(LOG_INFO, "[%s] accepting local events on %s", inst->name, l->path);
	return 0;
}

static void stop(struct hvt_instance *inst)
{
	struct local *l = inst->priv;

	if (!l)
		return;
	if (l->repeats)
		hvt_log(LOG_INFO, "[%s] %llu events accepted, %llu repeats (known keys) answered without a second "
			"event", inst->name, (unsigned long long)l->accepted, (unsigned long long)l->repeats);
	while (l->clients)
		client_free(l->clients);
	sd_event_source_unref(l->listen_src);
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
	}
	free(l->path);
	free(l);
	inst->priv = NULL;
}

static void pause_cb(struct hvt_instance *inst, bool paused)
{
	struct local *l = inst->priv;

	l->paused = paused;
	sd_event_source_set_enabled(l->listen_src, paused ? SD_EVENT_OFF : SD_EVENT_ON);
	for (struct client *c = l->clients; c; c = c->next)
		client_update_events(c);
}

/* Everything emitted so far is durable: answer "ok" for it. */
static void committed(struct hvt_instance *inst)
{
	struct local *l = inst->priv;

	for (struct client *c = l->clients, *next; c; c = next) {
		next = c->next;
		if (!c->waiting)
			continue;
		release_answers(c, true);
		if (flush_out(c) < 0) {
			client_free(c);
			continue;
		}
		if (c->eof && !c->out.len) {
			client_free(c);
			continue;
		}
		client_update_events(c);
	}
}

static char *stats(struct hvt_instance *inst)
{
	struct local *l = inst->priv;

	return hvt_asprintf("{\"clients\":%d,\"accepted\":%llu,\"rejected\":%llu,\"repeats\":%llu}",
			    l->nclients, (unsigned long long)l->accepted, (unsigned long long)l->rejected,
			    (unsigned long long)l->repeats);
}

static const struct hvt_input_ops ops = { .pause = pause_cb, .committed = committed, .stats = stats };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "in_local",
	.kind = HVT_PLUGIN_INPUT,
	.summary = "events from local tools and hook scripts over a unix socket",
	.conf_keys = keys,
	.check = check,
	.init = init,
	.run = run,
	.stop = stop,
	.ops = &ops,
};
