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
 * logged once when it starts, not on every retry.
 *
 * The normaliser's state of each VM is kept in STATE_DIR/<instance>/
 * <socket>.state (with the socket file's identity) once the events behind it
 * are durable, so a restarted forwarder meets the same QEMU process as a
 * reconnect and reports what changed meanwhile (qmp_norm_persist.c). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "in_qmp.h"
#include "log.h"
#include "qmp_foreign.h"

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
	/* its state file (NULL: no state_dir), and what it holds now */
	char *state_path;
	char *saved_text;
	/* Each state written (file or carried with an event) is numbered: at a
	 * start the newer of the file and the carried one wins. */
	long long state_gen;
	/* client mode (qmp_listen.c): a QEMU that connected to us.  The
	 * process is the identity: its pid and start time, not a file. */
	bool client;
	struct qmp_peer peer;         /* who connected last (pid, start, uid, exe) */
	struct qmp_peer accepted;     /* the connection being set up */
	bool eof_alive;               /* EOF while the process still ran: QEMU exits or reconnects */
};

/* A state carried in a spool record is bounded (spool meta is at most
 * 1 MiB; a VM's state is a few KB); a bigger one is only saved in the file. */
#define STATE_CARRY_MAX (256 << 10)

#define STATE_SUFFIX ".state"
#define STATE_MAX_BYTES (4 << 20)

static void connect_now(struct qmp_endpoint *ep);

/* ---- normaliser glue --------------------------------------------------------- */

static char *state_text(struct qmp_endpoint *ep, bool *has_vm);

/* The replay rule (docs/delivery.md): QMP replays nothing, so what a restart
 * needs is the VM's state after the last event that reached the spool.  The
 * queue's last event carries that state in its own spool record - one write
 * - so a kill -9 at any instant finds the state that matches the trail:
 * the resync neither repeats nor loses a change.  (An event followed by
 * others still waiting for answers carries none: the state is ahead of it.) */
static void norm_emit(void *arg, struct hvt_event *ev)
{
	struct qmp_endpoint *ep = arg;
	struct qmp_input *in = ep->in;
	const struct hvt_host *h = in->inst->host;
	char *text = NULL;

	in->emitted++;
	if (ep->state_path && h->emit_with && qmp_vm_settled(ep->vm) && (text = state_text(ep, NULL)) &&
	    strlen(text) <= STATE_CARRY_MAX) {
		struct hvt_emit_opts o = { .position = text, .scope = ep->name };
		h->emit_with(in->inst, ev, &o);
	} else {
		h->emit(in->inst, ev);
	}
	free(text);
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

/* ---- state across restarts ------------------------------------------------------ */

static void state_drop(struct qmp_endpoint *ep)
{
	if (!ep->state_path)
		return;
	if (unlink(ep->state_path) < 0 && errno != ENOENT)
		hvt_warn("in_qmp: cannot remove %s: %s", ep->state_path, strerror(errno));
	free(ep->saved_text);
	ep->saved_text = NULL;
}

static long long state_gen_of(json_object *o)
{
	json_object *v;

	return o && json_object_object_get_ex(o, "gen", &v) ? json_object_get_int64(v) : 0;
}

/* A state saved by an earlier run of the forwarder: the VM it was about,
 * and the socket file it talked to (the same file = the same process).
 * Two copies may exist: the file, written once the events behind it are
 * durable, and the one the last spooled event of this VM carried (see
 * norm_emit); the newer wins - after a kill -9 that is the carried one. */
static void state_load(struct qmp_endpoint *ep)
{
	struct qmp_input *in = ep->in;
	const struct hvt_host *h = in->inst ? in->inst->host : NULL;
	char *text = NULL;
	size_t len = 0;
	json_object *v;

	if (!in->state_dir)
		return;
	ep->state_path = hvt_asprintf("%s/%s" STATE_SUFFIX, in->state_dir, ep->name);
	int r = hvt_read_file(ep->state_path, STATE_MAX_BYTES, &text, &len);
	if (r < 0 && r != -ENOENT)
		hvt_warn("in_qmp: cannot read %s: %s", ep->state_path, strerror(-r));
	const char *carried = h && h->position_in ? h->position_in(in->inst, ep->name) : NULL;
	json_object *fo = text ? json_tokener_parse(text) : NULL;
	json_object *co = carried ? json_tokener_parse(carried) : NULL;
	bool use_carried = co && (!fo || state_gen_of(co) > state_gen_of(fo));
	json_object *o = use_carried ? co : fo;
	ep->state_gen = state_gen_of(fo) > state_gen_of(co) ? state_gen_of(fo) : state_gen_of(co);
	if (!text && !co) {
		json_object_put(co);
		return;
	}
	if (o && json_object_object_get_ex(o, "gen", &v) && !json_object_object_get_ex(o, "vm", &v)) {
		/* the newest record says its process ended (and was reported) */
		state_drop(ep);
		goto out;
	}
	long long dev = 0, ino = 0, ctime_us = 0, pid = 0, pstart = 0;
	bool ok;
	if (ep->client)   /* the process it talked to: pid and start time */
		ok = o && json_object_object_get_ex(o, "pid", &v) && (pid = json_object_get_int64(v)) > 0 &&
		     json_object_object_get_ex(o, "pstart", &v) &&
		     (pstart = json_object_get_int64(v)) > 0 && json_object_object_get_ex(o, "vm", &v) &&
		     qmp_vm_restore(ep->vm, v);
	else              /* the socket file */
		ok = o && json_object_object_get_ex(o, "dev", &v) &&
		     (dev = json_object_get_int64(v)) && json_object_object_get_ex(o, "ino", &v) &&
		     (ino = json_object_get_int64(v)) &&
		     json_object_object_get_ex(o, "ctime_us", &v) &&
		     (ctime_us = json_object_get_int64(v)) && json_object_object_get_ex(o, "vm", &v) &&
		     qmp_vm_restore(ep->vm, v);
	if (ok) {
		ep->had_contact = true;
		ep->dev = (dev_t)dev;
		ep->ino = (ino_t)ino;
		ep->ctime_us = ctime_us;
		ep->peer.pid = (pid_t)pid;
		ep->peer.start = (unsigned long long)pstart;
		if (!use_carried) {
			ep->saved_text = text;
			text = NULL;
		}
		if (use_carried)
			hvt_notice("in_qmp: %s: state of VM %s restored from the spool record of its last "
				   "event (newer than %s)", ep->path, qmp_vm_name(ep->vm), ep->state_path);
		else
			hvt_debug("in_qmp: %s: state of VM %s restored", ep->path, qmp_vm_name(ep->vm));
	} else {
		hvt_warn("in_qmp: %s holds no state this version understands; VM %s is met as new",
			 use_carried ? "the spool record of its last event" : ep->state_path, ep->name);
		state_drop(ep);
	}
out:
	json_object_put(fo);
	json_object_put(co);
	free(text);
}

/* Only when nothing waits in the VM's queue: a state ahead of the events
 * that went out would make a restart lose those events. */
/* The VM's state as saved (file) and carried (spool record): the socket
 * file it was about and the normaliser's state; {"gen"} alone when there
 * is nothing to carry over (never met, or the process exited). */
static char *state_text(struct qmp_endpoint *ep, bool *has_vm)
{
	/* a process being forgotten carries over nothing: a later start must
	 * not meet it again and report its end a second time */
	json_object *vm = qmp_vm_ending(ep->vm) ? NULL : qmp_vm_save(ep->vm);
	json_object *o = json_object_new_object();

	if (has_vm)
		*has_vm = vm != NULL;
	json_object_object_add(o, "gen", json_object_new_int64(++ep->state_gen));
	if (vm) {
		json_object_object_add(o, "socket", json_object_new_string(ep->path));
		if (ep->client) {   /* the process is the identity */
			json_object_object_add(o, "pid", json_object_new_int64(ep->peer.pid));
			json_object_object_add(o, "pstart", json_object_new_int64((int64_t)ep->peer.start));
		} else {            /* the socket file is */
			json_object_object_add(o, "dev", json_object_new_int64((int64_t)ep->dev));
			json_object_object_add(o, "ino", json_object_new_int64((int64_t)ep->ino));
			json_object_object_add(o, "ctime_us", json_object_new_int64(ep->ctime_us));
		}
		json_object_object_add(o, "vm", vm);
	}
	char *text = hvt_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

static void state_save(struct qmp_endpoint *ep)
{
	if (!ep->state_path || !qmp_vm_dirty(ep->vm) || qmp_vm_pending(ep->vm))
		return;
	bool has_vm;
	char *text = state_text(ep, &has_vm);
	qmp_vm_mark_saved(ep->vm);
	if (!has_vm) {   /* nothing to carry over */
		if (ep->saved_text)
			state_drop(ep);
		free(text);
		return;
	}
	if (!ep->saved_text || strcmp(text, ep->saved_text) != 0) {
		int r = hvt_write_file_atomic(ep->state_path, text, strlen(text), 0600);
		if (r < 0) {
			static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
			hvt_log_ratelimited(&rl, LOG_WARNING, "in_qmp: cannot save %s: %s (after a "
					    "restart its VM is met as new)", ep->state_path,
					    strerror(-r));
		} else {
			free(ep->saved_text);
			ep->saved_text = hvt_strdup(text);
		}
	}
	free(text);
}

/* The process the saved state was about is not there any more. */
static void state_gone(struct qmp_endpoint *ep)
{
	if (!qmp_vm_restored(ep->vm))
		return;
	hvt_notice("in_qmp: %s: VM %s ended while the forwarder was down", ep->path,
		   qmp_vm_name(ep->vm));
	qmp_vm_gone(ep->vm, hvt_now_us());
	state_drop(ep);
}

void qmp_endpoint_committed(struct qmp_input *in)
{
	for (struct qmp_endpoint *ep = in->endpoints; ep; ep = ep->next)
		state_save(ep);
}

static struct qmp_endpoint *endpoint_new(struct qmp_input *in, const char *name);
static void endpoint_unlink(struct qmp_input *in, struct qmp_endpoint *ep);

/* Call fn for every VM state saved in state_dir (by its endpoint's name). */
static void each_saved(struct qmp_input *in, void (*fn)(struct qmp_input *in, const char *name))
{
	DIR *d = in->state_dir ? opendir(in->state_dir) : NULL;
	struct dirent *e;
	size_t sl = strlen(STATE_SUFFIX);

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n <= sl || strcmp(e->d_name + n - sl, STATE_SUFFIX) != 0)
			continue;
		char *name = hvt_strndup(e->d_name, n - sl);
		fn(in, name);
		free(name);
	}
	closedir(d);
}

static void socket_orphan(struct qmp_input *in, const char *name)
{
	if (hvt_str_has_prefix(name, QMP_CLIENT_PREFIX) || qmp_endpoint_find(in, name))
		return;          /* client mode's (client_orphan), or met again */
	if (hvt_glob_match(in->pattern, name)) {
		/* its socket is gone: report the VM as ended (unlink does) */
		endpoint_unlink(in, endpoint_new(in, name));
	} else {
		char *path = hvt_asprintf("%s/%s" STATE_SUFFIX, in->state_dir, name);
		unlink(path);   /* no longer watched (pattern changed) */
		free(path);
	}
}

void qmp_endpoint_report_orphans(struct qmp_input *in)
{
	each_saved(in, socket_orphan);
}

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
	ep->client = hvt_str_has_prefix(name, QMP_CLIENT_PREFIX);
	ep->path = ep->client ? hvt_asprintf("%s (%s)", in->listen, name)
			      : hvt_asprintf("%s/%s", in->socket_dir, name);
	ep->vm = qmp_vm_new(fb, &in->nopts, &norm_ops, ep);
	free(fb);
	ep->next = in->endpoints;
	in->endpoints = ep;
	in->nendpoints++;
	state_load(ep);
	return ep;
}

static void endpoint_free(struct qmp_endpoint *ep)
{
	sd_event_source_disable_unref(ep->retry);
	qmp_conn_free(ep->conn);
	qmp_vm_free(ep->vm);
	free(ep->name);
	free(ep->path);
	free(ep->state_path);
	free(ep->saved_text);
	free(ep);
}

static void endpoint_unlink(struct qmp_input *in, struct qmp_endpoint *ep)
{
	state_gone(ep);
	state_drop(ep);
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
	/* a socket that held a live QEMU before our restart and now refuses
	 * (stale) or is gone: that process ended while we were down */
	if (why == QMP_CLOSE_REFUSED || why == QMP_CLOSE_NOENT)
		state_gone(ep);
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

	if (ep->client) {
		/* the same process (pid and start time) as before is a reconnect;
		 * it started when the process did */
		same_file = ep->had_contact && ep->peer.start == ep->accepted.start &&
			    ep->peer.pid == ep->accepted.pid;
		ep->peer = ep->accepted;
		since = ep->peer.start_us;
	} else if (stat(ep->path, &st) == 0) {
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
		.peer_pid = ep->client ? ep->peer.pid : 0, .peer_uid = ep->client ? (int)ep->peer.uid : 0,
		.peer_exe = ep->client ? ep->peer.exe : NULL,
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

/* Client mode: QEMU connects again by itself (reconnect=N), so nothing is
 * retried here.  An end of file means QEMU exited - unless the process
 * still runs, which happens for an instant while it exits (its sockets
 * close before it is gone) and for good when only the connection died:
 * qmp_endpoint_check_clients looks again until either is clear. */
static void client_closed(struct qmp_endpoint *ep, bool was_ready, enum qmp_close why,
			  const char *detail)
{
	struct qmp_input *in = ep->in;
	const char *vm = qmp_vm_name(ep->vm);

	if (!was_ready && !ep->had_contact) {
		hvt_notice("in_qmp: %s: %s (%s); the peer is forgotten", ep->path, qmp_close_name(why),
			   detail);
		endpoint_unlink(in, ep);
		return;
	}
	if (why == QMP_CLOSE_EOF && !qmp_peer_alive(ep->peer.pid, ep->peer.start)) {
		if (qmp_vm_lost(ep->vm, true, hvt_now_us())) {
			in->vanished++;
			hvt_warn("in_qmp: %s: VM %s vanished: QEMU exited without a SHUTDOWN event "
				 "(killed or crashed)", ep->path, vm);
		} else {
			hvt_info("in_qmp: %s: VM %s: QEMU exited", ep->path, vm);
		}
		endpoint_unlink(in, ep);
		return;
	}
	if (was_ready)
		qmp_vm_lost(ep->vm, false, hvt_now_us());
	ep->eof_alive = why == QMP_CLOSE_EOF;
	hvt_info("in_qmp: %s: VM %s: connection ended (%s: %s); waiting for QEMU to connect "
		 "again", ep->path, vm, qmp_close_name(why), detail);
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
	if (ep->client) {
		client_closed(ep, was_ready, why, detail);
		return;
	}
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

	if (ep->conn || in->stopping || ep->client)
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
	char why[256];

	if (!ep && qmp_foreign_name(name, why, sizeof why)) {
		/* one client per monitor: attaching would stall its manager */
		static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(3600000);
		in->foreign_skipped++;
		hvt_log_ratelimited(&rl, LOG_WARNING, "in_qmp: not attaching to %s/%s: %s, and a monitor "
				    "serves one client at a time", in->socket_dir, name, why);
		return;
	}

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
		if (!ep->seen && !ep->client) {
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

/* ---- client mode ------------------------------------------------------------------ */

void qmp_endpoint_accepted(struct qmp_input *in, int fd, const struct qmp_peer *peer)
{
	char name[64], detail[256];
	enum qmp_close why = 0;
	struct qmp_endpoint *ep;

	snprintf(name, sizeof name, QMP_CLIENT_PREFIX "%d", (int)peer->pid);
	ep = qmp_endpoint_find(in, name);
	if (ep && ep->conn) {
		/* QEMU connected again while we still held its old connection */
		qmp_conn_free(ep->conn);
		ep->conn = NULL;
		if (ep->ready)
			qmp_vm_lost(ep->vm, false, hvt_now_us());
		ep->ready = false;
	}
	if (ep && ep->had_contact && !qmp_peer_alive(ep->peer.pid, ep->peer.start)) {
		endpoint_unlink(in, ep);        /* a new process with a reused pid */
		ep = NULL;
	}
	if (!ep) {
		if (in->nendpoints >= in->max_sockets) {
			static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);
			in->ignored_over_limit++;
			hvt_log_ratelimited(&rl, LOG_WARNING, "in_qmp: %s: refusing pid %d: max_sockets=%u "
					    "monitors are watched already", in->listen, (int)peer->pid,
					    in->max_sockets);
			close(fd);
			return;
		}
		ep = endpoint_new(in, name);
	}
	ep->accepted = *peer;
	ep->eof_alive = false;
	ep->seen = true;
	in->connects++;
	ep->conn = qmp_conn_adopt(in->loop, fd, ep->path, &in->copts, &conn_ops, ep, &why, detail,
				  sizeof detail);
	if (!ep->conn) {
		hvt_warn("in_qmp: %s: %s", ep->path, detail);
		if (!ep->had_contact)
			endpoint_unlink(in, ep);
		return;
	}
	if (in->paused)
		qmp_conn_set_paused(ep->conn, true);
}

void qmp_endpoint_check_clients(struct qmp_input *in)
{
	struct qmp_endpoint *ep = in->endpoints;

	while (ep) {
		struct qmp_endpoint *next = ep->next;
		if (ep->client && !ep->conn && ep->had_contact &&
		    !qmp_peer_alive(ep->peer.pid, ep->peer.start)) {
			/* the process is gone: it exited (after an end of file) or
			 * ended while nobody was connected */
			const char *vm = qmp_vm_name(ep->vm);
			if (qmp_vm_restored(ep->vm)) {
				state_gone(ep);
			} else if (qmp_vm_lost(ep->vm, true, hvt_now_us())) {
				in->vanished++;
				hvt_warn("in_qmp: %s: VM %s vanished: QEMU exited without a SHUTDOWN "
					 "event (killed or crashed)", ep->path, vm);
			} else {
				hvt_info("in_qmp: %s: VM %s: QEMU exited", ep->path, vm);
			}
			endpoint_unlink(in, ep);
		}
		ep = next;
	}
}

/* alive: it connects again (reconnect=N) and is met as a reconnect; gone:
 * check_clients reports it */
static void client_orphan(struct qmp_input *in, const char *name)
{
	if (hvt_str_has_prefix(name, QMP_CLIENT_PREFIX) && !qmp_endpoint_find(in, name))
		endpoint_new(in, name);
}

void qmp_endpoint_client_orphans(struct qmp_input *in)
{
	each_saved(in, client_orphan);
	qmp_endpoint_check_clients(in);
}
