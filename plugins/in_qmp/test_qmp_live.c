/* test_qmp_live.c - the built in_qmp.so, loaded the way the forwarder
 * loads it, against real QEMU processes started by the test.
 *
 * A tiny fake host gives the plugin its own sd_event loop and collects what
 * it emits.  Each QEMU gets the watched monitor (in the plugin's
 * socket_dir) and a control monitor elsewhere, through which the test plays
 * libvirt (stop, cont, snapshots, migration).  Every wait is a bounded run of
 * the event loop until the expected event arrived; QEMU processes are
 * killed by the PIDs the test started (and die with the test process). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "hvtrail-plugin.h"
#include "instance.h"
#include "log.h"
#include "plugin.h"
#include "qmp_parse.h"
#include "util.h"

#define QEMU "qemu-system-x86_64"
#define MAX_QEMU 4

static const struct hvt_plugin *plugin;
/* One directory for the whole run, made and removed by main(): a failed
 * check ends the test's forked child before its teardown can clean up. */
static char top[] = "/tmp/hvt-qmp-live-XXXXXX";
static char *base;                        /* this test's directory under top */
static char *dir, *ctl;                   /* watched socket_dir, control sockets */
static sd_event *loop;
static struct hvt_host host;
static struct hvt_instance inst;
static struct hvt_conf *conf;
static struct hvt_event *evs[512];
static size_t nev;
static pid_t pids[MAX_QEMU];

/* ---- fake host -------------------------------------------------------------- */

static int host_emit(struct hvt_instance *i, struct hvt_event *ev)
{
	(void)i;
	ck_assert_uint_lt(nev, HVT_ARRAY_SIZE(evs));
	evs[nev++] = ev;
	fprintf(stderr, "  event %-28s %s\n", ev->type, ev->msg ? ev->msg : "");
	return 0;
}

static void start_plugin(const char *extra)
{
	char *text = hvt_asprintf("[in_qmp]\nsocket_dir = %s\nconnect_timeout = 1s\n"
				  "reconnect_min = 50ms\nreconnect_max = 400ms\n"
				  "block_poll_interval = 200ms\n%s", dir, extra ? extra : "");
	conf = hvt_conf_load_string(text, "test", "test_qmp_live");
	free(text);
	ck_assert_int_ge(sd_event_new(&loop), 0);
	host = (struct hvt_host){ .prog = "test_qmp_live", .hostname = "hv-test", .loop = loop,
				  .emit = host_emit };
	ck_assert_int_eq(hvt_instance_bind(&inst, plugin, conf, hvt_conf_find(conf, "in_qmp"), &host), 0);
	ck_assert_int_eq(hvt_instance_check(&inst), 0);
	ck_assert_int_eq(hvt_instance_start(&inst), 0);
}

static const struct hvt_input_ops *ops(void)
{
	return plugin->ops;
}

/* A bound times the tests' one timeout knob (tests/lib/common.sh). */
static long long scaled_ms(int ms)
{
	const char *f = getenv("HVT_TIMEOUT_FACTOR");
	double k = f ? atof(f) : 1.0;

	return (long long)(ms * (k > 0 ? k : 1.0));
}

static long long stat_of(const char *key)
{
	char *s = ops()->stats(&inst);
	json_object *o = json_tokener_parse(s), *v;
	long long n = json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;

	json_object_put(o);
	free(s);
	return n;
}

/* Run the loop until the plugin's counter key reaches at least min, or
 * timeout; true if it did. */
static bool wait_stat(const char *key, long long min, int timeout_ms)
{
	long long deadline = hvt_mono_us() + scaled_ms(timeout_ms) * 1000LL;

	while (stat_of(key) < min) {
		long long left = deadline - hvt_mono_us();
		if (left <= 0)
			return false;
		sd_event_run(loop, (uint64_t)HVT_MIN(left, 50000));
	}
	return true;
}

/* Run the loop until an event of type for vm (NULL: any) arrived after
 * index from, or timeout; returns it or NULL. */
static struct hvt_event *wait_event(const char *type, const char *vm, size_t from, int timeout_ms)
{
	long long deadline = hvt_mono_us() + scaled_ms(timeout_ms) * 1000LL;

	for (;;) {
		for (size_t i = from; i < nev; i++)
			if (strcmp(evs[i]->type, type) == 0 &&
			    (!vm || strcmp(evs[i]->vm_name, vm) == 0))
				return evs[i];
		long long left = deadline - hvt_mono_us();
		if (left <= 0)
			return NULL;
		sd_event_run(loop, (uint64_t)HVT_MIN(left, 100000));
	}
}

static void run_for(int ms)
{
	long long deadline = hvt_mono_us() + ms * 1000LL;

	while (hvt_mono_us() < deadline)
		sd_event_run(loop, (uint64_t)HVT_MAX(1, deadline - hvt_mono_us()));
}

/* ---- QEMU ------------------------------------------------------------------ */

static pid_t start_qemu(const char *name, const char *uuid, const char *extra1,
			const char *extra2)
{
	char *mon = hvt_asprintf("unix:%s/%s.sock,server=on,wait=off", dir, name);
	char *cmon = hvt_asprintf("unix:%s/%s.sock,server=on,wait=off", ctl, name);
	char *log = hvt_asprintf("%s/%s.log", ctl, name);
	const char *argv[32] = { QEMU, "-name", name, "-uuid", uuid, "-accel", "tcg",
				 "-display", "none", "-nodefaults", "-m", "64", "-qmp", mon,
				 "-qmp", cmon };
	int n = 16;

	if (extra1) {
		argv[n++] = "-blockdev";
		argv[n++] = extra1;
		argv[n++] = "-device";   /* query-block lists devices, not bare nodes */
		argv[n++] = "virtio-blk-pci,drive=disk0,id=vda";
	}
	if (extra2) {
		argv[n++] = "-incoming";
		argv[n++] = extra2;
	}
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* dies with the test, even when a failed check ends it early */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(QEMU, (char **)argv);
		_exit(127);
	}
	for (int i = 0; i < MAX_QEMU; i++) {
		if (!pids[i]) {
			pids[i] = pid;
			break;
		}
	}
	free(mon);
	free(cmon);
	free(log);
	return pid;
}

static void kill_qemu(pid_t pid)
{
	for (int i = 0; i < MAX_QEMU; i++) {
		if (pids[i] == pid) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			pids[i] = 0;
		}
	}
}

/* ---- control monitor (plays libvirt) ------------------------------------------ */

struct ctl {
	int fd;
	struct qmp_framer f;
};

static bool ctl_read(struct ctl *c, struct qmp_msg *m, int timeout_ms)
{
	long long deadline = hvt_mono_us() + scaled_ms(timeout_ms) * 1000LL;
	char buf[65536];

	while (!qmp_framer_next(&c->f, m)) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long long left = (deadline - hvt_mono_us()) / 1000;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n <= 0)
			return false;
		qmp_framer_push(&c->f, buf, (size_t)n);
	}
	return true;
}

/* Send a command and return its reply (caller clears it). */
static struct qmp_msg ctl_cmd(struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct qmp_msg ctl_cmd(struct ctl *c, const char *fmt, ...)
{
	char line[2048];
	struct qmp_msg m;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	ck_assert_int_eq(hvt_write_all(c->fd, line, strlen(line)), (ssize_t)strlen(line));
	for (;;) {
		ck_assert_msg(ctl_read(c, &m, 20000), "no reply to %s", line);
		if (m.kind == QMP_MSG_REPLY || m.kind == QMP_MSG_ERROR)
			return m;
		qmp_msg_clear(&m);
	}
}

static void ctl_ok(struct ctl *c, const char *cmd)
{
	struct qmp_msg m = ctl_cmd(c, "%s", cmd);

	ck_assert_msg(m.kind == QMP_MSG_REPLY, "%s: %s", cmd, m.err_desc);
	qmp_msg_clear(&m);
}

static void ctl_open(struct ctl *c, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp_msg m;

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", ctl, name);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_msg(connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0, "ctl %s: %s",
		      sa.sun_path, strerror(errno));
	qmp_framer_init(&c->f, 1 << 20);
	ck_assert(ctl_read(c, &m, 10000));
	ck_assert_int_eq(m.kind, QMP_MSG_GREETING);
	qmp_msg_clear(&m);
	ctl_ok(c, "{\"execute\": \"qmp_capabilities\", \"id\": 1}");
}

static void ctl_close(struct ctl *c)
{
	close(c->fd);
	qmp_framer_free(&c->f);
}

/* ---- fixture ------------------------------------------------------------------- */

static void setup(void)
{
	base = hvt_asprintf("%s/t-XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(base));
	dir = hvt_asprintf("%s/qmp", base);
	ctl = hvt_asprintf("%s/ctl", base);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(ctl, 0700), 0);
	nev = 0;
	memset(pids, 0, sizeof pids);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void teardown(void)
{
	if (inst.priv)
		hvt_instance_stop(&inst);
	for (int i = 0; i < MAX_QEMU; i++)
		if (pids[i])
			kill_qemu(pids[i]);
	for (size_t i = 0; i < nev; i++)
		hvt_event_free(evs[i]);
	nev = 0;
	sd_event_unref(loop);
	loop = NULL;
	hvt_conf_free(conf);
	conf = NULL;
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(base);
	free(dir);
	free(ctl);
}

/* ---- tests ---------------------------------------------------------------------- */

#define UUID1 "11111111-2222-3333-4444-555555555555"
#define UUID2 "66666666-7777-8888-9999-aaaaaaaaaaaa"

START_TEST(test_lifecycle)
{
	struct ctl c;

	start_plugin(NULL);
	pid_t vm1 = start_qemu("vm1", UUID1, NULL, NULL);
	struct hvt_event *ev = wait_event("vm.started", "vm1", 0, 15000);
	ck_assert_msg(ev, "no vm.started for vm1");
	ck_assert_str_eq(ev->vm_uuid, UUID1);
	ck_assert_str_eq(ev->source, "qmp");
	ck_assert(!(ev->flags & HVT_EV_LATE));
	ck_assert_int_eq(stat_of("connected"), 1);

	ctl_open(&c, "vm1");
	size_t mark = nev;
	ctl_ok(&c, "{\"execute\": \"stop\", \"id\": 2}");
	ev = wait_event("vm.paused", "vm1", mark, 10000);
	ck_assert_msg(ev, "no vm.paused");
	ck_assert_ptr_nonnull(ev->data);
	ctl_ok(&c, "{\"execute\": \"cont\", \"id\": 3}");
	ck_assert_msg(wait_event("vm.resumed", "vm1", mark, 10000), "no vm.resumed");
	ctl_ok(&c, "{\"execute\": \"system_reset\", \"id\": 4}");
	ck_assert_msg(wait_event("vm.reset", "vm1", mark, 10000), "no vm.reset");
	ctl_close(&c);

	/* SIGKILL: EOF without SHUTDOWN, the socket file stays behind, stale */
	kill_qemu(vm1);
	ev = wait_event("vm.vanished", "vm1", mark, 10000);
	ck_assert_msg(ev, "no vm.vanished");
	ck_assert_int_eq(ev->severity, 4);
	long long before = stat_of("connects");
	run_for(1500);
	long long attempts = stat_of("connects") - before;
	/* back-off 50 ms doubling to 400 ms: about 6 tries in 1.5 s, no spin */
	ck_assert_msg(attempts >= 2 && attempts <= 12, "%lld connects to a stale socket", attempts);

	/* a new VM afterwards is seen like the first */
	start_qemu("vm2", UUID2, NULL, NULL);
	ev = wait_event("vm.started", "vm2", mark, 15000);
	ck_assert_msg(ev, "no vm.started for vm2");
	ck_assert_str_eq(ev->vm_uuid, UUID2);
}
END_TEST

/* Back-pressure: paused, nothing is read; resumed, nothing was lost. */
START_TEST(test_pause)
{
	struct ctl c;

	start_plugin(NULL);
	start_qemu("vm1", UUID1, NULL, NULL);
	ck_assert(wait_event("vm.started", "vm1", 0, 15000));
	ctl_open(&c, "vm1");
	ops()->pause(&inst, true);
	size_t mark = nev;
	ctl_ok(&c, "{\"execute\": \"stop\", \"id\": 2}");
	ctl_ok(&c, "{\"execute\": \"cont\", \"id\": 3}");
	run_for(500);
	ck_assert_uint_eq(nev, mark);
	ck_assert_int_eq(stat_of("paused"), 1);
	ops()->pause(&inst, false);
	ck_assert(wait_event("vm.paused", "vm1", mark, 10000));
	ck_assert(wait_event("vm.resumed", "vm1", mark, 10000));
	ctl_close(&c);
}
END_TEST

static int on_junk_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	(void)s;
	(void)revents;
	(void)userdata;
	if (c >= 0) {
		static const char junk[] = "HTTP/1.0 200 OK\r\n\xff\xfe not QMP at all\r\n";
		if (write(c, junk, sizeof junk - 1) < 0)
			perror("write");
		close(c);
	}
	return 0;
}

static int listen_unix(const char *name, bool serve)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, name);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	if (serve)
		ck_assert_int_ge(sd_event_add_io(loop, NULL, fd, EPOLLIN, on_junk_accept, NULL), 0);
	return fd;
}

/* A socket that is not QMP and one that never greets (a monitor busy with
 * another client looks exactly like that) cost nothing to the real VM. */
START_TEST(test_bad_sockets)
{
	start_plugin(NULL);
	int junk = listen_unix("junk.sock", true);
	int silent = listen_unix("silent.sock", false);   /* never accepts: no greeting */
	start_qemu("vm1", UUID1, NULL, NULL);
	ck_assert(wait_event("vm.started", "vm1", 0, 15000));
	/* each bad socket is tried, given up (connect_timeout 1 s), tried again */
	ck_assert_msg(wait_stat("connect_failures", 3, 15000), "%lld connect failures", stat_of("connect_failures"));
	long long deadline = hvt_mono_us() + scaled_ms(15000) * 1000LL;
	while (stat_of("garbage_lines") + stat_of("timeouts") < 2 && hvt_mono_us() < deadline)
		sd_event_run(loop, 50000);
	ck_assert_int_ge(stat_of("garbage_lines") + stat_of("timeouts"), 2);
	for (size_t i = 0; i < nev; i++)
		ck_assert_str_eq(evs[i]->vm_name, "vm1");
	ck_assert_int_eq(stat_of("connected"), 1);
	close(junk);
	close(silent);
}
END_TEST

/* blockdev-snapshot-sync emits no event: the block poll must see it. */
START_TEST(test_external_snapshot)
{
	struct ctl c;
	char *img = hvt_asprintf("%s/disk0.qcow2", ctl);
	char *cmd = hvt_asprintf("qemu-img create -q -f qcow2 %s 16M", img);
	char *bd =
		hvt_asprintf("driver=qcow2,node-name=disk0,file.driver=file,file.filename=%s", img);

	if (system(cmd) != 0) {
		fprintf(stderr, "qemu-img missing: skipping the snapshot test\n");
		goto out;
	}
	start_plugin(NULL);
	start_qemu("vm1", UUID1, bd, NULL);
	ck_assert(wait_event("vm.started", "vm1", 0, 15000));
	run_for(500);   /* a baseline poll */
	ctl_open(&c, "vm1");
	size_t mark = nev;
	long long t0 = hvt_mono_us();
	struct qmp_msg m =
		ctl_cmd(&c,
			"{\"execute\": \"blockdev-snapshot-sync\", \"arguments\": "
			"{\"node-name\": \"disk0\", \"snapshot-file\": \"%s/ov1.qcow2\", "
			"\"snapshot-node-name\": \"ov1\", \"format\": \"qcow2\"}, "
			"\"id\": 5}",
			ctl);
	ck_assert_msg(m.kind == QMP_MSG_REPLY, "%s", m.err_desc);
	qmp_msg_clear(&m);
	struct hvt_event *ev = wait_event("snapshot.external.created", "vm1", mark, 5000);
	ck_assert_msg(ev, "the external snapshot was not seen");
	fprintf(stderr, "  external snapshot seen %.0f ms after the command (poll 200 ms)\n",
		(double)(hvt_mono_us() - t0) / 1000.0);
	json_object *v;
	ck_assert(json_object_object_get_ex(ev->data, "node", &v));
	ck_assert_str_eq(json_object_get_string(v), "ov1");

	/* HMP savevm emits no snapshot event either: the tag shows in the graph */
	mark = nev;
	ctl_ok(&c, "{\"execute\": \"human-monitor-command\", \"arguments\": "
	       "{\"command-line\": \"savevm hmp0\"}, \"id\": 6}");
	ev = wait_event("snapshot.created", "vm1", mark, 5000);
	ck_assert_msg(ev, "savevm was not seen");
	ck_assert(json_object_object_get_ex(ev->data, "tag", &v));
	ck_assert_str_eq(json_object_get_string(v), "hmp0");
	ck_assert(wait_event("vm.paused", "vm1", mark, 1));   /* savevm stops the VM */
	ctl_close(&c);
out:
	free(img);
	free(cmd);
	free(bd);
}
END_TEST

/* A live migration between two local QEMUs: both sides, with figures. */
START_TEST(test_migration)
{
	struct ctl s, d;
	char *incoming = hvt_asprintf("unix:%s/mig.sock", ctl);

	start_plugin(NULL);
	start_qemu("src", UUID1, NULL, NULL);
	start_qemu("dst", UUID1, NULL, incoming);
	ck_assert(wait_event("vm.started", "src", 0, 15000));
	ck_assert(wait_event("vm.started", "dst", 0, 15000));
	ctl_open(&s, "src");
	ctl_open(&d, "dst");
	size_t mark = nev;
	struct qmp_msg m = ctl_cmd(&s,
				   "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"%s\"}, "
				   "\"id\": 7}",
				   incoming);
	ck_assert_msg(m.kind == QMP_MSG_REPLY, "%s", m.err_desc);
	qmp_msg_clear(&m);
	struct hvt_event *ev = wait_event("migration.completed", "src", mark, 30000);
	ck_assert_msg(ev, "no migration.completed on the source");
	json_object *v;
	ck_assert_msg(json_object_object_get_ex(ev->data, "total_time_ms", &v), "no figures");
	ck_assert_msg(wait_event("migration.started", "src", mark, 1), "no migration.started");
	ck_assert_msg(wait_event("migration.incoming.started", "dst", mark, 5000), "dst start");
	ck_assert_msg(wait_event("migration.incoming.completed", "dst", mark, 10000), "dst end");
	ctl_close(&s);
	ctl_close(&d);
	free(incoming);
}
END_TEST

/* One client per monitor: QEMU accepts a second connection but greets it
 * only when the first client leaves.  The plugin times out, retries, and
 * gets in once the other client is gone. */
START_TEST(test_busy_monitor)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int blocker = -1;
	char buf[4096];

	start_qemu("vm1", UUID1, NULL, NULL);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/vm1.sock", dir);
	for (int i = 0; i < 500 && blocker < 0; i++) {   /* bounded: until QEMU listens */
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			blocker = fd;
			break;
		}
		close(fd);
		struct pollfd none = { .fd = -1 };
		poll(&none, 1, 20);
	}
	ck_assert_int_ge(blocker, 0);
	struct pollfd p = { .fd = blocker, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_gt(read(blocker, buf, sizeof buf), 0);   /* the blocker got the greeting */

	start_plugin(NULL);
	ck_assert_msg(wait_stat("timeouts", 1, 15000), "the busy monitor never timed out");   /* connect_timeout is 1 s */
	ck_assert_ptr_null(wait_event("vm.started", "vm1", 0, 1));
	close(blocker);
	ck_assert_msg(wait_event("vm.started", "vm1", 0, 10000), "no vm.started once the monitor "
		      "was free");
}
END_TEST

/* max_sockets bounds the files watched; a freed slot picks up the rest. */
START_TEST(test_max_sockets)
{
	start_plugin("max_sockets = 1\n");
	pid_t a = start_qemu("vma", UUID1, NULL, NULL);
	ck_assert(wait_event("vm.started", "vma", 0, 15000));
	start_qemu("vmb", UUID2, NULL, NULL);
	ck_assert_msg(wait_stat("ignored_over_max_sockets", 1, 10000), "vmb's socket was not noticed");
	ck_assert_int_eq(stat_of("sockets"), 1);
	ck_assert_ptr_null(wait_event("vm.started", "vmb", 0, 1));
	/* vma dies and its stale socket is cleaned up (as libvirt does) */
	kill_qemu(a);
	ck_assert(wait_event("vm.vanished", "vma", 0, 10000));
	char *path = hvt_asprintf("%s/vma.sock", dir);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	ck_assert_msg(wait_event("vm.started", "vmb", 0, 10000), "vmb not picked up");
}
END_TEST

/* A missing socket_dir is created at start. */
START_TEST(test_creates_dir)
{
	char *real = dir;
	struct stat st;

	dir = hvt_asprintf("%s/made/by/in_qmp", base);
	start_plugin(NULL);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	start_qemu("vm1", UUID1, NULL, NULL);
	ck_assert_msg(wait_event("vm.started", "vm1", 0, 15000), "created socket_dir not watched");
	free(real);
}
END_TEST

/* socket_dir may be unusable at start (a file in its place) and appear
 * later (tmpfiles, libvirt): it is watched once it is there. */
START_TEST(test_late_dir)
{
	char *real = dir;

	dir = hvt_asprintf("%s/late", base);
	FILE *f = fopen(dir, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	start_plugin(NULL);
	run_for(300);
	ck_assert_int_eq(unlink(dir), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	start_qemu("vm1", UUID1, NULL, NULL);
	ck_assert_msg(wait_event("vm.started", "vm1", 0, 15000), "late socket_dir not watched");
	free(real);
}
END_TEST

static bool have_qemu(void)
{
	char *cmd = hvt_asprintf("command -v %s >/dev/null 2>&1", QEMU);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

int main(void)
{
	char err[512];

	if (!have_qemu()) {
		fprintf(stderr, "%s not found: skipping the live QEMU tests\n", QEMU);
		return 77;
	}
	hvt_log_init("test_qmp_live");
	unsetenv("HVTRAIL_PLUGIN_PATH");
	plugin = hvt_plugin_load("in_qmp", IN_QMP_DIR, HVT_PLUGIN_INPUT, err, sizeof err);
	if (!plugin) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	Suite *su = suite_create("qmp_live");
	TCase *tc = tcase_create("qemu");
	tcase_set_timeout(tc, 90);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_pause);
	tcase_add_test(tc, test_bad_sockets);
	tcase_add_test(tc, test_external_snapshot);
	tcase_add_test(tc, test_migration);
	tcase_add_test(tc, test_max_sockets);
	tcase_add_test(tc, test_busy_monitor);
	tcase_add_test(tc, test_creates_dir);
	tcase_add_test(tc, test_late_dir);
	suite_add_tcase(su, tc);
	if (!mkdtemp(top)) {
		perror(top);
		return 1;
	}
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
