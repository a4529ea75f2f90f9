/* test_qmp_normalise.c - the normaliser, replaying every recorded
 * transcript (exact sequence of event types) and driving the cases the
 * transcripts do not contain (resync, block graph, bounds) by hand. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_normalise.h"
#include "test_transcript.h"
#include "util.h"

/* ---- replays of the transcripts --------------------------------------------- */

/* mon: the monitor replayed; oracle: a monitor of the same VM whose replies
 * stand in for answers to our queries (see test_transcript.c). */
static const struct {
	const char *mon, *oracle, *types;
} replays[] = {
	{"migration-src-mon2.jsonl", "migration-src.jsonl",
	 "vm.started migration.started migration.completed vm.shutdown"},
	{"migration-dst-mon2.jsonl", "migration-dst.jsonl",
	 "vm.started migration.incoming.started migration.incoming.completed vm.shutdown"},
	{"migration-cancel-src-mon2.jsonl", "migration-cancel-src.jsonl",
	 "vm.started migration.started migration.cancelled"},
	/* the target QEMU exits when the incoming stream breaks */
	{"migration-cancel-dst-mon2.jsonl", "migration-cancel-dst.jsonl",
	 "vm.started migration.incoming.started migration.incoming.failed vm.vanished"},
	/* without the events capability the source shows only its final pause */
	{"migration-noevents-src-mon2.jsonl", "migration-noevents-src.jsonl",
	 "vm.started vm.paused"},
	{"migration-noevents-dst-mon2.jsonl", "migration-noevents-dst.jsonl",
	 "vm.started migration.incoming.started"},
	{"snapshot-internal-vm-mon2.jsonl", "snapshot-internal-vm.jsonl",
	 "vm.started snapshot.created snapshot.failed snapshot.loaded snapshot.deleted "
	 "snapshot.load_failed vm.resumed vm.shutdown"},
	/* external snapshots send no event (the block poll sees them, tested
	 * below); the commit does */
	{"snapshot-external-vm-mon2.jsonl", "snapshot-external-vm.jsonl",
	 "vm.started block.commit.completed vm.shutdown"},
	/* HMP savevm/loadvm: pauses only (the block poll sees the tags) */
	{"snapshot-savevm-vm-mon2.jsonl", "snapshot-savevm-vm.jsonl",
	 "vm.started vm.paused vm.resumed vm.paused vm.resumed vm.paused vm.resumed vm.paused "
	 "vm.resumed vm.shutdown"},
	{"colo-secondary-failover-primary-mon2.jsonl", "colo-secondary-failover-primary.jsonl",
	 "vm.started migration.started colo.entered vm.resumed colo.checkpoints vm.vanished"},
	{"colo-secondary-failover-secondary-mon2.jsonl", "colo-secondary-failover-secondary.jsonl",
	 "vm.started migration.incoming.started colo.entered colo.checkpoints colo.failover "
	 "qmp.block_export_deleted vm.shutdown"},
	{"colo-primary-failover-primary-mon2.jsonl", "colo-primary-failover-primary.jsonl",
	 "vm.started migration.started colo.entered vm.resumed colo.checkpoints colo.failover "
	 "vm.shutdown"},
	{"colo-primary-failover-secondary-mon2.jsonl", "colo-primary-failover-secondary.jsonl",
	 "vm.started migration.incoming.started colo.entered colo.checkpoints vm.vanished"},
	{"colo-lostbeat-on-sec-primary-mon2.jsonl", "colo-lostbeat-on-sec-primary.jsonl",
	 "vm.started migration.started colo.entered vm.resumed colo.checkpoints colo.failover "
	 "vm.shutdown"},
	/* the failover stopped the VM (STOP before COLO_EXIT) and the lab did
	 * not ask within the window: the RESUME 10 ms later completes it */
	{"colo-lostbeat-on-sec-secondary-mon2.jsonl", "colo-lostbeat-on-sec-secondary.jsonl",
	 "vm.started migration.incoming.started colo.entered colo.checkpoints colo.failover "
	 "vm.resumed vm.shutdown qmp.block_export_deleted"},
	/* the protocol probe: malformed input and id-less error bursts must
	 * not disturb the events */
	{"qmp-behaviour-vm.jsonl", "qmp-behaviour-vm.jsonl",
	 "vm.started vm.paused vm.resumed vm.reset vm.powerdown vm.reset vm.paused vm.resumed "
	 "vm.paused vm.resumed vm.paused vm.resumed vm.shutdown"},
	{"qmp-behaviour-mon3.jsonl", "qmp-behaviour-vm.jsonl",
	 "vm.started vm.paused vm.resumed vm.paused vm.resumed vm.shutdown"},
	{"qmp-behaviour-mon2a.jsonl", "qmp-behaviour-vm.jsonl", "vm.started vm.paused vm.resumed"},
	{"qmp-behaviour-mon2b.jsonl", "qmp-behaviour-vm.jsonl", "vm.started"},
	{"qmp-behaviour-mon2c.jsonl", NULL, ""}, /* greeted, never negotiated */
	{"qmp-behaviour-vmkill.jsonl", "qmp-behaviour-vmkill.jsonl", "vm.started vm.vanished"},
	{"qmp-behaviour-vmterm.jsonl", "qmp-behaviour-vmterm.jsonl", "vm.started vm.shutdown"},
};

START_TEST(test_replay)
{
	struct replay r;

	replay_run(&r, replays[_i].mon, replays[_i].oracle, 0.05, NULL);
	char *got = replay_types(&r);
	ck_assert_msg(strcmp(got, replays[_i].types) == 0, "%s:\n  got  %s\n  want %s",
		      replays[_i].mon, got, replays[_i].types);
	free(got);
	replay_free(&r);
}
END_TEST

/* Both monitors of a VM saw the same events, so both replays agree. */
START_TEST(test_mon1_agrees)
{
	const char *mon2 = replays[_i].mon;
	char *mon1 = hvt_strdup(mon2);
	char *p = strstr(mon1, "-mon2.jsonl");
	struct replay a, b;

	if (!p) {
		free(mon1);
		return;
	}
	strcpy(p, ".jsonl");
	replay_run(&a, mon2, mon1, 0.05, NULL);
	replay_run(&b, mon1, mon1, 0.05, NULL);
	char *ta = replay_types(&a), *tb = replay_types(&b);
	ck_assert_msg(strcmp(ta, tb) == 0, "%s: mon2 %s / mon1 %s", mon2, ta, tb);
	free(ta);
	free(tb);
	replay_free(&a);
	replay_free(&b);
	free(mon1);
}
END_TEST

/* Without any answer (QEMU never replies to our queries) every transcript
 * still yields well-formed events. */
START_TEST(test_replay_no_answers)
{
	char **files = qtr_list();

	for (char **f = files; *f; f++) {
		struct replay r;
		replay_run(&r, *f, NULL, 0, NULL);
		for (size_t i = 0; i < r.n; i++) {
			struct hvt_event *ev = r.ev[i];
			struct hvt_buf b = { 0 };
			ck_assert_msg(hvt_type_valid(ev->type), "%s: type %s", *f, ev->type);
			ck_assert_msg(ev->msg && *ev->msg, "%s: %s without msg", *f, ev->type);
			ck_assert_str_eq(ev->source, "qmp");
			ck_assert_ptr_nonnull(ev->vm_name);
			ck_assert_int_gt(ev->ts_us, 1700000000000000LL);
			hvt_event_to_json(ev, &b);
			ck_assert_uint_lt(b.len, 16384);
			hvt_buf_free(&b);
		}
		replay_free(&r);
	}
	qtr_list_free(files);
}
END_TEST

static json_object *data_of(struct hvt_event *ev, const char *key)
{
	json_object *v = NULL;

	ck_assert_ptr_nonnull(ev);
	ck_assert_msg(ev->data && json_object_object_get_ex(ev->data, key, &v),
		      "%s has no data.%s", ev->type, key);
	return v;
}

static long long data_int_of(struct hvt_event *ev, const char *key)
{
	return json_object_get_int64(data_of(ev, key));
}

static const char *data_str_of(struct hvt_event *ev, const char *key)
{
	return json_object_get_string(data_of(ev, key));
}

START_TEST(test_migration_figures)
{
	struct replay r;

	replay_run(&r, "migration-src-mon2.jsonl", "migration-src.jsonl", 0.05, NULL);
	struct hvt_event *ev = replay_find(&r, "migration.completed");
	ck_assert_int_eq(data_int_of(ev, "total_time_ms"), 1119);
	ck_assert_int_eq(data_int_of(ev, "downtime_ms"), 16);
	ck_assert_int_eq(data_int_of(ev, "setup_time_ms"), 6);
	ck_assert_int_eq(data_int_of(ev, "passes"), 7);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(data_of(ev, "ram"),
								      "transferred")), 181289452);
	ck_assert_str_eq(data_str_of(ev, "role"), "source");
	ck_assert_msg(strstr(ev->msg, "1.119 s total, 16 ms downtime, 7 passes"), "%s", ev->msg);
	ck_assert_int_eq(ev->ts_us, 1795384188181779LL);   /* QEMU's time of "completed" */
	json_object *q = data_of(ev, "qmp");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(q, "event")), "MIGRATION");
	replay_free(&r);

	replay_run(&r, "migration-dst-mon2.jsonl", "migration-dst.jsonl", 0.05, NULL);
	ev = replay_find(&r, "migration.incoming.completed");
	ck_assert(json_object_get_boolean(data_of(ev, "running")));
	ck_assert(fabs(json_object_get_double(data_of(ev, "duration_ms")) - 1126.98) < 0.01);
	replay_free(&r);

	/* QEMU gives no figures for a cancelled migration: its own timestamps
	 * give the duration, the pass events the passes */
	replay_run(&r, "migration-cancel-src-mon2.jsonl", "migration-cancel-src.jsonl", 0.05, NULL);
	ev = replay_find(&r, "migration.cancelled");
	ck_assert(json_object_get_double(data_of(ev, "duration_ms")) > 100);
	ck_assert_int_ge(data_int_of(ev, "passes"), 2);
	ck_assert(!json_object_object_get_ex(ev->data, "total_time_ms", NULL));
	replay_free(&r);
}
END_TEST

START_TEST(test_snapshot_jobs)
{
	struct replay r;

	replay_run(&r, "snapshot-internal-vm-mon2.jsonl", "snapshot-internal-vm.jsonl", 0.05, NULL);
	struct hvt_event *ev = replay_find(&r, "snapshot.created");
	ck_assert_str_eq(data_str_of(ev, "job_id"), "save0");
	ck_assert(fabs(json_object_get_double(data_of(ev, "vm_paused_ms")) - 42.591) < 0.001);
	ev = replay_find(&r, "snapshot.failed");
	ck_assert_int_eq(ev->severity, 4);
	ck_assert_str_eq(data_str_of(ev, "error"),
			 "Snapshot 'snap0' already exists in one or more devices");
	ev = replay_find(&r, "snapshot.load_failed");
	ck_assert(json_object_get_boolean(data_of(ev, "vm_left_paused")));
	ck_assert_str_eq(data_str_of(ev, "status"), "restore-vm");
	ck_assert_str_eq(data_str_of(ev, "error"),
			 "Snapshot 'nosuch' does not exist in one or more devices");
	/* ... so the cont that follows is news */
	ev = replay_find(&r, "vm.resumed");
	ck_assert_str_eq(data_str_of(ev, "from_status"), "restore-vm");
	replay_free(&r);
}
END_TEST

START_TEST(test_colo_failover)
{
	struct replay r;

	/* the lab queried the survivor seconds after COLO_EXIT: widen the window */
	replay_run(&r, "colo-secondary-failover-secondary-mon2.jsonl",
		   "colo-secondary-failover-secondary.jsonl", 4.0, NULL);
	struct hvt_event *ev = replay_find(&r, "colo.failover");
	ck_assert_int_eq(ev->severity, 2);
	ck_assert_str_eq(data_str_of(ev, "side"), "secondary");
	ck_assert_str_eq(data_str_of(ev, "reason"), "error");
	ck_assert(!json_object_get_boolean(data_of(ev, "reason_reliable")));
	ck_assert(json_object_get_boolean(data_of(ev, "vm_running")));
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
	ck_assert_msg(strstr(ev->msg, "the secondary took over"), "%s", ev->msg);
	ev = replay_find(&r, "colo.checkpoints");
	ck_assert_int_eq(data_int_of(ev, "count"), 4);
	ck_assert_str_eq(data_str_of(ev, "mode"), "secondary");
	replay_free(&r);

	/* heartbeat lost on one side only: both sides take over (split brain),
	 * each reporting a different reason */
	replay_run(&r, "colo-lostbeat-on-sec-primary-mon2.jsonl",
		   "colo-lostbeat-on-sec-primary.jsonl", 4.0, NULL);
	ev = replay_find(&r, "colo.failover");
	ck_assert_str_eq(data_str_of(ev, "side"), "primary");
	ck_assert_str_eq(data_str_of(ev, "reason"), "error");
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
	replay_free(&r);
	replay_run(&r, "colo-lostbeat-on-sec-secondary-mon2.jsonl",
		   "colo-lostbeat-on-sec-secondary.jsonl", 4.0, NULL);
	ev = replay_find(&r, "colo.failover");
	ck_assert_str_eq(data_str_of(ev, "side"), "secondary");
	ck_assert_str_eq(data_str_of(ev, "reason"), "request");
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
	replay_free(&r);
}
END_TEST

START_TEST(test_exits)
{
	struct replay r;

	replay_run(&r, "qmp-behaviour-vmkill.jsonl", "qmp-behaviour-vmkill.jsonl", 0.05, NULL);
	struct hvt_event *ev = replay_find(&r, "vm.vanished");
	ck_assert_int_eq(ev->severity, 4);
	ck_assert_str_eq(data_str_of(ev, "last_status"), "running");
	replay_free(&r);

	replay_run(&r, "qmp-behaviour-vmterm.jsonl", "qmp-behaviour-vmterm.jsonl", 0.05, NULL);
	ev = replay_find(&r, "vm.shutdown");
	ck_assert_str_eq(data_str_of(ev, "reason"), "host-signal");
	ck_assert_ptr_null(replay_find(&r, "vm.vanished"));
	replay_free(&r);

	/* a migration target that gave up exits without SHUTDOWN: expected */
	replay_run(&r, "migration-cancel-dst-mon2.jsonl", "migration-cancel-dst.jsonl", 0.05, NULL);
	ev = replay_find(&r, "vm.vanished");
	ck_assert_int_eq(ev->severity, 5);
	ck_assert_str_eq(data_str_of(ev, "migration_status"), "failed");
	replay_free(&r);
}
END_TEST

/* ---- driven by hand ----------------------------------------------------------- */

struct fake {
	struct hvt_event *ev[2048];
	size_t nev;
	struct { enum qmp_query q; unsigned tag; bool done; } asked[2048];
	size_t nasked;
	bool refuse;
};

static void f_emit(void *arg, struct hvt_event *ev)
{
	struct fake *f = arg;

	ck_assert_uint_lt(f->nev, HVT_ARRAY_SIZE(f->ev));
	f->ev[f->nev++] = ev;
}

static bool f_query(void *arg, enum qmp_query q, unsigned tag)
{
	struct fake *f = arg;

	if (f->refuse || f->nasked >= HVT_ARRAY_SIZE(f->asked))
		return false;
	f->asked[f->nasked].q = q;
	f->asked[f->nasked].tag = tag;
	f->asked[f->nasked].done = false;
	f->nasked++;
	return true;
}

static const struct qmp_norm_ops f_ops = { .emit = f_emit, .query = f_query };
static struct fake *F;
static struct qmp_vm *VM;
static long long NOW = 1795384000000000LL;

static void setup(void)
{
	struct qmp_norm_opts o;

	qmp_norm_opts_default(&o);
	o.colo_summary_us = 3000000;
	F = hvt_calloc(1, sizeof *F);
	VM = qmp_vm_new("vm1", &o, &f_ops, F);
}

static void teardown(void)
{
	qmp_vm_free(VM);
	for (size_t i = 0; i < F->nev; i++)
		hvt_event_free(F->ev[i]);
	free(F);
}

static void feed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void feed(const char *fmt, ...)
{
	char line[4096];
	struct qmp_msg m;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	NOW += 1000;
	qmp_parse_line(line, strlen(line), &m);
	ck_assert_int_eq(m.kind, QMP_MSG_EVENT);
	qmp_vm_message(VM, &m, NOW);
	qmp_msg_clear(&m);
}

static void event(const char *name, const char *data)
{
	long long t = NOW + 1000;

	feed("{\"timestamp\": {\"seconds\": %lld, \"microseconds\": %lld}, \"event\": \"%s\"%s%s}",
	     t / 1000000, t % 1000000, name, data ? ", \"data\": " : "", data ? data : "");
}

/* Answer the oldest open question of kind q (json NULL: fail it). */
static bool answer(enum qmp_query q, const char *json)
{
	for (size_t i = 0; i < F->nasked; i++) {
		if (F->asked[i].done || F->asked[i].q != q)
			continue;
		F->asked[i].done = true;
		json_object *o = json ? json_tokener_parse(json) : NULL;
		ck_assert(!json || o);
		qmp_vm_reply(VM, q, F->asked[i].tag, o, json ? NULL : "timeout", NOW);
		if (o)
			json_object_put(o);
		return true;
	}
	return false;
}

static void answer_all(enum qmp_query q, const char *json)
{
	while (answer(q, json))
		;
}

static char *types(void)
{
	struct hvt_buf b = { 0 };

	for (size_t i = 0; i < F->nev; i++) {
		if (i)
			hvt_buf_append(&b, " ", 1);
		hvt_buf_append_str(&b, F->ev[i]->type);
		if (F->ev[i]->flags & HVT_EV_LATE)
			hvt_buf_append_str(&b, "(late)");
	}
	char *s = hvt_strdup(b.len ? hvt_buf_cstr(&b) : "");
	hvt_buf_free(&b);
	return s;
}

#define assert_types(want) do { \
	char *got_ = types(); \
	ck_assert_msg(strcmp(got_, want) == 0, "got  %s\nwant %s", got_, want); \
	free(got_); \
} while (0)

static struct hvt_event *find(const char *type)
{
	for (size_t i = 0; i < F->nev; i++)
		if (strcmp(F->ev[i]->type, type) == 0)
			return F->ev[i];
	ck_abort_msg("no %s event", type);
	return NULL;
}

static void contact(bool new_instance, long long since)
{
	struct qmp_contact c = {
		.name = "web1", .uuid = "5a7e0f9c-8a3b-4a53-9a3e-0d0f2b9d1c11",
		.qemu_version = "7.2.22", .socket = "/run/hvtrail/qmp/web1.sock",
		.new_instance = new_instance, .instance_since_us = since, .now_us = NOW,
	};
	qmp_vm_contact(VM, &c);
}

#define RUNNING "{\"status\": \"running\", \"running\": true}"
#define PAUSED "{\"status\": \"paused\", \"running\": false}"
#define NO_MIG "{}"

static void contact_running(void)
{
	contact(true, NOW);
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_MIGRATE, NO_MIG);
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
}

START_TEST(test_started_identity)
{
	contact(true, NOW - 3600 * 1000000LL);   /* QEMU started an hour before we looked */
	assert_types("");   /* waits for the run state */
	answer(QMP_Q_STATUS, PAUSED);
	answer(QMP_Q_MIGRATE, NO_MIG);
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
	assert_types("vm.started(late)");
	struct hvt_event *ev = F->ev[0];
	ck_assert_str_eq(ev->vm_name, "web1");
	ck_assert_str_eq(ev->vm_uuid, "5a7e0f9c-8a3b-4a53-9a3e-0d0f2b9d1c11");
	ck_assert_int_eq(ev->ts_us, NOW - 3600 * 1000000LL);
	ck_assert_str_eq(data_str_of(ev, "status"), "paused");
	/* paused at first sight: the RESUME is news */
	event("RESUME", NULL);
	assert_types("vm.started(late) vm.resumed");
}
END_TEST

/* An event that waits for figures holds back the ones after it. */
START_TEST(test_order_kept)
{
	contact_running();
	event("MIGRATION", "{\"status\": \"setup\"}");
	answer(QMP_Q_STATUS, RUNNING);
	event("MIGRATION_PASS", "{\"pass\": 1}");
	event("MIGRATION", "{\"status\": \"active\"}");
	event("STOP", NULL);
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
	assert_types("vm.started migration.started");
	answer(QMP_Q_MIGRATE, "{\"status\": \"completed\", \"total-time\": 900, \"downtime\": 12}");
	assert_types("vm.started migration.started migration.completed vm.shutdown");
	ck_assert_int_eq(data_int_of(find("migration.completed"), "downtime_ms"), 12);
	ck_assert_int_eq(data_int_of(find("migration.completed"), "passes"), 1);
	/* SHUTDOWN before EOF: a clean exit, nothing vanished */
	ck_assert(!qmp_vm_lost(VM, true, NOW));
	assert_types("vm.started migration.started migration.completed vm.shutdown");
}
END_TEST

/* savevm runs QEMU's migration code: with the events capability on (the
 * forwarder turns it on) a snapshot-save job and HMP savevm each send
 * MIGRATION setup -> completed.  That is a snapshot, not a migration. */
START_TEST(test_savevm_is_no_migration)
{
	contact_running();
	event("JOB_STATUS_CHANGE", "{\"status\": \"created\", \"id\": \"s0\"}");
	answer(QMP_Q_JOBS, "[{\"id\": \"s0\", \"type\": \"snapshot-save\", \"status\": \"running\"}]");
	event("JOB_STATUS_CHANGE", "{\"status\": \"running\", \"id\": \"s0\"}");
	event("STOP", NULL);
	event("MIGRATION", "{\"status\": \"setup\"}");
	event("MIGRATION_PASS", "{\"pass\": 1}");
	event("MIGRATION_PASS", "{\"pass\": 2}");
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("RESUME", NULL);
	event("JOB_STATUS_CHANGE", "{\"status\": \"waiting\", \"id\": \"s0\"}");
	event("JOB_STATUS_CHANGE", "{\"status\": \"pending\", \"id\": \"s0\"}");
	event("JOB_STATUS_CHANGE", "{\"status\": \"concluded\", \"id\": \"s0\"}");
	answer_all(QMP_Q_STATUS, RUNNING);
	answer_all(QMP_Q_JOBS, "[{\"id\": \"s0\", \"type\": \"snapshot-save\", \"status\": \"concluded\"}]");
	answer_all(QMP_Q_BLOCK, "[]");
	assert_types("vm.started snapshot.created");
	ck_assert(json_object_get_double(data_of(find("snapshot.created"), "vm_paused_ms")) > 0);
	/* HMP savevm: no job says why the VM paused, so the pause is reported;
	 * the snapshot itself is found by the block poll */
	event("STOP", NULL);
	event("MIGRATION", "{\"status\": \"setup\"}");
	event("MIGRATION_PASS", "{\"pass\": 1}");
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("RESUME", NULL);
	answer_all(QMP_Q_STATUS, RUNNING);
	assert_types("vm.started snapshot.created vm.paused vm.resumed");
	/* ... and a reconnect does not take its query-migrate for a migration */
	qmp_vm_lost(VM, false, NOW);
	contact(false, NOW);
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_MIGRATE, "{\"status\": \"completed\", \"total-time\": 0, \"downtime\": 0, "
	       "\"setup-time\": 0, \"ram\": {\"transferred\": 545915}}");
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
	assert_types("vm.started snapshot.created vm.paused vm.resumed");
	/* a real migration goes through "active" and still is one */
	event("MIGRATION", "{\"status\": \"setup\"}");
	assert_types("vm.started snapshot.created vm.paused vm.resumed");   /* held */
	event("MIGRATION", "{\"status\": \"active\"}");
	answer_all(QMP_Q_STATUS, RUNNING);
	event("STOP", NULL);
	event("MIGRATION", "{\"status\": \"completed\"}");
	answer(QMP_Q_MIGRATE, "{\"status\": \"completed\", \"total-time\": 300, \"downtime\": 9}");
	assert_types("vm.started snapshot.created vm.paused vm.resumed migration.started "
		     "migration.completed");
	ck_assert_uint_eq(qmp_vm_pending(VM), 0);
}
END_TEST

/* A timed-out query releases the event without its figures. */
START_TEST(test_query_timeout)
{
	contact_running();
	event("MIGRATION", "{\"status\": \"setup\"}");
	answer(QMP_Q_STATUS, NULL);
	event("MIGRATION", "{\"status\": \"failed\"}");
	answer(QMP_Q_MIGRATE, NULL);
	assert_types("vm.started migration.started migration.failed");
	struct hvt_event *ev = find("migration.failed");
	ck_assert_int_eq(ev->severity, 4);
	ck_assert_str_eq(data_str_of(ev, "figures_error"), "timeout");
	ck_assert_uint_eq(qmp_vm_pending(VM), 0);
}
END_TEST

/* A query that cannot be sent is not waited for. */
START_TEST(test_query_refused)
{
	F->refuse = true;
	contact(true, NOW);
	event("STOP", NULL);
	assert_types("vm.started vm.paused");
}
END_TEST

START_TEST(test_vanished)
{
	contact_running();
	event("STOP", NULL);
	answer(QMP_Q_STATUS, PAUSED);
	ck_assert(qmp_vm_lost(VM, true, NOW));
	assert_types("vm.started vm.paused vm.vanished");
	struct hvt_event *ev = find("vm.vanished");
	ck_assert_int_eq(ev->severity, 4);
	ck_assert_str_eq(ev->vm_name, "web1");
	/* a new QEMU on the same socket is a new start */
	contact(true, NOW);
	answer_all(QMP_Q_STATUS, RUNNING);
	answer_all(QMP_Q_MIGRATE, NO_MIG);
	answer_all(QMP_Q_JOBS, "[]");
	answer_all(QMP_Q_BLOCK, "[]");
	assert_types("vm.started vm.paused vm.vanished vm.started");
}
END_TEST

/* Reconnect to the same QEMU: what happened meanwhile is reported late. */
START_TEST(test_resync)
{
	contact_running();
	ck_assert(!qmp_vm_lost(VM, false, NOW));   /* we dropped it (timeout) */
	contact(false, NOW);
	answer(QMP_Q_STATUS, PAUSED);
	answer(QMP_Q_MIGRATE, "{\"status\": \"completed\", \"total-time\": 1500, \"downtime\": 30, "
	       "\"setup-time\": 5, \"ram\": {\"transferred\": 1048576, \"dirty-sync-count\": 4}}");
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
	assert_types(
		"vm.started vm.paused(late) migration.started(late) migration.completed(late)");
	struct hvt_event *ev = find("migration.completed");
	ck_assert_int_eq(data_int_of(ev, "total_time_ms"), 1500);
	ck_assert_int_eq(data_int_of(ev, "passes"), 4);
	ck_assert_str_eq(data_str_of(ev, "observed"), "resync");
	/* the same final state again is not news */
	qmp_vm_lost(VM, false, NOW);
	contact(false, NOW);
	answer(QMP_Q_STATUS, PAUSED);
	answer(QMP_Q_MIGRATE, "{\"status\": \"completed\", \"total-time\": 1500, \"downtime\": 30, "
	       "\"setup-time\": 5, \"ram\": {\"transferred\": 1048576, \"dirty-sync-count\": 4}}");
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
	assert_types(
		"vm.started vm.paused(late) migration.started(late) migration.completed(late)");
	/* resumed meanwhile, migration under way, a job concluded */
	qmp_vm_lost(VM, false, NOW);
	contact(false, NOW);
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_MIGRATE, "{\"status\": \"active\", \"total-time\": 200}");
	answer(QMP_Q_JOBS,
	       "[{\"id\": \"s9\", \"type\": \"snapshot-save\", \"status\": \"concluded\", "
	       "\"error\": \"No space left on device\"}]");
	answer(QMP_Q_BLOCK, "[]");
	assert_types("vm.started vm.paused(late) migration.started(late) migration.completed(late) "
		     "vm.resumed(late) migration.started(late) snapshot.failed(late)");
	ck_assert_str_eq(data_str_of(F->ev[6], "error"), "No space left on device");
}
END_TEST


/* A migration under way when we first connect: started is reported late
 * so that its completion has a beginning; an old one is history. */
START_TEST(test_first_contact_migration)
{
	contact(true, NOW);
	answer(QMP_Q_STATUS, "{\"status\": \"inmigrate\", \"running\": false}");
	answer(QMP_Q_MIGRATE, "{\"status\": \"active\"}");
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
	assert_types("vm.started migration.incoming.started(late)");
	event("RESUME", NULL);   /* folded into the incoming migration */
	event("MIGRATION", "{\"status\": \"completed\"}");
	assert_types("vm.started migration.incoming.started(late) migration.incoming.completed");
}
END_TEST

#define INMIGRATE "{\"status\": \"inmigrate\", \"running\": false}"

/* First contact with a QEMU waiting for an incoming migration. */
static void contact_inmigrate(void)
{
	contact(true, NOW);
	answer(QMP_Q_STATUS, INMIGRATE);
	answer(QMP_Q_MIGRATE, NO_MIG);
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
}

/* QEMU answers query-status when it reads it: for a COLO secondary, whose
 * incoming migration goes on into COLO some 50 ms after its first event, a
 * busy forwarder's question about that first event is answered after the
 * fact ("running").  The VM was in "inmigrate" when the migration started:
 * it is the target (found by replaying the recorded COLO pair into a real
 * forwarder, tests/e2e-colo-secondary-replay.test). */
START_TEST(test_incoming_start_answered_late)
{
	contact_inmigrate();
	event("MIGRATION", "{\"status\": \"active\"}");
	event("MIGRATION", "{\"status\": \"colo\"}");
	event("RESUME", NULL);
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_COLO, "{\"mode\": \"secondary\", \"last-mode\": \"none\", \"reason\": \"none\"}");
	assert_types("vm.started migration.incoming.started colo.entered");
	ck_assert_str_eq(data_str_of(find("migration.incoming.started"), "role"), "incoming");
	ck_assert_str_eq(data_str_of(find("colo.entered"), "mode"), "secondary");
}
END_TEST

/* ... and "inmigrate" ends with the incoming migration: the same VM's next
 * migration, out of it, is a source's even when nothing said which state
 * it went to (no RESUME: it stayed paused). */
START_TEST(test_outgoing_after_incoming)
{
	contact_inmigrate();
	event("MIGRATION", "{\"status\": \"setup\"}");
	answer(QMP_Q_STATUS, INMIGRATE);
	event("MIGRATION", "{\"status\": \"active\"}");
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("MIGRATION", "{\"status\": \"setup\"}");
	ck_assert(answer(QMP_Q_STATUS, NULL));   /* the question about the second one fails */
	event("MIGRATION", "{\"status\": \"active\"}");
	event("STOP", NULL);
	event("MIGRATION", "{\"status\": \"completed\"}");
	answer_all(QMP_Q_MIGRATE, "{\"status\": \"completed\", \"total-time\": 900, \"downtime\": 12}");
	assert_types("vm.started migration.incoming.started migration.incoming.completed "
		     "migration.started migration.completed");
}
END_TEST

static const char *block_answer(const char *top, const char *mid, const char *base,
				const char *snaps)
{
	static char buf[2048];

	if (mid)
		snprintf(buf, sizeof buf,
			 "[{\"device\": \"\", \"qdev\": \"/machine/peripheral/vda/"
			 "virtio-backend\", \"inserted\": {\"node-name\": \"%s\", \"image\": "
			 "{\"filename\": \"/img/%s.qcow2\", %s \"backing-image\": {\"filename\": "
			 "\"/img/%s.qcow2\", \"backing-image\": {\"filename\": "
			 "\"/img/%s.qcow2\"}}}}}]",
			 top, top, snaps ? snaps : "", mid, base);
	else
		snprintf(buf, sizeof buf, "[{\"device\": \"\", \"qdev\": \"/machine/peripheral/vda/"
			 "virtio-backend\", \"inserted\": {\"node-name\": \"%s\", \"image\": "
			 "{%s \"filename\": \"/img/%s.qcow2\"}}}, {\"device\": \"cd0\", "
			 "\"removable\": true}]", top, snaps ? snaps : "", top);
	return buf;
}

/* blockdev-snapshot-sync and the libvirt way emit nothing: the poll sees
 * the new overlays; a commit explained by its job event stays quiet, an
 * unexplained chain change does not. */
START_TEST(test_block_external)
{
	contact_running();
	answer(QMP_Q_BLOCK, NULL);
	F->nasked = 0;
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, NULL));   /* baseline */
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("overlay2", "overlay1", "disk0", NULL));
	assert_types("vm.started snapshot.external.created snapshot.external.created");
	ck_assert_str_eq(data_str_of(F->ev[1], "overlay"), "/img/overlay1.qcow2");
	ck_assert_str_eq(data_str_of(F->ev[1], "backing"), "/img/disk0.qcow2");
	ck_assert_str_eq(data_str_of(F->ev[2], "overlay"), "/img/overlay2.qcow2");
	ck_assert_str_eq(data_str_of(F->ev[2], "node"), "overlay2");
	ck_assert_str_eq(data_str_of(F->ev[2], "device"), "/machine/peripheral/vda/virtio-backend");
	/* block-commit back into disk0: announced by its job, chain change quiet */
	event("BLOCK_JOB_COMPLETED", "{\"device\": \"commit0\", \"len\": 0, \"offset\": 0, "
	      "\"speed\": 0, \"type\": \"commit\"}");
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, NULL));
	assert_types("vm.started snapshot.external.created snapshot.external.created "
		     "block.commit.completed");
	/* nobody said why the disk changed */
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("other", NULL, NULL, NULL));
	assert_types("vm.started snapshot.external.created snapshot.external.created "
		     "block.commit.completed block.chain.changed");
}
END_TEST

/* A disk under block replication, named by its options as QEMU does. */
#define REPL_ANSWER(extra) \
	"[{\"device\": \"\", \"qdev\": \"/machine/peripheral/vda/virtio-backend\", " \
	"\"inserted\": {\"node-name\": \"childs0\", \"image\": {\"filename\": " \
	"\"json:{\\\"driver\\\": \\\"replication\\\", \\\"mode\\\": \\\"secondary\\\"" extra "}\"}}}]"

/* COLO's block replication rearranges the disks while COLO runs and at its
 * end: none of that is a snapshot or a chain change of anyone's doing. */
START_TEST(test_block_colo_quiet)
{
	contact_running();
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, NULL));
	event("MIGRATION", "{\"status\": \"setup\"}");
	event("MIGRATION", "{\"status\": \"active\"}");
	answer_all(QMP_Q_STATUS, RUNNING);
	event("MIGRATION", "{\"status\": \"colo\"}");
	answer(QMP_Q_COLO, "{\"mode\": \"secondary\", \"last-mode\": \"none\", \"reason\": \"none\"}");
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("cbw", "disk0", "disk0", NULL));
	event("COLO_EXIT", "{\"mode\": \"secondary\", \"reason\": \"error\"}");
	answer_all(QMP_Q_STATUS, RUNNING);
	answer_all(QMP_Q_COLO, "{\"mode\": \"secondary\", \"last-mode\": \"none\", \"reason\": \"none\"}");
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("other", NULL, NULL, NULL));
	event("MIGRATION", "{\"status\": \"completed\"}");
	answer(QMP_Q_BLOCK, REPL_ANSWER("\\\"file\\\": {\\\"backing\\\": {}}"));   /* the new baseline */
	/* replication finishes its own commit after COLO ended, silently */
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, REPL_ANSWER(""));
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, NULL));
	assert_types("vm.started migration.started colo.entered colo.failover");
	/* after COLO the block graph is watched as before */
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("ov1", "disk0", "base", NULL));
	assert_types("vm.started migration.started colo.entered colo.failover block.chain.changed");
}
END_TEST

#define SNAPS(x) "\"snapshots\": [" x "],"
#define SNAP(name, size) "{\"id\": \"1\", \"name\": \"" name "\", \"vm-state-size\": " #size "}"

/* HMP savevm/delvm emit no event: the tags in the block graph do. */
START_TEST(test_block_internal)
{
	contact_running();
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, SNAPS(SNAP("a", 0))));
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK,
	       block_answer("disk0", NULL, NULL, SNAPS(SNAP("a", 0) "," SNAP("hmp0", 34500000))));
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, SNAPS(SNAP("hmp0", 34500000))));
	assert_types("vm.started snapshot.created snapshot.deleted");
	ck_assert_str_eq(data_str_of(F->ev[1], "tag"), "hmp0");
	ck_assert_int_eq(data_int_of(F->ev[1], "vm_state_size"), 34500000);
	ck_assert_str_eq(data_str_of(F->ev[1], "detected_by"), "block-poll");
	ck_assert_str_eq(data_str_of(F->ev[2], "tag"), "a");
}
END_TEST

/* A snapshot-save job learns its tag from the block graph; a poll while
 * the job runs leaves the tag to the job. */
START_TEST(test_snapshot_job_tag)
{
	contact_running();
	answer(QMP_Q_BLOCK, NULL);
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, NULL));
	event("JOB_STATUS_CHANGE", "{\"status\": \"created\", \"id\": \"save0\"}");
	answer(QMP_Q_JOBS,
	       "[{\"id\": \"save0\", \"type\": \"snapshot-save\", \"status\": \"created\"}]");
	event("JOB_STATUS_CHANGE", "{\"status\": \"running\", \"id\": \"save0\"}");
	event("STOP", NULL);
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, SNAPS(SNAP("nightly", 4096))));
	event("RESUME", NULL);
	event("JOB_STATUS_CHANGE", "{\"status\": \"concluded\", \"id\": \"save0\"}");
	event("JOB_STATUS_CHANGE", "{\"status\": \"null\", \"id\": \"save0\"}");
	answer(QMP_Q_JOBS, "[]");   /* dismissed before we asked: no error, no aborting: ok */
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, SNAPS(SNAP("nightly", 4096))));
	assert_types("vm.started snapshot.created");
	ck_assert_str_eq(data_str_of(F->ev[1], "tag"), "nightly");
	ck_assert_int_eq(data_int_of(F->ev[1], "vm_state_size"), 4096);
	ck_assert_msg(strstr(F->ev[1]->msg, "snapshot 'nightly' created"), "%s", F->ev[1]->msg);
}
END_TEST

/* A poll asked while the job ran but answered after it concluded (a busy
 * machine) already shows the new tag: it is still the job's, so the trail
 * has one snapshot.created, the job's, not a second one "seen in the block
 * graph" (seen once in make distcheck under load). */
START_TEST(test_snapshot_job_tag_late_poll)
{
	contact_running();
	answer(QMP_Q_BLOCK, NULL);
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, NULL));
	event("JOB_STATUS_CHANGE", "{\"status\": \"created\", \"id\": \"save0\"}");
	answer(QMP_Q_JOBS,
	       "[{\"id\": \"save0\", \"type\": \"snapshot-save\", \"status\": \"created\"}]");
	event("JOB_STATUS_CHANGE", "{\"status\": \"running\", \"id\": \"save0\"}");
	qmp_vm_poll(VM, NOW);            /* asked while the job runs ... */
	event("JOB_STATUS_CHANGE", "{\"status\": \"concluded\", \"id\": \"save0\"}");
	/* ... answered only now, after the job's own questions were asked */
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, SNAPS(SNAP("nightly", 4096))));
	event("JOB_STATUS_CHANGE", "{\"status\": \"null\", \"id\": \"save0\"}");
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, SNAPS(SNAP("nightly", 4096))));
	assert_types("vm.started snapshot.created");
	ck_assert_str_eq(data_str_of(F->ev[1], "tag"), "nightly");
	/* and a later HMP savevm is seen in the graph again */
	qmp_vm_poll(VM, NOW);
	answer(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL,
					 SNAPS(SNAP("nightly", 4096) "," SNAP("hmp1", 10))));
	assert_types("vm.started snapshot.created snapshot.created");
	ck_assert_str_eq(data_str_of(F->ev[2], "detected_by"), "block-poll");
}
END_TEST

/* Checkpoints every second for 10 s with a 3 s summary interval. */
START_TEST(test_colo_summary)
{
	contact_running();
	event("MIGRATION", "{\"status\": \"setup\"}");
	answer(QMP_Q_STATUS, RUNNING);
	event("MIGRATION", "{\"status\": \"colo\"}");
	answer(QMP_Q_COLO,
	       "{\"mode\": \"primary\", \"last-mode\": \"none\", \"reason\": \"none\"}");
	for (int i = 0; i < 10; i++) {
		NOW += 1000000;
		event("STOP", NULL);
		event("MIGRATION_PASS", "{\"pass\": 2}");
		NOW += 50000;
		event("RESUME", NULL);
	}
	event("STOP", NULL);   /* the peer died mid-checkpoint */
	event("COLO_EXIT", "{\"mode\": \"primary\", \"reason\": \"error\"}");
	answer(QMP_Q_STATUS, PAUSED);
	answer(QMP_Q_COLO,
	       "{\"mode\": \"primary\", \"last-mode\": \"none\", \"reason\": \"none\"}");
	/* a summary after every 3 s of checkpoints, the rest just before the failover */
	assert_types("vm.started migration.started colo.entered colo.checkpoints colo.checkpoints "
		     "colo.checkpoints colo.checkpoints colo.failover");
	unsigned long long total = 0;
	for (size_t i = 0; i < F->nev; i++)
		if (strcmp(F->ev[i]->type, "colo.checkpoints") == 0)
			total += (unsigned long long)data_int_of(F->ev[i], "count");
	ck_assert_uint_eq(total, 10);
	struct hvt_event *ev = find("colo.failover");
	ck_assert(!json_object_get_boolean(data_of(ev, "service_here")));
	ck_assert_msg(strstr(ev->msg, "left paused"), "%s", ev->msg);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(data_of(ev, "colo_status"),
								       "mode")), "primary");
	/* left paused: resuming it later is reported, and says who serves now */
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("RESUME", NULL);
	assert_types("vm.started migration.started colo.entered colo.checkpoints colo.checkpoints "
		     "colo.checkpoints colo.checkpoints colo.failover vm.resumed");
	ev = find("vm.resumed");
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
	ck_assert_str_eq(data_str_of(ev, "after"), "colo.failover");
	/* ... once: the next pause and resume are plain */
	event("STOP", NULL);
	answer(QMP_Q_STATUS, PAUSED);
	event("RESUME", NULL);
	ck_assert_ptr_null(json_object_object_get(F->ev[F->nev - 1]->data, "after"));
}
END_TEST

/* query-status fails at the failover (QEMU busy failing over, or a
 * timeout): the trail still says who runs the service, by the events.  A
 * failover that found the VM stopped reports the RESUME that completes it,
 * also when that RESUME was read before the question failed (found by
 * replaying a recorded request failover, tests/e2e-colo-request-replay.test,
 * where the lab never asked in the 10 ms the secondary was stopped). */
START_TEST(test_colo_failover_unanswered)
{
	contact_inmigrate();
	event("MIGRATION", "{\"status\": \"active\"}");
	answer(QMP_Q_STATUS, INMIGRATE);
	event("MIGRATION", "{\"status\": \"colo\"}");
	answer(QMP_Q_COLO, NULL);
	event("RESUME", NULL);
	event("STOP", NULL);
	event("RESUME", NULL);
	/* x-colo-lost-heartbeat on the secondary: STOP, completed, exit, RESUME */
	event("STOP", NULL);
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("COLO_EXIT", "{\"mode\": \"secondary\", \"reason\": \"request\"}");
	event("RESUME", NULL);
	answer_all(QMP_Q_STATUS, NULL);
	answer_all(QMP_Q_COLO, NULL);
	assert_types("vm.started migration.incoming.started colo.entered colo.checkpoints "
		     "colo.failover vm.resumed");
	struct hvt_event *ev = find("colo.failover");
	ck_assert(!json_object_get_boolean(data_of(ev, "service_here")));
	ck_assert_str_eq(data_str_of(ev, "run_state_from"), "events");
	ck_assert_msg(strstr(ev->msg, "stopped when COLO ended"), "%s", ev->msg);
	ev = find("vm.resumed");
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
	ck_assert_str_eq(data_str_of(ev, "after"), "colo.failover");
}
END_TEST

/* A running VM that became a COLO primary (its mode unanswered). */
static void colo_primary(void)
{
	contact_running();
	event("MIGRATION", "{\"status\": \"setup\"}");
	answer(QMP_Q_STATUS, RUNNING);
	event("MIGRATION", "{\"status\": \"colo\"}");
	answer(QMP_Q_COLO, NULL);
}

/* The same with the VM running when COLO ended (the peer died between
 * checkpoints): it serves at once, by its events. */
START_TEST(test_colo_failover_unanswered_running)
{
	colo_primary();
	event("STOP", NULL);
	event("RESUME", NULL);
	event("COLO_EXIT", "{\"mode\": \"primary\", \"reason\": \"error\"}");
	answer_all(QMP_Q_STATUS, NULL);
	answer_all(QMP_Q_COLO, NULL);
	struct hvt_event *ev = find("colo.failover");
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
	ck_assert_str_eq(data_str_of(ev, "run_state_from"), "events");
	event("STOP", NULL);
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("RESUME", NULL);
	assert_types("vm.started migration.started colo.entered colo.checkpoints colo.failover");
}
END_TEST

/* Stopped when COLO ended, running when QEMU answered (it read the question
 * after the RESUME): the failover says it runs, and nothing more. */
START_TEST(test_colo_failover_answered_running)
{
	colo_primary();
	event("STOP", NULL);
	event("COLO_EXIT", "{\"mode\": \"primary\", \"reason\": \"error\"}");
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_COLO, NULL);
	event("MIGRATION", "{\"status\": \"completed\"}");
	event("RESUME", NULL);
	assert_types("vm.started migration.started colo.entered colo.failover");
	struct hvt_event *ev = find("colo.failover");
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
	ck_assert_ptr_null(json_object_object_get(ev->data, "run_state_from"));
}
END_TEST

/* Unmapped events share a budget; what is dropped is counted. */
START_TEST(test_unmapped_budget)
{
	contact_running();
	for (int i = 0; i < 50; i++)
		event("RTC_CHANGE", "{\"offset\": 1}");
	size_t n = F->nev;
	ck_assert_uint_eq(n, 1 + 20);
	ck_assert_str_eq(F->ev[1]->type, "qmp.rtc_change");
	NOW += 11 * 1000000LL;
	event("RTC_CHANGE", "{\"offset\": 1}");
	ck_assert_int_eq(data_int_of(F->ev[n], "dropped_before"), 30);
}
END_TEST

/* The queue is bounded: with QEMU never answering, events still flow. */
START_TEST(test_queue_bound)
{
	contact_running();
	for (int i = 0; i < 1000; i++) {
		event("STOP", NULL);
		event("RESUME", NULL);
	}
	ck_assert_uint_le(qmp_vm_pending(VM), 257);
	ck_assert_uint_ge(F->nev, 1000);
	qmp_vm_lost(VM, false, NOW);
	ck_assert_uint_eq(qmp_vm_pending(VM), 0);
	ck_assert_uint_eq(F->nev, 2001);
}
END_TEST

/* COLO ended while we were away: the failover is reported late. */
START_TEST(test_resync_colo)
{
	contact_running();
	event("MIGRATION", "{\"status\": \"active\"}");
	answer(QMP_Q_STATUS, "{\"status\": \"inmigrate\", \"running\": false}");
	event("MIGRATION", "{\"status\": \"colo\"}");
	answer(QMP_Q_COLO, NULL);
	event("RESUME", NULL);
	event("STOP", NULL);
	event("RESUME", NULL);
	qmp_vm_lost(VM, false, NOW);
	contact(false, NOW);
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_MIGRATE, "{\"status\": \"completed\"}");
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
	assert_types("vm.started migration.incoming.started colo.entered colo.checkpoints "
		     "colo.failover(late)");
	struct hvt_event *ev = find("colo.failover");
	ck_assert_str_eq(data_str_of(ev, "side"), "secondary");
	ck_assert(json_object_get_boolean(data_of(ev, "service_here")));
}
END_TEST

/* More jobs than the table holds: the extra one is still reported. */
START_TEST(test_job_table_full)
{
	char data[128];

	contact_running();
	for (int i = 0; i < 33; i++) {
		snprintf(data, sizeof data, "{\"status\": \"created\", \"id\": \"j%d\"}", i);
		event("JOB_STATUS_CHANGE", data);
	}
	answer_all(QMP_Q_JOBS, "[]");
	event("JOB_STATUS_CHANGE", "{\"status\": \"aborting\", \"id\": \"j32\"}");
	event("JOB_STATUS_CHANGE", "{\"status\": \"concluded\", \"id\": \"j32\"}");
	answer_all(QMP_Q_JOBS, "[{\"id\": \"j32\", \"type\": \"snapshot-delete\", \"status\": "
		   "\"concluded\", \"error\": \"Snapshot 'x' not found\"}]");
	answer_all(QMP_Q_STATUS, RUNNING);
	answer_all(QMP_Q_BLOCK, NULL);
	assert_types("vm.started snapshot.delete_failed");
	ck_assert_str_eq(data_str_of(F->ev[1], "error"), "Snapshot 'x' not found");
}
END_TEST

/* The forwarder restarts: a fresh normaliser with the saved state meets the
 * same QEMU process as a reconnect and reports only what changed. */
static void restart(int new_instance)
{
	ck_assert_uint_eq(qmp_vm_pending(VM), 0);
	json_object *saved = qmp_vm_save(VM);
	ck_assert_ptr_nonnull(saved);
	/* through text, as the file holds it */
	json_object *back = json_tokener_parse(json_object_to_json_string(saved));
	json_object_put(saved);
	qmp_vm_free(VM);
	VM = qmp_vm_new("web1-sock", NULL, &f_ops, F);
	ck_assert(qmp_vm_restore(VM, back));
	ck_assert(qmp_vm_restored(VM));
	json_object_put(back);
	if (new_instance < 2)
		contact(new_instance == 1, NOW);
}

START_TEST(test_restart_resync)
{
	contact_running();
	answer_all(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, SNAPS(SNAP("s1", 0))));
	event("JOB_STATUS_CHANGE", "{\"status\": \"created\", \"id\": \"old\"}");
	answer(QMP_Q_JOBS, "[{\"id\": \"old\", \"type\": \"snapshot-delete\", \"status\": \"running\"}]");
	event("JOB_STATUS_CHANGE", "{\"status\": \"concluded\", \"id\": \"old\"}");
	answer_all(QMP_Q_JOBS, "[{\"id\": \"old\", \"type\": \"snapshot-delete\", \"status\": \"concluded\"}]");
	answer_all(QMP_Q_BLOCK, block_answer("disk0", NULL, NULL, NULL));
	assert_types("vm.started snapshot.deleted");
	/* the forwarder is stopped; meanwhile the VM is paused, two overlays
	 * are put on its disk, a snapshot job concludes (the old one is still
	 * listed: not news), and the forwarder starts again */
	restart(false);
	answer(QMP_Q_STATUS, PAUSED);
	answer(QMP_Q_MIGRATE, NO_MIG);
	answer(QMP_Q_JOBS, "[{\"id\": \"old\", \"type\": \"snapshot-delete\", \"status\": \"concluded\"}, "
	       "{\"id\": \"new\", \"type\": \"snapshot-save\", \"status\": \"concluded\"}]");
	answer(QMP_Q_BLOCK, block_answer("ov2", "ov1", "disk0", NULL));
	assert_types("vm.started snapshot.deleted vm.paused(late) snapshot.created(late) "
		     "snapshot.external.created(late) snapshot.external.created(late)");
	struct hvt_event *ev = F->ev[2];
	ck_assert_str_eq(data_str_of(ev, "observed"), "resync");
	ck_assert_str_eq(ev->vm_name, "web1");   /* the saved identity, not the socket's */
	/* then it runs again: live, and no vm.started for a process we knew */
	event("RESUME", NULL);
	assert_types("vm.started snapshot.deleted vm.paused(late) snapshot.created(late) "
		     "snapshot.external.created(late) snapshot.external.created(late) vm.resumed");
	/* a restart with nothing changed reports nothing */
	restart(false);
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_MIGRATE, NO_MIG);
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, block_answer("ov2", "ov1", "disk0", NULL));
	ck_assert_uint_eq(F->nev, 7);
	/* a new QEMU process on the socket: the old one ended unseen */
	restart(true);
	answer(QMP_Q_STATUS, RUNNING);
	answer(QMP_Q_MIGRATE, NO_MIG);
	answer(QMP_Q_JOBS, "[]");
	answer(QMP_Q_BLOCK, "[]");
	ck_assert_uint_eq(F->nev, 9);
	ck_assert_str_eq(F->ev[7]->type, "vm.vanished");
	ck_assert(F->ev[7]->flags & HVT_EV_LATE);
	ck_assert_int_eq(F->ev[7]->severity, 5);
	ck_assert_str_eq(F->ev[8]->type, "vm.started");
	ck_assert(!(F->ev[8]->flags & HVT_EV_LATE));
	/* ... or nobody listens on it any more */
	restart(2);
	qmp_vm_gone(VM, NOW);
	ck_assert_uint_eq(F->nev, 10);
	ck_assert_str_eq(F->ev[9]->type, "vm.vanished");
	ck_assert_str_eq(F->ev[9]->vm_uuid, "5a7e0f9c-8a3b-4a53-9a3e-0d0f2b9d1c11");
	ck_assert(!qmp_vm_restored(VM));
	ck_assert_ptr_null(qmp_vm_save(VM));   /* forgotten: nothing to keep */
}
END_TEST

static Suite *normalise_suite(void)
{
	Suite *s = suite_create("qmp_normalise");
	TCase *tc = tcase_create("replay");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_replay, 0, (int)HVT_ARRAY_SIZE(replays));
	tcase_add_loop_test(tc, test_mon1_agrees, 0, (int)HVT_ARRAY_SIZE(replays));
	tcase_add_test(tc, test_replay_no_answers);
	tcase_add_test(tc, test_migration_figures);
	tcase_add_test(tc, test_snapshot_jobs);
	tcase_add_test(tc, test_colo_failover);
	tcase_add_test(tc, test_exits);
	suite_add_tcase(s, tc);

	tc = tcase_create("driven");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_started_identity);
	tcase_add_test(tc, test_order_kept);
	tcase_add_test(tc, test_query_timeout);
	tcase_add_test(tc, test_savevm_is_no_migration);
	tcase_add_test(tc, test_query_refused);
	tcase_add_test(tc, test_vanished);
	tcase_add_test(tc, test_resync);
	tcase_add_test(tc, test_first_contact_migration);
	tcase_add_test(tc, test_incoming_start_answered_late);
	tcase_add_test(tc, test_outgoing_after_incoming);
	tcase_add_test(tc, test_restart_resync);
	tcase_add_test(tc, test_block_external);
	tcase_add_test(tc, test_block_internal);
	tcase_add_test(tc, test_block_colo_quiet);
	tcase_add_test(tc, test_snapshot_job_tag);
	tcase_add_test(tc, test_snapshot_job_tag_late_poll);
	tcase_add_test(tc, test_colo_summary);
	tcase_add_test(tc, test_colo_failover_unanswered);
	tcase_add_test(tc, test_colo_failover_unanswered_running);
	tcase_add_test(tc, test_colo_failover_answered_running);
	tcase_add_test(tc, test_unmapped_budget);
	tcase_add_test(tc, test_queue_bound);
	tcase_add_test(tc, test_job_table_full);
	tcase_add_test(tc, test_resync_colo);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(normalise_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
