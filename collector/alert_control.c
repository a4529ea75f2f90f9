/* alert_control.c - the collector's control socket: what operators tell the
 * alert engine (`hvtrail silence add|expire`, `hvtrail alerts ack`).
 *
 * Why a local socket, and not a row the CLI writes into the index or
 * alerts.db: a silence changes who gets paged, so it must be recorded and
 * attributable.  The CLI holds no key the collector trusts and must not
 * write the trail (a reader could then forge it); over a unix socket the
 * kernel tells the collector who is asking (SO_PEERCRED: uid, gid, pid),
 * which no client can forge.  The collector records the request in its own
 * stream (silence.created, silence.expired, alert.acknowledged: host
 * "(collector)", data.by = that user) in the same transaction that makes it
 * take effect, and answers only after that committed.  Who may ask is who
 * may open the socket: mode 0660, group control_group.
 *
 * Protocol: one JSON object per connection, one line; one JSON answer line
 * ({"ok": true, ...} or {"ok": false, "error": "..."}).  Requests are small
 * and bounded (64 KiB, 5 s); one client at a time. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alert_silence.h"
#include "alerts_int.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

#define REQUEST_MAX (64 << 10)
#define REQUEST_MS 5000

struct control {
	struct alerts *al;
	int fd;
	char *path;
	pthread_t thread;
	bool running;
};

/* ---- who is asking ------------------------------------------------------------ */

static json_object *peer_of(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	json_object *by = json_object_new_object();
	char buf[1024], name[64];
	struct passwd pw, *res = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		json_object_put(by);
		return NULL;
	}
	if (getpwuid_r(cr.uid, &pw, buf, sizeof buf, &res) == 0 && res)
		hvt_strlcpy(name, res->pw_name, sizeof name);
	else
		snprintf(name, sizeof name, "uid %u", (unsigned)cr.uid);
	json_object_object_add(by, "user", json_object_new_string(name));
	json_object_object_add(by, "uid", json_object_new_int64(cr.uid));
	json_object_object_add(by, "gid", json_object_new_int64(cr.gid));
	json_object_object_add(by, "pid", json_object_new_int64(cr.pid));
	json_object_object_add(by, "via", json_object_new_string("control socket"));
	return by;
}

/* ---- silences ---------------------------------------------------------------------- */

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static long long jint(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}

/* A VM the silence names exactly (no glob characters): its events carry
 * it, so `hvtrail query --vm` shows the silence next to the VM's events. */
static const char *exact_vm(json_object *silence)
{
	json_object *m;
	const char *vm = json_object_object_get_ex(silence, "matchers", &m) ? jstr(m, "vm") : NULL;

	return vm && !strpbrk(vm, "*?[") ? vm : NULL;
}

static int silence_event(struct alerts *al, const char *type, json_object *silence, json_object *by,
			 const char *why)
{
	struct hvt_event *ev = hvt_event_new(type);
	char *matchers = silence_matchers_text(silence), t1[40], t2[40];
	json_object *m;
	const char *user = by ? jstr(by, "user") : NULL;
	int rc;

	ev->severity = HVT_SEV_NOTICE;
	ev->ts_us = hvt_now_us();
	if (exact_vm(silence))
		hvt_event_set_vm(ev, exact_vm(silence), NULL);
	hvt_format_rfc3339(jint(silence, "starts"), t1, sizeof t1);
	hvt_format_rfc3339(jint(silence, "ends"), t2, sizeof t2);
	if (!strcmp(type, "silence.created"))
		hvt_event_set_msg(ev, "silence %s by %s: %s from %s until %s (%s)", jstr(silence, "id"),
				  user ? user : "?", matchers, t1, t2, jstr(silence, "reason"));
	else
		hvt_event_set_msg(ev, "silence %s (%s) %s", jstr(silence, "id"), matchers, why);
	hvt_event_data_add(ev, "id", json_object_new_string(jstr(silence, "id")));
	if (json_object_object_get_ex(silence, "matchers", &m))
		hvt_event_data_add(ev, "matchers", json_object_get(m));
	hvt_event_data_add(ev, "starts", json_object_new_string(t1));
	hvt_event_data_add(ev, "ends", json_object_new_string(t2));
	hvt_event_data_add(ev, "reason", json_object_new_string(jstr(silence, "reason") ? jstr(silence, "reason") :
								  ""));
	if (jstr(silence, "author"))
		hvt_event_data_add(ev, "author", json_object_new_string(jstr(silence, "author")));
	hvt_event_data_add(ev, "by", by ? json_object_get(by) : NULL);
	if (strcmp(type, "silence.created") != 0)
		hvt_event_data_add(ev, "ended", json_object_new_string(why));
	rc = alert_store_add_event(al->store, ev);
	hvt_event_free(ev);
	free(matchers);
	return rc;
}

static int put_silence(struct alerts *al, json_object *silence, const char *state)
{
	return alert_store_silence_put(al->store, jstr(silence, "id"), state, jint(silence, "starts"),
				       jint(silence, "ends"), json_object_to_json_string_ext(silence,
											    JSON_C_TO_STRING_PLAIN));
}

static int ended_one(void *arg, const char *id, const char *json)
{
	struct alerts *al = arg;
	json_object *s = alert_json_parse(json, strlen(json));
	int rc = 0;

	(void)id;
	if (s)
		rc = put_silence(al, s, "expired") < 0 || silence_event(al, "silence.expired", s, NULL, "ended") < 0 ?
		     -1 : 0;
	json_object_put(s);
	return rc;
}

int alert_silences_ended(struct alerts *al, long long now_us)
{
	int rc;

	if (!alert_store_silences_count(al->store))
		return 0;
	if (alert_store_begin(al->store) < 0)
		return -1;
	rc = alert_store_silences_ended(al->store, now_us, ended_one, al);
	if (rc < 0) {
		alert_store_rollback(al->store);
		return -1;
	}
	if (alert_store_commit(al->store) < 0)
		return -1;
	al->pages_dirty = true;
	return 0;
}

/* ---- requests -------------------------------------------------------------------------- */

static void answer_error(struct hvt_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void answer_error(struct hvt_buf *out, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	hvt_buf_reset(out);
	hvt_buf_append_str(out, "{\"ok\":false,\"error\":");
	hvt_json_escape(out, msg);
	hvt_buf_append_str(out, "}");
}

/* Run fn in one transaction under the engine's lock. */
static int in_txn(struct alerts *al, int (*fn)(struct alerts *al, json_object *req, json_object *by,
					       struct hvt_buf *out), json_object *req, json_object *by,
		  struct hvt_buf *out)
{
	int rc;

	pthread_mutex_lock(&al->mx);
	if (alert_store_begin(al->store) < 0) {
		pthread_mutex_unlock(&al->mx);
		json_object_put(by);
		answer_error(out, "the collector cannot write its alert state (see its log)");
		return -1;
	}
	rc = fn(al, req, by, out);
	if (rc < 0)
		alert_store_rollback(al->store);
	else if (alert_store_commit(al->store) < 0) {
		rc = -1;
		answer_error(out, "the collector cannot write its alert state (see its log)");
	}
	if (rc >= 0)
		al->pages_dirty = true;
	alert_mute_reset(al);
	pthread_mutex_unlock(&al->mx);
	if (rc >= 0)
		alerts_wake(al);
	return rc;
}

static int op_silence_add(struct alerts *al, json_object *req, json_object *by, struct hvt_buf *out)
{
	unsigned char r[8];
	char id[17], err[300], t1[40], t2[40];
	json_object *s;

	if (alert_store_silences_count(al->store) >= SILENCES_ACTIVE_MAX) {
		json_object_put(by);
		answer_error(out, "%d silences are active: expire some first", SILENCES_ACTIVE_MAX);
		return -1;
	}
	hvt_random(r, sizeof r);
	hvt_hex(r, sizeof r, id);
	s = silence_from_request(req, id, by, hvt_now_us(), err, sizeof err);
	if (!s) {
		answer_error(out, "%s", err);
		return -1;
	}
	if (put_silence(al, s, "active") < 0 || silence_event(al, "silence.created", s, by, "") < 0) {
		json_object_put(s);
		answer_error(out, "the collector cannot record the silence (see its log)");
		return -1;
	}
	hvt_format_rfc3339(jint(s, "starts"), t1, sizeof t1);
	hvt_format_rfc3339(jint(s, "ends"), t2, sizeof t2);
	hvt_buf_printf(out, "{\"ok\":true,\"id\":\"%s\",\"starts\":\"%s\",\"ends\":\"%s\"}", id, t1, t2);
	char *m = silence_matchers_text(s);
	hvt_log(LOG_NOTICE, "silence %s added by %s: %s until %s", id, jstr(by, "user"), m, t2);
	free(m);
	json_object_put(s);
	return 0;
}

static int op_silence_expire(struct alerts *al, json_object *req, json_object *by, struct hvt_buf *out)
{
	const char *id = jstr(req, "id");
	char *json = NULL, *state = NULL, why[200];
	int rc = -1;

	if (!id || strlen(id) != 16 || strspn(id, "0123456789abcdef") != 16) {
		answer_error(out, "a silence id is 16 hex digits (hvtrail silence list)");
		goto out;
	}
	int got = alert_store_silence_get(al->store, id, &json, &state);
	json_object *s = got == 1 ? alert_json_parse(json, strlen(json)) : NULL;
	if (!s) {
		answer_error(out, got < 0 ? "cannot read the silences (see the collector's log)" : "no silence %s", id);
		goto out;
	}
	if (strcmp(state, "active") != 0 || jint(s, "ends") <= hvt_now_us()) {
		hvt_buf_printf(out, "{\"ok\":true,\"id\":\"%s\",\"already\":true}", id);
		json_object_put(s);
		rc = 0;
		goto out;
	}
	json_object_object_add(s, "ends", json_object_new_int64(hvt_now_us()));
	snprintf(why, sizeof why, "expired by %s", jstr(by, "user"));
	if (put_silence(al, s, "expired") < 0 || silence_event(al, "silence.expired", s, by, why) < 0) {
		answer_error(out, "the collector cannot record it (see its log)");
	} else {
		hvt_buf_printf(out, "{\"ok\":true,\"id\":\"%s\"}", id);
		hvt_log(LOG_NOTICE, "silence %s %s", id, why);
		rc = 0;
	}
	json_object_put(s);
out:
	free(json);
	free(state);
	json_object_put(by);
	return rc;
}

static int op_ack(struct alerts *al, json_object *req, json_object *by, struct hvt_buf *out)
{
	const char *key = jstr(req, "key"), *comment = jstr(req, "comment");
	char err[300], full[17] = "";
	const char *user = jstr(by, "user");
	char who[64];

	hvt_strlcpy(who, user ? user : "?", sizeof who);
	if (!key || !*key) {
		json_object_put(by);
		answer_error(out, "which alert? give its key (hvtrail alerts)");
		return -1;
	}
	if (comment && (strlen(comment) > 1000 || !hvt_utf8_valid(comment, strlen(comment)))) {
		json_object_put(by);
		answer_error(out, "the comment is one line of up to 1000 characters");
		return -1;
	}
	int rc = alert_page_ack(al, key, by, comment, err, sizeof err, full, sizeof full);
	if (rc < 0) {
		answer_error(out, "%s", err);
		return -1;
	}
	hvt_buf_printf(out, "{\"ok\":true,\"key\":\"%s\",\"already\":%s}", full, rc == 0 ? "true" : "false");
	if (rc > 0)
		hvt_log(LOG_NOTICE, "alert %s acknowledged by %s", full, who);
	return 0;
}

static void handle(struct control *c, int fd)
{
	struct hvt_buf in = { 0 }, out = { 0 };
	long long deadline = hvt_mono_us() + REQUEST_MS * 1000LL;
	json_object *req = NULL, *by = peer_of(fd);
	char buf[4096];

	while (!memchr(in.data ? in.data : "", '\n', in.len) && in.len < REQUEST_MAX) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = (deadline - hvt_mono_us()) / 1000;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		hvt_buf_append(&in, buf, (size_t)n);
	}
	const char *op = NULL;
	if (!by)
		answer_error(&out, "cannot tell who is asking (SO_PEERCRED)");
	else if (!in.len || !memchr(in.data, '\n', in.len) || in.len > REQUEST_MAX)
		answer_error(&out, "one JSON request line of up to %d bytes, within %d s", REQUEST_MAX, REQUEST_MS / 1000);
	else if (!(req = alert_json_parse(in.data, (size_t)((char *)memchr(in.data, '\n', in.len) - in.data))) ||
		 !json_object_is_type(req, json_type_object) || !(op = jstr(req, "op")))
		answer_error(&out, "the request is not a JSON object with an op");
	else if (!strcmp(op, "ping"))
		hvt_buf_printf(&out, "{\"ok\":true,\"version\":\"%s\"}", PACKAGE_VERSION);
	else if (!strcmp(op, "silence.add"))
		in_txn(c->al, op_silence_add, req, json_object_get(by), &out);
	else if (!strcmp(op, "silence.expire"))
		in_txn(c->al, op_silence_expire, req, json_object_get(by), &out);
	else if (!strcmp(op, "alert.ack"))
		in_txn(c->al, op_ack, req, json_object_get(by), &out);
	else
		answer_error(&out, "unknown op '%.40s'", op);
	if (!out.len)
		answer_error(&out, "internal error");
	hvt_buf_append_str(&out, "\n");
	(void)hvt_write_all(fd, out.data, out.len);
	json_object_put(req);
	json_object_put(by);
	hvt_buf_free(&in);
	hvt_buf_free(&out);
}

static void *serve(void *arg)
{
	struct control *c = arg;

	pthread_setname_np(pthread_self(), "hvt-control");
	while (!c->al->stop) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		handle(c, fd);
		close(fd);
	}
	return NULL;
}

/* ---- set-up ---------------------------------------------------------------------------- */

static int listen_at(struct control *c, const char *path, const char *group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof sa.sun_path) {
		hvt_log(LOG_ERR, "control_socket %s: the path is too long for a unix socket", path);
		return -1;
	}
	/* a socket left by a collector that died; never anything else */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			hvt_log(LOG_ERR, "control_socket %s exists and is no socket; not touching it", path);
			return -1;
		}
		unlink(path);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0117);
	int rc = c->fd < 0 ? -1 : bind(c->fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || listen(c->fd, 16) < 0) {
		hvt_log(LOG_ERR, "control_socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (*group) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(group, &gr, buf, sizeof buf, &res) != 0 || !res ||
		    chown(path, (uid_t)-1, res->gr_gid) < 0)
			hvt_log(LOG_WARNING, "control_socket %s: cannot give it to group %s (%s); only the collector's "
				"user and group can use it", path, group, res ? strerror(errno) : "no such group");
	}
	chmod(path, 0660);
	return 0;
}

int alert_control_start(struct alerts *al, const char *path, const char *group)
{
	struct control *c = hvt_calloc(1, sizeof *c);

	c->al = al;
	c->fd = -1;
	c->path = hvt_strdup(path);
	al->control = c;
	if (listen_at(c, path, group) < 0)
		return -1;
	if (pthread_create(&c->thread, NULL, serve, c) != 0) {
		hvt_log(LOG_ERR, "cannot start the control socket's thread");
		return -1;
	}
	c->running = true;
	hvt_log(LOG_INFO, "control socket %s (hvtrail silence, hvtrail alerts ack)", path);
	return 0;
}

void alert_control_stop(struct alerts *al)
{
	struct control *c = al->control;

	if (!c)
		return;
	if (c->running)
		pthread_join(c->thread, NULL);   /* it sees al->stop within 200 ms */
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	free(c->path);
	free(c);
	al->control = NULL;
}
