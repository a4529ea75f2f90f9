/* daemon.h - what both daemons do the same way: command line, systemd
 * notification, privileges, signals. */
#ifndef HVT_DAEMON_H
#define HVT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hvt_daemon_args {
	const char *config;
	bool check_config;
	bool debug;
	bool list_plugins;
	bool print_schema;
	bool check_store;             /* --check-spool / --check-inbox */
	bool repair_store;            /* --repair-spool / --repair-inbox */
};

/* Parse the common options; exits on --help/--version/usage errors.
 * store names the daemon's record log ("spool", "inbox") for its
 * --check-STORE and --repair-STORE options. */
void hvt_daemon_parse_args(int argc, char **argv, const char *prog, const char *default_config,
			   const char *store, const char *summary, struct hvt_daemon_args *a);

struct hvt_spool_opts;
/* --check-STORE / --repair-STORE: take the state directory's lock (so no
 * daemon has the store open), verify every record of it and print what
 * was found; with repair, set damage aside as a start does.  Returns the
 * exit status: 0 intact (or repaired), 1 damage found, 2 cannot check. */
int hvt_daemon_check_store(const struct hvt_spool_opts *o, const char *state_dir, const char *prog,
			   bool repair);

/* sd_notify wrapper: a no-op outside systemd. */
void hvt_daemon_notify(const char *state);

/* Switch to user (and group, default: the user's primary group) after
 * privileged set-up; files created later get a umask of 077.  Returns 0,
 * or -1 (logged). */
int hvt_drop_privileges(const char *user, const char *group);


/* Before hvt_drop_privileges: give a state directory and everything the
 * daemon created in it (spool, inbox, index, cursors) to user (and group),
 * and take group and other permissions away (files 0600, directories
 * 0700; each change logged).  Symlinks are not followed, other file
 * systems not entered, sockets and FIFOs left as their creators made them.
 * No-op without a user; 0, or -1 (logged). */
int hvt_hand_over(const char *path, const char *user, const char *group);

/* Take STATE_DIR/lock (flock, held for the life of the process) so two
 * daemons never share a spool or inbox.  Returns 0, or -1 with a log line
 * naming the other process. */
int hvt_lock_state_dir(const char *dir, const char *prog);

/* Will path still be readable once we run as user (and group, or the
 * user's primary group, and no other group)?  Judged by the permission
 * bits of the file and of the directories leading to it (ACLs are not
 * looked at): for files read again after the drop, such as the TLS files
 * librelp loads at every reconnect.  0 (also without a user, or for root),
 * or -1 with the reason in err. */
int hvt_readable_after_drop(const char *path, const char *user, const char *group, char *err, size_t errsize);

/* Is a private key file kept private (as OpenSSH insists for its keys)?
 * Refused: any access by others, group write or execute, and group read -
 * except by the one group the daemon runs as (the group it drops to per
 * user/group, else its own: systemd's Group=), which needs it to read the
 * key again after the drop (0640 root:hvtrail, docs/deploy.md).  0 (also for a file that does not exist:
 * its reader says so), or -1 with the reason and the fix in err. */
int hvt_private_key_check(const char *path, const char *user, const char *group, char *err, size_t errsize);
/* The same with the group given: (gid_t)-1 when no group may read it. */
int hvt_private_key_check_gid(const char *path, gid_t group_may_read, char *err, size_t errsize);

/* The system host name, for the default host identity. */
char *hvt_default_hostname(void);

#endif
