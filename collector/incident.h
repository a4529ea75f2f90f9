/* incident.h - incidents: what the collector concludes from the events of
 * several hosts, recorded as events of its own (docs/alerting.md#incidents).
 *
 * No single host can say "split brain": each side of a COLO pair only knows
 * that it took over.  No source QEMU can say why its migration failed when
 * the destination died: only the destination's forwarder saw that.  The
 * collector sees both, so it states the conclusion as a typed event:
 *
 *   colo.protection_lost      a COLO pair ended: where the VM runs now (one
 *                             side), or that no side runs it
 *   colo.split_brain          both sides of the pair claim the VM
 *   colo.protection_restored  the VM is in COLO again
 *   migration.failed          a migration failed, with both sides' causes
 *                             (the destination died, the source died, ...)
 *
 * They are stored like any event, under the reserved host "(collector)"
 * (ingest refuses it from the wire, so no peer can make one) with source
 * "collector", in the collector's own stream (alert_store.h), and carry
 * data.hosts (every host involved) and data.host (the one the incident is
 * about, for grouping).  Rules fire on them like on host events.
 *
 * The state machines are pure (incident_colo.c, incident_mig.c: state in,
 * event in, state and incidents out); incidents.c keeps their state in
 * alerts.db, in the same transaction as the alert decisions and the inbox
 * position, so an incident is made exactly once across crashes.  Waiting
 * for the other side is bounded (incident_wait): a host that died entirely
 * reports nothing, and the incident is made without it. */
#ifndef HVT_COL_INCIDENT_H
#define HVT_COL_INCIDENT_H

#include <stdbool.h>
#include <json-c/json.h>

#include "alert_store.h"
#include "event.h"

#define INCIDENT_HOST ALERT_HOST
/* Reports of one COLO failover on the two sides lie this close (event
 * time); a report later than this after the last decision is a new one. */
#define COLO_EPISODE_US (60LL * 1000000)

/* Is type one the collector makes as an incident (rules may fire on it)? */
bool incident_type(const char *type);

/* One stored host event, as the state machines see it. */
struct incident_input {
	const char *host, *type, *id, *vm_name, *vm_uuid;
	const char *link;             /* the migration link the index holds, or NULL */
	int severity;
	long long ts_us;
	json_object *data;            /* may be NULL */
};

/* Incidents made (owned events, numbered later by the store). */
struct incident_out {
	struct hvt_event **v;
	int n, cap;
};
void incident_out_add(struct incident_out *o, struct hvt_event *ev);
void incident_out_clear(struct incident_out *o);

/* ---- COLO pairs (incident_colo.c) ---------------------------------------- */

enum colo_state {
	COLO_UNKNOWN = 0,
	COLO_PROTECTED,               /* in COLO (colo.entered) */
	COLO_FAILING,                 /* a side reported a failover; waiting for the other */
	COLO_LOST,                    /* decided: protection lost (or split brain) */
};

struct colo_report {
	char host[256];
	char what[24];                /* colo.failover, vm.resumed, vm.vanished */
	char side[16], reason[32];
	char event_id[96];
	bool claims;                  /* this side runs the VM */
	long long ts_us;
};

#define COLO_MAX_REPORTS 4

struct colo_pair {
	char vm_name[256], vm_uuid[64];
	char primary[256], secondary[256];   /* from colo.entered ("" = unknown) */
	enum colo_state state;
	long long since_us;           /* event time this state began */
	long long deadline_us;        /* FAILING: decide at this collector time */
	char episode[96];             /* id of the failover's first report */
	struct colo_report rep[COLO_MAX_REPORTS];
	int nrep;
	bool split;                   /* colo.split_brain made for this episode */
};

/* Does an event of this type (with this data) concern COLO pairs? */
bool colo_relevant(const struct incident_input *in);
void colo_pair_init(struct colo_pair *p, const char *vm_name, const char *vm_uuid);
int colo_pair_from_json(struct colo_pair *p, const char *json);
char *colo_pair_to_json(const struct colo_pair *p);
/* Feed one event of the pair's VM; true when p changed (save it). */
bool colo_feed(struct colo_pair *p, const struct incident_input *in, long long now_us, long long wait_us,
	       struct incident_out *out);
/* The wait ran out: decide with what was reported.  True when p changed. */
bool colo_due(struct colo_pair *p, long long now_us, struct incident_out *out);

/* ---- failed migrations (incident_mig.c) ----------------------------------- */

struct mig_watch {
	char link[96];
	char vm_name[256], vm_uuid[64];
	char src_host[256], tgt_host[256];
	char src_outcome[16];         /* failed, vanished, cancelled, completed, "" */
	char tgt_outcome[16];         /* failed, vanished, completed, "" */
	char src_error[512], tgt_cause[512];
	char src_event[96], tgt_event[96];
	int tgt_severity;
	long long ts_us;              /* newest report (event time) */
	long long deadline_us;        /* collector time; 0 = nothing to wait for */
	bool done;                    /* decided: made, or nothing to report */
};

/* Does an event end one side of a migration (or cut it short)? */
bool mig_relevant(const struct incident_input *in);
/* Does it open a watch (a failure), as opposed to closing one? */
bool mig_opens(const struct incident_input *in);
void mig_watch_init(struct mig_watch *w, const char *link, const char *vm_name, const char *vm_uuid);
int mig_watch_from_json(struct mig_watch *w, const char *json);
char *mig_watch_to_json(const struct mig_watch *w);
/* Feed one linked event; true when w changed. */
bool mig_feed(struct mig_watch *w, const struct incident_input *in, long long now_us, long long wait_us,
	      struct incident_out *out);
bool mig_due(struct mig_watch *w, long long now_us, struct incident_out *out);

/* ---- the engine (incidents.c) --------------------------------------------- */

struct incidents;
struct col_record;
struct hvt_instance;

struct incidents *incidents_new(struct hvt_instance *index, long long wait_ms);
void incidents_free(struct incidents *inc);
/* Anything in these records the state machines look at?  (No I/O.) */
bool incidents_wanted(const struct col_record *recs, int n);
/* Inside a store transaction: feed the stored records; incidents made are
 * numbered into the collector's stream.  The number made, or -1. */
int incidents_batch(struct incidents *inc, struct alert_store *st, const struct col_record *recs, int n,
		    long long now_us);
/* Inside a store transaction: decide what waited long enough.  Made, or -1. */
int incidents_due(struct incidents *inc, struct alert_store *st, long long now_us);

#endif
