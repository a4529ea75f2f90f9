/* pipeline.c - see pipeline.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "pipeline.h"
#include "rfc5424.h"
#include "trail.h"
#include "util.h"

#define RESUME_FRACTION 0.9     /* resume inputs below 90% of max_size */
#define FLOW_CHECK_US 250000
#define RETRY_US 1000000
#define DAMAGE_CHECK_US 5000000   /* how often damage readers found is reported */

/* The head saved at the last clean stop: "stream seq hash". */
struct saved_head {
	char stream[64];
	uint64_t seq;
	char hash[HVT_SHA256_HEX];
};

struct pending {
	struct hvt_event *ev;
	struct pending *next;
};

struct fwd_pipeline {
	struct fwd_pipeline_opts o;
	char *host;
	char *state_dir;
	struct hvt_spool *spool;
	sd_event *loop;
	struct hvt_instances *inputs;
	char last_hash[HVT_SHA256_HEX];
	bool chain_continued;
	struct hvt_buf json;
	struct hvt_buf msg;
	bool appended;            /* since the last commit */
	bool paused;
	uint64_t dropped;
	struct pending *pending;  /* events the spool refused (disk full) */
	struct pending **pending_tail;
	sd_event_source *post;
	sd_event_source *flow_timer;
	sd_event_source *retry_timer;
	sd_event_source *sync_timer;
	sd_event_source *damage_timer;
	struct hvt_ratelimit rl_append;
	struct saved_head previous;   /* the stream a new spool replaces, if any */
};

/* sd-event time sources are one-shot: set the next expiry and re-enable. */
static void rearm(sd_event_source *s, uint64_t usec)
{
	sd_event_source_set_time(s, usec);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Inputs may persist their read positions (journal cursor, local "ok")
 * only when everything they emitted is in the spool: not while events the
 * spool refused wait in memory. */
static void notify_inputs_committed(struct fwd_pipeline *p)
{
	if (p->pending)
		return;
	for (int i = 0; i < p->inputs->n; i++) {
		struct hvt_instance *in = &p->inputs->v[i];
		const struct hvt_input_ops *ops = in->plugin->ops;
		if (in->plugin->kind == HVT_PLUGIN_INPUT && ops && ops->committed && in->priv)
			ops->committed(in);
	}
}

static int on_post(sd_event_source *s, void *ud);

static void pause_inputs(struct fwd_pipeline *p, bool paused)
{
	if (p->paused == paused)
		return;
	p->paused = paused;
	for (int i = 0; i < p->inputs->n; i++) {
		struct hvt_instance *in = &p->inputs->v[i];
		const struct hvt_input_ops *ops = in->plugin->ops;
		if (in->plugin->kind == HVT_PLUGIN_INPUT && ops && ops->pause && in->priv)
			ops->pause(in, paused);
	}
	if (paused) {
		uint64_t now;
		sd_event_now(p->loop, CLOCK_MONOTONIC, &now);
		rearm(p->flow_timer, now + FLOW_CHECK_US);
	} else {
		sd_event_source_set_enabled(p->flow_timer, SD_EVENT_OFF);
	}
	if (paused)
		hvt_log(LOG_WARNING, "spool is full (%" PRIu64 " bytes): inputs paused until the collector "
			"catches up; nothing is dropped", hvt_spool_bytes(p->spool));
	else
		hvt_log(LOG_NOTICE, "spool has room again: inputs resumed");
}

/* Commit after every loop iteration that appended: one write barrier for
 * however many events arrived together. */
void fwd_pipeline_commit(struct fwd_pipeline *p)
{
	on_post(NULL, p);
}

static int on_post(sd_event_source *s, void *ud)
{
	struct fwd_pipeline *p = ud;

	(void)s;
	if (!p->appended)
		return 0;
	p->appended = false;
	int rc = hvt_spool_commit(p->spool);
	if (rc < 0)
		hvt_log_ratelimited(&p->rl_append, LOG_ERR, "spool: cannot sync: %s", strerror(-rc));
	if (p->o.fsync == HVT_FSYNC_NEVER || !hvt_spool_dirty(p->spool))
		notify_inputs_committed(p);
	return 0;
}

static int on_sync_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fwd_pipeline *p = ud;

	if (hvt_spool_dirty(p->spool) && hvt_spool_sync(p->spool) == 0)
		notify_inputs_committed(p);
	rearm(s, usec + (uint64_t)p->o.fsync_interval_ms * 1000);
	return 0;
}

static int on_flow_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fwd_pipeline *p = ud;
	if (p->paused && !p->pending) {
		uint64_t bytes = hvt_spool_bytes(p->spool);
		uint64_t bound = (uint64_t)((double)hvt_spool_max_bytes(p->spool) * RESUME_FRACTION);
		if (bytes < bound)
			pause_inputs(p, false);
	}
	if (p->paused)
		rearm(s, usec + FLOW_CHECK_US);
	return 0;
}

/* Fit an oversized event: keep its identity and say what was cut. */
static void truncate_data(struct fwd_pipeline *p, struct hvt_event *ev, size_t size)
{
	json_object *note = json_object_new_object();

	json_object_object_add(note, "original_bytes", json_object_new_int64((int64_t)size));
	json_object_object_add(note, "limit_bytes", json_object_new_int64((int64_t)p->o.max_event));
	if (ev->data)
		json_object_put(ev->data);
	ev->data = note;
	ev->flags |= HVT_EV_TRUNCATED;
	if (ev->msg && strlen(ev->msg) > 1024)
		ev->msg[1024] = '\0';
}

static void assign_identity(struct fwd_pipeline *p, struct hvt_event *ev)
{
	hvt_event_set_identity(ev, hvt_spool_id(p->spool), hvt_spool_next_seq(p->spool));
	hvt_event_set_str(&ev->prev, p->last_hash);
}

/* Format and append one event; the identity is (re)assigned here so a
 * retried event gets the record number it finally lands at. */
static int append(struct fwd_pipeline *p, struct hvt_event *ev)
{
	char hash[HVT_SHA256_HEX];

	assign_identity(p, ev);
	hvt_buf_reset(&p->json);
	hvt_event_to_json(ev, &p->json);
	if (p->json.len > p->o.max_event) {
		hvt_log_ratelimited(&p->rl_append, LOG_WARNING, "event %s of %zu bytes exceeds max_event_size "
				    "(%zu): its data is replaced by a truncation note", ev->type, p->json.len,
				    p->o.max_event);
		truncate_data(p, ev, p->json.len);
		hvt_buf_reset(&p->json);
		hvt_event_to_json(ev, &p->json);
	}
	hvt_chain_hash(p->json.data, p->json.len, hash);
	hvt_buf_reset(&p->msg);
	hvt_syslog_format(&p->msg, p->o.facility, ev, p->json.data, p->json.len);
	int rc = hvt_spool_append(p->spool, p->msg.data, p->msg.len, NULL);
	if (rc < 0)
		return rc;
	memcpy(p->last_hash, hash, sizeof hash);
	p->appended = true;
	return 0;
}

static void queue_pending(struct fwd_pipeline *p, struct hvt_event *ev)
{
	struct pending *q = hvt_calloc(1, sizeof *q);

	q->ev = ev;
	*p->pending_tail = q;
	p->pending_tail = &q->next;
}

static void emit_dropped(struct fwd_pipeline *p, uint64_t n);

static void enforce_bound(struct fwd_pipeline *p)
{
	if (!hvt_spool_over(p->spool))
		return;
	if (!p->o.drop_oldest) {
		pause_inputs(p, true);
		return;
	}
	uint64_t n = hvt_spool_drop_oldest(p->spool, NULL, NULL);
	if (n) {
		p->dropped += n;
		hvt_log(LOG_WARNING, "spool is full: dropped the %" PRIu64 " oldest unsent events "
			"(full_policy = drop-oldest; %" PRIu64 " dropped since start)", n, p->dropped);
		emit_dropped(p, n);
	}
}

/* Try the events the spool refused, in order. */
static int flush_pending(struct fwd_pipeline *p)
{
	while (p->pending) {
		struct pending *q = p->pending;
		int rc = append(p, q->ev);
		if (rc < 0)
			return rc;
		p->pending = q->next;
		if (!p->pending)
			p->pending_tail = &p->pending;
		hvt_event_free(q->ev);
		free(q);
	}
	return 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fwd_pipeline *p = ud;
	int rc = flush_pending(p);

	if (rc < 0) {
		hvt_log_ratelimited(&p->rl_append, LOG_ERR, "spool: still cannot append: %s (inputs stay "
				    "paused, events are held in memory)", strerror(-rc));
		rearm(s, usec + RETRY_US);
		return 0;
	}
	hvt_log(LOG_NOTICE, "spool: appending works again; held events written");
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	enforce_bound(p);
	return 0;
}

static void stamp(struct fwd_pipeline *p, struct hvt_instance *inst, struct hvt_event *ev)
{
	hvt_event_set_str(&ev->host, p->host);
	if (!ev->source)
		ev->source = hvt_strdup(inst ? inst->plugin->name + (strncmp(inst->plugin->name, "in_", 3) ? 0 : 3)
				    : "forwarder");
	ev->received_us = hvt_now_us();
	if (!ev->ts_us)
		ev->ts_us = ev->received_us;
}

int fwd_pipeline_emit(struct fwd_pipeline *p, struct hvt_instance *inst, struct hvt_event *ev)
{
	stamp(p, inst, ev);
	if (!p->pending) {
		int rc = append(p, ev);
		if (rc == 0) {
			hvt_event_free(ev);
			enforce_bound(p);
			return 0;
		}
		hvt_log_ratelimited(&p->rl_append, LOG_ERR, "spool: cannot append (%s): pausing inputs and "
				    "holding events in memory until it works again", strerror(-rc));
		pause_inputs(p, true);
		uint64_t now;
		sd_event_now(p->loop, CLOCK_MONOTONIC, &now);
		rearm(p->retry_timer, now + RETRY_US);
	}
	queue_pending(p, ev);
	return 0;
}

/* Damage the spool set aside (spool.h, "Damage"): records that will never
 * reach the collector become a recorded fact in the trail, naming their
 * seqs, so hvtrail verify can tell the hole from a deletion. */
void fwd_pipeline_report_damage(struct fwd_pipeline *p)
{
	struct hvt_spool_damage *v;
	size_t n;

	hvt_spool_take_damage(p->spool, &v, &n);
	for (size_t i = 0; i < n; i++) {
		const struct hvt_spool_damage *d = &v[i];
		if (!d->lost_first || d->acknowledged)
			continue;     /* stray bytes, or records the collector already has: logged only */
		struct hvt_event *ev = hvt_event_new("spool.damaged");
		uint64_t lost = d->lost_last - d->lost_first + 1;
		ev->severity = 3;
		hvt_event_set_msg(ev, "spool damage: %s%" PRIu64 " event%s (seq %" PRIu64 "..%" PRIu64 ") could not be "
				  "read and will never be sent (%s); the damaged bytes are kept in %s",
				  d->lost_upper_bound ? "at most " : "", lost, lost == 1 ? "" : "s", d->lost_first,
				  d->lost_last, d->why, d->set_aside[0] ? d->set_aside : "(nothing was left to keep)");
		hvt_event_data_add(ev, "from_seq", json_object_new_int64((int64_t)d->lost_first));
		hvt_event_data_add(ev, "to_seq", json_object_new_int64((int64_t)d->lost_last));
		hvt_event_data_add(ev, "lost", json_object_new_int64((int64_t)lost));
		hvt_event_data_add(ev, "upper_bound", json_object_new_boolean(d->lost_upper_bound));
		hvt_event_data_add(ev, "why", json_object_new_string(d->why));
		if (d->segment) {
			char seg[24];
			snprintf(seg, sizeof seg, "%016" PRIx64 ".seg", d->segment);
			hvt_event_data_add(ev, "segment", json_object_new_string(seg));
			hvt_event_data_add(ev, "offset", json_object_new_int64((int64_t)d->offset));
			hvt_event_data_add(ev, "bytes", json_object_new_int64((int64_t)d->bytes));
		}
		if (d->set_aside[0])
			hvt_event_data_add(ev, "set_aside", json_object_new_string(d->set_aside));
		fwd_pipeline_emit(p, NULL, ev);
	}
	free(v);
}

static int on_damage_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	fwd_pipeline_report_damage(ud);
	rearm(s, usec + DAMAGE_CHECK_US);
	return 0;
}

static void emit_dropped(struct fwd_pipeline *p, uint64_t n)
{
	struct hvt_event *ev = hvt_event_new("spool.dropped");

	ev->severity = HVT_SEV_ERR;
	hvt_event_set_msg(ev, "spool full: %" PRIu64 " unsent events dropped (full_policy = drop-oldest)", n);
	hvt_event_data_add(ev, "dropped", json_object_new_int64((int64_t)n));
	hvt_event_data_add(ev, "dropped_total", json_object_new_int64((int64_t)p->dropped));
	fwd_pipeline_emit(p, NULL, ev);
}

static bool read_saved_head(struct fwd_pipeline *p, struct saved_head *h)
{
	char *path = hvt_asprintf("%s/chain_head", p->state_dir), *text = NULL;
	bool ok = hvt_read_file(path, 512, &text, NULL) == 0 &&
		  sscanf(text, "%63s %" SCNu64 " %64s", h->stream, &h->seq, h->hash) == 3;

	free(text);
	free(path);
	return ok;
}

/* The chain continues from the last spooled event, or from the head saved
 * at the last clean stop when the spool has been trimmed empty.  A spool
 * with a new identity starts a new chain: say so in the trail. */
static void recover_chain_head(struct fwd_pipeline *p)
{
	uint64_t last = hvt_spool_last_seq(p->spool);
	struct saved_head saved = { 0 };
	bool have_saved = read_saved_head(p, &saved);

	p->last_hash[0] = '\0';
	if (last && hvt_chain_hash_spooled(p->spool, last, p->last_hash) == 0)
		p->chain_continued = true;
	if (!p->chain_continued && have_saved && last && saved.seq == last &&
	    strcmp(saved.stream, hvt_spool_id(p->spool)) == 0) {
		memcpy(p->last_hash, saved.hash, sizeof saved.hash);
		p->chain_continued = true;
	}
	if (have_saved && strcmp(saved.stream, hvt_spool_id(p->spool)) != 0)
		p->previous = saved;
	else if (!p->chain_continued && last)
		hvt_log(LOG_WARNING, "the hash chain of stream %s cannot be continued (its last event is "
			"unreadable); the next event starts from an empty prev", hvt_spool_id(p->spool));
}

/* A new stream replaces an earlier one of this host: a visible, sealed
 * event (docs/integrity.md). */
void fwd_pipeline_announce_chain(struct fwd_pipeline *p)
{
	if (!p->previous.stream[0])
		return;
	struct hvt_event *ev = hvt_event_new("chain.reset");
	ev->severity = HVT_SEV_WARNING;
	hvt_event_set_msg(ev, "a new hash chain (stream %s) replaces stream %s, which ended at event %" PRIu64
			  ": the spool was recreated", hvt_spool_id(p->spool), p->previous.stream, p->previous.seq);
	hvt_event_data_add(ev, "previous_stream", json_object_new_string(p->previous.stream));
	hvt_event_data_add(ev, "previous_seq", json_object_new_int64((int64_t)p->previous.seq));
	hvt_event_data_add(ev, "previous_head", json_object_new_string(p->previous.hash));
	fwd_pipeline_emit(p, NULL, ev);
}

static void save_chain_head(struct fwd_pipeline *p)
{
	char *path = hvt_asprintf("%s/chain_head", p->state_dir);
	char *text = hvt_asprintf("%s %" PRIu64 " %s\n", hvt_spool_id(p->spool),
				  hvt_spool_next_seq(p->spool) - 1, p->last_hash[0] ? p->last_hash : "-");
	int rc = hvt_write_file_atomic(path, text, strlen(text), 0600);

	if (rc < 0)
		hvt_log(LOG_WARNING, "cannot save %s: %s", path, strerror(-rc));
	free(text);
	free(path);
}

struct fwd_pipeline *fwd_pipeline_new(const struct fwd_pipeline_opts *o, struct hvt_spool *sp,
				      sd_event *loop, struct hvt_instances *inputs)
{
	struct fwd_pipeline *p = hvt_calloc(1, sizeof *p);
	uint64_t now;

	p->o = *o;
	p->host = hvt_strdup(o->host);
	p->state_dir = hvt_strdup(o->state_dir);
	p->o.host = p->host;
	p->o.state_dir = p->state_dir;
	p->spool = sp;
	p->loop = loop;
	p->inputs = inputs;
	p->pending_tail = &p->pending;
	p->rl_append = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(10000);
	recover_chain_head(p);

	sd_event_now(loop, CLOCK_MONOTONIC, &now);
	sd_event_add_post(loop, &p->post, on_post, p);
	sd_event_add_time(loop, &p->flow_timer, CLOCK_MONOTONIC, now + FLOW_CHECK_US, 0, on_flow_timer, p);
	sd_event_source_set_enabled(p->flow_timer, SD_EVENT_OFF);
	sd_event_add_time(loop, &p->retry_timer, CLOCK_MONOTONIC, now + RETRY_US, 0, on_retry_timer, p);
	sd_event_source_set_enabled(p->retry_timer, SD_EVENT_OFF);
	sd_event_add_time(loop, &p->damage_timer, CLOCK_MONOTONIC, now + DAMAGE_CHECK_US, 0, on_damage_timer, p);
	if (o->fsync == HVT_FSYNC_INTERVAL)
		sd_event_add_time(loop, &p->sync_timer, CLOCK_MONOTONIC,
				  now + (uint64_t)o->fsync_interval_ms * 1000, 0, on_sync_timer, p);
	return p;
}

void fwd_pipeline_flush(struct fwd_pipeline *p)
{
	if (flush_pending(p) < 0)
		hvt_log(LOG_ERR, "spool: events held in memory could not be written at shutdown");
	hvt_spool_commit(p->spool);
	hvt_spool_sync(p->spool);
	notify_inputs_committed(p);
	save_chain_head(p);
}

bool fwd_pipeline_chain_continued(const struct fwd_pipeline *p)
{
	return p->chain_continued;
}

uint64_t fwd_pipeline_dropped(const struct fwd_pipeline *p)
{
	return p->dropped;
}

void fwd_pipeline_free(struct fwd_pipeline *p)
{
	if (!p)
		return;
	sd_event_source_unref(p->post);
	sd_event_source_unref(p->flow_timer);
	sd_event_source_unref(p->retry_timer);
	sd_event_source_unref(p->sync_timer);
	sd_event_source_unref(p->damage_timer);
	while (p->pending) {
		struct pending *q = p->pending;
		p->pending = q->next;
		hvt_event_free(q->ev);
		free(q);
	}
	hvt_buf_free(&p->json);
	hvt_buf_free(&p->msg);
	free(p->host);
	free(p->state_dir);
	free(p);
}
