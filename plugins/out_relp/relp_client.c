/* relp_client.c - see relp_client.h.
 *
 * librelp pitfalls handled here (see ../shared/DESIGN.md): <stddef.h> before
 * librelp.h; relpEngineSetDbgprint must be the first call; the detailed
 * reason for a refused connection only reaches the error callbacks. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librelp.h>

#include "log.h"
#include "relp_client.h"
#include "util.h"

struct relp_client {
	struct relp_client_opts o;
	relpEngine_t *engine;
	relpClt_t *clt;
	bool connected;
	bool saw_error;
	char last_error[512];
	struct hvt_ratelimit rl;
};

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

static void note_error(struct relp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(struct relp_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
	va_end(ap);
	c->saw_error = true;
}

static void on_err(void *usr, char *objinfo, char *msg, relpRetVal code)
{
	struct relp_client *c = usr;

	if (!c)
		return;
	note_error(c, "%s: %s (librelp %d)", objinfo, msg, (int)code);
}

static void on_auth_err(void *usr, char *authinfo, char *msg, relpRetVal code)
{
	struct relp_client *c = usr;

	if (!c)
		return;
	note_error(c, "collector certificate refused: %s [%s] (librelp %d)", msg, authinfo, (int)code);
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
	c->rl = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(30000);
	return c;
}

void relp_client_free(struct relp_client *c)
{
	if (!c)
		return;
	relp_client_close(c, false);
	free(c);
}

static int setup(struct relp_client *c)
{
	relpRetVal r;

	if ((r = relpEngineConstruct(&c->engine)) != RELP_RET_OK)
		return (int)r;
	relpEngineSetDbgprint(c->engine, getenv("HVTRAIL_RELP_DEBUG") ? stderr_dbg : no_dbg);
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
	for (char **p = c->o.permitted_peers; p && *p; p++)
		if ((r = relpCltAddPermittedPeer(c->clt, *p)) != RELP_RET_OK)
			return (int)r;
	return 0;
}

int relp_client_connect(struct relp_client *c, const char *host, const char *port)
{
	int r;

	relp_client_close(c, false);
	c->saw_error = false;
	c->last_error[0] = '\0';
	if ((r = setup(c)) != 0) {
		hvt_log(LOG_ERR, "[%s] cannot set up the RELP client (librelp %d)", c->o.instance, r);
		relp_client_close(c, false);
		return -1;
	}
	r = (int)relpCltConnect(c->clt, strchr(host, ':') ? AF_INET6 : AF_INET,
				(unsigned char *)port, (unsigned char *)host);
	if (r != RELP_RET_OK) {
		const char *why = c->last_error[0] ? c->last_error :
			r == RELP_RET_IO_ERR || r == RELP_RET_SESSION_BROKEN ? "connection failed or refused by the peer" :
			r == RELP_RET_ERR_TLS_SETUP ? "TLS setup failed (check tls_ca, tls_cert, tls_key and permitted_peers)" :
			"connect failed";
		hvt_log_ratelimited(&c->rl, LOG_WARNING, "[%s] cannot connect to %s:%s: %s (librelp %d)",
				    c->o.instance, host, port, why, r);
		relp_client_close(c, false);
		return -1;
	}
	c->connected = true;
	return 0;
}

int relp_client_send(struct relp_client *c, const char *data, size_t len)
{
	relpRetVal r;

	if (!c->connected)
		return -1;
	r = relpCltSendSyslog(c->clt, (unsigned char *)data, len);
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
			 * a silent error callback means its answer arrived */
			if (graceful && c->connected) {
				c->saw_error = false;
				relpEngineCltDestruct(c->engine, &c->clt);
				clean = !c->saw_error;
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
