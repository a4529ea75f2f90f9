/* cli.h - what the hvtrail subcommands share: exit codes, the commands,
 * error reporting and option parsing helpers. */
#ifndef HVT_CLI_H
#define HVT_CLI_H

#include <stdbool.h>

#define CLI_PROG "hvtrail"

/* Exit codes, documented in `hvtrail --help`. */
enum cli_exit {
	CLI_OK = 0,
	CLI_NEGATIVE = 1,     /* the answer is "no": gaps were found */
	CLI_USAGE = 2,        /* bad command line */
	CLI_NO_INDEX = 3,     /* the index cannot be opened (config, plugin, database) */
	CLI_FAILED = 4,       /* the index failed while answering, or output failed */
};

int cmd_query(int argc, char **argv);
int cmd_migrations(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_gaps(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
/* `query --timeline`: one VM across hosts (timeline.c) */
int cmd_timeline(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_silence(int argc, char **argv);

/* "hvtrail CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report an unknown option or stray argument and point at --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd);
/* After getopt: a command that takes no operands reports the first one left
 * (with the --help hint) and returns CLI_USAGE; 0 when there is none. */
int cli_no_operands(const char *cmd, int argc, char **argv);
/* -o for the commands that print a table or JSON lines: false (reported)
 * for anything else. */
bool cli_table_or_json(const char *cmd, const char *arg, bool *json);
/* Parse --since/--until text like journalctl does; false (reported) when it is no time. */
bool cli_parse_time(const char *cmd, const char *option, const char *text, long long *us);

/* After printing to stdout: CLI_OK, also when the reader closed the pipe
 * (hvtrail ... | head); CLI_FAILED (reported) when writing failed otherwise. */
int cli_output_status(const char *cmd);

/* The help text of the options every command takes to find the index. */
extern const char cli_index_help[];

#endif
