/* http_loop.c - the HTTPS endpoint's one thread, and the deadline every
 * request must arrive within.
 *
 * libmicrohttpd's connection timeout is an idle timeout: any byte resets
 * it.  A client that sends its request one byte a second therefore holds
 * its connection for ever, and a few of them (max_per_ip from each of a
 * few addresses) fill max_connections: nobody, Prometheus included, gets
 * an answer - without a certificate or the token, since all of that
 * happens before the request is read (measured: six connections trickling
 * a header at 1 byte/s kept a collector with timeout = 3s, max_connections
 * = 6 from answering anyone).
 *
 * So every connection is watched from its accept (the TLS handshake
 * included) and again from the end of each answer: its next request must
 * be in, in full (headers, and the end of a body, which it may not have:
 * chunked "0000..." never ends), within `timeout`, or its socket is shut
 * down.
 * The answer itself is not timed: the client is authenticated by then and
 * the idle timeout covers a reader that stops reading.
 *
 * The shutdown() must never hit a descriptor libmicrohttpd has closed and
 * the kernel handed out again.  That is why libmicrohttpd runs without a
 * thread of its own (MHD_USE_EPOLL, driven by MHD_run() here): it closes
 * sockets, and tells us so (MHD_CONNECTION_NOTIFY_CLOSED), only inside
 * MHD_run(), on this thread, and the watches are cut between two runs.
 * The thread also serves every request (http.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_int.h"
#include "log.h"

/* One TCP connection, from accept to close. */
struct http_watch {
	struct http_watch *prev, *next;
	int fd;
	bool waiting;                 /* for a request (not answering one) */
	bool cut;                     /* shut down for being too slow */
	long long since_us;           /* monotonic: accepted, or the last answer ended */
	char addr[64];
};

static void peer_name(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	hvt_strlcpy(out, "?", size);
	if (ci && ci->client_addr)
		getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
			    sizeof(struct sockaddr_in), out, (socklen_t)size, NULL, 0, NI_NUMERICHOST);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	struct http_watch *w = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		w = hvt_calloc(1, sizeof *w);
		w->fd = ci ? ci->connect_fd : -1;
		w->waiting = true;
		w->since_us = hvt_mono_us();
		peer_name(conn, w->addr, sizeof w->addr);
		w->next = h->watches;
		if (w->next)
			w->next->prev = w;
		h->watches = w;
		*socket_context = w;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && w) {
		if (w->prev)
			w->prev->next = w->next;
		else
			h->watches = w->next;
		if (w->next)
			w->next->prev = w->prev;
		free(w);
		*socket_context = NULL;
	}
}

static struct http_watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void http_loop_request_in(struct MHD_Connection *conn)
{
	struct http_watch *w = watch_of(conn);

	if (w)
		w->waiting = false;
}

/* An answer went out (or the request ended otherwise): the clock for the
 * next request on this connection starts now. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_watch *w = watch_of(conn);
	(void)cls;
	(void)con_cls;
	(void)toe;

	if (w) {
		w->waiting = true;
		w->since_us = hvt_mono_us();
	}
}

int http_loop_options(struct http *h, struct MHD_OptionItem *opt)
{
	opt[0] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h };
	opt[1] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h };
	return 2;
}

/* Shut down the connections whose request is late; the milliseconds until
 * the next one is due, or -1 when none waits. */
static long long cut_late(struct http *h)
{
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(10000);
	long long now = hvt_mono_us(), next = -1;

	for (struct http_watch *w = h->watches; w; w = w->next) {
		if (!w->waiting || w->cut || w->fd < 0)
			continue;
		long long left_ms = (w->since_us + h->request_ms * 1000 - now + 999) / 1000;
		if (left_ms > 0) {
			next = next < 0 ? left_ms : HVT_MIN(next, left_ms);
			continue;
		}
		/* libmicrohttpd reads the end of the stream at its next run and closes */
		shutdown(w->fd, SHUT_RDWR);
		w->cut = true;
		h->too_slow++;
		hvt_log_ratelimited(&rl, LOG_NOTICE, "[http] closed a connection from %s: no complete request "
				    "within %lld ms (timeout)", w->addr, h->request_ms);
		next = 0;         /* run again at once: it closes now */
	}
	return next;
}

static void *serve(void *arg)
{
	struct http *h = arg;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd pf[2] = { { di ? di->epoll_fd : -1, POLLIN, 0 }, { h->wake_fd, POLLIN, 0 } };

	pthread_setname_np(pthread_self(), "hvt-http");   /* top -H, perf */
	while (!atomic_load(&h->stop)) {
		MHD_UNSIGNED_LONG_LONG mhd_ms;
		long long wait = MHD_get_timeout(h->mhd, &mhd_ms) == MHD_YES ? (long long)HVT_MIN(mhd_ms, INT_MAX) : -1;
		long long due = cut_late(h);
		if (due >= 0 && (wait < 0 || due < wait))
			wait = due;
		if (poll(pf, 2, (int)wait) < 0 && errno != EINTR) {
			hvt_log(LOG_ERR, "[http] poll: %s; the endpoint stops answering", strerror(errno));
			break;
		}
		MHD_run(h->mhd);
	}
	return NULL;
}

int http_loop_start(struct http *h)
{
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		hvt_log(LOG_ERR, "[http] eventfd: %s", strerror(errno));
		return -1;
	}
	int rc = pthread_create(&h->thread, NULL, serve, h);
	if (rc != 0) {
		hvt_log(LOG_ERR, "[http] cannot start its thread: %s", strerror(rc));
		return -1;
	}
	h->thread_started = true;
	return 0;
}

void http_loop_stop(struct http *h)
{
	if (h->thread_started) {
		atomic_store(&h->stop, true);
		uint64_t one = 1;
		if (write(h->wake_fd, &one, sizeof one) < 0)
			hvt_debug("[http] eventfd write: %s", strerror(errno));
		pthread_join(h->thread, NULL);
		h->thread_started = false;
	}
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	h->wake_fd = -1;
}
