/* qmp_norm_priv.h - the normaliser's per-VM state, shared by its files:
 *   qmp_normalise.c   entry points, dispatch, event helpers
 *   qmp_outq.c        ordered output queue of events waiting for answers
 *   qmp_norm_state.c  run state: started/paused/resumed/reset/shutdown/vanished
 *   qmp_norm_migration.c, qmp_norm_colo.c, qmp_norm_jobs.c, qmp_norm_block.c
 * Nothing outside the normaliser includes this. */
#ifndef HVT_QMP_NORM_PRIV_H
#define HVT_QMP_NORM_PRIV_H

#include "qmp_normalise.h"

#define QMP_MAX_JOBS 32           /* jobs tracked per VM; more are reported untyped */
#define QMP_MAX_PEND 256          /* queued events per VM before the head is forced out */
#define QMP_MAX_BDEVS 64          /* block devices compared per VM */
#define QMP_MAX_CHAIN 32          /* backing chain depth compared */
#define QMP_MAX_SNAPS 64          /* internal snapshots compared per image */
#define QMP_MAX_DATA_JSON 16384   /* raw QMP data kept per event (bytes of JSON) */
#define QMP_UNMAPPED_WINDOW_US 10000000LL

#define QBIT(q) (1u << (q))
/* Not a query: a slot that waits for the migration's next status (see
 * qmp_norm_migration.c, savevm). */
#define QMP_HOLD_NEXT_STATUS QMP_Q_COUNT

struct qmp_vm;
struct pend;

typedef void (*pend_finish_fn)(struct qmp_vm *vm, struct pend *p);

/* What a slot stands for: answers are read differently for each. */
enum pend_kind {
	PK_PLAIN = 0,                 /* a finished event, or answers found later */
	PK_CONTACT,                   /* first contact with a QEMU process */
	PK_RESYNC,                    /* reconnect to the same process: report what changed */
	PK_PAUSED,                    /* vm.paused, waiting for the run state */
	PK_MIG_START,                 /* a migration started, waiting for the run state (side) */
	PK_MIG_END,                   /* a migration ended, waiting for its figures */
	PK_COLO_ENTER,                /* colo.entered, waiting for the COLO mode */
	PK_COLO_EXIT,                 /* colo.failover, waiting for run state + COLO status */
	PK_JOB_END,                   /* a job concluded, waiting for its type/error */
};

/* One slot of the output queue: events that may still wait for answers. */
struct pend {
	struct pend *next;
	unsigned tag;                 /* 0 never used: tag 0 = "state only" queries */
	enum pend_kind kind;
	unsigned waiting;             /* QBIT(q) per query still outstanding */
	bool incomplete;              /* released before every answer came */
	struct hvt_event *ev;         /* the main event (may be built by finish) */
	struct hvt_event **extra;     /* events found while answering, after ev */
	size_t nextra;
	pend_finish_fn finish;        /* called once, when nothing is outstanding */
	char *job_id;                 /* job-end slots */
	json_object *ctx;             /* per-kind scratch (owned) */
};

struct qmp_job {
	bool used;
	char id[128];
	char type[32];                /* "" until query-jobs says */
	char status[16];
	long long created_ts;
	long long stop_ts;            /* VM stopped while this job ran */
	long long paused_us;          /* ... for this long */
	bool aborting;                /* status went through "aborting": the job failed */
	bool concluded;
	char *error;                  /* from query-jobs, once concluded */
};

enum mig_role { MIG_NONE = 0, MIG_SOURCE, MIG_INCOMING };

struct qmp_mig {
	enum mig_role role;
	char status[24];              /* last MIGRATION status (or query-migrate) */
	bool in_progress;             /* between setup and a final state */
	long long start_ts;
	int passes;                   /* highest MIGRATION_PASS */
	long long stop_ts;            /* source stopped for the final pass */
	bool stopped;
	char last_final[160];         /* fingerprint of the last final state reported */
	unsigned hold_tag;            /* migration.started held until the status after setup */
};

enum colo_phase {
	COLO_OFF = 0,
	COLO_ON,                      /* checkpointing */
	COLO_EXITED,                  /* COLO_EXIT seen, MIGRATION completed not yet */
	COLO_COMPLETED,               /* MIGRATION completed seen, COLO_EXIT not yet */
};

struct qmp_colo {
	enum colo_phase phase;
	char mode[16];                /* primary / secondary */
	long long entered_ts;
	unsigned long long total;     /* checkpoints since entering */
	unsigned long long win;       /* checkpoints not yet summarised */
	long long win_first_ts, win_last_ts;
	long long pause_sum_us, pause_max_us;
	long long last_summary_ts;
	long long stop_ts;
	bool stopped;
};

struct qmp_bdev {
	char *key;                    /* device name, else qdev path */
	char *node;                   /* node-name of the active layer */
	char **chain;                 /* image files, active layer first */
	int depth;
	char **snaps;                 /* internal snapshot tags of the active layer */
	long long *snap_vmstate;      /* their vm-state-size */
	int nsnaps;
};

struct qmp_blockmap {
	bool valid;
	int n;
	struct qmp_bdev *dev;
};

struct qmp_vm {
	const struct qmp_norm_ops *ops;
	void *arg;
	struct qmp_norm_opts opts;
	char *fallback_name;
	char *name;
	char *uuid;
	char *qemu_version;
	char *socket;
	bool contacted;               /* a contact happened for this instance */
	bool restored;                /* ... before the forwarder restarted (not met again yet) */
	bool dirty;                   /* changed since the state was last saved */
	bool connected;
	/* run state */
	char status[24];              /* QEMU run state, last known */
	bool status_known;
	bool running;
	bool pause_reported;          /* a vm.paused (or equivalent) went out */
	bool paused_by_failover;      /* ... it was a colo.failover that left the VM paused */
	long long paused_ts;
	long long last_stop_ts;       /* the last STOP, reported or folded */
	bool shutdown_seen;
	/* areas */
	struct qmp_mig mig;
	struct qmp_colo colo;
	struct qmp_job jobs[QMP_MAX_JOBS];
	struct qmp_blockmap blk;
	bool block_explained;         /* a block job ended: next chain change is known */
	unsigned snap_ends_open;      /* concluded snapshot jobs whose own query-block answer
				       * is still to come: tag changes are theirs till then */
	unsigned block_polls;         /* state-only query-block in flight */
	/* unmapped event budget */
	long long unmapped_win_ts;
	unsigned unmapped_in_win;
	unsigned unmapped_dropped;
	/* output queue */
	struct pend *head, *tail;
	unsigned npend;
	unsigned next_tag;
	bool flushing;
	bool settling;                /* emitting the queue's last event (qmp_vm_settled) */
	bool ending;                  /* flushing what ends the process (qmp_vm_ending) */
};

/* ---- qmp_normalise.c: helpers ------------------------------------------- */
struct hvt_event *norm_event(struct qmp_vm *vm, const char *type, int severity, long long ts_us);
/* Keep the raw QMP event under data.qmp = {"event", "data"} (bounded). */
void norm_attach_qmp(struct hvt_event *ev, const struct qmp_msg *m);
long long msg_ts(const struct qmp_msg *m, long long now_us);
const char *jstr(json_object *o, const char *key);          /* NULL when absent */
bool jint(json_object *o, const char *key, long long *out);
bool jbool(json_object *o, const char *key, bool *out);
void data_str(struct hvt_event *ev, const char *key, const char *v);   /* skips NULL */
void data_int(struct hvt_event *ev, const char *key, long long v);
void data_bool(struct hvt_event *ev, const char *key, bool v);
void data_ms(struct hvt_event *ev, const char *key, long long us);     /* us -> ms, 3 decimals */
/* "1.119 s" / "16 ms" */
void fmt_duration(char *buf, size_t size, long long us);
void fmt_bytes(char *buf, size_t size, long long bytes);

/* ---- qmp_outq.c ---------------------------------------------------------- */
/* New slot at the tail, with ev (may be NULL). */
struct pend *outq_add(struct qmp_vm *vm, struct hvt_event *ev);
/* Ask q for slot p (p == NULL: state-only query, tag 0). */
void outq_ask(struct qmp_vm *vm, struct pend *p, enum qmp_query q);
struct pend *outq_find(struct qmp_vm *vm, unsigned tag);
/* Scratch values a slot keeps for its finish hook. */
void pend_ctx_set(struct pend *p, const char *key, json_object *v);
json_object *pend_ctx_get(struct pend *p, const char *key);
/* Put an event found while answering p (or at the tail when p is NULL). */
void outq_put(struct qmp_vm *vm, struct pend *p, struct hvt_event *ev);
/* Emit every slot at the head that waits for nothing. */
void outq_flush(struct qmp_vm *vm);
/* Release everything (connection lost): finish without the answers. */
void outq_release_all(struct qmp_vm *vm);
void outq_free(struct qmp_vm *vm);

/* ---- qmp_norm_state.c ---------------------------------------------------- */
void state_contact(struct qmp_vm *vm, const struct qmp_contact *c, struct pend *p);
bool state_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us);
void state_on_status(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		     long long now_us);
bool state_lost(struct qmp_vm *vm, bool peer_closed, long long now_us);
/* The process met before a restart of the forwarder is gone: vm.vanished, late. */
void state_gone(struct qmp_vm *vm, long long now_us);
/* Should a STOP/RESUME be folded into what is going on (migration, COLO, a
 * snapshot job) instead of being reported as vm.paused/vm.resumed? */
bool state_fold_pause(struct qmp_vm *vm);
/* A folding activity ended: a VM it left stopped counts as reported paused. */
void state_fold_ended(struct qmp_vm *vm, long long ts);

/* ---- qmp_norm_migration.c ------------------------------------------------ */
bool mig_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us);
void mig_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		  long long now_us);
bool mig_busy(const struct qmp_vm *vm);
void mig_on_stop(struct qmp_vm *vm, long long ts);
void mig_reset(struct qmp_vm *vm);
/* Close the migration that ended in COLO (no migration.completed). */
void mig_absorbed_by_colo(struct qmp_vm *vm);
/* The run state answered for a migration that just started. */
void mig_on_start_status(struct qmp_vm *vm, const char *status);

/* ---- qmp_norm_colo.c ----------------------------------------------------- */
bool colo_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us);
void colo_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err);
/* MIGRATION status colo / completed while in COLO. */
void colo_enter(struct qmp_vm *vm, const struct qmp_msg *m, long long ts, struct pend *resync);
bool colo_migration_completed(struct qmp_vm *vm, long long ts);
bool colo_busy(const struct qmp_vm *vm);
void colo_stop(struct qmp_vm *vm, long long ts);
void colo_resume(struct qmp_vm *vm, long long ts);
/* Summarise pending checkpoints now (before COLO_EXIT, on disconnect). */
void colo_flush(struct qmp_vm *vm, struct pend *p, long long ts);
void colo_reset(struct qmp_vm *vm);
/* A resync found COLO over (query-migrate no longer says "colo"). */
void colo_resync_ended(struct qmp_vm *vm, struct pend *p, long long now_us);

/* ---- qmp_norm_jobs.c ----------------------------------------------------- */
bool jobs_on_event(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us);
void jobs_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		   long long now_us);
bool jobs_vm_stopping(const struct qmp_vm *vm);
void jobs_on_stop(struct qmp_vm *vm, long long ts);
void jobs_on_resume(struct qmp_vm *vm, long long ts);
void jobs_reset(struct qmp_vm *vm);
/* A snapshot job (or one of unknown type) is under way: internal snapshot
 * changes belong to it, not to the block poll. */
bool jobs_snapshot_running(const struct qmp_vm *vm);

/* ---- qmp_norm_block.c ---------------------------------------------------- */
void block_on_reply(struct qmp_vm *vm, struct pend *p, json_object *ret, const char *err,
		    long long now_us);
void block_reset(struct qmp_vm *vm);
void block_free(struct qmp_blockmap *bm);

#endif
