/* qmp_conn.c - see qmp_conn.h.
 *
 * States: GREETING (connected, waiting for {"QMP": ...}) -> NEGOTIATING
 * (qmp_capabilities sent) -> IDENTIFYING (query-name, query-uuid,
 * migrate-set-capabilities sent, pipelined) -> READY.  DEAD is final: every
 * source is off and the closed callback is pending on the defer source. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "qmp_conn.h"

#define READ_CHUNK 32768
#define READ_BUDGET (256 * 1024)     /* per dispatch, so one chatty VM cannot starve others */
#define MAX_EARLY_EVENTS 256         /* events held until the handshake ends */
#define HANDSHAKE_SLOTS 4

enum conn_state { ST_GREETING, ST_NEGOTIATING, ST_IDENTIFYING, ST_READY, ST_DEAD };

/* Which handshake step a command is (0 = an owner's command). */
enum step { STEP_NONE = 0, STEP_CAPS, STEP_NAME, STEP_UUID, STEP_MIGCAPS };

struct slot {
	bool used;
	long long id;
	enum step step;
	long long deadline;           /* CLOCK_MONOTONIC us */
	const char *cmd;              /* static string, for log lines */
	qmp_reply_fn fn;
	void *arg;
	uint64_t cookie;
};

struct qmp_conn {
	sd_event *loop;
	char *path;
	int fd;
	struct qmp_conn_opts opts;
	const struct qmp_conn_ops *ops;
	void *arg;
	sd_event_source *io, *timer, *defer;
	enum conn_state state;
	struct qmp_framer rx;
	struct hvt_buf tx;
	size_t tx_off;
	struct slot *slots;
	unsigned nslots;
	unsigned inflight;
	long long next_id;
	long long handshake_deadline;
	unsigned handshake_left;      /* identification replies still missing */
	struct qmp_msg *early;        /* events held during the handshake */
	unsigned nearly, early_pos;
	bool paused;
	long long paused_at;
	/* identity */
	char *name, *uuid, *version;
	bool mig_events;
	/* death */
	enum qmp_close why;
	char detail[256];
	bool closed_pending;
};

static struct qmp_conn_stats dummy_stats;

const char *qmp_close_name(enum qmp_close why)
{
	switch (why) {
	case QMP_CLOSE_EOF: return "eof";
	case QMP_CLOSE_REFUSED: return "refused";
	case QMP_CLOSE_NOENT: return "missing";
	case QMP_CLOSE_BUSY: return "busy";
	case QMP_CLOSE_TIMEOUT: return "timeout";
	case QMP_CLOSE_NOT_QMP: return "not-qmp";
	case QMP_CLOSE_HANDSHAKE: return "handshake";
	case QMP_CLOSE_OVERFLOW: return "overflow";
	case QMP_CLOSE_IO: return "io";
	}
	return "?";
}

static long long mono_now(struct qmp_conn *c)
{
	uint64_t now;

	if (sd_event_now(c->loop, CLOCK_MONOTONIC, &now) < 0)
		return hvt_mono_us();
	return (long long)now;
}

/* ---- failing ----------------------------------------------------------------- */

/* Mark the connection dead and report it from a clean dispatch of our own,
 * so callers up the stack never see the connection freed under them. */
static void conn_fail(struct qmp_conn *c, enum qmp_close why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_fail(struct qmp_conn *c, enum qmp_close why, const char *fmt, ...)
{
	va_list ap;

	if (c->state == ST_DEAD)
		return;
	c->state = ST_DEAD;
	c->why = why;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof c->detail, fmt, ap);
	va_end(ap);
	sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
	sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
	c->closed_pending = true;
	sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

/* ---- writing ----------------------------------------------------------------- */

static void update_io_events(struct qmp_conn *c)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;

	if (c->tx.len > c->tx_off)
		ev |= EPOLLOUT;
	sd_event_source_set_io_events(c->io, ev);
}

static void flush_tx(struct qmp_conn *c)
{
	while (c->tx_off < c->tx.len) {
		ssize_t n =
			send(c->fd, c->tx.data + c->tx_off, c->tx.len - c->tx_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->tx_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* a pipe broken under a write is the same fact as an end of file
		 * on a read: QEMU closed its end (killed while a poll was on its
		 * way).  Calling it an I/O error would hide a vanished VM. */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			conn_fail(c, QMP_CLOSE_EOF, "QEMU closed the monitor");
		else
			conn_fail(c, QMP_CLOSE_IO, "write failed: %s",
				  n < 0 ? strerror(errno) : "0 bytes");
		return;
	}
	if (c->tx_off == c->tx.len) {
		hvt_buf_reset(&c->tx);
		c->tx_off = 0;
	}
	update_io_events(c);
}

static struct slot *free_slot(struct qmp_conn *c, bool handshake)
{
	/* the last HANDSHAKE_SLOTS are kept for the handshake */
	unsigned n = handshake ? c->nslots : c->nslots - HANDSHAKE_SLOTS;

	for (unsigned i = 0; i < n; i++)
		if (!c->slots[i].used)
			return &c->slots[i];
	return NULL;
}

static bool send_command(struct qmp_conn *c, const char *cmd, json_object *args, enum step step,
			 qmp_reply_fn fn, void *arg, uint64_t cookie)
{
	struct slot *s = c->state == ST_DEAD ? NULL : free_slot(c, step != STEP_NONE);

	if (!s) {
		if (args)
			json_object_put(args);
		return false;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(o, "arguments", args);
	long long id = ++c->next_id;
	json_object_object_add(o, "id", json_object_new_int64(id));
	hvt_buf_append_str(&c->tx, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	hvt_buf_append(&c->tx, "\n", 1);
	json_object_put(o);
	*s = (struct slot){
		.used = true, .id = id, .step = step, .cmd = cmd, .fn = fn, .arg = arg,
		.cookie = cookie,
		.deadline = step != STEP_NONE ? c->handshake_deadline
					      : mono_now(c) + c->opts.command_timeout_us,
	};
	c->inflight++;
	flush_tx(c);
	return true;
}

/* ---- timers ------------------------------------------------------------------ */

static void arm_timer(struct qmp_conn *c)
{
	long long next = 0;

	if (c->state == ST_DEAD || c->paused) {
		sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
		return;
	}
	if (c->state != ST_READY)
		next = c->handshake_deadline;
	for (unsigned i = 0; i < c->nslots; i++)
		if (c->slots[i].used && (!next || c->slots[i].deadline < next))
			next = c->slots[i].deadline;
	if (!next) {
		sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(c->timer, (uint64_t)next);
	sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static const char *handshake_wait_words(const struct qmp_conn *c)
{
	switch (c->state) {
	case ST_GREETING: return "no QMP greeting";
	case ST_NEGOTIATING: return "qmp_capabilities not answered";
	case ST_IDENTIFYING: return "query-name/query-uuid not answered";
	default: return "handshake not finished";
	}
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct qmp_conn *c = userdata;
	long long now = (long long)usec;

	(void)s;
	if (c->state != ST_READY && now >= c->handshake_deadline) {
		c->opts.stats->timeouts++;
		static const char busy[] = ": the monitor may be busy with another client (QEMU "
			"greets a second client only when the first leaves), QEMU may be hung, or "
			"this is not QMP";
		conn_fail(c, QMP_CLOSE_TIMEOUT, "%s within %lld ms%s", handshake_wait_words(c),
			  c->opts.connect_timeout_us / 1000,
			  c->state == ST_GREETING ? busy : ": QEMU slow or hung");
		return 0;
	}
	for (unsigned i = 0; i < c->nslots && c->state == ST_READY; i++) {
		struct slot *sl = &c->slots[i];
		if (!sl->used || sl->deadline > now)
			continue;
		struct slot copy = *sl;
		sl->used = false;
		c->inflight--;
		c->opts.stats->timeouts++;
		static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
		hvt_log_ratelimited(&rl, LOG_WARNING,
				    "in_qmp: %s: %s (id %lld) not answered within "
				    "%lld ms: QEMU slow or hung; going on without it",
				    c->path, copy.cmd, copy.id, c->opts.command_timeout_us / 1000);
		if (copy.fn)
			copy.fn(copy.arg, copy.cookie, NULL, "timeout");
	}
	arm_timer(c);
	return 0;
}

/* ---- handshake ---------------------------------------------------------------- */

static void read_version(struct qmp_conn *c, const struct qmp_msg *m)
{
	json_object *qmp, *ver, *q;
	long long maj = 0, min = 0, mic = 0;
	char buf[64];

	if (!json_object_object_get_ex(m->obj, "QMP", &qmp) ||
	    !json_object_object_get_ex(qmp, "version", &ver) ||
	    !json_object_object_get_ex(ver, "qemu", &q))
		return;
	json_object *v;
	if (json_object_object_get_ex(q, "major", &v))
		maj = json_object_get_int64(v);
	if (json_object_object_get_ex(q, "minor", &v))
		min = json_object_get_int64(v);
	if (json_object_object_get_ex(q, "micro", &v))
		mic = json_object_get_int64(v);
	snprintf(buf, sizeof buf, "%lld.%lld.%lld", maj, min, mic);
	c->version = hvt_strdup(buf);
}

static const char *reply_str(const struct qmp_msg *m, const char *key)
{
	json_object *v;

	if (m->kind != QMP_MSG_REPLY || !json_object_is_type(m->ret, json_type_object) ||
	    !json_object_object_get_ex(m->ret, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Events held during the handshake go out first, one at a time, so a pause
 * requested while delivering them is honoured like any other. */
static bool deliver_early(struct qmp_conn *c)
{
	while (c->early_pos < c->nearly) {
		if (c->state != ST_READY || c->paused)
			return false;
		struct qmp_msg *m = &c->early[c->early_pos++];
		c->ops->message(c->arg, m);
		qmp_msg_clear(m);
	}
	if (c->early) {
		free(c->early);
		c->early = NULL;
		c->nearly = c->early_pos = 0;
	}
	return true;
}

static void become_ready(struct qmp_conn *c)
{
	struct qmp_identity id = {
		.name = c->name, .uuid = c->uuid, .version = c->version,
		.migration_events = c->mig_events,
	};

	c->state = ST_READY;
	arm_timer(c);
	c->ops->ready(c->arg, &id);   /* the held events follow from drain() */
}

static void on_handshake_reply(struct qmp_conn *c, enum step step, const struct qmp_msg *m)
{
	if (step == STEP_CAPS) {
		if (m->kind != QMP_MSG_REPLY) {
			conn_fail(c, QMP_CLOSE_HANDSHAKE, "qmp_capabilities refused: %.128s",
				  m->err_desc);
			return;
		}
		c->state = ST_IDENTIFYING;
		c->handshake_left = 2;
		send_command(c, "query-name", NULL, STEP_NAME, NULL, NULL, 0);
		send_command(c, "query-uuid", NULL, STEP_UUID, NULL, NULL, 0);
		if (c->opts.migration_events) {
			json_object *cap = json_object_new_object();
			json_object_object_add(cap, "capability", json_object_new_string("events"));
			json_object_object_add(cap, "state", json_object_new_boolean(1));
			json_object *caps = json_object_new_array();
			json_object_array_add(caps, cap);
			json_object *args = json_object_new_object();
			json_object_object_add(args, "capabilities", caps);
			c->handshake_left++;
			send_command(c, "migrate-set-capabilities", args, STEP_MIGCAPS, NULL, NULL,
				     0);
		}
		return;
	}
	const char *s;
	if (step == STEP_NAME && (s = reply_str(m, "name")))
		c->name = qmp_strdup_max(s, 256);
	else if (step == STEP_UUID && (s = reply_str(m, "UUID")))
		c->uuid = qmp_strdup_max(s, 64);
	else if (step == STEP_MIGCAPS && m->kind == QMP_MSG_REPLY)
		c->mig_events = true;
	else if (step == STEP_MIGCAPS) {
		/* e.g. "There's a migration process in progress": events stay as they are */
		static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
		hvt_log_ratelimited(&rl, LOG_NOTICE, "in_qmp: %s: could not turn on migration "
				    "events: %.160s", c->path, m->err_desc);
	}
	if (--c->handshake_left == 0 && c->state == ST_IDENTIFYING)
		become_ready(c);
}

/* ---- reading ------------------------------------------------------------------ */

static struct slot *find_slot(struct qmp_conn *c, const struct qmp_msg *m)
{
	if (!m->id_is_int)
		return NULL;
	for (unsigned i = 0; i < c->nslots; i++)
		if (c->slots[i].used && c->slots[i].id == m->id)
			return &c->slots[i];
	return NULL;
}

static void on_unmatched(struct qmp_conn *c, const struct qmp_msg *m)
{
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);

	c->opts.stats->unmatched++;
	/* QEMU answers malformed input with id-less errors, one per leftover
	 * token; a late reply to a timed-out command has an id we dropped. */
	if (m->kind == QMP_MSG_ERROR && !m->has_id)
		hvt_log_ratelimited(&rl, LOG_INFO, "in_qmp: %s: QEMU reported an error tied to no "
				    "command (ignored): %.160s", c->path, m->err_desc);
	else
		hvt_log_ratelimited(&rl, LOG_INFO,
				    "in_qmp: %s: %s with an id no command waits for "
				    "(late or foreign; ignored)",
				    c->path, qmp_msg_kind_name(m->kind));
}

static void on_reply(struct qmp_conn *c, const struct qmp_msg *m)
{
	struct slot *s = find_slot(c, m);

	if (!s) {
		on_unmatched(c, m);
		return;
	}
	struct slot copy = *s;
	s->used = false;
	c->inflight--;
	if (copy.step != STEP_NONE)
		on_handshake_reply(c, copy.step, m);
	else if (copy.fn)
		copy.fn(copy.arg, copy.cookie, m, NULL);
	arm_timer(c);
}

static void hold_early(struct qmp_conn *c, struct qmp_msg *m)
{
	if (c->nearly >= MAX_EARLY_EVENTS) {
		conn_fail(c, QMP_CLOSE_OVERFLOW,
			  "more than %d events before the handshake finished", MAX_EARLY_EVENTS);
		return;
	}
	if (!c->early)
		c->early = hvt_calloc(MAX_EARLY_EVENTS, sizeof *c->early);
	c->early[c->nearly++] = *m;   /* takes the parsed object */
	memset(m, 0, sizeof *m);
}

static void on_bad_line(struct qmp_conn *c, const struct qmp_msg *m)
{
	static struct hvt_ratelimit rl_big = HVT_RATELIMIT_INIT(60000);
	static struct hvt_ratelimit rl_bad = HVT_RATELIMIT_INIT(60000);
	bool big = m->kind == QMP_MSG_OVERSIZE;

	if (big)
		c->opts.stats->oversize++;
	else
		c->opts.stats->garbage++;
	hvt_log_ratelimited(big ? &rl_big : &rl_bad, LOG_WARNING,
			    "in_qmp: %s: skipped a %zu-byte line: %s%s", c->path, m->len, m->reason,
			    big ? " (raise max_line if QEMU really sends such lines)" : "");
}

/* One message; may fail the connection. */
static void dispatch(struct qmp_conn *c, struct qmp_msg *m)
{
	c->opts.stats->lines++;
	if (c->state == ST_GREETING) {
		if (m->kind != QMP_MSG_GREETING) {
			conn_fail(c, QMP_CLOSE_NOT_QMP, "first line is not a QMP greeting (%s%s%s)",
				  qmp_msg_kind_name(m->kind), m->reason ? ": " : "",
				  m->reason ? m->reason : "");
			return;
		}
		read_version(c, m);
		c->state = ST_NEGOTIATING;
		send_command(c, "qmp_capabilities", NULL, STEP_CAPS, NULL, NULL, 0);
		return;
	}
	switch (m->kind) {
	case QMP_MSG_EVENT:
		c->opts.stats->events++;
		if (c->state == ST_READY)
			c->ops->message(c->arg, m);
		else
			hold_early(c, m);
		break;
	case QMP_MSG_REPLY:
	case QMP_MSG_ERROR:
		on_reply(c, m);
		break;
	case QMP_MSG_GREETING:
		on_bad_line(c, &(struct qmp_msg){ .kind = QMP_MSG_GARBAGE, .len = m->len,
						   .reason = "a second greeting" });
		break;
	case QMP_MSG_GARBAGE:
	case QMP_MSG_OVERSIZE:
		on_bad_line(c, m);
		break;
	}
}

/* Deliver what is buffered; stop when paused or dead.  True when drained. */
static bool drain(struct qmp_conn *c)
{
	struct qmp_msg m;

	while (c->state != ST_DEAD && !c->paused) {
		if (c->state == ST_READY && !deliver_early(c))
			continue;
		if (!qmp_framer_next(&c->rx, &m))
			return true;
		dispatch(c, &m);
		qmp_msg_clear(&m);
	}
	return false;
}

static void read_some(struct qmp_conn *c)
{
	char buf[READ_CHUNK];
	size_t budget = READ_BUDGET;

	while (budget > 0 && drain(c)) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n > 0) {
			qmp_framer_push(&c->rx, buf, (size_t)n);
			budget -= HVT_MIN(budget, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == 0 || errno == ECONNRESET)
			conn_fail(c, QMP_CLOSE_EOF, "QEMU closed the monitor");
		else
			conn_fail(c, QMP_CLOSE_IO, "read failed: %s", strerror(errno));
		return;
	}
	drain(c);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct qmp_conn *c = userdata;

	(void)s;
	(void)fd;
	if (revents & EPOLLOUT)
		flush_tx(c);
	if (c->state != ST_DEAD && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
		read_some(c);
	return 0;
}

static int on_defer(sd_event_source *s, void *userdata)
{
	struct qmp_conn *c = userdata;

	(void)s;
	if (c->closed_pending) {
		c->closed_pending = false;
		c->ops->closed(c->arg, c->why, c->detail);   /* may free c */
		return 0;
	}
	/* resumed after back-pressure: deliver what was already read */
	if (drain(c) && c->state != ST_DEAD && !c->paused)
		read_some(c);
	return 0;
}

/* ---- public -------------------------------------------------------------------- */

static int connect_unix(const char *path, enum qmp_close *why, char *detail, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof sa.sun_path) {
		*why = QMP_CLOSE_IO;
		snprintf(detail, size, "socket path longer than %zu bytes", sizeof sa.sun_path - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = QMP_CLOSE_IO;
		snprintf(detail, size, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	int e = errno;
	close(fd);
	*why = e == ECONNREFUSED ? QMP_CLOSE_REFUSED : e == ENOENT ? QMP_CLOSE_NOENT
		: e == EAGAIN ? QMP_CLOSE_BUSY : QMP_CLOSE_IO;
	snprintf(detail, size, "connect: %s", strerror(e));
	return -1;
}

struct qmp_conn *qmp_conn_adopt(sd_event *loop, int fd, const char *label, const struct qmp_conn_opts *o,
				const struct qmp_conn_ops *ops, void *arg, enum qmp_close *why,
				char *detail, size_t detail_size)
{
	struct qmp_conn *c = hvt_calloc(1, sizeof *c);

	c->loop = loop;
	c->path = hvt_strdup(label);
	c->fd = fd;
	c->opts = *o;
	if (!c->opts.stats)
		c->opts.stats = &dummy_stats;
	c->ops = ops;
	c->arg = arg;
	c->nslots = (o->max_inflight ? o->max_inflight : 1) + HANDSHAKE_SLOTS;
	c->slots = hvt_calloc(c->nslots, sizeof *c->slots);
	qmp_framer_init(&c->rx, o->max_line);
	c->handshake_deadline = mono_now(c) + o->connect_timeout_us;
	if (sd_event_add_io(loop, &c->io, fd, EPOLLIN | EPOLLRDHUP, on_io, c) < 0 ||
	    sd_event_add_time(loop, &c->timer, CLOCK_MONOTONIC, (uint64_t)c->handshake_deadline,
			      1000, on_timer, c) < 0 ||
	    sd_event_add_defer(loop, &c->defer, on_defer, c) < 0) {
		*why = QMP_CLOSE_IO;
		snprintf(detail, detail_size, "cannot register with the event loop");
		qmp_conn_free(c);
		return NULL;
	}
	sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
	c->state = ST_GREETING;
	return c;
}

struct qmp_conn *qmp_conn_open(sd_event *loop, const char *path, const struct qmp_conn_opts *o,
			       const struct qmp_conn_ops *ops, void *arg, enum qmp_close *why,
			       char *detail, size_t detail_size)
{
	int fd = connect_unix(path, why, detail, detail_size);

	if (fd < 0)
		return NULL;
	return qmp_conn_adopt(loop, fd, path, o, ops, arg, why, detail, detail_size);
}

void qmp_conn_free(struct qmp_conn *c)
{
	if (!c)
		return;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	sd_event_source_disable_unref(c->defer);
	if (c->fd >= 0)
		close(c->fd);
	for (unsigned i = c->early_pos; i < c->nearly; i++)
		qmp_msg_clear(&c->early[i]);
	free(c->early);
	qmp_framer_free(&c->rx);
	hvt_buf_free(&c->tx);
	free(c->slots);
	free(c->name);
	free(c->uuid);
	free(c->version);
	free(c->path);
	free(c);
}

bool qmp_conn_command(struct qmp_conn *c, const char *cmd, json_object *args, qmp_reply_fn fn,
		      void *arg, uint64_t cookie)
{
	if (!c || c->state != ST_READY) {
		if (args)
			json_object_put(args);
		return false;
	}
	bool ok = send_command(c, cmd, args, STEP_NONE, fn, arg, cookie);
	if (ok)
		arm_timer(c);
	return ok;
}

void qmp_conn_set_paused(struct qmp_conn *c, bool paused)
{
	if (!c || c->paused == paused || c->state == ST_DEAD)
		return;
	c->paused = paused;
	if (paused) {
		c->paused_at = mono_now(c);
		sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
		sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
		return;
	}
	/* Time spent paused is ours, not QEMU's: push every deadline back. */
	long long d = mono_now(c) - c->paused_at;
	c->handshake_deadline += d;
	for (unsigned i = 0; i < c->nslots; i++)
		if (c->slots[i].used)
			c->slots[i].deadline += d;
	sd_event_source_set_enabled(c->io, SD_EVENT_ON);
	update_io_events(c);
	arm_timer(c);
	sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

bool qmp_conn_ready(const struct qmp_conn *c)
{
	return c && c->state == ST_READY;
}

unsigned qmp_conn_inflight(const struct qmp_conn *c)
{
	return c ? c->inflight : 0;
}
