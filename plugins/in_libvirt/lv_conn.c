/* lv_conn.c - the connection to libvirtd, on the libvirt thread.
 *
 *   IDLE --(retry timer)--> connect: open (read-only by default), keepalive,
 *        close callback, events, passthrough, resync --> LIVE
 *   LIVE --(close callback: EOF, keepalive timeout, error)--> IDLE, retry
 *        after reconnect_min, doubling up to reconnect_max
 *   LIVE --(queue at its bound: the forwarder stopped reading)--> IDLE,
 *        throttled: no retry until the forwarder drained the queue
 *   any  --(instance stops)--> STOPPED
 * Each kind of connect failure is logged once when it starts, not on every
 * retry.  Keepalive makes a hung libvirtd count as gone after interval x
 * count seconds; a libvirtd that exits closes the socket at once. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "in_libvirt.h"
#include "lv_loop.h"

static void retry_later(struct lv_input *in);

void lv_conn_push(struct lv_input *in, struct lv_obs *o)
{
	if (!lv_queue_push(&in->q, o) && in->state == LVC_LIVE && !in->throttled) {
		/* libvirt cannot be asked to wait: let go, come back and resync
		 * when the forwarder reads again */
		in->throttled = true;
		pthread_mutex_lock(&in->stat_lock);
		in->throttles++;
		pthread_mutex_unlock(&in->stat_lock);
		hvt_warn("in_libvirt: %s: %u observations wait for the forwarder (spool full?): "
			 "disconnecting from libvirt until they are read; what changes meanwhile is "
			 "reported late", in->uri, lv_queue_len(&in->q));
		lv_conn_lost(in, "the forwarder is not reading (spool full)");
	}
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct lv_input *in = opaque;
	static const char *const why[] = { "error", "libvirtd closed the connection",
					   "keepalive timeout: libvirtd does not answer",
					   "the client closed it" };

	(void)conn;
	if (in->state != LVC_LIVE)
		return;
	hvt_warn("in_libvirt: %s: connection lost: %s; reconnecting", in->uri,
		 reason >= 0 && reason <= 3 ? why[reason] : "unknown reason");
	lv_conn_lost(in, reason >= 0 && reason <= 3 ? why[reason] : "unknown reason");
}

static void teardown(struct lv_input *in)
{
	lv_resync_stop(in);
	if (in->conn) {
		lv_events_deregister(in);
		virConnectUnregisterCloseCallback(in->conn, on_close);
		virConnectClose(in->conn);
		in->conn = NULL;
	}
	pthread_mutex_lock(&in->stat_lock);
	in->connected = false;
	pthread_mutex_unlock(&in->stat_lock);
}

static void lost_now(struct lv_input *in, const char *why)
{
	if (in->state != LVC_LIVE)
		return;
	in->state = LVC_IDLE;
	teardown(in);
	pthread_mutex_lock(&in->stat_lock);
	in->disconnects++;
	pthread_mutex_unlock(&in->stat_lock);
	struct lv_obs *o = lv_obs_new(LV_OBS_DISCONNECTED, hvt_now_us());
	o->s1 = hvt_strdup(why);
	lv_queue_push(&in->q, o);
	in->backoff_us = 0;
	if (!in->throttled)
		retry_later(in);
}

static void on_lost(int timer, void *opaque)
{
	struct lv_input *in = opaque;

	virEventRemoveTimeout(timer);
	in->lost_timer = -1;
	lost_now(in, in->lost_why);
}

/* Called from libvirt's own callbacks (the close callback, an event), where
 * closing the connection under libvirt's feet is not safe: the teardown
 * runs from the loop right after. */
void lv_conn_lost(struct lv_input *in, const char *why)
{
	if (in->state != LVC_LIVE || in->lost_timer >= 0)
		return;
	hvt_strlcpy(in->lost_why, why, sizeof in->lost_why);
	in->lost_timer = virEventAddTimeout(0, on_lost, in, NULL);
	if (in->lost_timer < 0)
		lost_now(in, why);
}

/* The host's UUID from the capabilities XML (<host><uuid>): what tells one
 * libvirtd from another, as its migration check does. */
static char *host_uuid(virConnectPtr c)
{
	char *caps = virConnectGetCapabilities(c), *s, *e, *out = NULL;

	if (caps && (s = strstr(caps, "<uuid>")) && (e = strstr(s, "</uuid>")) && e - s - 6 < LV_UUID_LEN)
		out = hvt_strndup(s + 6, (size_t)(e - s - 6));
	free(caps);
	return out;
}

static void fail_attempt(struct lv_input *in, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof msg, "%s: %s", what, lv_last_error());
	pthread_mutex_lock(&in->stat_lock);
	in->connect_failures++;
	pthread_mutex_unlock(&in->stat_lock);
	if (strcmp(msg, in->last_fail) != 0) {
		hvt_warn("in_libvirt: %s: %s; retrying with back-off up to %.0f s", in->uri, msg,
			 (double)in->reconnect_max_us / 1e6);
		hvt_strlcpy(in->last_fail, msg, sizeof in->last_fail);
		/* the trail says the input is blind, once per outage */
		struct lv_obs *o = lv_obs_new(LV_OBS_DISCONNECTED, hvt_now_us());
		o->s1 = hvt_strdup(msg);
		lv_queue_push(&in->q, o);
	}
	retry_later(in);
}

static void try_connect(struct lv_input *in)
{
	unsigned flags = in->readonly ? VIR_CONNECT_RO : 0;

	if (in->state != LVC_IDLE || in->throttled)
		return;
	/* no auth callback: a daemon has nobody to ask for a password */
	in->conn = virConnectOpenAuth(in->uri, NULL, flags);
	if (!in->conn) {
		fail_attempt(in, "cannot connect");
		return;
	}
	if (virConnectSetKeepAlive(in->conn, in->keepalive_interval_s, in->keepalive_count) < 0)
		hvt_notice("in_libvirt: %s: keepalive not available (%s): a hung libvirtd is noticed "
			   "only when its socket closes", in->uri, lv_last_error());
	if (virConnectRegisterCloseCallback(in->conn, on_close, in, NULL) < 0 ||
	    lv_events_register(in) < 0) {
		fail_attempt(in, "cannot register for domain events");
		teardown(in);
		return;
	}
	in->state = LVC_LIVE;
	pthread_mutex_lock(&in->stat_lock);
	in->connects++;
	in->connected = true;
	pthread_mutex_unlock(&in->stat_lock);
	if (in->last_fail[0])
		hvt_notice("in_libvirt: %s: connected again", in->uri);
	in->last_fail[0] = '\0';
	in->backoff_us = 0;

	struct lv_obs *c = lv_obs_new(LV_OBS_CONNECTED, hvt_now_us());
	char *hn = virConnectGetHostname(in->conn);
	c->s1 = host_uuid(in->conn);
	c->s2 = hn ? hvt_strdup(hn) : NULL;
	free(hn);
	c->n = (in->readonly ? 1 : 0) | (in->qemu_cb >= 0 ? 2 : 0);
	hvt_info("in_libvirt: connected to %s (host %s, %s%s)", in->uri, c->s2 ? c->s2 : "?",
		 in->readonly ? "read-only" : "read-write",
		 in->qemu_cb >= 0 ? ", with QEMU's own events" : "");
	lv_conn_push(in, c);
	/* events registered first, then the listing: a change in between is
	 * in both, and the mapping reports it once */
	lv_resync(in);
	if (in->state == LVC_LIVE)
		lv_resync_timers_start(in);
}

static void on_retry(int timer, void *opaque)
{
	struct lv_input *in = opaque;

	virEventRemoveTimeout(timer);
	in->retry_timer = -1;
	try_connect(in);
}

static void retry_later(struct lv_input *in)
{
	long long d;

	if (in->state == LVC_STOPPED || in->retry_timer >= 0)
		return;
	in->backoff_us = in->backoff_us ? HVT_MIN(in->backoff_us * 2, in->reconnect_max_us)
					: in->reconnect_min_us;
	d = in->backoff_us / 1000;
	in->retry_timer = virEventAddTimeout((int)(d > 0 ? d : 1), on_retry, in, NULL);
}

void lv_conn_start(void *arg)
{
	struct lv_input *in = arg;

	in->state = LVC_IDLE;
	in->retry_timer = -1;
	in->lost_timer = -1;
	in->qemu_cb = -1;
	try_connect(in);
}

void lv_conn_unthrottle(void *arg)
{
	struct lv_input *in = arg;

	if (!in->throttled || in->state == LVC_STOPPED)
		return;
	in->throttled = false;
	hvt_notice("in_libvirt: %s: the forwarder reads again: reconnecting", in->uri);
	in->backoff_us = 0;
	try_connect(in);
}

void lv_conn_stop(void *arg)
{
	struct lv_input *in = arg;

	if (in->retry_timer >= 0)
		virEventRemoveTimeout(in->retry_timer);
	if (in->lost_timer >= 0)
		virEventRemoveTimeout(in->lost_timer);
	in->retry_timer = in->lost_timer = -1;
	teardown(in);
	in->state = LVC_STOPPED;
}
