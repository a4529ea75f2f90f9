/* relp_client.h - one librelp client session over TLS, with errors in words. */
#ifndef HVT_RELP_CLIENT_H
#define HVT_RELP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct relp_client_opts {
	bool tls;
	const char *ca, *cert, *key;
	const char *auth_mode;        /* name | fingerprint | certvalid */
	char *const *permitted_peers; /* NULL-terminated */
	const char *priority;         /* GnuTLS priority string or NULL */
	int window;
	int timeout_s;
	int connect_timeout_s;
	const char *instance;         /* for log lines */
};

struct relp_client;

struct relp_client *relp_client_new(const struct relp_client_opts *o);
void relp_client_free(struct relp_client *c);
/* Connect to host:port; 0 or -1 (the reason is logged). */
int relp_client_connect(struct relp_client *c, const char *host, const char *port);
/* Send one frame; 0 or -1 when the session is broken (then call close). */
int relp_client_send(struct relp_client *c, const char *data, size_t len);
/* End the session.  graceful: send "close" and wait for its answer, which
 * the collector sends after answering every earlier frame.  Returns true
 * when that happened, i.e. every frame sent was acknowledged. */
bool relp_client_close(struct relp_client *c, bool graceful);
bool relp_client_connected(const struct relp_client *c);
/* The last connect failed at the TCP level (refused, unreachable, timed
 * out): nothing of TLS or RELP was exchanged, so trying again costs the
 * collector nothing. */
bool relp_client_unreachable(const struct relp_client *c);
/* Set by librelp's error callback: an error response or a broken session
 * was reported during the last call. */
bool relp_client_saw_error(const struct relp_client *c);
const char *relp_client_last_error(const struct relp_client *c);

#endif
