/* test_ack_window.c - prove the acknowledgement inference of ack_window.h
 * against real librelp: a librelp server in this process that stops
 * answering after frame K, and our client (relp_client.c) sending through
 * it.  The inferred acknowledgement must never exceed what the server has
 * answered, and must reach exactly K once the window is full. */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <librelp.h>

#include "ack_window.h"
#include "relp_client.h"

#define W 8
#define K 20

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int received;         /* callbacks entered */
	int returned;         /* callbacks returned = frames answered at most */
	int hold_at;          /* block in the callback for this frame (0 = never) */
	relpEngine_t *engine;
	pthread_t thread;
	char port[16];
} srv = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, 0, "" };

static void no_dbg(char *fmt, ...)
{
	(void)fmt;
}

static relpRetVal on_frame(void *usr, unsigned char *host, unsigned char *ip, unsigned char *msg, size_t len)
{
	(void)usr; (void)host; (void)ip; (void)msg; (void)len;
	pthread_mutex_lock(&srv.lock);
	srv.received++;
	while (srv.hold_at && srv.received >= srv.hold_at)
		pthread_cond_wait(&srv.cond, &srv.lock);
	srv.returned++;
	pthread_mutex_unlock(&srv.lock);
	return RELP_RET_OK;
}

static void wake(int sig)
{
	(void)sig;
}

static void *serve(void *arg)
{
	(void)arg;
	relpEngineRun(srv.engine);
	return NULL;
}

static void free_port(char *out, size_t n)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof sa;

	bind(fd, (struct sockaddr *)&sa, sizeof sa);
	getsockname(fd, (struct sockaddr *)&sa, &l);
	snprintf(out, n, "%d", ntohs(sa.sin_port));
	close(fd);
}

static void server_start(int hold_at)
{
	relpSrv_t *s;
	struct sigaction sa = { .sa_handler = wake };

	sigaction(SIGUSR1, &sa, NULL);
	srv.received = srv.returned = 0;
	srv.hold_at = hold_at;
	free_port(srv.port, sizeof srv.port);
	ck_assert_int_eq(relpEngineConstruct(&srv.engine), RELP_RET_OK);
	relpEngineSetDbgprint(srv.engine, no_dbg);
	relpEngineSetSyslogRcv2(srv.engine, on_frame);
	relpEngineSetEnableCmd(srv.engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetDnsLookupMode(srv.engine, 0);
	ck_assert_int_eq(relpEngineListnerConstruct(srv.engine, &s), RELP_RET_OK);
	relpSrvSetLstnAddr(s, (unsigned char *)"127.0.0.1");
	relpSrvSetLstnPort(s, (unsigned char *)srv.port);
	ck_assert_int_eq(relpEngineListnerConstructFinalize(srv.engine, s), RELP_RET_OK);
	ck_assert_int_eq(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

static void server_release(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.hold_at = 0;
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
}

static void server_stop(void)
{
	server_release();
	relpEngineSetStop(srv.engine);
	pthread_kill(srv.thread, SIGUSR1);
	pthread_join(srv.thread, NULL);
	relpEngineDestruct(&srv.engine);
}

static int answered_at_most(void)
{
	pthread_mutex_lock(&srv.lock);
	int n = srv.returned;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static struct relp_client *client(void)
{
	struct relp_client_opts o = { .tls = false, .window = W, .timeout_s = 5, .connect_timeout_s = 5,
				      .instance = "test" };
	struct relp_client *c = relp_client_new(&o);

	ck_assert_int_eq(relp_client_connect(c, "127.0.0.1", srv.port), 0);
	return c;
}

static int send_one(struct relp_client *c, int i)
{
	char msg[64];
	int n = snprintf(msg, sizeof msg, "<13>1 - h app - - - frame %d", i);

	return relp_client_send(c, msg, (size_t)n);
}

/* The server stops answering at frame K+1: after W more frames the window
 * is full, and the inference must say exactly K - never more. */
START_TEST(inference_is_exact_at_a_full_window)
{
	struct ack_window a;
	struct relp_client *c;

	server_start(K + 1);
	c = client();
	ack_window_init(&a, W);
	for (int i = 1; i <= K + W; i++) {
		ck_assert_int_eq(send_one(c, i), 0);
		uint64_t acked = ack_window_sent(&a, (uint64_t)i);
		/* never claim more than the server could have answered */
		ck_assert_uint_le(acked, (uint64_t)answered_at_most());
	}
	ck_assert_uint_eq(a.acked, K);
	ck_assert_int_eq(answered_at_most(), K);

	/* let the server go on: W sync frames confirm everything */
	server_release();
	int need = ack_window_sync_needed(&a, K + W);
	ck_assert_int_eq(need, W);
	for (int i = 0; i < need; i++) {
		ck_assert_int_eq(send_one(c, 1000 + i), 0);
		ck_assert_uint_le(ack_window_sent(&a, 0), (uint64_t)answered_at_most());
	}
	ck_assert_uint_eq(a.acked, K + W);
	ck_assert_int_eq(ack_window_sync_needed(&a, K + W), 0);
	ck_assert(relp_client_close(c, true));
	relp_client_free(c);
	ack_window_free(&a);
	server_stop();
}
END_TEST

/* A clean close is answered only after every earlier frame. */
START_TEST(clean_close_means_all_answered)
{
	struct relp_client *c;

	server_start(0);
	c = client();
	for (int i = 1; i <= 100; i++)
		ck_assert_int_eq(send_one(c, i), 0);
	ck_assert(relp_client_close(c, true));
	ck_assert_int_eq(answered_at_most(), 100);
	relp_client_free(c);
	server_stop();
}
END_TEST

/* A server that dies mid-window: sends fail and nothing unanswered is
 * claimed. */
START_TEST(dead_server_breaks_the_session)
{
	struct ack_window a;
	struct relp_client *c;
	int i, failed = 0;

	server_start(K + 1);
	c = client();
	ack_window_init(&a, W);
	for (i = 1; i <= K + W; i++) {
		ck_assert_int_eq(send_one(c, i), 0);
		ack_window_sent(&a, (uint64_t)i);
	}
	server_stop();                    /* answers K+1 .. on its way out? */
	for (; i <= K + 4 * W && !failed; i++)
		if (send_one(c, i) < 0)
			failed = 1;
		else
			ack_window_sent(&a, (uint64_t)i);
	ck_assert_msg(failed, "sending to a stopped server kept succeeding");
	ck_assert_uint_le(a.acked, (uint64_t)answered_at_most());
	relp_client_free(c);
	ack_window_free(&a);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ack_window");
	TCase *t = tcase_create("librelp");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, inference_is_exact_at_a_full_window);
	tcase_add_test(t, clean_close_means_all_answered);
	tcase_add_test(t, dead_server_breaks_the_session);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
