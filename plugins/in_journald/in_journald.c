/* in_journald.c - VM lifecycle from the systemd journal: libvirt's audit
 * records (VIRT_CONTROL, VIRT_RESOURCE, VIRT_MACHINE_ID), libvirt's errors,
 * systemd-machined's machine registration and QEMU's own messages.
 *
 * The plugin glue: configuration, the state directory and cursor file, and
 * the callbacks the forwarder calls.  Following the journal is jd_follow.c;
 * turning an entry into an event is journal_map.c (pure); the cursor and
 * gap logic is journal_cursor.c.  Events: docs/events.md, "Journal input". */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "in_journald.h"
#include "journal_cursor.h"
#include "journal_read.h"
#include "util.h"

/* libvirt sets no SYSLOG_IDENTIFIER, so its daemons are matched by _COMM;
 * matches on one field are alternatives, "+" starts another group.
 * _AUDIT_TYPE_NAME is a trusted field only journald's audit transport sets.
 * QEMU reaches the journal only when it runs under a systemd unit (libvirt
 * sends its stderr to /var/log/libvirt/qemu/NAME.log): the x86 binary and
 * RHEL's qemu-kvm are named (add _COMM=qemu-system-aar on Arm hosts) - every
 * alternative costs sd-journal a lookup per entry read. */
#define DEFAULT_MATCHES \
	"_COMM=libvirtd, _COMM=virtqemud, +, " \
	"_AUDIT_TYPE_NAME=VIRT_CONTROL, _AUDIT_TYPE_NAME=VIRT_RESOURCE, _AUDIT_TYPE_NAME=VIRT_MACHINE_ID, +, " \
	"SYSLOG_IDENTIFIER=systemd-machined, +, " \
	"_COMM=qemu-system-x86, _COMM=qemu-kvm"

/* PRIORITY is the event's severity and _HOSTNAME normally its host, so
 * neither is repeated by default. */
#define DEFAULT_FIELDS \
	"_TRANSPORT, SYSLOG_IDENTIFIER, _COMM, _PID, _SYSTEMD_UNIT, MESSAGE_ID, CODE_FUNC, " \
	"LIBVIRT_SOURCE, LIBVIRT_DOMAIN, LIBVIRT_CODE, _AUDIT_TYPE_NAME, _AUDIT_ID"

static const struct hvt_conf_key keys[] = {
	{ "directory", HVT_CONF_PATH, "", "journal directory to follow (journald's, or systemd-journal-"
	  "remote's output); empty: the system journal", NULL, 0, 0, 0 },
	{ "namespace", HVT_CONF_STRING, "", "journald namespace to follow instead (as journalctl "
	  "--namespace); empty: none", NULL, 0, 0, 0 },
	{ "matches", HVT_CONF_LIST, DEFAULT_MATCHES, "journal matches FIELD=value: on one field they are "
	  "alternatives, on different fields all must hold, '+' starts another alternative group (as in "
	  "journalctl); empty: every entry", NULL, 0, 0, HVT_CONF_BLANKS },
	{ "start_at", HVT_CONF_ENUM, "head", "where the very first start (no saved cursor) begins: head = "
	  "every entry the journal still holds, tail = only entries written from then on", "head|tail",
	  0, 0, 0 },
	{ "read_batch", HVT_CONF_INT, "512", "most entries read per event-loop iteration, so other inputs "
	  "run in between", NULL, 1, 100000, 0 },
	{ "fields", HVT_CONF_LIST, DEFAULT_FIELDS, "journal fields copied into data.fields of every event: "
	  "NAME, PREFIX* or * (all)", NULL, 0, 0, 0 },
	{ "max_field_size", HVT_CONF_SIZE, "4K", "longest field value kept; longer ones are cut and listed "
	  "in data.truncated_fields", NULL, 64, 64 << 10, 0 },
	{ "max_fields", HVT_CONF_INT, "64", "most fields kept per entry; the rest are counted in "
	  "data.dropped_fields", NULL, 8, 1024, 0 },
	{ "libvirt_audit_log", HVT_CONF_ENUM, "auto", "libvirt's log copies of its audit records "
	  "(LIBVIRT_SOURCE=conf.domain_audit): events = mapped like the audit records, messages = "
	  "journal.message, auto = events unless kernel audit VIRT_* records are in the journal",
	  "auto|events|messages", 0, 0, 0 },
	{ "reopen_interval", HVT_CONF_DURATION, "5s", "how often a journal that is missing or unreadable "
	  "is tried again", NULL, 50, 3600 * 1000, 0 },
	HVT_CONF_END
};

/* Where key was last set (or the section, or the file), for error lines. */
static void key_at(const struct hvt_instance *inst, const char *key, const char **file, int *line)
{
	*file = inst->conf ? inst->conf->file : inst->config->path;
	*line = inst->conf ? inst->conf->line : 0;
	for (const struct hvt_conf_entry *e = inst->conf ? inst->conf->entries : NULL; e; e = e->next)
		if (strcmp(e->key, key) == 0) {
			*file = e->file;
			*line = e->line;
		}
}

#define conf_err(inst, key, ...) do { \
		const char *file_; \
		int line_; \
		key_at((inst), (key), &file_, &line_); \
		hvt_conf_error((inst)->config, file_, line_, __VA_ARGS__); \
	} while (0)

static int check(struct hvt_instance *inst)
{
	int n, bad = 0;
	char **m = hvt_conf_list(inst->conf, keys, "matches", &n);
	char **f;
	char err[256];

	for (int i = 0; i < n; i++)
		if (!jd_match_valid(m[i])) {
			conf_err(inst, "matches", "[%s] matches: '%s' is not FIELD=value or '+'", inst->name, m[i]);
			bad = -1;
		}
	hvt_conf_list_free(m);
	f = hvt_conf_list(inst->conf, keys, "fields", &n);
	struct jd_fieldset *fs = jd_fieldset_new(f, n, err, sizeof err);
	if (!fs) {
		conf_err(inst, "fields", "[%s] fields: %s", inst->name, err);
		bad = -1;
	}
	jd_fieldset_free(fs);
	hvt_conf_list_free(f);
	if (*hvt_conf_str(inst->conf, keys, "directory") && *hvt_conf_str(inst->conf, keys, "namespace")) {
		conf_err(inst, "namespace", "[%s] directory and namespace: set one of them, not both", inst->name);
		bad = -1;
	}
	return bad;
}

/* STATE_DIR/<instance>/cursor, the instance name made safe as a file name. */
static char *cursor_path(struct hvt_instance *inst)
{
	char *name = hvt_strdup(inst->name);

	for (char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.' || *p == ':'))
			*p = '_';
	char *path = hvt_asprintf("%s/%s/cursor", inst->host->state_dir, name);
	free(name);
	return path;
}

static enum jd_audit_mode audit_mode(const char *s)
{
	return strcmp(s, "events") == 0 ? JD_AUDIT_EVENTS :
	       strcmp(s, "messages") == 0 ? JD_AUDIT_MESSAGES : JD_AUDIT_AUTO;
}

static int init(struct hvt_instance *inst)
{
	struct jd *d = hvt_calloc(1, sizeof *d);
	char err[256];
	int n;
	char **f = hvt_conf_list(inst->conf, keys, "fields", &n);

	inst->priv = d;
	d->inst = inst;
	d->carry = jd_fieldset_new(f, n, err, sizeof err);
	hvt_conf_list_free(f);
	if (!d->carry) {
		hvt_log(LOG_ERR, "[%s] fields: %s", inst->name, err);
		return -1;
	}
	d->directory = hvt_strdup(hvt_conf_str(inst->conf, keys, "directory"));
	d->ns = hvt_strdup(hvt_conf_str(inst->conf, keys, "namespace"));
	d->matches = hvt_conf_list(inst->conf, keys, "matches", &d->nmatches);
	d->read_batch = (int)hvt_conf_int(inst->conf, keys, "read_batch");
	d->start_tail = strcmp(hvt_conf_str(inst->conf, keys, "start_at"), "tail") == 0;
	d->max_field = hvt_conf_size(inst->conf, keys, "max_field_size");
	d->max_fields = (size_t)hvt_conf_int(inst->conf, keys, "max_fields");
	d->reopen_us = hvt_conf_duration_ms(inst->conf, keys, "reopen_interval") * 1000;
	d->audit_mode = audit_mode(hvt_conf_str(inst->conf, keys, "libvirt_audit_log"));
	d->cursor_path = cursor_path(inst);
	d->rl = (struct hvt_ratelimit)HVT_RATELIMIT_INIT(10000);
	jd_journal_describe(d->directory, d->ns, d->what, sizeof d->what);
	jd_entry_init(&d->entry, d->max_fields, d->max_field, d->carry);
	jd_map_opts_default(&d->mopts);
	d->mopts.libvirt_audit_events = d->audit_mode != JD_AUDIT_MESSAGES;
	d->mopts.cache = jd_jcache_new();       /* events are made and freed on the loop's thread */
	return 0;
}

/* The saved position: the one stored with the last event this instance
 * spooled (exact, whatever instant the forwarder died at), else the
 * cursor file (a spool that was recreated); -1 when the cursor file exists
 * but cannot be read (starting anyway could skip or repeat entries without
 * anyone knowing). */
static int load_cursor(struct jd *d)
{
	char *dir = hvt_strdup(d->cursor_path), *c = NULL;
	const struct hvt_host *h = d->inst->host;
	const char *carried = h->position ? h->position(d->inst) : NULL;
	int r;

	*strrchr(dir, '/') = '\0';
	r = hvt_mkdir_p(dir, 0700);
	free(dir);
	if (r < 0) {
		hvt_log(LOG_ERR, "[%s] cannot create the state directory for %s: %s", d->inst->name,
			d->cursor_path, strerror(-r));
		return -1;
	}
	if (carried && jd_cursor_text_valid(carried)) {
		hvt_log(LOG_INFO, "[%s] resuming from the position stored with its last spooled event", d->inst->name);
		d->emitted_pos = hvt_strdup(carried);
		if (jd_cursor_load(d->cursor_path, &c) == 0)
			d->saved_pos = c;       /* so the file is written only if it differs */
		return 0;
	}
	r = jd_cursor_load(d->cursor_path, &c);
	if (r == -ENOENT)
		return 0;
	if (r == -EINVAL) {
		hvt_log(LOG_ERR, "[%s] %s does not hold a journal cursor: reading %s from its oldest entry "
			"(entries may be repeated); remove the file to start as configured (start_at)",
			d->inst->name, d->cursor_path, d->what);
		c = hvt_strdup(JD_CURSOR_HEAD);
	} else if (r < 0) {
		hvt_log(LOG_ERR, "[%s] cannot read the journal cursor %s: %s", d->inst->name, d->cursor_path,
			strerror(-r));
		return -1;
	}
	d->emitted_pos = c;
	d->saved_pos = hvt_strdup(c);
	return 0;
}

static int run(struct hvt_instance *inst)
{
	struct jd *d = inst->priv;

	if (load_cursor(d) < 0)
		return -1;
	jd_follow_start(d);
	return 0;
}

static void stop(struct hvt_instance *inst)
{
	struct jd *d = inst->priv;

	if (!d)
		return;
	jd_follow_stop(d);
	jd_entry_free(&d->entry);
	jd_jcache_free(d->mopts.cache);
	jd_fieldset_free(d->carry);
	hvt_conf_list_free(d->matches);
	free(d->directory);
	free(d->ns);
	free(d->cursor_path);
	free(d->emitted_pos);
	free(d->saved_pos);
	free(d);
	inst->priv = NULL;
}

static void pause_cb(struct hvt_instance *inst, bool paused)
{
	jd_follow_pause(inst->priv, paused);
}

static void committed(struct hvt_instance *inst)
{
	jd_follow_commit(inst->priv);
}

static char *stats(struct hvt_instance *inst)
{
	struct jd *d = inst->priv;

	return hvt_asprintf("{\"following\":%s,\"paused\":%s,\"entries\":%llu,\"events\":%llu,"
			    "\"gaps\":%llu,\"reopens\":%llu,\"read_errors\":%llu,\"cursor_errors\":%llu}",
			    d->j ? "true" : "false", d->paused ? "true" : "false",
			    (unsigned long long)d->entries, (unsigned long long)d->events,
			    (unsigned long long)d->gaps, (unsigned long long)d->reopens,
			    (unsigned long long)d->read_errors, (unsigned long long)d->cursor_errors);
}

static const struct hvt_input_ops ops = { .pause = pause_cb, .committed = committed, .stats = stats };

const struct hvt_plugin hvt_plugin = {
	.abi = HVT_PLUGIN_ABI,
	.name = "in_journald",
	.kind = HVT_PLUGIN_INPUT,
	.summary = "libvirt, audit VIRT_*, systemd-machined and QEMU entries from the systemd journal",
	.conf_keys = keys,
	.check = check,
	.init = init,
	.run = run,
	.stop = stop,
	.ops = &ops,
};
