/* check_lv_map.c - the mapping from libvirt's observations to events,
 * replaying sequences recorded from real libvirtd 9.0 / QEMU 7.2:
 *   lab-*.jsonl        the lab's two-host capture (/work/shared/lab/libvirt,
 *                      REPORT.md): event names only, no job information
 *   lifecycle.jsonl,   this plugin's own recordings (record_observations)
 *   migration-[AB].jsonl  of tests/libvirt-lifecycle.test and
 *                      tests/libvirt-migration.test, with the job and state
 *                      details the connection asks for
 * and hand-made resyncs for what a restart can find. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "lv_map.h"
#include "timefmt.h"

#define DAY_US (1796601600LL * 1000000)      /* 2026-12-07 00:00 UTC: the lab's day */
#define UUID_A "5e1f0c2a-0000-4000-8000-00000000a001"

struct sink {
	struct hvt_event *ev[512];
	int n;
};

static void sink_emit(void *arg, struct hvt_event *ev)
{
	struct sink *s = arg;

	ck_assert_int_lt(s->n, 512);
	s->ev[s->n++] = ev;
}

static void sink_clear(struct sink *s)
{
	for (int i = 0; i < s->n; i++)
		hvt_event_free(s->ev[i]);
	s->n = 0;
}

static const struct lv_map_ops ops = { .emit = sink_emit };

/* the connection's URI: this machine's unless a test says otherwise */
static const char *map_uri = "qemu:///system";

static struct lv_map *new_map(struct sink *s)
{
	struct lv_map_opts o;

	lv_map_opts_default(&o);
	o.uri = map_uri;
	memset(s, 0, sizeof *s);
	return lv_map_new(&o, &ops, s);
}

static void feed_obs(struct lv_map *m, struct lv_obs *o)
{
	while (o) {
		struct lv_obs *next = o->next;
		lv_map_obs(m, o);
		lv_obs_free(o);
		o = next;
	}
}

static void feed_line(struct lv_map *m, const char *line)
{
	char err[128];
	json_object *j = json_tokener_parse(line);

	ck_assert_msg(j != NULL, "not JSON: %s", line);
	struct lv_obs *o = lv_obs_from_json(j, DAY_US, err, sizeof err);
	ck_assert_msg(o != NULL, "%s: %s", err, line);
	json_object_put(j);
	feed_obs(m, o);
}

/* Feed a fixture, lines [from, to) (to < 0: to the end). */
static void feed_range(struct lv_map *m, const char *name, int from, int to)
{
	char path[512], *line = NULL;
	size_t cap = 0;
	int i = 0;

	snprintf(path, sizeof path, "%s/%s", LV_FIXTURES, name);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (getline(&line, &cap, f) > 0) {
		if (i >= from && (to < 0 || i < to) && line[0] == '{')
			feed_line(m, line);
		i++;
	}
	free(line);
	fclose(f);
}

static void feed(struct lv_map *m, const char *name)
{
	feed_range(m, name, 0, -1);
}

/* "type type:late ..." of what came out */
static char *types(const struct sink *s)
{
	static char buf[8192];
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->n; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s", i ? " " : "", s->ev[i]->type,
				      s->ev[i]->flags & HVT_EV_LATE ? ":late" : "");
	return buf;
}

static const struct hvt_event *find(const struct sink *s, const char *type, int nth)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->ev[i]->type, type) == 0 && nth-- == 0)
			return s->ev[i];
	ck_abort_msg("no %s in: %s", type, types(s));
	return NULL;
}

static json_object *dget(const struct hvt_event *ev, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(ev->data && json_object_object_get_ex(ev->data, key, &v), "%s has no data.%s", ev->type, key);
	return v;
}

static long long dint(const struct hvt_event *ev, const char *key)
{
	return json_object_get_int64(dget(ev, key));
}

static const char *dstr(const struct hvt_event *ev, const char *key)
{
	return json_object_get_string(dget(ev, key));
}

static bool dhas(const struct hvt_event *ev, const char *key)
{
	return ev->data && json_object_object_get_ex(ev->data, key, NULL);
}

static long long at(const char *hms)
{
	int h, mi;
	double sec;

	sscanf(hms, "%d:%d:%lf", &h, &mi, &sec);
	return DAY_US + ((long long)h * 3600 + mi * 60) * 1000000LL + (long long)(sec * 1e6 + 0.5);
}

/* ---- the lab's capture ------------------------------------------------------- */

START_TEST(lab_migration_source)
{
	struct sink s;
	struct lv_map *m = new_map(&s);

	feed(m, "lab-migration-A.jsonl");
	ck_assert_str_eq(types(&s), "libvirt.connected vm.defined vm.started migration.started "
			 "migration.completed migration.incoming.started migration.incoming.completed");
	/* no job information in the lab's capture: the switch-over pause
	 * proves the migration (iterations alone do not: a save iterates) */
	const struct hvt_event *st = find(&s, "migration.started", 0);
	ck_assert_int_eq(st->ts_us, at("06:04:59.909"));
	ck_assert_str_eq(dstr(st, "role"), "source");
	const struct hvt_event *c = find(&s, "migration.completed", 0);
	ck_assert_int_eq(dint(c, "total_time_ms"), 859);
	ck_assert_int_eq(dint(c, "downtime_ms"), 46);
	ck_assert_int_eq(dint(c, "setup_time_ms"), 1);
	ck_assert_int_eq(dint(c, "passes"), 3);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(dget(c, "ram"), "transferred")), 574289);
	ck_assert_str_eq(dstr(c, "state"), "shutoff");
	ck_assert(!dhas(c, "figures_error"));
	/* ... and when it comes back it is the target */
	const struct hvt_event *in = find(&s, "migration.incoming.completed", 0);
	ck_assert_int_eq(dint(in, "duration_ms"), 146);
	ck_assert(json_object_get_boolean(dget(in, "running")));
	for (int i = 0; i < s.n; i++) {
		ck_assert_str_eq(s.ev[i]->source, "libvirt");
		ck_assert(!(s.ev[i]->flags & HVT_EV_LATE));
	}
	ck_assert_int_eq(lv_map_held(m), 0);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(lab_migration_target)
{
	struct sink s;
	struct lv_map *m = new_map(&s);

	feed(m, "lab-migration-B.jsonl");
	ck_assert_str_eq(types(&s), "libvirt.connected migration.incoming.started migration.incoming.completed "
			 "migration.started migration.completed");
	const struct hvt_event *st = find(&s, "migration.incoming.started", 0);
	ck_assert_str_eq(dstr(st, "role"), "incoming");
	ck_assert_str_eq(dstr(st, "state"), "paused");
	ck_assert_int_eq(dint(find(&s, "migration.incoming.completed", 0), "duration_ms"), 174);
	ck_assert_int_eq(dint(find(&s, "migration.completed", 0), "downtime_ms"), 123);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(lab_vm_operations)
{
	struct sink s;
	struct lv_map *m = new_map(&s);

	feed(m, "lab-vmops.jsonl");
	ck_assert_str_eq(types(&s),
		"libvirt.connected vm.defined:late vm.started:late vm.defined:late vm.started:late "
		"vm.paused vm.resumed "                                   /* suspend, resume */
		"vm.stopped snapshot.reverted vm.defined "                /* snapshot-revert */
		"vm.paused vm.stopped "                                   /* save (no job info) */
		"vm.started "                                             /* restore */
		"vm.shutdown vm.stopped "                                 /* destroy */
		"vm.started vm.stopped");                                 /* QEMU killed */
	ck_assert_int_eq(dint(find(&s, "vm.resumed", 0), "paused_ms"), 1046);
	const struct hvt_event *rev = find(&s, "vm.stopped", 0);
	ck_assert_str_eq(dstr(rev, "reason"), "from-snapshot");
	ck_assert(json_object_get_boolean(dget(rev, "snapshot_revert")));
	ck_assert_str_eq(dstr(find(&s, "vm.defined", 2), "reason"), "from-snapshot");
	const struct hvt_event *saved = find(&s, "vm.stopped", 1);
	ck_assert_str_eq(dstr(saved, "reason"), "saved");
	ck_assert_int_eq(dint(saved, "total_time_ms"), 48);
	ck_assert_str_eq(dstr(find(&s, "vm.started", 2), "reason"), "restored");
	const struct hvt_event *destroyed = find(&s, "vm.stopped", 2);
	ck_assert_str_eq(dstr(destroyed, "reason"), "destroyed");
	ck_assert_str_eq(dstr(destroyed, "shutdown_by"), "host");
	const struct hvt_event *killed = find(&s, "vm.stopped", 3);
	ck_assert_str_eq(dstr(killed, "reason"), "failed");
	ck_assert_int_eq(killed->severity, 4);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(lab_libvirtd_restart)
{
	struct sink s;
	struct lv_map *m = new_map(&s);

	/* libvirtd killed while QEMU runs, QEMU killed while it is down: no
	 * event reaches any client (lab); the listing shows it crashed */
	feed(m, "lab-restart.jsonl");
	ck_assert_str_eq(types(&s), "libvirt.connected vm.defined:late vm.started:late libvirt.disconnected "
			 "libvirt.connected vm.stopped:late");
	const struct hvt_event *st = find(&s, "vm.stopped", 0);
	ck_assert_str_eq(dstr(st, "reason"), "crashed");
	ck_assert_str_eq(dstr(st, "observed"), "resync");
	ck_assert_int_eq(st->severity, 4);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(lab_aborted_incoming)
{
	struct sink s;
	struct lv_map *m = new_map(&s);

	feed(m, "lab-aborted.jsonl");
	/* QEMU's MIGRATION setup (passthrough) is libvirt's to report */
	ck_assert_str_eq(types(&s), "libvirt.connected migration.incoming.started migration.incoming.failed");
	ck_assert_int_eq(find(&s, "migration.incoming.failed", 0)->severity, 4);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

/* ---- this plugin's recordings ------------------------------------------------------ */

START_TEST(recorded_lifecycle)
{
	struct sink s;
	struct lv_map *m = new_map(&s);

	feed(m, "lifecycle.jsonl");
	/* the pauses libvirt took for the internal snapshot (state reason) and
	 * the save (job statistics) are folded; boot's resumed+started is one */
	ck_assert_str_eq(types(&s), "libvirt.connected vm.defined vm.started vm.paused vm.resumed "
			 "snapshot.created snapshot.created device.added device.removed block.commit.completed "
			 "vm.reset vm.reset vm.reset vm.stopped vm.started vm.shutdown vm.stopped vm.undefined");
	const struct hvt_event *s1 = find(&s, "snapshot.created", 0), *ext = find(&s, "snapshot.created", 1);
	ck_assert_str_eq(dstr(s1, "snapshot"), "s1");
	ck_assert_str_eq(dstr(s1, "location"), "internal");
	ck_assert_int_eq(s1->ts_us % 1000000, 0);
	ck_assert_str_eq(dstr(ext, "snapshot"), "ext1");
	ck_assert_str_eq(dstr(ext, "location"), "external");
	const struct hvt_event *bc = find(&s, "block.commit.completed", 0);
	ck_assert_str_eq(dstr(bc, "disk"), "sda");
	ck_assert(json_object_get_boolean(dget(bc, "active")));
	const struct hvt_event *saved = find(&s, "vm.stopped", 0);
	ck_assert_str_eq(dstr(saved, "reason"), "saved");
	ck_assert_int_eq(dint(saved, "total_time_ms"), 156);
	ck_assert_int_eq(dint(find(&s, "vm.undefined", 0), "snapshots_metadata_removed"), 2);
	sink_clear(&s);
	/* a shut-off domain undefined is gone: the view keeps nothing of it */
	json_object *v = lv_map_save(m);
	ck_assert_int_eq(json_object_object_length(json_object_object_get(v, "domains")), 0);
	json_object_put(v);
	lv_map_free(m);
}
END_TEST

START_TEST(recorded_migrations)
{
	struct sink a, b;
	struct lv_map *ma = new_map(&a), *mb = new_map(&b);

	feed(ma, "migration-A.jsonl");
	feed(mb, "migration-B.jsonl");
	ck_assert_str_eq(types(&a), "libvirt.connected vm.defined vm.started migration.started migration.completed "
			 "migration.incoming.started migration.incoming.completed migration.started migration.failed");
	ck_assert_str_eq(types(&b), "libvirt.connected migration.incoming.started migration.incoming.completed "
			 "migration.started migration.completed migration.incoming.started migration.incoming.failed");
	/* the job poll saw the first migration before its first iteration:
	 * its start is the job's, 427 ms before the poll */
	const struct hvt_event *st = find(&a, "migration.started", 0);
	ck_assert_str_eq(dstr(st, "detected_by"), "job-poll");
	ck_assert_int_eq(st->ts_us, 1796628083326762LL - 427000);
	/* the cancelled one: libvirt keeps no statistics of it */
	const struct hvt_event *f = find(&a, "migration.failed", 0);
	ck_assert(strstr(dstr(f, "error"), "failed or was cancelled"));
	ck_assert(!dhas(f, "total_time_ms"));
	sink_clear(&a);
	sink_clear(&b);
	lv_map_free(ma);
	lv_map_free(mb);
}
END_TEST

/* ---- exactly once across a restart --------------------------------------------------- */

/* A resync listing: web01 running as libvirt id 2 after its restore. */
static void resync_web01_running(struct lv_map *m, long long t)
{
	char line[1024];

	snprintf(line, sizeof line, "{\"ev\":\"connected\",\"ts_us\":%lld,\"host_uuid\":"
		 "\"11111111-2222-3333-4444-aaaaaaaaaaaa\"}", t);
	feed_line(m, line);
	snprintf(line, sizeof line, "{\"ev\":\"domain\",\"ts_us\":%lld,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\","
		 "\"id\":2,\"state\":1,\"reason\":3,\"persistent\":true,\"job_type\":0,"
		 "\"snapshots\":[{\"name\":\"s1\",\"created\":1796627995},{\"name\":\"ext1\",\"created\":1796627998}]}",
		 t);
	feed_line(m, line);
	snprintf(line, sizeof line, "{\"ev\":\"resync-end\",\"ts_us\":%lld}", t);
	feed_line(m, line);
}

START_TEST(restart_replays_the_spool)
{
	struct sink s1, s2, s3;
	struct lv_map *m1 = new_map(&s1);

	/* run 1: up to the restore (lines 0..25 of the recording: the save's
	 * stop is line 24, the restore's start line 25) */
	feed_range(m1, "lifecycle.jsonl", 0, 24);
	json_object *saved = lv_map_save(m1);           /* the committed callback */
	int before = s1.n;
	feed_range(m1, "lifecycle.jsonl", 24, 27);      /* spooled, then SIGKILL */
	ck_assert_int_gt(s1.n, before);

	/* run 2: the view the file held, plus the spooled events read back */
	char err[128];
	struct lv_map *m2 = new_map(&s2);
	ck_assert(lv_map_load(m2, saved, err, sizeof err));
	for (int i = before; i < s1.n; i++)
		lv_map_replay(m2, s1.ev[i]);
	resync_web01_running(m2, 1796628020000000LL);
	/* nothing is reported twice: the stop and the restore are in the trail */
	ck_assert_str_eq(types(&s2), "libvirt.connected");

	/* without the spool, the view would be behind the trail: the restore
	 * would be reported a second time (late) - what the replay prevents */
	struct lv_map *m3 = new_map(&s3);
	ck_assert(lv_map_load(m3, saved, err, sizeof err));
	resync_web01_running(m3, 1796628020000000LL);
	ck_assert_str_eq(types(&s3), "libvirt.connected vm.stopped:late vm.started:late");

	json_object_put(saved);
	sink_clear(&s1);
	sink_clear(&s2);
	sink_clear(&s3);
	lv_map_free(m1);
	lv_map_free(m2);
	lv_map_free(m3);
}
END_TEST

/* ---- what a resync finds -------------------------------------------------------------- */

static struct lv_map *with_running_web01(struct sink *s)
{
	struct lv_map *m = new_map(s);

	feed_line(m, "{\"ev\":\"connected\",\"ts_us\":1000000,\"host_uuid\":\"h1\"}");
	feed_line(m, "{\"ev\":\"domain\",\"ts_us\":1000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"state\":1,\"reason\":1,\"persistent\":true,\"snapshots\":[]}");
	feed_line(m, "{\"ev\":\"resync-end\",\"ts_us\":1000000}");
	ck_assert_str_eq(types(s), "libvirt.connected vm.defined:late vm.started:late");
	sink_clear(s);
	return m;
}

static void relist(struct lv_map *m, const char *domain_fields)
{
	char line[1024];

	feed_line(m, "{\"ev\":\"connection-closed\",\"ts_us\":2000000,\"reason\":\"eof\"}");
	feed_line(m, "{\"ev\":\"connected\",\"ts_us\":3000000,\"host_uuid\":\"h1\"}");
	if (domain_fields) {
		snprintf(line, sizeof line, "{\"ev\":\"domain\",\"ts_us\":3000000,\"dom\":\"web01\",\"uuid\":\""
			 UUID_A "\",%s}", domain_fields);
		feed_line(m, line);
	}
	feed_line(m, "{\"ev\":\"resync-end\",\"ts_us\":3000000}");
}

START_TEST(resync_differences)
{
	struct sink s;
	struct lv_map *m;

	/* the same: only the connection's events */
	m = with_running_web01(&s);
	relist(m, "\"id\":1,\"state\":1,\"reason\":1,\"persistent\":true,\"snapshots\":[]");
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected");
	ck_assert_int_eq(dint(find(&s, "libvirt.connected", 0), "disconnected_ms"), 1000);
	sink_clear(&s);
	lv_map_free(m);

	/* paused meanwhile */
	m = with_running_web01(&s);
	relist(m, "\"id\":1,\"state\":3,\"reason\":1,\"persistent\":true");
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected vm.paused:late");
	ck_assert_str_eq(dstr(find(&s, "vm.paused", 0), "reason"), "user");
	sink_clear(&s);
	lv_map_free(m);

	/* paused by libvirt for its own job (a save under way): not the VM's state */
	m = with_running_web01(&s);
	relist(m, "\"id\":1,\"state\":3,\"reason\":3,\"persistent\":true");
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected");
	sink_clear(&s);
	lv_map_free(m);

	/* stopped and started again: a new libvirt id */
	m = with_running_web01(&s);
	relist(m, "\"id\":7,\"state\":1,\"reason\":1,\"persistent\":true");
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected vm.stopped:late vm.started:late");
	sink_clear(&s);
	lv_map_free(m);

	/* undefined and stopped: gone from the listing */
	m = with_running_web01(&s);
	relist(m, NULL);
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected vm.stopped:late vm.undefined:late");
	sink_clear(&s);
	json_object *v = lv_map_save(m);
	ck_assert_int_eq(json_object_object_length(json_object_object_get(v, "domains")), 0);
	json_object_put(v);
	lv_map_free(m);

	/* a snapshot made meanwhile: dated by its creationTime, late */
	m = with_running_web01(&s);
	relist(m, "\"id\":1,\"state\":1,\"reason\":1,\"persistent\":true,"
		  "\"snapshots\":[{\"name\":\"nightly\",\"created\":2,\"location\":\"internal\"}]");
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected snapshot.created:late");
	ck_assert_int_eq(find(&s, "snapshot.created", 0)->ts_us, 2000000);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(resync_migration_outcomes)
{
	struct sink s;
	struct lv_map *m = with_running_web01(&s);

	/* a migration starts, the connection drops, the domain is back to no
	 * job and still here: it did not complete (the statistics libvirt
	 * has are an older job's) */
	feed_line(m, "{\"ev\":\"job-seen\",\"ts_us\":1500000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"job_type\":2,\"job_op\":5,\"job_elapsed_ms\":100}");
	ck_assert_str_eq(types(&s), "migration.started");
	ck_assert_int_eq(find(&s, "migration.started", 0)->ts_us, 1400000);
	sink_clear(&s);
	relist(m, "\"id\":1,\"state\":1,\"reason\":6,\"persistent\":true,\"job_type\":0,"
		  "\"completed\":{\"operation\":4,\"job_type\":3,\"time_elapsed\":9}");
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected migration.failed:late");
	ck_assert(strstr(dstr(find(&s, "migration.failed", 0), "error"), "no statistics"));
	ck_assert(!dhas(find(&s, "migration.failed", 0), "total_time_ms"));
	sink_clear(&s);
	lv_map_free(m);

	/* ... or it left: shut off (migrated), with the figures */
	m = with_running_web01(&s);
	feed_line(m, "{\"ev\":\"job-seen\",\"ts_us\":1500000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"job_type\":2,\"job_op\":5,\"job_elapsed_ms\":100}");
	sink_clear(&s);
	relist(m, "\"state\":5,\"reason\":4,\"persistent\":true,"
		  "\"completed\":{\"operation\":5,\"job_type\":3,\"time_elapsed\":900,\"downtime\":40}");
	ck_assert_str_eq(types(&s), "libvirt.disconnected libvirt.connected migration.completed:late");
	ck_assert_int_eq(dint(find(&s, "migration.completed", 0), "downtime_ms"), 40);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(another_libvirtd)
{
	struct sink s;
	struct lv_map *m;

	map_uri = "qemu+tls://hv9.example/system";
	m = with_running_web01(&s);
	map_uri = "qemu:///system";
	/* the remote URI now reaches another host: its domains are met as new */
	feed_line(m, "{\"ev\":\"connected\",\"ts_us\":3000000,\"host_uuid\":\"h2\"}");
	feed_line(m, "{\"ev\":\"domain\",\"ts_us\":3000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"state\":1,\"reason\":1,\"persistent\":true}");
	feed_line(m, "{\"ev\":\"resync-end\",\"ts_us\":3000000}");
	ck_assert_str_eq(types(&s), "libvirt.connected vm.defined:late vm.started:late");
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

/* This machine's libvirtd with a made-up host UUID after its restart: the
 * same domains, nothing reported again. */
START_TEST(local_libvirtd_new_host_uuid)
{
	struct sink s;
	struct lv_map *m = with_running_web01(&s);

	feed_line(m, "{\"ev\":\"connected\",\"ts_us\":3000000,\"host_uuid\":\"h2\"}");
	feed_line(m, "{\"ev\":\"domain\",\"ts_us\":3000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"state\":1,\"reason\":1,\"persistent\":true,\"snapshots\":[]}");
	feed_line(m, "{\"ev\":\"resync-end\",\"ts_us\":3000000}");
	ck_assert_str_eq(types(&s), "libvirt.connected");
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

/* ---- folding and holding ---------------------------------------------------------------- */

START_TEST(held_end_without_figures)
{
	struct sink s;
	struct lv_map *m = with_running_web01(&s);

	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":2000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"suspended\",\"detail\":\"migrated\"}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":3000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\","
		  "\"event\":\"stopped\",\"detail\":\"migrated\"}");
	/* held for its figures */
	ck_assert_str_eq(types(&s), "migration.started");
	ck_assert_int_eq(lv_map_held(m), 1);
	ck_assert_int_eq(lv_map_next_deadline(m), 3000000 + 5000000);
	lv_map_tick(m, 7999999);
	ck_assert_int_eq(lv_map_held(m), 1);
	lv_map_tick(m, 8000000);
	ck_assert_str_eq(types(&s), "migration.started migration.completed");
	ck_assert(dhas(find(&s, "migration.completed", 0), "figures_error"));
	/* the figures that come too late do not make a second end */
	feed_line(m, "{\"ev\":\"job-completed\",\"ts_us\":9000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\","
		  "\"params\":{\"operation\":5,\"time_elapsed\":1}}");
	ck_assert_int_eq(s.n, 2);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(libvirts_own_pauses)
{
	struct sink s;
	struct lv_map *m = with_running_web01(&s);

	/* a pause over before libvirt was asked (state running again): an
	 * external snapshot's, folded with its resume */
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":2000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"suspended\",\"detail\":\"paused\",\"state\":1,\"reason\":5,\"job_type\":0}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":2010000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"resumed\",\"detail\":\"unpaused\"}");
	/* an internal snapshot's: paused, reason snapshot (2 = save, as libvirt
	 * 9.0 gives it, is folded alike) */
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":3000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"suspended\",\"detail\":\"paused\",\"state\":3,\"reason\":9,\"job_type\":0}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":3500000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"resumed\",\"detail\":\"unpaused\"}");
	ck_assert_str_eq(types(&s), "");
	/* a user's pause: still paused when asked */
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":4000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"suspended\",\"detail\":\"paused\",\"state\":3,\"reason\":1,\"job_type\":0}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":4500000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"resumed\",\"detail\":\"unpaused\"}");
	ck_assert_str_eq(types(&s), "vm.paused vm.resumed");
	ck_assert_int_eq(dint(find(&s, "vm.resumed", 0), "paused_ms"), 500);
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(in_qmp_wins)
{
	struct sink s;
	struct lv_map *m = new_map(&s);

	feed_line(m, "{\"ev\":\"connected\",\"ts_us\":1000000,\"host_uuid\":\"h1\"}");
	feed_line(m, "{\"ev\":\"resync-end\",\"ts_us\":1000000}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":2000000,\"dom\":\"db01\",\"uuid\":\"" UUID_A "\","
		  "\"event\":\"defined\",\"detail\":\"added\",\"qmp_monitor\":true}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":3000000,\"dom\":\"db01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"started\",\"detail\":\"booted\",\"qmp_monitor\":true}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":4000000,\"dom\":\"db01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"event\":\"suspended\",\"detail\":\"paused\"}");
	feed_line(m, "{\"ev\":\"lifecycle\",\"ts_us\":5000000,\"dom\":\"db01\",\"uuid\":\"" UUID_A "\","
		  "\"event\":\"undefined\",\"detail\":\"removed\"}");
	ck_assert_str_eq(types(&s), "libvirt.connected vm.defined vm.undefined");
	struct lv_map_stats st;
	lv_map_get_stats(m, &st);
	ck_assert_int_eq(st.suppressed_qmp, 2);
	/* the view followed anyway: a resync does not report the pause */
	sink_clear(&s);
	feed_line(m, "{\"ev\":\"connected\",\"ts_us\":6000000,\"host_uuid\":\"h1\"}");
	feed_line(m, "{\"ev\":\"domain\",\"ts_us\":6000000,\"dom\":\"db01\",\"uuid\":\"" UUID_A "\",\"id\":1,"
		  "\"state\":3,\"reason\":1,\"persistent\":false,\"qmp_monitor\":false}");
	feed_line(m, "{\"ev\":\"resync-end\",\"ts_us\":6000000}");
	ck_assert_str_eq(types(&s), "libvirt.connected");
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(qemu_passthrough_colo)
{
	struct sink s;
	struct lv_map *m = with_running_web01(&s);

	feed_line(m, "{\"ev\":\"qemu-monitor-event\",\"ts_us\":2000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A "\","
		  "\"qemu_event\":\"COLO_EXIT\",\"qemu_ts\":\"1.500000\",\"details\":\"{\\\"mode\\\":\\\"secondary\\\","
		  "\\\"reason\\\":\\\"error\\\"}\"}");
	ck_assert_str_eq(types(&s), "colo.failover");
	const struct hvt_event *f = find(&s, "colo.failover", 0);
	ck_assert_int_eq(f->severity, 2);
	ck_assert_int_eq(f->ts_us, 1500000);
	ck_assert_str_eq(dstr(f, "side"), "secondary");
	ck_assert(!json_object_get_boolean(dget(f, "reason_reliable")));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(dget(f, "qmp"), "event")), "COLO_EXIT");
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

START_TEST(io_errors_bounded)
{
	struct sink s;
	struct lv_map *m = with_running_web01(&s);
	char line[512];

	for (int i = 0; i < 25; i++) {
		snprintf(line, sizeof line, "{\"ev\":\"io-error\",\"ts_us\":%d,\"dom\":\"web01\",\"uuid\":\"" UUID_A
			 "\",\"path\":\"/x.qcow2\",\"alias\":\"scsi0-0-0-0\",\"action\":1,\"reason\":\"enospc\"}",
			 2000000 + i * 1000);
		feed_line(m, line);
	}
	ck_assert_int_eq(s.n, 10);
	/* next window: reported again, saying how many were left out */
	feed_line(m, "{\"ev\":\"io-error\",\"ts_us\":13000000,\"dom\":\"web01\",\"uuid\":\"" UUID_A
		  "\",\"path\":\"/x.qcow2\",\"alias\":\"scsi0-0-0-0\",\"action\":1,\"reason\":\"enospc\"}");
	ck_assert_int_eq(s.n, 11);
	ck_assert_int_eq(dint(s.ev[10], "dropped_before"), 15);
	ck_assert_str_eq(dstr(s.ev[10], "action"), "pause");
	sink_clear(&s);
	lv_map_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lv_map");
	TCase *lab = tcase_create("lab");
	tcase_add_test(lab, lab_migration_source);
	tcase_add_test(lab, lab_migration_target);
	tcase_add_test(lab, lab_vm_operations);
	tcase_add_test(lab, lab_libvirtd_restart);
	tcase_add_test(lab, lab_aborted_incoming);
	suite_add_tcase(s, lab);
	TCase *rec = tcase_create("recorded");
	tcase_add_test(rec, recorded_lifecycle);
	tcase_add_test(rec, recorded_migrations);
	suite_add_tcase(s, rec);
	TCase *rs = tcase_create("resync");
	tcase_add_test(rs, restart_replays_the_spool);
	tcase_add_test(rs, resync_differences);
	tcase_add_test(rs, resync_migration_outcomes);
	tcase_add_test(rs, another_libvirtd);
	tcase_add_test(rs, local_libvirtd_new_host_uuid);
	suite_add_tcase(s, rs);
	TCase *f = tcase_create("folding");
	tcase_add_test(f, held_end_without_figures);
	tcase_add_test(f, libvirts_own_pauses);
	tcase_add_test(f, in_qmp_wins);
	tcase_add_test(f, qemu_passthrough_colo);
	tcase_add_test(f, io_errors_bounded);
	suite_add_tcase(s, f);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
