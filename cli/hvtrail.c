/* hvtrail.c - the operator's command line: dispatch to one subcommand. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "plugin.h"
#include "timefmt.h"
#include "util.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "query", cmd_query, "show events: filter by VM, host, type and time; follow new ones" },
	{ "migrations", cmd_migrations, "one row per migration: VM, from -> to, outcome, figures" },
	{ "stats", cmd_stats, "per host: events, streams, last event, what its forwarder reported" },
	{ "gaps", cmd_gaps, "missing events (seq ranges) per host and stream; exit 1 if any" },
	{ "verify", cmd_verify, "prove from the index that each host's trail is complete and unaltered" },
	{ "alerts", cmd_alerts, "alerts, what people were told, deliveries; ack KEY" },
	{ "silence", cmd_silence, "silence alerts (maintenance windows): add, list, expire" },
	{ "emit", cmd_emit, "hand an event to the local forwarder (hook scripts, load tests)" },
	{ "doctor", cmd_doctor, "check this host's forwarder setup and say what to fix" },
};

const char cli_index_help[] =
	"Where the index is (one of):\n"
	"      --db PATH          the idx_sqlite database file\n"
	"      --clickhouse URL   the idx_clickhouse tables on this ClickHouse server\n"
	"                         (http[s]://HOST:PORT/, database hvtrail)\n"
	"  -c, --config FILE      the collector's configuration; its [idx_*] section names\n"
	"                         the index (default: " HVT_SYSCONFDIR "/collector.conf)\n";

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [--help] [--version] COMMAND [OPTIONS]\n\n"
		"Query the hvtrail audit trail of VM lifecycle events.\n\nCommands:\n", CLI_PROG);
	for (size_t i = 0; i < HVT_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun '%s COMMAND --help' for the options of a command.\n\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  negative answer (gaps found)\n"
		"  2  usage error (unknown option, bad time or number)\n"
		"  3  the index cannot be opened (missing database, bad config, plugin not found)\n"
		"  4  the index failed while answering, or writing the output failed\n\n"
		"Environment:\n"
		"  HVTRAIL_PLUGIN_PATH  colon-separated plugin directories (default: %s)\n"
		"  NO_COLOR             never colour the output\n", CLI_PROG, hvt_plugin_default_dir());
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", CLI_PROG, cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *cmd)
{
	fprintf(stderr, "Try '%s %s --help' for more information.\n", CLI_PROG, cmd);
	return CLI_USAGE;
}

int cli_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind >= argc)
		return 0;
	cli_error(cmd, "unexpected argument '%s'", argv[optind]);
	return cli_usage_error(cmd);
}

bool cli_table_or_json(const char *cmd, const char *arg, bool *json)
{
	if (strcmp(arg, "table") == 0 || strcmp(arg, "json") == 0) {
		*json = strcmp(arg, "json") == 0;
		return true;
	}
	cli_error(cmd, "-o takes table or json, not '%s'", arg);
	return false;
}

bool cli_parse_time(const char *cmd, const char *option, const char *text, long long *us)
{
	if (hvt_parse_time_spec(text, hvt_now_us(), us) == 0)
		return true;
	cli_error(cmd, "%s '%s' is not a time; use e.g. '2026-11-22 10:00' (local), "
		  "'2026-11-22T10:00:00Z', 'today', 'yesterday', '1 hour ago', '-30m' or '@1795341600'",
		  option, text);
	return false;
}

int cli_output_status(const char *cmd)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return CLI_OK;
	if (errno == EPIPE || errno == 0)
		return CLI_OK;     /* 0: the error was an earlier EPIPE on a full buffer */
	cli_error(cmd, "cannot write the output: %s", strerror(errno));
	return CLI_FAILED;
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < HVT_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *c;

	hvt_log_init(CLI_PROG);
	hvt_log_set_target(HVT_LOG_PLAIN);
	hvt_log_set_level(LOG_WARNING);     /* plugins' errors, not their chatter */
	/* A closed pipe (hvtrail query | head) is a normal way to stop reading:
	 * see EPIPE on write and end quietly instead of dying by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("%s %s\n", CLI_PROG, PACKAGE_VERSION);
		return CLI_OK;
	}
	if (strcmp(argv[1], "help") == 0 && argc == 3 && (c = find(argv[2]))) {
		static char help[] = "--help";
		char *help_argv[] = { argv[2], help, NULL };
		return c->run(2, help_argv);
	}
	c = find(argv[1]);
	if (!c) {
		cli_error(NULL, "unknown command '%s'", argv[1]);
		fprintf(stderr, "Try '%s --help' for the list of commands.\n", CLI_PROG);
		return CLI_USAGE;
	}
	/* getopt prefixes its complaints with argv[0]: make that "hvtrail query". */
	static char prog_cmd[64];
	snprintf(prog_cmd, sizeof prog_cmd, "%s %s", CLI_PROG, c->name);
	argv[1] = prog_cmd;
	/* `query --timeline` is a view of its own, kept apart from query's code */
	for (int i = 2; c->run == cmd_query && i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--timeline") == 0)
			return cmd_timeline(argc - 1, argv + 1);
	return c->run(argc - 1, argv + 1);
}
