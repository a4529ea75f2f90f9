/* out_relp.c - ship spooled events to hvtrail-collector over RELP/TLS.
 *
 * One thread per instance reads the spool from the acknowledged checkpoint,
 * packs records into frames (several RFC 5424 messages separated by LF, up
 * to batch_events / max_frame_size; one message per frame in compat mode
 * for a stock rsyslog imrelp), sends them with librelp and advances the
 * spool's checkpoint only as far as the window argument in ack_window.h
 * proves.  When the stream goes idle with frames in flight it sends small
 * sync frames so the last events are acknowledged too (compat mode closes
 * the session cleanly instead).  Any error throws the session away; the
 * next one resends from the checkpoint and the collector drops what it
 * already has by event id. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ack_window.h"
#include "daemon.h"
#include "event.h"
#include "hvtrail-plugin.h"
#include "log.h"
#include "relp_client.h"
#include "rfc5424.h"
#include "seal.h"
#include "sender_fsm.h"
#include "spool.h"
#include "tlscheck.h"
#include "trail.h"
#include "util.h"

#define PROBE_INTERVAL_MS 1000  /* while no collector accepts TCP: how often to look */
#define PROBE_TIMEOUT_MS 1000   /* one look */
#define STOP_GRACE_MS 500       /* of shutdown_timeout: the final seal and close */

static const struct hvt_conf_key keys[] = {
	{ "target", HVT_CONF_LIST, NULL, "collectors as host:port, tried in order", NULL, 0, 0, HVT_CONF_REQUIRED },
	{ "tls", HVT_CONF_BOOL, "yes", "RELP over TLS; 'no' sends plaintext and is logged loudly", NULL, 0, 0, 0 },
	{ "tls_ca", HVT_CONF_PATH, "/etc/hvtrail/tls/ca.pem", "CA certificate(s) the collector's certificate "
	  "must chain to", NULL, 0, 0, 0 },
	{ "tls_cert", HVT_CONF_PATH, "/etc/hvtrail/tls/forwarder.pem", "this forwarder's certificate", NULL, 0, 0, 0 },
	{ "tls_key", HVT_CONF_PATH, "/etc/hvtrail/tls/forwarder.key", "its private key", NULL, 0, 0, 0 },
	{ "permitted_peers", HVT_CONF_LIST, "", "collector certificate names (wildcards like *.example.org) "
	  "or SHA-1 fingerprints accepted; default: each target's host name", NULL, 0, 0, 0 },
	{ "auth_mode", HVT_CONF_ENUM, "name", "how the collector's certificate is checked",
	  "name|fingerprint|certvalid", 0, 0, 0 },
	{ "tls_priority", HVT_CONF_STRING, HVT_TLS_PRIORITY_DEFAULT, "GnuTLS priority string (see docs/security.md)",
	  NULL, 0, 0, 0 },
	{ "window", HVT_CONF_INT, "64", "RELP window: frames in flight before waiting for acknowledgements",
	  NULL, 2, 4096, 0 },
	{ "batch_events", HVT_CONF_INT, "256", "most events packed into one RELP frame", NULL, 1, 100000, 0 },
	{ "max_frame_size", HVT_CONF_SIZE, "256K", "largest RELP frame sent; keep it at or below the "
	  "collector's max_frame_size", NULL, 4096, 64 << 20, 0 },
	{ "compat", HVT_CONF_BOOL, "no", "one event per frame and no sync frames, for a stock rsyslog imrelp",
	  NULL, 0, 0, 0 },
	{ "timeout", HVT_CONF_DURATION, "10s", "a session with no acknowledgement for this long is broken",
	  NULL, 1000, 3600 * 1000, 0 },
	{ "connect_timeout", HVT_CONF_DURATION, "5s", "TCP connect timeout", NULL, 1000, 600 * 1000, 0 },
	{ "reconnect_min", HVT_CONF_DURATION, "500ms", "first reconnect delay (doubles, with jitter)",
	  NULL, 10, 3600 * 1000, 0 },
	{ "reconnect_max", HVT_CONF_DURATION, "30s", "longest reconnect delay", NULL, 10, 3600 * 1000, 0 },
	{ "flush_idle", HVT_CONF_DURATION, "200ms", "idle time after which in-flight events are confirmed",
	  NULL, 1, 60000, 0 },
	{ "stats_interval", HVT_CONF_DURATION, "30s", "how often spool depth and counters are reported to "
	  "the collector (0 = never)", NULL, 0, 86400 * 1000, 0 },
	{ "shutdown_timeout", HVT_CONF_DURATION, "5s", "at stop, how long to keep sending what is spooled; "
	  "the output stops within it even when the collector does not answer (what is unsent stays "
	  "spooled)", NULL, 0, 600 * 1000, 0 },
	{ "seal_interval", HVT_CONF_DURATION, "60s", "how often the chain head is signed with tls_key "
	  "while events flow (also at every connect and at stop; 0 = never, see docs/integrity.md)",
	  NULL, 0, 86400 * 1000, 0 },
	HVT_CONF_END
};

/* The section, as hvt_conf_fill hands it over (inst->opts). */
struct relp_opts {
	char **target, **permitted_peers;
	bool tls, compat;
	const char *tls_ca, *tls_cert, *tls_key, *auth_mode, *tls_priority;
	long long window, batch_events, timeout, connect_timeout, reconnect_min, reconnect_max, flush_idle,
		  stats_interval, shutdown_timeout, seal_interval;
	uint64_t max_frame_size;
};

static const struct hvt_conf_field fields[] = {
	HVT_CONF_FIELD(struct relp_opts, target, "target"),
	HVT_CONF_FIELD(struct relp_opts, tls, "tls"),
	HVT_CONF_FIELD(struct relp_opts, tls_ca, "tls_ca"),
	HVT_CONF_FIELD(struct relp_opts, tls_cert, "tls_cert"),
	HVT_CONF_FIELD(struct relp_opts, tls_key, "tls_key"),
	HVT_CONF_FIELD(struct relp_opts, permitted_peers, "permitted_peers"),
	HVT_CONF_FIELD(struct relp_opts, auth_mode, "auth_mode"),
	HVT_CONF_FIELD(struct relp_opts, tls_priority, "tls_priority"),
	HVT_CONF_FIELD(struct relp_opts, window, "window"),
	HVT_CONF_FIELD(struct relp_opts, batch_events, "batch_events"),
	HVT_CONF_FIELD(struct relp_opts, max_frame_size, "max_frame_size"),
	HVT_CONF_FIELD(struct relp_opts, compat, "compat"),
	HVT_CONF_FIELD(struct relp_opts, timeout, "timeout"),
	HVT_CONF_FIELD(struct relp_opts, connect_timeout, "connect_timeout"),
	HVT_CONF_FIELD(struct relp_opts, reconnect_min, "reconnect_min"),
	HVT_CONF_FIELD(struct relp_opts, reconnect_max, "reconnect_max"),
	HVT_CONF_FIELD(struct relp_opts, flush_idle, "flush_idle"),
	HVT_CONF_FIELD(struct relp_opts, stats_interval, "stats_interval"),
	HVT_CONF_FIELD(struct relp_opts, shutdown_timeout, "shutdown_timeout"),
	HVT_CONF_FIELD(struct relp_opts, seal_interval, "seal_interval"),
	HVT_CONF_FIELDS_END
};

struct target {
	char *host;
	char *port;
};

struct out_relp {
	struct hvt_instance *inst;
	struct hvt_spool *spool;
	struct target *targets;
	int ntargets;
	struct relp_client_opts copts;
	char *const *peers;           /* permitted_peers, or own_peers */
	char **own_peers;
	int batch_events;
	size_t max_frame;
	bool compat;
	long long reconnect_min_ms, reconnect_max_ms, flush_idle_ms, stats_ms, shutdown_ms, seal_ms;
	struct hvt_signer *signer;    /* NULL: no seals (plaintext, compat, seal_interval 0) */
	long long last_seal_us;
	uint64_t sealed_seq;          /* highest record covered by a seal sent */
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	/* The gate: the sender holds it except inside librelp calls, which can
	 * block far longer than shutdown_timeout (a TLS handshake with a
	 * collector that accepted the TCP connection and then stalled waits
	 * without any timeout).  stop() takes it when the sender does not
	 * finish in time and never gives it back: the sender then never
	 * touches the spool again, and the daemon stops on time. */
	pthread_mutex_t gate;
	pthread_mutex_t lock;         /* guards the counters below */
	/* state, owned by the thread */
	struct relp_client *client;
	struct hvt_spool_reader *reader;
	struct ack_window win;
	uint64_t last_sent;           /* highest record sent this session */
	uint64_t acked_at_connect;    /* spool checkpoint when this session began */
	bool fruitless;               /* the last session ended with nothing acknowledged */
	struct hvt_buf frame;
	long long last_send_us;
	long long last_stats_us;
	int cur_target;
	/* counters (lock) */
	uint64_t frames_sent, events_sent, sessions, reconnects, skipped;
	char connected_to[300];
	char last_error[512];
};

/* ---- configuration ----------------------------------------------------- */

static int split_target(const char *s, struct target *t)
{
	const char *colon = strrchr(s, ':');

	if (!colon || colon == s || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	const char *h = s, *he = colon;
	if (*h == '[' && he[-1] == ']') {    /* [ipv6]:port */
		h++;
		he--;
	}
	t->host = hvt_strndup(h, (size_t)(he - h));
	t->port = hvt_strdup(colon + 1);
	return 0;
}

/* Is host one of "CN=a,DNS=b,..."? */
static bool cert_names_host(const char *names, const char *host)
{
	size_t n = strlen(host);

	for (const char *p = names; p && *p;) {
		const char *eq = strchr(p, '=');
		if (!eq)
			break;
		const char *end = strchr(eq, ',');
		size_t len = end ? (size_t)(end - eq - 1) : strlen(eq + 1);
		if (len == n && strncmp(eq + 1, host, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static int check(struct hvt_instance *inst)
{
	const struct hvt_conf_section *s = inst->conf;
	const struct relp_opts *c = inst->opts;
	int bad = 0;

	for (char **t = c->target; *t; t++) {
		struct target tg;
		if (split_target(*t, &tg) < 0) {
			hvt_conf_error(inst->config, s->file, s->line, "[%s] target: '%s' is not host:port",
				       inst->name, *t);
			bad++;
			continue;
		}
		free(tg.host);
		free(tg.port);
	}
	if (c->tls) {
		char err[600], warn[300];
		if (hvt_tls_check_files(c->tls_ca, c->tls_cert, c->tls_key, err, sizeof err, warn,
					sizeof warn) < 0) {
			hvt_conf_error(inst->config, s->file, s->line, "[%s] %s", inst->name, err);
			bad++;
		} else if (warn[0]) {
			hvt_log(LOG_WARNING, "[%s] %s", inst->name, warn);
		}
		/* librelp reads the TLS files again at every reconnect, i.e. also
		 * after the daemon dropped to its run user */
		const char *tlsfile[3] = { "tls_ca", "tls_cert", "tls_key" };
		const char *tlspath[3] = { c->tls_ca, c->tls_cert, c->tls_key };
		const struct hvt_host *h = inst->host;
		for (int i = 0; i < 3; i++) {
			if (hvt_readable_after_drop(tlspath[i], h->run_user ? h->run_user : "",
						    h->run_group ? h->run_group : "", err, sizeof err) < 0) {
				hvt_conf_error(inst->config, s->file, s->line,
					       "[%s] %s: %s (it is read again at every reconnect, after the "
					       "privilege drop)", inst->name, tlsfile[i], err);
				bad++;
			}
		}
		if (hvt_private_key_check(c->tls_key, h->run_user ? h->run_user : "", h->run_group ? h->run_group : "",
					  err, sizeof err) < 0) {
			hvt_conf_error(inst->config, s->file, s->line, "[%s] tls_key: %s", inst->name, err);
			bad++;
		}
		if (hvt_tls_check_priority(c->tls_priority, err, sizeof err, warn, sizeof warn) < 0) {
			hvt_conf_error(inst->config, s->file, s->line, "[%s] %s", inst->name, err);
			bad++;
		} else if (warn[0]) {
			hvt_log(LOG_WARNING, "[%s] %s", inst->name, warn);
		}
		char names[512];
		const char *me = inst->host->hostname;
		if (me && hvt_tls_cert_names(c->tls_cert, names, sizeof names) == 0 &&
		    !cert_names_host(names, me))
			hvt_log(LOG_WARNING, "[%s] host %s is not a name in tls_cert (%s): unless the collector "
				"maps that certificate to %s (host_map), it refuses these events",
				inst->name, me, names, me);
	}
	return bad ? -1 : 0;
}

static int init(struct hvt_instance *inst)
{
	const struct relp_opts *c = inst->opts;
	struct out_relp *o = hvt_calloc(1, sizeof *o);
	int n = 0;

	/* first what stop() tears down unconditionally */
	inst->priv = o;
	o->inst = inst;
	o->spool = inst->host->spool;
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->gate, NULL);
	ack_window_init(&o->win, (int)c->window);
	while (c->target[n])
		n++;
	o->targets = hvt_calloc((size_t)n, sizeof(struct target));
	for (int i = 0; i < n; i++)
		if (split_target(c->target[i], &o->targets[o->ntargets]) == 0)
			o->ntargets++;
	if (c->permitted_peers[0]) {
		o->peers = c->permitted_peers;
	} else {                            /* default: the names we dial */
		o->own_peers = hvt_calloc((size_t)o->ntargets + 1, sizeof(char *));
		for (int i = 0; i < o->ntargets; i++)
			o->own_peers[i] = hvt_strdup(o->targets[i].host);
		o->peers = o->own_peers;
	}
	o->copts = (struct relp_client_opts){
		.tls = c->tls,
		.ca = c->tls_ca,
		.cert = c->tls_cert,
		.key = c->tls_key,
		.auth_mode = c->auth_mode,
		.permitted_peers = o->peers,
		.priority = c->tls_priority,
		.window = (int)c->window,
		.timeout_s = (int)HVT_MAX(1, c->timeout / 1000),
		.connect_timeout_s = (int)HVT_MAX(1, c->connect_timeout / 1000),
		.instance = inst->name,
	};
	o->compat = c->compat;
	o->batch_events = o->compat ? 1 : (int)c->batch_events;
	o->max_frame = c->max_frame_size;
	o->reconnect_min_ms = c->reconnect_min;
	o->reconnect_max_ms = HVT_MAX(o->reconnect_min_ms, c->reconnect_max);
	o->flush_idle_ms = c->flush_idle;
	o->stats_ms = c->stats_interval;
	o->shutdown_ms = c->shutdown_timeout;
	o->seal_ms = c->seal_interval;
	if (o->copts.tls && !o->compat && o->seal_ms) {
		char err[512];
		o->signer = hvt_signer_open(o->copts.cert, o->copts.key, err, sizeof err);
		if (!o->signer) {
			hvt_log(LOG_ERR, "[%s] cannot load the key that signs seals: %s", inst->name, err);
			return -1;
		}
	}
	if (!o->copts.tls)
		hvt_log(LOG_WARNING, "[%s] tls = no: events travel in PLAINTEXT and the collector is not "
			"authenticated; use this only on a network you trust completely", inst->name);
	return 0;
}

/* ---- sending ----------------------------------------------------------- */

static void set_error(struct out_relp *o, const char *what)
{
	pthread_mutex_lock(&o->lock);
	hvt_strlcpy(o->last_error, what, sizeof o->last_error);
	pthread_mutex_unlock(&o->lock);
}

/* librelp calls, made outside the gate (see struct out_relp). */
static int gated_connect(struct out_relp *o, int i)
{
	pthread_mutex_unlock(&o->gate);
	int rc = relp_client_connect(o->client, o->targets[i].host, o->targets[i].port);
	pthread_mutex_lock(&o->gate);
	return rc;
}

static int gated_send(struct out_relp *o)
{
	pthread_mutex_unlock(&o->gate);
	int rc = relp_client_send(o->client, o->frame.data, o->frame.len);
	pthread_mutex_lock(&o->gate);
	return rc;
}

static bool gated_close(struct out_relp *o, bool graceful)
{
	pthread_mutex_unlock(&o->gate);
	bool clean = relp_client_close(o->client, graceful);
	pthread_mutex_lock(&o->gate);
	return clean;
}

static void drop_session(struct out_relp *o, const char *why)
{
	if (why) {
		hvt_log(LOG_WARNING, "[%s] session with %s:%s lost: %s; resending from record %" PRIu64,
			o->inst->name, o->targets[o->cur_target].host, o->targets[o->cur_target].port, why,
			hvt_spool_acked(o->spool) + 1);
		set_error(o, why);
	}
	gated_close(o, false);
	pthread_mutex_lock(&o->lock);
	o->connected_to[0] = '\0';
	pthread_mutex_unlock(&o->lock);
	/* a session that got nothing acknowledged (the collector refuses what
	 * we send: a frame over its max_frame_size, say) must not be retried
	 * at once, or both ends loop as fast as TLS handshakes go (rsyslog#1741) */
	o->fruitless = hvt_spool_acked(o->spool) == o->acked_at_connect;
}

/* This instance is being stopped, or the whole daemon. */
static bool must_stop(struct out_relp *o)
{
	return atomic_load(&o->stop) || hvt_host_stopping(o->inst->host);
}

/* Interruptible sleep: wakes early when the daemon stops. */
static void nap(struct out_relp *o, long long ms)
{
	long long until = hvt_mono_us() + ms * 1000;

	while (!must_stop(o) && hvt_mono_us() < until) {
		long long left = (until - hvt_mono_us()) / 1000;
		hvt_spool_wait(o->spool, UINT64_MAX - 1, (int)HVT_MIN(left, 100) + 1);
	}
}

/* Is anything accepting TCP connections at host:port?  A connect only,
 * bounded by timeout_ms, closed at once. */
static bool tcp_answers(const char *host, const char *port, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	bool ok = false;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return false;
	for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ok = true;
		} else if (errno == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			int err = 0;
			socklen_t len = sizeof err;
			ok = poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
			     err == 0;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return ok;
}

/* The reconnect delay.  When no collector even accepted a TCP connection
 * (down, or the network cut), the delay may have grown long by the time
 * one comes back: probe the targets with a bare TCP connect every
 * PROBE_INTERVAL_MS and end the wait as soon as one answers, so an outage
 * costs at most about one probe interval more than it lasted.  After a
 * refusal at the TLS or RELP level the whole delay is waited: retrying at
 * once would only repeat the refusal (rsyslog#1741). */
static void reconnect_wait(struct out_relp *o, long long ms, bool probe)
{
	long long until = hvt_mono_us() + ms * 1000;

	while (!must_stop(o) && hvt_mono_us() < until) {
		long long slice = HVT_MIN((until - hvt_mono_us()) / 1000, PROBE_INTERVAL_MS);
		nap(o, HVT_MAX(slice, 1));
		if (!probe || must_stop(o) || hvt_mono_us() >= until)
			continue;
		for (int i = 0; i < o->ntargets; i++)
			if (tcp_answers(o->targets[i].host, o->targets[i].port, PROBE_TIMEOUT_MS)) {
				hvt_log(LOG_INFO, "[%s] %s:%s accepts connections again: reconnecting now", o->inst->name,
					o->targets[i].host, o->targets[i].port);
				return;
			}
	}
}

static long long jitter(long long ms)
{
	unsigned r;

	hvt_random(&r, sizeof r);
	return ms * 3 / 4 + (long long)(r % (unsigned)(ms / 2 + 1));
}

/* Try every target in order until one accepts; back off between rounds. */
static int send_seal(struct out_relp *o, uint64_t seq, bool final);

/* librelp reads tls_cert and tls_key at every connect, so a session
 * presents whatever the files hold by then (a renewal installed before a
 * SIGHUP is picked up even by the instance being replaced, which still
 * drains).  Seals must be signed by that same certificate, or the
 * collector cannot bind the stream to the session's host: read the files
 * again here too.  A pair that does not load (being replaced right now)
 * keeps the signer we had; the connect then most likely fails too. */
static void refresh_signer(struct out_relp *o)
{
	char err[512];
	struct hvt_signer *sg;

	if (!o->signer)
		return;
	sg = hvt_signer_open(o->copts.cert, o->copts.key, err, sizeof err);
	if (!sg) {
		hvt_log(LOG_WARNING, "[%s] cannot reload the key that signs seals (%s); keeping the one "
			"loaded before", o->inst->name, err);
		return;
	}
	hvt_signer_free(o->signer);
	o->signer = sg;
}

static bool connect_any(struct out_relp *o, long long *backoff_ms, bool stopping)
{
	refresh_signer(o);
	for (int i = 0; i < o->ntargets; i++) {
		if (gated_connect(o, i) == 0) {
			o->cur_target = i;
			ack_window_reset(&o->win);
			o->last_sent = hvt_spool_acked(o->spool);
			hvt_spool_reader_seek(o->reader, o->last_sent + 1);
			pthread_mutex_lock(&o->lock);
			o->sessions++;
			snprintf(o->connected_to, sizeof o->connected_to, "%s:%s", o->targets[i].host,
				 o->targets[i].port);
			pthread_mutex_unlock(&o->lock);
			hvt_log(LOG_INFO, "[%s] connected to %s:%s; sending from record %" PRIu64,
				o->inst->name, o->targets[i].host, o->targets[i].port, o->last_sent + 1);
			o->acked_at_connect = o->last_sent;
			if (!o->fruitless)
				*backoff_ms = o->reconnect_min_ms;
			/* first of all, bind this stream to our certificate */
			if (send_seal(o, hvt_spool_last_seq(o->spool), false) < 0) {
				drop_session(o, relp_client_last_error(o->client));
				return false;
			}
			return true;
		}
		set_error(o, relp_client_last_error(o->client));
	}
	pthread_mutex_lock(&o->lock);
	o->reconnects++;
	pthread_mutex_unlock(&o->lock);
	if (!stopping) {
		long long wait_ms = jitter(*backoff_ms);
		bool probe = relp_client_unreachable(o->client);
		hvt_debug("[%s] no collector took the session; next attempt in %lld ms%s", o->inst->name, wait_ms,
			  probe ? ", or as soon as one accepts TCP connections" : "");
		reconnect_wait(o, wait_ms, probe);
	}
	*backoff_ms = HVT_MIN(*backoff_ms * 2, o->reconnect_max_ms);
	return false;
}

static int send_frame(struct out_relp *o, uint64_t last_seq, unsigned nevents)
{
	if (gated_send(o) < 0)
		return -1;
	uint64_t acked = ack_window_sent(&o->win, last_seq);
	if (acked > hvt_spool_acked(o->spool))
		hvt_spool_ack(o->spool, acked, false);
	o->last_send_us = hvt_mono_us();
	pthread_mutex_lock(&o->lock);
	o->frames_sent++;
	o->events_sent += nevents;
	pthread_mutex_unlock(&o->lock);
	return 0;
}

/* Fill o->frame from the spool; returns the number of records packed. */
static unsigned pack_frame(struct out_relp *o, uint64_t *last_seq)
{
	struct hvt_spool_rec rec;
	unsigned n = 0;

	hvt_buf_reset(&o->frame);
	while (n < (unsigned)o->batch_events) {
		int rc = hvt_spool_reader_next(o->reader, &rec);
		if (rc <= 0)
			break;
		if (rec.skipped) {
			hvt_log(LOG_WARNING, "[%s] %" PRIu64 " spooled records before %" PRIu64
				" are gone (dropped or corrupt) and will not be sent", o->inst->name,
				rec.skipped, rec.seq);
			pthread_mutex_lock(&o->lock);
			o->skipped += rec.skipped;
			pthread_mutex_unlock(&o->lock);
		}
		if (n && o->frame.len + 1 + rec.len > o->max_frame) {
			/* does not fit: put it back for the next frame */
			hvt_spool_reader_unread(o->reader);
			break;
		}
		if (n)
			hvt_buf_append(&o->frame, "\n", 1);
		hvt_buf_append(&o->frame, rec.data, rec.len);
		*last_seq = rec.seq;
		n++;
	}
	return n;
}

/* A control message the collector consumes without indexing it. */
static void build_control(struct out_relp *o, enum hvt_control c, const char *json)
{
	hvt_buf_reset(&o->frame);
	hvt_syslog_format_control(&o->frame, HVT_FACILITY_DAEMON, o->inst->host->hostname, c, json);
}

static char *stats_json(struct out_relp *o);

static int send_stats(struct out_relp *o)
{
	char *js = stats_json(o);

	build_control(o, HVT_CONTROL_STATS, js);
	free(js);
	o->last_stats_us = hvt_mono_us();
	return send_frame(o, 0, 0);
}

/* Sign the chain head at seq and send it (docs/integrity.md). */
static int send_seal(struct out_relp *o, uint64_t seq, bool final)
{
	struct hvt_seal seal = { 0 };
	char err[256];

	if (!o->signer)
		return 0;
	if (hvt_chain_hash_spooled(o->spool, seq, seal.hash) < 0) {
		hvt_log(LOG_WARNING, "[%s] cannot read spool record %" PRIu64 " to seal it", o->inst->name, seq);
		return 0;
	}
	hvt_strlcpy(seal.host, o->inst->host->hostname, sizeof seal.host);
	hvt_strlcpy(seal.stream, hvt_spool_id(o->spool), sizeof seal.stream);
	seal.seq = seq;
	seal.time_us = hvt_now_us();
	seal.final = final;
	if (hvt_seal_sign(o->signer, &seal, err, sizeof err) < 0) {
		hvt_log(LOG_ERR, "[%s] cannot sign a seal: %s", o->inst->name, err);
		hvt_seal_clear(&seal);
		return 0;
	}
	char *js = hvt_seal_to_json(&seal);
	hvt_seal_clear(&seal);
	build_control(o, HVT_CONTROL_SEAL, js);
	free(js);
	o->last_seal_us = hvt_mono_us();
	if (send_frame(o, 0, 0) < 0)
		return -1;
	o->sealed_seq = seq;
	return 0;
}

/* Idle with unconfirmed events: make librelp's window prove they arrived. */
static int confirm_in_flight(struct out_relp *o)
{
	if (o->compat) {
		/* no sync frames for a stock rsyslog: a clean close confirms all */
		bool clean = gated_close(o, true);
		if (clean)
			hvt_spool_ack(o->spool, o->last_sent, true);
		return clean ? 1 : -1;
	}
	int need = ack_window_sync_needed(&o->win, o->last_sent);
	for (int i = 0; i < need; i++) {
		build_control(o, HVT_CONTROL_SYNC, "{}");
		if (send_frame(o, 0, 0) < 0)
			return -1;
	}
	hvt_spool_ack(o->spool, o->win.acked, true);
	return 0;
}

/* Of shutdown_timeout, what the final seal and clean close may use. */
static long long stop_margin_ms(const struct out_relp *o)
{
	return HVT_MIN(STOP_GRACE_MS, o->shutdown_ms / 5);
}

/* What the sender sees now (sender_fsm.h).  stop_deadline is set the
 * first time it sees the instance stopping. */
static void observe(struct out_relp *o, bool drained, long long *stop_deadline, struct sender_view *v)
{
	long long now = hvt_mono_us();
	uint64_t acked = hvt_spool_acked(o->spool);

	v->stopping = must_stop(o);
	if (v->stopping && !*stop_deadline)    /* leaving time for the final seal and close */
		*stop_deadline = now + (o->shutdown_ms - stop_margin_ms(o)) * 1000;
	v->deadline_passed = v->stopping && now > *stop_deadline;
	v->caught_up = acked >= hvt_spool_last_seq(o->spool);
	v->connected = relp_client_connected(o->client);
	v->compat = o->compat;
	v->fruitless = o->fruitless;
	v->seal_due = o->signer && o->last_sent > o->sealed_seq && (now - o->last_seal_us) / 1000 >= o->seal_ms;
	v->drained = drained;
	v->in_flight = o->last_sent > acked;
	v->idle = (now - o->last_send_us) / 1000 >= o->flush_idle_ms;
	v->stats_due = o->stats_ms && (now - o->last_stats_us) / 1000 >= o->stats_ms;
}

/* Pack and send the next frame; false when the spool had nothing. */
static bool send_next(struct out_relp *o)
{
	uint64_t last = 0;
	unsigned n = pack_frame(o, &last);

	if (!n)
		return false;
	if (send_frame(o, last, n) < 0)
		drop_session(o, relp_client_last_error(o->client));
	else
		o->last_sent = last;
	return true;
}

static void *sender(void *arg)
{
	pthread_setname_np(pthread_self(), "hvt-out-relp");   /* top -H, perf */
	struct out_relp *o = arg;
	long long backoff = o->reconnect_min_ms;
	long long stop_deadline = 0;
	bool drained = false;
	struct sender_view v;

	pthread_mutex_lock(&o->gate);
	o->reader = hvt_spool_reader_new(o->spool, hvt_spool_acked(o->spool) + 1);
	for (;;) {
		observe(o, drained, &stop_deadline, &v);
		enum sender_action a = sender_decide(&v);
		drained = false;
		switch (a) {
		case SENDER_FINISH:
			goto finish;
		case SENDER_AWAIT_DEMAND:
			hvt_spool_wait(o->spool, hvt_spool_acked(o->spool), 500);
			break;
		case SENDER_BACKOFF:          /* see drop_session */
			nap(o, jitter(backoff));
			backoff = HVT_MIN(backoff * 2, o->reconnect_max_ms);
			/* fall through */
		case SENDER_CONNECT:
			if (!connect_any(o, &backoff, v.stopping) && v.stopping)
				goto finish;
			break;
		case SENDER_SEAL:
			if (send_seal(o, o->last_sent, false) < 0)
				drop_session(o, relp_client_last_error(o->client));
			break;
		case SENDER_FRAME:
			drained = !send_next(o);
			break;
		case SENDER_CONFIRM:
			if (confirm_in_flight(o) < 0)
				drop_session(o, relp_client_last_error(o->client));
			break;
		case SENDER_STATS:
			if (send_stats(o) < 0)
				drop_session(o, relp_client_last_error(o->client));
			break;
		case SENDER_WAIT:
			hvt_spool_wait(o->spool, o->last_sent, (int)HVT_MAX(1, o->flush_idle_ms));
			break;
		}
	}
finish:
	/* a final seal over the chain head, then a clean close, which proves
	 * everything sent was acknowledged */
	if (relp_client_connected(o->client) && o->last_sent >= hvt_spool_last_seq(o->spool))
		send_seal(o, o->last_sent, true);
	if (relp_client_connected(o->client) && gated_close(o, true))
		hvt_spool_ack(o->spool, o->last_sent, true);
	else
		hvt_spool_ack(o->spool, hvt_spool_acked(o->spool), true);
	if (hvt_spool_acked(o->spool) < hvt_spool_last_seq(o->spool))
		hvt_log(LOG_NOTICE, "[%s] stopping with %" PRIu64 " events not yet acknowledged; they stay "
			"spooled and are sent after the next start", o->inst->name,
			hvt_spool_last_seq(o->spool) - hvt_spool_acked(o->spool));
	hvt_spool_reader_free(o->reader);
	o->reader = NULL;
	pthread_mutex_unlock(&o->gate);
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static int run(struct hvt_instance *inst)
{
	struct out_relp *o = inst->priv;

	o->client = relp_client_new(&o->copts);
	if (pthread_create(&o->thread, NULL, sender, o) != 0) {
		hvt_log(LOG_ERR, "[%s] cannot start the sender thread", inst->name);
		return -1;
	}
	o->thread_started = true;
	return 0;
}

/* Wait for the sender to finish, at most shutdown_timeout (its own loop
 * stops sending a little before, for the final seal and close).  If it is
 * still inside a librelp call then, close the gate on it for good. */
static bool join_in_time(struct out_relp *o)
{
	struct timespec dl;
	long long ms = o->shutdown_ms;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(o->thread, NULL, &dl) == 0)
		return true;
	pthread_mutex_lock(&o->gate);         /* the sender is in librelp, or done */
	if (pthread_tryjoin_np(o->thread, NULL) == 0) {
		pthread_mutex_unlock(&o->gate);
		return true;
	}
	uint64_t last = hvt_spool_last_seq(o->spool), acked = hvt_spool_acked(o->spool);
	hvt_spool_ack(o->spool, acked, true);
	hvt_log(LOG_WARNING, "[%s] the collector (%s) does not answer: stopping after shutdown_timeout without "
		"waiting for it; %" PRIu64 " events not yet acknowledged stay spooled and are sent after the next "
		"start", o->inst->name, o->connected_to[0] ? o->connected_to : "connecting", last - acked);
	pthread_detach(o->thread);
	return false;
}

static void stop(struct hvt_instance *inst)
{
	struct out_relp *o = inst->priv;

	if (!o)
		return;
	atomic_store(&o->stop, true);
	hvt_spool_wake(o->spool);
	if (o->thread_started && !join_in_time(o)) {
		/* the sender is inside librelp with a collector that does not
		 * answer: leave it there (it holds no lock and never touches the
		 * spool again), and with it this instance's memory */
		inst->priv = NULL;
		return;
	}
	relp_client_free(o->client);
	hvt_signer_free(o->signer);
	ack_window_free(&o->win);
	hvt_buf_free(&o->frame);
	for (int i = 0; i < o->ntargets; i++) {
		free(o->targets[i].host);
		free(o->targets[i].port);
	}
	free(o->targets);
	hvt_conf_list_free(o->own_peers);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->gate);
	free(o);
	inst->priv = NULL;
}

static char *stats_json(struct out_relp *o)
{
	struct hvt_buf b = { 0 };
	uint64_t last = hvt_spool_last_seq(o->spool), acked = hvt_spool_acked(o->spool);

	pthread_mutex_lock(&o->lock);
	hvt_buf_printf(&b, "{\"stream\":\"%s\",\"spool_depth\":%" PRIu64 ",\"spool_bytes\":%" PRIu64
		       ",\"last_seq\":%" PRIu64 ",\"acked_seq\":%" PRIu64 ",\"frames_sent\":%" PRIu64
		       ",\"events_sent\":%" PRIu64 ",\"sessions\":%" PRIu64 ",\"failed_connects\":%" PRIu64
		       ",\"skipped\":%" PRIu64 ",\"connected_to\":", hvt_spool_id(o->spool), last - acked,
		       hvt_spool_bytes(o->spool), last, acked, o->frames_sent, o->events_sent, o->sessions,
		       o->reconnects, o->skipped);
	hvt_json_escape(&b, o->connected_to);
	hvt_buf_append_str(&b, ",\"last_error\":");
	hvt_json_escape(&b, o->last_error);
	hvt_buf_append_str(&b, "}");
	pthread_mutex_unlock(&o->lock);
	return b.data;
}

static char *stats(struct hvt_instance *inst)
{
	return stats_json(inst->priv);
}

static const struct hvt_output_ops ops = { .stats = stats };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "out_relp",
	.kind = HVT_PLUGIN_OUTPUT,
	.summary = "ship events over RELP/TLS (librelp) with acknowledged checkpoints",
	.conf_keys = keys,
	.conf_fields = fields,
	.conf_size = sizeof(struct relp_opts),
	.check = check,
	.init = init,
	.run = run,
	.stop = stop,
	.ops = &ops,
};
