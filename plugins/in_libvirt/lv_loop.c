/* lv_loop.c - see lv_loop.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "log.h"
#include "lv_loop.h"
#include "util.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static bool registered;               /* virEventRegisterDefaultImpl done (once per process) */
static bool started;                  /* the thread runs */
static unsigned users;
static volatile bool quit;
static pthread_t loop_thread;

/* libvirt prints every error to stderr unless told otherwise; the plugin
 * reads errors itself (lv_last_error) and logs them in its own words. */
static void quiet_errors(void *arg, virErrorPtr err)
{
	(void)arg;
	(void)err;
}

static void *loop_main(void *arg)
{
	sigset_t all;
	static struct hvt_ratelimit rl = HVT_RATELIMIT_INIT(60000);

	(void)arg;
	/* signals are the forwarder's main thread's (signalfd); the faults a
	 * thread raises itself stay deliverable (a sanitizer reports them) */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!quit) {
		if (virEventRunDefaultImpl() < 0)
			hvt_log_ratelimited(&rl, LOG_ERR, "in_libvirt: libvirt's event loop failed: %s",
					    lv_last_error());
	}
	return NULL;
}

static void on_wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

int lv_loop_start(char *err, size_t errsize)
{
	int rc = 0;

	pthread_mutex_lock(&start_lock);
	if (started) {
		users++;
		goto out;
	}
	if (!registered) {
		/* libxml2 must be set up before threads use it (snapshot XML) */
		xmlInitParser();
		if (virInitialize() < 0) {
			snprintf(err, errsize, "libvirt would not initialise: %s", lv_last_error());
			rc = -1;
			goto out;
		}
		virSetErrorFunc(NULL, quiet_errors);
		if (virEventRegisterDefaultImpl() < 0) {
			snprintf(err, errsize, "cannot set up libvirt's event loop: %s", lv_last_error());
			rc = -1;
			goto out;
		}
		registered = true;
	}
	quit = false;
	rc = pthread_create(&loop_thread, NULL, loop_main, NULL);
	if (rc) {
		snprintf(err, errsize, "cannot start the libvirt thread: %s", strerror(rc));
		rc = -1;
		goto out;
	}
	started = true;
	users = 1;
out:
	pthread_mutex_unlock(&start_lock);
	return rc;
}

/* The last instance stopped and closed its connection: the thread goes
 * (a sanitizer's leak check at exit, for one, wants no thread in a poll).
 * libvirt may still have work queued for the closed connections ("an event
 * loop should continue to run" a while after virConnectClose), so the loop
 * runs a few more rounds, a short timer apart, before it is left. */
void lv_loop_release(void)
{
	pthread_mutex_lock(&start_lock);
	if (!started || --users > 0) {
		pthread_mutex_unlock(&start_lock);
		return;
	}
	for (int i = 0; i < 5; i++)
		lv_loop_call_wait(lv_loop_noop, NULL);
	quit = true;
	virEventAddTimeout(0, on_wake, NULL, NULL);
	pthread_join(loop_thread, NULL);
	started = false;
	pthread_mutex_unlock(&start_lock);
}

void lv_loop_noop(void *arg)
{
	(void)arg;
}

bool lv_loop_on_thread(void)
{
	return started && pthread_equal(pthread_self(), loop_thread);
}

struct call {
	void (*fn)(void *arg);
	void *arg;
	int timer;
	/* call_wait */
	bool waited;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void on_call(int timer, void *opaque)
{
	struct call *c = opaque;

	virEventRemoveTimeout(timer);
	c->fn(c->arg);
	if (!c->waited) {
		free(c);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int lv_loop_call(void (*fn)(void *arg), void *arg)
{
	struct call *c = hvt_calloc(1, sizeof *c);

	c->fn = fn;
	c->arg = arg;
	/* a timeout of 0 fires at the loop's next iteration; adding one from
	 * another thread wakes the loop */
	c->timer = virEventAddTimeout(0, on_call, c, NULL);
	if (c->timer < 0) {
		free(c);
		return -1;
	}
	return 0;
}

int lv_loop_call_wait(void (*fn)(void *arg), void *arg)
{
	struct call c = { .fn = fn, .arg = arg, .waited = true };

	if (lv_loop_on_thread()) {
		fn(arg);
		return 0;
	}
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	c.timer = virEventAddTimeout(0, on_call, &c, NULL);
	if (c.timer >= 0) {
		pthread_mutex_lock(&c.lock);
		while (!c.done)
			pthread_cond_wait(&c.cond, &c.lock);
		pthread_mutex_unlock(&c.lock);
	}
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	return c.timer >= 0 ? 0 : -1;
}

const char *lv_last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && strcmp(m, "no error") != 0 ? m : "";
}
