/* pipeline.h - from an input's event to a durable spool record.
 *
 * emit() stamps the event (host, received time, source), gives it its
 * identity (stream = the spool's id, seq = the record number, prev = hash
 * of the previous event's JSON), formats the RFC 5424 message and appends
 * it to the spool - together, in the same record, with what the input
 * handed over: its read position and the digest of the event's
 * idempotency key (carry.h).  A keyed event whose key is in the window is
 * dropped as a repeat.  Appends are committed once per event-loop
 * iteration (group commit) and, once durable, inputs are told so (local
 * clients get their answers).  At the spool's bound the configured policy
 * applies: pause every input (block) or drop the oldest segment, each drop
 * recorded in the trail as a spool.dropped event naming the seqs. */
#ifndef HVT_FWD_PIPELINE_H
#define HVT_FWD_PIPELINE_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "event.h"
#include "hvtrail-plugin.h"
#include "instance.h"
#include "spool.h"

struct fwd_pipeline_opts {
	const char *host;
	int facility;
	size_t max_event;
	bool drop_oldest;
	enum hvt_fsync_policy fsync;
	long long fsync_interval_ms;
	const char *state_dir;
	size_t key_window;            /* idempotency keys remembered */
};

struct fwd_pipeline;

struct fwd_pipeline *fwd_pipeline_new(const struct fwd_pipeline_opts *o, struct hvt_spool *sp,
				      sd_event *loop, struct hvt_instances *inputs);
void fwd_pipeline_free(struct fwd_pipeline *p);

/* The host->emit of every input (and the forwarder's own events, inst NULL). */
int fwd_pipeline_emit(struct fwd_pipeline *p, struct hvt_instance *inst, struct hvt_event *ev);
/* host->emit_with: 0, or HVT_EMIT_REPEAT (ev freed). */
int fwd_pipeline_emit_with(struct fwd_pipeline *p, struct hvt_instance *inst, struct hvt_event *ev,
			   const struct hvt_emit_opts *o);
/* host->position: what inst stored with its latest spooled event. */
const char *fwd_pipeline_position(struct fwd_pipeline *p, struct hvt_instance *inst);
const char *fwd_pipeline_position_in(struct fwd_pipeline *p, struct hvt_instance *inst, const char *scope);
/* Commit what was emitted outside the loop's dispatch (start-up), which
 * the post-dispatch hook would only see at the next event. */
void fwd_pipeline_commit(struct fwd_pipeline *p);
/* Commit now and save the carried state (shutdown, reload). */
void fwd_pipeline_flush(struct fwd_pipeline *p);
/* Emit chain.reset when this spool's stream replaces an earlier one. */
void fwd_pipeline_announce_chain(struct fwd_pipeline *p);
/* Whether the chain continues an earlier run (false: a new chain starts). */
bool fwd_pipeline_chain_continued(const struct fwd_pipeline *p);
/* Report what damage the spool set aside as spool.damaged events (also
 * done every few seconds for what readers find). */
void fwd_pipeline_report_damage(struct fwd_pipeline *p);

struct fwd_pipeline_counters {
	uint64_t repeats;             /* keyed events dropped as repeats */
	uint64_t dropped;             /* events dropped by full_policy = drop-oldest */
	uint64_t drop_episodes;
	uint64_t keys;                /* keys in the window now */
	uint64_t replayed;            /* records replayed at start to recover the carried state */
};
void fwd_pipeline_counters(const struct fwd_pipeline *p, struct fwd_pipeline_counters *c);

#endif
