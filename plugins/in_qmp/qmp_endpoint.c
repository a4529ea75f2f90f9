/* qmp_endpoint.c - one monitor socket in socket_dir.
 *
 * An endpoint owns the VM's normaliser state (it outlives connections, so a
 * reconnect can report what changed) and at most one connection.  States:
 *   idle      no connection; a one-shot timer holds the next attempt
 *   connected a qmp_conn exists (handshake or ready)
 * A failed attempt waits reconnect_min, doubling up to reconnect_max; an
 * inotify event on the file (QEMU re-created it) retries at once.  A stale
 * socket (QEMU killed, file left behind: ECONNREFUSED) therefore costs one
 * connect() per back-off period, never a spin.  Each failure reason is
 * logged once when it starts, not on every retry. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "in_qmp.h"
#include "log.h"

struct qmp_endpoint {
	struct qmp_endpoint *next;
	struct qmp_input *in;
	char *name;                   /* file name in socket_dir */
	char *path;
	struct qmp_conn *conn;
	bool ready;                   /* conn finished its handshake */
	struct qmp_vm *vm;
	sd_event_source *retry;
	long long backoff_us;
	enum qmp_close last_fail;     /* 0 = last attempt worked */
	unsigned nfail;               /* consecutive failures of that kind */
	struct hvt_ratelimit log_rl;  /* a socket that flaps between kinds */
	bool want_connect;            /* deferred while paused */
	bool gone;                    /* file removed; free once the conn ends */
	bool seen;                    /* rescan bookkeeping */
	/* the socket file at the last contact: a different one is a new QEMU */
	bool had_contact;
	bool last_close_by_peer;
	dev_t dev;
	ino_t ino;
	long long ctime_us;
};

static void connect_now(struct qmp_endpoint *ep);

/* ---- normaliser glue --------------------------------------------------------- */

static void norm_emit(void *arg, struct hvt_event *ev)
{
	struct qmp_endpoint *ep = arg;
	struct qmp_input *in = ep->in;

	in->emitted++;
	in->inst->host->emit(in->inst, ev);
}

static void on_reply(void *arg, uint64_t cookie, const struct qmp_msg *reply, const char *error)
{
	struct qmp_endpoint *ep = arg;
	enum qmp_query q = (enum qmp_query)(cookie & 0xff);
	unsigned tag = (unsigned)(cookie >> 8);

	if (reply && reply->kind == QMP_MSG_REPLY)
		qmp_vm_reply(ep->vm, q, tag, reply->ret, NULL, hvt_now_us());
	else
		qmp_vm_reply(ep->vm, q, tag, NULL, reply ? reply->err_desc : error, hvt_now_us());
}

static bool norm_query(void *arg, enum qmp_query q, unsigned tag)
{
	struct qmp_endpoint *ep = arg;

	return qmp_conn_command(ep->conn, qmp_query_command(q), NULL, on_reply, ep,
				((uint64_t)tag << 8) | (uint64_t)q);
}

static const struct qmp_norm_ops norm_ops = { .emit = norm_emit, .query = norm_query };

/* ---- lifetime -------------------------------------------------------------------- */

static char *fallback_name(const char *file)
{
	const char *dot = strrchr(file, '.');

	return dot && dot != file ? hvt_strndup(file, (size_t)(dot - file)) : hvt_strdup(file);
}

static struct qmp_endpoint *endpoint_new(struct qmp_input *in, const char *name)
{
	struct qmp_endpoint *ep = hvt_calloc(1, sizeof *ep);
	char *fb = fallback_name(name);

	ep->in = in;
	ep->log_rl = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(60000);
	ep->name = hvt_strdup(name);
	ep->path = hvt_asprintf("%s/%s", in->socket_dir, name);
	ep->vm = qmp_vm_new(fb, &in->nopts, &norm_ops, ep);
	free(fb);
	ep->next = in->endpoints;
	in->endpoints = ep;
	in->nendpoints++;
	return ep;
}

static void endpoint_free(struct qmp_endpoint *ep)
{
	sd_event_source_disable_unref(ep->retry);
	qmp_conn_free(ep->conn);
	qmp_vm_free(ep->vm);
	free(ep->name);
	free(ep->path);
	free(ep);
}

static void endpoint_unlink(struct qmp_input *in, struct qmp_endpoint *ep)
{
	for (struct qmp_endpoint **pp = &in->endpoints; *pp; pp = &(*pp)->next) {
		if (*pp == ep) {
			*pp = ep->next;
			in->nendpoints--;
			break;
		}
	}
	endpoint_free(ep);
	/* a slot under max_sockets freed up: pick up what was ignored */
	if (in->over_limit && !in->stopping) {
		in->over_limit = false;
		qmp_watch_rescan_soon(in);
	}
}

struct qmp_endpoint *qmp_endpoint_find(struct qmp_input *in, const char *name)
{
	for (struct qmp_endpoint *ep = in->endpoints; ep; ep = ep->next)
		if (strcmp(ep->name, name) == 0)
			return ep;
	return NULL;
}

/* ---- retry ---------------------------------------------------------------------- */

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)s;
	(void)usec;
	connect_now(userdata);
	return 0;
}

static void schedule_retry(struct qmp_endpoint *ep, long long delay_us)
{
	uint64_t now;

	sd_event_now(ep->in->loop, CLOCK_MONOTONIC, &now);
	if (!ep->retry) {
		if (sd_event_add_time(ep->in->loop, &ep->retry, CLOCK_MONOTONIC,
				      now + (uint64_t)delay_us, 10000, on_retry, ep) < 0) {
			hvt_err("in_qmp: %s: cannot schedule a reconnect", ep->path);
			return;
		}
	} else {
		sd_event_source_set_time(ep->retry, now + (uint64_t)delay_us);
	}
	sd_event_source_set_enabled(ep->retry, SD_EVENT_ONESHOT);
}

static void back_off(struct qmp_endpoint *ep)
{
	struct qmp_input *in = ep->in;

	ep->backoff_us = ep->backoff_us ? HVT_MIN(ep->backoff_us * 2, in->reconnect_max_us)
					: in->reconnect_min_us;
	schedule_retry(ep, ep->backoff_us);
}

static const char *fail_words(enum qmp_close why)
{
	switch (why) {
	case QMP_CLOSE_REFUSED:
		return "stale socket, no QEMU listens (killed?)";
	case QMP_CLOSE_NOENT: return "socket file is gone";
	case QMP_CLOSE_BUSY: return "QEMU's listen backlog is full";
	case QMP_CLOSE_TIMEOUT: return "handshake timed out";
	case QMP_CLOSE_NOT_QMP: return "not a QMP monitor";
	case QMP_CLOSE_HANDSHAKE: return "QMP handshake refused";
	case QMP_CLOSE_OVERFLOW: return "event flood during the handshake";
	case QMP_CLOSE_EOF: return "QEMU closed the connection during the handshake";
	case QMP_CLOSE_IO: return "socket error";
	}
	return "?";
}

/* One log line when a failure starts (or changes kind); quiet retries after. */
static void attempt_failed(struct qmp_endpoint *ep, enum qmp_close why, const char *detail)
{
	struct qmp_input *in = ep->in;

	in->connect_failures++;
	ep->nfail = why == ep->last_fail ? ep->nfail + 1 : 1;
	ep->last_fail = why;
	/* QEMU binds its socket before it listens: a new socket may refuse a
	 * connect or two.  Only a refusal that lasts means a stale socket. */
	bool early = why == QMP_CLOSE_REFUSED && !ep->had_contact && ep->nfail < 3;
	/* a missing file is about to be reported by inotify and forgotten */
	bool quiet = early || why == QMP_CLOSE_NOENT;
	if ((ep->nfail == 1 && !quiet) || (why == QMP_CLOSE_REFUSED && !ep->had_contact &&
					    ep->nfail == 3)) {
		int level = why == QMP_CLOSE_REFUSED ? LOG_NOTICE : LOG_WARNING;
		hvt_log_ratelimited(&ep->log_rl, level,
				    "in_qmp: %s: %s (%s); retrying with back-off up to "
				    "%.1f s, or at once when the socket is re-created",
				    ep->path, fail_words(why), detail,
				    (double)in->reconnect_max_us / 1e6);
	} else {
		hvt_debug("in_qmp: %s: connect failed again: %s", ep->path, detail);
	}
	back_off(ep);
}

/* ---- connection callbacks ---------------------------------------------------------- */

static void conn_ready(void *arg, const struct qmp_identity *id)
{
	struct qmp_endpoint *ep = arg;
	struct qmp_input *in = ep->in;
	struct stat st;
	bool same_file = false;
	long long since = 0;

	if (stat(ep->path, &st) == 0) {
		since = (long long)st.st_ctim.tv_sec * 1000000 + st.st_ctim.tv_nsec / 1000;
		same_file = ep->had_contact && st.st_dev == ep->dev && st.st_ino == ep->ino &&
			    since == ep->ctime_us;
		ep->dev = st.st_dev;
		ep->ino = st.st_ino;
		ep->ctime_us = since;
	}
	struct qmp_contact c = {
		.name = id->name, .uuid = id->uuid, .qemu_version = id->version,
		.socket = ep->path,
		.new_instance = !same_file || ep->last_close_by_peer,
		.instance_since_us = since, .now_us = hvt_now_us(),
	};
	ep->ready = true;
	ep->had_contact = true;
	ep->last_close_by_peer = false;
	ep->backoff_us = 0;
	ep->last_fail = 0;
	ep->nfail = 0;
	in->contacts++;
	hvt_info("in_qmp: %s: connected to VM %s%s%s (QEMU %s)%s%s", ep->path,
		 id->name ? id->name : qmp_vm_name(ep->vm), id->uuid ? ", uuid " : "",
		 id->uuid ? id->uuid : "", id->version ? id->version : "?",
		 c.new_instance ? "" : ", resyncing after reconnect",
		 id->migration_events ? "" : "; migration events could not be enabled");
	qmp_vm_contact(ep->vm, &c);
}

static void conn_message(void *arg, const struct qmp_msg *m)
{
	struct qmp_endpoint *ep = arg;

	qmp_vm_message(ep->vm, m, hvt_now_us());
}

static void conn_closed(void *arg, enum qmp_close why, const char *detail)
{
	struct qmp_endpoint *ep = arg;
	struct qmp_input *in = ep->in;
	bool was_ready = ep->ready;
	const char *vm = qmp_vm_name(ep->vm);
	char why_words[256];

	hvt_strlcpy(why_words, detail, sizeof why_words);   /* detail lives in the conn */
	detail = why_words;
	qmp_conn_free(ep->conn);
	ep->conn = NULL;
	ep->ready = false;
	if (was_ready) {
		bool by_peer = why == QMP_CLOSE_EOF;
		if (qmp_vm_lost(ep->vm, by_peer, hvt_now_us())) {
			in->vanished++;
			hvt_warn("in_qmp: %s: VM %s vanished: QEMU closed the monitor without a "
				 "SHUTDOWN event (killed or crashed)", ep->path, vm);
		} else if (by_peer) {
			hvt_info("in_qmp: %s: VM %s: QEMU closed the monitor", ep->path, vm);
		} else {
			hvt_warn("in_qmp: %s: VM %s: dropped the connection (%s: %s); will "
				 "reconnect "
				 "and resync",
				 ep->path, vm, qmp_close_name(why), detail);
		}
		ep->last_close_by_peer = by_peer;
		if (ep->gone) {
			endpoint_unlink(in, ep);
			return;
		}
		/* after an EOF the file usually stays (stale) or is replaced: try
		 * once soon, then back off */
		ep->backoff_us = 0;
		back_off(ep);
		return;
	}
	if (ep->gone) {
		endpoint_unlink(in, ep);
		return;
	}
	attempt_failed(ep, why, detail);
}

static const struct qmp_conn_ops conn_ops = {
	.ready = conn_ready, .message = conn_message, .closed = conn_closed,
};

/* ---- connecting ------------------------------------------------------------------- */

static void connect_now(struct qmp_endpoint *ep)
{
	struct qmp_input *in = ep->in;
	enum qmp_close why = 0;
	char detail[256];

	if (ep->conn || in->stopping)
		return;
	if (in->paused) {
		ep->want_connect = true;   /* a connection would only produce events */
		return;
	}
	ep->want_connect = false;
	in->connects++;
	ep->conn = qmp_conn_open(in->loop, ep->path, &in->copts, &conn_ops, ep, &why, detail,
				 sizeof detail);
	if (!ep->conn)
		attempt_failed(ep, why, detail);
}

void qmp_endpoint_seen(struct qmp_input *in, const char *name, bool urgent)
{
	struct qmp_endpoint *ep = qmp_endpoint_find(in, name);

	if (ep) {
		ep->seen = true;
		ep->gone = false;
		if (urgent && !ep->conn) {
			ep->backoff_us = 0;
			connect_now(ep);
		}
		return;
	}
	if (in->nendpoints >= in->max_sockets) {
		static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
		in->over_limit = true;
		in->ignored_over_limit++;
		hvt_log_ratelimited(&rl, LOG_WARNING, "in_qmp: ignoring %s/%s: max_sockets=%u "
				    "sockets are watched already", in->socket_dir, name,
				    in->max_sockets);
		return;
	}
	ep = endpoint_new(in, name);
	ep->seen = true;
	connect_now(ep);
}

void qmp_endpoint_removed(struct qmp_input *in, const char *name)
{
	struct qmp_endpoint *ep = qmp_endpoint_find(in, name);

	if (!ep)
		return;
	if (ep->conn) {
		ep->gone = true;   /* QEMU may still talk on it; free when it ends */
		return;
	}
	endpoint_unlink(in, ep);
}

void qmp_endpoint_mark_all(struct qmp_input *in, bool seen)
{
	for (struct qmp_endpoint *ep = in->endpoints; ep; ep = ep->next)
		ep->seen = seen;
}

void qmp_endpoint_sweep(struct qmp_input *in)
{
	struct qmp_endpoint *ep = in->endpoints;

	while (ep) {
		struct qmp_endpoint *next = ep->next;
		if (!ep->seen) {
			if (ep->conn)
				ep->gone = true;
			else
				endpoint_unlink(in, ep);
		}
		ep = next;
	}
}

void qmp_endpoint_free_all(struct qmp_input *in)
{
	while (in->endpoints) {
		struct qmp_endpoint *ep = in->endpoints;
		in->endpoints = ep->next;
		endpoint_free(ep);
	}
	in->nendpoints = 0;
}

void qmp_endpoint_set_paused(struct qmp_input *in, bool paused)
{
	for (struct qmp_endpoint *ep = in->endpoints; ep; ep = ep->next) {
		if (ep->conn)
			qmp_conn_set_paused(ep->conn, paused);
		else if (!paused && ep->want_connect)
			connect_now(ep);
	}
}

void qmp_endpoint_poll_all(struct qmp_input *in)
{
	long long now = hvt_now_us();

	for (struct qmp_endpoint *ep = in->endpoints; ep; ep = ep->next)
		if (ep->ready)
			qmp_vm_poll(ep->vm, now);
}

unsigned qmp_endpoint_count_ready(struct qmp_input *in)
{
	unsigned n = 0;

	for (struct qmp_endpoint *ep = in->endpoints; ep; ep = ep->next)
		n += ep->ready;
	return n;
}
