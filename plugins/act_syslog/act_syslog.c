/* act_syslog.c - each alert as one line in this machine's syslog or
 * journal (docs/alerting.md).
 *
 * target = syslog writes an RFC 3164 datagram to a local socket (/dev/log:
 * journald, rsyslog or syslog-ng read it), without openlog(): the
 * collector's own log must keep its identity.  target = journal sends a
 * structured entry whose HVTRAIL_* fields name the alert, so
 * `journalctl HVTRAIL_RULE=colo` finds them.  A full or missing socket is
 * a failed delivery the collector retries; nothing here blocks. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "event.h"
#include "hvtrail-plugin.h"
#include "log.h"
#include "rfc5424.h"
#include "util.h"

#define MAX_LINE 2048

static const struct hvt_conf_key keys[] = {
	{ "target", HVT_CONF_ENUM, "syslog", "syslog (a datagram to socket) or journal (a structured "
	  "entry with HVTRAIL_* fields)", "syslog|journal", 0, 0, 0 },
	{ "socket", HVT_CONF_PATH, "/dev/log", "with target = syslog: the local syslog socket", NULL, 0, 0, 0 },
	{ "identifier", HVT_CONF_STRING, "hvtrail-alert", "syslog tag (SYSLOG_IDENTIFIER)", NULL, 0, 0, 0 },
	{ "facility", HVT_CONF_ENUM, "daemon", "syslog facility",
	  "user|daemon|auth|authpriv|local0|local1|local2|local3|local4|local5|local6|local7", 0, 0, 0 },
	{ "priority", HVT_CONF_STRING, "", "syslog severity of the line (emerg .. debug); empty: the alert's",
	  NULL, 0, 0, 0 },
	HVT_CONF_END
};

struct slog {
	bool journal;
	char *socket, *ident;
	int facility;                 /* shifted, as LOG_DAEMON */
	int priority;             /* -1: the alert's severity */
};

static int check(struct hvt_instance *inst)
{
	const char *p = hvt_conf_str(inst->conf, keys, "priority");

	if (*p && hvt_severity_parse(p) < 0) {
		hvt_conf_error(inst->config, inst->conf ? inst->conf->file : "", inst->conf ? inst->conf->line : 0,
			       "[%s] priority: '%s' is none of emerg, alert, crit, err, warning, notice, info, debug",
			       inst->name, p);
		return -1;
	}
	return 0;
}

static int init(struct hvt_instance *inst)
{
	struct slog *s = hvt_calloc(1, sizeof *s);
	const char *f = hvt_conf_str(inst->conf, keys, "facility");
	const char *p = hvt_conf_str(inst->conf, keys, "priority");

	s->journal = strcmp(hvt_conf_str(inst->conf, keys, "target"), "journal") == 0;
	s->socket = hvt_strdup(hvt_conf_str(inst->conf, keys, "socket"));
	s->ident = hvt_strdup(hvt_conf_str(inst->conf, keys, "identifier"));
	s->facility = hvt_facility_parse(f) << 3;   /* the enum key admits only known names */
	s->priority = *p ? hvt_severity_parse(p) : -1;
	inst->priv = s;
	return 0;
}

static void stop(struct hvt_instance *inst)
{
	struct slog *s = inst->priv;

	if (!s)
		return;
	free(s->socket);
	free(s->ident);
	free(s);
	inst->priv = NULL;
}

/* "alert ID [RULE]: SUMMARY (event EVENT-ID)", one printable line. */
static void message(const struct hvt_alert *a, struct hvt_buf *b)
{
	struct hvt_buf raw = { 0 };

	hvt_buf_printf(&raw, "alert %s [%s]: %s", a->id, a->rule, a->summary ? a->summary : "");
	if (a->ev && a->ev->id)
		hvt_buf_printf(&raw, " (event %s)", a->ev->id);
	for (size_t i = 0; i < raw.len && b->len < MAX_LINE; i++) {
		char ch = raw.data[i];
		hvt_buf_append(b, (unsigned char)ch < 0x20 || ch == 0x7f ? " " : &ch, 1);
	}
	hvt_buf_free(&raw);
}

static int to_syslog(struct slog *s, int pri, const char *msg, char *err, size_t errsize)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char stamp[32], *line;
	time_t now = time(NULL);
	struct tm tm;
	int fd, rc = 0;

	if (strlen(s->socket) >= sizeof sa.sun_path) {
		snprintf(err, errsize, "socket path too long");
		return -1;
	}
	hvt_strlcpy(sa.sun_path, s->socket, sizeof sa.sun_path);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
	line = hvt_asprintf("<%d>%s %s[%d]: %s", s->facility | pri, stamp, s->ident, (int)getpid(), msg);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || sendto(fd, line, strlen(line), MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errsize, "%s: %s", s->socket, strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}

static int to_journal(struct slog *s, int pri, const struct hvt_alert *a, const char *msg, char *err,
		      size_t errsize)
{
	const struct hvt_event *ev = a->ev;
	int rc = sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", pri, "SYSLOG_FACILITY=%d", s->facility >> 3,
				 "SYSLOG_IDENTIFIER=%s", s->ident, "HVTRAIL_ALERT_ID=%s", a->id,
				 "HVTRAIL_RULE=%s", a->rule, "HVTRAIL_ATTEMPT=%d", a->attempt,
				 "HVTRAIL_ALERT_KEY=%s", a->key ? a->key : "",
				 "HVTRAIL_ALERT_STATUS=%s", a->status ? a->status : "firing",
				 "HVTRAIL_EVENT_ID=%s", ev && ev->id ? ev->id : "",
				 "HVTRAIL_EVENT_TYPE=%s", ev && ev->type ? ev->type : "",
				 "HVTRAIL_HOST=%s", ev && ev->host ? ev->host : "",
				 "HVTRAIL_VM=%s", ev && ev->vm_name ? ev->vm_name : "", NULL);

	if (rc < 0) {
		snprintf(err, errsize, "journal: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static int deliver(struct hvt_instance *inst, const struct hvt_alert *a, char *err, size_t errsize)
{
	struct slog *s = inst->priv;
	struct hvt_buf msg = { 0 };
	int pri = s->priority >= 0 ? s->priority : a->severity & 7;
	int rc;

	message(a, &msg);
	rc = s->journal ? to_journal(s, pri, a, hvt_buf_cstr(&msg), err, errsize)
			: to_syslog(s, pri, hvt_buf_cstr(&msg), err, errsize);
	hvt_buf_free(&msg);
	return rc;
}

static const struct hvt_action_ops ops = { .deliver = deliver };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "act_syslog",
	.kind = HVT_PLUGIN_ACTION,
	.summary = "write alerts to the local syslog socket or the journal",
	.conf_keys = keys,
	.check = check,
	.init = init,
	.stop = stop,
	.ops = &ops,
};
