/* relp_inject.c - a plain librelp client that sends chosen frames, for the
 * security tests (tls-matrix.test, hostile-input.test).
 *
 *   relp_inject -p PORT [-H HOST] [--ca F --cert F --key F] [--peer NAME]
 *               [--auth-mode name|fingerprint|certvalid] [--no-tls] FRAME...
 *
 * Each FRAME is a file whose bytes are sent as one RELP "syslog" frame
 * (one trailing newline is dropped; LFs inside separate messages, as
 * hvtrail forwarders batch them).  It deliberately does not link
 * libhvtrail: it is what any RELP client can do, with any certificate -
 * expired, not yet valid, or for a name the collector does not permit.
 *
 * Output: one line per step.  Exit status: 0 every frame sent and the
 * clean close answered (so the collector acknowledged them all), 2 the
 * session could not be opened (refused), 3 it broke while sending or
 * closing, 1 usage or local errors. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <librelp.h>

static int saw_error;

/* librelp reports a "serverclose" during the final close only in its
 * trace (plugins/out_relp/relp_client.c explains): watch it.  With
 * RELP_INJECT_DEBUG=1 the trace goes to stderr as well. */
static int trace, wait_failed;

static void relp_dbg(char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void relp_dbg(char *fmt, ...)
{
	va_list ap;

	if (strcmp(fmt, "relpSessWaitState returns %d\n") == 0) {
		va_start(ap, fmt);
		int rc = va_arg(ap, int);
		/* the empty answer to "close" ends the wait with END_OF_DATA */
		if (rc != RELP_RET_OK && rc != RELP_RET_END_OF_DATA)
			wait_failed = 1;
		va_end(ap);
	}
	if (!trace)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "librelp: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void on_err(void *usr, char *objinfo, char *msg, relpRetVal code)
{
	(void)usr;
	saw_error = 1;
	printf("librelp error: %s: %s (%d)\n", objinfo, msg, (int)code);
}

static void on_auth_err(void *usr, char *authinfo, char *msg, relpRetVal code)
{
	(void)usr;
	saw_error = 1;
	printf("librelp auth error: %s [%s] (%d)\n", msg, authinfo, (int)code);
}

static void on_generic_err(char *objinfo, char *msg, relpRetVal code)
{
	printf("librelp: %s: %s (%d)\n", objinfo, msg, (int)code);
}

/* In a sanitizer build: librelp 1.11 leaks a failed handshake's GnuTLS
 * session (lib/tlsleak.h works around that in the daemons; this tool is a
 * plain librelp client on purpose), and its engine's session list at stop. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libgnutls.so.30\nleak:librelp.so.0\n";
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 65536 > cap) {
			cap = (n + 65536) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	if (n && buf[n - 1] == '\n')
		n--;
	*len = n;
	return buf;
}

static void usage(void)
{
	fprintf(stderr, "usage: relp_inject -p PORT [-H HOST] [--ca F --cert F --key F] [--peer NAME]\n"
		"       [--auth-mode MODE] [--no-tls] FRAME-FILE...\n");
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "peer", required_argument, NULL, 'P' },
		{ "auth-mode", required_argument, NULL, 'm' },
		{ "no-tls", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *port = NULL, *host = "127.0.0.1", *ca = NULL, *cert = NULL, *key = NULL;
	const char *peer = "collector.test", *mode = "name";
	int tls = 1, c;
	relpEngine_t *engine;
	relpClt_t *clt;

	while ((c = getopt_long(argc, argv, "p:H:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = optarg; break;
		case 'H': host = optarg; break;
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'P': peer = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': tls = 0; break;
		default: usage();
		}
	}
	if (!port || optind >= argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);     /* a collector aborting the session is an outcome, not a crash */
	/* librelp pitfalls: the debug printer first, and enable "syslog" */
	if (relpEngineConstruct(&engine) != RELP_RET_OK)
		return 1;
	trace = getenv("RELP_INJECT_DEBUG") != NULL;
	relpEngineSetDbgprint(engine, relp_dbg);
	relpEngineSetOnErr(engine, on_err);
	relpEngineSetOnAuthErr(engine, on_auth_err);
	relpEngineSetOnGenericErr(engine, on_generic_err);
	relpEngineSetEnableCmd(engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetTLSLibByName(engine, "gnutls");
	if (relpEngineCltConstruct(engine, &clt) != RELP_RET_OK)
		return 1;
	relpCltSetTimeout(clt, 10);
	relpCltSetWindowSize(clt, 16);
	if (tls) {
		if (relpCltEnableTLS(clt) != RELP_RET_OK || relpCltSetAuthMode(clt, (char *)mode) != RELP_RET_OK ||
		    (ca && relpCltSetCACert(clt, (char *)ca) != RELP_RET_OK) ||
		    (cert && relpCltSetOwnCert(clt, (char *)cert) != RELP_RET_OK) ||
		    (key && relpCltSetPrivKey(clt, (char *)key) != RELP_RET_OK) ||
		    relpCltAddPermittedPeer(clt, (char *)peer) != RELP_RET_OK) {
			fprintf(stderr, "relp_inject: TLS set-up failed\n");
			return 1;
		}
	}
	relpRetVal r = relpCltConnect(clt, AF_INET, (unsigned char *)port, (unsigned char *)host);
	if (r != RELP_RET_OK) {
		printf("connect: refused or failed (librelp %d)\n", (int)r);
		relpEngineCltDestruct(engine, &clt);
		relpEngineDestruct(&engine);
		return 2;
	}
	printf("connect: session open\n");
	int rc = 0;
	for (int i = optind; i < argc && rc == 0; i++) {
		size_t len = 0;
		char *data = slurp(argv[i], &len);
		if (!data) {
			perror(argv[i]);
			rc = 1;
			break;
		}
		saw_error = 0;
		r = relpCltSendSyslog(clt, (unsigned char *)data, len);
		free(data);
		if (r != RELP_RET_OK || saw_error) {
			printf("frame %s: send failed (librelp %d)\n", argv[i], (int)r);
			rc = 3;
		} else {
			printf("frame %s: sent (%zu bytes)\n", argv[i], len);
		}
	}
	/* a clean "close" is answered only after every earlier frame */
	saw_error = 0;
	wait_failed = 0;
	relpEngineCltDestruct(engine, &clt);
	if (rc == 0 && (saw_error || wait_failed))
		rc = 3;
	printf("close: %s\n", rc == 0 ? "every frame acknowledged" : "session broken");
	relpEngineDestruct(&engine);
	return rc;
}
