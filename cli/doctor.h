/* doctor.h - `hvtrail doctor`: check a hypervisor host's forwarder setup
 * and say what to fix.  cmd_doctor.c loads the configuration and prints;
 * doctor_creds.c runs checks with the daemon's credentials; the checks are
 * in doctor_tls.c (certificates, the collector) and doctor_host.c (QMP
 * socket directory, journal, spool). */
#ifndef HVT_CLI_DOCTOR_H
#define HVT_CLI_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "instance.h"
#include "output.h"

enum doc_status { DOC_OK, DOC_WARN, DOC_FAIL };

/* Whom a check acts as: the forwarder's account, or QEMU's. */
struct doc_creds {
	bool valid;                   /* the account exists */
	bool switch_to;               /* fork and drop to it (we are root, it is not us) */
	char name[64];
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char why[160];                /* how it was chosen, for the report */
};

struct doctor {
	struct hvt_conf *conf;
	struct hvt_instances inst;
	const char *config_path;
	struct doc_creds daemon;      /* the forwarder's user */
	struct doc_creds qemu;        /* the user QEMU runs as (may be !valid) */
	int timeout_s;                /* 0: each target's connect_timeout */
	bool connect;                 /* --no-connect clears it */
	struct out out;
	int counts[3];                /* per doc_status */
};

/* Record one finding; fix (may be NULL) says what to do about it. */
void doc_report(struct doctor *d, enum doc_status st, const char *check, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* An instance's setting, its schema default when unset. */
const char *doc_str(const struct hvt_instance *in, const char *key);

/* doctor_creds.c: resolve an account with the groups it will run with:
 * only its primary one (or group), or with all_groups the user's groups
 * from the group database (as systemd's User= and libvirt give them) plus
 * extra_group (the shipped unit's SupplementaryGroups=), if not NULL. */
int doc_creds_resolve(struct doc_creds *c, const char *user, const char *group, bool all_groups,
		      const char *extra_group);
/* Run fn with c's credentials (in a child process when c->switch_to) and
 * return its result (-1 when it could not be run); msg gets its words. */
int doc_as(const struct doc_creds *c, int (*fn)(void *arg, char *msg, size_t size), void *arg,
	   char *msg, size_t size);
/* Can c open path for reading (R_OK), or use a directory (W_OK|X_OK ...)? */
bool doc_access(const struct doc_creds *c, const char *path, int mode, char *msg, size_t size);

/* doctor_tls.c */
/* false when the certificate, key or CA is unusable */
bool doc_check_tls(struct doctor *d, const struct hvt_instance *out_relp, const char *host);
/* tls_ok false: only TCP is tried (a session with those files cannot work) */
void doc_check_collector(struct doctor *d, const struct hvt_instance *out_relp, bool tls_ok);

/* doctor_host.c */
void doc_check_qmp(struct doctor *d, const struct hvt_instance *in_qmp);
void doc_check_journal(struct doctor *d, const struct hvt_instance *in_journald);

/* doctor_libvirt.c (built with libvirt) */
void doc_check_libvirt(struct doctor *d, const struct hvt_instance *in_libvirt);
void doc_check_spool(struct doctor *d, const char *spool_dir, unsigned long long max_size);

#endif
