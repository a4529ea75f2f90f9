/* control.c - see control.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "control.h"
#include "util.h"

#define ANSWER_MAX (64 << 10)
#define ANSWER_MS 15000           /* the collector answers after its commit */

const char cli_control_help[] =
	"Where the collector is (one of):\n"
	"      --socket PATH      its control socket\n"
	"  -c, --config FILE      the collector's configuration: [alerting] control_socket,\n"
	"                         else STATE_DIR/control.sock (default: " HVT_SYSCONFDIR "/collector.conf)\n";

/* The keys of the collector's configuration we need. */
static const struct hvt_conf_key collector_keys[] = {
	{ "state_dir", HVT_CONF_STRING, "/var/lib/hvtrail/collector", NULL, NULL, 0, 0, 0 },
	HVT_CONF_END
};
static const struct hvt_conf_key alerting_keys[] = {
	{ "control_socket", HVT_CONF_STRING, "", NULL, NULL, 0, 0, 0 },
	HVT_CONF_END
};

static char *socket_path(const char *cmd, const struct cli_control_opts *o)
{
	const char *path = o->config ? o->config : HVT_SYSCONFDIR "/collector.conf";
	struct hvt_conf *c;
	char *sock;

	if (o->socket)
		return hvt_strdup(o->socket);
	c = hvt_conf_load(path, CLI_PROG);
	if (!c || c->errors) {
		cli_error(cmd, "cannot read %s%s", path, o->config ? "" : " (the default; use -c FILE or --socket PATH)");
		hvt_conf_free(c);
		return NULL;
	}
	const char *cs = hvt_conf_str(hvt_conf_find(c, "alerting"), alerting_keys, "control_socket");
	sock = *cs ? hvt_strdup(cs) :
	       hvt_asprintf("%s/control.sock", hvt_conf_str(hvt_conf_find(c, "collector"), collector_keys, "state_dir"));
	hvt_conf_free(c);
	return sock;
}

static int connect_to(const char *cmd, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof sa.sun_path) {
		cli_error(cmd, "%s: the path is too long for a unix socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		cli_error(cmd, "cannot reach the collector at %s: %s%s", path, strerror(e),
			  e == EACCES ? " (its group may use it: [alerting] control_group)" :
			  e == ENOENT || e == ECONNREFUSED ? " (is it running, with an [alert:NAME] rule?)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

json_object *cli_control(const char *cmd, const struct cli_control_opts *o, json_object *req, int *rc)
{
	char *path = socket_path(cmd, o), buf[4096];
	struct hvt_buf in = { 0 };
	json_object *ans = NULL, *ok, *err;
	int fd = path ? connect_to(cmd, path) : -1;
	long long deadline = hvt_mono_us() + ANSWER_MS * 1000LL;

	*rc = CLI_NO_INDEX;
	if (fd < 0)
		goto out;
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (hvt_write_all(fd, text, strlen(text)) < 0 || hvt_write_all(fd, "\n", 1) < 0) {
		cli_error(cmd, "cannot send to the collector at %s: %s", path, strerror(errno));
		goto out;
	}
	while (in.len < ANSWER_MAX && !memchr(in.data ? in.data : "", '\n', in.len)) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = (deadline - hvt_mono_us()) / 1000;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		hvt_buf_append(&in, buf, (size_t)n);
	}
	ans = in.len ? json_tokener_parse(hvt_buf_cstr(&in)) : NULL;
	if (!ans || !json_object_is_type(ans, json_type_object)) {
		cli_error(cmd, "the collector at %s gave no answer in %d s", path, ANSWER_MS / 1000);
		json_object_put(ans);
		ans = NULL;
		goto out;
	}
	if (!json_object_object_get_ex(ans, "ok", &ok) || !json_object_get_boolean(ok)) {
		cli_error(cmd, "the collector refused: %s", json_object_object_get_ex(ans, "error", &err) ?
			  json_object_get_string(err) : "(no reason given)");
		json_object_put(ans);
		ans = NULL;
		*rc = CLI_FAILED;
		goto out;
	}
	*rc = CLI_OK;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	hvt_buf_free(&in);
	json_object_put(req);
	return ans;
}
