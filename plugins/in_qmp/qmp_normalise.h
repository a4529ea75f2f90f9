/* qmp_normalise.h - raw QMP traffic of one VM in, hvtrail events out.
 *
 * Pure logic: no sockets, no clocks, no event loop.  The caller feeds the
 * VM's QMP events and the answers to the queries the normaliser asked for;
 * the normaliser keeps per-VM state (run state, migration, COLO, jobs, block
 * graph), folds protocol noise (job steps, migration passes, COLO
 * checkpoints) into the events an auditor reads, and hands them out in the
 * order things happened.  Because nothing here does I/O, the recorded QMP
 * transcripts replay through it unchanged in the unit tests.
 *
 * Ordering: an event that needs figures from a query (migration.completed
 * needs query-migrate) is held until the answer arrives, and every later
 * event waits behind it, so the trail keeps QEMU's order.  The wait is
 * bounded: the connection times queries out, and a full queue releases its
 * head without the figures. */
#ifndef HVT_QMP_NORMALISE_H
#define HVT_QMP_NORMALISE_H

#include <stdbool.h>
#include <json-c/json.h>

#include "event.h"
#include "qmp_parse.h"

/* The queries the normaliser may ask for (one QMP command each). */
enum qmp_query {
	QMP_Q_STATUS,         /* query-status */
	QMP_Q_MIGRATE,        /* query-migrate */
	QMP_Q_JOBS,           /* query-jobs */
	QMP_Q_BLOCK,          /* query-block */
	QMP_Q_COLO,           /* query-colo-status */
	QMP_Q_COUNT
};
const char *qmp_query_command(enum qmp_query q);

struct qmp_norm_ops {
	/* A finished event; ownership passes. */
	void (*emit)(void *arg, struct hvt_event *ev);
	/* Send a query.  Its answer (or an error: timeout, refused) must come
	 * back through qmp_vm_reply with the same q and tag, never from inside
	 * this call.  Returns false when it cannot be sent (not connected, too
	 * many in flight); the normaliser then proceeds without the answer. */
	bool (*query)(void *arg, enum qmp_query q, unsigned tag);
};

struct qmp_norm_opts {
	long long colo_summary_us;    /* at most one colo.checkpoints per interval */
	bool block_queries;           /* use query-block to see snapshots */
	unsigned unmapped_burst;      /* qmp.* events per VM per 10 s, then dropped */
	long long late_after_us;      /* a start seen this long after it happened is LATE */
};
void qmp_norm_opts_default(struct qmp_norm_opts *o);

/* What the connection learned when it (re)connected. */
struct qmp_contact {
	const char *name;             /* query-name, or NULL */
	const char *uuid;             /* query-uuid, or NULL */
	const char *qemu_version;     /* "7.2.22", from the greeting, or NULL */
	const char *socket;           /* the monitor socket path */
	bool new_instance;            /* not the QEMU process we talked to before */
	long long instance_since_us;  /* socket creation time = QEMU start, 0 = unknown */
	long long now_us;
	/* client mode: the process that connected (SO_PEERCRED), pid 0 = not known */
	int peer_pid, peer_uid;
	const char *peer_exe;         /* or NULL */
};

struct qmp_vm;

/* fallback_name names the VM until query-name says otherwise (the socket
 * file name without its extension). */
struct qmp_vm *qmp_vm_new(const char *fallback_name, const struct qmp_norm_opts *opts,
			  const struct qmp_norm_ops *ops, void *arg);
void qmp_vm_free(struct qmp_vm *vm);

void qmp_vm_contact(struct qmp_vm *vm, const struct qmp_contact *c);
/* One message from QEMU (events; other kinds are ignored). */
void qmp_vm_message(struct qmp_vm *vm, const struct qmp_msg *m, long long now_us);
/* The answer to a query: ret on success, else error (words). */
void qmp_vm_reply(struct qmp_vm *vm, enum qmp_query q, unsigned tag, json_object *ret,
		  const char *error, long long now_us);
/* The connection ended: peer_closed = QEMU closed it (the process is gone),
 * else we dropped it (timeout, protocol error) and will resync later.
 * Returns true when that made the VM vanished (no SHUTDOWN before). */
bool qmp_vm_lost(struct qmp_vm *vm, bool peer_closed, long long now_us);
/* Periodic: look at the block graph (snapshots that emit no event). */
void qmp_vm_poll(struct qmp_vm *vm, long long now_us);

/* ---- across a restart of the forwarder (qmp_norm_persist.c) ----------------
 * The state of the QEMU process as JSON (NULL when there is none: never
 * contacted, or it exited).  Save it only when qmp_vm_pending() is 0 and the
 * events emitted so far are durable. */
json_object *qmp_vm_save(const struct qmp_vm *vm);
/* Take a saved state back: meeting that QEMU process again (new_instance
 * false) is then a reconnect, whose resync reports what changed, late. */
bool qmp_vm_restore(struct qmp_vm *vm, json_object *saved);
bool qmp_vm_restored(const struct qmp_vm *vm);
/* The restored process is gone (nobody listens on its socket, or the socket
 * is gone): report it vanished while nobody watched, and forget it. */
void qmp_vm_gone(struct qmp_vm *vm, long long now_us);
/* Anything happened since the last qmp_vm_mark_saved()? */
bool qmp_vm_dirty(const struct qmp_vm *vm);
void qmp_vm_mark_saved(struct qmp_vm *vm);

const char *qmp_vm_name(const struct qmp_vm *vm);
const char *qmp_vm_uuid(const struct qmp_vm *vm);
/* Events waiting for answers (for stats and tests). */
unsigned qmp_vm_pending(const struct qmp_vm *vm);
/* Inside ops->emit: is this the last event in the queue, so that the
 * state qmp_vm_save() gives now is exactly the state after the events
 * emitted so far (and may travel with this one)? */
bool qmp_vm_settled(const struct qmp_vm *vm);
/* Inside ops->emit: the process is about to be forgotten (it vanished, or
 * is found gone after a restart): nothing of it is to be carried over. */
bool qmp_vm_ending(const struct qmp_vm *vm);

#endif
