/* act_exec.c - run a program for each alert (docs/alerting.md).
 *
 * The command runs under /bin/sh -c, as the collector's user, in its own
 * session (so a timeout kills the whole process group), with no file
 * descriptor of the collector but the three we give it:
 *   stdin   the alert document (JSON: summary, key fields, the event);
 *   stdout, stderr  read back; the last line becomes the error text when
 *           the program fails;
 *   environment  the collector's, plus HVT_ALERT_* and HVT_EVENT_*.
 * Event data never reaches the command line: a VM name is not shell code.
 * Exit status 0 = delivered; anything else, or the timeout, = failed, and
 * the collector retries with backoff.  posix_spawn, not fork: the collector
 * is multithreaded. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "hvtrail-plugin.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

#define TAIL_MAX 400              /* output bytes kept for the error text */

extern char **environ;

static const struct hvt_conf_key keys[] = {
	{ "command", HVT_CONF_STRING, NULL, "program and arguments, run with /bin/sh -c; the alert reaches it "
	  "on stdin (JSON) and in HVT_ALERT_* / HVT_EVENT_* variables, never in the command line", NULL, 0, 0,
	  HVT_CONF_REQUIRED },
	{ "timeout", HVT_CONF_DURATION, "10s", "a run still going after this is killed (its whole process "
	  "group) and counts as failed", NULL, 100, 3600 * 1000, 0 },
	HVT_CONF_END
};

struct exec {
	char *command;
	long long timeout_ms;
};

static int check(struct hvt_instance *inst)
{
	const char *cmd = hvt_conf_str(inst->conf, keys, "command");

	if (!*cmd) {
		hvt_conf_error(inst->config, inst->conf->file, inst->conf->line, "[%s] command is empty", inst->name);
		return -1;
	}
	return 0;
}

static int init(struct hvt_instance *inst)
{
	struct exec *x = hvt_calloc(1, sizeof *x);

	x->command = hvt_strdup(hvt_conf_str(inst->conf, keys, "command"));
	x->timeout_ms = hvt_conf_duration_ms(inst->conf, keys, "timeout");
	inst->priv = x;
	return 0;
}

static void stop(struct hvt_instance *inst)
{
	struct exec *x = inst->priv;

	if (!x)
		return;
	free(x->command);
	free(x);
	inst->priv = NULL;
}

/* ---- the environment ------------------------------------------------------ */

struct env {
	char **v;
	size_t n, cap;
};

static void env_add(struct env *e, char *item)
{
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->v = hvt_realloc(e->v, e->cap * sizeof *e->v);
	}
	e->v[e->n++] = item;
	e->v[e->n] = NULL;
}

static void env_set(struct env *e, const char *name, const char *value)
{
	env_add(e, hvt_asprintf("%s=%s", name, value ? value : ""));
}

static void env_time(struct env *e, const char *name, long long us)
{
	char t[40];

	hvt_format_rfc3339(us, t, sizeof t);
	env_set(e, name, t);
}

static void env_build(struct env *e, const struct hvt_alert *a)
{
	const struct hvt_event *ev = a->ev;
	char num[32];

	/* the collector's environment, without HVT_ variables that could be
	 * mistaken for this alert's */
	for (char **p = environ; p && *p; p++)
		if (!hvt_str_has_prefix(*p, "HVT_ALERT_") && !hvt_str_has_prefix(*p, "HVT_EVENT_"))
			env_add(e, hvt_strdup(*p));
	env_set(e, "HVT_ALERT_ID", a->id);
	env_set(e, "HVT_ALERT_RULE", a->rule);
	env_set(e, "HVT_ALERT_SUMMARY", a->summary);
	env_set(e, "HVT_ALERT_SEVERITY", hvt_severity_name(a->severity));
	env_set(e, "HVT_ALERT_KEY", a->key ? a->key : "");
	env_set(e, "HVT_ALERT_STATUS", a->status ? a->status : "firing");
	env_set(e, "HVT_ALERT_TRANSITION", a->transition ? a->transition : "opened");
	snprintf(num, sizeof num, "%d", a->attempt);
	env_set(e, "HVT_ALERT_ATTEMPT", num);
	env_time(e, "HVT_ALERT_FIRED", a->fired_us);
	if (!ev)
		return;
	env_set(e, "HVT_EVENT_ID", ev->id);
	env_set(e, "HVT_EVENT_TYPE", ev->type);
	env_set(e, "HVT_EVENT_HOST", ev->host);
	env_set(e, "HVT_EVENT_VM", ev->vm_name);
	env_set(e, "HVT_EVENT_VM_UUID", ev->vm_uuid);
	env_set(e, "HVT_EVENT_SEVERITY", hvt_severity_name(ev->severity));
	env_time(e, "HVT_EVENT_TIME", ev->ts_us);
	snprintf(num, sizeof num, "%lld", ev->ts_us);
	env_set(e, "HVT_EVENT_TS_US", num);
}

static void env_free(struct env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

/* ---- running it -------------------------------------------------------------- */

struct child {
	pid_t pid;
	int in, out;              /* our ends: its stdin, its stdout+stderr */
	const char *data;         /* still to write to its stdin */
	size_t left;
	char tail[TAIL_MAX + 1];
	size_t ntail;
	int status;
	bool exited;
};

static int spawn(struct exec *x, const struct hvt_alert *a, struct child *c, char *err, size_t errsize)
{
	int in[2], out[2], rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	struct env e = { 0 };
	char *argv[] = { (char *)"sh", (char *)"-c", x->command, NULL };

	if (pipe2(in, O_CLOEXEC) < 0)
		return snprintf(err, errsize, "pipe: %s", strerror(errno)), -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		snprintf(err, errsize, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	/* the RELP sockets, the inbox and the databases are none of its business */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&dfl);
	posix_spawnattr_setsigmask(&at, &none);        /* the collector blocks its signals */
	posix_spawnattr_setsigdefault(&at, &dfl);      /* and ignores SIGPIPE */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	env_build(&e, a);
	rc = posix_spawn(&c->pid, "/bin/sh", &fa, &at, argv, e.v);
	env_free(&e);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		snprintf(err, errsize, "cannot run /bin/sh: %s", strerror(rc));
		close(in[1]);
		close(out[0]);
		return -1;
	}
	c->in = in[1];
	c->out = out[0];
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	return 0;
}

static void keep_tail(struct child *c, const char *p, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(c->tail, p + n - TAIL_MAX, TAIL_MAX);
		c->ntail = TAIL_MAX;
		return;
	}
	if (c->ntail + n > TAIL_MAX) {
		size_t drop = c->ntail + n - TAIL_MAX;
		memmove(c->tail, c->tail + drop, c->ntail - drop);
		c->ntail -= drop;
	}
	memcpy(c->tail + c->ntail, p, n);
	c->ntail += n;
}

/* One round of feeding stdin and reading output; waits up to ms. */
static void pump(struct child *c, int ms)
{
	struct pollfd p[2] = { { c->out, POLLIN, 0 }, { c->in, POLLOUT, 0 } };
	char buf[4096];

	if (poll(p, c->in >= 0 ? 2 : 1, ms) <= 0)
		return;
	if (p[0].revents) {
		ssize_t n;
		while ((n = read(c->out, buf, sizeof buf)) > 0)
			keep_tail(c, buf, (size_t)n);
	}
	if (c->in >= 0 && p[1].revents) {
		ssize_t n = write(c->in, c->data, c->left);
		if (n > 0) {
			c->data += n;
			c->left -= (size_t)n;
		}
		/* done, or it closed its stdin (EPIPE): it may not want the JSON */
		if (!c->left || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    (p[1].revents & (POLLERR | POLLHUP))) {
			close(c->in);
			c->in = -1;
		}
	}
}

/* The last non-empty output line, for the error text. */
static void last_line(const struct child *c, char *out, size_t size)
{
	char tmp[TAIL_MAX + 1];
	size_t n = c->ntail;

	memcpy(tmp, c->tail, n);
	while (n && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r' || tmp[n - 1] == ' '))
		n--;
	tmp[n] = '\0';
	char *nl = strrchr(tmp, '\n');
	struct hvt_buf b = { 0 };
	const char *s = nl ? nl + 1 : tmp;
	for (; *s; s++)       /* whatever the program printed: printable only */
		hvt_buf_append(&b, (unsigned char)*s < 0x20 || *s == 0x7f ? "?" : s, 1);
	hvt_strlcpy(out, b.data ? b.data : "", size);
	hvt_buf_free(&b);
}

static int deliver(struct hvt_instance *inst, const struct hvt_alert *a, char *err, size_t errsize)
{
	struct exec *x = inst->priv;
	struct child c = { .in = -1, .out = -1, .data = a->json, .left = strlen(a->json) };
	long long deadline = hvt_mono_us() + x->timeout_ms * 1000;
	char line[TAIL_MAX + 1];

	if (spawn(x, a, &c, err, errsize) < 0)
		return -1;
	while (!c.exited && hvt_mono_us() < deadline) {
		pump(&c, 20);
		c.exited = waitpid(c.pid, &c.status, WNOHANG) == c.pid;
	}
	if (!c.exited) {
		kill(-c.pid, SIGKILL);
		waitpid(c.pid, &c.status, 0);
		snprintf(err, errsize, "still running after %lld ms: killed", x->timeout_ms);
	}
	pump(&c, 0);              /* what it printed last */
	if (c.in >= 0)
		close(c.in);
	close(c.out);
	if (!c.exited)
		return -1;
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)
		return 0;
	last_line(&c, line, sizeof line);
	if (WIFEXITED(c.status))
		snprintf(err, errsize, "exited with status %d%s%s", WEXITSTATUS(c.status), *line ? ": " : "", line);
	else
		snprintf(err, errsize, "killed by signal %d%s%s", WTERMSIG(c.status), *line ? ": " : "", line);
	return -1;
}

static const struct hvt_action_ops ops = { .deliver = deliver };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "act_exec",
	.kind = HVT_PLUGIN_ACTION,
	.summary = "run a program per alert (JSON on stdin, key fields in the environment)",
	.conf_keys = keys,
	.check = check,
	.init = init,
	.stop = stop,
	.ops = &ops,
};
