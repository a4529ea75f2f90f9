/* relp_client.c - see relp_client.h.
 *
 * librelp pitfalls handled here (see ../shared/DESIGN.md): <stddef.h> before
 * librelp.h; relpEngineSetDbgprint must be the first call; the detailed
 * reason for a refused connection only reaches the error callbacks (and
 * lib/tlspeer.c, which says it in words); a "serverclose" reaches only the
 * trace (below); a failed handshake's GnuTLS objects are leaked by librelp
 * and given back (lib/tlsleak.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librelp.h>

#include "log.h"
#include "ratekey.h"
#include "relp_client.h"
#include "tlsleak.h"
#include "tlspeer.h"
#include "util.h"

/* A connect failure for the same reason is logged again after this long. */
#define CONNECT_LOG_INTERVAL_MS 30000

struct relp_client {
	struct relp_client_opts o;
	relpEngine_t *engine;
	relpClt_t *clt;
	bool connected;
	bool saw_error;
	bool refused;                 /* last_error says why we refused the collector */
	bool unreachable;             /* the last connect failed before any TLS or RELP exchange */
	char last_error[768];
	char target[300];             /* host:port being connected */
	char *permitted;              /* permitted_peers, comma-separated */
	size_t largest_frame;         /* this session's, for a hint when it is closed on us */
	struct hvt_ratekey rk;
};

/* librelp 1.11 tells the error callbacks nothing when the collector ends a
 * session with a "serverclose" hint (it sends one when it aborts a session,
 * e.g. for a frame over its max_frame_size, and when it shuts down): the
 * session merely turns "broken", and the wait for the answer to our
 * "close" returns RELP_RET_SESSION_CLOSED.  Only librelp's debug trace says
 * so.  A graceful close that ran into it is not a clean close - frames sent
 * before it may never have been answered - so while closing we watch the
 * trace for a wait that failed, other than with END_OF_DATA (how librelp
 * 1.11 ends the wait for the collector's empty answer to "close").  The
 * trace function has no user pointer; the close runs on the calling
 * thread.  tests/hostile-input.test fails if a librelp changes this: its
 * compat-mode forwarder would lose an event. */
#define WAIT_TRACE "relpSessWaitState returns %d\n"
static __thread bool watching_close, close_failed;
static bool trace;                /* HVTRAIL_RELP_DEBUG=1: librelp's own trace on stderr */

static void relp_dbg(char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void relp_dbg(char *fmt, ...)
{
	va_list ap;

	if (watching_close && strcmp(fmt, WAIT_TRACE) == 0) {
		va_start(ap, fmt);
		int rc = va_arg(ap, int);
		/* the empty answer to "close" itself ends the wait with
		 * END_OF_DATA in librelp 1.11; anything else is a failure */
		if (rc != RELP_RET_OK && rc != RELP_RET_END_OF_DATA)
			close_failed = true;
		va_end(ap);
	}
	if (!trace)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "librelp: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void note_error(struct relp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(struct relp_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
	va_end(ap);
	c->saw_error = true;
}

/* What librelp's and GnuTLS's words mean in an established session, in
 * ours: they name the layer that noticed ("Error in the pull function",
 * "error waiting on required session state"), not what happened. */
static const char *session_words(const char *msg, relpRetVal code)
{
	if (code == RELP_RET_SESSION_BROKEN && msg && strstr(msg, "required session state"))
		return "the collector did not answer within the timeout (no RELP acknowledgement)";
	if (msg && strstr(msg, "gnutls error -54"))
		return "the collector closed the connection, or the network dropped it";
	if (msg && strstr(msg, "gnutls error -110"))
		return "the collector ended the TLS session without a goodbye";
	if (code == RELP_RET_SESSION_BROKEN)
		return "the session broke";
	return NULL;
}

/* librelp reports one failure as a cascade (the TLS read, then "session
 * broken", then "error waiting on required session state"): the first is
 * the cause and the only one kept for the log line drop_session writes. */
static void on_err(void *usr, char *objinfo, char *msg, relpRetVal code)
{
	struct relp_client *c = usr;
	bool routine;

	if (!c || c->refused)         /* the refusal said it better */
		return;
	if (c->saw_error) {
		hvt_debug("out_relp: %s: %s (librelp %d; a consequence of the error noted before)", objinfo, msg,
			  (int)code);
		return;
	}
	const char *why = hvt_tls_handshake_words(msg, &routine);
	if (why && !routine)
		note_error(c, "%s (%s: %s, librelp %d)", why, objinfo, msg, (int)code);
	else if ((why = session_words(msg, code)))
		note_error(c, "%s (%s: %s, librelp %d)", why, objinfo, msg, (int)code);
	else
		note_error(c, "%s: %s (librelp %d)", objinfo, msg, (int)code);
}

static void refused(struct relp_client *c, enum hvt_tls_refusal kind, const struct hvt_tls_peer *p,
		    const char *why, const char *authinfo, const char *msg)
{
	char words[700];

	hvt_tls_refusal_words(kind, p, why, authinfo, msg, c->permitted, words, sizeof words);
	note_error(c, "refused the collector at %s: %s", c->target, words);
	c->refused = true;
}

/* librelp refused the collector's certificate, inside the handshake where
 * lib/tlspeer.c recorded what the certificate says. */
static void on_auth_err(void *usr, char *authinfo, char *msg, relpRetVal code)
{
	struct relp_client *c = usr;

	if (!c)
		return;
	refused(c, code == RELP_RET_AUTH_ERR_NAME ? HVT_TLS_REF_NAME : code == RELP_RET_AUTH_ERR_FP ?
		HVT_TLS_REF_FINGERPRINT : code == RELP_RET_AUTH_NO_CERT ? HVT_TLS_REF_NO_CERT :
		HVT_TLS_REF_UNTRUSTED, hvt_tls_current_peer(), NULL, authinfo, msg);
}

/* Our verify hook refused a certificate librelp would have accepted. */
static void on_policy_refuse(void *arg, const struct hvt_tls_peer *p, const char *why)
{
	refused(arg, HVT_TLS_REF_UNTRUSTED, p, why, NULL, NULL);
}

/* Generic errors carry no user pointer; they are rare and logged directly. */
static void on_generic_err(char *objinfo, char *msg, relpRetVal code)
{
	hvt_log(LOG_WARNING, "out_relp: %s: %s (librelp %d)", objinfo, msg, (int)code);
}

struct relp_client *relp_client_new(const struct relp_client_opts *o)
{
	struct relp_client *c = hvt_calloc(1, sizeof *c);

	c->o = *o;
	hvt_ratekey_init(&c->rk, CONNECT_LOG_INTERVAL_MS);
	struct hvt_buf pb = { 0 };
	for (char *const *p = o->permitted_peers; p && *p; p++)
		hvt_buf_printf(&pb, "%s%s", pb.len ? ", " : "", *p);
	c->permitted = pb.data ? pb.data : hvt_strdup("");
	return c;
}

void relp_client_free(struct relp_client *c)
{
	if (!c)
		return;
	relp_client_close(c, false);
	hvt_ratekey_destroy(&c->rk);
	free(c->permitted);
	free(c);
}

static int setup(struct relp_client *c)
{
	relpRetVal r;

	if ((r = relpEngineConstruct(&c->engine)) != RELP_RET_OK)
		return (int)r;
	trace = getenv("HVTRAIL_RELP_DEBUG") != NULL;
	relpEngineSetDbgprint(c->engine, relp_dbg);
	relpEngineSetOnErr(c->engine, on_err);
	relpEngineSetOnAuthErr(c->engine, on_auth_err);
	relpEngineSetOnGenericErr(c->engine, on_generic_err);
	/* without this the client offers no commands and the server refuses */
	relpEngineSetEnableCmd(c->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	if ((r = relpEngineSetTLSLibByName(c->engine, "gnutls")) != RELP_RET_OK)
		return (int)r;
	if ((r = relpEngineCltConstruct(c->engine, &c->clt)) != RELP_RET_OK)
		return (int)r;
	relpCltSetUsrPtr(c->clt, c);
	relpCltSetTimeout(c->clt, (unsigned)c->o.timeout_s);
	relpCltSetConnTimeout(c->clt, c->o.connect_timeout_s);
	if ((r = relpCltSetWindowSize(c->clt, c->o.window)) != RELP_RET_OK)
		return (int)r;
	if (!c->o.tls)
		return 0;
	if ((r = relpCltEnableTLS(c->clt)) != RELP_RET_OK ||
	    (r = relpCltSetAuthMode(c->clt, (char *)c->o.auth_mode)) != RELP_RET_OK ||
	    (r = relpCltSetCACert(c->clt, (char *)c->o.ca)) != RELP_RET_OK ||
	    (r = relpCltSetOwnCert(c->clt, (char *)c->o.cert)) != RELP_RET_OK ||
	    (r = relpCltSetPrivKey(c->clt, (char *)c->o.key)) != RELP_RET_OK)
		return (int)r;
	if (c->o.priority && *c->o.priority &&
	    (r = relpCltSetGnuTLSPriString(c->clt, (char *)c->o.priority)) != RELP_RET_OK)
		return (int)r;
	for (char *const *p = c->o.permitted_peers; p && *p; p++)
		if ((r = relpCltAddPermittedPeer(c->clt, *p)) != RELP_RET_OK)
			return (int)r;
	return 0;
}

/* librelp reads the TLS files at every connect, i.e. also after the
 * daemon dropped its privileges; say so plainly rather than "TLS setup
 * failed" when the user we run as cannot read them. */
static int tls_files_readable(struct relp_client *c)
{
	const char *what[3] = { "tls_ca", "tls_cert", "tls_key" };
	const char *path[3] = { c->o.ca, c->o.cert, c->o.key };

	for (int i = 0; c->o.tls && i < 3; i++) {
		if (!path[i] || access(path[i], R_OK) == 0)
			continue;
		char key[300];
		snprintf(key, sizeof key, "unreadable %s", path[i]);
		hvt_log_ratekey(&c->rk, key, LOG_ERR, "[%s] cannot read %s %s as uid %d: %s (with [forwarder] "
				"user set, the TLS files must be readable by that user, e.g. group-readable)",
				c->o.instance, what[i], path[i], (int)geteuid(), strerror(errno));
		snprintf(c->last_error, sizeof c->last_error, "cannot read %s %s", what[i], path[i]);
		return -1;
	}
	return 0;
}

int relp_client_connect(struct relp_client *c, const char *host, const char *port)
{
	int r;

	relp_client_close(c, false);
	c->saw_error = false;
	c->refused = false;
	c->unreachable = false;
	c->largest_frame = 0;
	c->last_error[0] = '\0';
	snprintf(c->target, sizeof c->target, "%s:%s", host, port);
	if (tls_files_readable(c) < 0)
		return -1;
	if ((r = setup(c)) != 0) {
		hvt_log(LOG_ERR, "[%s] cannot set up the RELP client (librelp %d)", c->o.instance, r);
		relp_client_close(c, false);
		return -1;
	}
	/* librelp makes this session's GnuTLS credentials inside
	 * relpCltConnect: bind our policy to them (lib/tlspeer.h) */
	struct hvt_tls_policy pol = { (enum hvt_tls_mode)hvt_tls_mode_parse(c->o.auth_mode), on_policy_refuse, c };
	hvt_tls_policy_begin(&pol);
	hvt_tls_track_begin();        /* librelp leaks a failed handshake's session (tlsleak.h) */
	r = (int)relpCltConnect(c->clt, strchr(host, ':') ? AF_INET6 : AF_INET,
				(unsigned char *)port, (unsigned char *)host);
	hvt_tls_track_end();
	hvt_tls_policy_end();
	if (r != RELP_RET_OK) {
		char why[sizeof c->last_error + 200];
		c->unreachable = (r == RELP_RET_IO_ERR || r == RELP_RET_TIMED_OUT) && !c->refused;
		if (c->last_error[0])
			snprintf(why, sizeof why, "%s", c->last_error);
		else
			snprintf(why, sizeof why, "%s (librelp %d)", r == RELP_RET_IO_ERR || r == RELP_RET_SESSION_BROKEN ?
				 "connection failed or refused by the peer" : r == RELP_RET_ERR_TLS_SETUP ?
				 "TLS setup failed (check tls_ca, tls_cert, tls_key and permitted_peers)" :
				 "connect failed", r);
		if (r == RELP_RET_SESSION_BROKEN && !c->refused)
			/* TCP (and TLS, as far as we could tell) worked, then the
			 * collector hung up before answering "open" */
			hvt_strlcpy(why + strlen(why), c->o.tls ?
				    "; the collector ended the session before answering: it probably refused this "
				    "forwarder's certificate (its log says why)" :
				    "; the collector ended the session before answering: it probably requires TLS "
				    "(this forwarder has tls = no)", sizeof why - strlen(why));
		char key[sizeof why + sizeof c->target + 16];
		snprintf(key, sizeof key, "%s %d %s", c->target, r, why);
		hvt_log_ratekey(&c->rk, key, LOG_WARNING, "[%s] cannot connect to %s:%s: %s", c->o.instance, host,
				port, why);
		relp_client_close(c, false);
		hvt_tls_reclaim_tracked();    /* what librelp did not free, now that it is gone */
		return -1;
	}
	if (c->o.tls && pol.mode == HVT_TLS_MODE_CERTVALID && !hvt_tls_hook_active()) {
		/* librelp 1.11 verifies nothing in this mode; only our hook does */
		hvt_log(LOG_ERR, "[%s] auth_mode = certvalid needs hvtrail's GnuTLS verify hook, which is not "
			"active in this process: not using an unverified session (use auth_mode = name)",
			c->o.instance);
		relp_client_close(c, false);
		return -1;
	}
	c->connected = true;
	return 0;
}

/* The collector ended the session with "serverclose" (see relp_dbg). */
static void closed_by_collector(struct relp_client *c)
{
	note_error(c, "the collector closed the session (RELP serverclose): it is shutting down, or it "
		   "refused a frame - the largest this session sent was %zu bytes; if that is over the "
		   "collector's [listen] max_frame_size, lower this output's max_frame_size or the "
		   "forwarder's max_event_size (the collector's log says which)", c->largest_frame);
}

int relp_client_send(struct relp_client *c, const char *data, size_t len)
{
	relpRetVal r;

	if (!c->connected)
		return -1;
	if (len > c->largest_frame)
		c->largest_frame = len;
	r = relpCltSendSyslog(c->clt, (unsigned char *)data, len);
	if (r == RELP_RET_SESSION_CLOSED && !c->saw_error)
		closed_by_collector(c);
	if (r != RELP_RET_OK || c->saw_error) {
		if (!c->last_error[0])
			snprintf(c->last_error, sizeof c->last_error, "send failed (librelp %d)", (int)r);
		return -1;
	}
	return 0;
}

bool relp_client_close(struct relp_client *c, bool graceful)
{
	bool clean = false;

	if (c->engine) {
		if (c->clt) {
			/* librelp sends "close" unless the session is already broken;
			 * no error callback and no failed wait in the trace (see
			 * relp_dbg) means its answer arrived */
			if (graceful && c->connected) {
				c->saw_error = false;
				watching_close = true;
				close_failed = false;
				relpEngineCltDestruct(c->engine, &c->clt);
				watching_close = false;
				clean = !c->saw_error && !close_failed;
				if (close_failed && !c->saw_error)
					closed_by_collector(c);
			} else {
				relpEngineCltDestruct(c->engine, &c->clt);
			}
		}
		relpEngineDestruct(&c->engine);
	}
	c->engine = NULL;
	c->clt = NULL;
	c->connected = false;
	return clean;
}

bool relp_client_unreachable(const struct relp_client *c)
{
	return c->unreachable;
}

bool relp_client_connected(const struct relp_client *c)
{
	return c->connected;
}

bool relp_client_saw_error(const struct relp_client *c)
{
	return c->saw_error;
}

const char *relp_client_last_error(const struct relp_client *c)
{
	return c->last_error;
}
