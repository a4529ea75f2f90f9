/* alert_deliver.c - one delivery thread per action instance.
 *
 * Each thread takes its action's earliest pending delivery from alerts.db,
 * waits until it is due, calls the plugin's deliver() (bounded by the
 * plugin's own timeout) and records the outcome together with its
 * alert.delivered / alert.failed event in one transaction.  Failures are
 * retried after retry_min, doubling up to retry_max (+-20 % jitter, so
 * alerts queued behind one dead endpoint do not retry in lockstep), until
 * the rule's expire.  Separate threads per action: a webhook that hangs
 * until its timeout never delays the syslog line or the pager script, and
 * nothing here ever waits for the indexer or the other way round. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_int.h"
#include "log.h"
#include "util.h"

static long long backoff_ms(const struct alerts *al, int failures)
{
	long long d = al->retry_min_ms;
	uint32_t r;

	for (int i = 1; i < failures && d < al->retry_max_ms; i++)
		d *= 2;
	d = HVT_MIN(d, al->retry_max_ms);
	hvt_random(&r, sizeof r);
	return d * (80 + (long long)(r % 41)) / 100;
}

/* The event inside the alert document, decoded for the plugin. */
static struct hvt_event *subject_of(const char *doc)
{
	json_object *root = alert_json_parse(doc, strlen(doc)), *e;
	struct hvt_event *ev = NULL;
	char err[128];

	if (root && json_object_object_get_ex(root, "event", &e) && e) {
		const char *text = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
		ev = hvt_event_from_json(text, strlen(text), NULL, false, err, sizeof err);
	}
	if (root)
		json_object_put(root);
	return ev;
}

/* An action that re-sends what is firing (Alertmanager): how often. */
static long long resend_us(const struct action_worker *w)
{
	return w->ops->resend_ms ? w->ops->resend_ms(w->inst) * 1000 : 0;
}

/* Write the outcome; a failure to do so is logged and the delivery stays
 * pending, i.e. is attempted again (at least once, never lost).  After a
 * delivery to an action that re-sends, the same notification is due again
 * while it is its alert's latest and the alert fires.  A re-send that went
 * through is not an event (once a minute per alert would bury the trail);
 * one that failed is, and so is the first that works again after it. */
static void record(struct action_worker *w, const struct alert_delivery *d, const struct hvt_event *ev,
		   int attempt, bool ok, bool final, const char *error, long long started_us,
		   long long duration_us, long long next_us)
{
	struct alerts *al = w->al;
	const char *state = ok ? "delivered" : final ? "expired" : "pending";
	bool quiet = ok && d->repeats > 0 && !*d->last_error;
	long long every = resend_us(w), span = d->expire_us - d->fired_us;

	if (alert_store_begin(al->store) < 0)
		goto bad;
	if (alert_store_delivery_update(al->store, d->alert_id, d->action, state, attempt, next_us, error) < 0 ||
	    (!quiet && alert_outcome_event(al, d, ev, attempt, ok, final, error, started_us, duration_us,
					   next_us) < 0) ||
	    (ok && every && strcmp(d->transition, "resolved") != 0 &&
	     alert_store_delivery_repeat(al->store, d, hvt_now_us() + every, hvt_now_us() + every + span) < 0)) {
		alert_store_rollback(al->store);
		goto bad;
	}
	if (alert_store_commit(al->store) < 0)
		goto bad;
	alerts_wake(al);
	return;
bad:
	hvt_log(LOG_ERR, "[%s] cannot record the outcome of alert %s (attempt %d, %s); it will be attempted "
		"again", w->inst->name, d->alert_id, attempt, state);
}

static void attempt(struct action_worker *w, const struct alert_delivery *d)
{
	struct alerts *al = w->al;
	struct hvt_event *ev = subject_of(d->doc);
	int n = d->attempts + 1;
	char err[512] = "";
	struct hvt_alert a = {
		.id = d->alert_id, .rule = d->rule, .json = d->doc, .ev = ev, .attempt = n,
		.summary = d->summary, .severity = d->severity, .fired_us = d->fired_us,
		.key = d->key, .transition = d->transition, .repeat = d->repeats,
		.status = !strcmp(d->transition, "resolved") ? "resolved" : "firing",
	};
	long long started = hvt_now_us(), m0 = hvt_mono_us();
	int rc = w->ops->deliver(w->inst, &a, err, sizeof err);
	long long took = hvt_mono_us() - m0;

	if (rc == 0) {
		hvt_log(LOG_INFO, "[%s] delivered alert %s [%s] (attempt %d, %.1f ms)", w->inst->name, d->alert_id,
			d->rule, n, (double)took / 1000.0);
		record(w, d, ev, n, true, false, NULL, started, took, 0);
	} else {
		if (!err[0])
			snprintf(err, sizeof err, "the action reported a failure without a reason");
		long long next = hvt_now_us() + backoff_ms(al, n) * 1000;
		bool refused = rc == HVT_ACTION_REFUSED, final = refused || next >= d->expire_us;
		hvt_log(final ? LOG_ERR : LOG_WARNING, "[%s] alert %s [%s], attempt %d: %s; %s", w->inst->name,
			d->alert_id, d->rule, n, err, refused ? "refused for good: not trying again" :
			final ? "giving up (the alert expires before another attempt)" : "will retry");
		record(w, d, ev, n, false, final, err, started, took, next);
	}
	hvt_event_free(ev);
}

/* Found pending past its expiry (the collector was down meanwhile). */
static void expire(struct action_worker *w, const struct alert_delivery *d)
{
	struct hvt_event *ev = subject_of(d->doc);
	char why[600];

	snprintf(why, sizeof why, "expired before it could be delivered%s%s",
		 *d->last_error ? "; last error: " : "", d->last_error);
	hvt_log(LOG_ERR, "[%s] alert %s [%s]: %s", w->inst->name, d->alert_id, d->rule, why);
	record(w, d, ev, d->attempts, false, true, why, hvt_now_us(), 0, 0);
	hvt_event_free(ev);
}

static void *worker(void *arg)
{
	struct action_worker *w = arg;
	struct alerts *al = w->al;

	while (!al->stop) {
		struct alert_delivery d = { 0 };
		uint64_t gen;
		pthread_mutex_lock(&al->wake_mx);
		gen = al->wake_gen;           /* before looking: a wake-up after it is not lost */
		pthread_mutex_unlock(&al->wake_mx);
		int rc = alert_store_next_delivery(al->store, w->inst->name, &d);
		long long now = hvt_now_us();
		if (rc <= 0) {
			alerts_wait(al, &gen, rc < 0 ? 1000 : 10000);
		} else if (now >= d.expire_us) {
			expire(w, &d);
		} else if (d.next_us > now) {
			alerts_wait(al, &gen, HVT_MIN((d.next_us - now) / 1000 + 1, 10000));
		} else {
			attempt(w, &d);
		}
		alert_delivery_clear(&d);
	}
	return NULL;
}

int alert_workers_start(struct alerts *al)
{
	for (int i = 0; i < al->nworkers; i++) {
		struct action_worker *w = &al->workers[i];
		if (pthread_create(&w->thread, NULL, worker, w) != 0) {
			hvt_log(LOG_ERR, "[%s] cannot start its delivery thread", w->inst->name);
			return -1;
		}
		w->running = true;
		pthread_setname_np(w->thread, "hvt-action");
	}
	return 0;
}

void alert_workers_stop(struct alerts *al)
{
	al->stop = 1;
	alerts_wake(al);
	for (int i = 0; i < al->nworkers; i++)
		if (al->workers[i].running) {
			pthread_join(al->workers[i].thread, NULL);
			al->workers[i].running = false;
		}
}
