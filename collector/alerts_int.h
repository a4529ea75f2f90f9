/* alerts_int.h - what the parts of the alert engine share (alerts.c,
 * alert_fire.c, alert_deliver.c, alert_hosts.c); see alerts.h. */
#ifndef HVT_COL_ALERTS_INT_H
#define HVT_COL_ALERTS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "alert_rules.h"
#include "alert_store.h"
#include "alerts.h"
#include "hvtrail-plugin.h"

struct action_worker {
	struct alerts *al;
	struct hvt_instance *inst;
	const struct hvt_action_ops *ops;
	pthread_t thread;
	bool running;
};

#define HOST_VMS_MAX 256          /* VMs remembered per host */

struct host_seen {
	char *host;
	long long last_us;        /* newest record from it the index holds (receive time) */
	long long *alerted;       /* per rule: the last_us a silence alert already covers */
	char **vms;               /* the VMs it runs as far as its events say (since start) */
	int nvms;
	struct host_seen *next;
};

#define HOST_BUCKETS 1024
#define TYPE_BUCKETS 256
#define TYPE_CACHE_MAX 4096       /* distinct types remembered; beyond, globs run each time */

/* Which rules' type globs match a type, and which rules' alerts it
 * resolves: looked up once per type. */
struct type_rules {
	char *type;
	bool *match;              /* per rule */
	bool *resolves;           /* per rule */
	bool any_resolves;
	struct type_rules *next;
};
struct mute_ctx;

struct alerts {
	struct alert_rule **rules;
	int nrules;
	struct hvt_instances *inst;
	struct alert_store *store;
	long long retry_min_ms, retry_max_ms, retention_ms, check_ms;
	bool incidents_on;
	long long incident_wait_ms;
	struct incidents *inc;    /* NULL: incidents = no */
	struct mute_ctx *mctx;    /* silences and inhibiting alerts, per transaction (alert_notify.c) */
	struct control *control;  /* the control socket (alert_control.c) */
	char *control_path, *control_group;
	bool pages_dirty;         /* pages changed since the service thread looked */
	long long started_us;
	volatile int stop;
	/* rules' decision state and the host table */
	pthread_mutex_t mx;
	struct host_seen *hosts[HOST_BUCKETS];
	struct type_rules *types[TYPE_BUCKETS];
	int ntypes;
	/* wakes the service thread (outbox) and the delivery threads */
	pthread_mutex_t wake_mx;
	pthread_cond_t wake_cv;
	uint64_t wake_gen;
	struct receiver *rx;
	pthread_t service;
	bool service_running;
	struct action_worker *workers;
	int nworkers;
};

/* What fired: a stored event, or a host that went silent. */
struct alert_subject {
	struct alert_view *v;
	const char *event_key;    /* "host/event id", unique per rule */
	const char *json;         /* the event JSON for the alert document */
	size_t json_len;
	int severity;             /* the alert's */
};

/* alert_fire.c - inside a store transaction, under al->mx.  Decides about
 * one match and writes the decision (and, when it fires, deliveries and
 * alert.fired).  1 fired, 0 suppressed or already decided, -1 error. */
int alert_fire(struct alerts *al, struct alert_rule *r, const struct alert_subject *s, long long now_us);
/* A delivery attempt's outcome as an alert.delivered / alert.failed event. */
int alert_outcome_event(struct alerts *al, const struct alert_delivery *d, const struct hvt_event *subject,
			int attempt, bool ok, bool final, const char *error, long long started_us,
			long long duration_us, long long next_us);
/* The stable id of (rule, event_key): 16 hex digits. */
void alert_make_id(const char *rule, const char *event_key, char out[17]);

/* alert_notify.c - pages (alert_page.h), under al->mx.  Inside a
 * transaction: a fired decision joins its alert (labels owned); an event
 * of r's resolve types resolves members of r's open alerts. */
int alert_page_decided(struct alerts *al, const struct alert_rule *r, struct alert_view *v, json_object *labels,
		       const char *key, const char *decision_id, const char *summary, long long now_us);
int alert_pages_resolve(struct alerts *al, const struct alert_rule *r, struct alert_view *v, long long now_us);
/* In a transaction of its own: host-silence members whose host spoke
 * resolve; with all, every open alert is reconciled (silences, inhibition,
 * group_wait, group_interval).  How many alerts acted, or -1. */
int alert_pages_service(struct alerts *al, long long now_us, bool all);
/* Acknowledge the alert whose key is (or starts with, 6+ digits) key, in
 * the caller's transaction; by is owned.  1 done, 0 it already was, -1 err. */
int alert_page_ack(struct alerts *al, const char *key, json_object *by, const char *comment, char *err,
		   size_t errsize, char *key_out, size_t key_size);
/* Forget the cached silences and inhibiting alerts (after a transaction). */
void alert_mute_reset(struct alerts *al);

/* alert_control.c: the control socket; silences that ended (under al->mx,
 * a transaction of its own). */
int alert_control_start(struct alerts *al, const char *path, const char *group);
void alert_control_stop(struct alerts *al);
int alert_silences_ended(struct alerts *al, long long now_us);

/* alert_hosts.c - under al->mx. */
unsigned alert_hash(const char *s);
/* When host last spoke (0: never heard of). */
long long alert_hosts_last(struct alerts *al, const char *host);
void alert_hosts_note(struct alerts *al, const char *host, long long t_us);
/* An event of vm on host: it runs there, unless the event is its end there. */
void alert_hosts_note_vm(struct alerts *al, const char *host, const char *vm, const char *type,
			 const char *raw, size_t raw_len);
void alert_hosts_free(struct alerts *al);
/* Fire silence rules for hosts quiet too long (takes mx and a transaction). */
void alert_hosts_check(struct alerts *al, long long now_us);

/* alert_deliver.c */
int alert_workers_start(struct alerts *al);
void alert_workers_stop(struct alerts *al);

/* alerts.c: the rules' windows from the store (at open, and after a
 * transaction was rolled back); under al->mx. */
void alerts_rebuild(struct alerts *al);
/* alerts.c: wake the service and delivery threads. */
void alerts_wake(struct alerts *al);
/* Wait for a wake-up or timeout_ms; false when stopping. */
bool alerts_wait(struct alerts *al, uint64_t *seen_gen, long long timeout_ms);

#endif
