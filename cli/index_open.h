/* index_open.h - open the index the way the collector does, read-only.
 *
 * `--db PATH` means idx_sqlite with that file; `--clickhouse URL` means
 * idx_clickhouse on that server (database hvtrail, whatever the layout:
 * readers always read the table `events`); `-c FILE` reads the collector's
 * configuration and opens whatever [idx_*] section it has, with all its
 * keys (password, TLS, database). */
#ifndef HVT_CLI_INDEX_OPEN_H
#define HVT_CLI_INDEX_OPEN_H

#include <getopt.h>
#include <stdbool.h>

#include "conf.h"
#include "hvtrail-plugin.h"

/* getopt_long values of the shared options (beyond any char). */
enum { CLI_OPT_DB = 0x100, CLI_OPT_CLICKHOUSE = 0x101, CLI_OPT_NO_PAGER = 0x102, CLI_OPT_CONFIG = 'c' };
/* --no-pager rides along: every command that reads the index prints for people */
#define CLI_INDEX_LONG_OPTIONS \
	{ "db", required_argument, NULL, CLI_OPT_DB }, \
	{ "clickhouse", required_argument, NULL, CLI_OPT_CLICKHOUSE }, \
	{ "no-pager", no_argument, NULL, CLI_OPT_NO_PAGER }, \
	{ "config", required_argument, NULL, CLI_OPT_CONFIG }

struct cli_index_opts {
	const char *db;
	const char *clickhouse;
	const char *config;
	bool no_pager;
};

struct cli_index {
	struct hvt_conf *conf;
	struct hvt_host host;
	struct hvt_instance inst;
	const struct hvt_index_ops *ops;
	bool open;
};

/* Take --db / --clickhouse / --config from getopt; false when opt is none of them. */
bool cli_index_option(struct cli_index_opts *o, int opt, const char *arg);
/* Open read-only.  Returns CLI_OK, or CLI_USAGE / CLI_NO_INDEX after saying why. */
int cli_index_open(const char *cmd, const struct cli_index_opts *o, struct cli_index *ix);
void cli_index_close(struct cli_index *ix);

#endif
