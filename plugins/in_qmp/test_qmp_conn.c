/* test_qmp_conn.c - one QMP connection against a scripted fake QEMU.
 *
 * The fake runs in a thread with blocking I/O and plays what the lab saw
 * real QEMU do at its worst: events interleaved with replies, bursts of
 * id-less errors, a line longer than max_line, invalid UTF-8, a command it
 * never answers and answers late.  The connection under test runs on an
 * sd_event loop in the main thread. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "qmp_conn.h"
#include "util.h"

static char sock_path[108];
static int listen_fd = -1;

/* ---- the fake QEMU -------------------------------------------------------------- */

struct fake {
	int fd;
	struct hvt_buf rx;            /* bytes of a command line not complete yet */
	long long ids[8];             /* ids of the commands read, in order */
	char cmds[8][40];
	int n;
};

static void fwrite_all(struct fake *k, const char *s, size_t n)
{
	ck_assert_int_eq(hvt_write_all(k->fd, s, n), (ssize_t)n);
}

static void fsend(struct fake *k, const char *line)
{
	fwrite_all(k, line, strlen(line));
	fwrite_all(k, "\r\n", 2);
}

/* Take one complete command line off rx, if there is one. */
static bool take_command(struct fake *k)
{
	char *nl = k->rx.len ? memchr(k->rx.data, '\n', k->rx.len) : NULL;
	json_object *o, *id, *ex;

	if (!nl)
		return false;
	*nl = '\0';
	o = json_tokener_parse(k->rx.data);
	ck_assert_msg(o && json_object_object_get_ex(o, "id", &id) &&
		      json_object_object_get_ex(o, "execute", &ex), "bad command %s", k->rx.data);
	k->ids[k->n] = json_object_get_int64(id);
	hvt_strlcpy(k->cmds[k->n], json_object_get_string(ex), sizeof k->cmds[0]);
	k->n++;
	json_object_put(o);
	size_t used = (size_t)(nl + 1 - k->rx.data);
	memmove(k->rx.data, nl + 1, k->rx.len - used);
	k->rx.len -= used;
	return true;
}

/* Read commands until n have arrived in all. */
static void fread_cmds(struct fake *k, int n)
{
	char buf[4096];

	while (k->n < n) {
		if (take_command(k))
			continue;
		ssize_t r = read(k->fd, buf, sizeof buf);
		ck_assert_int_gt(r, 0);
		hvt_buf_append(&k->rx, buf, (size_t)r);
	}
}

static void freply(struct fake *k, int i, const char *ret)
{
	char line[512];

	snprintf(line, sizeof line, "{\"return\": %s, \"id\": %lld}", ret, k->ids[i]);
	fsend(k, line);
}

static void *fake_qemu(void *arg)
{
	struct fake k = { 0 };

	(void)arg;
	k.fd = accept(listen_fd, NULL, NULL);
	fsend(&k, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
		  "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}");
	fread_cmds(&k, 1);
	ck_assert_str_eq(k.cmds[0], "qmp_capabilities");
	freply(&k, 0, "{}");
	fread_cmds(&k, 4);   /* query-name, query-uuid, migrate-set-capabilities */
	fsend(&k, "{\"timestamp\": {\"seconds\": 1795384292, \"microseconds\": 1}, \"event\": "
		  "\"STOP\"}");
	for (int i = 0; i < 50; i++)   /* what QEMU answers to a malformed command */
		fsend(&k, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, "
			  "expecting value\"}}");
	fsend(&k, "{\"return\": \"\xff\xfe\", \"id\": 999}");   /* invalid UTF-8 */
	for (int i = 1; i < 4; i++) {
		if (strcmp(k.cmds[i], "query-name") == 0)
			freply(&k, i, "{\"name\": \"fake\"}");
		else if (strcmp(k.cmds[i], "query-uuid") == 0)
			freply(&k, i, "{\"UUID\": \"0b0e5a5e-1111-2222-3333-444455556666\"}");
		else
			fsend(&k, "{\"id\": 0, \"error\": {\"class\": \"GenericError\", "
				  "\"desc\": \"wrong id on purpose\"}}");
	}
	/* the migrate-set-capabilities reply comes, with the right id, after
	 * a 200 KB line the client must skip (its max_line is 64 KiB) */
	char *big = hvt_malloc(200000);
	memset(big, 'A', 200000);
	fwrite_all(&k, "{\"return\": \"", 12);
	fwrite_all(&k, big, 200000);
	fwrite_all(&k, "\"}\r\n", 4);
	free(big);
	for (int i = 1; i < 4; i++)
		if (strcmp(k.cmds[i], "migrate-set-capabilities") == 0)
			freply(&k, i, "{}");
	fsend(&k, "{\"timestamp\": {\"seconds\": 1795384292, \"microseconds\": 2}, \"event\": "
		  "\"RESUME\"}");
	/* a command left unanswered until after the client gave up: the
	 * client sends the next one only once the first has timed out, so
	 * its arrival (not a sleep) says when the late answer is late */
	fread_cmds(&k, 5);
	fread_cmds(&k, 6);
	freply(&k, 4, "{\"status\": \"late\"}");
	freply(&k, 5, "{\"status\": \"running\", \"running\": true}");
	fread_cmds(&k, 7);   /* the client's last word */
	hvt_buf_free(&k.rx);
	close(k.fd);         /* QEMU exits */
	return NULL;
}

/* ---- the client ------------------------------------------------------------------ */

static sd_event *loop;
static struct qmp_conn *conn;
static struct qmp_conn_stats stats;
static char name[64], uuid[64];
static bool ready, mig_events;
static char events[8][16];
static int nevents;
static enum qmp_close closed_why;
static char replies[4][64];
static int nreplies;

static void c_ready(void *arg, const struct qmp_identity *id)
{
	(void)arg;
	ready = true;
	hvt_strlcpy(name, id->name ? id->name : "", sizeof name);
	hvt_strlcpy(uuid, id->uuid ? id->uuid : "", sizeof uuid);
	mig_events = id->migration_events;
}

static void c_message(void *arg, const struct qmp_msg *m)
{
	(void)arg;
	ck_assert(ready);   /* held until the identity is known */
	hvt_strlcpy(events[nevents++], m->event, sizeof events[0]);
}

static void c_closed(void *arg, enum qmp_close why, const char *detail)
{
	(void)arg;
	(void)detail;
	closed_why = why;
	qmp_conn_free(conn);
	conn = NULL;
}

static const struct qmp_conn_ops c_ops = { c_ready, c_message, c_closed };

static void on_reply(void *arg, uint64_t cookie, const struct qmp_msg *reply, const char *error)
{
	(void)arg;
	snprintf(replies[nreplies++], sizeof replies[0], "%llu:%s", (unsigned long long)cookie,
		 error ? error : reply->kind == QMP_MSG_REPLY ? "ok" : "error");
}

static void run_until(bool *flag, int timeout_ms)
{
	long long deadline = hvt_mono_us() + timeout_ms * 1000LL;

	while (!*flag && hvt_mono_us() < deadline)
		sd_event_run(loop, 50000);
}

START_TEST(test_hostile_qemu)
{
	char dir[] = "/tmp/hvt-qmp-conn-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t th;
	enum qmp_close why;
	char detail[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof sock_path, "%s/fake.sock", dir);
	hvt_strlcpy(sa.sun_path, sock_path, sizeof sa.sun_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(listen_fd, 4), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, fake_qemu, NULL), 0);

	ck_assert_int_ge(sd_event_new(&loop), 0);
	struct qmp_conn_opts o = {
		.max_line = 65536, .connect_timeout_us = 5000000, .command_timeout_us = 300000,
		.max_inflight = 4, .migration_events = true, .stats = &stats,
	};
	conn = qmp_conn_open(loop, sock_path, &o, &c_ops, NULL, &why, detail, sizeof detail);
	ck_assert_msg(conn, "%s", detail);
	ck_assert(!qmp_conn_command(conn, "query-status", NULL, on_reply, NULL, 1)); /* not ready */
	run_until(&ready, 5000);
	ck_assert(ready);
	ck_assert_str_eq(name, "fake");
	ck_assert_str_eq(uuid, "0b0e5a5e-1111-2222-3333-444455556666");
	ck_assert(mig_events);
	long long deadline = hvt_mono_us() + 5000000;
	while (nevents < 2 && hvt_mono_us() < deadline)
		sd_event_run(loop, 50000);
	ck_assert_int_eq(nevents, 2);
	ck_assert_str_eq(events[0], "STOP");
	ck_assert_str_eq(events[1], "RESUME");
	ck_assert_uint_eq(stats.oversize, 1);
	ck_assert_uint_eq(stats.garbage, 1);
	ck_assert_uint_ge(stats.unmatched, 51);   /* 50 id-less errors + the wrong id */

	/* unanswered: times out; its late answer is dropped */
	ck_assert(qmp_conn_command(conn, "query-status", NULL, on_reply, NULL, 7));
	deadline = hvt_mono_us() + 5000000;
	while (nreplies < 1 && hvt_mono_us() < deadline)
		sd_event_run(loop, 50000);
	ck_assert_str_eq(replies[0], "7:timeout");
	ck_assert_uint_eq(stats.timeouts, 1);
	unsigned long long unmatched = stats.unmatched;
	ck_assert(qmp_conn_command(conn, "query-status", NULL, on_reply, NULL, 8));
	deadline = hvt_mono_us() + 5000000;
	while (nreplies < 2 && hvt_mono_us() < deadline)
		sd_event_run(loop, 50000);
	ck_assert_str_eq(replies[1], "8:ok");
	ck_assert_uint_eq(stats.unmatched, unmatched + 1);   /* the late one */
	ck_assert_int_eq(nreplies, 2);

	/* QEMU goes away: closed() from the loop, with EOF */
	ck_assert(qmp_conn_command(conn, "query-status", NULL, on_reply, NULL, 9));
	deadline = hvt_mono_us() + 5000000;
	while (conn && hvt_mono_us() < deadline)
		sd_event_run(loop, 50000);
	ck_assert_ptr_null(conn);
	ck_assert_int_eq(closed_why, QMP_CLOSE_EOF);
	ck_assert_int_eq(nreplies, 2);   /* never called after close */
	pthread_join(th, NULL);
	close(listen_fd);
	unlink(sock_path);
	rmdir(dir);
	sd_event_unref(loop);
}
END_TEST

/* connect() itself failing is reported at once, without a connection. */
START_TEST(test_connect_errors)
{
	char dir[] = "/tmp/hvt-qmp-conn-XXXXXX";
	struct qmp_conn_opts o = { .max_line = 4096, .connect_timeout_us = 1000000,
				   .command_timeout_us = 1000000, .max_inflight = 1 };
	enum qmp_close why = 0;
	char detail[256], *path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	ck_assert_int_ge(sd_event_new(&loop), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = hvt_asprintf("%s/none.sock", dir);
	ck_assert_ptr_null(
		qmp_conn_open(loop, path, &o, &c_ops, NULL, &why, detail, sizeof detail));
	ck_assert_int_eq(why, QMP_CLOSE_NOENT);
	/* a stale socket: the file exists, nobody listens (QEMU was killed) */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	hvt_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	ck_assert_ptr_null(
		qmp_conn_open(loop, path, &o, &c_ops, NULL, &why, detail, sizeof detail));
	ck_assert_int_eq(why, QMP_CLOSE_REFUSED);
	unlink(path);
	rmdir(dir);
	free(path);
	sd_event_unref(loop);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qmp_conn");
	TCase *tc = tcase_create("conn");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hostile_qemu);
	tcase_add_test(tc, test_connect_errors);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
