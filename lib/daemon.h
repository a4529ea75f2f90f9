/* daemon.h - what both daemons do the same way: command line, systemd
 * notification, privileges, signals. */
#ifndef HVT_DAEMON_H
#define HVT_DAEMON_H

#include <stdbool.h>

struct hvt_daemon_args {
	const char *config;
	bool check_config;
	bool debug;
	bool list_plugins;
	bool print_schema;
};

/* Parse the common options; exits on --help/--version/usage errors. */
void hvt_daemon_parse_args(int argc, char **argv, const char *prog, const char *default_config,
			   const char *summary, struct hvt_daemon_args *a);

/* sd_notify wrapper: a no-op outside systemd. */
void hvt_daemon_notify(const char *state);

/* Switch to user (and group, default: the user's primary group) after
 * privileged set-up; files created later get a umask of 077.  Returns 0,
 * or -1 (logged). */
int hvt_drop_privileges(const char *user, const char *group);

/* chown a path to the user we will drop to (so it stays usable). */
int hvt_chown_for(const char *path, const char *user, const char *group);

/* The system host name, for the default host identity. */
char *hvt_default_hostname(void);

#endif
