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
#include <unistd.h>
#include <librelp.h>

#include "log.h"
#include "receiver.h"
#include "record.h"
#include "schema.h"
#include "tlscheck.h"
#include "util.h"

#define BLOCKED_NAP_MS 100
#define WAKE_SIGNAL SIGUSR1

struct listener {
	struct receiver *r;
	char *name;               /* "[listen]" section name */
	char *addr, *port;
	char **peers;
	struct hvt_ratelimit rl_auth;
};

struct receiver {
	relpEngine_t *engine;
	pthread_t thread;
	bool running;
	volatile int stop;
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
	struct hvt_ratelimit rl_reject, rl_store;
};

/* ---- librelp callbacks --------------------------------------------------- */

static void no_dbg(char *fmt, ...)
{
	(void)fmt;
}

/* HVTRAIL_RELP_DEBUG=1 in the environment shows librelp's own trace. */
static void stderr_dbg(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "librelp: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* A refused peer: librelp reports it only here, with the names it saw. */
static void on_auth_err(void *usr, char *authinfo, char *msg, relpRetVal code)
{
	struct listener *l = usr;
	const char *what = code == RELP_RET_AUTH_ERR_NAME ? "its certificate names no permitted peer" :
			   code == RELP_RET_AUTH_ERR_FP ? "its certificate fingerprint is not permitted" :
			   code == RELP_RET_AUTH_NO_CERT ? "it presented no certificate" :
			   code == RELP_RET_AUTH_CERT_INVL ? "its certificate did not verify against tls_ca "
							     "(unknown CA, expired, not yet valid or self-signed)" :
			   msg;
	if (!l) {
		hvt_log(LOG_WARNING, "refused a connection: %s", msg);
		return;
	}
	hvt_log_ratelimited(&l->rl_auth, LOG_WARNING, "[%s] refused a forwarder: %s (%s; certificate names: %s)",
			    l->name, what, msg, authinfo && *authinfo ? authinfo : "-");
}

static void on_err(void *usr, char *objinfo, char *msg, relpRetVal code)
{
	struct listener *l = usr;
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(5000);

	/* sessions ending are routine; everything else is worth a line */
	int level = code == RELP_RET_SESSION_BROKEN ? LOG_INFO : LOG_WARNING;
	hvt_log_ratelimited(&rl, level, "[%s] %s: %s (librelp %d)", l ? l->name : "listen", objinfo, msg, (int)code);
}

static void on_generic_err(char *objinfo, char *msg, relpRetVal code)
{
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(5000);

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
			r->blocked = true;
			hvt_log(LOG_WARNING, "inbox is full (%llu bytes): not acknowledging new frames until the "
				"index catches up", (unsigned long long)hvt_spool_bytes(r->inbox));
		}
		if (r->stop)
			return false;
		nap_ms(BLOCKED_NAP_MS);
	}
	return true;
}

/* Append one record, waiting for room or for the disk to accept it. */
static int store_record(void *arg, int kind, const struct hvt_event *ev, const char *raw, size_t raw_len)
{
	struct listener *l = arg;
	struct receiver *r = l->r;

	hvt_buf_reset(&r->rec);
	col_record_pack(&r->rec, kind, ev, r->cur_peer, r->cur_rx_us, raw, raw_len);
	for (;;) {
		if (!wait_for_room(r))
			return -1;
		int rc = hvt_spool_append(r->inbox, r->rec.data, r->rec.len, NULL);
		if (rc == 0)
			break;
		r->blocked = true;
		hvt_log_ratelimited(&r->rl_store, LOG_ERR, "inbox: cannot store a received event: %s; "
				    "holding the frame unacknowledged and retrying", strerror(-rc));
		if (r->stop)
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
		hvt_log_ratelimited(&r->rl_store, LOG_ERR, "inbox: cannot sync: %s; holding the frame "
				    "unacknowledged and retrying", strerror(-rc));
		if (r->stop)
			return -1;
		nap_ms(BLOCKED_NAP_MS);
	}
	if (r->blocked) {
		r->blocked = false;
		hvt_log(LOG_NOTICE, "inbox accepts events again");
	}
	return 0;
}

static void on_reject(void *arg, enum ingest_reject why, const char *detail)
{
	struct listener *l = arg;
	struct receiver *r = l->r;

	hvt_log_ratelimited(&r->rl_reject, LOG_WARNING, "[%s] rejected a message from %s: %s: %s",
			    l->name, r->cur_peer, ingest_reject_names[why], detail);
}

static relpRetVal on_frame(void *usr, unsigned char *host, unsigned char *ip, unsigned char *msg, size_t len)
{
	struct listener *l = usr;
	struct receiver *r = l->r;
	struct ingest_sink sink = { store_record, on_reject, l };
	struct ingest_counters delta = { 0 };

	snprintf(r->cur_peer, sizeof r->cur_peer, "%s/%s", host ? (char *)host : "?", ip ? (char *)ip : "?");
	r->cur_rx_us = hvt_now_us();
	int rc = ingest_frame(&r->lim, r->cur_peer, r->cur_rx_us, (const char *)msg, len, &sink, &delta);
	if (rc == 0)
		rc = commit_frame(r);
	pthread_mutex_lock(&r->lock);
	r->cnt.frames += delta.frames;
	r->cnt.messages += delta.messages;
	r->cnt.events += delta.events;
	r->cnt.syslog_lines += delta.syslog_lines;
	r->cnt.control += delta.control;
	for (int i = 0; i < REJ_COUNT; i++)
		r->cnt.rejected[i] += delta.rejected[i];
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		/* Returning would make librelp answer "200 OK" for records we
		 * could not store.  End this thread instead; the sender never
		 * gets an answer and resends after reconnecting. */
		hvt_log(LOG_WARNING, "shutting down while a frame from %s could not be stored; it stays "
			"unacknowledged and its sender will resend it", r->cur_peer);
		pthread_exit(NULL);
	}
	return RELP_RET_OK;
}

/* ---- set-up -------------------------------------------------------------- */

static void wake_handler(int sig)
{
	(void)sig;   /* only interrupts epoll_wait */
}

struct receiver *receiver_new(struct hvt_spool *inbox, const struct ingest_limits *lim)
{
	struct receiver *r = hvt_calloc(1, sizeof *r);

	r->inbox = inbox;
	r->lim = *lim;
	r->rl_reject = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(5000);
	r->rl_store = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(10000);
	pthread_mutex_init(&r->lock, NULL);
	if (relpEngineConstruct(&r->engine) != RELP_RET_OK) {
		hvt_log(LOG_ERR, "cannot create the RELP engine");
		free(r);
		return NULL;
	}
	relpEngineSetDbgprint(r->engine, getenv("HVTRAIL_RELP_DEBUG") ? stderr_dbg : no_dbg);
	relpEngineSetTLSLibByName(r->engine, "gnutls");
	relpEngineSetOnAuthErr(r->engine, on_auth_err);
	relpEngineSetOnErr(r->engine, on_err);
	relpEngineSetOnGenericErr(r->engine, on_generic_err);
	relpEngineSetSyslogRcv2(r->engine, on_frame);
	relpEngineSetEnableCmd(r->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetDnsLookupMode(r->engine, 0);
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
	l->addr = hvt_strdup(hvt_conf_str(s, k, "address"));
	l->port = hvt_strdup(hvt_conf_str(s, k, "port"));
	l->rl_auth = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(2000);
	l->peers = hvt_conf_list(s, k, "permitted_peers", NULL);
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
	if ((rc = relpEngineListnerConstructFinalize(r->engine, srv)) != RELP_RET_OK)
		goto fail;
	hvt_log(LOG_INFO, "[%s] listening on %s:%s (%s)", l->name, l->addr, l->port,
		hvt_conf_bool(s, k, "tls") ? "RELP over TLS" : "plaintext RELP");
	return 0;
fail:
	hvt_log(LOG_ERR, "[%s] cannot listen on %s:%s (librelp %d%s)", l->name, l->addr, l->port, (int)rc,
		rc == RELP_RET_COULD_NOT_BIND ? ": address in use or not available" : "");
	return -1;
}

static void *engine_thread(void *arg)
{
	struct receiver *r = arg;
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
	relpEngineRun(r->engine);
	return NULL;
}

int receiver_start(struct receiver *r)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = wake_handler;   /* no SA_RESTART: epoll_wait must see EINTR */
	sigaction(WAKE_SIGNAL, &sa, NULL);
	if (pthread_create(&r->thread, NULL, engine_thread, r) != 0)
		return -1;
	r->running = true;
	return 0;
}

void receiver_stop(struct receiver *r)
{
	if (!r->running)
		return;
	r->stop = 1;
	relpEngineSetStop(r->engine);
	pthread_kill(r->thread, WAKE_SIGNAL);
	pthread_join(r->thread, NULL);
	r->running = false;
}

void receiver_free(struct receiver *r)
{
	if (!r)
		return;
	receiver_stop(r);
	relpEngineDestruct(&r->engine);
	for (int i = 0; i < r->nlisteners; i++) {
		struct listener *l = r->listeners[i];
		free(l->name);
		free(l->addr);
		free(l->port);
		hvt_conf_list_free(l->peers);
		free(l);
	}
	free(r->listeners);
	hvt_buf_free(&r->rec);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void receiver_counters(struct receiver *r, struct ingest_counters *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->cnt;
	pthread_mutex_unlock(&r->lock);
}
