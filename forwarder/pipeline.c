/* pipeline.c - see pipeline.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carry.h"
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
#define STATE_SAVE_MIN_US 1000000 /* saves of the carried state that let the spool trim */
#define STATE_SAVE_IDLE_US 60000000 /* ...and at least this often when it changed */
/* The position name under which a drop-oldest episode is carried: "lo hi
 * count drops start_us", stored with each spool.dropped record. */
#define DROP_EPISODE "#spool.dropped"

/* The head saved at the last clean stop: "stream seq hash". */
struct saved_head {
	char stream[64];
	uint64_t seq;
	char hash[HVT_SHA256_HEX];
};

struct pending {
	struct hvt_event *ev;
	char *scope;              /* the input's name (positions) */
	char *position;
	bool keyed;
	uint8_t digest[KEYWIN_DIGEST];
	struct pending *next;
};

/* One drop-oldest episode: from the first drop until the collector has the
 * spool.dropped record that names everything dropped in it. */
struct drop_episode {
	bool active;
	uint64_t lo, hi;          /* seqs dropped: the union lies in [lo, hi] */
	uint64_t count, drops;
	long long start_us;
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
	bool appended;            /* since the last commit (or answers wait) */
	bool paused;
	uint64_t dropped, repeats, replayed;
	struct carry *carry;      /* positions and keys kept with the spool */
	long long last_save_us;
	struct drop_episode ep;
	uint64_t drop_episodes;
	struct hvt_buf meta;
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

static void episode_check(struct fwd_pipeline *p);

/* Save the carried state (carry.h) up to what is in the spool's files -
 * synced first when the spool syncs, so the state never covers a record a
 * power loss could take back.  The spool keeps every record the saved
 * state does not cover, so it is saved when that is all that keeps an
 * acknowledged segment, before a drop, at a stop, and now and then. */
static void save_state(struct fwd_pipeline *p)
{
	int rc = p->o.fsync == HVT_FSYNC_NEVER ? hvt_spool_commit(p->spool) : hvt_spool_sync(p->spool);

	if (rc == 0 && p->o.fsync != HVT_FSYNC_NEVER)
		rc = hvt_spool_commit(p->spool);
	if (rc < 0 || p->pending) {
		/* the state must not run ahead of the files (held events are
		 * not in them): keep the last saved one */
		return;
	}
	if (carry_save(p->carry, p->spool, hvt_spool_next_seq(p->spool) - 1) == 0)
		p->last_save_us = hvt_mono_us();
}

static void maybe_save_state(struct fwd_pipeline *p, bool idle_check)
{
	long long now = hvt_mono_us();

	if (now - p->last_save_us < STATE_SAVE_MIN_US)
		return;
	if (hvt_spool_hold_blocking(p->spool) ||
	    (idle_check && carry_dirty(p->carry) && now - p->last_save_us >= STATE_SAVE_IDLE_US))
		save_state(p);
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
	maybe_save_state(p, false);
	if (p->ep.active)
		episode_check(p);
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

/* What an event carries into its spool record besides itself. */
struct carried {
	const char *scope;        /* the input's instance name */
	const char *position;
	const uint8_t *digest;    /* of its key, or NULL */
};

/* Format and append one event with its meta, and only once the record is
 * appended take the meta into the carried state: a record and what it
 * carries are one write.  The identity is (re)assigned here so a retried
 * event gets the record number it finally lands at. */
static int append(struct fwd_pipeline *p, struct hvt_event *ev, const struct carried *cr)
{
	char hash[HVT_SHA256_HEX];
	uint64_t seq;

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
	hvt_buf_reset(&p->meta);
	if (cr)
		carry_meta(&p->meta, cr->digest, cr->position ? cr->scope : NULL, cr->position);
	int rc = hvt_spool_append_meta(p->spool, p->msg.data, p->msg.len, p->meta.data, p->meta.len, &seq);
	if (rc < 0)
		return rc;
	if (p->meta.len)
		carry_apply(p->carry, p->meta.data, p->meta.len, seq);
	memcpy(p->last_hash, hash, sizeof hash);
	p->appended = true;
	return 0;
}

static void queue_pending(struct fwd_pipeline *p, struct hvt_event *ev, const struct carried *cr)
{
	struct pending *q = hvt_calloc(1, sizeof *q);

	q->ev = ev;
	if (cr) {
		q->scope = cr->scope ? hvt_strdup(cr->scope) : NULL;
		q->position = cr->position ? hvt_strdup(cr->position) : NULL;
		if (cr->digest) {
			q->keyed = true;
			memcpy(q->digest, cr->digest, KEYWIN_DIGEST);
		}
	}
	*p->pending_tail = q;
	p->pending_tail = &q->next;
}

static void pending_free(struct pending *q)
{
	hvt_event_free(q->ev);
	free(q->scope);
	free(q->position);
	free(q);
}

static void emit_dropped(struct fwd_pipeline *p, uint64_t from, uint64_t to, uint64_t n);

static void enforce_bound(struct fwd_pipeline *p)
{
	if (!hvt_spool_over(p->spool))
		return;
	if (!p->o.drop_oldest) {
		pause_inputs(p, true);
		return;
	}
	uint64_t from, to;
	save_state(p);        /* what the dropped segment carried is in the state now */
	uint64_t n = hvt_spool_drop_oldest(p->spool, &from, &to);
	if (n)
		emit_dropped(p, from, to, n);
}

/* Try the events the spool refused, in order. */
static int flush_pending(struct fwd_pipeline *p)
{
	while (p->pending) {
		struct pending *q = p->pending;
		struct carried cr = { q->scope, q->position, q->keyed ? q->digest : NULL };
		int rc = append(p, q->ev, &cr);
		if (rc < 0)
			return rc;
		p->pending = q->next;
		if (!p->pending)
			p->pending_tail = &p->pending;
		pending_free(q);
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
	/* "forwarder" (and "collector") is a daemon's own voice: verify trusts
	 * a sealed spool.dropped / spool.damaged of source forwarder to explain
	 * a hole (cli/cmd_verify.c).  An input - a local client through
	 * in_local - may name other sources, never that one. */
	if (inst && ev->source && (strcmp(ev->source, "forwarder") == 0 || strcmp(ev->source, "collector") == 0)) {
		free(ev->source);
		ev->source = NULL;
	}
	if (!ev->source)
		ev->source = hvt_strdup(inst ? inst->plugin->name + (strncmp(inst->plugin->name, "in_", 3) ? 0 : 3)
				    : "forwarder");
	ev->received_us = hvt_now_us();
	if (!ev->ts_us)
		ev->ts_us = ev->received_us;
}

static int emit_carried(struct fwd_pipeline *p, struct hvt_instance *inst, struct hvt_event *ev,
			const struct carried *cr)
{
	stamp(p, inst, ev);
	if (!p->pending) {
		int rc = append(p, ev, cr);
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
	/* a held event's key is known at once (a repeat while it waits is one) */
	if (cr && cr->digest)
		carry_add_key(p->carry, cr->digest);
	queue_pending(p, ev, cr);
	return 0;
}

int fwd_pipeline_emit(struct fwd_pipeline *p, struct hvt_instance *inst, struct hvt_event *ev)
{
	return emit_carried(p, inst, ev, NULL);
}

/* "instance/scope", the name a scoped position is carried under (the meta
 * line is "p NAME<tab>VALUE": no tab or newline in it). */
static bool scope_name(char *out, size_t size, const char *inst, const char *scope)
{
	int n = snprintf(out, size, "%s/%s", inst, scope);

	return n > 0 && (size_t)n < size && !strpbrk(out, "\t\n");
}

int fwd_pipeline_emit_with(struct fwd_pipeline *p, struct hvt_instance *inst, struct hvt_event *ev,
			   const struct hvt_emit_opts *o)
{
	uint8_t d[KEYWIN_DIGEST];
	char scoped[512];
	struct carried cr = { inst ? inst->name : "forwarder", o ? o->position : NULL, NULL };

	if (o && o->key) {
		carry_digest(cr.scope, o->key, d);
		if (carry_has_key(p->carry, d)) {
			/* the first one is spooled (or held): answer like it, once
			 * what is spooled is durable - the next commit says so */
			p->repeats++;
			hvt_event_free(ev);
			p->appended = true;
			return HVT_EMIT_REPEAT;
		}
		cr.digest = d;
	}
	/* keys stay per instance; a scoped position is kept under "inst/scope" */
	if (o && o->position && o->scope && !scope_name(scoped, sizeof scoped, cr.scope, o->scope))
		cr.position = NULL;   /* unusable name: the input keeps its own file as well */
	else if (o && o->position && o->scope)
		cr.scope = scoped;
	return emit_carried(p, inst, ev, &cr);
}

const char *fwd_pipeline_position(struct fwd_pipeline *p, struct hvt_instance *inst)
{
	return carry_position(p->carry, inst->name, NULL);
}

const char *fwd_pipeline_position_in(struct fwd_pipeline *p, struct hvt_instance *inst, const char *scope)
{
	char scoped[512];

	if (!scope)
		return fwd_pipeline_position(p, inst);
	return scope_name(scoped, sizeof scoped, inst->name, scope) ? carry_position(p->carry, scoped, NULL) : NULL;
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
		ev->severity = HVT_SEV_ERR;
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

/* Now and then: damage readers found, the carried state, the end of a
 * drop episode while nothing else happens. */
static int on_damage_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct fwd_pipeline *p = ud;

	fwd_pipeline_report_damage(p);
	maybe_save_state(p, true);
	episode_check(p);
	rearm(s, usec + DAMAGE_CHECK_US);
	return 0;
}

/* full_policy = drop-oldest.  Each drop is a recorded fact: a spool.dropped
 * event, chained and sealed like every other, naming the seqs dropped so
 * far in this episode - cumulative, because an earlier spool.dropped may
 * itself be dropped by the next drop while the collector stays away.  The
 * episode ends once the collector has acknowledged the latest of them: one
 * log line when it starts, one with the counts when it ends. */
static void emit_dropped(struct fwd_pipeline *p, uint64_t from, uint64_t to, uint64_t n)
{
	struct drop_episode *e = &p->ep;
	char pos[160];

	if (!e->active) {
		*e = (struct drop_episode){ .active = true, .lo = from, .start_us = hvt_now_us() };
		p->drop_episodes++;
		hvt_log(LOG_WARNING, "spool is full (max_size %" PRIu64 " bytes) and the collector is not taking "
			"events: dropping the oldest unsent ones (full_policy = drop-oldest), starting with seq "
			"%" PRIu64 "; spool.dropped events name what goes, and one line says when this ends",
			hvt_spool_max_bytes(p->spool), from);
	}
	e->hi = to;
	e->count += n;
	e->drops++;
	p->dropped += n;
	struct hvt_event *ev = hvt_event_new("spool.dropped");
	ev->severity = HVT_SEV_ERR;
	hvt_event_set_msg(ev, "spool full: %" PRIu64 " unsent events dropped by policy (full_policy = drop-oldest) "
			  "since this episode began, seq %" PRIu64 "..%" PRIu64 " (%" PRIu64 " in this drop)", e->count,
			  e->lo, e->hi, n);
	hvt_event_data_add(ev, "from_seq", json_object_new_int64((int64_t)e->lo));
	hvt_event_data_add(ev, "to_seq", json_object_new_int64((int64_t)e->hi));
	hvt_event_data_add(ev, "dropped", json_object_new_int64((int64_t)e->count));
	hvt_event_data_add(ev, "drops", json_object_new_int64((int64_t)e->drops));
	hvt_event_data_add(ev, "this_drop", json_object_new_int64((int64_t)n));
	hvt_event_data_add(ev, "dropped_total", json_object_new_int64((int64_t)p->dropped));
	hvt_event_data_add(ev, "policy", json_object_new_string("drop-oldest"));
	snprintf(pos, sizeof pos, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %lld", e->lo, e->hi, e->count,
		 e->drops, e->start_us);
	struct carried cr = { DROP_EPISODE, pos, NULL };
	emit_carried(p, NULL, ev, &cr);
}

/* Has the collector got the latest spool.dropped?  Then the episode is
 * over. */
static void episode_check(struct fwd_pipeline *p)
{
	struct drop_episode *e = &p->ep;
	uint64_t mark = 0;

	if (!e->active || !carry_position(p->carry, DROP_EPISODE, &mark) || !mark ||
	    hvt_spool_acked(p->spool) < mark)
		return;
	hvt_log(LOG_NOTICE, "full_policy = drop-oldest: the episode is over: %" PRIu64 " events (seq %" PRIu64
		"..%" PRIu64 ") dropped in %" PRIu64 " drop%s over %.1f s; the collector has the spool.dropped "
		"record (seq %" PRIu64 ") that names them", e->count, e->lo, e->hi, e->drops, e->drops == 1 ? "" : "s",
		(double)(hvt_now_us() - e->start_us) / 1e6, mark);
	e->active = false;
}

/* An episode a restart interrupted continues (its spool.dropped events
 * must keep naming everything dropped in it). */
static void episode_restore(struct fwd_pipeline *p)
{
	uint64_t mark = 0;
	const char *v = carry_position(p->carry, DROP_EPISODE, &mark);
	struct drop_episode e = { 0 };

	if (!v || hvt_spool_acked(p->spool) >= mark ||
	    sscanf(v, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %lld", &e.lo, &e.hi, &e.count, &e.drops,
		   &e.start_us) != 5)
		return;
	e.active = true;
	p->ep = e;
	p->drop_episodes++;
	hvt_log(LOG_NOTICE, "full_policy = drop-oldest: an episode is still open from before the restart (seq "
		"%" PRIu64 "..%" PRIu64 ", %" PRIu64 " events dropped)", e.lo, e.hi, e.count);
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
	/* what the spool's records carry: positions, keys (carry.h) */
	p->carry = carry_new(o->key_window);
	p->replayed = carry_recover(p->carry, sp);
	save_state(p);
	episode_restore(p);
	if (carry_keys(p->carry) || p->replayed)
		hvt_log(LOG_INFO, "spool state: %zu idempotency keys in the window, %" PRIu64 " records replayed",
			carry_keys(p->carry), p->replayed);

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
	save_state(p);
	save_chain_head(p);
}

bool fwd_pipeline_chain_continued(const struct fwd_pipeline *p)
{
	return p->chain_continued;
}

void fwd_pipeline_counters(const struct fwd_pipeline *p, struct fwd_pipeline_counters *c)
{
	c->repeats = p->repeats;
	c->dropped = p->dropped;
	c->drop_episodes = p->drop_episodes;
	c->keys = carry_keys(p->carry);
	c->replayed = p->replayed;
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
		pending_free(q);
	}
	carry_free(p->carry);
	hvt_buf_free(&p->json);
	hvt_buf_free(&p->msg);
	hvt_buf_free(&p->meta);
	free(p->host);
	free(p->state_dir);
	free(p);
}
