/* receiver.c - see receiver.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <librelp.h>

#include "daemon.h"
#include "health.h"
#include "log.h"
#include "ratekey.h"
#include "receiver.h"
#include "record.h"
#include "refusal.h"
#include "rfc5424.h"
#include "rxstats.h"
#include "schema.h"
#include "tlscheck.h"
#include "tlsleak.h"
#include "tlspeer.h"
#include "util.h"

#define BLOCKED_NAP_MS 100
#define WAKE_SIGNAL SIGUSR1
/* The stats reporter: looks every tick and stores a report when any counter
 * changed (at most once a tick: the index keeps only the newest report per
 * host, so this costs one small upsert a second while traffic flows, and
 * `hvtrail stats` is never more than a tick behind); logs the totals of an
 * alarming change at most once per log interval.  (It once stored traffic
 * changes only once a minute: a report taken between a rejection and the
 * next event then stayed stale for that minute.) */
#define REPORT_TICK_MS 1000
#define REPORT_LOG_MS 60000
/* a peer's rejected messages of one kind are logged once per interval */
#define REJECT_LOG_INTERVAL_MS 10000

struct listener {
	struct receiver *r;
	struct ingest_limits lim;     /* the receiver's, with this listener's CA */
	char *ca_file;
	char *name;               /* "[listen]" section name */
	char *addr, *port;
	char **peers;
	char *permitted;          /* peers, comma-separated, for refusal lines */
};

struct receiver {
	relpEngine_t *engine;
	pthread_t thread;
	bool running;
	volatile int stop;        /* everything: engine and reporter */
	volatile int halt;        /* the engine: abandon the frame being stored */
	struct hvt_spool *inbox;
	struct ingest_limits lim;
	pthread_mutex_t lock;     /* counters */
	struct ingest_counters cnt;
	struct listener **listeners;
	int nlisteners;
	struct hvt_buf rec;
	char cur_peer[300];       /* the frame being handled (engine thread) */
	long long cur_rx_us;
	bool blocked;             /* waiting for inbox room (logged once) */
	struct hvt_ratelimit rl_store;
	struct hvt_ratekey rk_reject;
	char last_rejection[600]; /* lock */
	struct refusals rf;
	/* The inbox has one writer at a time: the engine thread for a whole
	 * frame, or the stats reporter between frames. */
	pthread_mutex_t wlock;
	pthread_t reporter;
	bool reporter_running;
	pthread_mutex_t report_mx;
	pthread_cond_t report_cv;
};

/* librelp's generic error callback has no user pointer; a process has one
 * receiver. */
static struct receiver *the_receiver;

/* ---- librelp callbacks --------------------------------------------------- */

static void no_dbg(char *fmt, ...)
{
	(void)fmt;
}

/* HVTRAIL_RELP_DEBUG=1 in the environment shows librelp's own trace. */
static void stderr_dbg(char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void stderr_dbg(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "librelp: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* librelp refused a peer's certificate (inside the TLS handshake, where
 * lib/tlspeer.c recorded who it is and what its certificate says). */
static void on_auth_err(void *usr, char *authinfo, char *msg, relpRetVal code)
{
	struct listener *l = usr;

	if (!l || !the_receiver) {
		hvt_log(LOG_WARNING, "refused a connection: %s", msg);
		return;
	}
	refusal_auth(&the_receiver->rf, l->name, l->permitted, authinfo, msg, (int)code);
}

/* Our verify hook refused a certificate librelp would have let through. */
static void on_policy_refuse(void *arg, const struct hvt_tls_peer *p, const char *why)
{
	struct listener *l = arg;

	refusal_policy(&l->r->rf, l->name, p, why);
}

static void on_err(void *usr, char *objinfo, char *msg, relpRetVal code)
{
	struct listener *l = usr;
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(5000);

	if (the_receiver && refusal_session_error(&the_receiver->rf, l ? l->name : "listen", objinfo, msg,
						  (int)code))
		return;
	/* librelp reports one end of a session as a cascade (the TLS read,
	 * then "session broken"): say what happened once, for the first */
	static char last_obj[200];
	static long long last_us;
	long long now = hvt_mono_us();
	if (objinfo && strcmp(objinfo, last_obj) == 0 && now - last_us < 2000000) {
		hvt_debug("[%s] %s: %s (librelp %d)", l ? l->name : "listen", objinfo, msg, (int)code);
		return;
	}
	hvt_strlcpy(last_obj, objinfo ? objinfo : "", sizeof last_obj);
	last_us = now;
	/* sessions ending are routine; everything else is worth a line */
	bool ended = code == RELP_RET_SESSION_BROKEN || (msg && strstr(msg, "gnutls error -54"));
	if (ended)
		hvt_log_ratelimited(&rl, LOG_INFO, "[%s] a session ended: the forwarder closed the connection or "
				    "the network dropped it; it resends what was not acknowledged (%s: %s, librelp %d)",
				    l ? l->name : "listen", objinfo, msg, (int)code);
	else
		hvt_log_ratelimited(&rl, LOG_WARNING, "[%s] %s: %s (librelp %d)", l ? l->name : "listen", objinfo,
				    msg, (int)code);
}

static void on_generic_err(char *objinfo, char *msg, relpRetVal code)
{
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(5000);

	if (code == RELP_RET_DATA_TOO_LONG && the_receiver) {
		refusal_frame_too_large(&the_receiver->rf, msg);
		return;
	}
	hvt_log_ratelimited(&rl, LOG_WARNING, "%s: %s (librelp %d)", objinfo, msg, (int)code);
}

/* ---- storing ------------------------------------------------------------- */

static void nap_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* Wait for the inbox to have room; false when shutting down. */
static bool wait_for_room(struct receiver *r)
{
	while (hvt_spool_over(r->inbox)) {
		if (!r->blocked) {
			char why[200];
			r->blocked = true;
			snprintf(why, sizeof why, "the inbox is full (%llu bytes): not acknowledging new frames "
				 "until the index catches up", (unsigned long long)hvt_spool_bytes(r->inbox));
			hvt_log(LOG_WARNING, "%s", why);
			health_fail(HEALTH_INBOX, why);
		}
		if (r->halt)
			return false;
		nap_ms(BLOCKED_NAP_MS);
	}
	return true;
}

/* Append one record, waiting for room or for the disk to accept it. */
static int store_record(void *arg, int kind, unsigned flags, const struct hvt_event *ev, const char *raw,
			size_t raw_len, const char *note)
{
	struct listener *l = arg;
	struct receiver *r = l->r;

	hvt_buf_reset(&r->rec);
	col_record_pack(&r->rec, kind, flags, ev, r->cur_peer, r->cur_rx_us, raw, raw_len, note);
	for (;;) {
		if (!wait_for_room(r))
			return -1;
		int rc = hvt_spool_append(r->inbox, r->rec.data, r->rec.len, NULL);
		if (rc == 0)
			break;
		r->blocked = true;
		char why[200];
		snprintf(why, sizeof why, "inbox: cannot store a received event: %s", strerror(-rc));
		health_fail(HEALTH_INBOX, why);
		hvt_log_ratelimited(&r->rl_store, LOG_ERR, "%s; holding the frame unacknowledged and retrying",
				    why);
		if (r->halt)
			return -1;
		nap_ms(BLOCKED_NAP_MS);
	}
	return 0;
}

/* Make the frame's records durable before librelp acknowledges it. */
static int commit_frame(struct receiver *r)
{
	for (;;) {
		int rc = hvt_spool_commit(r->inbox);
		if (rc == 0)
			break;
		r->blocked = true;
		char why[200];
		snprintf(why, sizeof why, "inbox: cannot sync: %s", strerror(-rc));
		health_fail(HEALTH_INBOX, why);
		hvt_log_ratelimited(&r->rl_store, LOG_ERR, "%s; holding the frame unacknowledged and retrying", why);
		if (r->halt)
			return -1;
		nap_ms(BLOCKED_NAP_MS);
	}
	if (r->blocked) {
		r->blocked = false;
		health_ok(HEALTH_INBOX);
		hvt_log(LOG_NOTICE, "inbox accepts events again");
	}
	return 0;
}

static void on_reject(void *arg, enum ingest_reject why, const char *detail)
{
	struct listener *l = arg;
	struct receiver *r = l->r;

	char key[400];

	/* once per peer and kind of rejection per interval, with a count */
	snprintf(key, sizeof key, "%s %s %s", l->name, r->cur_peer, ingest_reject_names[why]);
	hvt_log_ratekey(&r->rk_reject, key, LOG_WARNING, "[%s] rejected a message from %s: %s: %s", l->name,
			r->cur_peer, ingest_reject_names[why], detail);
	pthread_mutex_lock(&r->lock);
	snprintf(r->last_rejection, sizeof r->last_rejection, "from %s: %s: %s", r->cur_peer,
		 ingest_reject_names[why], detail);
	pthread_mutex_unlock(&r->lock);
}

static relpRetVal on_frame(void *usr, unsigned char *host, unsigned char *ip, unsigned char *msg, size_t len)
{
	struct listener *l = usr;
	struct receiver *r = l->r;
	struct ingest_sink sink = { store_record, on_reject, l };
	struct ingest_counters delta = { 0 };

	pthread_mutex_lock(&r->wlock);
	snprintf(r->cur_peer, sizeof r->cur_peer, "%s/%s", host ? (char *)host : "?", ip ? (char *)ip : "?");
	r->cur_rx_us = hvt_now_us();
	int rc = ingest_frame(&l->lim, r->cur_peer, r->cur_rx_us, (const char *)msg, len, &sink, &delta);
	if (rc == 0)
		rc = commit_frame(r);
	pthread_mutex_lock(&r->lock);
	r->cnt.frames += delta.frames;
	r->cnt.messages += delta.messages;
	r->cnt.events += delta.events;
	r->cnt.syslog_lines += delta.syslog_lines;
	r->cnt.control += delta.control;
	r->cnt.seals += delta.seals;
	r->cnt.quarantined += delta.quarantined;
	for (int i = 0; i < REJ_COUNT; i++)
		r->cnt.rejected[i] += delta.rejected[i];
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_unlock(&r->wlock);
	if (rc < 0) {
		/* Returning would make librelp answer "200 OK" for records we
		 * could not store.  End this thread instead; the sender never
		 * gets an answer and resends after reconnecting. */
		hvt_log(LOG_WARNING, "%s while a frame from %s could not be stored; it stays "
			"unacknowledged and its sender will resend it",
			r->stop ? "shutting down" : "restarting the listeners", r->cur_peer);
		pthread_exit(NULL);
	}
	return RELP_RET_OK;
}

/* ---- the stats reporter --------------------------------------------------- */

void receiver_snapshot(struct receiver *r, struct rx_snapshot *s)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_lock(&r->lock);
	s->in = r->cnt;
	hvt_strlcpy(s->last_rejection, r->last_rejection, sizeof s->last_rejection);
	pthread_mutex_unlock(&r->lock);
	refusals_snapshot(&r->rf, s->refused, s->last_refusal, sizeof s->last_refusal);
}

/* Store the report in the inbox like a forwarder's; false when the inbox
 * is busy with a frame, full or failing (the next tick tries again). */
static bool store_stats(struct receiver *r, const struct rx_snapshot *s)
{
	struct hvt_buf js = { 0 }, rec = { 0 };
	struct hvt_event ev = { .host = (char *)RXSTATS_HOST, .type = (char *)hvt_control_names[HVT_CONTROL_STATS] };
	bool ok = false;

	if (pthread_mutex_trylock(&r->wlock) != 0)
		return false;
	if (!hvt_spool_over(r->inbox)) {
		rxstats_json(s, &js);
		col_record_pack(&rec, COL_REC_HOST_STATS, 0, &ev, "local", hvt_now_us(), js.data, js.len, NULL);
		ok = hvt_spool_append(r->inbox, rec.data, rec.len, NULL) == 0 && hvt_spool_commit(r->inbox) == 0;
	}
	pthread_mutex_unlock(&r->wlock);
	hvt_buf_free(&js);
	hvt_buf_free(&rec);
	return ok;
}

int receiver_inject(struct receiver *r, const struct hvt_buf *recs, int n, int timeout_ms)
{
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	/* bounded: the engine thread holds the lock while a full inbox makes
	 * it wait, and the caller's records keep until the next try */
	if (pthread_mutex_timedlock(&r->wlock, &ts) != 0)
		return -EAGAIN;
	if (hvt_spool_over(r->inbox))
		rc = -EAGAIN;
	for (int i = 0; rc == 0 && i < n; i++)
		rc = hvt_spool_append(r->inbox, recs[i].data, recs[i].len, NULL);
	if (rc == 0)
		rc = hvt_spool_commit(r->inbox);
	pthread_mutex_unlock(&r->wlock);
	return rc;
}

static void *reporter(void *arg)
{
	struct receiver *r = arg;
	struct rx_snapshot now, stored, logged;
	long long logged_at = 0;

	memset(&stored, 0, sizeof stored);
	logged = stored;
	pthread_mutex_lock(&r->report_mx);
	while (!r->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += REPORT_TICK_MS / 1000;
		pthread_cond_timedwait(&r->report_cv, &r->report_mx, &ts);
		if (r->stop)
			break;
		receiver_snapshot(r, &now);
		long long t = hvt_mono_us() / 1000;
		if (rxstats_changed(&now, &stored) && store_stats(r, &now))
			stored = now;
		if (rxstats_alarming_change(&now, &logged) && t - logged_at >= REPORT_LOG_MS) {
			rxstats_log(&now);
			logged = now;
			logged_at = t;
		}
	}
	pthread_mutex_unlock(&r->report_mx);
	return NULL;
}

/* ---- set-up -------------------------------------------------------------- */

static void wake_handler(int sig)
{
	(void)sig;   /* only interrupts epoll_wait */
}

/* A fresh RELP engine with our callbacks; the listeners come after. */
static int engine_new(struct receiver *r)
{
	if (relpEngineConstruct(&r->engine) != RELP_RET_OK) {
		hvt_log(LOG_ERR, "cannot create the RELP engine");
		return -1;
	}
	relpEngineSetDbgprint(r->engine, getenv("HVTRAIL_RELP_DEBUG") ? stderr_dbg : no_dbg);
	relpEngineSetTLSLibByName(r->engine, "gnutls");
	relpEngineSetOnAuthErr(r->engine, on_auth_err);
	relpEngineSetOnErr(r->engine, on_err);
	relpEngineSetOnGenericErr(r->engine, on_generic_err);
	relpEngineSetSyslogRcv2(r->engine, on_frame);
	relpEngineSetEnableCmd(r->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetDnsLookupMode(r->engine, 0);
	return 0;
}

struct receiver *receiver_new(struct hvt_spool *inbox, const struct ingest_limits *lim)
{
	struct receiver *r = hvt_calloc(1, sizeof *r);

	r->inbox = inbox;
	r->lim = *lim;
	hvt_ratekey_init(&r->rk_reject, REJECT_LOG_INTERVAL_MS);
	r->rl_store = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(10000);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->wlock, NULL);
	pthread_mutex_init(&r->report_mx, NULL);
	pthread_cond_init(&r->report_cv, NULL);
	refusals_init(&r->rf);
	the_receiver = r;
	if (engine_new(r) < 0) {
		receiver_free(r);
		return NULL;
	}
	return r;
}

int receiver_check_listener(struct hvt_conf *c, const struct hvt_conf_section *s)
{
	const struct hvt_conf_key *k = col_schema_listen;
	int bad = 0, n;

	if (!hvt_conf_bool(s, k, "tls"))
		return 0;
	char err[600], warn[300];
	if (hvt_tls_check_files(hvt_conf_str(s, k, "tls_ca"), hvt_conf_str(s, k, "tls_cert"),
				hvt_conf_str(s, k, "tls_key"), err, sizeof err, warn, sizeof warn) < 0) {
		hvt_conf_error(c, s->file, s->line, "[%s] %s", s->name, err);
		bad++;
	} else if (warn[0]) {
		hvt_log(LOG_WARNING, "[%s] %s", s->name, warn);
	}
	/* read at start as root and again at reloads after the drop */
	const struct hvt_conf_section *sc = hvt_conf_find(c, "collector");
	if (hvt_private_key_check(hvt_conf_str(s, k, "tls_key"), hvt_conf_str(sc, col_schema_collector, "user"),
				  hvt_conf_str(sc, col_schema_collector, "group"), err, sizeof err) < 0) {
		hvt_conf_error(c, s->file, s->line, "[%s] tls_key: %s", s->name, err);
		bad++;
	}
	if (hvt_tls_check_priority(hvt_conf_str(s, k, "tls_priority"), err, sizeof err, warn, sizeof warn) < 0) {
		hvt_conf_error(c, s->file, s->line, "[%s] %s", s->name, err);
		bad++;
	} else if (warn[0]) {
		hvt_log(LOG_WARNING, "[%s] %s", s->name, warn);
	}
	char **peers = hvt_conf_list(s, k, "permitted_peers", &n);
	hvt_conf_list_free(peers);
	if (n == 0 && strcmp(hvt_conf_str(s, k, "auth_mode"), "certvalid") != 0) {
		hvt_conf_error(c, s->file, s->line, "[%s] permitted_peers: no forwarder is permitted; list their "
			       "certificate names (or set auth_mode = certvalid to admit any certificate from tls_ca)",
			       s->name);
		bad++;
	}
	return bad ? -1 : 0;
}

int receiver_add_listener(struct receiver *r, const struct hvt_conf_section *s)
{
	const struct hvt_conf_key *k = col_schema_listen;
	struct listener *l = hvt_calloc(1, sizeof *l);
	relpSrv_t *srv;
	relpRetVal rc;

	l->r = r;
	l->name = hvt_strdup(s ? s->name : "listen");
	l->lim = r->lim;
	if (hvt_conf_bool(s, k, "tls")) {
		l->ca_file = hvt_strdup(hvt_conf_str(s, k, "tls_ca"));
		l->lim.ca_file = l->ca_file;
	}
	l->addr = hvt_strdup(hvt_conf_str(s, k, "address"));
	l->port = hvt_strdup(hvt_conf_str(s, k, "port"));
	l->peers = hvt_conf_list(s, k, "permitted_peers", NULL);
	struct hvt_buf pb = { 0 };
	for (char **p = l->peers; p && *p; p++)
		hvt_buf_printf(&pb, "%s%s", pb.len ? ", " : "", *p);
	l->permitted = pb.data ? pb.data : hvt_strdup("");
	r->listeners = hvt_realloc(r->listeners, sizeof(struct listener *) * (size_t)(r->nlisteners + 1));
	r->listeners[r->nlisteners++] = l;

	if ((rc = relpEngineListnerConstruct(r->engine, &srv)) != RELP_RET_OK)
		goto fail;
	relpSrvSetUsrPtr(srv, l);
	relpSrvSetLstnAddr(srv, (unsigned char *)l->addr);
	relpSrvSetLstnPort(srv, (unsigned char *)l->port);
	relpSrvSetMaxDataSize(srv, hvt_conf_size(s, k, "max_frame_size"));
	relpSrvSetOversizeMode(srv, RELP_OVERSIZE_ABORT);
	if (hvt_conf_bool(s, k, "keepalive"))
		relpSrvSetKeepAlive(srv, 1, 60, 5, 10);
	if (hvt_conf_bool(s, k, "tls")) {
		relpSrvEnableTLS2(srv);
		if ((rc = relpSrvSetAuthMode(srv, (char *)hvt_conf_str(s, k, "auth_mode"))) != RELP_RET_OK ||
		    (rc = relpSrvSetCACert(srv, (char *)hvt_conf_str(s, k, "tls_ca"))) != RELP_RET_OK ||
		    (rc = relpSrvSetOwnCert(srv, (char *)hvt_conf_str(s, k, "tls_cert"))) != RELP_RET_OK ||
		    (rc = relpSrvSetPrivKey(srv, (char *)hvt_conf_str(s, k, "tls_key"))) != RELP_RET_OK ||
		    (rc = relpSrvSetGnuTLSPriString(srv, (char *)hvt_conf_str(s, k, "tls_priority"))) != RELP_RET_OK)
			goto fail;
		for (char **p = l->peers; p && *p; p++)
			if ((rc = relpSrvAddPermittedPeer(srv, *p)) != RELP_RET_OK)
				goto fail;
	} else {
		hvt_log(LOG_WARNING, "[%s] tls = no: accepting PLAINTEXT RELP on %s:%s from anyone who can "
			"connect; events are neither encrypted nor authenticated", l->name, l->addr, l->port);
	}
	/* librelp creates the listener's GnuTLS credentials here: bind our
	 * policy to them (lib/tlspeer.h) */
	const char *mode = hvt_conf_str(s, k, "auth_mode");
	struct hvt_tls_policy pol = { (enum hvt_tls_mode)hvt_tls_mode_parse(mode), on_policy_refuse, l };
	hvt_tls_policy_begin(&pol);
	rc = relpEngineListnerConstructFinalize(r->engine, srv);
	hvt_tls_policy_end();
	if (rc != RELP_RET_OK)
		goto fail;
	if (hvt_conf_bool(s, k, "tls") && !hvt_tls_hook_active()) {
		if (pol.mode == HVT_TLS_MODE_CERTVALID) {
			hvt_log(LOG_ERR, "[%s] auth_mode = certvalid: librelp 1.11 does not verify certificates in "
				"this mode and hvtrail's GnuTLS verify hook is not active in this process; refusing "
				"to accept unverified forwarders (use auth_mode = name)", l->name);
			return -1;
		}
		hvt_log(LOG_WARNING, "[%s] hvtrail's GnuTLS verify hook is not active: refusals are logged "
			"with librelp's reasons only (see docs/security.md)", l->name);
	}
	hvt_log(LOG_INFO, "[%s] listening on %s:%s (%s)", l->name, l->addr, l->port,
		hvt_conf_bool(s, k, "tls") ? "RELP over TLS" : "plaintext RELP");
	return 0;
fail:
	hvt_log(LOG_ERR, "[%s] cannot listen on %s:%s (librelp %d%s)", l->name, l->addr, l->port, (int)rc,
		rc == RELP_RET_COULD_NOT_BIND ? ": address in use or not available" : "");
	return -1;
}

int receiver_listen(struct receiver *r, const struct hvt_conf *c)
{
	for (const struct hvt_conf_section *s = c->sections; s; s = s->next)
		if (strcmp(s->kind, "listen") == 0 && receiver_add_listener(r, s) < 0)
			return -1;
	return 0;
}

static void *engine_thread(void *arg)
{
	pthread_setname_np(pthread_self(), "hvt-receiver");   /* top -H, perf */
	struct receiver *r = arg;
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
	relpEngineRun(r->engine);
	hvt_tls_reclaim_flush();      /* lib/tlsleak.h */
	return NULL;
}

static int engine_start(struct receiver *r)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = wake_handler;   /* no SA_RESTART: epoll_wait must see EINTR */
	sigaction(WAKE_SIGNAL, &sa, NULL);
	if (pthread_create(&r->thread, NULL, engine_thread, r) != 0) {
		hvt_log(LOG_ERR, "cannot start the receiver thread");
		return -1;
	}
	r->running = true;
	return 0;
}

int receiver_start(struct receiver *r)
{
	if (pthread_create(&r->reporter, NULL, reporter, r) == 0)
		r->reporter_running = true;
	return engine_start(r);
}

/* Stop the engine thread: librelp finishes the frame it is handling (one
 * waiting for inbox room is abandoned unanswered, see on_frame). */
static void engine_halt(struct receiver *r)
{
	r->halt = 1;
	if (!r->running)
		return;
	relpEngineSetStop(r->engine);
	pthread_kill(r->thread, WAKE_SIGNAL);
	pthread_join(r->thread, NULL);
	r->running = false;
}

/* The engine and its listeners: closes the sockets and every session. */
static void engine_free(struct receiver *r)
{
	if (r->engine)
		relpEngineDestruct(&r->engine);
	r->engine = NULL;
	for (int i = 0; i < r->nlisteners; i++) {
		struct listener *l = r->listeners[i];
		free(l->name);
		free(l->ca_file);
		free(l->addr);
		free(l->port);
		hvt_conf_list_free(l->peers);
		free(l->permitted);
		free(l);
	}
	free(r->listeners);
	r->listeners = NULL;
	r->nlisteners = 0;
}

int receiver_relisten(struct receiver *r, const struct hvt_conf *c, const struct ingest_limits *lim)
{
	engine_halt(r);
	engine_free(r);
	r->halt = 0;
	r->lim = *lim;
	if (engine_new(r) < 0 || receiver_listen(r, c) < 0)
		return -1;
	return engine_start(r);
}

void receiver_stop(struct receiver *r)
{
	r->stop = 1;
	if (r->reporter_running) {
		pthread_mutex_lock(&r->report_mx);
		pthread_cond_signal(&r->report_cv);
		pthread_mutex_unlock(&r->report_mx);
		pthread_join(r->reporter, NULL);
		r->reporter_running = false;
	}
	engine_halt(r);
}

void receiver_free(struct receiver *r)
{
	if (!r)
		return;
	receiver_stop(r);
	engine_free(r);
	hvt_buf_free(&r->rec);
	refusals_destroy(&r->rf);
	hvt_ratekey_destroy(&r->rk_reject);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->wlock);
	pthread_mutex_destroy(&r->report_mx);
	pthread_cond_destroy(&r->report_cv);
	if (the_receiver == r)
		the_receiver = NULL;
	free(r);
}

void receiver_counters(struct receiver *r, struct ingest_counters *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->cnt;
	pthread_mutex_unlock(&r->lock);
}
