/* cmd_doctor.c - `hvtrail doctor`: is this hypervisor host set up for
 * hvtrail-forwarder, and if not, what to fix.
 *
 * It reads the forwarder's configuration the way the forwarder does
 * (forwarder/schema.c and the plugins' own schemas, so every default is the
 * daemon's), then checks one thing at a time and prints each finding as it
 * is made: OK, WARN or FAIL, with what to do about it. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli.h"
#include "daemon.h"
#include "doctor.h"
#include "log.h"
#include "../forwarder/schema.h"
#include "util.h"

#define CMD "doctor"
#define PARSED (-1)
#define UNIT_USER "hvtrail"           /* User= of the shipped systemd unit */
#define QEMU_USER "libvirt-qemu"      /* whom libvirt runs QEMU as (Debian) */
#define UNIT_GROUP "systemd-journal"  /* SupplementaryGroups= of the shipped unit */

static const char *const status_word[] = { "OK", "WARN", "FAIL" };

struct doctor_opts {
	const char *config, *user, *qemu_user;
	int timeout_s;
	bool no_connect;
	enum out_format fmt;
};

static void help(void)
{
	printf("Usage: %s %s [OPTIONS]\n\n"
	       "Check this host's hvtrail-forwarder setup and say what to fix: the configuration,\n"
	       "the TLS files (readable by the daemon's user, key matching, expiry), each\n"
	       "collector (a real RELP session over TLS with the configured certificates), the\n"
	       "QMP socket directory (QEMU can create sockets, the forwarder can use them),\n"
	       "libvirt access (in_libvirt's connection, read-only or read-write, and QEMU's\n"
	       "event passthrough), journal access and the spool (writable, how full).\n"
	       "Permissions are tried with the daemon's own user and groups (run it as root\n"
	       "for that).\n\n"
	       "Options:\n"
	       "  -c, --config FILE      the forwarder's configuration (default:\n"
	       "                         " HVT_SYSCONFDIR "/forwarder.conf)\n"
	       "      --user USER        check as this user (default: [forwarder] user; else\n"
	       "                         '" UNIT_USER "', the systemd unit's, with its groups\n"
	       "                         and systemd-journal, when that account exists; else you)\n"
	       "      --qemu-user USER   the user QEMU runs as (default: " QEMU_USER ")\n"
	       "      --timeout SECS     per collector (default: [out_relp] connect_timeout)\n"
	       "      --no-connect       do not contact the collectors\n"
	       "  -o, --output FORMAT    table (default) or json (one object per finding)\n"
	       "  -h, --help             this help\n\n"
	       "Exit status: 0 everything OK, 1 warnings only, 2 failures (or a usage error).\n",
	       CLI_PROG, CMD);
}

static int parse(int argc, char **argv, struct doctor_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "qemu-user", required_argument, NULL, 'Q' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "no-connect", no_argument, NULL, 'N' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;

	memset(o, 0, sizeof *o);
	o->config = HVT_SYSCONFDIR "/forwarder.conf";
	o->qemu_user = QEMU_USER;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'u': o->user = optarg; break;
		case 'Q': o->qemu_user = optarg; break;
		case 'N': o->no_connect = true; break;
		case 'T':
			o->timeout_s = (int)strtol(optarg, &end, 10);
			if (*end || o->timeout_s <= 0 || o->timeout_s > 600) {
				cli_error(CMD, "--timeout takes seconds from 1 to 600, not '%s'", optarg);
				return cli_usage_error(CMD);
			}
			break;
		case 'o':
			if (out_format_parse(optarg, &o->fmt) && o->fmt != OUT_CSV)
				break;
			cli_error(CMD, "-o takes table or json, not '%s'", optarg);
			return cli_usage_error(CMD);
		case 'h': help(); return CLI_OK;
		default: return cli_usage_error(CMD);
		}
	}
	if (cli_no_operands(CMD, argc, argv))
		return CLI_USAGE;
	return PARSED;
}

void doc_report(struct doctor *d, enum doc_status st, const char *check, const char *fix,
		const char *fmt, ...)
{
	char detail[2048];
	va_list ap;
	struct hvt_buf clean = { 0 };

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	d->counts[st]++;
	if (d->out.fmt == OUT_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "check", json_object_new_string(check));
		json_object_object_add(o, "status", json_object_new_string(st == DOC_OK ? "ok" :
									   st == DOC_WARN ? "warn" : "fail"));
		json_object_object_add(o, "detail", json_object_new_string(detail));
		if (fix && st != DOC_OK)
			json_object_object_add(o, "fix", json_object_new_string(fix));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		/* file names and certificate names are not ours to trust on a terminal */
		out_sanitize(&clean, detail);
		printf("%-4s  %-15s %s\n", status_word[st], check, hvt_buf_cstr(&clean));
		if (fix && st != DOC_OK) {
			hvt_buf_reset(&clean);
			out_sanitize(&clean, fix);
			printf("      %-15s fix: %s\n", "", hvt_buf_cstr(&clean));
		}
	}
	hvt_buf_free(&clean);
	fflush(stdout);     /* each finding as it is made: collectors can take seconds */
}

const char *doc_str(const struct hvt_instance *in, const char *key)
{
	return hvt_conf_str(in->conf, in->plugin->conf_keys, key);
}

/* ---- the configuration and whom to check as ---------------------------- */

static bool load_config(struct doctor *d, struct hvt_host *host)
{
	struct hvt_conf_section *f;
	struct hvt_buf names = { 0 };

	d->conf = hvt_conf_load(d->config_path, CLI_PROG " " CMD);
	if (!d->conf) {
		doc_report(d, DOC_FAIL, "config", "give the forwarder's configuration with -c FILE",
			   "cannot read %s: %s", d->config_path, strerror(errno));
		return false;
	}
	f = hvt_conf_find(d->conf, "forwarder");
	host->prog = CLI_PROG;
	hvt_instances_configure(d->conf, fwd_core_sections, hvt_conf_str(f, fwd_schema_forwarder, "plugin_dir"),
				HVT_KIND_BIT(HVT_PLUGIN_INPUT) | HVT_KIND_BIT(HVT_PLUGIN_OUTPUT), host, &d->inst);
	for (int i = 0; i < d->inst.n; i++)
		hvt_buf_printf(&names, "%s%s", names.len ? ", " : "", d->inst.v[i].name);
	if (d->conf->errors) {
		char fix[512];
		snprintf(fix, sizeof fix, "correct the lines above ('hvtrail-forwarder -c %s --check-config' "
			 "repeats them)", d->config_path);
		doc_report(d, DOC_FAIL, "config", fix, "%s: %d problem%s (above); checked what could be read",
			   d->config_path, d->conf->errors, d->conf->errors == 1 ? "" : "s");
	} else {
		doc_report(d, DOC_OK, "config", NULL, "%s: %s", d->config_path,
			   names.len ? hvt_buf_cstr(&names) : "no plugin sections");
	}
	hvt_buf_free(&names);
	return true;
}

static void describe_groups(const struct doc_creds *c, struct hvt_buf *b)
{
	for (int i = 0; i < c->ngroups; i++) {
		struct group *g = getgrgid(c->groups[i]);
		if (g)
			hvt_buf_printf(b, "%s%s", i ? ", " : "", g->gr_name);
		else
			hvt_buf_printf(b, "%s%d", i ? ", " : "", (int)c->groups[i]);
	}
}

static void choose_daemon_user(struct doctor *d, const char *opt_user)
{
	struct hvt_conf_section *f = hvt_conf_find(d->conf, "forwarder");
	const char *cfg_user = hvt_conf_str(f, fwd_schema_forwarder, "user");
	const char *cfg_group = hvt_conf_str(f, fwd_schema_forwarder, "group");
	struct hvt_buf g = { 0 };
	int rc;

	if (opt_user) {
		rc = doc_creds_resolve(&d->daemon, opt_user, NULL, true, UNIT_GROUP);
		snprintf(d->daemon.why, sizeof d->daemon.why, "--user, with its groups and systemd-journal");
	} else if (*cfg_user) {
		/* the daemon drops to user and group itself, keeping no other group */
		rc = doc_creds_resolve(&d->daemon, cfg_user, cfg_group, false, NULL);
		snprintf(d->daemon.why, sizeof d->daemon.why, "[forwarder] user");
	} else if (getpwnam(UNIT_USER)) {
		rc = doc_creds_resolve(&d->daemon, UNIT_USER, NULL, true, UNIT_GROUP);
		snprintf(d->daemon.why, sizeof d->daemon.why, "the systemd unit's User=, with its groups and "
			 "systemd-journal");
	} else {
		struct passwd *pw = getpwuid(geteuid());
		rc = doc_creds_resolve(&d->daemon, pw ? pw->pw_name : "root", NULL, true, NULL);
		snprintf(d->daemon.why, sizeof d->daemon.why, "no [forwarder] user and no '%s' account: the "
			 "forwarder runs as whoever starts it", UNIT_USER);
	}
	if (rc < 0) {
		doc_report(d, DOC_FAIL, "user", "create the account (systemd-sysusers hvtrail.conf) or fix "
			   "[forwarder] user/group", "user %s (%s) does not exist", d->daemon.name, d->daemon.why);
		/* check as ourselves rather than not at all */
		struct passwd *pw = getpwuid(geteuid());
		doc_creds_resolve(&d->daemon, pw ? pw->pw_name : "root", NULL, true, NULL);
		return;
	}
	describe_groups(&d->daemon, &g);
	if (geteuid() != 0 && d->daemon.uid != geteuid())
		doc_report(d, DOC_WARN, "user", "run hvtrail doctor as root",
			   "the forwarder runs as %s but you are not root: permissions are checked as you",
			   d->daemon.name);
	else
		doc_report(d, DOC_OK, "user", NULL, "checking as %s (uid %d, groups %s): %s", d->daemon.name,
			   (int)d->daemon.uid, hvt_buf_cstr(&g), d->daemon.why);
	hvt_buf_free(&g);
}

/* ---- running it --------------------------------------------------------- */

static void check_instances(struct doctor *d, const char *host)
{
	for (int i = 0; i < d->inst.n; i++) {
		const struct hvt_instance *in = &d->inst.v[i];
		const char *p = in->plugin->name;
		if (strcmp(p, "out_relp") == 0) {
			bool tls_ok = doc_check_tls(d, in, host);
			if (d->connect)
				doc_check_collector(d, in, tls_ok);
		} else if (strcmp(p, "in_qmp") == 0) {
			doc_check_qmp(d, in);
		} else if (strcmp(p, "in_journald") == 0) {
			doc_check_journal(d, in);
		} else if (strcmp(p, "in_libvirt") == 0) {
#ifdef HAVE_LIBVIRT
			doc_check_libvirt(d, in);
#else
			doc_report(d, DOC_WARN, "libvirt", "build hvtrail with libvirt-dev installed",
				   "[%s] this hvtrail was built without libvirt: its connection is not checked",
				   in->name);
#endif
		}
	}
}

static int run(const struct doctor_opts *o)
{
	struct doctor d = { 0 };
	struct hvt_host host = { 0 };
	int rc;

	d.config_path = o->config;
	d.timeout_s = o->timeout_s;
	d.connect = !o->no_connect;
	out_init(&d.out, o->fmt, stdout);
	if (!load_config(&d, &host)) {
		rc = 2;
		goto out;
	}
	choose_daemon_user(&d, o->user);
	if (doc_creds_resolve(&d.qemu, o->qemu_user, NULL, true, NULL) < 0)
		d.qemu.valid = false;
	struct hvt_conf_section *f = hvt_conf_find(d.conf, "forwarder");
	struct hvt_conf_section *s = hvt_conf_find(d.conf, "spool");
	const char *h = hvt_conf_str(f, fwd_schema_forwarder, "host");
	char *hostname = *h ? hvt_strdup(h) : hvt_default_hostname();
	check_instances(&d, hostname);
	const char *sd = hvt_conf_str(s, fwd_schema_spool, "dir");
	char *spool = *sd ? hvt_strdup(sd) :
		      hvt_asprintf("%s/spool", hvt_conf_str(f, fwd_schema_forwarder, "state_dir"));
	doc_check_spool(&d, spool, hvt_conf_size(s, fwd_schema_spool, "max_size"));
	free(spool);
	free(hostname);
	rc = d.counts[DOC_FAIL] ? 2 : d.counts[DOC_WARN] ? 1 : 0;
out:
	if (d.out.fmt == OUT_TABLE)
		printf("\n%d OK, %d warning%s, %d failure%s\n", d.counts[DOC_OK], d.counts[DOC_WARN],
		       d.counts[DOC_WARN] == 1 ? "" : "s", d.counts[DOC_FAIL], d.counts[DOC_FAIL] == 1 ? "" : "s");
	hvt_instances_free(&d.inst);
	hvt_conf_free(d.conf);
	return cli_output_status(CMD) == CLI_OK ? rc : 2;
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor_opts o;
	int rc = parse(argc, argv, &o);

	/* a usage error is a failure too: nothing was checked */
	return rc == PARSED ? run(&o) : rc == CLI_OK ? CLI_OK : 2;
}
