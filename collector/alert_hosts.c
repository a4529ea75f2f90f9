/* alert_hosts.c - when each host last spoke, and host-silence rules.
 *
 * "Spoke" = the index holds a record from it: an event or a stats report
 * (forwarders report every stats_interval, 30 s by default, even when no
 * VM does anything).  The time is the collector's receive time, the same
 * value the index keeps (streams' last_indexed_us, host_stats' at_us), so
 * the table rebuilt from the index after a restart is the one the running
 * collector had.  A silence alert's event key is host@last_seen: it fires
 * once per silence (the UNIQUE key), again only after the host spoke, and
 * a restart in the middle of a silence does not fire it twice. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_int.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

unsigned alert_hash(const char *s)
{
	uint32_t h = 2166136261u;     /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static unsigned bucket(const char *s)
{
	return alert_hash(s) % HOST_BUCKETS;
}

void alert_hosts_note(struct alerts *al, const char *host, long long t_us)
{
	unsigned b = bucket(host);
	struct host_seen *h;

	for (h = al->hosts[b]; h; h = h->next)
		if (strcmp(h->host, host) == 0)
			break;
	if (!h) {
		h = hvt_calloc(1, sizeof *h);
		h->host = hvt_strdup(host);
		h->alerted = hvt_calloc((size_t)al->nrules + 1, sizeof *h->alerted);
		h->next = al->hosts[b];
		al->hosts[b] = h;
	}
	if (t_us > h->last_us)
		h->last_us = t_us;
}

static struct host_seen *find_host(struct alerts *al, const char *host)
{
	for (struct host_seen *h = al->hosts[bucket(host)]; h; h = h->next)
		if (strcmp(h->host, host) == 0)
			return h;
	return NULL;
}

/* Does this event end the VM's life on its host? */
static bool vm_ends(const char *type, const char *raw, size_t raw_len)
{
	if (!strcmp(type, "vm.shutdown") || !strcmp(type, "vm.vanished") || !strcmp(type, "vm.stopped") ||
	    !strcmp(type, "vm.unregistered"))
		return true;
	/* a source that completed its migration leaves; the target stays */
	return !strcmp(type, "migration.completed") && raw && memmem(raw, raw_len, "\"role\":\"source\"", 15);
}

void alert_hosts_note_vm(struct alerts *al, const char *host, const char *vm, const char *type,
			 const char *raw, size_t raw_len)
{
	struct host_seen *h = find_host(al, host);
	int i;

	if (!h || !vm || !*vm || !type)
		return;
	for (i = 0; i < h->nvms && strcmp(h->vms[i], vm) != 0; i++)
		;
	if (vm_ends(type, raw, raw_len)) {
		if (i < h->nvms) {
			free(h->vms[i]);
			h->vms[i] = h->vms[--h->nvms];
		}
	} else if (i == h->nvms && h->nvms < HOST_VMS_MAX) {
		h->vms = hvt_realloc(h->vms, sizeof *h->vms * (size_t)(h->nvms + 1));
		h->vms[h->nvms++] = hvt_strdup(vm);
	}
}

long long alert_hosts_last(struct alerts *al, const char *host)
{
	struct host_seen *h = find_host(al, host);

	return h ? h->last_us : 0;
}

void alert_hosts_free(struct alerts *al)
{
	for (int b = 0; b < HOST_BUCKETS; b++)
		while (al->hosts[b]) {
			struct host_seen *h = al->hosts[b];
			al->hosts[b] = h->next;
			free(h->host);
			free(h->alerted);
			for (int i = 0; i < h->nvms; i++)
				free(h->vms[i]);
			free(h->vms);
			free(h);
		}
}

static void span_text(long long s, char *buf, size_t size)
{
	if (s >= 3600)
		snprintf(buf, size, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(buf, size, "%llds", s);
}

/* The "event" a silence alert is about: not stored by anyone, made here. */
static struct hvt_event *silence_event(const struct host_seen *h, const struct alert_rule *r,
				       long long now_us)
{
	struct hvt_event *ev = hvt_event_new("host.silent");
	long long quiet_s = (now_us - h->last_us) / 1000000;
	char last[40], span[40];

	hvt_event_set_str(&ev->host, h->host);
	ev->severity = HVT_SEV_WARNING;
	ev->ts_us = h->last_us;
	hvt_format_rfc3339(h->last_us, last, sizeof last);
	span_text(quiet_s, span, sizeof span);
	hvt_event_set_msg(ev, "host %s has sent nothing (events or stats reports) since %s: %s", h->host, last,
			  span);
	hvt_event_data_add(ev, "last_seen", json_object_new_string(last));
	hvt_event_data_add(ev, "silent_for", json_object_new_string(span));
	hvt_event_data_add(ev, "silent_for_s", json_object_new_int64(quiet_s));
	hvt_event_data_add(ev, "silent_after_s", json_object_new_int64(r->silent_ms / 1000));
	json_object *vms = json_object_new_array();
	for (int i = 0; i < h->nvms; i++)
		json_object_array_add(vms, json_object_new_string(h->vms[i]));
	hvt_event_data_add(ev, "vms", vms);
	return ev;
}

static int fire_one(struct alerts *al, struct alert_rule *r, const struct host_seen *h, long long now_us)
{
	struct hvt_event *ev = silence_event(h, r, now_us);
	struct hvt_buf js = { 0 };
	char *key = hvt_asprintf("host.silent/%s@%lld", h->host, h->last_us);
	int rc;

	hvt_event_to_json(ev, &js);
	struct alert_view v = {
		.host = ev->host, .type = ev->type, .severity = ev->severity, .ts_us = ev->ts_us,
		.raw = hvt_buf_cstr(&js), .raw_len = js.len,
	};
	struct alert_subject s = { &v, key, js.data, js.len, ev->severity };
	rc = alert_fire(al, r, &s, now_us);
	alert_view_free(&v);
	hvt_buf_free(&js);
	hvt_event_free(ev);
	free(key);
	return rc;
}

/* Is host h silent for rule i right now, and not yet alerted? */
static bool due(const struct alerts *al, const struct alert_rule *r, int i, const struct host_seen *h,
		long long now_us)
{
	long long after_us = r->silent_ms * 1000;

	/* a collector that just started has not heard anyone yet: give every
	 * host one whole silent_after to speak first */
	return alert_rule_is_silence(r) && h->last_us && h->alerted[i] != h->last_us &&
	       now_us - h->last_us > after_us && now_us - al->started_us > after_us &&
	       hvt_glob_match(r->host, h->host);
}

void alert_hosts_check(struct alerts *al, long long now_us)
{
	int fired = 0, n = 0;

	pthread_mutex_lock(&al->mx);
	for (int b = 0; b < HOST_BUCKETS && !n; b++)
		for (struct host_seen *h = al->hosts[b]; h && !n; h = h->next)
			for (int i = 0; i < al->nrules; i++)
				n += due(al, al->rules[i], i, h, now_us);
	if (!n || alert_store_begin(al->store) < 0) {
		pthread_mutex_unlock(&al->mx);
		return;
	}
	int rc = 0;
	for (int b = 0; b < HOST_BUCKETS && rc >= 0; b++)
		for (struct host_seen *h = al->hosts[b]; h && rc >= 0; h = h->next)
			for (int i = 0; i < al->nrules && rc >= 0; i++)
				if (due(al, al->rules[i], i, h, now_us) && (rc = fire_one(al, al->rules[i], h, now_us)) > 0)
					fired++;
	if (rc < 0 || alert_store_commit(al->store) < 0) {
		if (rc < 0)
			alert_store_rollback(al->store);
		alerts_rebuild(al);
		pthread_mutex_unlock(&al->mx);
		return;                  /* the next tick tries again */
	}
	for (int b = 0; b < HOST_BUCKETS; b++)
		for (struct host_seen *h = al->hosts[b]; h; h = h->next)
			for (int i = 0; i < al->nrules; i++)
				if (due(al, al->rules[i], i, h, now_us))
					h->alerted[i] = h->last_us;
	pthread_mutex_unlock(&al->mx);
	if (fired)
		alerts_wake(al);
}
